"""The authenticated key exchange that opens every peer connection.

docs/P2P.md gives the exact bytes. In short, both sides, without waiting for
each other at any step but the reads:

1. send a hello in clear: version, chain id, an ephemeral X25519 public key
   and the node's ed25519 public key;
2. read the peer's hello and refuse it unless the version and chain id match
   and the node key is in the allow-list (and, when dialing, is the key that
   the configuration names for that address);
3. derive two session keys with libsodium's key exchange (the dialer is the
   client), open a secretstream per direction and send its header;
4. send, as the first encrypted frame, an ed25519 signature by the node key
   over the transcript (both ephemeral keys, both node keys, the chain id and
   the signer's role) under the ``egov/handshake/v1`` tag;
5. read the peer's first frame and verify its signature.

Why the signature travels encrypted: opening that frame proves that the peer
derived the same session keys, that is, holds the secret half of the
ephemeral key it announced (key confirmation), so a handshake never succeeds
unless both directions already work. It also keeps the signatures, which
tie a node's long-term key to this session, away from passive observers.

The roles in the transcript make the two signatures differ, so a peer can
never reflect our own signature back at us. The whole exchange is bounded by
a timeout.
"""

from __future__ import annotations

import struct
from collections.abc import Collection
from dataclasses import dataclass

import nacl.bindings as sodium
import nacl.exceptions
import trio

from chain import encoding
from chain.errors import ChainError
from chain.keys import TAG_HANDSHAKE, PrivateKey, verify
from p2p.errors import HandshakeError, ProtocolError
from p2p.frames import (
    HEADER_SIZE,
    MAX_PLAINTEXT,
    ByteStream,
    FramedStream,
    FrameOpener,
    FrameSealer,
    frame_bound,
)

VERSION = 1
MAX_HELLO = 1024
HELLO_PREFIX = struct.Struct(">I")
KEY_SIZE = 32
SIGNATURE_SIZE = 64
CLIENT, SERVER = "client", "server"
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Hello:
    version: int
    chain_id: str
    eph: bytes  # X25519 public key, fresh for this connection
    node: bytes  # ed25519 public node key

    def encode(self) -> bytes:
        body = encoding.encode(
            {
                "chain": self.chain_id,
                "eph": self.eph,
                "node": self.node,
                "version": self.version,
            }
        )
        return HELLO_PREFIX.pack(len(body)) + body

    @classmethod
    def decode(cls, body: bytes) -> Hello:
        try:
            value = encoding.decode(body, max_size=MAX_HELLO)
        except ChainError as exc:
            raise HandshakeError(exc.message, code="p2p.bad_hello") from exc
        if not isinstance(value, dict) or set(value) != {
            "chain",
            "eph",
            "node",
            "version",
        }:
            raise HandshakeError("hello has the wrong fields", code="p2p.bad_hello")
        version, chain_id = value["version"], value["chain"]
        eph, node = value["eph"], value["node"]
        if not isinstance(version, int) or isinstance(version, bool):
            raise HandshakeError("hello version", code="p2p.bad_hello")
        if not isinstance(chain_id, str):
            raise HandshakeError("hello chain", code="p2p.bad_hello")
        for key in (eph, node):
            if not isinstance(key, bytes) or len(key) != KEY_SIZE:
                raise HandshakeError("hello key size", code="p2p.bad_hello")
        return cls(version, chain_id, eph, node)


def transcript(client: Hello, server: Hello, role: str) -> bytes:
    """What the side playing ``role`` signs (with TAG_HANDSHAKE, chain id)."""
    return encoding.encode(
        {
            "chain": client.chain_id,
            "client_eph": client.eph,
            "client_node": client.node,
            "role": role,
            "server_eph": server.eph,
            "server_node": server.node,
            "version": VERSION,
        }
    )


@dataclass(frozen=True)
class EphemeralKey:
    public: bytes
    secret: bytes

    @classmethod
    def generate(cls) -> EphemeralKey:
        public, secret = sodium.crypto_kx_keypair()
        return cls(public, secret)


def session_keys(
    mine: EphemeralKey, peer_public: bytes, *, dialer: bool
) -> tuple[bytes, bytes]:
    """``(receive_key, send_key)`` for this side; the dialer is the client."""
    try:
        if dialer:
            rx, tx = sodium.crypto_kx_client_session_keys(
                mine.public, mine.secret, peer_public
            )
        else:
            rx, tx = sodium.crypto_kx_server_session_keys(
                mine.public, mine.secret, peer_public
            )
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        # libsodium refuses low-order points, whose shared secret is public.
        raise HandshakeError("unusable ephemeral key", code="p2p.bad_hello") from exc
    return bytes(rx), bytes(tx)


