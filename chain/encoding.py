"""Canonical msgpack encoding (DESIGN.md §2).

Invariants:

1. Allowed values are ``None``, ``bool``, ``int`` within signed 64 bits,
   ``bytes``, ``str``, ``list`` (tuples encode as lists) and ``dict`` with
   ``str`` keys. Nothing else: no floats, no extension types.
2. Maps are written in sorted key order (by the UTF-8 bytes of the key), so
   every value has exactly one byte form.
3. Decoding accepts exactly those bytes: it decodes strictly, re-encodes and
   compares. Any difference (unsorted keys, a non-minimal integer, trailing
   bytes) is refused, so ``encode(decode(b)) == b`` for every accepted ``b``.
4. Sizes are checked before any decoding work is done.
5. ``decode_stored`` reads bytes a node wrote itself through ``encode`` (its
   state store): it decodes as strictly but skips the re-encoding. Those
   bytes are bound by the state root, which every node computes over the
   same bytes, and decoding is a function of the bytes alone; so skipping
   the canonical check there cannot make two nodes disagree. Input from
   anywhere else goes through ``decode``.
"""

from __future__ import annotations

from typing import Any

import msgpack

from chain.errors import EncodingError

MAX_ENCODED = 16 * 1024 * 1024  # a block is bounded lower (chain.block)
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
MAX_DEPTH = 32

Value = Any  # None | bool | int | bytes | str | list[Value] | dict[str, Value]

# Byte strings already known to be canonical (decoded and re-encoded equal,
# or produced by encode). Whether bytes are canonical depends on nothing but
# the bytes, so remembering the verdict skips the re-encoding when the same
# value comes back: a state record read again in the next transaction, a
# transaction seen by the mempool and then in a block. Bounded; emptied when
# full. Only small values are kept, since big ones (blocks) rarely repeat.
_KNOWN_CANONICAL: dict[bytes, None] = {}
_KNOWN_MAX_BYTES = 8 * 1024 * 1024  # the memo's whole size, keys included
_KNOWN_MAX_SIZE = 4096
_known_bytes = 0


def forget_known() -> None:
    """Drop the remembered byte strings (benchmarks model a fresh node)."""
    global _known_bytes
    _KNOWN_CANONICAL.clear()
    _known_bytes = 0


def _remember(data: bytes) -> None:
    global _known_bytes
    if len(data) <= _KNOWN_MAX_SIZE and data not in _KNOWN_CANONICAL:
        if _known_bytes + len(data) > _KNOWN_MAX_BYTES:
            forget_known()
        _KNOWN_CANONICAL[data] = None
        _known_bytes += len(data)


def _canonical(value: Value, depth: int) -> Value:
    """Return ``value`` with maps in sorted order; refuse what's not allowed.

    Exact-type checks come first because this runs for every value encoded;
    subclasses and refusals take the slower path below. A container that is
    already canonical (keys in order, nothing inside to change) is returned
    as it is, not copied. Sorting str keys by code point is sorting them by
    their UTF-8 bytes: UTF-8 preserves order.
    """
    if depth > MAX_DEPTH:
        raise EncodingError("nesting too deep", code="encoding.too_deep")
    kind = type(value)
    if kind is dict or kind is list or kind is tuple:
        if depth >= MAX_DEPTH and value:
            raise EncodingError("nesting too deep", code="encoding.too_deep")
        if kind is dict:
            keys = list(value)
            for key in keys:
                if type(key) is not str:
                    raise EncodingError(
                        f"map key must be str, not {type(key).__name__}",
                        code="encoding.map_key",
                    )
            ordered = sorted(keys)
            if ordered == keys:
                items = list(value.values())
                changed = False
            else:
                items = [value[key] for key in ordered]
                changed = True
        else:
            ordered = None
            items = list(value)
            changed = kind is tuple
        for i, item in enumerate(items):
            # Inline test for plain scalars: saves a call per scalar.
            t = type(item)
            if t is str or t is bytes or t is bool or item is None:
                continue
            if t is int and INT_MIN <= item <= INT_MAX:
                continue
            canonical = _canonical(item, depth + 1)
            if canonical is not item:
                items[i] = canonical
                changed = True
        if not changed:
            return value
        return items if ordered is None else dict(zip(ordered, items, strict=True))
    if kind is str or kind is bytes or kind is bool or value is None:
        return value
    if kind is int:
        if INT_MIN <= value <= INT_MAX:
            return value
        raise EncodingError(f"integer out of range: {value}", code="encoding.int_range")
    return _canonical_slow(value, depth)


