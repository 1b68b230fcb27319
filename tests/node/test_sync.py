"""Block sync: a fresh node catches up from another node's store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chain import encoding
from chain.block import Block, txs_root
from chain.genesis import Genesis
from chain.hashing import sha256
from chain.keys import dev_key, forget_verified
from chain.tx import SignedTx
from node import sync
from node.application import Application
from node.devnet import authority_key
from node.errors import BlockInvalid
from node.sync import (
    apply_batch,
    apply_synced,
    catch_up,
    decode_pair,
    serve_blocks,
    verify_ahead,
)
from storage.store import Store
from tests.node.chainkit import Driver, genesis, make_tx, open_app, sign_commit

ADMIN = authority_key("authority/identity")


def build_chain(app, gen, blocks: int) -> None:
    driver = Driver(app)
    nonce = 0
    for b in range(blocks):
        txs = []
        for i in range(3):
            nonce += 1
            txs.append(
                make_tx(
                    gen,
                    ADMIN,
                    nonce,
                    "identity",
                    "enrol",
                    key=dev_key(f"s{b}/{i}").public,
                    name="n",
                )
            )
        driver.step(txs)


async def test_fresh_node_catches_up_in_batches(tmp_path: Path) -> None:
    gen = genesis()
    source = open_app(tmp_path / "a", gen)
    build_chain(source, gen, 12)
    fresh = open_app(tmp_path / "b", gen)
    calls = []

    async def fetch(start: int, count: int):
        calls.append((start, count))
        return [tuple(pair) for pair in serve_blocks(source, start, count)]

    progress = await catch_up(fresh, fetch, source.height, batch=5)
    assert fresh.height == 12 and progress.applied == 12 and progress.txs == 36
    assert fresh.store.state_root == source.store.state_root
    assert calls == [(1, 5), (6, 5), (11, 2)]


def test_forged_commit_or_block_is_refused(tmp_path: Path) -> None:
    gen = genesis()
    source = open_app(tmp_path / "a", gen)
    build_chain(source, gen, 1)
    fresh = open_app(tmp_path / "b", gen)
    block_raw, commit_raw = serve_blocks(source, 1, 1)[0]
    block = source.get_block(1)
    weak = sign_commit(block, gen, n=2).encode()
    with pytest.raises(BlockInvalid) as info:
        apply_synced(fresh, block_raw, weak)
    assert info.value.code == "commit.insufficient_power"
    tampered = bytearray(block_raw)
    tampered[-40] ^= 1
    with pytest.raises(BlockInvalid):
        apply_synced(fresh, bytes(tampered), commit_raw)
    assert fresh.height == 0
    apply_synced(fresh, block_raw, commit_raw)
    assert fresh.height == 1


def test_serve_blocks_is_bounded(tmp_path: Path) -> None:
    gen = genesis()
    source = open_app(tmp_path / "a", gen)
    build_chain(source, gen, 3)
    assert len(serve_blocks(source, 1, 1000)) == 3
    assert serve_blocks(source, 4, 10) == []
    assert len(serve_blocks(source, 2, 1)) == 1


# --- batches -----------------------------------------------------------------


def record_syncs(monkeypatch: pytest.MonkeyPatch) -> dict[int, bool]:
    """Height -> the ``sync`` flag each block was written with."""
    syncs: dict[int, bool] = {}
    write = Store.commit_block

    def spy(self: Store, **kw: Any) -> None:
        syncs[kw["height"]] = kw.get("sync", True)
        write(self, **kw)

    monkeypatch.setattr(Store, "commit_block", spy)
    return syncs


def forged(block: Block, gen: Genesis, **header: Any) -> tuple[bytes, bytes]:
    """``block`` with header fields changed, decided by a valid commit."""
    h = replace(block.header, **header)
    bad = replace(block, header=h).with_header(h)
    return bad.encode(), sign_commit(bad, gen).encode()


def bad_signature(block: Block, gen: Genesis) -> tuple[bytes, bytes]:
    """``block`` with its first transaction's signature broken, otherwise
    consistent (transactions root, commit)."""
    tx = block.txs[0]
    sig = bytes([tx.sig[0] ^ 1]) + tx.sig[1:]
    raw = encoding.encode({"body": tx.body_bytes, "sig": sig})
    txs = (SignedTx(tx.body, tx.body_bytes, sig, raw, sha256(raw)),) + block.txs[1:]
    h = replace(block.header, txs_root=txs_root([t.id for t in txs]))
    bad = replace(block, txs=txs, header=h).with_header(h)
    return bad.encode(), sign_commit(bad, gen).encode()


def broken_commit(block: Block, gen: Genesis) -> tuple[bytes, bytes]:
    commit = sign_commit(block, gen)
    first = commit.signatures[0]
    sig = bytes([first.sig[0] ^ 1]) + first.sig[1:]
    sigs = (replace(first, sig=sig),) + commit.signatures[1:]
    return block.encode(), replace(commit, signatures=sigs).encode()


def chain_of(tmp_path: Path, blocks: int) -> tuple[Genesis, Application]:
    gen = genesis()
    source = open_app(tmp_path / "source", gen)
    build_chain(source, gen, blocks)
    return gen, source


def pairs_of(source: Application) -> list[tuple[bytes, bytes]]:
    return [(b, c) for b, c in serve_blocks(source, 1, source.height)]


def reopened(app: Application, path: Path) -> Store:
    app.store.close()
    return Store.open(str(path))


@pytest.mark.parametrize(
    "make_bad, code",
    [
        (lambda block, gen: broken_commit(block, gen), "commit.bad_signature"),
        (lambda block, gen: bad_signature(block, gen), "sig.invalid"),
        (
            lambda block, gen: forged(block, gen, state_root=b"\x01" * 32),
            "block.state_root",
        ),
        (lambda block, gen: (block.encode()[:-3], b"\x80"), "encoding.truncated"),
    ],
    ids=["bad_commit", "bad_tx_signature", "wrong_state_root", "undecodable"],
)
def test_a_bad_block_in_a_batch_stops_it_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_bad: Any, code: str
) -> None:
    gen, source = chain_of(tmp_path, 6)
    items = pairs_of(source)
    bad = source.get_block(4)
    assert bad is not None
    items[3] = make_bad(bad, gen)
    alone = open_app(tmp_path / "alone", gen)
    for block_raw, commit_raw in items[:3]:
        apply_synced(alone, block_raw, commit_raw)
    with pytest.raises(BlockInvalid) as one_by_one:
        apply_synced(alone, *items[3])

    forget_verified()
    syncs = record_syncs(monkeypatch)
    flushed: list[int] = []
    store_sync = Store.sync

    def sync_spy(self: Store) -> None:
        flushed.append(self.height)
        store_sync(self)

    monkeypatch.setattr(Store, "sync", sync_spy)
    fresh = open_app(tmp_path / "fresh", gen)
    with pytest.raises(BlockInvalid) as batched:
        apply_batch(fresh, items)
    assert batched.value.code == one_by_one.value.code
    assert batched.value.field == one_by_one.value.field
    if code != "encoding.truncated":
        assert batched.value.code == code
    assert fresh.height == 3  # the three before it, and nothing after
    store = reopened(fresh, tmp_path / "fresh")
    assert store.height == 3 and store.get_block(4) is None
    assert store.state_root == source.store.state_root_at(3)
    store.close()
    if code != "block.state_root":
        # Known to be bad before it is applied: the block before it is synced.
        assert syncs == {1: False, 2: False, 3: True}
    else:
        # Found only by executing it: the blocks before were written unsynced,
        # and are made durable by a synced write after the refusal.
        assert syncs == {1: False, 2: False, 3: False}
        assert flushed == [3]


def test_a_batch_leaves_the_store_a_block_at_a_time_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen, source = chain_of(tmp_path, 9)
    items = pairs_of(source)
    one = open_app(tmp_path / "one", gen)
    for block_raw, commit_raw in items:
        apply_synced(one, block_raw, commit_raw)
    # 11 signatures a block (3 txs, a commit and a last commit of 4 each)
    monkeypatch.setattr(sync, "AHEAD_SIGNATURES", 22)
    syncs = record_syncs(monkeypatch)
    forget_verified()
    batch = open_app(tmp_path / "batch", gen)
    applied = apply_batch(batch, items)
    assert [b.height for b in applied] == list(range(1, 10))
    assert [h for h, synced in syncs.items() if synced] == [2, 4, 6, 8, 9]
    a = reopened(one, tmp_path / "one")
    b = reopened(batch, tmp_path / "batch")
    assert store_contents(a) == store_contents(b) == store_contents(source.store)
    a.close()
    b.close()


def store_contents(store: Store) -> list[Any]:
    heights = range(0, store.height + 2)
    out: list[Any] = [store.height, store.last_block_hash, store.state_root]
    out += [(store.get_block(h), store.get_commit(h)) for h in heights]
    out += [(store.get_results(h), store.state_root_at(h)) for h in heights]
    for h in range(1, store.height + 1):
        raw = store.get_block(h)
        assert raw is not None
        for tx in Block.decode(raw).txs:
            out.append(store.get_tx_location(tx.id))
    out.append(list(store.state_iter()))
    return out


def test_verify_ahead_names_the_first_bad_pair_and_refuses_nothing(
    tmp_path: Path,
) -> None:
    gen, source = chain_of(tmp_path, 12)
    items = pairs_of(source)
    pairs = [decode_pair(b, c) for b, c in items]
    forget_verified()
    assert verify_ahead(gen.chain_id, pairs) == 12  # threaded: 12 * 3 txs
    bad = source.get_block(9)
    assert bad is not None
    pairs[8] = decode_pair(*bad_signature(bad, gen))
    pairs[10] = decode_pair(*broken_commit(pairs[10][0], gen))
    assert verify_ahead(gen.chain_id, pairs) == 8
    assert verify_ahead(gen.chain_id, pairs[9:]) == 1
    assert verify_ahead(gen.chain_id, pairs[:2]) == 2  # small: in this thread
