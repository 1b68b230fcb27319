"""Argument schemas for module actions.

A schema is a mapping of argument name to a Field. Validation is strict:
unknown arguments are refused, required ones must be present, every value has
exactly the declared type and bounds. Optional fields that are absent take
their default. Refusals raise ModuleError with code ``args.invalid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modules.errors import ModuleError

ARGS_INVALID = "args.invalid"


@dataclass(frozen=True)
class Field:
    kind: str  # str | int | bytes | bool | list | map
    required: bool = True
    default: Any = None
    max_len: int = 256
    min_len: int = 0
    lo: int = 0
    hi: int = 2**62
    choices: tuple[str, ...] = ()
    items: Field | None = None  # for list and map values
    doc: str = ""

    def describe(self) -> str:
        if self.kind == "int":
            text = f"int {self.lo}..{self.hi}"
        elif self.kind == "bytes" and self.min_len == self.max_len:
            text = f"{self.max_len} bytes"
        elif self.kind in ("str", "bytes"):
            text = f"{self.kind} len {self.min_len}..{self.max_len}"
            if self.choices:
                text = "one of " + ", ".join(self.choices)
        elif self.kind in ("list", "map") and self.items is not None:
            text = f"{self.kind} of {self.items.describe()} (<= {self.max_len})"
        else:
            text = self.kind
        return text if self.required else f"{text}, optional"


def Str(
    max_len: int = 256,
    *,
    min_len: int = 1,
    choices: tuple[str, ...] = (),
    required: bool = True,
    default: Any = None,
    doc: str = "",
) -> Field:
    return Field("str", required, default, max_len, min_len, choices=choices, doc=doc)


def Int(
    lo: int = 0,
    hi: int = 2**62,
    *,
    required: bool = True,
    default: Any = None,
    doc: str = "",
) -> Field:
    return Field("int", required, default, lo=lo, hi=hi, doc=doc)


def Bytes(
    size: int | None = None, *, max_len: int = 256, required: bool = True, doc: str = ""
) -> Field:
    if size is not None:
        return Field("bytes", required, None, size, size, doc=doc)
    return Field("bytes", required, None, max_len, 0, doc=doc)


def Bool(*, required: bool = True, default: Any = None, doc: str = "") -> Field:
    return Field("bool", required, default, doc=doc)


def ListOf(
    items: Field,
    max_len: int = 64,
    *,
    min_len: int = 0,
    required: bool = True,
    doc: str = "",
) -> Field:
    default: Any = None if required else []
    return Field("list", required, default, max_len, min_len, items=items, doc=doc)


def MapOf(
    items: Field, max_len: int = 32, *, required: bool = True, doc: str = ""
) -> Field:
    default: Any = None if required else {}
    return Field("map", required, default, max_len, 0, items=items, doc=doc)


KEY = Bytes(32, doc="ed25519 public key")
PERSON = Str(32, doc="person id")


def _fail(name: str, message: str) -> ModuleError:
    return ModuleError(ARGS_INVALID, f"{name}: {message}")


def check_value(name: str, field: Field, value: Any) -> Any:
    kind = field.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise _fail(name, "must be a boolean")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(name, "must be an integer")
        if not field.lo <= value <= field.hi:
            raise _fail(name, f"must be within {field.lo}..{field.hi}")
        return value
    if kind in ("str", "bytes"):
        expected = str if kind == "str" else bytes
        if not isinstance(value, expected):
            raise _fail(name, f"must be {kind}")
        if field.choices and value not in field.choices:
            raise _fail(name, "must be one of " + ", ".join(field.choices))
        if not field.min_len <= len(value) <= field.max_len:
            raise _fail(name, f"length must be within {field.min_len}..{field.max_len}")
        return value
    assert field.items is not None
    if kind == "list":
        if not isinstance(value, list):
            raise _fail(name, "must be a list")
        if not field.min_len <= len(value) <= field.max_len:
            raise _fail(name, f"must have {field.min_len}..{field.max_len} items")
        return [
            check_value(f"{name}[{i}]", field.items, v) for i, v in enumerate(value)
        ]
    if kind == "map":
        if not isinstance(value, dict):
            raise _fail(name, "must be a map")
        if len(value) > field.max_len:
            raise _fail(name, f"must have at most {field.max_len} entries")
        out = {}
        for key in sorted(value):
            if not isinstance(key, str) or not 1 <= len(key) <= 64:
                raise _fail(name, "keys must be strings of 1..64 characters")
            out[key] = check_value(f"{name}.{key}", field.items, value[key])
        return out
    raise _fail(name, f"unknown field kind {kind}")


def validate(schema: Mapping[str, Field], args: Any) -> dict[str, Any]:
    """Return ``args`` checked against ``schema``, with defaults filled in."""
    if not isinstance(args, dict):
        raise ModuleError(ARGS_INVALID, "arguments must be a map")
    unknown = sorted(set(args) - set(schema))
    if unknown:
        raise ModuleError(ARGS_INVALID, f"unknown arguments: {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for name in sorted(schema):
        field = schema[name]
        if name not in args:
            if field.required:
                raise _fail(name, "is required")
            out[name] = field.default
            continue
        out[name] = check_value(name, field, args[name])
    return out
