"""Strict field readers for decoded maps: exact key sets, exact types, bounds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chain.errors import ValidationError


def as_map(value: Any, what: str, keys: Iterable[str]) -> dict[str, Any]:
    """``value`` as a dict with exactly ``keys``; anything else is refused."""
    if not isinstance(value, dict):
        raise ValidationError(f"{what} must be a map", code="validation.type")
    expected = set(keys)
    present = set(value)
    if present != expected:
        missing = sorted(expected - present)
        extra = sorted(present - expected)
        raise ValidationError(
            f"{what}: missing {missing}, unexpected {extra}", code="validation.fields"
        )
    return value


def get_int(m: dict[str, Any], key: str, lo: int, hi: int) -> int:
    v = m[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValidationError(f"{key} must be an integer", code="validation.type")
    if not lo <= v <= hi:
        raise ValidationError(f"{key}={v} outside {lo}..{hi}", code="validation.range")
    return v


def get_bytes(
    m: dict[str, Any], key: str, size: int | None = None, *, max_size: int = 1 << 20
) -> bytes:
    v = m[key]
    if not isinstance(v, bytes):
        raise ValidationError(f"{key} must be bytes", code="validation.type")
    if size is not None and len(v) != size:
        raise ValidationError(f"{key} must be {size} bytes", code="validation.size")
    if len(v) > max_size:
        raise ValidationError(
            f"{key} longer than {max_size} bytes", code="validation.size"
        )
    return v


def get_opt_bytes(m: dict[str, Any], key: str, size: int) -> bytes | None:
    if m[key] is None:
        return None
    return get_bytes(m, key, size)


def get_str(m: dict[str, Any], key: str, max_len: int, *, min_len: int = 0) -> str:
    v = m[key]
    if not isinstance(v, str):
        raise ValidationError(f"{key} must be a string", code="validation.type")
    if not min_len <= len(v) <= max_len:
        raise ValidationError(
            f"{key} length {len(v)} outside {min_len}..{max_len}",
            code="validation.size",
        )
    return v


def get_list(m: dict[str, Any], key: str, max_len: int) -> list[Any]:
    v = m[key]
    if not isinstance(v, list):
        raise ValidationError(f"{key} must be a list", code="validation.type")
    if len(v) > max_len:
        raise ValidationError(
            f"{key} has more than {max_len} items", code="validation.size"
        )
    return v
