"""The node's wiring: gossiped transaction batches in and out, and blocks
capped by the measured time they take to execute."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import trio

from chain.keys import dev_key
from chain.tx import SignedTx, TxBody
from consensus.protocols import BuildRequest
from node.devnet import authority_key, node_key, validator_key
from node.service import ConsensusApp, ExecutionPace, Node
from p2p.peers import P2PSettings, PeerManager
from tests.node.cluster import make_homes, running

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


def fake_peer(i: int, chain_id: str, allowed: list[bytes], target: str) -> PeerManager:
    """Validator ``i``'s node key, speaking p2p by hand (no consensus)."""
    return PeerManager(
        node_key=node_key(i),
        chain_id=chain_id,
        allowed_keys=allowed,
        peers=[target],
        settings=P2PSettings(backoff_initial=0.02, backoff_max=0.2),
    )


async def test_a_batch_is_admitted_tx_by_tx_and_relayed_as_a_batch(
    tmp_path: Path,
) -> None:
    homes, doc = make_homes(tmp_path, 3, modules=("identity",))
    chain = doc["chain_id"]
    good = [enrol(chain, n, f"citizen-{n}") for n in (1, 2)]
    forged = bytearray(enrol(chain, 3, "citizen-3").raw)
    forged[-1] ^= 1  # the signature no longer verifies
    async with running(homes[:1]) as cluster:
        node = cluster.nodes[0]
        assert node.ports is not None and node.peers_manager is not None
        target = f"{node.node_key.public.hex()}@127.0.0.1:{node.ports.p2p}"
        allowed = [node_key(i).public for i in (1, 2, 3)]
        sender = fake_peer(2, chain, allowed, target)
        watcher = fake_peer(3, chain, allowed, target)
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                await nursery.start(sender.run)
                await nursery.start(watcher.run)
                await sender.wait_connected(node.node_key.public)
                await watcher.wait_connected(node.node_key.public)
                await node.peers_manager.wait_connected(
                    node_key(2).public, node_key(3).public
                )
                batch = [good[0].raw, bytes(forged), good[1].raw, good[0].raw]
                sender.send(node.node_key.public, {"type": "txs", "txs": batch})
                # The watcher gets the admitted ones, in order, in one batch;
                # the forged one and the repeat stayed behind.
                while True:
                    peer, message = await watcher.incoming.receive()
                    if message["type"] in ("tx", "txs"):
                        break
                assert peer == node.node_key.public
                assert message == {"type": "txs", "txs": [t.raw for t in good]}
                assert [t.id in node.mempool for t in good] == [True, True]
                assert len(node.mempool) == 2
                # Nothing goes back to the peer the batch came from.
                await trio.sleep(0.2)
                while True:
                    try:
                        _, back = sender.incoming.receive_nowait()
                    except trio.WouldBlock:
                        break
                    assert back["type"] not in ("tx", "txs")
                nursery.cancel_scope.cancel()


def test_execution_pace_learns_from_blocks_big_enough() -> None:
    pace = ExecutionPace(per_tx=0.002, weight=0.5, min_sample=20)
    pace.observe(5, 1.0)  # mostly the fixed cost of a block: ignored
    assert pace.per_tx == 0.002
    pace.observe(100, 0.4)  # 4 ms a transaction
    assert pace.per_tx == pytest.approx(0.003)
    assert pace.max_txs(0.3) == 100
    assert pace.max_txs(0.0) == 20  # always room for a block it learns from


def test_execution_pace_recovers_after_a_slow_spell() -> None:
    pace = ExecutionPace(per_tx=0.002, weight=0.5, min_sample=20)
    for _ in range(6):
        pace.observe(50, 10.0)  # 200 ms a transaction: a stalled machine
    assert pace.max_txs(0.333) == 20
    for _ in range(12):  # the capped blocks are samples: the pace comes back
        pace.observe(pace.max_txs(0.333), 0.02)
    assert pace.per_tx < 0.0015
    assert pace.max_txs(0.333) > 200


async def test_a_proposer_under_a_time_cap_builds_a_smaller_block(
    tmp_path: Path,
) -> None:
    homes, doc = make_homes(tmp_path, 1, modules=("identity",))
    node = Node(homes[0])
    try:
        txs = [enrol(doc["chain_id"], n, f"citizen-{n}") for n in range(1, 31)]
        for tx in txs:
            node.mempool.add(tx.raw)
        app = ConsensusApp(node)
        request = BuildRequest(
            height=1,
            round=0,
            time=node.genesis.genesis_time,
            proposer=validator_key(1).public,
            last_commit=None,
            evidence=(),
            max_txs=1000,
            max_bytes=4 << 20,
        )
        # Measured as slow: only what fits in the budget is offered.
        node.pace.per_tx = app.exec_budget / 23.5
        block = await app.build_block(request)
        assert [tx.id for tx in block.txs] == [tx.id for tx in txs[:23]]
        # Fast again: the count limit of the request applies.
        node.pace.per_tx = app.exec_budget / 10_000
        block = await app.build_block(replace(request, max_txs=25))
        assert len(block.txs) == 25
        # Building measured the pace (25 transactions: a sample).
        assert node.pace.per_tx > app.exec_budget / 10_000
    finally:
        node.store.close()
