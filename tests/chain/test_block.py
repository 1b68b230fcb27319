"""Block headers, block hash, roots and the structural check of a block."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain import encoding
from chain.block import (
    EMPTY_HASH,
    HEADER_FIELDS,
    Block,
    Header,
    commit_hash,
    evidence_hash,
    results_root,
    txs_root,
)
from chain.errors import ChainError, ValidationError
from chain.hashing import merkle_root, sha256
from chain.tx import Event, TxResult
from chain.votes import DuplicateVoteEvidence
from tests.chain.support import (
    BLOCK_HASH,
    CHAIN,
    make_commit,
    make_validators,
    mutated,
    precommit,
    returns_or_chain_error,
    signed_tx,
    values,
)

VALSET, KEYS = make_validators([1, 1, 1, 1])
TXS = (signed_tx(nonce=1), signed_tx(nonce=2), signed_tx(nonce=3))
PREV_COMMIT = make_commit(KEYS, height=4, block_hash=BLOCK_HASH)
EVIDENCE = (
    DuplicateVoteEvidence.of(
        precommit(KEYS[0], height=4), precommit(KEYS[0], height=4, block_hash=None)
    ),
)


def header(**changes: Any) -> Header:
    base = Header(
        chain=CHAIN,
        height=5,
        time=1_767_225_600_000,
        prev_hash=BLOCK_HASH,
        proposer=KEYS[0].public,
        txs_root=txs_root([tx.id for tx in TXS]),
        results_root=results_root([TxResult("ok")] * len(TXS)),
        state_root=b"\x05" * 32,
        validators_hash=VALSET.hash,
        next_validators_hash=VALSET.hash,
        last_commit_hash=commit_hash(PREV_COMMIT),
        evidence_hash=evidence_hash(list(EVIDENCE)),
    )
    return replace(base, **changes)


def block(**changes: Any) -> Block:
    fields = {"header": header(), "txs": TXS, "last_commit": PREV_COMMIT}
    return Block(**{**fields, "evidence": EVIDENCE, **changes})


def test_header_is_a_canonical_map_of_twelve_fields() -> None:
    value = encoding.decode(header().encode())
    assert tuple(value) == HEADER_FIELDS == tuple(sorted(HEADER_FIELDS))
    assert len(HEADER_FIELDS) == 12


def test_block_hash_is_sha256_of_the_header() -> None:
    assert header().hash() == sha256(header().encode())
    assert block().hash() == header().hash()


@pytest.mark.parametrize("name", [f for f in HEADER_FIELDS if f != "chain"])
def test_every_header_field_changes_the_hash(name: str) -> None:
    old = getattr(header(), name)
    new = old + 1 if isinstance(old, int) else sha256(old)
    assert header(**{name: new}).hash() != header().hash()


def test_header_round_trip() -> None:
    assert Header.from_value(encoding.decode(header().encode())) == header()


@pytest.mark.parametrize(
    "change",
    [
        {"height": 0},
        {"time": -1},
        {"chain": ""},
        {"prev_hash": b"\x00" * 31},
        {"state_root": None},
        {"proposer": "ab"},
        {"extra": b""},
    ],
)
def test_malformed_headers(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Header.from_value({**header().to_value(), **change})


def test_block_round_trip() -> None:
    original = block()
    again = Block.decode(original.encode())
    assert again == original
    assert again.hash() == original.hash()
    assert [tx.id for tx in again.txs] == [tx.id for tx in TXS]
    again.check_structure()


def test_first_block_has_no_last_commit() -> None:
    first = block(
        header=header(height=1, last_commit_hash=EMPTY_HASH),
        last_commit=None,
    )
    first.check_structure()
    assert Block.decode(first.encode()) == first
    assert commit_hash(None) == sha256(b"")


def test_roots() -> None:
    ids = [tx.id for tx in TXS]
    assert txs_root(ids) == merkle_root(ids)
    results = [TxResult("ok"), TxResult("x.failed", "no", (Event("e", {}),))]
    assert results_root(results) == merkle_root([r.encode() for r in results])
    assert evidence_hash(list(EVIDENCE)) == merkle_root([e.encode() for e in EVIDENCE])
    assert evidence_hash([]) == txs_root([]) == EMPTY_HASH
    assert commit_hash(PREV_COMMIT) == sha256(PREV_COMMIT.encode())


def structure_code(b: Block) -> str:
    with pytest.raises(ValidationError) as info:
        b.check_structure()
    return info.value.code


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"txs": TXS[:2]}, "block.txs_root"),
        ({"txs": TXS[::-1]}, "block.txs_root"),
        ({"evidence": ()}, "block.evidence"),
        ({"last_commit": make_commit(KEYS[:3], height=4)}, "block.last_commit"),
        ({"header": header(txs_root=EMPTY_HASH)}, "block.txs_root"),
        ({"header": header(evidence_hash=EMPTY_HASH)}, "block.evidence"),
        ({"header": header(last_commit_hash=EMPTY_HASH)}, "block.last_commit"),
        ({"header": header(height=1)}, "block.last_commit"),
        ({"header": header(prev_hash=b"\x09" * 32)}, "block.last_commit"),
        ({"header": header(height=6)}, "block.last_commit"),
    ],
)
def test_structure_refusals(changes: dict[str, Any], code: str) -> None:
    assert structure_code(block(**changes)) == code


def test_missing_last_commit_above_height_one() -> None:
    b = block(header=header(last_commit_hash=EMPTY_HASH), last_commit=None)
    assert structure_code(b) == "block.last_commit"


def test_duplicate_transaction() -> None:
    txs = (TXS[0], TXS[0])
    b = block(header=header(txs_root=txs_root([tx.id for tx in txs])), txs=txs)
    assert structure_code(b) == "block.duplicate_tx"


def test_with_header_refreshes_the_hash() -> None:
    new = header(state_root=b"\x06" * 32)
    assert block().with_header(new).hash() == new.hash() != block().hash()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"txs": [b"\xc1"]}, "encoding.malformed"),
        ({"txs": ["tx"]}, "block.bad_tx"),
        ({"txs": {}}, "validation.type"),
        ({"last_commit": {}}, "validation.fields"),
        ({"evidence": [{}]}, "validation.fields"),
        ({"extra": 1}, "validation.fields"),
    ],
)
def test_malformed_blocks(change: dict[str, Any], code: str) -> None:
    with pytest.raises(ChainError) as info:
        Block.decode(encoding.encode({**block().to_value(), **change}))
    assert info.value.code == code


# -- fuzzing -------------------------------------------------------------------

VALID = [
    block().encode(),
    block(
        header=header(height=1, last_commit_hash=EMPTY_HASH),
        last_commit=None,
        txs=(),
        evidence=(),
    ).encode(),
    header().encode(),
]


def decode_and_check(data: bytes) -> None:
    returns_or_chain_error(lambda d: Header.from_value(encoding.decode(d)), data)
    b = Block.decode(data)
    b.hash()
    b.check_structure()


@settings(max_examples=200)
@given(mutated(st.sampled_from(VALID)))
def test_fuzz_mutated(data: bytes) -> None:
    returns_or_chain_error(decode_and_check, data)


@settings(max_examples=100)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data: bytes) -> None:
    returns_or_chain_error(decode_and_check, data)


@settings(max_examples=50)
@given(values)
def test_fuzz_values(value: Any) -> None:
    returns_or_chain_error(Header.from_value, value)
    returns_or_chain_error(lambda v: Block.decode(encoding.encode(v)), value)
