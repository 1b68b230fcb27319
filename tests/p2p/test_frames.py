"""Encrypted frames: round trips, replay/reorder/tamper refusal, size bounds."""

from __future__ import annotations

import os
import struct
import tracemalloc

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p.errors import ConnectionLost, P2PError, ProtocolError
from p2p.frames import (
    OVERHEAD,
    ByteStream,
    FramedStream,
    FrameOpener,
    FrameSealer,
)

LIMIT = 1024


def pair(limit: int = LIMIT) -> tuple[FrameSealer, FrameOpener]:
    key = os.urandom(32)
    sealer = FrameSealer(key)
    return sealer, FrameOpener(key, sealer.header, max_plaintext=limit)


def open_frame(opener: FrameOpener, frame: bytes) -> bytes:
    prefix, body = frame[:4], frame[4:]
    assert opener.body_length(prefix) == len(body)
    return opener.open(prefix, body)


def test_round_trip_in_order() -> None:
    sealer, opener = pair()
    messages = [b"", b"a", os.urandom(LIMIT)]
    frames = [sealer.seal(m) for m in messages]
    assert [len(f) for f in frames] == [4 + len(m) + OVERHEAD for m in messages]
    assert [open_frame(opener, f) for f in frames] == messages


def test_replayed_frame_is_refused() -> None:
    sealer, opener = pair()
    first = sealer.seal(b"vote")
    assert open_frame(opener, first) == b"vote"
    with pytest.raises(ProtocolError) as caught:
        open_frame(opener, first)
    assert caught.value.code == "p2p.decrypt_failed"


def test_reordered_frames_are_refused() -> None:
    sealer, opener = pair()
    first, second = sealer.seal(b"one"), sealer.seal(b"two")
    with pytest.raises(ProtocolError) as caught:
        open_frame(opener, second)
    assert caught.value.code == "p2p.decrypt_failed"
    del first


@pytest.mark.parametrize("position", [0, 1, 16, -1])
def test_tampered_body_byte_is_refused(position: int) -> None:
    sealer, opener = pair()
    frame = bytearray(sealer.seal(b"a proposal of some length"))
    frame[4 + position if position >= 0 else position] ^= 0x01
    with pytest.raises(ProtocolError) as caught:
        open_frame(opener, bytes(frame))
    assert caught.value.code == "p2p.decrypt_failed"


def test_tampered_length_prefix_is_refused() -> None:
    # The prefix is authenticated as additional data, so even a prefix that
    # a reader would accept cannot be changed.
    sealer, opener = pair()
    frame = sealer.seal(b"x")
    with pytest.raises(ProtocolError) as caught:
        opener.open(b"\x80" + frame[1:4], frame[4:])
    assert caught.value.code == "p2p.decrypt_failed"


def test_frame_for_another_key_is_refused() -> None:
    sealer, _ = pair()
    _, other = pair()
    with pytest.raises(ProtocolError):
        open_frame(other, sealer.seal(b"x"))


def test_stream_stays_broken_after_a_failure() -> None:
    sealer, opener = pair()
    first, second = sealer.seal(b"one"), sealer.seal(b"two")
    with pytest.raises(ProtocolError):
        open_frame(opener, second)
    with pytest.raises(ProtocolError) as caught:
        open_frame(opener, first)  # even the right frame: the peer is done
    assert caught.value.code == "p2p.decrypt_failed"


def test_length_below_overhead_is_a_bad_frame() -> None:
    _, opener = pair()
    with pytest.raises(ProtocolError) as caught:
        opener.body_length(struct.pack(">I", OVERHEAD - 1))
    assert caught.value.code == "p2p.bad_frame"


async def test_oversize_frame_refused_before_reading_the_body(
    autojump_clock: trio.abc.Clock,
) -> None:
    sealer, opener = pair()
    ours, theirs = trio.testing.memory_stream_pair()
    framed = FramedStream(ByteStream(ours), sealer, opener)
    # Only the prefix arrives: waiting for a body would hang until fail_after.
    await theirs.send_all(struct.pack(">I", 0xFFFF_FFFF))
    tracemalloc.start()
    try:
        with trio.fail_after(5), pytest.raises(ProtocolError) as caught:
            await framed.receive()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.code == "p2p.frame_too_large"
    assert trio.current_time() == 0  # refused at once, nothing awaited
    assert peak < 256 * 1024


async def test_framed_stream_round_trip_and_eof() -> None:
    key_ab, key_ba = os.urandom(32), os.urandom(32)
    left, right = trio.testing.memory_stream_pair()
    sealer_ab, sealer_ba = FrameSealer(key_ab), FrameSealer(key_ba)
    a = FramedStream(
        ByteStream(left),
        sealer_ab,
        FrameOpener(key_ba, sealer_ba.header, max_plaintext=LIMIT),
    )
    b = FramedStream(
        ByteStream(right),
        sealer_ba,
        FrameOpener(key_ab, sealer_ab.header, max_plaintext=LIMIT),
    )
    with trio.fail_after(5):
        await a.send(b"ping")
        await b.send(b"pong")
        assert await b.receive() == b"ping"
        assert await a.receive() == b"pong"
        assert a.raw.bytes_out == b.raw.bytes_in == 4 + 4 + OVERHEAD
        await a.send(b"cut short")
        await left.aclose()
        assert await b.receive() == b"cut short"
        with pytest.raises(ConnectionLost) as caught:
            await b.receive()
    assert caught.value.code == "p2p.closed"


class Scripted(trio.abc.Stream):
    """A stream that yields the given chunks, then end of file."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = list(chunks)

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        if not self._chunks:
            return b""
        chunk = self._chunks.pop(0)
        if max_bytes is not None and len(chunk) > max_bytes:
            self._chunks.insert(0, chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        return chunk

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


def read_all(key: bytes, header: bytes, chunks: list[bytes]) -> list[bytes]:
    """Read frames until an error; only our own errors may come out."""
    got: list[bytes] = []

    async def main() -> None:
        framed = FramedStream(
            ByteStream(Scripted(chunks)),
            FrameSealer(os.urandom(32)),
            FrameOpener(key, header, max_plaintext=LIMIT),
        )
        while True:
            got.append(await framed.receive())

    with pytest.raises(P2PError):
        trio.run(main)
    return got


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8))
def test_fuzz_random_bytes_only_raise_our_errors(chunks: list[bytes]) -> None:
    sealer, _ = pair()
    assert read_all(os.urandom(32), sealer.header, chunks) == []


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.binary(max_size=40), min_size=1, max_size=5),
    st.data(),
)
def test_fuzz_mutated_streams_never_yield_altered_messages(
    messages: list[bytes], data: st.DataObject
) -> None:
    key = os.urandom(32)
    sealer = FrameSealer(key)
    wire = bytearray(b"".join(sealer.seal(m) for m in messages))
    mutation = data.draw(st.sampled_from(["flip", "cut", "duplicate", "none"]))
    if mutation == "flip":
        i = data.draw(st.integers(0, len(wire) - 1))
        wire[i] ^= data.draw(st.integers(1, 255))
    elif mutation == "cut":
        del wire[data.draw(st.integers(0, len(wire) - 1)) :]
    elif mutation == "duplicate":
        wire += wire[: 4 + len(messages[0]) + OVERHEAD]
    got = read_all(key, sealer.header, [bytes(wire)])
    # Whatever comes out is an untouched prefix of what was sent.
    assert got == messages[: len(got)]
    if mutation == "flip":
        assert len(got) < len(messages)
    elif mutation in ("duplicate", "none"):
        assert got == messages