def check_hello(
    hello: Hello,
    *,
    chain_id: str,
    own_key: bytes,
    allowed: Collection[bytes],
    expected: bytes | None,
) -> None:
    """Refuse a peer's hello that we must not talk to."""
    if hello.version != VERSION:
        raise HandshakeError(
            f"peer speaks version {hello.version}, we speak {VERSION}",
            code="p2p.bad_version",
        )
    if hello.chain_id != chain_id:
        raise HandshakeError(
            f"peer is on chain {hello.chain_id[:64]!r}, we are on {chain_id!r}",
            code="p2p.wrong_chain",
        )
    if hello.node == own_key:
        raise HandshakeError("connected to ourselves", code="p2p.self_connect")
    if hello.node not in allowed:
        raise HandshakeError(
            f"node key {hello.node.hex()} is not in the genesis allow-list",
            code="p2p.unknown_peer",
        )
    if expected is not None and hello.node != expected:
        raise HandshakeError(
            f"expected node key {expected.hex()}, peer is {hello.node.hex()}",
            code="p2p.unexpected_peer",
        )


@dataclass
class Session:
    """A connection that passed the handshake."""

    peer_key: bytes
    framed: FramedStream
    dialer: bool


async def handshake(
    stream: trio.abc.Stream | ByteStream,
    *,
    node_key: PrivateKey,
    chain_id: str,
    allowed: Collection[bytes],
    dialer: bool,
    expected: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_plaintext: int = MAX_PLAINTEXT,
) -> Session:
    """Authenticate both ends of ``stream``; raise HandshakeError to refuse.

    Also raises ConnectionLost if the stream ends. The caller closes the
    stream on failure.
    """
    raw = stream if isinstance(stream, ByteStream) else ByteStream(stream)
    try:
        with trio.fail_after(timeout):
            return await _exchange(
                raw,
                node_key=node_key,
                chain_id=chain_id,
                allowed=allowed,
                dialer=dialer,
                expected=expected,
                max_plaintext=max_plaintext,
            )
    except trio.TooSlowError as exc:
        raise HandshakeError(
            f"handshake took longer than {timeout} s", code="p2p.timeout"
        ) from exc


async def _exchange(
    raw: ByteStream,
    *,
    node_key: PrivateKey,
    chain_id: str,
    allowed: Collection[bytes],
    dialer: bool,
    expected: bytes | None,
    max_plaintext: int,
) -> Session:
    eph = EphemeralKey.generate()
    mine = Hello(VERSION, chain_id, eph.public, node_key.public)
    await raw.send_all(mine.encode())

    (size,) = HELLO_PREFIX.unpack(await raw.receive_exactly(HELLO_PREFIX.size))
    if size > MAX_HELLO:
        raise HandshakeError(f"hello of {size} bytes", code="p2p.bad_hello")
    theirs = Hello.decode(await raw.receive_exactly(size))
    check_hello(
        theirs,
        chain_id=chain_id,
        own_key=node_key.public,
        allowed=allowed,
        expected=expected,
    )

    rx, tx = session_keys(eph, theirs.eph, dialer=dialer)
    client, server = (mine, theirs) if dialer else (theirs, mine)
    my_role, peer_role = (CLIENT, SERVER) if dialer else (SERVER, CLIENT)
    sealer = FrameSealer(tx)
    signature = node_key.sign(
        TAG_HANDSHAKE, chain_id, transcript(client, server, my_role)
    )
    await raw.send_all(sealer.header + sealer.seal(signature))

    header = await raw.receive_exactly(HEADER_SIZE)
    try:
        # Until the peer is authenticated, accept no frame larger than a
        # signature, so a stranger cannot make us buffer megabytes.
        opener = FrameOpener(rx, header, max_plaintext=SIGNATURE_SIZE)
        framed = FramedStream(raw, sealer, opener)
        peer_signature = await framed.receive()
    except ProtocolError as exc:
        raise HandshakeError(
            f"authentication frame refused ({exc.code}): the peer does not hold"
            " its announced ephemeral key, or the bytes were altered",
            code="p2p.bad_auth",
        ) from exc
    try:
        verify(
            theirs.node,
            TAG_HANDSHAKE,
            chain_id,
            transcript(client, server, peer_role),
            peer_signature,
        )
    except ChainError as exc:
        raise HandshakeError(
            f"transcript signature refused: {exc.message}", code="p2p.bad_signature"
        ) from exc
    opener.max_frame = frame_bound(max_plaintext)
    return Session(peer_key=theirs.node, framed=framed, dialer=dialer)
