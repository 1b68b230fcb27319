"""Ballot records, eligibility and the tally.

A ballot record is mode-independent: question, options, eligibility,
window, policy, status and (once closed) the tally. Where the votes live
depends on ``mode``:

- ``open``: ``cast/open/<ballot>/<person>`` holds the person's current
  choice in clear, so anyone can check their own vote and recount.
- ``secret`` (planned, not accepted yet): ``cast/secret/<ballot>/<person>``
  would hold an encrypted choice and ``keys/<ballot>/...`` the trustees'
  material; the tally would be written by a decryption step at closing.

Because the open layout is under its own prefix and the record carries
``mode``, adding the secret mode changes neither the records nor the keys of
open ballots. See docs/modules/vote.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from modules.base import Ctx

MODES = ("open",)
CITIZEN = "citizen"
BP_WHOLE = 10_000  # basis points in 100 %
ELIGIBLE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}(:[a-z][a-z0-9_]{0,31})?\Z")

# Ballot statuses. The window (opens_at <= time < closes_at) decides whether
# a vote is accepted; the status follows in the end-of-block step.
SCHEDULED = "scheduled"
OPEN = "open"
CLOSED = "closed"
CANCELLED = "cancelled"
STATUSES = (SCHEDULED, OPEN, CLOSED, CANCELLED)


def cast_prefix(mode: str, ballot: str) -> str:
    return f"cast/{mode}/{ballot}/"


def ineligibility(ctx: Ctx, person: str, eligibility: dict[str, Any]) -> str | None:
    """Why ``person`` may not vote under ``eligibility``; None if they may.

    Checked through identity's interface at the moment of the vote:
    ``citizen`` means any active person of kind citizen, any other value a
    role the person holds; every listed attribute must match exactly.
    """
    record = ctx.call("identity", "person", person=person)
    if record is None or record["status"] != "active":
        return f"{person} is not an active enrolled person"
    role = eligibility["role"]
    if role == CITIZEN:
        if record["kind"] != CITIZEN:
            return f"{person} is not a citizen"
    elif not ctx.has_role(role, person):
        return f"{person} lacks role {role}"
    for name, wanted in sorted(eligibility["attributes"].items()):
        actual = ctx.call("identity", "attribute", person=person, name=name)
        if actual != wanted:
            return f"{person} does not have {name}={wanted}"
    return None


def tally(options: int, choices: Iterable[int], quorum: int) -> dict[str, Any]:
    """Counts per option, turnout, shares in basis points, quorum, leaders.

    ``choices`` is the current choice of each distinct voter. Shares are
    rounded down, so they may sum to a little under 10,000.
    """
    counts = [0] * options
    for choice in choices:
        counts[choice] += 1
    turnout = sum(counts)
    top = max(counts)
    return {
        "counts": counts,
        "leading": [i for i, c in enumerate(counts) if c == top and c > 0],
        "quorum": quorum,
        "quorum_met": turnout >= quorum,
        "shares_bp": [c * BP_WHOLE // turnout if turnout else 0 for c in counts],
        "turnout": turnout,
    }
