"""The handshake: who is accepted, who is refused, and why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import nacl.bindings as sodium
import pytest
import trio
import trio.testing

from chain import encoding
from chain.keys import TAG_HANDSHAKE, PrivateKey, dev_key
from p2p.errors import HandshakeError, P2PError
from p2p.frames import ByteStream, FrameSealer
from p2p.handshake import (
    CLIENT,
    SERVER,
    VERSION,
    EphemeralKey,
    Hello,
    Session,
    handshake,
    session_keys,
    transcript,
)
from tests.p2p.helpers import CHAIN, keys

Outcome = Session | P2PError


async def run_pair(
    client: dict[str, Any],
    server: dict[str, Any],
    relay: Callable[[bytes, int], bytes] | None = None,
) -> tuple[Outcome, Outcome]:
    """Handshake a client and a server over memory streams.

    ``relay(chunk, offset)`` may rewrite the client-to-server bytes in
    transit, where ``offset`` is the position of the chunk in that stream.
    """
    client_end, server_end = _streams(relay)
    results: dict[str, Outcome] = {}

    async def side(name: str, stream: trio.abc.Stream, kwargs: dict[str, Any]) -> None:
        try:
            results[name] = await handshake(stream, chain_id=CHAIN, **kwargs)
        except P2PError as exc:
            results[name] = exc
            await trio.aclose_forcefully(stream)

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(side, "client", client_end, {"dialer": True, **client})
            nursery.start_soon(side, "server", server_end, {"dialer": False, **server})
    return results["client"], results["server"]


def _streams(
    relay: Callable[[bytes, int], bytes] | None,
) -> tuple[trio.abc.Stream, trio.abc.Stream]:
    if relay is None:
        return trio.testing.memory_stream_pair()
    # Client -> server goes through a one-way pipe whose pump rewrites bytes.
    to_server_send, to_server_recv = trio.testing.memory_stream_one_way_pair()
    to_client_send, to_client_recv = trio.testing.memory_stream_one_way_pair()
    offset = 0

    def pump() -> None:
        nonlocal offset
        chunk = to_server_send.get_data_nowait()
        to_server_recv.put_data(relay(chunk, offset))
        offset += len(chunk)

    to_server_send.send_all_hook = _async(pump)
    to_server_send.close_hook = to_server_recv.put_eof
    to_client_send.send_all_hook = _async(
        lambda: to_client_recv.put_data(to_client_send.get_data_nowait())
    )
    to_client_send.close_hook = to_client_recv.put_eof
    client = trio.StapledStream(to_server_send, to_client_recv)
    server = trio.StapledStream(to_client_send, to_server_recv)
    return client, server


def _async(fn: Callable[[], None]) -> Callable[[], Any]:
    async def hook() -> None:
        fn()

    return hook


def code(outcome: Outcome) -> str:
    assert isinstance(outcome, P2PError), outcome
    return outcome.code


@pytest.fixture
def trio_keys() -> list[PrivateKey]:
    return keys(4)


def kw(key: PrivateKey, allowed: list[PrivateKey], **extra: Any) -> dict[str, Any]:
    return {"node_key": key, "allowed": {k.public for k in allowed}, **extra}


async def test_right_peer_is_accepted_and_frames_flow(
    trio_keys: list[PrivateKey],
) -> None:
    a, b, *_ = trio_keys
    client, server = await run_pair(kw(a, [a, b], expected=b.public), kw(b, [a, b]))
    assert isinstance(client, Session) and isinstance(server, Session)
    assert client.peer_key == b.public and server.peer_key == a.public
    assert client.dialer and not server.dialer
    with trio.fail_after(5):
        await client.framed.send(b"from client")
        await server.framed.send(b"from server")
        assert await server.framed.receive() == b"from client"
        assert await client.framed.receive() == b"from server"


async def test_handshake_over_loopback_tcp(trio_keys: list[PrivateKey]) -> None:
    a, b, *_ = trio_keys
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            accepted: list[Session] = []

            async def serve() -> None:
                stream = await listeners[0].accept()
                accepted.append(
                    await handshake(stream, chain_id=CHAIN, dialer=False, **kw(b, [a]))
                )

            nursery.start_soon(serve)
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            session = await handshake(
                stream, chain_id=CHAIN, dialer=True, **kw(a, [b], expected=b.public)
            )
        await session.framed.send(b"over tcp")
        assert await accepted[0].framed.receive() == b"over tcp"
        await session.framed.aclose()
        await accepted[0].framed.aclose()
        await listeners[0].aclose()


async def test_unknown_key_is_refused(trio_keys: list[PrivateKey]) -> None:
    a, b, stranger, _ = trio_keys
    client, server = await run_pair(kw(stranger, [a, b]), kw(b, [a, b]))
    assert code(server) == "p2p.unknown_peer"
    assert isinstance(client, P2PError)  # the server hung up on it


async def test_server_with_unknown_key_is_refused_by_the_dialer(
    trio_keys: list[PrivateKey],
) -> None:
    a, b, stranger, _ = trio_keys
    client, server = await run_pair(kw(a, [a, b]), kw(stranger, [a, b]))
    assert code(client) == "p2p.unknown_peer"


async def test_dialer_refuses_a_different_allowed_key_than_configured(
    trio_keys: list[PrivateKey],
) -> None:
    a, b, c, _ = trio_keys
    client, server = await run_pair(kw(a, [a, b, c], expected=b.public), kw(c, [a]))
    assert code(client) == "p2p.unexpected_peer"


async def test_wrong_chain_is_refused(trio_keys: list[PrivateKey]) -> None:
    a, b, *_ = trio_keys
    client_end, server_end = trio.testing.memory_stream_pair()
    outcomes: list[str] = []

    async def side(stream: trio.abc.Stream, chain_id: str, **kwargs: Any) -> None:
        with pytest.raises(HandshakeError) as caught:
            await handshake(stream, chain_id=chain_id, **kwargs)
        outcomes.append(caught.value.code)

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                lambda: side(client_end, "egov-one", dialer=True, **kw(a, [b]))
            )
            nursery.start_soon(
                lambda: side(server_end, "egov-two", dialer=False, **kw(b, [a]))
            )
    assert outcomes == ["p2p.wrong_chain", "p2p.wrong_chain"]


async def test_connection_to_ourselves_is_refused(
    trio_keys: list[PrivateKey],
) -> None:
    a, *_ = trio_keys
    client, server = await run_pair(kw(a, [a]), kw(a, [a]))
    assert code(client) == code(server) == "p2p.self_connect"


async def test_silent_peer_times_out(
    autojump_clock: trio.abc.Clock, trio_keys: list[PrivateKey]
) -> None:
    a, b, *_ = trio_keys
    ours, _theirs = trio.testing.memory_stream_pair()
    with pytest.raises(HandshakeError) as caught:
        await handshake(ours, chain_id=CHAIN, dialer=True, timeout=7, **kw(a, [b]))
    assert caught.value.code == "p2p.timeout"
    assert trio.current_time() == pytest.approx(7)


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "p2p.bad_hello"),  # huge prefix
        (b"\x00\x00\x00\x03abc", "p2p.bad_hello"),
        (b"\x00\x00\x00\x01\x80", "p2p.bad_hello"),  # an empty map
        (
            Hello(VERSION + 1, CHAIN, b"\x01" * 32, b"\x02" * 32).encode(),
            "p2p.bad_version",
        ),
        (
            Hello(VERSION, CHAIN, b"\x00" * 32, b"\x02" * 32).encode(),
            "p2p.unknown_peer",
        ),
    ],
)
async def test_malformed_hello_is_refused(
    wire: bytes, expected: str, trio_keys: list[PrivateKey]
) -> None:
    a, *_ = trio_keys
    ours, theirs = trio.testing.memory_stream_pair()
    await theirs.send_all(wire)
    with trio.fail_after(5), pytest.raises(HandshakeError) as caught:
        await handshake(ours, chain_id=CHAIN, dialer=False, **kw(a, [a]))
    assert caught.value.code == expected


async def test_low_order_ephemeral_key_is_refused(
    trio_keys: list[PrivateKey],
) -> None:
    a, b, *_ = trio_keys
    ours, theirs = trio.testing.memory_stream_pair()
    await theirs.send_all(Hello(VERSION, CHAIN, b"\x00" * 32, b.public).encode())
    with trio.fail_after(5), pytest.raises(HandshakeError) as caught:
        await handshake(ours, chain_id=CHAIN, dialer=False, **kw(a, [b]))
    assert caught.value.code == "p2p.bad_hello"


# -- a forging server: a correct key exchange, a wrong signature ------------


def _sign_wrong_role(client: Hello, server: Hello, key: PrivateKey) -> bytes:
    # Reflection: the signature a client would make, not a server's.
    return key.sign(TAG_HANDSHAKE, CHAIN, transcript(client, server, CLIENT))


def _sign_other_chain(client: Hello, server: Hello, key: PrivateKey) -> bytes:
    return key.sign(TAG_HANDSHAKE, "egov-other", transcript(client, server, SERVER))


def _sign_other_eph(client: Hello, server: Hello, key: PrivateKey) -> bytes:
    stale = Hello(VERSION, CHAIN, EphemeralKey.generate().public, client.node)
    return key.sign(TAG_HANDSHAKE, CHAIN, transcript(stale, server, SERVER))


def _flip_a_bit(client: Hello, server: Hello, key: PrivateKey) -> bytes:
    good = key.sign(TAG_HANDSHAKE, CHAIN, transcript(client, server, SERVER))
    return bytes([good[0] ^ 1]) + good[1:]


def _short_signature(client: Hello, server: Hello, key: PrivateKey) -> bytes:
    return b"\x00" * 10


@pytest.mark.parametrize(
    "forge",
    [
        _sign_wrong_role,
        _sign_other_chain,
        _sign_other_eph,
        _flip_a_bit,
        _short_signature,
    ],
)
async def test_forged_transcript_signature_is_refused(
    forge: Callable[[Hello, Hello, PrivateKey], bytes],
    trio_keys: list[PrivateKey],
) -> None:
    a, b, *_ = trio_keys
    client_end, server_end = trio.testing.memory_stream_pair()

    async def forging_server() -> None:
        raw = ByteStream(server_end)
        size = int.from_bytes(await raw.receive_exactly(4), "big")
        client_hello = Hello.decode(await raw.receive_exactly(size))
        eph = EphemeralKey.generate()
        mine = Hello(VERSION, CHAIN, eph.public, b.public)
        await raw.send_all(mine.encode())
        _, tx = session_keys(eph, client_hello.eph, dialer=False)
        sealer = FrameSealer(tx)
        await raw.send_all(sealer.header + sealer.seal(forge(client_hello, mine, b)))

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(forging_server)
            with pytest.raises(HandshakeError) as caught:
                await handshake(client_end, chain_id=CHAIN, dialer=True, **kw(a, [b]))
    assert caught.value.code == "p2p.bad_signature"


async def test_impostor_with_an_allowed_key_it_does_not_hold(
    trio_keys: list[PrivateKey],
) -> None:
    # A stranger claims validator b's node key; it can only sign with its own.
    a, b, stranger, _ = trio_keys
    client_end, server_end = trio.testing.memory_stream_pair()

    async def impostor() -> None:
        raw = ByteStream(server_end)
        size = int.from_bytes(await raw.receive_exactly(4), "big")
        client_hello = Hello.decode(await raw.receive_exactly(size))
        eph = EphemeralKey.generate()
        mine = Hello(VERSION, CHAIN, eph.public, b.public)
        await raw.send_all(mine.encode())
        _, tx = session_keys(eph, client_hello.eph, dialer=False)
        sealer = FrameSealer(tx)
        signature = stranger.sign(
            TAG_HANDSHAKE, CHAIN, transcript(client_hello, mine, SERVER)
        )
        await raw.send_all(sealer.header + sealer.seal(signature))

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(impostor)
            with pytest.raises(HandshakeError) as caught:
                await handshake(client_end, chain_id=CHAIN, dialer=True, **kw(a, [b]))
    assert caught.value.code == "p2p.bad_signature"


# -- a man in the middle rewriting the client's bytes -----------------------


def _offset_in_hello(key: PrivateKey, field: str) -> int:
    """Where the value of ``field`` starts in a client's hello on the wire."""
    wire = Hello(VERSION, CHAIN, b"\x00" * 32, key.public).encode()
    marker = encoding.encode(field)
    return wire.index(marker) + len(marker) + 2  # skip the bin8 header


