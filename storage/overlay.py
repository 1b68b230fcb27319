"""Overlays for speculative execution.

A block is executed on an overlay over the committed state, and each of its
transactions on an overlay over the block's: a failed transaction's writes are
discarded, a successful one's are committed into the block's overlay, and the
block's overlay yields the changes that ``Store.prepare`` turns into a root.

Invariants:

1. An overlay never writes to its base; ``commit_into`` copies its writes
   into the base overlay it was made on, and nothing else.
2. Reads see the overlay's own writes first (a deletion hides the base's
   value), then the base's.
3. Every order is key order: ``changes()`` and ``iter_prefix`` are sorted by
   key bytes, so nothing depends on the order in which writes were made.

Creating an overlay allocates one dict and nothing more, since one is made
for every transaction.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from typing import Protocol

from storage.errors import OverlayMisuse


class StateReader(Protocol):
    """Anything an overlay can read through to."""

    def get(self, key: bytes, /) -> bytes | None: ...

    def iter_prefix(self, prefix: bytes = b"", /) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) whose key starts with ``prefix``, in key order."""
        ...


class MemoryState:
    """A fixed state held in memory, sorted once; a base for tests."""

    __slots__ = ("_values", "_keys")

    def __init__(self, values: Mapping[bytes, bytes] | None = None) -> None:
        self._values = dict(values or {})
        self._keys = sorted(self._values)

    def get(self, key: bytes, /) -> bytes | None:
        return self._values.get(key)

    def iter_prefix(self, prefix: bytes = b"", /) -> Iterator[tuple[bytes, bytes]]:
        start = bisect.bisect_left(self._keys, prefix)
        for key in self._keys[start:]:
            if not key.startswith(prefix):
                break
            yield key, self._values[key]


class ReadCache:
    """A base that remembers what was read through it: for one block.

    Transactions of a block read the same records again (a sender's key, an
    auction, a ballot), and each read of the committed state is a LevelDB
    lookup; here only the first is. ``values`` (None for an absent key) are
    also the values the keys the block changes had before, which spares the
    state tree reading their leaves (``Store.prepare``). The committed
    state does not change while a block executes, so a value read once
    stays true for it.
    """

    __slots__ = ("_base", "values")

    def __init__(self, base: StateReader) -> None:
        self._base = base
        self.values: dict[bytes, bytes | None] = {}

    def get(self, key: bytes, /) -> bytes | None:
        values = self.values
        value = values.get(key, _UNREAD)
        if value is _UNREAD:
            value = values[key] = self._base.get(key)
        return value  # type: ignore[return-value]

    def iter_prefix(self, prefix: bytes = b"", /) -> Iterator[tuple[bytes, bytes]]:
        return self._base.iter_prefix(prefix)


_UNREAD = object()


class Overlay:
    """Writes and deletions recorded on top of a base, read through to it."""

    __slots__ = ("_base", "_writes")

    def __init__(self, base: StateReader) -> None:
        self._base = base
        self._writes: dict[bytes, bytes | None] = {}

    @property
    def base(self) -> StateReader:
        return self._base

    def child(self) -> Overlay:
        """A new overlay on top of this one (for one transaction)."""
        return Overlay(self)

    def get(self, key: bytes, /) -> bytes | None:
        writes = self._writes
        if key in writes:
            return writes[key]
        return self._base.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        if type(key) is not bytes or type(value) is not bytes:
            raise TypeError("state keys and values are bytes")
        self._writes[key] = value

    def delete(self, key: bytes) -> None:
        if type(key) is not bytes:
            raise TypeError("state keys are bytes")
        self._writes[key] = None

    def changes(self) -> dict[bytes, bytes | None]:
        """The recorded writes (None for a deletion), in key order."""
        return dict(sorted(self._writes.items()))

    def __len__(self) -> int:
        return len(self._writes)

    def discard(self) -> None:
        """Forget every recorded write."""
        self._writes.clear()

    def commit_into(self, parent: Overlay) -> None:
        """Move the recorded writes into ``parent``, which must be the base."""
        if parent is not self._base:
            raise OverlayMisuse("an overlay commits only into its own base")
        parent._writes.update(self._writes)
        self._writes.clear()

    def iter_prefix(self, prefix: bytes = b"", /) -> Iterator[tuple[bytes, bytes]]:
        """Base and local entries under ``prefix``, merged in key order.

        The local writes are taken when this is called; writing while
        iterating does not change what the iteration yields from them.
        """
        local = sorted(
            (key, value)
            for key, value in self._writes.items()
            if key.startswith(prefix)
        )
        return _merge(self._base.iter_prefix(prefix), local)


def _merge(
    base: Iterator[tuple[bytes, bytes]], local: list[tuple[bytes, bytes | None]]
) -> Iterator[tuple[bytes, bytes]]:
    i = 0
    for key, value in base:
        while i < len(local) and local[i][0] < key:
            local_key, local_value = local[i]
            i += 1
            if local_value is not None:
                yield local_key, local_value
        if i < len(local) and local[i][0] == key:
            local_value = local[i][1]
            i += 1
            if local_value is not None:
                yield key, local_value
            continue
        yield key, value
    for local_key, local_value in local[i:]:
        if local_value is not None:
            yield local_key, local_value
