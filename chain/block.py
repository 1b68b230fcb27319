"""Block headers and blocks (DESIGN.md §4).

The block hash is SHA-256 of the canonical header. ``txs_root`` is the
RFC 6962 root over the transaction ids, ``results_root`` over the encoded
results, ``evidence_hash`` over the encoded evidence; ``last_commit_hash`` is
SHA-256 of the encoded previous commit (of no bytes at height 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from chain import encoding
from chain.errors import ValidationError
from chain.fields import as_map, get_bytes, get_int, get_list, get_str
from chain.hashing import merkle_root, sha256
from chain.tx import MAX_CHAIN_ID, SignedTx, TxResult, check_chain_id
from chain.votes import MAX_HEIGHT, MAX_TIME, Commit, DuplicateVoteEvidence

MAX_BLOCK_BYTES = 8 * 1024 * 1024
MAX_BLOCK_TXS = 20_000
MAX_EVIDENCE = 64
EMPTY_HASH = sha256(b"")

HEADER_FIELDS = (
    "chain",
    "evidence_hash",
    "height",
    "last_commit_hash",
    "next_validators_hash",
    "prev_hash",
    "proposer",
    "results_root",
    "state_root",
    "time",
    "txs_root",
    "validators_hash",
)


@dataclass(frozen=True)
class Header:
    chain: str
    height: int
    time: int
    prev_hash: bytes
    proposer: bytes
    txs_root: bytes
    results_root: bytes
    state_root: bytes
    validators_hash: bytes
    next_validators_hash: bytes
    last_commit_hash: bytes
    evidence_hash: bytes

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in HEADER_FIELDS}

    def encode(self) -> bytes:
        return encoding.encode(self.to_value())

    def hash(self) -> bytes:
        return sha256(self.encode())

    @classmethod
    def from_value(cls, value: Any) -> Header:
        m = as_map(value, "header", HEADER_FIELDS)
        hashes = {
            name: get_bytes(m, name, 32)
            for name in HEADER_FIELDS
            if name not in ("chain", "height", "time")
        }
        return cls(
            chain=check_chain_id(get_str(m, "chain", MAX_CHAIN_ID, min_len=1)),
            height=get_int(m, "height", 1, MAX_HEIGHT),
            time=get_int(m, "time", 0, MAX_TIME),
            **hashes,
        )


def txs_root(tx_ids: list[bytes]) -> bytes:
    return merkle_root(tx_ids)


def results_root(results: list[TxResult]) -> bytes:
    return merkle_root([r.encode() for r in results])


def evidence_hash(evidence: list[DuplicateVoteEvidence]) -> bytes:
    return merkle_root([e.encode() for e in evidence])


def commit_hash(commit: Commit | None) -> bytes:
    return EMPTY_HASH if commit is None else commit.hash()


@dataclass(frozen=True)
class Block:
    header: Header
    txs: tuple[SignedTx, ...]
    last_commit: Commit | None
    evidence: tuple[DuplicateVoteEvidence, ...] = ()
    _hash: bytes = field(default=b"", repr=False, compare=False)

    @property
    def height(self) -> int:
        return self.header.height

    def hash(self) -> bytes:
        return self._hash or self.header.hash()

    def to_value(self) -> dict[str, Any]:
        return {
            "evidence": [e.to_value() for e in self.evidence],
            "header": self.header.to_value(),
            "last_commit": None
            if self.last_commit is None
            else self.last_commit.to_value(),
            "txs": [tx.raw for tx in self.txs],
        }

    def encode(self) -> bytes:
        return encoding.encode(self.to_value())

    @classmethod
    def decode(cls, data: bytes) -> Block:
        m = as_map(
            encoding.decode(data, max_size=MAX_BLOCK_BYTES),
            "block",
            ("evidence", "header", "last_commit", "txs"),
        )
        header = Header.from_value(m["header"])
        raw_txs = get_list(m, "txs", MAX_BLOCK_TXS)
        txs = []
        for raw in raw_txs:
            if not isinstance(raw, bytes):
                raise ValidationError("block txs must be bytes", code="block.bad_tx")
            txs.append(SignedTx.decode(raw))
        last_commit = (
            None if m["last_commit"] is None else Commit.from_value(m["last_commit"])
        )
        evidence = tuple(
            DuplicateVoteEvidence.from_value(e)
            for e in get_list(m, "evidence", MAX_EVIDENCE)
        )
        return cls(header, tuple(txs), last_commit, evidence, header.hash())

    def check_structure(self) -> None:
        """Check what the header commits to that needs no state: roots, commit link."""
        h = self.header
        if h.txs_root != txs_root([tx.id for tx in self.txs]):
            raise ValidationError(
                "txs_root does not match the transactions", code="block.txs_root"
            )
        if h.last_commit_hash != commit_hash(self.last_commit):
            raise ValidationError(
                "last_commit_hash does not match", code="block.last_commit"
            )
        if h.evidence_hash != evidence_hash(list(self.evidence)):
            raise ValidationError("evidence_hash does not match", code="block.evidence")
        if (self.last_commit is None) != (h.height == 1):
            raise ValidationError(
                "last_commit required above height 1", code="block.last_commit"
            )
        if self.last_commit is not None:
            if self.last_commit.height != h.height - 1:
                raise ValidationError("last_commit height", code="block.last_commit")
            if self.last_commit.block_hash != h.prev_hash:
                raise ValidationError(
                    "last_commit is not for prev_hash", code="block.last_commit"
                )
        ids = [tx.id for tx in self.txs]
        if len(set(ids)) != len(ids):
            raise ValidationError(
                "duplicate transaction in block", code="block.duplicate_tx"
            )

    def with_header(self, header: Header) -> Block:
        return replace(self, header=header, _hash=header.hash())
