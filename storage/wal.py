"""The consensus write-ahead log: every message this validator signs.

The driver appends a record, and the append is fsynced, *before* the signed
message leaves the node. After a crash the log is replayed, and the driver
refuses to sign anything that conflicts with it, so a restart can never make
an honest validator equivocate.

File format (all integers big-endian)::

    file    := magic record*
    magic   := "EGOVWAL1"                      8 bytes
    record  := length  length_crc  payload_crc  payload
    length      u32   size of payload in bytes (at most MAX_RECORD)
    length_crc  u32   CRC-32 (zlib) of the 4 length bytes
    payload_crc u32   CRC-32 (zlib) of the payload
    payload     the canonical msgpack map
                {"block": bin | nil, "height": int, "message": map,
                 "round": int, "step": int}
                step 1 = proposal, 2 = prevote, 3 = precommit; "message" is
                the signed Proposal or Vote as chain.votes encodes it, and
                "block" the proposed block's bytes (proposals only).

The last record holds the last signed (height, round, step): records are
appended in strictly increasing (height, round, step) order, one per step.

Damage policy. A crash in the middle of an append leaves an *incomplete
final record*: fewer than 12 header bytes at the end of the file, or a whole
header whose length checksum is right but whose payload runs past the end
of the file. That record was never fsynced, so its message was never sent;
opening the log cuts it off and reports how many bytes went (``torn_tail``,
which the driver logs). Anything else is damage and raises WalCorrupt,
which stops the node: a checksum mismatch, a length over the limit, a
record that does not decode, a bad magic, and also a tail of zero bytes
(some filesystems leave those after a crash, but a zeroed header cannot be
told apart from a damaged one that hid records we did send).
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from chain import encoding
from chain.errors import ChainError
from chain.fields import as_map, get_int
from chain.votes import Proposal, Vote, VoteType
from storage.errors import StorageError

MAGIC = b"EGOVWAL1"
HEADER = struct.Struct(">III")
MAX_RECORD = 16 * 1024 * 1024
STEP_PROPOSAL, STEP_PREVOTE, STEP_PRECOMMIT = 1, 2, 3


class WalError(StorageError):
    code = "storage.wal"


class WalCorrupt(WalError):
    """The log is damaged somewhere other than an incomplete final record."""

    code = "storage.wal_corrupt"

    def __init__(self, where: str, offset: int, reason: str) -> None:
        super().__init__(
            f"write-ahead log {where} is damaged at byte {offset}: {reason}. "
            "The node stops instead of guessing what this validator signed. "
            "Keep a copy of the file. Only if you are certain this validator "
            f"signed nothing recorded after byte {offset} (for example from "
            "its peers' logs), truncate the file there and start again."
        )
        self.where = where
        self.offset = offset
        self.reason = reason


class WalConflict(WalError):
    """Signing ``message`` would contradict what the log says was signed."""

    code = "storage.wal_conflict"

    def __init__(self, message: Vote | Proposal, reason: str) -> None:
        super().__init__(reason)
        self.message = message
        self.reason = reason


def step_of(message: Vote | Proposal) -> int:
    if isinstance(message, Proposal):
        return STEP_PROPOSAL
    return STEP_PREVOTE if message.type == VoteType.PREVOTE else STEP_PRECOMMIT


@dataclass(frozen=True)
class WalRecord:
    message: Vote | Proposal
    block: bytes | None = None  # the proposed block, for proposals

    @property
    def position(self) -> tuple[int, int, int]:
        """(height, round, step): the order records are appended in."""
        m = self.message
        return (m.height, m.round, step_of(m))

    def payload(self) -> bytes:
        height, round, step = self.position
        return encoding.encode(
            {
                "block": self.block,
                "height": height,
                "message": self.message.to_value(),
                "round": round,
                "step": step,
            }
        )

    @classmethod
    def from_payload(cls, data: bytes) -> WalRecord:
        m = as_map(
            encoding.decode(data, max_size=MAX_RECORD),
            "wal record",
            ("block", "height", "message", "round", "step"),
        )
        step = get_int(m, "step", STEP_PROPOSAL, STEP_PRECOMMIT)
        message: Vote | Proposal
        if step == STEP_PROPOSAL:
            message = Proposal.from_value(m["message"])
        else:
            message = Vote.from_value(m["message"])
        block = m["block"]
        if block is not None and not isinstance(block, bytes):
            raise ValueError("block must be bytes or nil")
        record = cls(message, block)
        if record.position != (m["height"], m["round"], step):
            raise ValueError("height, round or step disagree with the message")
        return record

    def frame(self) -> bytes:
        payload = self.payload()
        length = struct.pack(">I", len(payload))
        return (
            HEADER.pack(len(payload), zlib.crc32(length), zlib.crc32(payload)) + payload
        )


class WalStorage(Protocol):
    """Where the log's bytes live. Every method is durable when it returns."""

    name: str

    def read(self) -> bytes: ...

    def append(self, data: bytes) -> None: ...

    def truncate(self, size: int) -> None: ...

    def replace(self, data: bytes) -> None:
        """Atomically make ``data`` the whole content."""
        ...


