"""The application: executes blocks through the modules against the store.

It needs no network: consensus, block sync, the auditor and the tests all
drive it directly.

Invariants:

1. Execution is immediate (DESIGN.md §4): a block's header carries the
   results root and the state root *after* the block, so a proposer executes
   before proposing and every validator executes before voting. Execution
   happens on an overlay and reaches the store only through ``commit``.
2. A block is valid only if every transaction in it is valid (signature,
   chain, enrolment, nonce); a transaction that a module refuses is failed,
   not invalid, and stays in the block.
3. Results are one per transaction, then one for the end-of-block step; the
   results root is the RFC 6962 root over their encodings.
4. The validator set is the genesis set (changes are not implemented, so
   ``validators_hash == next_validators_hash`` at every height).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from chain import encoding
from chain.block import (
    EMPTY_HASH,
    Block,
    Header,
    commit_hash,
    evidence_hash,
    results_root,
    txs_root,
)
from chain.errors import ChainError
from chain.genesis import Genesis
from chain.hashing import sha256
from chain.smt_proof import Proof
from chain.tx import SignedTx, TxResult, encode_results
from chain.validators import ValidatorSet
from chain.votes import Commit, CommitError, DuplicateVoteEvidence, bft_time
from modules.errors import TxInvalid
from modules.host import ModuleHost
from node.errors import BlockInvalid, TxRefused
from node.verifier import Pending, Verifier, shared_verifier
from storage.overlay import Overlay, ReadCache
from storage.store import PreparedState, Store

log = logging.getLogger("egov.app")

GENESIS_META = "genesis_hash"
EVIDENCE_PREFIX = b"_app/evidence/"


def evidence_key(evidence: DuplicateVoteEvidence) -> bytes:
    """Where committed evidence is recorded in the state."""
    return EVIDENCE_PREFIX + sha256(evidence.encode())


# The threads that verify signatures, for blocks here and for batches of
# blocks in node.sync: PyNaCl releases the GIL while it verifies.
VERIFY_WORKERS = max(2, os.cpu_count() or 2)
VERIFY_POOL = ThreadPoolExecutor(VERIFY_WORKERS, thread_name_prefix="egov-verify")


@dataclass(frozen=True)
class Executed:
    """A block executed on an overlay, ready to commit."""

    block: Block
    results: tuple[TxResult, ...]  # one per tx, then the end-of-block result
    state: PreparedState

    @cached_property
    def results_bytes(self) -> bytes:
        # Encoded once: commit writes it and an audit compares it as well.
        # Each result's bytes are those the results root hashed.
        return encode_results(self.results)


def verify_signatures(txs: Sequence[SignedTx], chain_id: str) -> None:
    """Verify every signature, in threads (PyNaCl releases the GIL).

    Threads verify before the block executes, not beside it: a thread
    executing Python holds the GIL for its switch interval, so verifying
    threads waiting for it after each signature made a block slower, not
    faster (measured: 206 against 180 ms for a 1,000-transaction block).
    Verifying beside execution is done in processes (``node.verifier``).
    """
    if len(txs) < 64:
        for tx in txs:
            tx.verify_signature(chain_id)
        return

    def check_part(part: Sequence[SignedTx]) -> int:
        for tx in part:
            tx.verify_signature(chain_id)
        return len(part)

    chunk = max(16, len(txs) // (2 * VERIFY_WORKERS))
    parts = [txs[i : i + chunk] for i in range(0, len(txs), chunk)]
    # list() re-raises the first failure here, in the caller's thread.
    list(VERIFY_POOL.map(check_part, parts))


class Application:
    def __init__(
        self,
        store: Store,
        genesis: Genesis,
        host: ModuleHost | None = None,
        verifier: Verifier | None = None,
    ):
        self.store = store
        self.verifier = shared_verifier() if verifier is None else verifier
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.host = host or ModuleHost.from_genesis(genesis)
        self.validators: ValidatorSet = genesis.validators
        self._executed: dict[bytes, Executed] = {}
        self._last_header: Header | None = None

    # --- chain position -------------------------------------------------------

    def init_chain(self) -> None:
        """Write the genesis state once; afterwards check it is the same genesis."""
        if self.store.initialized:
            stored = self.store.get_meta(GENESIS_META)
            if stored != self.genesis.hash:
                raise BlockInvalid(
                    "node.wrong_genesis",
                    "the store was created from another genesis",
                    "genesis",
                )
            return
        overlay = Overlay(self.store.state)
        self.host.init_genesis(overlay)
        prepared = self.store.prepare(overlay.changes())
        self.store.commit_genesis(prepared, meta={GENESIS_META: self.genesis.hash})
        log.info("genesis written chain=%s root=%s", self.chain_id, prepared.root.hex())

    @property
    def height(self) -> int:
        return self.store.height

    def last_header(self) -> Header | None:
        height = self.store.height
        if height == 0:
            return None
        if self._last_header is None or self._last_header.height != height:
            raw = self.store.get_block(height)
            assert raw is not None
            self._last_header = Block.decode(raw).header
        return self._last_header

    def prev_hash(self) -> bytes:
        return self.store.last_block_hash or self.genesis.hash

    def block_time(self, height: int, last_commit: Commit | None) -> int:
        """BFT time of block ``height``: genesis time, then the commit's median."""
        if height == 1 or last_commit is None:
            return self.genesis.genesis_time
        return bft_time(last_commit, self.validators)

    def validators_at(self, height: int) -> ValidatorSet:
        return self.validators

    # --- admission --------------------------------------------------------------

    def decode_tx(self, raw: bytes) -> SignedTx:
        """Decode and verify the signature; TxRefused with the chain's code."""
        try:
            tx = SignedTx.decode(raw)
            tx.verify_signature(self.chain_id)
        except ChainError as exc:
            raise TxRefused(exc.code, exc.message) from exc
        return tx

    def check_tx(
        self, tx: SignedTx, expected_nonce: int | None = None, *, rules: bool = True
    ) -> None:
        """Is ``tx`` valid on the committed state (signature already checked)?

        With ``rules``, the action is also dry-run so that a transaction the
        module would refuse right now is refused before it enters a block.
        """
        state = Overlay(self.store.state)  # read-only use: thrown away
        try:
            self.host.check_validity(state, tx, expected_nonce)
        except TxInvalid as exc:
            raise TxRefused(exc.code, exc.message) from exc
        if rules:
            header = self.last_header()
            time = header.time if header else self.genesis.genesis_time
            result = self.host.check_rules(state, tx, self.height + 1, time)
            if not result.ok:
                raise TxRefused(result.code, result.message)

    def next_nonce(self, sender: bytes) -> int:
        return self.host.next_nonce(Overlay(self.store.state), sender)

    # --- execution --------------------------------------------------------------

    def _execute(
        self,
        header: Header,
        txs: Sequence[SignedTx],
        *,
        drop_invalid: bool,
        evidence: Sequence[DuplicateVoteEvidence] = (),
    ) -> tuple[list[SignedTx], list[TxResult], PreparedState]:
        reads = ReadCache(self.store.state)
        overlay = Overlay(reads)
        for ev in evidence:
            # Recorded in the state: provable, and never accepted twice.
            key = evidence_key(ev)
            if overlay.get(key) is not None:
                raise BlockInvalid(
                    "block.evidence_repeated",
                    "evidence already committed",
                    "evidence",
                )
            overlay.set(
                key,
                encoding.encode(
                    {
                        "height": header.height,
                        "validator": ev.vote_a.validator,
                    }
                ),
            )
        kept: list[SignedTx] = []
        results: list[TxResult] = []
        for tx in txs:
            try:
                result = self.host.execute_tx(overlay, tx, header.height, header.time)
            except TxInvalid as exc:
                if drop_invalid:
                    continue
                raise BlockInvalid(
                    exc.code, f"tx {tx.id.hex()}: {exc.message}", "txs"
                ) from exc
            kept.append(tx)
            results.append(result)
        results.append(self.host.end_block(overlay, header.height, header.time))
        state = self.store.prepare(overlay.changes(), old=reads.values)
        return kept, results, state

    def build_block(
        self,
        proposer: bytes,
        txs: Iterable[SignedTx],
        last_commit: Commit | None,
        evidence: Sequence[DuplicateVoteEvidence] = (),
    ) -> Block:
        """Execute candidate transactions and return the block to propose.

        Invalid candidates (a nonce taken meanwhile) are left out, not fatal.
        """
        fresh: dict[bytes, DuplicateVoteEvidence] = {}
        for ev in evidence:
            key = evidence_key(ev)
            if self.store.state_get(key) is None:
                fresh.setdefault(key, ev)
        evidence = list(fresh.values())
        height = self.height + 1
        draft = Header(
            chain=self.chain_id,
            height=height,
            time=self.block_time(height, last_commit),
            prev_hash=self.prev_hash(),
            proposer=proposer,
            txs_root=EMPTY_HASH,
            results_root=EMPTY_HASH,
            state_root=EMPTY_HASH,
            validators_hash=self.validators.hash,
            next_validators_hash=self.validators.hash,
            last_commit_hash=commit_hash(last_commit),
            evidence_hash=evidence_hash(list(evidence)),
        )
        kept, results, state = self._execute(
            draft, list(txs), drop_invalid=True, evidence=evidence
        )
        header = Header(
            **{
                **draft.__dict__,
                "txs_root": txs_root([tx.id for tx in kept]),
                "results_root": results_root(results),
                "state_root": state.root,
            }
        )
        block = Block(header, tuple(kept), last_commit, tuple(evidence), header.hash())
        self._remember(Executed(block, tuple(results), state))
        return block

    def validate_block(self, block: Block) -> Executed:
        """Check every rule of a proposed block and execute it; BlockInvalid if not."""
        cached = self._executed.get(block.hash())
        if cached is not None and cached.state.base_root == self.store.state_root:
            return cached
        h = block.header
        height = self.height + 1
        self._expect(h.chain == self.chain_id, "block.chain", "chain", h.chain)
        self._expect(h.height == height, "block.height", "height", h.height)
        self._expect(
            h.prev_hash == self.prev_hash(),
            "block.prev_hash",
            "prev_hash",
            h.prev_hash.hex(),
        )
        self._expect(
            h.proposer in self.validators,
            "block.proposer",
            "proposer",
            h.proposer.hex(),
        )
        self._expect(
            h.validators_hash == self.validators.hash,
            "block.validators",
            "validators_hash",
            h.validators_hash.hex(),
        )
        self._expect(
            h.next_validators_hash == self.validators.hash,
            "block.validators",
            "next_validators_hash",
            h.next_validators_hash.hex(),
        )
        try:
            block.check_structure()
            if block.last_commit is not None:
                block.last_commit.verify(
                    self.chain_id, self.validators, height - 1, h.prev_hash
                )
            for ev in block.evidence:
                ev.verify(self.chain_id, self.validators)
        except (ChainError, CommitError) as exc:
            raise BlockInvalid(exc.code, exc.message, "structure") from exc
        expected_time = self.block_time(height, block.last_commit)
        self._expect(h.time == expected_time, "block.time", "time", h.time)
        last = self.last_header()
        if last is not None:
            self._expect(h.time > last.time, "block.time", "time", h.time)
        # Worker processes verify the signatures while the block executes
        # on its overlay; nothing is kept unless every one is good, and a
        # bad signature is reported before any execution error, as if it
        # had been checked first. Without them, threads verify first.
        pending = self.verifier.start(block.txs, self.chain_id)
        if pending is None:
            self._signatures_ok(None, block.txs)
        try:
            _, results, state = self._execute(
                h, block.txs, drop_invalid=False, evidence=block.evidence
            )
        finally:
            if pending is not None:  # a bad signature replaces any error
                self._signatures_ok(pending, block.txs)
        self._expect(
            results_root(results) == h.results_root,
            "block.results_root",
            "results_root",
            h.results_root.hex(),
        )
        self._expect(
            state.root == h.state_root,
            "block.state_root",
            "state_root",
            h.state_root.hex(),
        )
        executed = Executed(block, tuple(results), state)
        self._remember(executed)
        return executed

    def recompute_roots(self, block: Block) -> tuple[bytes, bytes]:
        """(results_root, state_root) that ``block`` really produces here, on
        a throwaway overlay: what an auditor reports as "expected"."""
        _, results, state = self._execute(
            block.header, block.txs, drop_invalid=False, evidence=block.evidence
        )
        return results_root(results), state.root

    def _signatures_ok(self, pending: Pending | None, txs: Sequence[SignedTx]) -> None:
        try:
            if pending is None:
                verify_signatures(txs, self.chain_id)
            else:
                pending.result()
        except ChainError as exc:
            raise BlockInvalid(exc.code, exc.message, "txs") from exc

    @staticmethod
    def _expect(ok: bool, code: str, field: str, found: Any) -> None:
        if not ok:
            raise BlockInvalid(code, f"{field} is wrong (found {found})", field)

    def _remember(self, executed: Executed) -> None:
        # Only blocks for the next height are useful; keep a handful per round.
        if len(self._executed) > 16:
            self._executed.clear()
        self._executed[executed.block.hash()] = executed

    def commit(self, block: Block, commit: Commit, *, sync: bool = True) -> Executed:
        """Write a decided block with the commit that decided it.

        ``sync=False`` defers durability to a later synced commit (a run of
        synced blocks, see ``storage.store`` invariant 1).
        """
        executed = self.validate_block(block)
        self.store.commit_block(
            height=block.height,
            block_hash=block.hash(),
            block=block.encode(),
            commit=commit.encode(),
            txids=[tx.id for tx in block.txs],
            results=executed.results_bytes,
            state=executed.state,
            sync=sync,
        )
        self._executed.clear()
        self._last_header = block.header
        return executed

    # --- reads ------------------------------------------------------------------

    def get_block(self, height: int) -> Block | None:
        raw = self.store.get_block(height)
        return None if raw is None else Block.decode(raw)

    def get_commit(self, height: int) -> Commit | None:
        raw = self.store.get_commit(height)
        return None if raw is None else Commit.decode(raw)

    def get_results(self, height: int) -> list[TxResult]:
        raw = self.store.get_results(height)
        if raw is None:
            return []
        return [TxResult.from_value(v) for v in encoding.decode(raw)]

    def prove(self, key: bytes) -> tuple[bytes | None, Proof, int]:
        """The committed value of a state key, its proof, and the height."""
        height = self.store.height
        return self.store.state_get(key), self.store.prove(key), height

    def query(self, module: str, name: str, params: dict[str, Any]) -> Any:
        return self.host.query(Overlay(self.store.state), module, name, params)
