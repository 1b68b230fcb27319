"""The peer manager over real loopback TCP, on ports the OS chooses."""

from __future__ import annotations

import logging
import struct
import time

import pytest
import trio

from chain.keys import PrivateKey
from p2p.errors import HandshakeError
from p2p.peers import IN, OUT, P2PSettings, backoff_delay
from tests.p2p.helpers import (
    FAST,
    address_of,
    dial,
    keys,
    make_manager,
    next_message,
    running,
)

VOTE = {"type": "vote", "vote": b"a signed vote"}


def lost_reasons(caplog: pytest.LogCaptureFixture, key: PrivateKey) -> list[str]:
    """The reasons logged for each loss of the peer with ``key``."""
    prefix = f"peer lost peer={key.public.hex()[:16]} "
    return [
        r.getMessage().rsplit("reason=", 1)[1]
        for r in caplog.records
        if r.name == "egov.p2p" and r.getMessage().startswith(prefix)
    ]


async def test_two_nodes_connect_and_exchange_messages() -> None:
    a, b = keys(2)
    node_a = make_manager(a, [a, b])
    with trio.fail_after(10):
        async with running(node_a):
            node_b = make_manager(b, [a, b], peers=[address_of(node_a)])
            async with running(node_b):
                await node_a.wait_connected(b.public)
                await node_b.wait_connected(a.public)
                assert node_a.send(b.public, VOTE)
                assert await next_message(node_b) == (a.public, VOTE)
                status = {"type": "status", "height": 3, "hash": b"h" * 32}
                assert node_b.broadcast(status) == [a.public]
                assert await next_message(node_a) == (b.public, status)

                [info_a] = node_a.peers()
                [info_b] = node_b.peers()
                assert (info_a.node_key, info_a.direction) == (b.public, IN)
                assert (info_b.node_key, info_b.direction) == (a.public, OUT)
                assert info_b.address == f"127.0.0.1:{node_a.port}"
                assert info_a.bytes_in > 0 and info_a.bytes_out > 0
                assert 0 <= time.time() - info_a.connected_since < 10
                assert node_a.send(PrivateKey.generate().public, VOTE) is False


async def test_shutdown_closes_the_incoming_channel(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "egov.p2p")
    a, b = keys(2)
    node_a = make_manager(a, [a, b])
    node_b = make_manager(b, [a, b])
    with trio.fail_after(10):
        async with running(node_a):
            async with running(node_b):
                node_b.add_peer(address_of(node_a))
                await node_a.wait_connected(b.public)
            # node_b was cancelled: its channel ends, node_a sees it go.
            async for _ in node_b.incoming:
                pass
            await node_a.wait_disconnected(b.public)
    assert lost_reasons(caplog, a) == ["p2p.shutdown"]  # logged by node_b
    assert lost_reasons(caplog, b) == ["p2p.closed"]  # logged by node_a


async def test_unknown_key_refused_while_others_are_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "egov.p2p")
    a, b, stranger = keys(3)
    node_a = make_manager(a, [a, b])
    node_b = make_manager(b, [a, b])
    with trio.fail_after(10):
        async with running(node_a, node_b):
            node_b.add_peer(address_of(node_a))
            await node_a.wait_connected(b.public)
            with pytest.raises(Exception):  # noqa: B017 - hung up on, any error
                await dial(stranger, node_a, [a, stranger])
            assert node_a.send(b.public, VOTE)
            assert await next_message(node_b) == (a.public, VOTE)
    assert any(
        "handshake failed" in r.getMessage()
        and "reason=p2p.unknown_peer" in r.getMessage()
        for r in caplog.records
    )


async def test_wrong_chain_refused() -> None:
    a, b = keys(2)
    node_a = make_manager(a, [a, b])
    with trio.fail_after(10):
        async with running(node_a):
            with pytest.raises(HandshakeError) as caught:
                await dial(b, node_a, [a], chain_id="egov-elsewhere")
            assert caught.value.code == "p2p.wrong_chain"
            assert node_a.peers() == []


