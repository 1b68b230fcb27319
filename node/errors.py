"""Errors of the node: refused transactions and invalid blocks.

Both carry a stable ``code`` and a message; the API returns them as JSON.
"""

from __future__ import annotations


class NodeError(Exception):
    code = "node.error"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TxRefused(NodeError):
    """A transaction refused at admission (invalid, or the mempool is full)."""


class BlockInvalid(NodeError):
    """A proposed or synced block that breaks a rule; ``field`` names it."""

    def __init__(self, code: str, message: str, field: str = "") -> None:
        super().__init__(code, message)
        self.field = field