def _flip_at(position: int) -> Callable[[bytes, int], bytes]:
    def relay(chunk: bytes, offset: int) -> bytes:
        if offset <= position < offset + len(chunk):
            i = position - offset
            chunk = chunk[:i] + bytes([chunk[i] ^ 0x01]) + chunk[i + 1 :]
        return chunk

    return relay


async def test_rewritten_ephemeral_key_fails_authentication(
    trio_keys: list[PrivateKey],
) -> None:
    a, b, *_ = trio_keys
    position = _offset_in_hello(a, "eph") + 5
    client, server = await run_pair(kw(a, [b]), kw(b, [a]), relay=_flip_at(position))
    assert code(server) == "p2p.bad_auth"
    assert isinstance(client, P2PError)


async def test_rewritten_node_key_fails_the_signature(
    trio_keys: list[PrivateKey],
) -> None:
    a, b, *_ = trio_keys
    claimed = bytearray(a.public)
    claimed[3] ^= 0x01
    other = bytes(claimed)  # the key the server will read; allow it too
    position = _offset_in_hello(a, "node") + 3
    client, server = await run_pair(
        kw(a, [b]),
        {"node_key": b, "allowed": {a.public, other}},
        relay=_flip_at(position),
    )
    assert code(server) == "p2p.bad_signature"
    assert isinstance(client, P2PError)