@pytest.mark.parametrize(
    "garbage",
    [b"GET / HTTP/1.1\r\n\r\n", b"\x00\x00\x00\x10" + b"\xff" * 16, b"\x00" * 3],
)
async def test_garbage_before_the_handshake(
    garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "egov.p2p")
    a, b = keys(2)
    node_a = make_manager(a, [a, b], settings=_quick_handshake())
    node_b = make_manager(b, [a, b])
    with trio.fail_after(10):
        async with running(node_a, node_b):
            node_b.add_peer(address_of(node_a))
            await node_a.wait_connected(b.public)
            junk = await trio.open_tcp_stream("127.0.0.1", node_a.port)
            await junk.send_all(garbage)
            # node_a hangs up on it (at once, or when its handshake times out).
            with trio.fail_after(5):
                while await _receive_or_eof(junk):
                    pass
            await junk.aclose()
            assert node_a.send(b.public, VOTE)
            assert await next_message(node_b) == (a.public, VOTE)
            assert [p.node_key for p in node_a.peers()] == [b.public]
    assert any("handshake failed" in r.getMessage() for r in caplog.records)


async def _receive_or_eof(stream: trio.SocketStream) -> bytes:
    try:
        return await stream.receive_some()
    except trio.BrokenResourceError:
        return b""


def _quick_handshake() -> P2PSettings:
    return P2PSettings(
        handshake_timeout=0.5,
        ping_interval=FAST.ping_interval,
        idle_timeout=FAST.idle_timeout,
        backoff_initial=FAST.backoff_initial,
        backoff_max=FAST.backoff_max,
    )


@pytest.mark.parametrize(
    ("how", "data", "reason"),
    [
        ("raw", b"\xde\xad\xbe\xef" * 8, "p2p.frame_too_large"),
        ("raw", struct.pack(">I", 0x7FFF_FFFF), "p2p.frame_too_large"),
        ("raw", b"\x00\x00\x00\x20" + b"\x00" * 32, "p2p.decrypt_failed"),
        ("raw", b"\x00\x00\x00\x01\x00", "p2p.bad_frame"),
        ("sealed", b"not msgpack \xc1", "p2p.bad_message"),
        ("sealed", b"", "p2p.bad_message"),
        ("sealed", b"\x81\xa4type\xa8teleport", "p2p.unknown_type"),
        ("sealed", b"\x81\xa4type\xa4vote", "p2p.bad_message"),
    ],
    ids=[
        "junk",
        "oversize",
        "bad_ciphertext",
        "short_frame",
        "not_msgpack",
        "empty",
        "unknown_type",
        "missing_field",
    ],
)
async def test_garbage_after_the_handshake(
    how: str, data: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "egov.p2p")
    a, b, c = keys(3)
    node_a = make_manager(a, [a, b, c])
    node_b = make_manager(b, [a, b, c])
    with trio.fail_after(10):
        async with running(node_a, node_b):
            node_b.add_peer(address_of(node_a))
            await node_a.wait_connected(b.public)
            session = await dial(c, node_a, [a])
            await node_a.wait_connected(c.public)
            if how == "raw":
                await session.framed.raw.send_all(data)
            else:
                await session.framed.send(data)
            await node_a.wait_disconnected(c.public)
            await session.framed.aclose()
            assert node_a.send(b.public, VOTE)
            assert await next_message(node_b) == (a.public, VOTE)
    assert lost_reasons(caplog, c) == [reason]


async def test_silent_peer_is_dropped_as_idle(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "egov.p2p")
    a, b = keys(2)
    settings = P2PSettings(idle_timeout=0.3, ping_interval=0.1)
    node_a = make_manager(a, [a, b], settings=settings)
    with trio.fail_after(10):
        async with running(node_a):
            session = await dial(b, node_a, [a])
            await node_a.wait_connected(b.public)
            await node_a.wait_disconnected(b.public)
            await session.framed.aclose()
    assert lost_reasons(caplog, b) == ["p2p.idle"]


async def test_reconnects_after_the_peer_restarts() -> None:
    a, b = keys(2)
    node_a = make_manager(a, [a, b])
    with trio.fail_after(15):
        async with running(node_a):
            first_b = make_manager(b, [a, b])
            async with running(first_b):
                node_a.add_peer(address_of(first_b))
                await node_a.wait_connected(b.public)
            await node_a.wait_disconnected(b.public)
            await trio.sleep(0.1)  # node_a redials a closed port meanwhile
            second_b = make_manager(b, [a, b], port=first_b.port)
            async with running(second_b):
                await node_a.wait_connected(b.public)
                assert node_a.send(b.public, VOTE)
                assert await next_message(second_b) == (a.public, VOTE)


