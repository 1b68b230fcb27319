"""The event feed: what recent blocks' transactions emitted, for API clients.

Invariants:

1. Blocks enter in height order, each exactly once, with all its events:
   those of each transaction in block order, then those of the end-of-block
   step (``tx`` is None for them). A block with no events still advances
   the feed's height, so a client's cursor always moves forward.
2. Only the most recent ``keep_blocks`` blocks are kept; a cursor older than
   that is told so (``missed``) instead of silently skipping blocks.
3. ``append`` is synchronous and never blocks the committer; waiters are
   woken with one trio.Event per height change, replaced on every append.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import trio

from chain.block import Block
from chain.tx import TxResult
from node.jsonvalues import JsonValue, to_json


@dataclass(frozen=True)
class FeedEvent:
    """One event of a committed block."""

    height: int
    tx: bytes | None  # the transaction's id; None for the end-of-block step
    type: str  # "<module>.<name>", e.g. "identity.enrolled"
    attrs: dict[str, Any]

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "height": self.height,
            "tx": None if self.tx is None else self.tx.hex(),
            "type": self.type,
            "attrs": to_json(self.attrs),
        }


@dataclass(frozen=True)
class BlockEvents:
    height: int
    events: tuple[FeedEvent, ...]


@dataclass(frozen=True)
class FeedSlice:
    """Events of the blocks after a cursor; ``height`` is the next cursor."""

    events: list[FeedEvent]
    height: int
    missed: bool  # blocks after the cursor have already left the feed


def block_events(block: Block, results: Sequence[TxResult]) -> list[FeedEvent]:
    """A committed block's events: per transaction, then end-of-block."""
    height = block.height
    out: list[FeedEvent] = []
    ids: list[bytes | None] = [tx.id for tx in block.txs]
    ids.append(None)  # the last result is the end-of-block step's
    for tx_id, result in zip(ids, results, strict=False):
        out.extend(FeedEvent(height, tx_id, e.type, e.attrs) for e in result.events)
    return out


class EventFeed:
    def __init__(self, keep_blocks: int = 256, *, height: int = 0) -> None:
        if keep_blocks < 1:
            raise ValueError("keep_blocks must be at least 1")
        self._blocks: deque[BlockEvents] = deque(maxlen=keep_blocks)
        self._height = height
        self._changed = trio.Event()

    @property
    def height(self) -> int:
        """The last height appended (or the start height given)."""
        return self._height

    @property
    def oldest(self) -> int:
        """The lowest height whose events are still kept (height + 1 if none)."""
        return self._blocks[0].height if self._blocks else self._height + 1

    def append(self, height: int, events: Iterable[FeedEvent]) -> None:
        """Add the events of block ``height``, the block after the last one."""
        if height != self._height + 1:
            raise ValueError(f"feed is at {self._height}, cannot append {height}")
        self._blocks.append(BlockEvents(height, tuple(events)))
        self._height = height
        changed, self._changed = self._changed, trio.Event()
        changed.set()

    def append_block(self, block: Block, results: Sequence[TxResult]) -> None:
        self.append(block.height, block_events(block, results))

    def after(self, height: int, max_blocks: int = 100) -> FeedSlice:
        """The events of at most ``max_blocks`` kept blocks above ``height``.

        A cursor above the feed's height counts as the feed's height.
        """
        cursor = min(max(height, 0), self._height)
        events: list[FeedEvent] = []
        last = cursor
        taken = 0
        for entry in self._blocks:
            if entry.height <= cursor:
                continue
            if taken == max_blocks:
                break
            events.extend(entry.events)
            last = entry.height
            taken += 1
        missed = cursor + 1 < self.oldest
        if missed and taken == 0:  # nothing kept above the cursor: jump ahead
            last = self._height
        return FeedSlice(events, last, missed)

    async def wait_after(self, height: int, timeout: float) -> bool:
        """Wait until a block above ``height`` is in; False on timeout."""
        with trio.move_on_after(timeout if timeout >= 0 else math.inf):
            while self._height <= height:
                await self._changed.wait()
        return self._height > height