def _canonical_slow(value: Value, depth: int) -> Value:
    if isinstance(value, (bool, bytes, str)):
        return value
    if isinstance(value, int):
        return _canonical(int(value), depth)
    if isinstance(value, (list, tuple)):
        return [_canonical(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return _canonical(dict(value), depth)
    if isinstance(value, float):
        raise EncodingError("floats are not allowed", code="encoding.float")
    if isinstance(value, msgpack.Timestamp):
        # msgpack decodes ext type -1 itself, without calling the ext hook.
        raise EncodingError("extension types are not allowed", code="encoding.ext")
    raise EncodingError(
        f"type not allowed: {type(value).__name__}", code="encoding.type"
    )


def encode(value: Value) -> bytes:
    """The canonical bytes of ``value``; raises EncodingError if not encodable."""
    try:
        packed: bytes = msgpack.packb(
            _canonical(value, 0), use_bin_type=True, strict_types=False
        )
    except UnicodeEncodeError as exc:  # a str holding lone surrogates
        raise EncodingError("string is not valid UTF-8", code="encoding.utf8") from exc
    if len(packed) > MAX_ENCODED:
        raise EncodingError(
            f"encoding is {len(packed)} bytes", code="encoding.too_large"
        )
    _remember(packed)
    return packed


def encode_array(items: list[bytes]) -> bytes:
    """The canonical bytes of a list whose items are already encoded.

    A msgpack array is its length header followed by its items' bytes, so
    ``encode_array([encode(v) for v in values]) == encode(values)``; the
    caller vouches that every item is canonical (it came from ``encode``).
    """
    n = len(items)
    if n < 16:
        header = bytes((0x90 | n,))
    elif n < 1 << 16:
        header = b"\xdc" + n.to_bytes(2, "big")
    else:
        header = b"\xdd" + n.to_bytes(4, "big")
    packed = header + b"".join(items)
    if len(packed) > MAX_ENCODED:
        raise EncodingError(
            f"encoding is {len(packed)} bytes", code="encoding.too_large"
        )
    return packed


def _refuse_ext(code: int, data: bytes) -> Value:
    raise EncodingError("extension types are not allowed", code="encoding.ext")


def decode(data: bytes, *, max_size: int = MAX_ENCODED) -> Value:
    """Decode canonical bytes; anything non-canonical raises EncodingError."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise EncodingError("input must be bytes", code="encoding.type")
    if len(data) > max_size:
        raise EncodingError(
            f"input is {len(data)} bytes, limit {max_size}", code="encoding.too_large"
        )
    data = bytes(data)
    value = _unpack(data)
    if len(data) <= _KNOWN_MAX_SIZE and data in _KNOWN_CANONICAL:
        return value
    if encode(value) != data:
        raise EncodingError("not in canonical form", code="encoding.non_canonical")
    return value


def decode_stored(data: bytes) -> Value:
    """Decode bytes this node wrote with ``encode`` (invariant 5)."""
    if len(data) > MAX_ENCODED:
        raise EncodingError(
            f"input is {len(data)} bytes, limit {MAX_ENCODED}",
            code="encoding.too_large",
        )
    return _unpack(data)


def _unpack(data: bytes) -> Value:
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            use_list=True,
            ext_hook=_refuse_ext,
        )
    except EncodingError:
        raise
    except msgpack.ExtraData as exc:
        raise EncodingError("trailing bytes", code="encoding.trailing") from exc
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        # Covers truncated input, invalid UTF-8, non-str map keys, bad formats.
        raise EncodingError(
            f"malformed msgpack: {exc}", code="encoding.malformed"
        ) from exc
    except RecursionError as exc:
        raise EncodingError("nesting too deep", code="encoding.too_deep") from exc
