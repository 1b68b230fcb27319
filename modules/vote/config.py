"""The vote module's genesis configuration.

``module_config.vote`` (every field optional; the defaults are shown)::

    {
      "max_ballot_days": 366,
      "proposals": {
        "support_threshold": 25000,
        "support_days": 90,
        "ballot_days": 14,
        "quorum": 0,
        "revote": true
      }
    }

A wrong value raises ModuleConfigError naming the field
(``vote.proposals.support_days``), so a chain never starts with a policy
nobody meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modules.errors import ModuleConfigError

DAY_MS = 86_400_000
MAX_DAYS = 3660
MAX_COUNT = 10**9

_TOP_FIELDS = ("max_ballot_days", "proposals")
_PROPOSAL_FIELDS = (
    "ballot_days",
    "quorum",
    "revote",
    "support_days",
    "support_threshold",
)


@dataclass(frozen=True)
class ProposalPolicy:
    """How a citizens' proposal becomes a ballot."""

    support_threshold: int = 25_000
    support_ms: int = 90 * DAY_MS
    ballot_ms: int = 14 * DAY_MS
    quorum: int = 0
    revote: bool = True

    def to_value(self) -> dict[str, Any]:
        return {
            "ballot_days": self.ballot_ms // DAY_MS,
            "quorum": self.quorum,
            "revote": self.revote,
            "support_days": self.support_ms // DAY_MS,
            "support_threshold": self.support_threshold,
        }


@dataclass(frozen=True)
class VoteConfig:
    max_ballot_ms: int = 366 * DAY_MS
    proposals: ProposalPolicy = ProposalPolicy()

    def to_value(self) -> dict[str, Any]:
        return {
            "max_ballot_days": self.max_ballot_ms // DAY_MS,
            "proposals": self.proposals.to_value(),
        }


def _int(
    doc: dict[str, Any], key: str, where: str, default: int, lo: int, hi: int
) -> int:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ModuleConfigError(f"{where}.{key}", f"must be an integer in {lo}..{hi}")
    return value


def _bool(doc: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise ModuleConfigError(f"{where}.{key}", "must be true or false")
    return value


def _map(value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ModuleConfigError(where, "must be an object")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ModuleConfigError(f"{where}.{unknown[0]}", "is not a known field")
    return value


def parse_config(config: Any) -> VoteConfig:
    doc = _map(config, "vote", _TOP_FIELDS)
    max_days = _int(doc, "max_ballot_days", "vote", 366, 1, MAX_DAYS)
    prop = _map(doc.get("proposals", {}), "vote.proposals", _PROPOSAL_FIELDS)
    where = "vote.proposals"
    ballot_days = _int(prop, "ballot_days", where, 14, 1, max_days)
    policy = ProposalPolicy(
        support_threshold=_int(prop, "support_threshold", where, 25_000, 1, MAX_COUNT),
        support_ms=_int(prop, "support_days", where, 90, 1, MAX_DAYS) * DAY_MS,
        ballot_ms=ballot_days * DAY_MS,
        quorum=_int(prop, "quorum", where, 0, 0, MAX_COUNT),
        revote=_bool(prop, "revote", where, True),
    )
    return VoteConfig(max_ballot_ms=max_days * DAY_MS, proposals=policy)
