"""The application: blocks built, validated, committed and replayed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from chain import encoding
from chain.block import Block, evidence_hash, txs_root
from chain.keys import dev_key
from chain.tx import SignedTx
from node.devnet import authority_key, validator_key
from node.errors import BlockInvalid, TxRefused
from tests.node.chainkit import (
    Driver,
    enrol_txs,
    genesis,
    make_tx,
    open_app,
    sign_commit,
)

ADMIN = authority_key("authority/identity")


def test_genesis_state_is_written_once_and_checked(tmp_path: Path) -> None:
    gen = genesis()
    app = open_app(tmp_path / "db", gen)
    root = app.store.state_root
    assert app.height == 0
    app.store.close()
    app = open_app(tmp_path / "db", gen)
    assert app.store.state_root == root
    app.store.close()
    other = genesis(chain_id="other-chain")
    with pytest.raises(BlockInvalid) as info:
        open_app(tmp_path / "db", other)
    assert info.value.code == "node.wrong_genesis"


def test_blocks_commit_and_two_stores_agree(tmp_path: Path) -> None:
    gen = genesis()
    a = open_app(tmp_path / "a", gen)
    b = open_app(tmp_path / "b", gen)
    driver = Driver(a)
    blocks = [driver.step(enrol_txs(gen, 5)), driver.step(enrol_txs(gen, 3, 6))]
    for block in blocks:
        executed = b.validate_block(Block.decode(block.encode()))
        b.commit(block, a.get_commit(block.height))
        assert executed.block.header.state_root == block.header.state_root
    assert a.store.state_root == b.store.state_root
    assert a.height == b.height == 2
    results = a.get_results(1)
    assert len(results) == 6  # five transactions and the end-of-block step
    assert all(r.ok for r in results)


def test_invalid_candidates_are_left_out_of_a_built_block(tmp_path: Path) -> None:
    gen = genesis()
    app = open_app(tmp_path / "db", gen)
    txs = enrol_txs(gen, 3)
    stale = txs[0]
    block = Driver(app).step([*txs, stale])
    assert [tx.id for tx in block.txs] == [tx.id for tx in txs]


def test_validate_refuses_wrong_state_root(tmp_path: Path) -> None:
    gen = genesis()
    a = open_app(tmp_path / "a", gen)
    b = open_app(tmp_path / "b", gen)
    block = a.build_block(validator_key(1).public, enrol_txs(gen, 2), None)
    header = dataclasses.replace(block.header, state_root=b"\x07" * 32)
    forged = block.with_header(header)
    with pytest.raises(BlockInvalid) as info:
        b.validate_block(forged)
    assert info.value.field == "state_root"


def test_validate_refuses_block_with_invalid_tx(tmp_path: Path) -> None:
    gen = genesis()
    a = open_app(tmp_path / "a", gen)
    b = open_app(tmp_path / "b", gen)
    good = a.build_block(validator_key(1).public, enrol_txs(gen, 1), None)
    bad_nonce = make_tx(
        gen, ADMIN, 9, "identity", "enrol", key=dev_key("x").public, name="X"
    )
    forged = dataclasses.replace(good, txs=(bad_nonce,))
    forged = forged.with_header(
        dataclasses.replace(good.header, txs_root=txs_root([bad_nonce.id]))
    )
    with pytest.raises(BlockInvalid) as info:
        b.validate_block(forged)
    assert info.value.code == "tx.bad_nonce"


def _forge(block: Block, txs: list) -> Block:
    forged = dataclasses.replace(block, txs=tuple(txs))
    return forged.with_header(
        dataclasses.replace(block.header, txs_root=txs_root([tx.id for tx in txs]))
    )


def _bad_signature(tx):
    sig = bytes([tx.sig[0] ^ 1]) + tx.sig[1:]
    raw = encoding.encode({"body": tx.body_bytes, "sig": sig})
    return SignedTx.decode(raw)


@pytest.mark.parametrize("count", [10, 200])  # verified here, and in threads
def test_a_bad_signature_is_reported_before_any_execution_error(
    tmp_path: Path, count: int
) -> None:
    gen = genesis()
    a = open_app(tmp_path / "a", gen)
    b = open_app(tmp_path / "b", gen)
    txs = enrol_txs(gen, count)
    good = a.build_block(validator_key(1).public, txs, None)
    assert len(good.txs) == count
    # An execution error early in the block (tx 3 has a nonce from the
    # future) and a bad signature late: the signature is what counts.
    late = count - 2
    wrong_nonce = make_tx(
        gen, ADMIN, 999, "identity", "enrol", key=dev_key("x").public, name="X"
    )
    forged_txs = list(good.txs)
    forged_txs[3] = wrong_nonce
    forged_txs[late] = _bad_signature(forged_txs[late])
    with pytest.raises(BlockInvalid) as info:
        b.validate_block(_forge(good, forged_txs))
    assert (info.value.code, info.value.field) == ("sig.invalid", "txs")
    # Alone, each fault is refused with its own code; nothing was committed.
    only_sig = list(good.txs)
    only_sig[late] = _bad_signature(only_sig[late])
    with pytest.raises(BlockInvalid) as info:
        b.validate_block(_forge(good, only_sig))
    assert info.value.code == "sig.invalid"
    only_nonce = list(good.txs)
    only_nonce[3] = wrong_nonce
    with pytest.raises(BlockInvalid) as info:
        b.validate_block(_forge(good, only_nonce))
    assert info.value.code == "tx.bad_nonce"
    assert b.height == 0
    b.commit(good, sign_commit(good, gen))
    assert b.store.state_root == good.header.state_root


def test_validate_refuses_commit_without_quorum(tmp_path: Path) -> None:
    gen = genesis()
    a = open_app(tmp_path / "a", gen)
    driver = Driver(a)
    first = driver.step(enrol_txs(gen, 1))
    weak = sign_commit(first, gen, n=2)  # 2 of 4 equal powers: not > 2/3
    block = a.build_block(validator_key(1).public, [], weak)
    b = open_app(tmp_path / "b", gen)
    b.commit(first, driver.last_commit)
    with pytest.raises(BlockInvalid) as info:
        b.validate_block(block)
    assert info.value.code == "commit.insufficient_power"


def test_check_tx_refuses_with_codes(tmp_path: Path) -> None:
    gen = genesis()
    app = open_app(tmp_path / "db", gen)
    stranger = dev_key("stranger")
    raw = make_tx(
        gen, stranger, 1, "identity", "rotate_key", new_key=dev_key("y").public
    ).raw
    tx = app.decode_tx(raw)
    with pytest.raises(TxRefused) as info:
        app.check_tx(tx)
    assert info.value.code == "tx.unknown_sender"
    with pytest.raises(TxRefused) as info:
        app.decode_tx(raw[:-3] + b"\x00\x00\x00")
    assert info.value.code.startswith(("sig.", "encoding."))
    forbidden = make_tx(
        gen, ADMIN, 1, "identity", "revoke_role", person="p1", role="identity_authority"
    )
    with pytest.raises(TxRefused) as info:
        app.check_tx(forbidden)
    assert info.value.code == "identity.last_authority"


def test_same_transactions_same_root_on_fresh_stores(tmp_path: Path) -> None:
    gen = genesis()
    roots = []
    for name in ("x", "y"):
        app = open_app(tmp_path / name, gen)
        driver = Driver(app)
        driver.step(enrol_txs(gen, 4))
        roots.append(app.store.state_root)
        app.store.close()
    assert roots[0] == roots[1]


def _evidence(gen, height: int):
    from chain.votes import DuplicateVoteEvidence, Vote, VoteType

    key = validator_key(2)
    votes = [
        Vote(VoteType.PREVOTE, height, 0, bytes([b]) * 32, 1, key.public).signed(
            key, gen.chain_id
        )
        for b in (1, 2)
    ]
    return DuplicateVoteEvidence.of(*votes)


def test_evidence_is_recorded_once_and_never_twice(tmp_path: Path) -> None:
    from node.application import evidence_key

    gen = genesis()
    app = open_app(tmp_path / "db", gen)
    driver = Driver(app)
    driver.step([])
    ev = _evidence(gen, 1)
    block = app.build_block(validator_key(1).public, [], driver.last_commit, [ev, ev])
    assert block.evidence == (ev,)
    commit = sign_commit(block, gen)
    app.commit(block, commit)
    assert app.store.state_get(evidence_key(ev)) is not None
    again = app.build_block(validator_key(1).public, [], commit, [ev])
    assert again.evidence == ()  # already committed: left out
    forged = app.build_block(validator_key(1).public, [], commit, [])
    forged = dataclasses.replace(forged, evidence=(ev,))
    forged = forged.with_header(
        dataclasses.replace(forged.header, evidence_hash=evidence_hash([ev]))
    )
    with pytest.raises(BlockInvalid) as info:
        app.validate_block(forged)
    assert info.value.code == "block.evidence_repeated"
