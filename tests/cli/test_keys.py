"""egov keys new / show."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from chain.keys import load_key
from tests.cli.conftest import Run


def test_new_writes_a_private_file_and_prints_only_the_public_key(
    tmp_path: Path, run: Run
) -> None:
    out = tmp_path / "v.key"
    result = run("keys", "new", "--type", "validator", "--out", out)
    assert result.exit_code == 0, result.output
    key = load_key(out)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert key.public.hex() in result.output
    assert key.seed.hex() not in result.output


def test_new_refuses_to_overwrite_without_force(tmp_path: Path, run: Run) -> None:
    out = tmp_path / "n.key"
    assert run("keys", "new", "--type", "node", "--out", out).exit_code == 0
    first = out.read_text()
    result = run("keys", "new", "--type", "node", "--out", out)
    assert result.exit_code == 1
    assert "key.exists" in result.stderr and "--force" in result.stderr
    assert out.read_text() == first
    assert run("keys", "new", "--type", "node", "--out", out, "--force").exit_code == 0
    assert out.read_text() != first


def test_new_defaults_to_a_file_named_after_the_type(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("keys", "new", "--type", "citizen", "--json")
    doc = json.loads(result.stdout)
    assert doc["file"] == "citizen.key"
    assert load_key(tmp_path / "citizen.key").public.hex() == doc["public_key"]


def test_new_refuses_an_unknown_type(run: Run) -> None:
    result = run("keys", "new", "--type", "wizard")
    assert result.exit_code == 2


def test_show_prints_the_seed_only_with_secret(tmp_path: Path, run: Run) -> None:
    out = tmp_path / "c.key"
    run("keys", "new", "--type", "citizen", "--out", out)
    key = load_key(out)
    shown = run("keys", "show", out)
    assert shown.stdout.strip() == key.public.hex()
    secret = run("keys", "show", out, "--secret")
    assert f"seed: {key.seed.hex()}" in secret.stdout
    doc = json.loads(run("keys", "show", out, "--json").stdout)
    assert doc == {"file": str(out), "public_key": key.public.hex()}
    doc = json.loads(run("keys", "show", out, "--json", "--secret").stdout)
    assert doc["seed"] == key.seed.hex()


def test_show_refuses_a_readable_or_missing_or_malformed_file(
    tmp_path: Path, run: Run
) -> None:
    out = tmp_path / "c.key"
    run("keys", "new", "--type", "citizen", "--out", out)
    out.chmod(0o644)
    result = run("keys", "show", out)
    assert result.exit_code == 1 and "key.permissions" in result.stderr
    result = run("keys", "show", tmp_path / "none.key")
    assert result.exit_code == 1 and "key.missing" in result.stderr
    bad = tmp_path / "bad.key"
    bad.write_text("not hex\n")
    bad.chmod(0o600)
    result = run("keys", "show", bad)
    assert result.exit_code == 1 and "key.malformed" in result.stderr