async def test_simultaneous_dials_keep_one_connection() -> None:
    a, b = keys(2)
    node_a = make_manager(a, [a, b])
    node_b = make_manager(b, [a, b])
    with trio.fail_after(10):
        async with running(node_a, node_b):
            node_a.add_peer(address_of(node_b))
            node_b.add_peer(address_of(node_a))
            await node_a.wait_connected(b.public)
            await node_b.wait_connected(a.public)
            await trio.sleep(0.3)  # let any duplicate settle
            [info_a], [info_b] = node_a.peers(), node_b.peers()
            lower_is_a = a.public < b.public
            # Both ends keep the connection that the lower key dialed.
            assert info_a.direction == (OUT if lower_is_a else IN)
            assert info_b.direction == (IN if lower_is_a else OUT)
            assert node_a.send(b.public, VOTE)
            assert await next_message(node_b) == (a.public, VOTE)


async def test_slow_peer_is_disconnected_when_its_queue_is_full(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "egov.p2p")
    a, b = keys(2)
    settings = P2PSettings(queue_messages=8, queue_bytes=1 << 30)
    node_a = make_manager(a, [a, b], settings=settings)
    big = {"type": "vote", "vote": b"v" * (256 * 1024)}
    with trio.fail_after(10):
        async with running(node_a):
            session = await dial(b, node_a, [a])  # and then never reads
            await node_a.wait_connected(b.public)
            sent = 0
            while node_a.send(b.public, big):
                sent += 1
                await trio.sleep(0)
            await node_a.wait_disconnected(b.public)
            await session.framed.aclose()
    assert sent >= 8
    assert lost_reasons(caplog, b) == ["p2p.slow_peer"]


async def test_gossip_to_a_slow_peer_is_dropped_not_fatal() -> None:
    a, b = keys(2)
    settings = P2PSettings(queue_messages=8, queue_bytes=1 << 30)
    node_a = make_manager(a, [a, b], settings=settings)
    tx = {"type": "tx", "tx": b"t" * (256 * 1024)}
    with trio.fail_after(10):
        async with running(node_a):
            session = await dial(b, node_a, [a])  # and then never reads
            await node_a.wait_connected(b.public)
            for _ in range(200):
                assert node_a.broadcast(tx) == [b.public]
                await trio.sleep(0)
            [info] = node_a.peers()
            assert info.dropped > 0
            assert info.queued <= 8
            await session.framed.aclose()


async def test_dialing_an_address_that_answers_with_another_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "egov.p2p")
    a, b, c = keys(3)
    node_c = make_manager(c, [a, b, c])
    with trio.fail_after(10):
        async with running(node_c):
            wrong = f"{b.public.hex()}@127.0.0.1:{node_c.port}"
            node_a = make_manager(a, [a, b, c], peers=[wrong])
            async with running(node_a):
                while not any(
                    "reason=p2p.unexpected_peer" in r.getMessage()
                    for r in caplog.records
                ):
                    await trio.sleep(0.01)
                assert node_a.peers() == []


def test_backoff_is_capped_and_jittered() -> None:
    settings = P2PSettings(backoff_initial=0.5, backoff_max=30.0)
    delays = [backoff_delay(n, settings) for n in range(1, 40)]
    assert 0.25 <= delays[0] <= 0.5
    assert 1.0 <= delays[2] <= 2.0
    assert all(15.0 <= d <= 30.0 for d in delays[8:])


async def test_too_many_pending_handshakes_are_closed_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "egov.p2p")
    a, b = keys(2)
    settings = P2PSettings(max_pending_handshakes=1, handshake_timeout=5)
    node_a = make_manager(a, [a, b], settings=settings)
    with trio.fail_after(10):
        async with running(node_a):
            silent = await trio.open_tcp_stream("127.0.0.1", node_a.port)
            await silent.receive_some()  # node_a's hello: its handshake runs
            extra = await trio.open_tcp_stream("127.0.0.1", node_a.port)
            with trio.fail_after(2):  # well before the handshake timeout
                assert await _receive_or_eof(extra) == b""
            await extra.aclose()
            await silent.aclose()
    assert any("reason=p2p.busy" in r.getMessage() for r in caplog.records)
