"""The petition module's genesis configuration: the addressees.

``module_config.petition``::

    {
      "addressees": {
        "president": {
          "title": "Office of the President",
          "threshold": 25000,
          "window_days": 90,
          "response_days": 10,
          "moderated": true
        }
      }
    }

An addressee's name is also its identity role, ``petition_addressee:<name>``,
so it follows identity's role-name rule. ``moderated`` is optional (default
true). An empty configuration is valid and runs no addressees. A wrong value
raises ModuleConfigError naming the field
(``petition.addressees.president.window_days``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from modules.errors import ModuleConfigError

DAY_MS = 86_400_000
MAX_DAYS = 3660
MAX_THRESHOLD = 10**9
MAX_ADDRESSEES = 256
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")

_FIELDS = ("moderated", "response_days", "threshold", "title", "window_days")


@dataclass(frozen=True)
class Addressee:
    name: str
    title: str
    threshold: int
    window_ms: int
    response_ms: int
    moderated: bool

    @property
    def role(self) -> str:
        return f"petition_addressee:{self.name}"

    def to_value(self) -> dict[str, Any]:
        return {
            "moderated": self.moderated,
            "name": self.name,
            "response_days": self.response_ms // DAY_MS,
            "role": self.role,
            "threshold": self.threshold,
            "title": self.title,
            "window_days": self.window_ms // DAY_MS,
        }


def _days(doc: dict[str, Any], key: str, where: str) -> int:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModuleConfigError(f"{where}.{key}", "must be an integer number of days")
    if not 1 <= value <= MAX_DAYS:
        raise ModuleConfigError(f"{where}.{key}", f"must be within 1..{MAX_DAYS}")
    return value * DAY_MS


def _addressee(name: Any, doc: Any, where: str) -> Addressee:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ModuleConfigError(where, "must be a name like kyiv_council")
    if not isinstance(doc, dict):
        raise ModuleConfigError(where, "must be an object")
    unknown = sorted(set(doc) - set(_FIELDS))
    if unknown:
        raise ModuleConfigError(f"{where}.{unknown[0]}", "is not a known field")
    title = doc.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 200:
        raise ModuleConfigError(f"{where}.title", "must be a string of 1..200")
    threshold = doc.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise ModuleConfigError(f"{where}.threshold", "must be an integer")
    if not 1 <= threshold <= MAX_THRESHOLD:
        raise ModuleConfigError(
            f"{where}.threshold", f"must be within 1..{MAX_THRESHOLD}"
        )
    moderated = doc.get("moderated", True)
    if not isinstance(moderated, bool):
        raise ModuleConfigError(f"{where}.moderated", "must be true or false")
    return Addressee(
        name=name,
        title=title,
        threshold=threshold,
        window_ms=_days(doc, "window_days", where),
        response_ms=_days(doc, "response_days", where),
        moderated=moderated,
    )


def parse_config(config: Any) -> dict[str, Addressee]:
    if not isinstance(config, dict):
        raise ModuleConfigError("petition", "must be an object")
    unknown = sorted(set(config) - {"addressees"})
    if unknown:
        raise ModuleConfigError(f"petition.{unknown[0]}", "is not a known field")
    doc = config.get("addressees", {})
    if not isinstance(doc, dict):
        raise ModuleConfigError("petition.addressees", "must be an object")
    if len(doc) > MAX_ADDRESSEES:
        raise ModuleConfigError(
            "petition.addressees", f"at most {MAX_ADDRESSEES} addressees"
        )
    return {
        name: _addressee(name, doc[name], f"petition.addressees.{name}")
        for name in sorted(doc)
    }