class FileWalStorage:
    """A file, appended with O_APPEND and fsynced on every write."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        self._fd: int | None = None

    def read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        return self._fd

    def append(self, data: bytes) -> None:
        fd = self._open()
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)

    def truncate(self, size: int) -> None:
        fd = self._open()
        os.ftruncate(fd, size)
        os.fsync(fd)

    def replace(self, data: bytes) -> None:
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class MemoryWalStorage:
    """Bytes in memory, for tests and the simulated cluster; they survive a
    simulated crash because the simulation keeps the object."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.data = bytearray()

    def read(self) -> bytes:
        return bytes(self.data)

    def append(self, data: bytes) -> None:
        self.data += data

    def truncate(self, size: int) -> None:
        del self.data[size:]

    def replace(self, data: bytes) -> None:
        self.data = bytearray(data)


class WriteAheadLog:
    """The replayed log; open it with ``WriteAheadLog.open``."""

    def __init__(
        self, storage: WalStorage, records: list[WalRecord], torn_tail: int
    ) -> None:
        self.storage = storage
        self.records = records
        self.torn_tail = torn_tail  # bytes of an incomplete final record cut off
        self._index = {r.position: r for r in records}

    @classmethod
    def open(cls, storage: WalStorage) -> WriteAheadLog:
        """Replay the log; raise WalCorrupt if it is damaged (see above)."""
        data = storage.read()
        if not data:
            storage.replace(MAGIC)
            return cls(storage, [], 0)
        records, end = _replay(storage.name, data)
        if end < len(data):
            storage.truncate(end)
        return cls(storage, records, len(data) - end)

    @property
    def last_signed(self) -> tuple[int, int, int] | None:
        """(height, round, step) of the last message signed, if any."""
        return self.records[-1].position if self.records else None

    def at_height(self, height: int) -> list[WalRecord]:
        return [r for r in self.records if r.message.height == height]

    def check(self, message: Vote | Proposal) -> WalRecord | None:
        """Before signing ``message``: the record already signed for it (sign
        nothing, reuse that one), or None (new, safe to sign). Raises
        WalConflict if signing it would contradict the log."""
        position = (message.height, message.round, step_of(message))
        existing = self._index.get(position)
        if existing is not None:
            if _same_content(existing.message, message):
                return existing
            raise WalConflict(
                message,
                f"already signed another message at height={position[0]} "
                f"round={position[1]} step={position[2]}",
            )
        last = self.last_signed
        if last is not None and position < last:
            raise WalConflict(
                message,
                f"would sign height={position[0]} round={position[1]} "
                f"step={position[2]} after height={last[0]} round={last[1]} "
                f"step={last[2]}",
            )
        return None

    def append(self, record: WalRecord) -> None:
        """Persist ``record`` (fsynced) before its message is sent."""
        if self.check(record.message) is not None:
            return
        self.storage.append(record.frame())
        self.records.append(record)
        self._index[record.position] = record

    def compact(self, keep_from_height: int) -> None:
        """Drop records below ``keep_from_height``, always keeping the last
        one (it holds the last signed position); atomic."""
        if not self.records:
            return
        kept = [r for r in self.records if r.message.height >= keep_from_height]
        if not kept:
            kept = [self.records[-1]]
        if len(kept) == len(self.records):
            return
        self.storage.replace(MAGIC + b"".join(r.frame() for r in kept))
        self.records = kept
        self._index = {r.position: r for r in kept}


def _same_content(a: Vote | Proposal, b: Vote | Proposal) -> bool:
    if isinstance(a, Proposal) and isinstance(b, Proposal):
        return (a.block_hash, a.pol_round) == (b.block_hash, b.pol_round)
    if isinstance(a, Vote) and isinstance(b, Vote):
        return a.block_hash == b.block_hash
    return False


def _replay(where: str, data: bytes) -> tuple[list[WalRecord], int]:
    """Records of ``data`` and the offset where the complete ones end."""
    if data[: len(MAGIC)] != MAGIC:
        raise WalCorrupt(where, 0, "not a write-ahead log (bad magic)")
    records: list[WalRecord] = []
    offset = len(MAGIC)
    while offset < len(data):
        rest = len(data) - offset
        if rest < HEADER.size:
            break  # incomplete header at the end: a torn append
        length, length_crc, payload_crc = HEADER.unpack_from(data, offset)
        if zlib.crc32(struct.pack(">I", length)) != length_crc:
            raise WalCorrupt(where, offset, "record header checksum mismatch")
        if length > MAX_RECORD:
            raise WalCorrupt(where, offset, f"record length {length} over limit")
        if rest < HEADER.size + length:
            break  # whole header, short payload at the end: a torn append
        start = offset + HEADER.size
        payload = data[start : start + length]
        if zlib.crc32(payload) != payload_crc:
            raise WalCorrupt(where, offset, "record checksum mismatch")
        try:
            record = WalRecord.from_payload(payload)
        except (ChainError, ValueError, KeyError) as exc:
            raise WalCorrupt(where, offset, f"undecodable record: {exc}") from exc
        if records and record.position <= records[-1].position:
            raise WalCorrupt(where, offset, "records out of signing order")
        records.append(record)
        offset = start + length
    return records, offset
