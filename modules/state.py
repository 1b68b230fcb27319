"""Module state: a key-value view confined to one module's prefix.

Invariants:

1. A module sees only keys under ``<module>/``; it addresses them by str
   paths (``record/land/42``), stored as UTF-8 after the prefix.
2. Values are canonical msgpack (chain.encoding), so the bytes, and with
   them the state root, depend only on the value.
3. Iteration is in key byte order, the only order state ever has.
4. ``TxBuffer`` records the writes of one transaction over a base; they reach
   the base only on ``commit``, so a failed transaction leaves no trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from chain import encoding

_DELETED = None


class KV(Protocol):
    """The raw byte store a view reads and writes (an overlay of the node)."""

    def get(self, key: bytes) -> bytes | None: ...

    def set(self, key: bytes, value: bytes) -> None: ...

    def delete(self, key: bytes) -> None: ...

    def iter_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]: ...


class DictKV:
    """An in-memory KV, for tests and for building a genesis state."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        self.data[key] = value

    def delete(self, key: bytes) -> None:
        self.data.pop(key, None)

    def iter_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for key in sorted(k for k in self.data if k.startswith(prefix)):
            yield key, self.data[key]


class TxBuffer:
    """Writes of one transaction, read-through to ``base``; commit or drop."""

    def __init__(self, base: KV) -> None:
        self.base = base
        self.writes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        return self.base.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        self.writes[key] = value

    def delete(self, key: bytes) -> None:
        self.writes[key] = _DELETED

    def iter_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        local = sorted(k for k in self.writes if k.startswith(prefix))
        base = self.base.iter_prefix(prefix)
        pending = next(base, None)
        for key in local:
            while pending is not None and pending[0] < key:
                yield pending
                pending = next(base, None)
            if pending is not None and pending[0] == key:
                pending = next(base, None)
            value = self.writes[key]
            if value is not None:
                yield key, value
        while pending is not None:
            yield pending
            pending = next(base, None)

    def commit(self) -> None:
        for key in sorted(self.writes):
            value = self.writes[key]
            if value is None:
                self.base.delete(key)
            else:
                self.base.set(key, value)
        self.writes.clear()


class State:
    """One module's view of the state: str paths, canonical values."""

    def __init__(self, kv: KV, module: str) -> None:
        self.kv = kv
        self.prefix = module.encode() + b"/"

    def _key(self, path: str) -> bytes:
        return self.prefix + path.encode("utf-8")

    def get(self, path: str) -> Any:
        raw = self.kv.get(self._key(path))
        return None if raw is None else encoding.decode_stored(raw)

    def has(self, path: str) -> bool:
        return self.kv.get(self._key(path)) is not None

    def put(self, path: str, value: Any) -> None:
        self.kv.set(self._key(path), encoding.encode(value))

    def delete(self, path: str) -> None:
        self.kv.delete(self._key(path))

    def scan(self, prefix: str) -> Iterator[tuple[str, Any]]:
        """(path, value) under ``prefix`` in key order."""
        cut = len(self.prefix)
        for key, raw in self.kv.iter_prefix(self._key(prefix)):
            yield key[cut:].decode("utf-8"), encoding.decode_stored(raw)

    def next_id(self, counter: str) -> int:
        """A per-module sequence: 1, 2, 3... stored under ``seq/<counter>``."""
        value = (self.get(f"seq/{counter}") or 0) + 1
        self.put(f"seq/{counter}", value)
        return int(value)


def time_key(ms: int) -> str:
    """A fixed-width time so that key order is time order."""
    return f"{ms:016d}"
