"""Transaction arguments from the command line.

``--arg name=value`` gives one argument. A prefix fixes the type:
``hex:`` bytes, ``int:``, ``str:``, ``bool:``; without one the type is
inferred: an integer literal is an int, ``true``/``false`` a bool, anything
else a str (write ``str:42`` for the string "42"). ``--arg-json`` gives a
JSON object for structured arguments, where a string ``"hex:..."`` is bytes.
Floats are refused everywhere: the chain's encoding has none.
"""

from __future__ import annotations

import json
import re
from typing import Any

INT_RE = re.compile(r"^-?(0|[1-9][0-9]*)\Z")
BOOLS = {"true": True, "false": False}


class ArgError(ValueError):
    """An argument that cannot be parsed; the message says which and why."""


def parse_value(text: str, name: str) -> Any:
    prefix, sep, rest = text.partition(":")
    if sep and prefix in ("hex", "int", "str", "bool"):
        return _typed(prefix, rest, name)
    if INT_RE.match(text):
        return int(text)
    if text in BOOLS:
        return BOOLS[text]
    return text


def _typed(kind: str, text: str, name: str) -> Any:
    if kind == "hex":
        try:
            return bytes.fromhex(text)
        except ValueError as exc:
            raise ArgError(f"{name}: {text!r} is not hex") from exc
    if kind == "int":
        if not INT_RE.match(text):
            raise ArgError(f"{name}: {text!r} is not an integer")
        return int(text)
    if kind == "bool":
        if text not in BOOLS:
            raise ArgError(f"{name}: {text!r} is not true or false")
        return BOOLS[text]
    return text


def parse_pair(item: str) -> tuple[str, Any]:
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise ArgError(f"{item!r} is not name=value")
    return name, parse_value(value, name)


def parse_json(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text, parse_float=_no_float, parse_constant=_no_float)
    except ValueError as exc:
        raise ArgError(f"--arg-json is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ArgError("--arg-json must be a JSON object")
    value = _from_json(doc)
    assert isinstance(value, dict)
    return value


def _no_float(text: str) -> Any:
    raise ValueError(f"floats are not allowed: {text}")


def _from_json(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("hex:"):
        return _typed("hex", value[4:], "--arg-json")
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    return value


def build_args(pairs: tuple[str, ...], json_text: str | None) -> dict[str, Any]:
    """The arguments map: ``--arg-json`` first, each ``--arg`` over it."""
    args = parse_json(json_text) if json_text else {}
    for item in pairs:
        name, value = parse_pair(item)
        args[name] = value
    return args
