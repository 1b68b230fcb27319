"""Errors of the ``egov`` command, with stable codes and exit statuses.

Every error a user can meet is a ``CliError``: click prints it as
``Error: <code>: <message>`` on stderr and exits with its ``exit_code``.
The exit statuses are part of the interface (docs/CLI.md):

- 0: success.
- 1: the operation failed: a transaction refused or failed, an audit that
  found a divergence, an invalid genesis or key file, a wait that timed out.
- 2: bad usage (click's own), or an answer that did not verify (``query``).
- 3: the node could not be reached, or answered outside the API contract.
"""

from __future__ import annotations

from typing import IO, Any

import click

EXIT_FAILED = 1
EXIT_UNVERIFIED = 2
EXIT_NODE = 3


class CliError(click.ClickException):
    """Base of every error the command reports; ``code`` is stable."""

    exit_code = EXIT_FAILED

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def format_message(self) -> str:
        return f"{self.code}: {self.message}"

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {self.format_message()}", file=file, err=file is None)


class Failed(CliError):
    """The operation ran and failed (exit 1)."""


class Unverified(CliError):
    """An answer from a node that does not check out (exit 2)."""

    exit_code = EXIT_UNVERIFIED


class NodeUnavailable(CliError):
    """The node is unreachable or broke the API contract (exit 3)."""

    exit_code = EXIT_NODE
