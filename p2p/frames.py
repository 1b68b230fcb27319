"""Length-prefixed frames, encrypted with libsodium's secretstream.

A frame on the wire is ``length (u32, big-endian) || ciphertext`` where
``ciphertext = secretstream_push(plaintext, ad=length bytes, tag=MESSAGE)``
and ``length == len(ciphertext) == len(plaintext) + 17``.

Invariants:

1. The length is checked against the bound before a single byte of the body
   is read, so a peer cannot make us buffer more than ``max_frame`` bytes.
2. Each direction has its own secretstream state (its own key and header).
   secretstream numbers its messages internally, so a replayed, reordered,
   dropped-then-resent or altered frame fails authentication.
3. After one failure the state is poisoned: every later call raises, because
   secretstream cannot resynchronise and the peer is not to be trusted.
"""

from __future__ import annotations

import struct
from typing import NoReturn

import nacl.bindings as sodium
import nacl.exceptions
import trio

from chain.encoding import MAX_ENCODED
from p2p.errors import ConnectionLost, ProtocolError

HEADER_SIZE = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES  # 24
KEY_SIZE = sodium.crypto_secretstream_xchacha20poly1305_KEYBYTES  # 32
OVERHEAD = sodium.crypto_secretstream_xchacha20poly1305_ABYTES  # 17
TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
PREFIX = struct.Struct(">I")

# The largest plaintext: one canonical message at its encoding limit.
MAX_PLAINTEXT = MAX_ENCODED
RECEIVE_CHUNK = 64 * 1024


def frame_bound(max_plaintext: int) -> int:
    """The largest ``length`` field accepted for ``max_plaintext``."""
    return max_plaintext + OVERHEAD


class FrameSealer:
    """The sending half of one direction: plaintext in, wire bytes out."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError("secretstream key must be 32 bytes")
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        self.header: bytes = sodium.crypto_secretstream_xchacha20poly1305_init_push(
            self._state, key
        )

    def seal(self, plaintext: bytes) -> bytes:
        prefix = PREFIX.pack(len(plaintext) + OVERHEAD)
        ciphertext = sodium.crypto_secretstream_xchacha20poly1305_push(
            self._state, plaintext, prefix, TAG_MESSAGE
        )
        return prefix + ciphertext


class FrameOpener:
    """The receiving half of one direction: checks lengths, opens frames."""

    def __init__(self, key: bytes, header: bytes, *, max_plaintext: int) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError("secretstream key must be 32 bytes")
        if len(header) != HEADER_SIZE:
            raise ProtocolError("bad secretstream header", code="p2p.bad_frame")
        self.max_frame = frame_bound(max_plaintext)
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        self._broken: ProtocolError | None = None
        try:
            sodium.crypto_secretstream_xchacha20poly1305_init_pull(
                self._state, header, key
            )
        except nacl.exceptions.CryptoError as exc:
            raise ProtocolError(
                "bad secretstream header", code="p2p.bad_frame"
            ) from exc

    def body_length(self, prefix: bytes) -> int:
        """Parse and bound-check a length prefix; raise before any body is read."""
        self._check_usable()
        length: int = PREFIX.unpack(prefix)[0]
        if length > self.max_frame:
            self._fail(
                ProtocolError(
                    f"frame of {length} bytes, limit {self.max_frame}",
                    code="p2p.frame_too_large",
                )
            )
        if length < OVERHEAD:
            self._fail(ProtocolError(f"frame of {length} bytes", code="p2p.bad_frame"))
        return length

    def open(self, prefix: bytes, ciphertext: bytes) -> bytes:
        self._check_usable()
        try:
            plaintext, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(
                self._state, ciphertext, prefix
            )
        except nacl.exceptions.CryptoError as exc:
            self._fail(
                ProtocolError("frame failed authentication", code="p2p.decrypt_failed"),
                cause=exc,
            )
        if tag != TAG_MESSAGE:
            # We never send another tag; a peer that does is not one of ours.
            self._fail(ProtocolError(f"frame tag {tag}", code="p2p.bad_frame"))
        return bytes(plaintext)

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise ProtocolError(
                "the incoming stream failed earlier", code=self._broken.code
            )

    def _fail(
        self, error: ProtocolError, cause: BaseException | None = None
    ) -> NoReturn:
        self._broken = error
        raise error from cause


class ByteStream:
    """A trio stream with exact reads, byte counters and our own errors."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self._buffer = bytearray()
        self.bytes_in = 0
        self.bytes_out = 0

    async def receive_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            wanted = max(size - len(self._buffer), RECEIVE_CHUNK)
            try:
                chunk = await self.stream.receive_some(wanted)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise ConnectionLost(str(exc) or "stream broke") from exc
            except OSError as exc:
                raise ConnectionLost(str(exc)) from exc
            if not chunk:
                raise ConnectionLost("the peer closed the stream", code="p2p.closed")
            self.bytes_in += len(chunk)
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def send_all(self, data: bytes) -> None:
        try:
            await self.stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ConnectionLost(str(exc) or "stream broke") from exc
        except OSError as exc:
            raise ConnectionLost(str(exc)) from exc
        self.bytes_out += len(data)

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self.stream)


class FramedStream:
    """An authenticated, encrypted message pipe over one ``ByteStream``.

    ``send`` may be called by one task at a time, ``receive`` by one task at
    a time; the two directions are independent.
    """

    def __init__(
        self, raw: ByteStream, sealer: FrameSealer, opener: FrameOpener
    ) -> None:
        self.raw = raw
        self._sealer = sealer
        self._opener = opener

    async def send(self, plaintext: bytes) -> None:
        await self.raw.send_all(self._sealer.seal(plaintext))

    async def receive(self) -> bytes:
        prefix = await self.raw.receive_exactly(PREFIX.size)
        length = self._opener.body_length(prefix)
        ciphertext = await self.raw.receive_exactly(length)
        return self._opener.open(prefix, ciphertext)

    async def aclose(self) -> None:
        await self.raw.aclose()
