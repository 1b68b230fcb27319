"""Gossip on top of the peer manager.

Transactions go to each peer at most once: ``TxGossip`` remembers, per
peer, the ids it has sent there or received from there, and never sends
those again. The memory is an LRU bounded per peer, so it cannot grow
without bound; an id pushed out of it may be sent once more, which the
receiving mempool de-duplicates anyway. The memory belongs to the peer's
node key, not to one connection: a reconnecting peer is not flooded again.

Transactions travel in batches, one ``txs`` message per peer: ``announce``
queues, and the queue goes out when it reaches ``max_batch_txs`` or
``max_batch_bytes``, on ``flush()``, or ``delay`` seconds after the first
announcement when ``run`` is running. A frame, its encryption, its codec
checks and its trip through the receiver's channel are paid once per batch
instead of once per transaction; a batch costs at most ``delay`` of latency
per hop. The queue of one peer is bounded by the batch limits, so it cannot
grow either.

Proposals, votes and evidence are payloads produced by consensus; the
helpers below only wrap them in their message type and broadcast them.
Their duplicates are cheap and bounded by consensus itself, so they are
not filtered here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Protocol

import trio

from chain.hashing import sha256
from p2p.codec import Message

DEFAULT_MEMORY = 65_536  # ids remembered per peer: 2 MiB of hashes
MAX_BATCH_TXS = 1000
MAX_BATCH_BYTES = 1024 * 1024
DEFAULT_DELAY = 0.01  # seconds a batch waits for company


class Broadcaster(Protocol):
    """What gossip needs from the peer manager."""

    def broadcast(
        self,
        message: Message,
        *,
        to: Iterable[bytes] | None = None,
        exclude: bytes | None = None,
    ) -> list[bytes]: ...

    def connected(self) -> list[bytes]: ...


class SeenIds:
    """A bounded set of ids, forgetting the least recently touched first."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._ids: OrderedDict[bytes, None] = OrderedDict()

    def __contains__(self, item_id: bytes) -> bool:
        return item_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, item_id: bytes) -> None:
        self._ids[item_id] = None
        self._ids.move_to_end(item_id)
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)


class TxGossip:
    def __init__(
        self,
        peers: Broadcaster,
        *,
        memory: int = DEFAULT_MEMORY,
        max_batch_txs: int = MAX_BATCH_TXS,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        delay: float = DEFAULT_DELAY,
    ) -> None:
        if max_batch_txs < 1 or max_batch_bytes < 1:
            raise ValueError("batch limits must be positive")
        self._peers = peers
        self._memory = memory
        self.max_batch_txs = max_batch_txs
        self.max_batch_bytes = max_batch_bytes
        self.delay = delay
        self._seen: dict[bytes, SeenIds] = {}
        self._queued: dict[bytes, list[bytes]] = {}  # per peer, in order
        self._queued_bytes: dict[bytes, int] = {}
        self._wanted = trio.Event()

    def received(self, peer_key: bytes, tx_id: bytes) -> None:
        """``peer_key`` sent us ``tx_id``: it has it, never send it back."""
        self._seen_by(peer_key).add(tx_id)

    def announce(self, tx: bytes, tx_id: bytes | None = None) -> list[bytes]:
        """Queue the signed transaction ``tx`` for every peer that lacks it.

        ``tx_id`` defaults to SHA-256 of ``tx`` (DESIGN.md §3). Returns the
        peers it was queued for; a full batch goes out at once.
        """
        tx_id = sha256(tx) if tx_id is None else tx_id
        fresh = [k for k in self._peers.connected() if tx_id not in self._seen_by(k)]
        for key in fresh:
            self._seen_by(key).add(tx_id)
            queued = self._queued.setdefault(key, [])
            queued.append(tx)
            size = self._queued_bytes.get(key, 0) + len(tx)
            self._queued_bytes[key] = size
            if len(queued) >= self.max_batch_txs or size >= self.max_batch_bytes:
                self._send(key)
        if self._queued:
            self._wanted.set()
        return fresh

    def queued(self, peer_key: bytes) -> int:
        """Transactions waiting for the next batch to ``peer_key``."""
        return len(self._queued.get(peer_key, ()))

    def flush(self) -> list[bytes]:
        """Send every queued batch now; returns the peers it went to."""
        return [key for key in list(self._queued) if self._send(key)]

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Send queued batches ``delay`` after the first announcement."""
        task_status.started()
        while True:
            await self._wanted.wait()
            await trio.sleep(self.delay)
            self._wanted = trio.Event()
            self.flush()

    def forget_peer(self, peer_key: bytes) -> None:
        """Drop what we remember about a peer (say, its node was reset)."""
        self._seen.pop(peer_key, None)
        self._queued.pop(peer_key, None)
        self._queued_bytes.pop(peer_key, None)

    def _send(self, peer_key: bytes) -> bool:
        txs = self._queued.pop(peer_key, [])
        self._queued_bytes.pop(peer_key, None)
        if not txs:
            return False
        # A peer gone meanwhile loses its batch: gossip may be lost, and it
        # gets the transactions from another peer or in a block.
        return bool(self._peers.broadcast({"type": "txs", "txs": txs}, to=[peer_key]))

    def _seen_by(self, peer_key: bytes) -> SeenIds:
        seen = self._seen.get(peer_key)
        if seen is None:
            seen = self._seen[peer_key] = SeenIds(self._memory)
        return seen


def broadcast_proposal(peers: Broadcaster, proposal: Any, block: Any) -> list[bytes]:
    """``proposal`` and ``block`` are bytes or maps built by consensus."""
    return peers.broadcast({"type": "proposal", "proposal": proposal, "block": block})


def broadcast_vote(peers: Broadcaster, vote: Any) -> list[bytes]:
    return peers.broadcast({"type": "vote", "vote": vote})


def broadcast_evidence(
    peers: Broadcaster, evidence: Any, *, exclude: bytes | None = None
) -> list[bytes]:
    """``exclude``: the peer we got it from, which has it already."""
    return peers.broadcast({"type": "evidence", "evidence": evidence}, exclude=exclude)
