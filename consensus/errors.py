"""Errors of the consensus driver.

Misbehaviour of peers is never an exception here: bad messages are dropped
and equivocation becomes evidence. What remains is our own environment
contradicting itself, which stops the node.
"""

from __future__ import annotations


class ConsensusError(Exception):
    code = "consensus.error"


class StoreInconsistent(ConsensusError):
    """The application reports a height whose block it cannot return."""

    code = "consensus.store_inconsistent"

    def __init__(self, height: int) -> None:
        super().__init__(
            f"the application's last height is {height} but it has no block "
            "and commit stored there; the block store is damaged"
        )
        self.height = height
