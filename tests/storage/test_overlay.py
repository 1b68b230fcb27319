"""Overlays: per-block and per-transaction speculative writes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.errors import OverlayMisuse
from storage.overlay import MemoryState, Overlay, ReadCache

BASE = {b"a/1": b"x", b"a/3": b"y", b"b/1": b"z"}


def test_reads_see_local_writes_then_the_base() -> None:
    block = Overlay(MemoryState(BASE))
    assert block.get(b"a/1") == b"x"
    block.set(b"a/1", b"new")
    block.delete(b"a/3")
    block.set(b"a/2", b"added")
    assert block.get(b"a/1") == b"new"
    assert block.get(b"a/3") is None
    assert block.get(b"a/2") == b"added"
    assert block.get(b"missing") is None
    assert list(block.iter_prefix(b"a/")) == [(b"a/1", b"new"), (b"a/2", b"added")]
    assert list(block.iter_prefix()) == [
        (b"a/1", b"new"),
        (b"a/2", b"added"),
        (b"b/1", b"z"),
    ]


def test_changes_are_in_key_order_whatever_the_write_order() -> None:
    block = Overlay(MemoryState())
    block.set(b"c", b"3")
    block.delete(b"a")
    block.set(b"b", b"2")
    assert list(block.changes().items()) == [(b"a", None), (b"b", b"2"), (b"c", b"3")]
    assert len(block) == 3


def test_a_failed_transaction_is_discarded_a_good_one_committed() -> None:
    block = Overlay(MemoryState(BASE))
    failed = block.child()
    failed.set(b"a/1", b"bad")
    failed.delete(b"b/1")
    assert failed.get(b"a/1") == b"bad"
    failed.discard()
    assert failed.changes() == {}
    assert block.changes() == {}
    good = block.child()
    good.set(b"a/9", b"ok")
    good.delete(b"b/1")
    assert block.get(b"a/9") is None
    good.commit_into(block)
    assert good.changes() == {}
    assert block.changes() == {b"a/9": b"ok", b"b/1": None}
    assert list(block.iter_prefix(b"b/")) == []


def test_commit_into_anything_but_the_base_is_refused() -> None:
    block = Overlay(MemoryState())
    other = Overlay(MemoryState())
    with pytest.raises(OverlayMisuse) as caught:
        block.child().commit_into(other)
    assert caught.value.code == "storage.overlay_misuse"


def test_keys_and_values_must_be_bytes() -> None:
    block = Overlay(MemoryState())
    with pytest.raises(TypeError):
        block.set(b"k", bytearray(b"v"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        block.set("k", b"v")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        block.delete("k")  # type: ignore[arg-type]


def test_iteration_takes_local_writes_at_the_call() -> None:
    block = Overlay(MemoryState(BASE))
    block.set(b"a/2", b"w")
    iterator = block.iter_prefix(b"a/")
    block.set(b"a/0", b"late")
    assert [key for key, _ in iterator] == [b"a/1", b"a/2", b"a/3"]


operations = st.lists(
    st.tuples(
        st.sampled_from(["set", "delete", "commit", "discard"]),
        st.binary(max_size=3),
        st.binary(max_size=3),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.binary(max_size=3), st.binary(max_size=3)), operations)
def test_nested_overlays_match_a_dict_model(
    base: dict[bytes, bytes], ops: list[tuple[str, bytes, bytes]]
) -> None:
    block = Overlay(MemoryState(base))
    tx = block.child()
    committed = dict(base)
    pending = dict(base)
    for op, key, value in ops:
        if op == "set":
            tx.set(key, value)
            pending[key] = value
        elif op == "delete":
            tx.delete(key)
            pending.pop(key, None)
        elif op == "commit":
            tx.commit_into(block)
            committed = dict(pending)
        else:
            tx.discard()
            pending = dict(committed)
        for view, model in ((tx, pending), (block, committed)):
            assert view.get(key) == model.get(key)
    for view, model in ((tx, pending), (block, committed)):
        for prefix in (b"", b"\x00", b"\x01"):
            expected = sorted(
                (key, value) for key, value in model.items() if key.startswith(prefix)
            )
            assert list(view.iter_prefix(prefix)) == expected
    applied = dict(base)
    for key, change in block.changes().items():
        if change is None:
            applied.pop(key, None)
        else:
            applied[key] = change
    assert applied == committed


class CountingState(MemoryState):
    def __init__(self, values: dict[bytes, bytes]) -> None:
        super().__init__(values)
        self.reads: list[bytes] = []

    def get(self, key: bytes, /) -> bytes | None:
        self.reads.append(key)
        return super().get(key)


def test_a_read_cache_reads_each_key_from_its_base_once() -> None:
    base = CountingState({b"a": b"1", b"b": b"2"})
    reads = ReadCache(base)
    block = Overlay(reads)
    for n in range(3):
        tx = block.child()
        assert tx.get(b"a") == (b"1" if n == 0 else b"%d" % (n - 1))
        assert tx.get(b"zz") is None
        tx.set(b"a", b"%d" % n)
        tx.commit_into(block)
    assert block.get(b"a") == b"2"  # the block's own write, not the cache
    assert base.reads == [b"a", b"zz"]
    # What was read is what the changed keys held before the block.
    assert reads.values == {b"a": b"1", b"zz": None}
    assert list(reads.iter_prefix(b"")) == [(b"a", b"1"), (b"b", b"2")]
