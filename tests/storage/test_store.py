"""The LevelDB store: round trips, heights, and what it refuses."""

from __future__ import annotations

import hashlib
from pathlib import Path

import plyvel
import pytest

from chain.smt_proof import EMPTY, verify
from storage.errors import (
    BadHeight,
    CorruptStore,
    MissingNode,
    StaleState,
    StorageError,
    StoreClosed,
)
from storage.overlay import Overlay
from storage.smt import LayeredNodes, SparseMerkleTree, build_root
from storage.store import Store, TxLocation

GENESIS = {b"id/alice": b"enrolled", b"reg/1": b"parcel", b"reg/2": b"house"}


def block_hash(height: int) -> bytes:
    return hashlib.sha256(b"block %d" % height).digest()


def txid(height: int, index: int) -> bytes:
    return hashlib.sha256(b"tx %d %d" % (height, index)).digest()


def commit(store: Store, height: int, changes: dict[bytes, bytes | None]) -> None:
    store.commit_block(
        height=height,
        block_hash=block_hash(height),
        block=b"block-bytes %d" % height,
        commit=b"commit-bytes %d" % height,
        txids=[txid(height, 0), txid(height, 1)],
        results=b"results %d" % height,
        state=store.prepare(changes),
        meta={"validators": b"set %d" % height},
    )


