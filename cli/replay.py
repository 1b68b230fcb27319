"""Replaying a chain block by block through a fresh Application.

This is the auditor's check and the importer's: each record (a height, the
block's bytes, the commit that decided it) is accepted only if

1. the block decodes and is for the next height;
2. its commit verifies (Commit.verify) against the genesis validator set for
   that height and that block's hash;
3. the Application validates it: the previous block's commit carried in the
   block, every transaction signature, structure, time, and re-execution to
   the same results root and state root;
4. when the source is a node's store, what it stored for that height (the
   results, the state root, the index of each transaction) is what the
   replay computed.

The first record that fails stops the replay with a ``Divergence`` naming the
height, the field, and the expected and found values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chain.block import Block, commit_hash, evidence_hash, txs_root
from chain.errors import ChainError
from chain.votes import Commit
from node.application import Application, Executed
from node.errors import BlockInvalid
from storage.store import Store


@dataclass(frozen=True)
class Record:
    height: int
    block: bytes
    commit: bytes


class Divergence(Exception):
    """The first place where the chain is not what it claims."""

    def __init__(
        self, height: int, field: str, expected: str, found: str, detail: str = ""
    ) -> None:
        super().__init__(
            f"height {height}: {field}: expected {expected}, found {found}"
            + (f" ({detail})" if detail else "")
        )
        self.height = height
        self.field = field
        self.expected = expected
        self.found = found
        self.detail = detail

    def to_json(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "field": self.field,
            "expected": self.expected,
            "found": self.found,
            "detail": self.detail,
        }


class Replayer:
    """Applies records to ``app``; ``stored`` is the store they came from."""

    def __init__(self, app: Application, stored: Store | None = None) -> None:
        self.app = app
        self.stored = stored
        self.blocks = 0
        self.txs = 0

    def apply(self, record: Record, *, sync: bool = True) -> Executed:
        """Check and commit one record; ``sync=False`` leaves the write to be
        synced by a later one (``storage.store`` invariant 1)."""
        app = self.app
        height = app.height + 1
        if record.height != height:
            raise Divergence(height, "height", str(height), str(record.height))
        try:
            block = Block.decode(record.block)
        except ChainError as exc:
            raise Divergence(
                height, "block", "a valid block", exc.code, exc.message
            ) from exc
        if block.height != height:
            raise Divergence(height, "height", str(height), str(block.height))
        try:
            commit = Commit.decode(record.commit)
            commit.verify(app.chain_id, app.validators_at(height), height, block.hash())
        except ChainError as exc:
            raise Divergence(
                height,
                "commit",
                f"more than 2/3 of the power signing {block.hash().hex()}",
                exc.code,
                exc.message,
            ) from exc
        try:
            executed = app.validate_block(block)
        except BlockInvalid as exc:
            raise self._explain(block, exc) from exc
        app.commit(block, commit, sync=sync)
        if self.stored is not None:
            self._compare_stored(self.stored, executed)
        self.blocks += 1
        self.txs += len(block.txs)
        return executed

    @staticmethod
    def _compare_stored(stored: Store, executed: Executed) -> None:
        block = executed.block
        height = block.height
        if stored.get_results(height) != executed.results_bytes:
            raise Divergence(
                height,
                "results",
                f"{len(executed.results)} results as re-executed",
                "different stored results",
            )
        root = block.header.state_root
        found = stored.state_root_at(height)
        if found != root:
            shown = "missing" if found is None else found.hex()
            raise Divergence(height, "stored state_root", root.hex(), shown)
        for index, tx in enumerate(block.txs):
            where = stored.get_tx_location(tx.id)
            if where is None or (where.height, where.index) != (height, index):
                shown = "missing" if where is None else f"{where.height}/{where.index}"
                raise Divergence(
                    height, f"tx index {tx.id.hex()}", f"{height}/{index}", shown
                )

    def _explain(self, block: Block, exc: BlockInvalid) -> Divergence:
        """The expected value for the field the application refused."""
        h = block.header
        app = self.app
        field = exc.field
        if field == "structure":
            field = _structure_field(exc.code)
        expected: str
        found: str
        if field in ("results_root", "state_root"):
            results, root = self._reexecute(block)
            expected = (results if field == "results_root" else root).hex()
            found = getattr(h, field).hex()
        elif field == "txs_root":
            expected = txs_root([tx.id for tx in block.txs]).hex()
            found = h.txs_root.hex()
        elif field == "last_commit" and exc.message.startswith("last_commit_hash"):
            field = "last_commit_hash"
            expected = commit_hash(block.last_commit).hex()
            found = h.last_commit_hash.hex()
        elif field == "last_commit":
            expected = f"a valid commit of block {h.height - 1}"
            found = exc.code
        elif field == "txs":
            expected, found = "valid, signed transactions", exc.code
        elif field == "evidence_hash":
            expected = evidence_hash(list(block.evidence)).hex()
            found = h.evidence_hash.hex()
        elif field == "prev_hash":
            expected, found = app.prev_hash().hex(), h.prev_hash.hex()
        elif field == "time":
            expected = str(app.block_time(h.height, block.last_commit))
            found = str(h.time)
        elif field in ("validators_hash", "next_validators_hash"):
            expected, found = app.validators.hash.hex(), getattr(h, field).hex()
        elif field == "chain":
            expected, found = app.chain_id, h.chain
        else:
            expected, found = "a valid block", exc.code
        return Divergence(h.height, field, expected, found, exc.message)

    def _reexecute(self, block: Block) -> tuple[bytes, bytes]:
        # validate_block names only the value it found; run the block again
        # on a throwaway overlay for the value it expected.
        return self.app.recompute_roots(block)


def _structure_field(code: str) -> str:
    if code == "block.txs_root":
        return "txs_root"
    if code == "block.evidence":
        return "evidence_hash"
    if code.startswith("commit.") or code == "block.last_commit":
        return "last_commit"
    if code.startswith("evidence."):
        return "evidence"
    return "block"
