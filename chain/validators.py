"""The validator set: who signs blocks, with what voting power.

Invariants: validators are ordered by their public key (bytes order), keys
are unique, every power is positive, and the total fits comfortably in 63
bits. "More than two thirds" is decided in integers: ``3 * power > 2 * total``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from chain import encoding
from chain.errors import ValidationError
from chain.fields import as_map, get_bytes, get_int, get_str
from chain.hashing import sha256

MAX_POWER = 2**40
MAX_VALIDATORS = 256


@dataclass(frozen=True)
class Validator:
    name: str
    power: int
    key: bytes  # ed25519 public key that signs votes and proposals
    node_key: bytes  # ed25519 public key that authenticates the p2p link

    def to_value(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "node_key": self.node_key,
            "power": self.power,
        }

    @classmethod
    def from_value(cls, value: Any) -> Validator:
        m = as_map(value, "validator", ("key", "name", "node_key", "power"))
        return cls(
            name=get_str(m, "name", 64, min_len=1),
            power=get_int(m, "power", 1, MAX_POWER),
            key=get_bytes(m, "key", 32),
            node_key=get_bytes(m, "node_key", 32),
        )


class ValidatorSet:
    """An immutable, canonically ordered set of validators."""

    def __init__(self, validators: Iterable[Validator]) -> None:
        ordered = sorted(validators, key=lambda v: v.key)
        if not ordered:
            raise ValidationError("validator set is empty", code="validators.empty")
        if len(ordered) > MAX_VALIDATORS:
            raise ValidationError("too many validators", code="validators.too_many")
        self._by_key = {v.key: v for v in ordered}
        if len(self._by_key) != len(ordered):
            raise ValidationError(
                "duplicate validator key", code="validators.duplicate"
            )
        self.validators: tuple[Validator, ...] = tuple(ordered)
        self.total_power = sum(v.power for v in ordered)
        self.hash = sha256(encoding.encode([v.to_value() for v in ordered]))

    def __len__(self) -> int:
        return len(self.validators)

    def __iter__(self) -> Iterator[Validator]:
        return iter(self.validators)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def get(self, key: bytes) -> Validator | None:
        return self._by_key.get(key)

    def power_of(self, key: bytes) -> int:
        v = self._by_key.get(key)
        return v.power if v is not None else 0

    def is_quorum(self, power: int) -> bool:
        """More than two thirds of the total voting power."""
        return 3 * power > 2 * self.total_power

    def is_one_third(self, power: int) -> bool:
        """More than one third: at least one honest validator among them (f+1)."""
        return 3 * power > self.total_power

    def to_value(self) -> list[dict[str, Any]]:
        return [v.to_value() for v in self.validators]

    @classmethod
    def from_value(cls, value: Any) -> ValidatorSet:
        if not isinstance(value, list):
            raise ValidationError(
                "validator set must be a list", code="validation.type"
            )
        return cls(Validator.from_value(v) for v in value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValidatorSet) and other.hash == self.hash

    def __hash__(self) -> int:
        return hash(self.hash)
