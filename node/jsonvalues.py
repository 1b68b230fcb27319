"""Decoded chain values as JSON: bytes become lowercase hex strings.

Canonical msgpack (DESIGN.md §2) holds maps with str keys, lists, str,
int, bool, None and bytes. JSON has no bytes, so the API writes them as hex;
everything else maps one to one. Transaction bytes submitted to the API stay
hex of the raw encoding and are never rebuilt from JSON, so this direction
(chain to JSON) is the only one the node needs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*\Z")

JsonValue = None | bool | int | str | list["JsonValue"] | dict[str, "JsonValue"]


def to_json(value: Any) -> JsonValue:
    """A JSON-friendly copy of a decoded value; bytes as hex."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    raise TypeError(f"no JSON form for {type(value).__name__}")


def parse_hex(text: object, *, size: int | None = None) -> bytes | None:
    """Bytes from a hex string, or None when it is not one (or not ``size``)."""
    # bytes.fromhex alone would also take spaces; insist on hex digits only.
    if not isinstance(text, str) or not _HEX.match(text):
        return None
    raw = bytes.fromhex(text)
    if size is not None and len(raw) != size:
        return None
    return raw
