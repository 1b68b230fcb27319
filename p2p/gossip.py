"""Gossip on top of the peer manager.

Transactions go to each peer at most once: ``TxGossip`` remembers, per
peer, the ids it has sent there or received from there, and never sends
those again. The memory is an LRU bounded per peer, so it cannot grow
without bound; an id pushed out of it may be sent once more, which the
receiving mempool de-duplicates anyway. The memory belongs to the peer's
node key, not to one connection: a reconnecting peer is not flooded again.

Proposals, votes and evidence are payloads produced by consensus; the
helpers below only wrap them in their message type and broadcast them.
Their duplicates are cheap and bounded by consensus itself, so they are
not filtered here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Protocol

from chain.hashing import sha256
from p2p.codec import Message

DEFAULT_MEMORY = 65_536  # ids remembered per peer: 2 MiB of hashes


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
    def __init__(self, peers: Broadcaster, *, memory: int = DEFAULT_MEMORY) -> None:
        self._peers = peers
        self._memory = memory
        self._seen: dict[bytes, SeenIds] = {}

    def received(self, peer_key: bytes, tx_id: bytes) -> None:
        """``peer_key`` sent us ``tx_id``: it has it, never send it back."""
        self._seen_by(peer_key).add(tx_id)

    def announce(self, tx: bytes, tx_id: bytes | None = None) -> list[bytes]:
        """Send the signed transaction ``tx`` to every peer that lacks it.

        ``tx_id`` defaults to SHA-256 of ``tx`` (DESIGN.md §3). Returns the
        peers it was queued for.
        """
        tx_id = sha256(tx) if tx_id is None else tx_id
        fresh = [k for k in self._peers.connected() if tx_id not in self._seen_by(k)]
        if not fresh:
            return []
        sent = self._peers.broadcast({"type": "tx", "tx": tx}, to=fresh)
        for key in sent:
            self._seen_by(key).add(tx_id)
        return sent

    def forget_peer(self, peer_key: bytes) -> None:
        """Drop what we remember about a peer (say, its node was reset)."""
        self._seen.pop(peer_key, None)

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
