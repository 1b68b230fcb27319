"""Block sync: catch up from peers' stores, then hand over to consensus.

A node that is behind (after a restart, a partition, or an observer that
never votes) asks peers for decided blocks with their commits, in batches.
Each block is applied only after its commit verifies against the validator
set and the block itself validates (signatures, structure, BFT time) and
re-executes to the state root and results root its header claims. Nothing is
taken on a peer's word.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from chain.block import Block
from chain.errors import ChainError
from chain.votes import Commit, CommitError
from node.application import Application
from node.errors import BlockInvalid

log = logging.getLogger("egov.sync")

MAX_BATCH = 100
MAX_RESPONSE_BYTES = 16 * 1024 * 1024

Fetch = Callable[[int, int], Awaitable[Sequence[tuple[bytes, bytes]]]]


@dataclass
class SyncProgress:
    applied: int = 0
    txs: int = 0
    started: float = 0.0

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.txs / elapsed if elapsed > 0 else 0.0


def apply_synced(app: Application, block_raw: bytes, commit_raw: bytes) -> Block:
    """Verify a (block, commit) pair from a peer and commit it, or BlockInvalid."""
    try:
        block = Block.decode(block_raw)
        commit = Commit.decode(commit_raw)
    except ChainError as exc:
        raise BlockInvalid(exc.code, exc.message, "encoding") from exc
    apply_decided(app, block, commit)
    return block


def apply_decided(app: Application, block: Block, commit: Commit) -> None:
    """Commit a decided block after checking its commit; the application
    validates and re-executes the block itself (state and results roots)."""
    if block.height != app.height + 1:
        raise BlockInvalid(
            "sync.height",
            f"got height {block.height}, expected {app.height + 1}",
            "height",
        )
    try:
        commit.verify(
            app.chain_id, app.validators_at(block.height), block.height, block.hash()
        )
    except (ChainError, CommitError) as exc:
        raise BlockInvalid(exc.code, exc.message, "commit") from exc
    app.commit(block, commit)


def serve_blocks(app: Application, from_height: int, count: int) -> list[list[bytes]]:
    """Stored (block, commit) pairs from ``from_height``, bounded in count and bytes."""
    out: list[list[bytes]] = []
    size = 0
    for height in range(max(1, from_height), from_height + min(count, MAX_BATCH)):
        block = app.store.get_block(height)
        commit = app.store.get_commit(height)
        if block is None or commit is None:
            break
        size += len(block) + len(commit)
        if out and size > MAX_RESPONSE_BYTES:
            break
        out.append([block, commit])
    return out


async def catch_up(
    app: Application,
    fetch: Fetch,
    target: int,
    *,
    batch: int = 50,
    progress: SyncProgress | None = None,
) -> SyncProgress:
    """Apply blocks from ``fetch`` until the store reaches ``target``."""
    progress = progress or SyncProgress(started=time.monotonic())
    while app.height < target:
        start = app.height + 1
        items = await fetch(start, min(batch, target - app.height, MAX_BATCH))
        if not items:
            break
        for block_raw, commit_raw in items:
            block = apply_synced(app, block_raw, commit_raw)
            progress.applied += 1
            progress.txs += len(block.txs)
        log.info(
            "sync progress height=%d target=%d blocks=%d tx_per_s=%.0f",
            app.height,
            target,
            progress.applied,
            progress.rate(),
        )
    return progress
