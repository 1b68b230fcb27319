"""The auction scene of the auction tests: two auctioneers (the first owns a
land plot), four bidders, and terms for each kind of auction."""

from __future__ import annotations

from typing import Any

from chain.keys import PrivateKey
from modules.auction import commitment_hash
from tests.modules.harness import World

SEC = 1000
PLOT = "3200000000:01:001:0001"
REGISTERS = {"land": {"title": "Land", "transfer_approval": True}}


class Scene:
    """Two auctioneers (the first owns a land plot) and four bidders."""

    def __init__(self) -> None:
        self.w = World.create(
            modules=["identity", "registry", "auction"],
            module_config={"registry": {"registers": REGISTERS}},
        )
        self.fund, self.fund_id = self.w.official("Property Fund", "auctioneer")
        self.other, _ = self.w.official("Other auctioneer", "auctioneer")
        self.reg, _ = self.w.official("Registrar", "registrar:land")
        self.keys: dict[str, PrivateKey] = {}
        self.ids: dict[str, str] = {}
        for name in ("a", "b", "c", "d"):
            key, pid = self.w.enrol(f"bidder {name}")
            self.keys[name], self.ids[name] = key, pid
        self.w.ok(
            self.reg,
            "registry",
            "register",
            register="land",
            id=PLOT,
            owners={self.fund_id: 1},
            denominator=1,
            attributes={"area_m2": "5000"},
        )
        self.t0 = self.w.time

    def rebase(self) -> None:
        """Later times in the script count from now."""
        self.t0 = self.w.time

    def k(self, name: str) -> PrivateKey:
        return self.keys[name]

    def p(self, name: str) -> str:
        return self.ids[name]

    def create(self, kind: str = "english", **kw: Any) -> int:
        args = terms(self.t0, kind)
        args.update(kw)
        result = self.w.ok(self.fund, "auction", "create", **args)
        return int(result.events[-1].attrs["auction"])

    def at(self, offset: int) -> None:
        """Move the clock so that the next block is at T0 + offset."""
        self.w.time = self.t0 + offset - SEC

    def auction(self, aid: int) -> Any:
        return self.w.query("auction", "auction", id=aid)

    def bid(self, who: str, aid: int, amount: int) -> Any:
        return self.w.ok(self.k(who), "auction", "bid", auction=aid, amount=amount)

    def commit(self, who: str, aid: int, amount: int, salt: bytes = b"s") -> None:
        digest = commitment_hash(aid, self.p(who), amount, salt)
        self.w.ok(self.k(who), "auction", "commit", auction=aid, hash=digest)

    def reveal(self, who: str, aid: int, amount: int, salt: bytes = b"s") -> Any:
        return self.w.ok(
            self.k(who), "auction", "reveal", auction=aid, amount=amount, salt=salt
        )

    def plot(self) -> Any:
        return self.w.query("registry", "record", register="land", id=PLOT)

    def types(self, result: Any) -> list[str]:
        return [e.type for e in result.events]


def terms(t0: int, kind: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "item": "Former school building, 5000 m2",
        "kind": kind,
        "start_price": 100_000,
        "opens_at": t0 + 10 * SEC,
        "closes_at": t0 + 100 * SEC,
    }
    if kind == "english":
        base.update(min_step=1_000, extension=5 * SEC)
    elif kind == "dutch":
        base.update(min_step=10_000, floor_price=50_000, interval=10 * SEC)
    else:
        base.update(reveal_period=50 * SEC)
    return base
