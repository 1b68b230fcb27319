"""Shared pieces of the registry: configuration, argument fields, helpers."""

from __future__ import annotations

import re
from typing import Any

from modules.errors import ModuleConfigError, ModuleError
from modules.schema import Int, MapOf, Str

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")
RECORD_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}\Z")
MAX_DENOMINATOR = 10**12
ENCUMBRANCE_KINDS = ("mortgage", "arrest", "lease")
BLOCKING = frozenset({"mortgage", "arrest"})
OPEN_OFFER = ("consenting", "accepting", "approval")

REGISTER = Str(32, doc="register name")
RECORD = Str(64, doc="record id, e.g. a cadastral number")
REASON = Str(512, doc="stated reason")
ATTRIBUTES = MapOf(Str(256), 32, doc="attribute name -> value")
OWNERS = MapOf(Int(1, MAX_DENOMINATOR), 32, doc="person id -> share")


class Register:
    __slots__ = ("name", "title", "transfer_approval")

    def __init__(self, name: str, title: str, transfer_approval: bool) -> None:
        self.name = name
        self.title = title
        self.transfer_approval = transfer_approval

    def to_value(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "transfer_approval": self.transfer_approval,
        }


def parse_config(config: Any) -> dict[str, Register]:
    """The registers of a genesis ``module_config.registry``; names the bad field."""
    if not isinstance(config, dict):
        raise ModuleConfigError("registry", "must be a map")
    for key in config:
        if key != "registers":
            raise ModuleConfigError(f"registry.{key}", "unknown field")
    registers = config.get("registers")
    if not isinstance(registers, dict) or not registers:
        raise ModuleConfigError("registry.registers", "must be a non-empty map")
    out: dict[str, Register] = {}
    for name in sorted(registers):
        where = f"registry.registers.{name}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ModuleConfigError(where, "register names are [a-z][a-z0-9_]{0,31}")
        spec = registers[name]
        if not isinstance(spec, dict):
            raise ModuleConfigError(where, "must be a map")
        for key in spec:
            if key not in ("title", "transfer_approval"):
                raise ModuleConfigError(f"{where}.{key}", "unknown field")
        title = spec.get("title")
        if not isinstance(title, str) or not 1 <= len(title) <= 128:
            raise ModuleConfigError(f"{where}.title", "must be a string of 1..128")
        approval = spec.get("transfer_approval", False)
        if not isinstance(approval, bool):
            raise ModuleConfigError(f"{where}.transfer_approval", "must be a boolean")
        out[name] = Register(name, title, approval)
    return out


def fail(code: str, message: str) -> ModuleError:
    return ModuleError(f"registry.{code}", message)


def blocking_kinds(record: dict[str, Any]) -> list[str]:
    return sorted({e["kind"] for e in record["encumbrances"]} & BLOCKING)


def owner_ids(record: dict[str, Any]) -> list[str]:
    return [o["person"] for o in record["owners"]]