async def test_rewritten_signature_frame_fails_authentication(
    trio_keys: list[PrivateKey],
) -> None:
    a, b, *_ = trio_keys
    hello_size = len(Hello(VERSION, CHAIN, b"\x00" * 32, a.public).encode())
    position = hello_size + 24 + 4 + 10  # header, prefix, into the ciphertext
    client, server = await run_pair(kw(a, [b]), kw(b, [a]), relay=_flip_at(position))
    assert code(server) == "p2p.bad_auth"
    # The client's own checks passed; it learns of the refusal on first read.
    assert isinstance(client, Session)
    with trio.fail_after(5), pytest.raises(P2PError):
        await client.framed.receive()


# -- the test vector of docs/P2P.md ------------------------------------------

VECTOR = {
    "client_hello": "0000006784a5636861696ea965676f762d74657374a3657068c420ab2f"
    "ca32898322c208fb2dab5048bd43c355c6430f588897cb574961cfa9806fa46e6f6465c420"
    "8c6b2942c838ffddb0d07e553aed5b3a858b039e90d107ccdf3527039ff12b3aa776657273"
    "696f6e01",
    "client_signature": "853acae87ac5ab366f3089a3566e86b3e8a35b20aaf4bd70704a1409"
    "21d0c146c8453d82401e8f606e2753f503f664900665cfe61ffe0bc5a59ee809747a8c0a",
    "client_rx": "e0f480d42cd0d8a95993dd50976fb24ef81a6788b7b5bc722fc258410ac723ed",
    "client_tx": "43eb74c847209a3af513e0fc824b791865665dcc727fc332f4ddfc614e0ab79a",
}


def test_documented_vector() -> None:
    client_key, server_key = dev_key("p2p-doc-client"), dev_key("p2p-doc-server")
    client_eph = EphemeralKey(*sodium.crypto_kx_seed_keypair(bytes([1]) * 32))
    server_eph = EphemeralKey(*sodium.crypto_kx_seed_keypair(bytes([2]) * 32))
    client = Hello(VERSION, "egov-test", client_eph.public, client_key.public)
    server = Hello(VERSION, "egov-test", server_eph.public, server_key.public)
    assert client.encode().hex() == VECTOR["client_hello"]
    signed = client_key.sign(
        TAG_HANDSHAKE, "egov-test", transcript(client, server, CLIENT)
    )
    assert signed.hex() == VECTOR["client_signature"]
    rx, tx = session_keys(client_eph, server_eph.public, dialer=True)
    assert (rx.hex(), tx.hex()) == (VECTOR["client_rx"], VECTOR["client_tx"])
    # The server derives the mirror image.
    assert session_keys(server_eph, client_eph.public, dialer=False) == (tx, rx)
