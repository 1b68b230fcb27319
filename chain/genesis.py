"""The genesis document: the chain's identity, validators and initial state.

``genesis.json`` is JSON. Keys are hex strings, times RFC 3339 in UTC. A wrong
genesis is refused with a GenesisError that names the field that is wrong
(``validators[2].power``). The genesis hash, SHA-256 of the canonical
encoding of the parsed document, becomes ``prev_hash`` of block 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chain import encoding
from chain.errors import ChainError, GenesisError
from chain.hashing import sha256
from chain.tx import CHAIN_ID_RE, NAME_RE
from chain.validators import MAX_POWER, Validator, ValidatorSet

DEFAULT_CONSENSUS = {
    "timeout_propose_ms": 1000,
    "timeout_prevote_ms": 500,
    "timeout_precommit_ms": 500,
    "timeout_delta_ms": 500,
    "timeout_max_ms": 10_000,
    "empty_block_interval_ms": 1000,
    "max_block_txs": 1000,
    "max_block_bytes": 4 * 1024 * 1024,
}


@dataclass(frozen=True)
class Authority:
    name: str
    key: bytes
    roles: tuple[str, ...]
    attributes: dict[str, str]

    def to_value(self) -> dict[str, Any]:
        return {
            "attributes": self.attributes,
            "key": self.key,
            "name": self.name,
            "roles": list(self.roles),
        }


@dataclass(frozen=True)
class Observer:
    name: str
    node_key: bytes


@dataclass(frozen=True)
class Genesis:
    chain_id: str
    genesis_time: int  # milliseconds since the Unix epoch
    validators: ValidatorSet
    observers: tuple[Observer, ...]
    consensus: dict[str, int]
    modules: tuple[str, ...]
    module_config: dict[str, Any]
    authorities: tuple[Authority, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def hash(self) -> bytes:
        return sha256(encoding.encode(self.to_value()))

    def allowed_node_keys(self) -> set[bytes]:
        keys = {v.node_key for v in self.validators}
        return keys | {o.node_key for o in self.observers}

    def to_value(self) -> dict[str, Any]:
        return {
            "authorities": [a.to_value() for a in self.authorities],
            "chain_id": self.chain_id,
            "consensus": self.consensus,
            "genesis_time": self.genesis_time,
            "module_config": self.module_config,
            "modules": list(self.modules),
            "observers": [
                {"name": o.name, "node_key": o.node_key} for o in self.observers
            ],
            "validators": self.validators.to_value(),
        }

    @classmethod
    def load(cls, path: Path | str) -> Genesis:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GenesisError("file", f"cannot read {path}: {exc}") from exc
        try:
            doc = json.loads(text, parse_float=_refuse_float)
        except ValueError as exc:
            raise GenesisError("file", f"not valid JSON: {exc}") from exc
        return cls.from_json(doc)

    @classmethod
    def from_json(cls, doc: Any) -> Genesis:
        return _parse(doc)


def _refuse_float(text: str) -> Any:
    raise ValueError(f"floats are not allowed: {text}")


def parse_time(text: str) -> int:
    """RFC 3339 UTC time (``2026-01-01T00:00:00Z``) to integer milliseconds."""
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValueError("time must be an RFC 3339 string ending in Z")
    moment = datetime.fromisoformat(text[:-1])
    if moment.tzinfo is not None:  # "...+01:00Z" must not lose its offset
        raise ValueError("time must be UTC, with Z as its only zone")
    moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def format_time(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ms % 1000:03d}Z" if ms % 1000 else f"{text}Z"


def _hex(value: Any, where: str, size: int = 32) -> bytes:
    if not isinstance(value, str):
        raise GenesisError(where, "must be a hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise GenesisError(where, "is not hex") from exc
    if len(raw) != size:
        raise GenesisError(where, f"must be {size} bytes, got {len(raw)}")
    return raw


def _str(doc: dict[str, Any], key: str, where: str, max_len: int = 64) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise GenesisError(where, f"must be a string of 1..{max_len} characters")
    return value


def _map(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GenesisError(where, "must be an object")
    return value


def _entry(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    entry = _map(value, where)
    for key in entry:
        if key not in allowed:
            raise GenesisError(f"{where}.{key}", "unknown field")
    return entry


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise GenesisError(where, "must be a list")
    return value


def _parse(doc: Any) -> Genesis:
    doc = _map(doc, "genesis")
    known = {
        "chain_id",
        "genesis_time",
        "validators",
        "observers",
        "consensus",
        "modules",
        "module_config",
        "authorities",
        "comment",
    }
    for key in doc:
        if key not in known:
            raise GenesisError(key, "unknown field")
    chain_id = _str(doc, "chain_id", "chain_id")
    if not CHAIN_ID_RE.match(chain_id):
        raise GenesisError(
            "chain_id", "must be lowercase letters, digits, '.', '_', '-'"
        )
    try:
        genesis_time = parse_time(doc.get("genesis_time"))
    except (ValueError, TypeError) as exc:
        raise GenesisError("genesis_time", str(exc)) from exc

    validators = []
    for i, item in enumerate(_list(doc.get("validators"), "validators")):
        where = f"validators[{i}]"
        v = _entry(item, where, {"name", "power", "key", "node_key"})
        power = v.get("power")
        if (
            isinstance(power, bool)
            or not isinstance(power, int)
            or not 1 <= power <= MAX_POWER
        ):
            raise GenesisError(
                f"{where}.power", f"must be an integer in 1..{MAX_POWER}"
            )
        validators.append(
            Validator(
                name=_str(v, "name", f"{where}.name"),
                power=power,
                key=_hex(v.get("key"), f"{where}.key"),
                node_key=_hex(v.get("node_key"), f"{where}.node_key"),
            )
        )
    try:
        valset = ValidatorSet(validators)
    except ChainError as exc:
        raise GenesisError("validators", exc.message) from exc
    if len({v.node_key for v in validators}) != len(validators):
        raise GenesisError("validators", "duplicate node_key")

    observers = []
    for i, item in enumerate(_list(doc.get("observers", []), "observers")):
        o = _entry(item, f"observers[{i}]", {"name", "node_key"})
        observers.append(
            Observer(
                _str(o, "name", f"observers[{i}].name"),
                _hex(o.get("node_key"), f"observers[{i}].node_key"),
            )
        )

    consensus = dict(DEFAULT_CONSENSUS)
    for key, value in _map(doc.get("consensus", {}), "consensus").items():
        if key not in DEFAULT_CONSENSUS:
            raise GenesisError(f"consensus.{key}", "unknown parameter")
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 < value <= encoding.INT_MAX
        ):
            raise GenesisError(f"consensus.{key}", "must be a positive integer")
        consensus[key] = value

    modules = _list(doc.get("modules"), "modules")
    for i, name in enumerate(modules):
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise GenesisError(f"modules[{i}]", "must be a module name")
    if len(set(modules)) != len(modules):
        raise GenesisError("modules", "duplicate module")
    module_config = _map(doc.get("module_config", {}), "module_config")
    for name in module_config:
        if name not in modules:
            raise GenesisError(
                f"module_config.{name}", "configures a module not listed"
            )
    try:
        encoding.encode(module_config)
    except ChainError as exc:
        raise GenesisError("module_config", exc.message) from exc

    authorities = []
    for i, item in enumerate(_list(doc.get("authorities", []), "authorities")):
        where = f"authorities[{i}]"
        a = _entry(item, where, {"name", "key", "roles", "attributes"})
        roles = _list(a.get("roles", []), f"{where}.roles")
        if not all(isinstance(r, str) and 0 < len(r) <= 64 for r in roles):
            raise GenesisError(f"{where}.roles", "must be a list of role names")
        attributes = _map(a.get("attributes", {}), f"{where}.attributes")
        if not all(isinstance(v, str) for v in attributes.values()):
            raise GenesisError(f"{where}.attributes", "values must be strings")
        authorities.append(
            Authority(
                name=_str(a, "name", f"{where}.name", 128),
                key=_hex(a.get("key"), f"{where}.key"),
                roles=tuple(roles),
                attributes=attributes,
            )
        )
    if len({a.key for a in authorities}) != len(authorities):
        raise GenesisError("authorities", "duplicate key")

    genesis = Genesis(
        chain_id=chain_id,
        genesis_time=genesis_time,
        validators=valset,
        observers=tuple(observers),
        consensus=consensus,
        modules=tuple(modules),
        module_config=module_config,
        authorities=tuple(authorities),
        raw=doc,
    )
    try:
        genesis.hash  # noqa: B018  every string must encode (no lone surrogates)
    except ChainError as exc:
        raise GenesisError("genesis", exc.message) from exc
    return genesis
