"""The per-peer send queue: bounded, reliable first, gossip dropped first."""

from __future__ import annotations

import pytest

from p2p.queue import SendQueue


def drain(queue: SendQueue) -> list[bytes]:
    out = []
    while (item := queue.get_nowait()) is not None:
        out.append(item)
    return out


def test_reliable_messages_go_first_and_keep_their_order() -> None:
    queue = SendQueue(max_messages=10, max_bytes=1000)
    for item, droppable in [
        (b"t1", True),
        (b"v1", False),
        (b"t2", True),
        (b"v2", False),
    ]:
        assert queue.put(item, droppable=droppable)
    assert drain(queue) == [b"v1", b"v2", b"t1", b"t2"]
    assert queue.size_bytes == 0


def test_full_queue_drops_the_oldest_gossip() -> None:
    queue = SendQueue(max_messages=3, max_bytes=1000)
    for item in (b"t1", b"t2", b"t3", b"t4"):
        assert queue.put(item, droppable=True)
    assert queue.dropped == 1
    assert drain(queue) == [b"t2", b"t3", b"t4"]


def test_reliable_message_evicts_gossip_before_overflowing() -> None:
    queue = SendQueue(max_messages=2, max_bytes=1000)
    assert queue.put(b"t1", droppable=True)
    assert queue.put(b"v1", droppable=False)
    assert queue.put(b"v2", droppable=False)  # t1 makes room
    assert queue.dropped == 1
    assert not queue.put(b"v3", droppable=False)  # the peer is too slow
    assert queue.put(b"t2", droppable=True)  # dropped, never an overflow
    assert queue.dropped == 2
    assert drain(queue) == [b"v1", b"v2"]


def test_byte_bound() -> None:
    queue = SendQueue(max_messages=100, max_bytes=10)
    assert queue.put(b"12345", droppable=True)
    assert queue.put(b"678901", droppable=False)  # evicts the gossip
    assert queue.size_bytes == 6
    assert not queue.put(b"abcde", droppable=False)
    assert len(queue) == 1


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SendQueue(max_messages=0, max_bytes=1)
