"""Pure rules of the auction: configuration, prices, rankings, commitments.

Nothing here reads state: each function maps values to values, so the rules
can be tested (and read) apart from the transaction plumbing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chain import encoding
from chain.hashing import sha256
from modules.errors import ModuleConfigError

DAY = 86_400_000
KINDS = ("english", "sealed_first", "sealed_second", "dutch")
SEALED = frozenset({"sealed_first", "sealed_second"})
DEFAULTS = {"max_duration": 365 * DAY, "max_bids": 10_000}


def parse_config(config: Any) -> dict[str, int]:
    """Genesis ``module_config.auction``: optional limits, all positive ints."""
    if not isinstance(config, dict):
        raise ModuleConfigError("auction", "must be a map")
    out = dict(DEFAULTS)
    for key, value in config.items():
        if key not in DEFAULTS:
            raise ModuleConfigError(f"auction.{key}", "unknown field")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ModuleConfigError(f"auction.{key}", "must be a positive integer")
        out[key] = value
    return out


def commitment_hash(auction: int, bidder: str, amount: int, salt: bytes) -> bytes:
    """SHA-256 of the canonical encoding of the sealed bid.

    The encoded value is the map ``{"amount": int, "auction": int,
    "bidder": str, "salt": bytes}`` (canonical msgpack, keys sorted).
    """
    value = {"amount": amount, "auction": auction, "bidder": bidder, "salt": salt}
    return sha256(encoding.encode(value))


def dutch_price(auction: dict[str, Any], time: int) -> int:
    """The asking price at ``time``: one step down per whole interval, to the floor."""
    start = int(auction["start_price"])
    if time <= auction["opens_at"]:
        return start
    steps = (time - auction["opens_at"]) // auction["interval"]
    return max(int(auction["floor_price"]), start - int(steps * auction["min_step"]))


def ranking(bids: Iterable[dict[str, Any]], excluded: set[str]) -> list[dict[str, Any]]:
    """Valid bids, best first: each bidder's highest, ties to the earlier bid.

    ``bids`` are the auction's bids in sequence order; a bid is valid when it
    holds an amount and its status is ``valid``; ``excluded`` are the
    disqualified bidders.
    """
    best: dict[str, dict[str, Any]] = {}
    for bid in bids:
        if bid["status"] != "valid" or bid["bidder"] in excluded:
            continue
        held = best.get(bid["bidder"])
        if held is None or bid["amount"] > held["amount"]:
            best[bid["bidder"]] = bid
    return sorted(best.values(), key=lambda b: (-b["amount"], b["seq"]))


def award_price(kind: str, ranked: list[dict[str, Any]], start_price: int) -> int:
    """What the best of ``ranked`` pays."""
    if kind == "sealed_second":
        return int(ranked[1]["amount"]) if len(ranked) > 1 else start_price
    return int(ranked[0]["amount"])
