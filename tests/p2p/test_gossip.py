"""Gossip: each transaction reaches each peer at most once, in batches."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
import trio

from chain.hashing import sha256
from p2p.codec import Message
from p2p.gossip import (
    SeenIds,
    TxGossip,
    broadcast_evidence,
    broadcast_proposal,
    broadcast_vote,
)
from tests.p2p.helpers import address_of, keys, make_manager, next_message, running

A, B, C = b"a" * 32, b"b" * 32, b"c" * 32


class FakePeers:
    """Records what would be queued for which peer."""

    def __init__(self, connected: list[bytes]) -> None:
        self.keys = connected
        self.sent: list[tuple[bytes, Message]] = []

    def connected(self) -> list[bytes]:
        return list(self.keys)

    def broadcast(
        self,
        message: Message,
        *,
        to: Iterable[bytes] | None = None,
        exclude: bytes | None = None,
    ) -> list[bytes]:
        targets = [k for k in (self.keys if to is None else to) if k != exclude]
        self.sent += [(k, message) for k in targets]
        return targets


def test_each_peer_gets_a_transaction_once() -> None:
    peers = FakePeers([A, B])
    gossip = TxGossip(peers)
    assert gossip.announce(b"tx1") == [A, B]
    assert gossip.announce(b"tx1") == []
    peers.keys.append(C)  # a peer that connects later still gets it, once
    assert gossip.announce(b"tx1") == [C]
    assert gossip.announce(b"tx1") == []
    assert peers.sent == []  # queued until the batch goes out
    assert gossip.flush() == [A, B, C]
    assert peers.sent == [
        (A, {"type": "txs", "txs": [b"tx1"]}),
        (B, {"type": "txs", "txs": [b"tx1"]}),
        (C, {"type": "txs", "txs": [b"tx1"]}),
    ]
    assert gossip.flush() == []


def test_a_batch_keeps_the_order_of_announcements() -> None:
    peers = FakePeers([A, B])
    gossip = TxGossip(peers)
    gossip.received(B, sha256(b"t2"))
    for tx in (b"t1", b"t2", b"t3"):
        gossip.announce(tx)
    assert gossip.queued(A) == 3 and gossip.queued(B) == 2
    gossip.flush()
    assert peers.sent == [
        (A, {"type": "txs", "txs": [b"t1", b"t2", b"t3"]}),
        (B, {"type": "txs", "txs": [b"t1", b"t3"]}),
    ]


def test_a_full_batch_goes_out_at_once() -> None:
    peers = FakePeers([A])
    gossip = TxGossip(peers, max_batch_txs=2, max_batch_bytes=1000)
    for tx in (b"t1", b"t2", b"t3"):
        gossip.announce(tx)
    assert peers.sent == [(A, {"type": "txs", "txs": [b"t1", b"t2"]})]
    assert gossip.queued(A) == 1
    gossip.announce(b"x" * 1000)  # over the byte limit with t3: sent now
    assert peers.sent[-1] == (A, {"type": "txs", "txs": [b"t3", b"x" * 1000]})
    assert gossip.queued(A) == 0
    with pytest.raises(ValueError):
        TxGossip(peers, max_batch_txs=0)


async def test_run_sends_a_batch_after_the_delay(
    autojump_clock: trio.abc.Clock,
) -> None:
    peers = FakePeers([A])
    gossip = TxGossip(peers, delay=0.05)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(gossip.run)
            start = trio.current_time()
            gossip.announce(b"t1")
            await trio.sleep(0.01)
            gossip.announce(b"t2")
            assert peers.sent == []
            while not peers.sent:
                await trio.sleep(0.001)
            assert trio.current_time() - start == pytest.approx(0.05)
            assert peers.sent == [(A, {"type": "txs", "txs": [b"t1", b"t2"]})]
            nursery.cancel_scope.cancel()


def test_forgetting_a_peer_drops_its_batch() -> None:
    peers = FakePeers([A, B])
    gossip = TxGossip(peers)
    gossip.announce(b"t1")
    gossip.forget_peer(B)
    assert gossip.queued(B) == 0
    assert gossip.flush() == [A]


def test_never_sent_back_to_the_peer_it_came_from() -> None:
    peers = FakePeers([A, B])
    gossip = TxGossip(peers)
    gossip.received(A, sha256(b"tx1"))
    assert gossip.announce(b"tx1") == [B]


def test_explicit_id() -> None:
    peers = FakePeers([A])
    gossip = TxGossip(peers)
    assert gossip.announce(b"tx1", tx_id=b"i" * 32) == [A]
    assert gossip.announce(b"tx1 resent", tx_id=b"i" * 32) == []


def test_memory_is_bounded_per_peer() -> None:
    peers = FakePeers([A])
    gossip = TxGossip(peers, memory=2)
    for tx in (b"t1", b"t2", b"t3"):
        gossip.announce(tx)
    # t1 was forgotten, so it may go once more; t3 is still remembered.
    assert gossip.announce(b"t3") == []
    assert gossip.announce(b"t1") == [A]
    gossip.flush()
    assert peers.sent == [(A, {"type": "txs", "txs": [b"t1", b"t2", b"t3", b"t1"]})]


def test_forget_peer() -> None:
    peers = FakePeers([A])
    gossip = TxGossip(peers)
    gossip.announce(b"t1")
    gossip.forget_peer(A)
    assert gossip.announce(b"t1") == [A]


def test_seen_ids_evicts_least_recently_touched() -> None:
    seen = SeenIds(2)
    seen.add(b"1")
    seen.add(b"2")
    seen.add(b"1")  # touched again: now "2" is the oldest
    seen.add(b"3")
    assert b"1" in seen and b"3" in seen and b"2" not in seen
    assert len(seen) == 2
    with pytest.raises(ValueError):
        SeenIds(0)


def test_consensus_helpers_wrap_payloads() -> None:
    peers = FakePeers([A, B])
    broadcast_proposal(peers, {"round": 0}, b"block")
    broadcast_vote(peers, b"vote")
    assert broadcast_evidence(peers, {"e": b"1"}, exclude=A) == [B]
    assert [m["type"] for _, m in peers.sent] == [
        "proposal",
        "proposal",
        "vote",
        "vote",
        "evidence",
    ]


async def test_transactions_over_real_peers_arrive_once() -> None:
    a, b, c = keys(3)
    hub = make_manager(a, [a, b, c])
    with trio.fail_after(10):
        async with running(hub):
            spoke_b = make_manager(b, [a, b, c], peers=[address_of(hub)])
            spoke_c = make_manager(c, [a, b, c], peers=[address_of(hub)])
            async with running(spoke_b, spoke_c):
                await hub.wait_connected(b.public, c.public)
                gossip = TxGossip(hub)
                for tx in (b"tx1", b"tx1", b"tx2", b"tx1", b"tx2", b"end"):
                    gossip.announce(tx)
                gossip.flush()
                gossip.announce(b"tx2")
                gossip.announce(b"later")
                gossip.flush()
                for spoke in (spoke_b, spoke_c):
                    sender, message = await next_message(spoke)
                    assert (sender, message["type"]) == (a.public, "txs")
                    assert message["txs"] == [b"tx1", b"tx2", b"end"]
                    sender, message = await next_message(spoke)
                    assert message == {"type": "txs", "txs": [b"later"]}
