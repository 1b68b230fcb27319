"""docs/MODULES.md carries the action reference generated from the code."""

from __future__ import annotations

from pathlib import Path

from modules.reference import BEGIN, END, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "MODULES.md"


def test_modules_md_reference_is_current() -> None:
    text = DOC.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] + "\n" == render(), "run: python -m modules.reference"


def test_reference_lists_every_action_of_every_module() -> None:
    text = render()
    for action in (
        "identity.enrol",
        "registry.offer",
        "auction.bid",
        "vote.cast",
        "petition.sign",
    ):
        assert f"`{action}`" in text
