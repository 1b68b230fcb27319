"""Block sync: a fresh node catches up from another node's store."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain.keys import dev_key
from node.devnet import authority_key
from node.errors import BlockInvalid
from node.sync import apply_synced, catch_up, serve_blocks
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