def test_an_empty_store_is_at_height_zero_with_the_empty_root(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db") as store:
        assert not store.initialized
        assert store.height == 0
        assert store.last_block_hash is None
        assert store.state_root == EMPTY
        assert store.state_get(b"k") is None
        assert list(store.state_iter()) == []
        assert store.get_block(1) is None


def test_genesis_then_blocks_round_trip_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with Store.open(path) as store:
        store.commit_genesis(store.prepare(GENESIS), meta={"chain": b"egov-dev"})
        genesis_root = store.state_root
        assert genesis_root == build_root(GENESIS)
        commit(store, 1, {b"reg/1": None, b"reg/3": b"barn"})
        commit(store, 2, {b"id/bob": b"enrolled"})
    with Store.open(path) as store:
        assert store.initialized
        assert store.height == 2
        assert store.last_block_hash == block_hash(2)
        assert store.state_root_at(0) == genesis_root
        assert store.state_root_at(2) == store.state_root
        model = {**GENESIS, b"reg/3": b"barn", b"id/bob": b"enrolled"}
        del model[b"reg/1"]
        assert store.state_root == build_root(model)
        assert dict(store.state_iter()) == model
        assert list(store.state_iter(b"reg/")) == [
            (b"reg/2", b"house"),
            (b"reg/3", b"barn"),
        ]
        assert store.get_block(1) == b"block-bytes 1"
        assert store.get_block_height(block_hash(2)) == 2
        assert store.get_block_by_hash(block_hash(1)) == b"block-bytes 1"
        assert store.get_commit(2) == b"commit-bytes 2"
        assert store.get_results(1) == b"results 1"
        assert store.get_tx_location(txid(2, 1)) == TxLocation(2, 1)
        assert store.get_tx_location(b"\x00" * 32) is None
        assert store.get_meta("chain") == b"egov-dev"
        assert store.get_meta("validators") == b"set 2"
        assert store.get_block(3) is None


def test_proofs_against_the_current_and_an_old_root(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db") as store:
        store.commit_genesis(store.prepare(GENESIS))
        commit(store, 1, {b"reg/1": b"sold"})
        root = store.state_root
        assert verify(root, b"reg/1", b"sold", store.prove(b"reg/1"))
        assert verify(root, b"reg/9", None, store.prove(b"reg/9"))
        old = store.state_root_at(0)
        assert old is not None
        assert verify(old, b"reg/1", b"parcel", store.prove(b"reg/1", root=old))
        assert store.tree(old).get(b"reg/1") == b"parcel"
        with pytest.raises(MissingNode):
            store.prove(b"reg/1", root=b"\x09" * 32)


def test_heights_advance_by_exactly_one(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db") as store:
        with pytest.raises(BadHeight) as caught:
            commit(store, 1, {})
        assert (caught.value.expected, caught.value.got) == (0, 1)
        assert caught.value.code == "storage.bad_height"
        store.commit_genesis(store.prepare({}))
        with pytest.raises(BadHeight):
            store.commit_genesis(store.prepare({}))
        for wrong in (0, 2, -1):
            with pytest.raises(BadHeight):
                commit(store, wrong, {})
        commit(store, 1, {b"k": b"v"})
        with pytest.raises(BadHeight):
            commit(store, 1, {b"k": b"w"})
        assert store.height == 1
        assert store.state_get(b"k") == b"v"


def test_prepare_writes_nothing_and_a_stale_state_is_refused(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db") as store:
        store.commit_genesis(store.prepare(GENESIS))
        first = store.prepare({b"reg/2": None})
        second = store.prepare({b"reg/2": b"rebuilt"})
        assert store.state_get(b"reg/2") == b"house"
        assert store.nodes.get(first.root) is None
        pending = SparseMerkleTree(LayeredNodes(first.nodes, store.nodes), first.root)
        assert pending.get(b"reg/2") is None
        store.commit_block(
            height=1,
            block_hash=block_hash(1),
            block=b"",
            commit=b"",
            txids=[],
            results=b"",
            state=first,
        )
        with pytest.raises(StaleState) as caught:
            store.commit_block(
                height=2,
                block_hash=block_hash(2),
                block=b"",
                commit=b"",
                txids=[],
                results=b"",
                state=second,
            )
        assert caught.value.code == "storage.stale_state"
        assert store.height == 1


def test_prepared_states_stack_before_they_are_committed(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db") as store:
        store.commit_genesis(store.prepare(GENESIS))
        first = store.prepare({b"a": b"1"})
        second = store.prepare({b"b": b"2"}, on=first)
        assert second.base_root == first.root
        assert second.root == build_root({**GENESIS, b"a": b"1", b"b": b"2"})
        for height, state in ((1, first), (2, second)):
            store.commit_block(
                height=height,
                block_hash=block_hash(height),
                block=b"",
                commit=b"",
                txids=[],
                results=b"",
                state=state,
            )
        assert store.state_get(b"b") == b"2"
        assert store.tree().get(b"a") == b"1"


def test_a_block_executes_on_overlays_over_the_committed_state(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db") as store:
        store.commit_genesis(store.prepare(GENESIS))
        block = Overlay(store.state)
        tx = block.child()
        tx.set(b"reg/4", b"field")
        tx.delete(b"reg/1")
        tx.commit_into(block)
        assert [key for key, _ in block.iter_prefix(b"reg/")] == [b"reg/2", b"reg/4"]
        commit(store, 1, block.changes())
        assert dict(store.state_iter(b"reg/")) == {
            b"reg/2": b"house",
            b"reg/4": b"field",
        }


def test_a_closed_store_refuses_use(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db")
    store.close()
    store.close()
    with pytest.raises(StoreClosed):
        store.state_get(b"k")
    with pytest.raises(StoreClosed):
        store.prepare({})


def test_a_store_opened_twice_is_refused(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db"):
        with pytest.raises(StorageError):
            Store.open(tmp_path / "db")


def test_damaged_metadata_is_reported_as_corruption(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with Store.open(path) as store:
        store.commit_genesis(store.prepare(GENESIS))
        commit(store, 1, {b"k": b"v"})
    db = plyvel.DB(str(path))
    db.delete(b"O" + (1).to_bytes(8, "big"))
    db.close()
    with pytest.raises(CorruptStore) as caught:
        Store.open(path)
    assert caught.value.code == "storage.corrupt"


def test_small_caches_and_table_files_give_the_same_roots_and_proofs(
    tmp_path: Path,
) -> None:
    keys = [b"reg/%d" % i for i in range(3_000)]
    settings = [
        {},
        {"node_cache_bytes": 0, "cache_bytes": 0},
        {"node_cache_bytes": 40_000, "max_open_files": 74, "max_file_bytes": 4096},
    ]
    seen = []
    for n, options in enumerate(settings):
        path = tmp_path / f"db{n}"
        with Store.open(path, **options) as store:
            store.commit_genesis(store.prepare({k: b"v0" for k in keys}))
            for height in range(1, 6):
                changes: dict[bytes, bytes | None] = {
                    k: b"v%d" % height for k in keys[height::7]
                }
                changes.update({k: None for k in keys[height::50]})
                commit(store, height, changes)
            roots = [store.state_root_at(h) for h in range(6)]
            proofs = [store.prove(k) for k in keys[::97]]
            old = [store.prove(k, roots[2]) for k in keys[::101]]
        with Store.open(path, **options) as store:  # cold caches
            assert [store.prove(k) for k in keys[::97]] == proofs
        seen.append((roots, proofs, old))
    assert all(one == seen[0] for one in seen)


def test_unsynced_blocks_then_a_sync_leave_the_same_store(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with Store.open(path) as store:
        store.commit_genesis(store.prepare({b"a": b"1"}))
        for height in (1, 2, 3):
            store.commit_block(
                height=height,
                block_hash=block_hash(height),
                block=b"block-bytes %d" % height,
                commit=b"commit-bytes %d" % height,
                txids=[txid(height, 0)],
                results=b"results %d" % height,
                state=store.prepare({b"k%d" % height: b"v"}),
                sync=False,
            )
        root = store.state_root
        store.sync()
        assert store.height == 3
    with Store.open(path) as store:
        assert store.height == 3
        assert store.state_root == root
        assert store.get_block(3) == b"block-bytes 3"
        store.close()
        with pytest.raises(StoreClosed):
            store.sync()


def test_a_store_written_compressed_reads_the_same_uncompressed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db"
    keys = [b"reg/%d" % i for i in range(500)]
    with Store.open(path, compression="snappy", max_file_bytes=4096) as store:
        store.commit_genesis(store.prepare({k: b"record " * 20 for k in keys}))
        commit(store, 1, {k: b"changed " * 20 for k in keys[::3]})
        store.compact()  # every table written compressed
        root = store.state_root
        values = [store.state_get(k) for k in keys]
        proofs = [store.prove(k) for k in keys[::37]]
    with Store.open(path) as store:  # the default: uncompressed
        assert store.state_root == root
        assert [store.state_get(k) for k in keys] == values
        assert [store.prove(k) for k in keys[::37]] == proofs
        commit(store, 2, {keys[0]: None})
        store.compact()  # tables rewritten uncompressed, beside the others
    with Store.open(path, compression="snappy") as store:
        assert store.height == 2 and store.state_get(keys[0]) is None
        assert [store.state_get(k) for k in keys[1:]] == values[1:]
