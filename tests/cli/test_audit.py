"""egov audit from a home, a node and its refusals of a corrupted store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plyvel
import pytest

from chain import encoding
from chain.block import Block
from node.devnet import dev_genesis
from storage.store import Store
from tests.cli.conftest import ChainHome, Run, enrol, gen
from tests.cli.fakenode import FakeNode


def height_key(prefix: bytes, height: int) -> bytes:
    return prefix + height.to_bytes(8, "big")


def test_audit_of_a_good_home_prints_counts_and_the_final_root(
    home: ChainHome, run: Run
) -> None:
    with Store.open(home.db) as store:
        root = store.state_root
    result = run("audit", "--home", home.root, "--progress-every", 2)
    assert result.exit_code == 0, result.output
    assert "audit passed" in result.stdout
    assert "blocks:       4" in result.stdout
    assert "transactions: 8" in result.stdout
    assert root.hex() in result.stdout
    assert "audit: height=2 blocks=2 txs=4" in result.stderr  # progress
    assert "audit: height=4 blocks=4 txs=8" in result.stderr
    doc = json.loads(run("audit", "--home", home.root, "--json").stdout)
    assert doc["ok"] and doc["blocks"] == 4 and doc["transactions"] == 8
    assert doc["state_root"] == root.hex()


def test_audit_never_writes_to_the_home_store(home: ChainHome, run: Run) -> None:
    def snapshot() -> dict[bytes, bytes]:
        db = plyvel.DB(str(home.db))
        try:
            return dict(db.iterator())
        finally:
            db.close()

    before = snapshot()
    assert run("audit", "--home", home.root).exit_code == 0
    assert snapshot() == before


def test_a_changed_transaction_is_named_with_its_height(
    home: ChainHome, run: Run
) -> None:
    db = plyvel.DB(str(home.db))
    raw = db.get(height_key(b"B", 2))
    value = encoding.decode(raw)
    original = Block.decode(raw).txs[0]
    forged = enrol(gen(), original.body.nonce, "mallory")  # same nonce, other person
    value["txs"][0] = forged.raw
    db.put(height_key(b"B", 2), encoding.encode(value))
    db.close()
    result = run("audit", "--home", home.root, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)["divergence"]
    assert doc["height"] == 2 and doc["field"] == "txs_root"
    header = Block.decode(raw).header
    assert doc["found"] == header.txs_root.hex()
    assert doc["expected"] != doc["found"]
    assert "height 2: txs_root: expected" in result.stderr


def test_a_changed_state_value_is_named_with_its_key(home: ChainHome, run: Run) -> None:
    db = plyvel.DB(str(home.db))
    key = b"Sidentity/person/p9"
    record = encoding.decode(db.get(key))
    record["name"] = "Someone Else"
    db.put(key, encoding.encode(record))
    db.close()
    result = run("audit", "--home", home.root, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)["divergence"]
    assert doc["height"] == 4
    assert doc["field"] == "state identity/person/p9"
    assert encoding.decode(bytes.fromhex(doc["found"]))["name"] == "Someone Else"
    assert encoding.decode(bytes.fromhex(doc["expected"]))["name"] != "Someone Else"


def test_a_changed_header_breaks_the_commit(home: ChainHome, run: Run) -> None:
    db = plyvel.DB(str(home.db))
    value = encoding.decode(db.get(height_key(b"B", 3)))
    value["header"]["state_root"] = b"\x07" * 32
    db.put(height_key(b"B", 3), encoding.encode(value))
    db.close()
    result = run("audit", "--home", home.root)
    assert result.exit_code == 1
    assert "height 3: commit:" in result.stderr
    assert "commit.block" in result.stderr


def _forge_results(db: plyvel.DB) -> None:
    results = encoding.decode(db.get(height_key(b"R", 1)))
    results[0]["code"] = "forged.code"
    db.put(height_key(b"R", 1), encoding.encode(results))


def _forge_root(db: plyvel.DB) -> None:
    db.put(height_key(b"O", 2), b"\x05" * 32)


def _forge_index(db: plyvel.DB) -> None:
    tx = Block.decode(db.get(height_key(b"B", 3))).txs[1]
    db.put(b"T" + tx.id, (3).to_bytes(8, "big") + (0).to_bytes(4, "big"))


@pytest.mark.parametrize(
    ("forge", "expected"),
    [
        (_forge_results, "height 1: results:"),
        (_forge_root, "height 2: stored state_root: expected"),
        (_forge_index, "height 3: tx index"),
    ],
)
def test_changed_stored_results_roots_and_index_are_found(
    home: ChainHome, run: Run, forge: Any, expected: str
) -> None:
    db = plyvel.DB(str(home.db))
    forge(db)
    db.close()
    result = run("audit", "--home", home.root)
    assert result.exit_code == 1
    assert expected in result.stderr


def test_a_missing_block_is_named(home: ChainHome, run: Run) -> None:
    db = plyvel.DB(str(home.db))
    db.delete(height_key(b"B", 3))
    db.close()
    result = run("audit", "--home", home.root)
    assert result.exit_code == 1
    assert "height 3: block: expected stored, found missing" in result.stderr


def test_a_home_held_by_a_running_node_is_refused_clearly(
    home: ChainHome, run: Run
) -> None:
    with Store.open(home.db):  # as a running node would
        result = run("audit", "--home", home.root)
    assert result.exit_code == 1
    assert "home.locked" in result.stderr and "--node" in result.stderr


def test_a_home_from_another_genesis_is_refused(
    home: ChainHome, run: Run, tmp_path: Path
) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps(dev_genesis(4, modules=("identity",), chain_id="x")))
    result = run("audit", "--home", home.root, "--genesis", other)
    assert result.exit_code == 1 and "height 0: genesis" in result.stderr


def test_audit_through_a_node_api(run: Run, node: FakeNode, tmp_path: Path) -> None:
    from tests.cli.conftest import fill, genesis_file

    fill(node.app, 3)  # five blocks in all
    result = run("audit", "--node", "http://fake", "--genesis", genesis_file(tmp_path),
                 "--json", node=node)  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["blocks"] == 5 and doc["transactions"] == 10
    assert doc["state_root"] == node.app.store.state_root.hex()


def test_audit_through_a_lying_node_fails(run: Run, node: FakeNode) -> None:
    def lie(path: str, doc: dict) -> None:  # type: ignore[type-arg]
        if path == "/v1/blocks":
            commit = encoding.decode(bytes.fromhex(doc["blocks"][1]["commit_raw"]))
            commit["signatures"] = commit["signatures"][:2]
            doc["blocks"][1]["commit_raw"] = encoding.encode(commit).hex()

    node.tamper = lie
    result = run("audit", "--node", "http://fake", node=node)
    assert result.exit_code == 1
    assert "height 2: commit:" in result.stderr
    assert "commit.insufficient_power" in result.stderr
    assert "warning" in result.stderr  # the genesis came from the node


@pytest.mark.parametrize(
    "args",
    [(), ("--home", ".", "--node", "http://x"), ("--node", "a", "--file", __file__)],
)
def test_exactly_one_source(run: Run, args: tuple[str, ...]) -> None:
    assert run("audit", *args).exit_code == 2


def test_a_home_without_a_store_is_refused(run: Run, tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    assert run("init", "--home", root, "--dev-index", 1).exit_code == 0
    result = run("audit", "--home", root)
    assert result.exit_code == 1 and "home.no_store" in result.stderr


def test_the_replayed_store_is_written_without_syncs(
    home: ChainHome, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs: list[bool] = []
    write = Store.commit_block

    def spy(self: Store, **kw: Any) -> None:
        syncs.append(kw.get("sync", True))
        write(self, **kw)

    monkeypatch.setattr(Store, "commit_block", spy)
    result = run("audit", "--home", home.root, "--json")
    assert result.exit_code == 0, result.output
    assert syncs == [False] * 4  # a throwaway store, checked as it is written


@pytest.mark.parametrize("cache_mb", [1, 256])
def test_the_node_cache_of_the_replay_changes_no_result(
    home: ChainHome, run: Run, monkeypatch: pytest.MonkeyPatch, cache_mb: int
) -> None:
    opened: list[int] = []
    open_store = Store.open

    def spy(path: Any, **kw: Any) -> Store:
        opened.append(kw.get("node_cache_bytes", 0))
        return open_store(path, **kw)

    monkeypatch.setattr(Store, "open", spy)
    result = run("audit", "--home", home.root, "--json", "--cache-mb", cache_mb)
    assert result.exit_code == 0, result.output
    with open_store(home.db) as store:
        assert json.loads(result.stdout)["state_root"] == store.state_root.hex()
    assert cache_mb * 1024 * 1024 in opened  # the replay store's
