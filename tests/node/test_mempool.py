"""Mempool: admission checks, nonce order, limits, update after blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain.keys import dev_key
from node.devnet import authority_key
from node.errors import TxRefused
from node.mempool import Mempool
from tests.node.chainkit import Driver, genesis, make_tx, open_app

ADMIN = authority_key("authority/identity")


def enrol(gen, nonce: int, seed: str):
    return make_tx(
        gen, ADMIN, nonce, "identity", "enrol", key=dev_key(seed).public, name=seed
    )


@pytest.fixture
def setup(tmp_path: Path):
    gen = genesis()
    app = open_app(tmp_path / "db", gen)
    yield gen, app
    app.store.close()


def refused(pool: Mempool, raw: bytes) -> str:
    with pytest.raises(TxRefused) as info:
        pool.add(raw)
    return info.value.code


def test_admits_in_nonce_order_and_reaps_fifo(setup) -> None:
    gen, app = setup
    pool = Mempool(app)
    txs = [enrol(gen, n, f"s{n}") for n in (1, 2, 3)]
    for tx in txs:
        pool.add(tx.raw)
    assert [t.id for t in pool.reap(10, 1 << 20)] == [t.id for t in txs]
    assert [t.id for t in pool.reap(2, 1 << 20)] == [t.id for t in txs[:2]]


def test_refusals_have_codes(setup) -> None:
    gen, app = setup
    pool = Mempool(app)
    first = enrol(gen, 1, "a")
    pool.add(first.raw)
    assert refused(pool, first.raw) == "mempool.duplicate"
    assert refused(pool, enrol(gen, 1, "b").raw) == "mempool.nonce_taken"
    assert refused(pool, enrol(gen, 5, "gap").raw) == "tx.bad_nonce"
    stranger = dev_key("stranger")
    raw = make_tx(
        gen, stranger, 1, "identity", "rotate_key", new_key=dev_key("q").public
    ).raw
    assert refused(pool, raw) == "tx.unknown_sender"
    assert refused(pool, b"\x81\xa1x\x01") in (
        "validation.fields",
        "encoding.malformed",
    )
    assert refused(
        pool, make_tx(gen, ADMIN, 1, "identity", "enrol", key=b"x", name="n").raw
    ) in ("args.invalid", "mempool.nonce_taken")


def test_module_rules_dry_run_refuses_early(setup) -> None:
    gen, app = setup
    pool = Mempool(app)
    bad = make_tx(
        gen, ADMIN, 1, "identity", "revoke_role", person="p1", role="identity_authority"
    )
    assert refused(pool, bad.raw) == "identity.last_authority"
    assert len(pool) == 0


def test_limits_give_mempool_full(setup) -> None:
    gen, app = setup
    pool = Mempool(app, max_txs=2)
    pool.add(enrol(gen, 1, "a").raw)
    pool.add(enrol(gen, 2, "b").raw)
    assert refused(pool, enrol(gen, 3, "c").raw) == "mempool.full"
    small = Mempool(app, max_bytes=100)
    assert refused(small, enrol(gen, 1, "a").raw) == "mempool.full"


def test_update_drops_included_and_stale(setup) -> None:
    gen, app = setup
    pool = Mempool(app)
    mine = [enrol(gen, n, f"m{n}") for n in (1, 2, 3)]
    for tx in mine:
        pool.add(tx.raw)
    # Another node's block used nonce 1 with a different transaction.
    theirs = enrol(gen, 1, "other")
    block = Driver(app).step([theirs])
    pool.update(block.txs)
    # nonce 1 is gone; 2 and 3 are still contiguous from the new base 2
    assert [t.body.nonce for t in pool.reap(10, 1 << 20)] == [2, 3]
    pool.add(enrol(gen, 4, "m4").raw)
    assert len(pool) == 3
    assert pool.size_bytes == sum(len(t.raw) for t in pool.reap(10, 1 << 20))


def test_gossiped_transactions_skip_only_the_dry_run(setup) -> None:
    gen, app = setup
    pool = Mempool(app)
    bad = make_tx(
        gen, ADMIN, 1, "identity", "revoke_role", person="p1", role="identity_authority"
    )
    # From a peer: admitted (the rule is enforced in the block, as failed).
    assert pool.add(bad.raw, from_peer=True).id == bad.id
    # Validity is still checked for gossip: an unknown sender is refused.
    stranger = dev_key("stranger")
    raw = make_tx(
        gen, stranger, 1, "identity", "rotate_key", new_key=dev_key("q").public
    ).raw
    with pytest.raises(TxRefused) as info:
        pool.add(raw, from_peer=True)
    assert info.value.code == "tx.unknown_sender"
