"""A deterministic application for the simulated cluster.

It builds real chain Blocks. "Executing" a block folds its transaction ids
into the state root: ``state_root = sha256(previous state_root || ids)``.
A block is valid when its state root is exactly that; a Byzantine
application can build blocks that break the rule and call everything valid.
The block store (``store``) survives a simulated crash; the mempool does not.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import trio

from chain.block import Block, Header, commit_hash, evidence_hash, txs_root
from chain.hashing import merkle_root, sha256
from chain.keys import dev_key
from chain.tx import SignedTx, TxBody
from chain.validators import ValidatorSet
from chain.votes import Commit
from consensus.protocols import BuildRequest

GENESIS_STATE = sha256(b"sim-genesis-state")
Store = dict[int, tuple[Block, Commit]]


@lru_cache(maxsize=4)
def tx_pool(chain_id: str, size: int) -> tuple[SignedTx, ...]:
    """``size`` signed transactions, the same in every run."""
    key = dev_key("sim-client")
    return tuple(
        SignedTx.create(
            TxBody(chain_id, "sim", "noop", {"i": i}, key.public, i + 1), key
        )
        for i in range(size)
    )


def executed_root(previous: bytes, block: Block) -> bytes:
    return sha256(previous + b"".join(tx.id for tx in block.txs))


def previous_root(store: Store, height: int) -> bytes:
    if height == 1:
        return GENESIS_STATE
    return store[height - 1][0].header.state_root


def is_valid(store: Store, block: Block) -> bool:
    """The honest validity rule, given the chain below ``block``."""
    h = block.height
    if h > 1 and h - 1 not in store:
        return False
    committed = {tx.id for b, _ in store.values() for tx in b.txs}
    if any(tx.id in committed for tx in block.txs):
        return False
    return block.header.state_root == executed_root(previous_root(store, h), block)


class FakeApp:
    def __init__(
        self,
        chain_id: str,
        genesis_hash: bytes,
        validators: ValidatorSet,
        store: Store,
        *,
        invalid: bool = False,
        on_commit: Callable[[Block], None] | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.genesis_hash = genesis_hash
        self.valset = validators
        self.store = store
        self.invalid = invalid
        self.mempool: dict[bytes, SignedTx] = {}
        self._has_txs = trio.Event()
        self.on_commit = on_commit
        self._committed = {tx.id for b, _ in store.values() for tx in b.txs}

    # -- the mempool (fed by the simulated load) -----------------------------

    def add_tx(self, tx: SignedTx) -> None:
        if tx.id not in self._committed and tx.id not in self.mempool:
            self.mempool[tx.id] = tx
            self._has_txs.set()

    # -- Application ------------------------------------------------------------

    def last_height(self) -> int:
        return max(self.store, default=0)

    def validators(self, height: int) -> ValidatorSet:
        return self.valset

    def stored_block(self, height: int) -> tuple[Block, Commit] | None:
        return self.store.get(height)

    async def wait_for_txs(self) -> None:
        await self._has_txs.wait()

    async def build_block(self, request: BuildRequest) -> Block:
        txs = list(self.mempool.values())[: request.max_txs]
        return self.make_block(request, tuple(txs))

    def variant(self, block: Block, extra: SignedTx) -> Block:
        """Another valid block for the same slot (an equivocating proposer's
        second proposal): one transaction fewer, or ``extra`` added."""
        request = BuildRequest(
            block.height,
            0,
            block.header.time,
            block.header.proposer,
            block.last_commit,
            block.evidence,
            0,
            0,
        )
        txs = block.txs[:-1] if block.txs else (extra,)
        return self.make_block(request, txs)

    def make_block(self, request: BuildRequest, txs: tuple[SignedTx, ...]) -> Block:
        h = request.height
        prev_hash = self.genesis_hash if h == 1 else self.store[h - 1][0].hash()
        block = Block(
            Header(
                chain=self.chain_id,
                height=h,
                time=request.time,
                prev_hash=prev_hash,
                proposer=request.proposer,
                txs_root=txs_root([tx.id for tx in txs]),
                results_root=merkle_root([]),
                state_root=b"\x00" * 32,
                validators_hash=self.valset.hash,
                next_validators_hash=self.valset.hash,
                last_commit_hash=commit_hash(request.last_commit),
                evidence_hash=evidence_hash(list(request.evidence)),
            ),
            txs,
            request.last_commit,
            request.evidence,
        )
        root = executed_root(previous_root(self.store, h), block)
        if self.invalid:
            root = sha256(root + b"broken")
        header = block.header
        return block.with_header(Header(**{**header.to_value(), "state_root": root}))

    async def validate_block(self, block: Block) -> bool:
        await trio.sleep(0)
        return True if self.invalid else is_valid(self.store, block)

    async def commit_block(self, block: Block, commit: Commit) -> None:
        self.store[block.height] = (block, commit)
        for tx in block.txs:
            self._committed.add(tx.id)
            self.mempool.pop(tx.id, None)
        if not self.mempool:
            self._has_txs = trio.Event()
        if self.on_commit is not None:
            self.on_commit(block)
