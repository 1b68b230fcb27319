"""The ``egov`` group: every named command resolves, and loads only its own file."""

from __future__ import annotations

import importlib
import subprocess
import sys

import click
import pytest

from cli.main import COMMANDS
from tests.cli.conftest import Run


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_named_command_is_that_command(name: str) -> None:
    module_name, attribute = COMMANDS[name]
    command = getattr(importlib.import_module(module_name), attribute)
    assert isinstance(command, click.Command)
    assert command.name == name


def test_help_lists_every_command_with_its_summary(run: Run) -> None:
    result = run("--help")
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:", 1)[1].split()
    for name in COMMANDS:
        assert name in listed
    assert "Sign MODULE ACTION" in result.output  # tx's summary, from cli/tx.py


def test_an_unknown_command_is_bad_usage(run: Run) -> None:
    result = run("nosuch")
    assert result.exit_code == 2
    assert "No such command 'nosuch'" in result.output


def test_a_light_command_does_not_import_the_node() -> None:
    # A fresh interpreter: this one has the whole node imported already.
    probe = (
        "import sys\n"
        "from cli.main import main\n"
        "try:\n"
        "    main(['keys', '--help'], standalone_mode=False)\n"
        "finally:\n"
        "    heavy = [m for m in ('trio', 'hypercorn', 'node.service')"
        " if m in sys.modules]\n"
        "    print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Create and inspect key files" in done.stdout
    assert "HEAVY []" in done.stdout
