"""Block sync: catch up from peers' stores, then hand over to consensus.

A node that is behind (after a restart, a partition, or an observer that
never votes) asks peers for decided blocks with their commits, in batches.

Invariants:

1. Each block is applied only after its commit verifies against the
   validator set and the block itself validates (signatures, structure, BFT
   time) and re-executes to the state root and results root its header
   claims. Nothing is taken on a peer's word.
2. A batch is applied in order and stops at the first pair that is refused,
   with the error that pair alone would raise; the blocks before it stay
   committed and nothing after it is applied.
3. Within a batch, writes are synced only at the end of each group of
   blocks verified together, and on the block before a pair already known to
   be refused; a block refused only when executed is followed by
   ``Store.sync`` (``storage.store`` invariant 1). A power loss can drop
   only unsynced blocks at the end of a group in progress, which are
   fetched again.
4. The signatures of a group are verified ahead, in threads, only to fill
   the memo of ``chain.keys``: the checks of each block that follow still
   run and decide, and find the good signatures there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from chain.block import Block
from chain.errors import ChainError
from chain.tx import SignedTx
from chain.votes import Commit, CommitError, Vote
from node.application import VERIFY_POOL, VERIFY_WORKERS, Application
from node.errors import BlockInvalid

log = logging.getLogger("egov.sync")

MAX_BATCH = 100
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
# Signatures verified ahead at once: well under the memo's bound in
# chain.keys, so that none is forgotten before its block is checked.
AHEAD_SIGNATURES = 8192
# Fewer signatures than this are not worth a thread.
_AHEAD_THREADED = 32

Fetch = Callable[[int, int], Awaitable[Sequence[tuple[bytes, bytes]]]]
Pair = tuple[Block, Commit]


@dataclass
class SyncProgress:
    applied: int = 0
    txs: int = 0
    started: float = 0.0

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.txs / elapsed if elapsed > 0 else 0.0


def decode_pair(block_raw: bytes, commit_raw: bytes) -> Pair:
    """A (block, commit) pair from a peer, decoded, or BlockInvalid."""
    try:
        return Block.decode(block_raw), Commit.decode(commit_raw)
    except ChainError as exc:
        raise BlockInvalid(exc.code, exc.message, "encoding") from exc


def apply_synced(
    app: Application, block_raw: bytes, commit_raw: bytes, *, sync: bool = True
) -> Block:
    """Verify a (block, commit) pair from a peer and commit it, or BlockInvalid."""
    block, commit = decode_pair(block_raw, commit_raw)
    apply_decided(app, block, commit, sync=sync)
    return block


def apply_decided(
    app: Application, block: Block, commit: Commit, *, sync: bool = True
) -> None:
    """Commit a decided block after checking its commit; the application
    validates and re-executes the block itself (state and results roots)."""
    check_commit(app, block, commit, app.height + 1)
    app.commit(block, commit, sync=sync)


def check_commit(app: Application, block: Block, commit: Commit, height: int) -> None:
    """BlockInvalid unless ``block`` is at ``height`` and ``commit`` decides it."""
    if block.height != height:
        raise BlockInvalid(
            "sync.height", f"got height {block.height}, expected {height}", "height"
        )
    try:
        commit.verify(
            app.chain_id, app.validators_at(block.height), block.height, block.hash()
        )
    except (ChainError, CommitError) as exc:
        raise BlockInvalid(exc.code, exc.message, "commit") from exc


def apply_batch(app: Application, items: Sequence[tuple[bytes, bytes]]) -> list[Block]:
    """Apply a fetched batch in order (invariants 2 and 3); the blocks applied.

    Raises the BlockInvalid of the first refused pair after committing the
    ones before it.
    """
    pairs: list[Pair] = []
    refusal: BlockInvalid | None = None
    for block_raw, commit_raw in items:
        try:
            pairs.append(decode_pair(block_raw, commit_raw))
        except BlockInvalid as exc:
            refusal = exc
            break
    applied: list[Block] = []
    for group in _groups(pairs):
        found = _apply_group(app, group, applied)
        if found is not None:  # a commit refused within the group
            refusal = found
            break
    if refusal is not None:
        raise refusal
    return applied


def _apply_group(
    app: Application, group: list[Pair], applied: list[Block]
) -> BlockInvalid | None:
    """Apply ``group``; the refusal of a commit found before applying, if any."""
    unsure = verify_ahead(app.chain_id, group)
    refusal: BlockInvalid | None = None
    first = app.height + 1
    for i, (block, commit) in enumerate(group):
        try:
            check_commit(app, block, commit, first + i)
        except BlockInvalid as exc:
            group, refusal = group[:i], exc
            break
    unsure = min(unsure, len(group))
    for i, (block, commit) in enumerate(group):
        last = i + 1 == len(group) or i + 1 == unsure
        # check_commit above verified this commit for this height; the
        # application validates and re-executes the block itself.
        try:
            app.commit(block, commit, sync=last)
        except BlockInvalid:
            # Refused on execution (a wrong root): what came before it stays,
            # durably, as block-by-block sync would have left it.
            app.store.sync()
            raise
        applied.append(block)
    return refusal


def _groups(pairs: list[Pair]) -> list[list[Pair]]:
    """Consecutive runs of pairs with at most AHEAD_SIGNATURES (or one pair)."""
    groups: list[list[Pair]] = []
    current: list[Pair] = []
    count = 0
    for pair in pairs:
        n = _signatures(pair)
        if current and count + n > AHEAD_SIGNATURES:
            groups.append(current)
            current, count = [], 0
        current.append(pair)
        count += n
    if current:
        groups.append(current)
    return groups


def _signatures(pair: Pair) -> int:
    block, commit = pair
    last = block.last_commit
    return (
        len(block.txs) + len(commit.signatures) + (len(last.signatures) if last else 0)
    )


def verify_ahead(chain_id: str, pairs: Sequence[Pair]) -> int:
    """Verify every signature of ``pairs`` (transactions, commits, last
    commits) in threads; the index of the first pair with one that does not
    verify, or ``len(pairs)``. Only a hint: the verdicts that count are the
    checks made when each block is applied (invariant 4)."""
    checks: list[tuple[int, Callable[[], bool]]] = []
    seen: set[bytes] = set()
    for index, (block, commit) in enumerate(pairs):
        for c in (block.last_commit, commit):
            for vote in c.votes() if c is not None else ():
                if vote.sig not in seen:  # a commit comes again as a last commit
                    seen.add(vote.sig)
                    checks.append((index, _vote_check(vote, chain_id)))
        checks.extend((index, _tx_check(tx, chain_id)) for tx in block.txs)
    if len(checks) < _AHEAD_THREADED:
        return _first_failure(checks, len(pairs))
    chunk = -(-len(checks) // (2 * VERIFY_WORKERS))
    parts = [checks[i : i + chunk] for i in range(0, len(checks), chunk)]
    found = VERIFY_POOL.map(_first_failure, parts, [len(pairs)] * len(parts))
    return min(found, default=len(pairs))


def _first_failure(checks: Sequence[tuple[int, Callable[[], bool]]], none: int) -> int:
    for index, check in checks:
        if not check():
            return index
    return none


def _vote_check(vote: Vote, chain_id: str) -> Callable[[], bool]:
    return lambda: vote.verify(chain_id)


def _tx_check(tx: SignedTx, chain_id: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            tx.verify_signature(chain_id)
        except ChainError:
            return False
        return True

    return check


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
        for block in apply_batch(app, items):
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
