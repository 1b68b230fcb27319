"""auction: random auctions, bids and decisions by random actors at random times.

After every step each auction is checked against an independent reading of
the rules: one award at most, held by the best valid bid of a bidder not
disqualified, at the right price; registry locks match the auctions running;
no deadline is left behind. At the end the same signed transactions replayed
on a fresh World must give the same state digest.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from chain.keys import PrivateKey
from chain.tx import TxResult
from modules.auction import commitment_hash
from modules.state import State
from tests.modules.test_registry_stateful import Recorder, replay

CONFIG: dict[str, Any] = {
    "modules": ["identity", "registry", "auction"],
    "module_config": {
        "registry": {"registers": {"land": {"title": "Land"}}},
        "auction": {"max_bids": 12},
    },
}
SEC = 1000
FUND, OTHER, REGISTRAR = 0, 1, 2
BIDDERS = (3, 4, 5, 6)
ACTORS = 7
RECORDS = ("L1", "L2")
KINDS = ("english", "sealed_first", "sealed_second", "dutch")
LIVE = ("open", "reveal", "awarded")

actors = st.integers(0, ACTORS - 1)
bidders = st.sampled_from(BIDDERS)
# 0: the actor drawn at random; otherwise the one entitled to act
modes = st.sampled_from((1, 1, 1, 0))
picks = st.integers(0, 5)


class AuctionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.w = Recorder.create(**CONFIG)
        self.count = 0
        self.sealed: dict[tuple[int, int], int] = {}
        self.results: list[TxResult] = []
        self.completed: dict[int, int] = {}
        self.keys: list[PrivateKey] = []
        self.ids: list[str] = []
        for name, roles in (
            ("fund", ("auctioneer",)),
            ("other", ("auctioneer",)),
            ("registrar", ("registrar:land",)),
        ):
            key, pid = self.w.official(name, *roles)
            self.keys.append(key)
            self.ids.append(pid)
        for i in BIDDERS:
            key, pid = self.w.enrol(f"bidder {i}")
            self.keys.append(key)
            self.ids.append(pid)
        for rid in RECORDS:
            self.act(
                REGISTRAR,
                "registry",
                "register",
                register="land",
                id=rid,
                owners={self.ids[FUND]: 1},
                denominator=1,
                attributes={},
            )

    def act(self, who: int, module: str, action: str, **args: Any) -> TxResult:
        result = self.w.do(self.keys[who], module, action, **args)
        self.results.append(result)
        for event in result.events:
            if event.type == "auction.created":
                self.count = max(self.count, int(event.attrs["auction"]))
            if event.type == "auction.completed":
                aid = int(event.attrs["auction"])
                self.completed[aid] = self.completed.get(aid, 0) + 1
        return result

    def aid(self, n: int) -> int:
        """Auction ``n`` counted back from the latest (0 is the latest)."""
        return max(self.count - n % max(self.count, 1), 1)

    def live(self, n: int) -> int:
        """A running auction if there is one (n picks which), else ``aid(n)``."""
        running = [
            aid
            for aid in range(1, self.count + 1)
            if self.auction(aid)["status"] in LIVE
        ]
        return running[n % len(running)] if running else self.aid(n)

    def auction(self, aid: int) -> Any:
        return self.w.query("auction", "auction", id=aid)

    def owner(self, mode: int, who: int, aid: int) -> int:
        return who if mode == 0 else FUND

    # --- rules ------------------------------------------------------------------

    @rule(
        who=actors,
        mode=modes,
        kind=st.sampled_from(KINDS),
        start=st.integers(1, 5),
        step=st.integers(0, 3),
        offset=st.sampled_from((1, 1, 2, 5, 30, 0)),
        duration=st.sampled_from((60, 20, 200, 10, 5, 1)),
        extension=st.sampled_from((0, 0, 10)),
        record=st.sampled_from((None, None, *RECORDS)),
        admission=st.sampled_from((False, False, True)),
        payment=st.sampled_from((0, 0, 30)),
    )
    def create(
        self,
        who: int,
        mode: int,
        kind: str,
        start: int,
        step: int,
        offset: int,
        duration: int,
        extension: int,
        record: str | None,
        admission: bool,
        payment: int,
    ) -> None:
        opens = self.w.time + SEC + offset * SEC  # offset 0: opens "now", refused
        args: dict[str, Any] = {
            "item": "lot",
            "kind": kind,
            "start_price": start * 1000,
            "opens_at": opens,
            "closes_at": opens + duration * SEC,
            "admission": admission,
            "payment_period": payment * SEC,
        }
        if record is not None:
            args.update(register="land", record=record)
        if kind == "english":
            args.update(min_step=step * 100, extension=extension * SEC)
        elif kind == "dutch":
            args.update(min_step=step * 100, floor_price=500, interval=10 * SEC)
        else:
            args.update(reveal_period=30 * SEC)
        self.act(FUND if mode else who, "auction", "create", **args)

    @precondition(lambda self: self.count > 0)
    @rule(n=picks, who=bidders, mode=modes, person=actors)
    def admit(self, n: int, who: int, mode: int, person: int) -> None:
        aid = self.aid(n)
        target = who if mode else person
        self.act(
            self.owner(mode, person, aid),
            "auction",
            "admit",
            auction=aid,
            person=self.ids[target],
        )

    @precondition(lambda self: self.count > 0)
    @rule(
        n=picks,
        who=bidders,
        admit=st.booleans(),
        raise_=st.integers(0, 3),
        honest=st.sampled_from((True, True, True, False)),
        move=st.sampled_from(("fit", "fit", "fit", "bid", "commit", "reveal", "take")),
        stray=st.sampled_from((False, False, False, True)),
        crowd=st.integers(0, 3),
    )
    def participate(
        self,
        n: int,
        who: int,
        admit: bool,
        raise_: int,
        honest: bool,
        move: str,
        stray: bool,
        crowd: int,
    ) -> None:
        """Mostly the move the auction's kind and phase call for, by a bidder;
        sometimes another move, or the auctioneer bidding in their own sale."""
        aid = self.live(n)
        a = self.auction(aid)
        if a["status"] == "open" and self.w.time + SEC < a["opens_at"]:
            self.w.advance_to(a["opens_at"] - SEC)  # the next block opens it
        for bidder in (who, *BIDDERS[:crowd]):
            self.move(aid, bidder, admit, raise_, honest, move, stray)
            stray = False

    def move(
        self,
        aid: int,
        who: int,
        admit: bool,
        raise_: int,
        honest: bool,
        move: str,
        stray: bool,
    ) -> None:
        a = self.auction(aid)
        if a["admission"] and admit and self.ids[who] not in a["admitted"]:
            self.act(FUND, "auction", "admit", auction=aid, person=self.ids[who])
        if move == "fit":
            if a["kind"] == "english":
                move = "bid"
            elif a["kind"] == "dutch":
                move = "take"
            else:
                move = "reveal" if a["status"] == "reveal" else "commit"
        who = FUND if stray else who
        if move == "bid":
            self.bid(aid, who, raise_ - (1 if stray else 0), False)
        elif move == "take":
            self.accept_price(aid, who, not honest)
        elif move == "reveal":
            self.reveal(aid, who, honest)
        else:
            self.commit(aid, who, raise_ * 2 - (0 if honest else 3))

    @rule(data=st.data(), kind=st.sampled_from(KINDS), record=st.booleans())
    def episode(self, data: st.DataObject, kind: str, record: bool) -> None:
        """One auction from creation to its end, with random moves and gaps.

        Single steps rarely carry an auction through all its phases; this
        rule does, checking the invariants after every block.
        """
        self.create(
            0,
            1,
            kind,
            start=data.draw(st.integers(1, 5)),
            step=data.draw(st.integers(1, 3)),
            offset=1,
            duration=data.draw(st.integers(10, 60)),
            extension=data.draw(st.sampled_from((0, 10))),
            record=data.draw(st.sampled_from(RECORDS)) if record else None,
            admission=data.draw(st.booleans()),
            payment=data.draw(st.sampled_from((0, 30))),
        )
        if not self.results[-1].ok:
            return
        aid = self.count
        for _ in range(30):
            if self.auction(aid)["status"] in (
                "completed",
                "unsuccessful",
                "cancelled",
            ):
                return
            step = data.draw(
                st.sampled_from(("move", "move", "move", "wait", "decide", "arrest"))
            )
            if step == "move":
                self.move(
                    aid,
                    data.draw(bidders),
                    admit=data.draw(st.booleans()),
                    raise_=data.draw(st.integers(0, 3)),
                    honest=data.draw(st.sampled_from((True, True, True, False))),
                    move="fit",
                    stray=False,
                )
            elif step == "wait":
                self.w.advance_to(self.w.time + data.draw(st.integers(1, 40)) * SEC)
            elif step == "decide":
                choice = data.draw(
                    st.sampled_from(("confirm_payment", "disqualify", "cancel"))
                )
                args: dict[str, Any] = {"auction": aid}
                if choice != "confirm_payment":
                    args["reason"] = "r"
                self.act(FUND, "auction", choice, **args)
            else:
                self.arrest(
                    data.draw(st.sampled_from(RECORDS)), data.draw(st.booleans())
                )
            self.check()

    def check(self) -> None:
        self.no_internal_errors()
        self.one_winner_with_the_best_valid_bid()
        self.bids_follow_the_rules_of_the_kind()
        self.indexes_and_deadlines_match_status()
        self.registry_locks_match_running_auctions()

    @precondition(lambda self: self.count > 0)
    @rule(
        n=picks,
        to=st.sampled_from(("opens_at", "closes_at", "reveal_until", "due")),
        early=st.booleans(),
    )
    def jump(self, n: int, to: str, early: bool) -> None:
        """Move the clock to (or just before) one of an auction's moments."""
        a = self.auction(self.live(n))
        moment = (a["award"] or {}).get("due") if to == "due" else a.get(to)
        if moment is None:
            return
        target = moment - (2 * SEC if early else 0)
        if target > self.w.time:
            self.w.advance_to(target)

    def bid(self, aid: int, who: int, raise_: int, stray: bool) -> None:
        a = self.auction(aid)
        leader = a["leader"]
        base = a["start_price"] if leader is None else leader["amount"]
        amount = max(0, base + raise_ * max(a["min_step"], 1))
        self.act(FUND if stray else who, "auction", "bid", auction=aid, amount=amount)

    def commit(self, aid: int, who: int, offset: int) -> None:
        a = self.auction(aid)
        amount = max(0, a["start_price"] + offset * 500)
        digest = commitment_hash(aid, self.ids[who], amount, bytes([who]))
        if self.act(who, "auction", "commit", auction=aid, hash=digest).ok:
            self.sealed[(aid, who)] = amount

    def reveal(self, aid: int, who: int, honest: bool) -> None:
        amount = self.sealed.get((aid, who), 1000) + (0 if honest else 1)
        self.act(
            who, "auction", "reveal", auction=aid, amount=amount, salt=bytes([who])
        )

    def accept_price(self, aid: int, who: int, cheap: bool) -> None:
        price = self.w.query("auction", "price", id=aid, time=self.w.time + SEC)
        price = max(1, (price or 1) - (1 if cheap else 0))
        self.act(who, "auction", "accept_price", auction=aid, price=price)

    @precondition(lambda self: self.count > 0)
    @rule(
        n=picks,
        who=actors,
        mode=modes,
        decision=st.sampled_from(("confirm_payment", "disqualify", "cancel")),
    )
    def decide(self, n: int, who: int, mode: int, decision: str) -> None:
        aid = self.live(n)
        args: dict[str, Any] = {"auction": aid}
        if decision != "confirm_payment":
            args["reason"] = "r"
        self.act(self.owner(mode, who, aid), "auction", decision, **args)

    @rule(record=st.sampled_from(RECORDS), lift=st.booleans())
    def arrest(self, record: str, lift: bool) -> None:
        if lift:
            rec = self.w.query("registry", "record", register="land", id=record)
            for e in rec["encumbrances"]:
                self.act(
                    REGISTRAR,
                    "registry",
                    "release",
                    register="land",
                    record=record,
                    encumbrance=e["id"],
                    reason="lifted",
                )
            return
        self.act(
            REGISTRAR,
            "registry",
            "encumber",
            register="land",
            record=record,
            kind="arrest",
            holder="court",
            reference=f"case {self.w.height}",
        )

    @rule(gap=st.sampled_from((10, 1, 5, 30, 60, 200)))
    def wait(self, gap: int) -> None:
        self.w.advance_to(self.w.time + gap * SEC)

    # --- invariants ---------------------------------------------------------------

    def state(self) -> State:
        return State(self.w.kv, "auction")

    def auctions(self) -> list[dict[str, Any]]:
        return [self.auction(aid) for aid in range(1, self.count + 1)]

    @invariant()
    def no_internal_errors(self) -> None:
        for r in self.results:
            ok = r.ok or r.code.startswith(("auction.", "registry.", "args."))
            assert ok, (r.code, r.message)

    @invariant()
    def one_winner_with_the_best_valid_bid(self) -> None:
        for a in self.auctions():
            award = a["award"]
            excluded = {d["bidder"] for d in a["disqualified"]}
            valid = [
                b
                for b in a["bid_list"]
                if b["status"] == "valid" and b["bidder"] not in excluded
            ]
            assert self.completed.get(a["id"], 0) <= 1
            if a["status"] in ("awarded", "completed"):
                best = min(valid, key=lambda b: (-b["amount"], b["seq"]))
                assert (award["bidder"], award["seq"]) == (best["bidder"], best["seq"])
                assert award["bidder"] not in excluded
                others = [b["amount"] for b in valid if b["bidder"] != best["bidder"]]
                if a["kind"] == "sealed_second":
                    second = max(others) if others else a["start_price"]
                    assert award["price"] == second
                else:
                    assert award["price"] == best["amount"]
            else:
                assert award is None
            if a["status"] == "unsuccessful":
                assert valid == []

    @invariant()
    def bids_follow_the_rules_of_the_kind(self) -> None:
        for a in self.auctions():
            bids = a["bid_list"]
            assert len(bids) <= 12
            if a["kind"] == "english":
                amounts = [b["amount"] for b in bids]
                assert all(x >= a["start_price"] for x in amounts)
                assert all(
                    y >= x + a["min_step"]
                    for x, y in zip(amounts, amounts[1:], strict=False)
                )
                assert a["closes_at"] >= a["scheduled_close"]
            if a["kind"] in ("sealed_first", "sealed_second"):
                for b in bids:
                    assert (b["amount"] is None) == (
                        b["status"] in ("committed", "mismatch", "unrevealed")
                    )
                    if b["status"] == "committed":
                        assert a["status"] in ("open", "reveal", "cancelled")
            if a["kind"] == "dutch":
                assert len(bids) <= 1

    @invariant()
    def indexes_and_deadlines_match_status(self) -> None:
        state = self.state()
        indexed = {int(p.split("/")[1]) for p, _ in state.scan("open/")}
        assert indexed == {a["id"] for a in self.auctions() if a["status"] == "open"}
        for path, _ in state.scan("due/"):
            assert int(path.split("/")[1]) > self.w.time, path

    @invariant()
    def registry_locks_match_running_auctions(self) -> None:
        running: dict[str, str] = {}
        for a in self.auctions():
            rid = a["item"]["record"]
            if rid is not None and a["status"] in LIVE:
                assert rid not in running
                running[rid] = f"auction/{a['id']}"
        for rid in RECORDS:
            rec = self.w.query("registry", "record", register="land", id=rid)
            held = rec["sale"]["ref"] if rec["sale"] else None
            assert held == running.get(rid)
        for a in self.auctions():
            rid = a["item"]["record"]
            if a["status"] == "completed" and rid is not None:
                # nothing else moves records here, so the winner still owns it
                rec = self.w.query("registry", "record", register="land", id=rid)
                assert rec["owners"] == [{"person": a["award"]["bidder"], "share": 1}]

    def teardown(self) -> None:
        assert replay(self.w.log(), **CONFIG) == self.w.state_digest()


AuctionMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAuctionMachine = AuctionMachine.TestCase
