"""The write-ahead log: replay, refusal to sign conflicts, and the damage
policy (an incomplete final record is cut off; anything else stops)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.wal import (
    HEADER,
    MAGIC,
    FileWalStorage,
    MemoryWalStorage,
    WalConflict,
    WalCorrupt,
    WalRecord,
    WriteAheadLog,
)
from tests.consensus.support import PRECOMMIT, PREVOTE, B, C, proposal, vote

RECORDS = [
    WalRecord(proposal(0, 1, 3, B), b"block-bytes"),
    WalRecord(vote(0, PREVOTE, 1, 3, B)),
    WalRecord(vote(0, PRECOMMIT, 1, 3, B)),
    WalRecord(vote(0, PREVOTE, 2, 0, None)),
]


def filled(storage: MemoryWalStorage | FileWalStorage) -> WriteAheadLog:
    wal = WriteAheadLog.open(storage)
    for record in RECORDS:
        wal.append(record)
    return wal


def test_records_survive_reopening_a_file(tmp_path: Path) -> None:
    path = tmp_path / "wal"
    storage = FileWalStorage(path)
    filled(storage)
    storage.close()
    reopened = WriteAheadLog.open(FileWalStorage(path))
    assert reopened.records == RECORDS
    assert reopened.torn_tail == 0
    assert reopened.last_signed == (2, 0, 2)
    assert reopened.at_height(1) == RECORDS[:3]
    assert path.read_bytes().startswith(MAGIC)


def test_new_log_holds_only_the_magic(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "wal"
    wal = WriteAheadLog.open(FileWalStorage(path))
    assert wal.records == [] and wal.last_signed is None
    assert path.read_bytes() == MAGIC


def test_same_message_is_reused_not_signed_again() -> None:
    wal = filled(MemoryWalStorage())
    again = vote(0, PREVOTE, 1, 3, B, timestamp=99_999)
    assert wal.check(again) == RECORDS[1]
    assert wal.check(proposal(0, 1, 3, B)) == RECORDS[0]


def test_conflicting_vote_is_refused() -> None:
    wal = filled(MemoryWalStorage())
    with pytest.raises(WalConflict, match="already signed another message"):
        wal.check(vote(0, PRECOMMIT, 1, 3, None))
    with pytest.raises(WalConflict):
        wal.check(proposal(0, 1, 3, C))
    with pytest.raises(WalConflict):
        wal.append(WalRecord(vote(0, PREVOTE, 2, 0, C)))


def test_going_back_in_height_round_or_step_is_refused() -> None:
    wal = filled(MemoryWalStorage())
    with pytest.raises(WalConflict, match="after height=2 round=0 step=2"):
        wal.check(vote(0, PREVOTE, 1, 7, C))
    with pytest.raises(WalConflict):
        wal.check(proposal(0, 2, 0, C))
    assert wal.check(vote(0, PRECOMMIT, 2, 0, None)) is None
    assert wal.check(vote(0, PREVOTE, 2, 1, C)) is None


def test_torn_header_is_cut_off_and_reported() -> None:
    storage = MemoryWalStorage()
    filled(storage)
    good = len(storage.data)
    storage.append(WalRecord(vote(0, PRECOMMIT, 2, 0, None)).frame()[:7])
    wal = WriteAheadLog.open(storage)
    assert wal.records == RECORDS and wal.torn_tail == 7
    assert len(storage.data) == good
    wal.append(WalRecord(vote(0, PRECOMMIT, 2, 0, None)))
    assert WriteAheadLog.open(storage).records[-1].message.type == PRECOMMIT


def test_torn_payload_is_cut_off_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "wal"
    storage = FileWalStorage(path)
    filled(storage)
    storage.close()
    frame = WalRecord(vote(0, PRECOMMIT, 2, 0, None)).frame()
    with path.open("ab") as handle:
        handle.write(frame[: HEADER.size + 5])
    wal = WriteAheadLog.open(FileWalStorage(path))
    assert wal.records == RECORDS and wal.torn_tail == HEADER.size + 5


def damaged(offset_from_end: int, value: int | None = None) -> MemoryWalStorage:
    storage = MemoryWalStorage("test-wal")
    filled(storage)
    i = len(storage.data) - offset_from_end
    storage.data[i] = (storage.data[i] ^ 0xFF) if value is None else value
    return storage


def test_damaged_last_record_stops_instead_of_truncating() -> None:
    storage = damaged(3)
    before = storage.read()
    with pytest.raises(WalCorrupt, match="record checksum mismatch") as caught:
        WriteAheadLog.open(storage)
    assert "test-wal" in str(caught.value) and "stops" in str(caught.value)
    assert storage.read() == before  # nothing was cut


def test_damaged_length_is_not_mistaken_for_a_torn_tail() -> None:
    storage = MemoryWalStorage()
    filled(storage)
    last = RECORDS[-1].frame()
    start = len(storage.data) - len(last)
    storage.data[start] = 0x7F  # claims a huge payload that "runs past the end"
    with pytest.raises(WalCorrupt, match="header checksum"):
        WriteAheadLog.open(storage)


def test_zero_filled_tail_stops() -> None:
    storage = MemoryWalStorage()
    filled(storage)
    storage.append(bytes(64))
    with pytest.raises(WalCorrupt):
        WriteAheadLog.open(storage)


def test_bad_magic_stops() -> None:
    storage = MemoryWalStorage()
    storage.append(b"NOTAWAL!" + bytes(20))
    with pytest.raises(WalCorrupt, match="bad magic"):
        WriteAheadLog.open(storage)


def test_compact_keeps_recent_heights_and_the_last_record() -> None:
    storage = MemoryWalStorage()
    wal = filled(storage)
    wal.compact(2)
    assert WriteAheadLog.open(storage).records == RECORDS[3:]
    wal.compact(9)
    reopened = WriteAheadLog.open(storage)
    assert reopened.records == RECORDS[3:]
    assert reopened.last_signed == (2, 0, 2)


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_any_cut_keeps_exactly_the_complete_records(data: st.DataObject) -> None:
    storage = MemoryWalStorage()
    filled(storage)
    full = storage.read()
    cut = data.draw(st.integers(len(MAGIC), len(full)))
    storage.data = bytearray(full[:cut])
    wal = WriteAheadLog.open(storage)
    ends, offset = [], len(MAGIC)
    for record in RECORDS:
        offset += len(record.frame())
        ends.append(offset)
    complete = sum(1 for end in ends if end <= cut)
    assert wal.records == RECORDS[:complete]


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_any_changed_byte_of_a_complete_log_stops(data: st.DataObject) -> None:
    storage = MemoryWalStorage()
    filled(storage)
    i = data.draw(st.integers(0, len(storage.data) - 1))
    delta = data.draw(st.integers(1, 255))
    storage.data[i] ^= delta
    with pytest.raises(WalCorrupt):
        WriteAheadLog.open(storage)
