"""Four validators over loopback TCP: transactions through the API, agreement
on every block and state root, and a validator that stops and comes back."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import trio

from chain.keys import dev_key
from chain.tx import SignedTx, TxBody
from cli.home import init_home
from node.config import Config
from node.devnet import authority_key
from node.service import Node
from tests.node.cluster import make_homes, running, wait_height

ADMIN = authority_key("authority/identity")


def enrol(chain_id: str, nonce: int, seed: str) -> SignedTx:
    body = TxBody(
        chain_id,
        "identity",
        "enrol",
        {"key": dev_key(seed).public, "name": seed},
        ADMIN.public,
        nonce,
    )
    return SignedTx.create(body, ADMIN)


def same_chain(nodes: list[Node], upto: int) -> None:
    for height in range(1, upto + 1):
        blocks = {n.store.get_block(height) for n in nodes}
        roots = {n.store.state_root_at(height) for n in nodes}
        assert len(blocks) == 1 and len(roots) == 1, f"divergence at {height}"


async def test_four_validators_commit_api_transactions(tmp_path: Path) -> None:
    homes, doc = make_homes(tmp_path, 4, modules=("identity",))
    async with running(homes) as cluster:
        nodes = cluster.nodes
        api = f"http://127.0.0.1:{nodes[0].ports.api}"
        txs = [enrol(doc["chain_id"], n, f"citizen-{n}") for n in range(1, 11)]
        async with httpx.AsyncClient(base_url=api) as client:
            reply = await client.post(
                "/v1/txs", json={"txs": [t.raw.hex() for t in txs]}
            )
            assert reply.status_code == 200
            assert all(r["accepted"] for r in reply.json()["results"])
            with trio.fail_after(30):
                while True:
                    status = (await client.get(f"/v1/tx/{txs[-1].id.hex()}")).json()
                    if status.get("status") == "committed":
                        break
                    await trio.sleep(0.1)
        top = max(n.app.height for n in nodes)
        await wait_height(nodes, top)
        same_chain(nodes, top)
        for node in nodes:
            assert node.app.query(
                "identity", "key", {"key": dev_key("citizen-10").public.hex()}
            )


async def test_validator_restarts_from_its_store_and_catches_up(tmp_path: Path) -> None:
    homes, _ = make_homes(tmp_path, 4, modules=("identity",))
    async with running(homes) as cluster:
        await wait_height(cluster.nodes, 2)
        down = cluster.nodes[3]
        await cluster.stop(down)
        stopped_at = down.app.height
        await wait_height(cluster.nodes, stopped_at + 3)
        back = await cluster.start(homes[3])
        assert back.app.height == stopped_at  # what it had stored survived
        target = max(n.app.height for n in cluster.nodes) + 2
        await wait_height(cluster.nodes, target, timeout=40)
        same_chain(cluster.nodes, target)


async def test_observer_follows_the_chain_without_voting(tmp_path: Path) -> None:
    observer_key = dev_key("observer/auditor")
    homes, doc = make_homes(tmp_path, 4, modules=("identity",))
    doc["observers"] = [{"name": "auditor", "node_key": observer_key.public.hex()}]
    for home in homes:
        (home / "genesis.json").write_text(json.dumps(doc))
    auditor = tmp_path / "auditor"
    init_home(
        auditor,
        genesis_doc=doc,
        config=Config(
            moniker="auditor",
            mode="observer",
            p2p_listen="127.0.0.1:0",
            api_listen="127.0.0.1:0",
        ),
        validator=dev_key("observer/unused"),
        node=observer_key,
    )
    async with running(homes) as cluster:
        await wait_height(cluster.nodes, 3)
        watcher = await cluster.start(auditor)
        assert watcher.driver is None
        target = max(n.app.height for n in cluster.nodes) + 2
        await wait_height(cluster.nodes, target, timeout=40)
        same_chain(cluster.nodes, target)
        assert watcher.status()["validator_key"] is None
