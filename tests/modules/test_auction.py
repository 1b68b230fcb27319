"""auction: step scripts for every transition and every refusal.

Time in these scripts is relative to ``T0``, the world's time when the scene
is built; every transaction block advances the clock by one second.
"""

from __future__ import annotations

from typing import Any

import pytest

from chain.keys import PrivateKey
from modules.auction import AuctionModule, commitment_hash, dutch_price
from modules.auction.rules import award_price, ranking
from modules.errors import ModuleConfigError
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


@pytest.fixture
def s() -> Scene:
    return Scene()


# --- pure rules ----------------------------------------


def test_commitment_hash_is_sha256_of_canonical_map() -> None:
    from chain import encoding
    from chain.hashing import sha256

    value = {"amount": 5, "auction": 1, "bidder": "p7", "salt": b"\x01"}
    assert commitment_hash(1, "p7", 5, b"\x01") == sha256(encoding.encode(value))
    assert commitment_hash(1, "p7", 5, b"\x01") != commitment_hash(2, "p7", 5, b"\x01")


def test_dutch_price_steps_down_to_the_floor() -> None:
    a = {
        "start_price": 100,
        "floor_price": 55,
        "min_step": 10,
        "interval": 10,
        "opens_at": 1000,
    }
    assert [dutch_price(a, t) for t in (0, 1000, 1009, 1010, 1049, 1050, 9999)] == [
        100,
        100,
        100,
        90,
        60,
        55,
        55,
    ]


def test_ranking_takes_each_bidders_best_and_ties_to_earlier() -> None:
    bids = [
        {"seq": 1, "bidder": "p1", "amount": 10, "status": "valid"},
        {"seq": 2, "bidder": "p2", "amount": 20, "status": "valid"},
        {"seq": 3, "bidder": "p3", "amount": 20, "status": "valid"},
        {"seq": 4, "bidder": "p1", "amount": 15, "status": "valid"},
        {"seq": 5, "bidder": "p4", "amount": 99, "status": "mismatch"},
    ]
    assert [b["seq"] for b in ranking(bids, set())] == [2, 3, 4]
    assert [b["seq"] for b in ranking(bids, {"p2"})] == [3, 4]
    ranked = ranking(bids, set())
    assert award_price("sealed_second", ranked, 5) == 20
    assert award_price("sealed_second", ranked[:1], 5) == 5
    assert award_price("sealed_first", ranked, 5) == 20


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ([], "auction"),
        ({"max_bids": 0}, "auction.max_bids"),
        ({"max_duration": True}, "auction.max_duration"),
        ({"fee": 1}, "auction.fee"),
    ],
)
def test_config_errors_name_the_field(config: Any, field: str) -> None:
    with pytest.raises(ModuleConfigError) as info:
        AuctionModule(config)
    assert info.value.field == field


# --- creation ----------------------------------------


def test_create_indexes_the_open_auction(s: Scene) -> None:
    aid = s.create()
    a = s.auction(aid)
    assert (a["status"], a["auctioneer"], a["bid_list"]) == ("open", s.fund_id, [])
    assert [x["id"] for x in s.w.query("auction", "open")] == [aid]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"opens_at": 0}, "auction.bad_times"),
        ({"closes_at": 0}, "auction.bad_times"),
        ({"closes_at": 10**15}, "auction.bad_times"),
        ({"min_step": 0}, "auction.bad_terms"),
        ({"reveal_period": 5}, "auction.bad_terms"),
        ({"interval": 5}, "auction.bad_terms"),
        ({"floor_price": 5}, "auction.bad_terms"),
        ({"register": "land"}, "auction.bad_item"),
        ({"register": "land", "record": "none"}, "registry.unknown_record"),
        ({"register": "ships", "record": "x"}, "registry.unknown_register"),
        ({"kind": "lottery"}, "args.invalid"),
        ({"item": ""}, "args.invalid"),
        ({"start_price": -1}, "args.invalid"),
    ],
)
def test_create_refusals(s: Scene, change: dict[str, Any], code: str) -> None:
    args = {**terms(s.t0, "english"), **change}
    s.w.fails(code, s.fund, "auction", "create", **args)


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("sealed_first", {"reveal_period": 0}),
        ("sealed_second", {"extension": 5}),
        ("dutch", {"interval": 0}),
        ("dutch", {"floor_price": 200_000}),
        ("dutch", {"min_step": 0}),
    ],
)
def test_create_refuses_terms_foreign_to_the_kind(
    s: Scene, kind: str, change: dict[str, Any]
) -> None:
    args = {**terms(s.t0, kind), **change}
    s.w.fails("auction.bad_terms", s.fund, "auction", "create", **args)


def test_only_an_auctioneer_creates_and_only_what_they_may_sell(s: Scene) -> None:
    args = terms(s.t0, "english")
    s.w.fails("auction.forbidden", s.k("a"), "auction", "create", **args)
    s.w.fails(
        "registry.cannot_sell",
        s.other,
        "auction",
        "create",
        register="land",
        record=PLOT,
        **args,
    )


def test_registry_item_is_locked_while_on_sale(s: Scene) -> None:
    aid = s.create(register="land", record=PLOT)
    assert s.plot()["sale"] == {"ref": f"auction/{aid}", "seller": s.fund_id}
    s.w.fails(
        "registry.sale_pending",
        s.fund,
        "registry",
        "offer",
        register="land",
        record=PLOT,
        to={s.p("a"): 1},
        denominator=1,
    )
    # a second auction of the same record is refused
    s.w.fails(
        "registry.sale_pending",
        s.fund,
        "auction",
        "create",
        register="land",
        record=PLOT,
        **terms(s.t0, "english"),
    )


# --- english ----------------------------------------


def test_english_bidding_rules_and_close_in_end_block(s: Scene) -> None:
    aid = s.create()
    s.w.fails("auction.not_open", s.k("a"), "auction", "bid", auction=aid, amount=10**6)
    s.at(20 * SEC)
    s.w.fails(
        "auction.bid_too_low", s.k("a"), "auction", "bid", auction=aid, amount=99_999
    )
    s.bid("a", aid, 100_000)
    s.w.fails(
        "auction.already_leading",
        s.k("a"),
        "auction",
        "bid",
        auction=aid,
        amount=200_000,
    )
    s.w.fails(
        "auction.bid_too_low", s.k("b"), "auction", "bid", auction=aid, amount=100_999
    )
    s.bid("b", aid, 101_000)
    s.bid("a", aid, 150_000)
    s.w.fails("auction.self_bid", s.fund, "auction", "bid", auction=aid, amount=10**6)
    s.w.fails(
        "auction.wrong_kind", s.k("c"), "auction", "commit", auction=aid, hash=b"x" * 32
    )
    s.w.fails("auction.unknown", s.k("c"), "auction", "bid", auction=99, amount=1)
    assert [x["id"] for x in s.w.query("auction", "bidder", person=s.p("a"))] == [aid]
    # the close needs no transaction: an empty block past the close does it
    end = s.w.advance_to(s.t0 + 100 * SEC)
    types = [e.type for e in end.events]
    assert types == ["auction.closed", "auction.awarded"]
    a = s.auction(aid)
    assert a["status"] == "awarded"
    assert (a["award"]["bidder"], a["award"]["price"]) == (s.p("a"), 150_000)
    assert s.w.query("auction", "open") == []
    s.w.fails("auction.closed", s.k("b"), "auction", "bid", auction=aid, amount=10**6)


def test_bid_in_the_block_at_close_time_is_refused(s: Scene) -> None:
    aid = s.create()
    s.at(100 * SEC)
    s.w.fails("auction.closed", s.k("a"), "auction", "bid", auction=aid, amount=10**6)


def test_anti_sniping_extends_the_close(s: Scene) -> None:
    aid = s.create()
    s.at(20 * SEC)
    s.bid("a", aid, 100_000)
    assert s.auction(aid)["closes_at"] == s.t0 + 100 * SEC
    s.at(96 * SEC)  # within the last five seconds
    result = s.bid("b", aid, 101_000)
    assert s.types(result) == ["auction.bid", "auction.extended"]
    assert s.auction(aid)["closes_at"] == s.t0 + 105 * SEC
    s.w.advance_to(s.t0 + 104 * SEC)
    assert s.auction(aid)["status"] == "open"
    s.at(104 * SEC + 500)
    s.bid("a", aid, 102_000)  # extends again, to 110 s
    s.w.advance_to(s.t0 + 109 * SEC)
    assert s.auction(aid)["status"] == "open"
    s.w.advance_to(s.t0 + 110 * SEC)
    assert s.auction(aid)["award"]["bidder"] == s.p("a")


def test_no_bid_is_unsuccessful_and_unlocks_the_record(s: Scene) -> None:
    aid = s.create(register="land", record=PLOT)
    end = s.w.advance_to(s.t0 + 100 * SEC)
    assert [e.type for e in end.events] == [
        "auction.closed",
        "registry.sale_unlocked",
        "auction.unsuccessful",
    ]
    assert s.auction(aid)["status"] == "unsuccessful"
    assert s.plot()["sale"] is None


# --- admission ----------------------------------------


def test_admission_is_required_when_declared(s: Scene) -> None:
    aid = s.create(admission=True)
    s.at(20 * SEC)
    s.w.fails(
        "auction.not_admitted", s.k("a"), "auction", "bid", auction=aid, amount=10**5
    )
    s.w.fails(
        "auction.forbidden", s.other, "auction", "admit", auction=aid, person=s.p("a")
    )
    s.w.fails(
        "auction.forbidden", s.k("a"), "auction", "admit", auction=aid, person=s.p("a")
    )
    s.w.fails(
        "auction.self_bid", s.fund, "auction", "admit", auction=aid, person=s.fund_id
    )
    s.w.fails(
        "auction.unknown_person", s.fund, "auction", "admit", auction=aid, person="p99"
    )
    s.w.ok(s.fund, "auction", "admit", auction=aid, person=s.p("a"))
    s.w.fails(
        "auction.already_admitted",
        s.fund,
        "auction",
        "admit",
        auction=aid,
        person=s.p("a"),
    )
    s.bid("a", aid, 100_000)
    assert s.auction(aid)["admitted"] == [s.p("a")]
    open_aid = s.create(opens_at=s.w.time + 10 * SEC)
    s.w.fails(
        "auction.no_admission",
        s.fund,
        "auction",
        "admit",
        auction=open_aid,
        person=s.p("a"),
    )
    s.w.advance_to(s.t0 + 100 * SEC)
    s.w.fails(
        "auction.closed", s.fund, "auction", "admit", auction=aid, person=s.p("b")
    )


# --- sealed ----------------------------------------


def test_sealed_first_price_commit_reveal_forfeit_award(s: Scene) -> None:
    aid = s.create("sealed_first")
    s.at(20 * SEC)
    s.commit("a", aid, 120_000)
    s.commit("b", aid, 150_000)
    s.commit("c", aid, 90_000)  # below the start price
    s.commit("d", aid, 200_000)  # will never reveal
    s.w.fails(
        "auction.already_committed",
        s.k("a"),
        "auction",
        "commit",
        auction=aid,
        hash=b"x" * 32,
    )
    s.w.fails(
        "auction.wrong_kind", s.k("a"), "auction", "bid", auction=aid, amount=10**6
    )
    s.w.fails(
        "auction.not_reveal_phase",
        s.k("a"),
        "auction",
        "reveal",
        auction=aid,
        amount=120_000,
        salt=b"s",
    )
    # amounts are not on chain before the reveal
    assert all(b["amount"] is None for b in s.auction(aid)["bid_list"])
    end = s.w.advance_to(s.t0 + 100 * SEC)
    assert [e.type for e in end.events][-1] == "auction.reveal_started"
    assert s.auction(aid)["status"] == "reveal"
    result = s.reveal("b", aid, 151_000)  # wrong amount: forfeited, recorded
    assert result.events[0].attrs["why"] == "mismatch"
    s.w.fails(
        "auction.already_revealed",
        s.k("b"),
        "auction",
        "reveal",
        auction=aid,
        amount=150_000,
        salt=b"s",
    )
    s.reveal("a", aid, 120_000)
    assert s.reveal("c", aid, 90_000).events[0].attrs["why"] == "low"
    s.w.fails(
        "auction.no_commitment",
        s.fund,
        "auction",
        "reveal",
        auction=aid,
        amount=1,
        salt=b"s",
    )
    end = s.w.advance_to(s.t0 + 150 * SEC)
    assert [(e.type, e.attrs.get("why")) for e in end.events][:1] == [
        ("auction.forfeited", "unrevealed")
    ]
    a = s.auction(aid)
    statuses = {b["bidder"]: b["status"] for b in a["bid_list"]}
    assert statuses == {
        s.p("a"): "valid",
        s.p("b"): "mismatch",
        s.p("c"): "below_start",
        s.p("d"): "unrevealed",
    }
    assert (a["award"]["bidder"], a["award"]["price"]) == (s.p("a"), 120_000)


def test_sealed_second_price_pays_the_second_bid(s: Scene) -> None:
    aid = s.create("sealed_second")
    s.at(20 * SEC)
    s.commit("a", aid, 130_000)
    s.commit("b", aid, 180_000)
    s.commit("c", aid, 110_000)
    s.w.advance_to(s.t0 + 100 * SEC)
    for who, amount in (("a", 130_000), ("b", 180_000), ("c", 110_000)):
        s.reveal(who, aid, amount)
    s.w.advance_to(s.t0 + 150 * SEC)
    award = s.auction(aid)["award"]
    assert (award["bidder"], award["amount"], award["price"]) == (
        s.p("b"),
        180_000,
        130_000,
    )
    # disqualifying the winner moves the award on, and the price with it
    s.w.ok(s.fund, "auction", "disqualify", auction=aid, reason="no payment")
    award = s.auction(aid)["award"]
    assert (award["bidder"], award["price"], award["round"]) == (
        s.p("a"),
        110_000,
        2,
    )


def test_sealed_second_single_bid_pays_start_price_and_ties_go_earlier(
    s: Scene,
) -> None:
    aid = s.create("sealed_second")
    s.at(20 * SEC)
    s.commit("a", aid, 170_000)
    s.w.advance_to(s.t0 + 100 * SEC)
    s.reveal("a", aid, 170_000)
    s.w.advance_to(s.t0 + 150 * SEC)
    assert s.auction(aid)["award"]["price"] == 100_000
    s.rebase()
    tie = s.create("sealed_first")
    s.at(20 * SEC)
    s.commit("c", tie, 140_000)
    s.commit("b", tie, 140_000)
    s.w.advance_to(s.t0 + 100 * SEC)
    s.reveal("b", tie, 140_000)
    s.reveal("c", tie, 140_000)
    s.w.advance_to(s.t0 + 150 * SEC)
    assert s.auction(tie)["award"]["bidder"] == s.p("c")


def test_sealed_all_deadlines_in_one_long_gap(s: Scene) -> None:
    aid = s.create("sealed_first")
    s.at(20 * SEC)
    s.commit("a", aid, 120_000)
    # one block long after close and reveal end: both are handled in order
    end = s.w.advance_to(s.t0 + 1000 * SEC)
    assert [e.type for e in end.events] == [
        "auction.closed",
        "auction.reveal_started",
        "auction.forfeited",
        "auction.unsuccessful",
    ]


def test_reveal_after_the_window_is_refused(s: Scene) -> None:
    aid = s.create("sealed_first")
    s.at(20 * SEC)
    s.commit("a", aid, 120_000)
    s.w.advance_to(s.t0 + 100 * SEC)
    s.at(150 * SEC)
    s.w.fails(
        "auction.not_reveal_phase",
        s.k("a"),
        "auction",
        "reveal",
        auction=aid,
        amount=120_000,
        salt=b"s",
    )


# --- dutch ----------------------------------------


def test_dutch_first_acceptance_wins_at_once(s: Scene) -> None:
    aid = s.create("dutch")
    assert s.w.query("auction", "price", id=aid, time=s.t0 + 35 * SEC) == 80_000
    s.at(35 * SEC)  # two intervals after opening: 80 000
    s.w.fails(
        "auction.price_changed",
        s.k("a"),
        "auction",
        "accept_price",
        auction=aid,
        price=70_000,
    )
    s.at(36 * SEC)
    result = s.w.ok(s.k("a"), "auction", "accept_price", auction=aid, price=80_000)
    assert s.types(result) == [
        "auction.price_accepted",
        "auction.closed",
        "auction.awarded",
    ]
    assert s.auction(aid)["award"]["price"] == 80_000
    s.w.fails(
        "auction.closed",
        s.k("b"),
        "auction",
        "accept_price",
        auction=aid,
        price=80_000,
    )
    # the original close is no longer scheduled
    end = s.w.advance_to(s.t0 + 100 * SEC)
    assert end.events == ()
    # disqualifying the only taker ends the dutch auction
    s.w.ok(s.fund, "auction", "disqualify", auction=aid, reason="did not pay")
    assert s.auction(aid)["status"] == "unsuccessful"


def test_dutch_without_taker_is_unsuccessful(s: Scene) -> None:
    aid = s.create("dutch")
    s.w.advance_to(s.t0 + 100 * SEC)
    assert s.auction(aid)["status"] == "unsuccessful"


# --- award, payment, disqualification, cancel ----------------------------------------


def english_with_bids(s: Scene, **kw: Any) -> int:
    aid = s.create(**kw)
    s.at(20 * SEC)
    s.bid("a", aid, 100_000)
    s.bid("b", aid, 110_000)
    s.bid("c", aid, 120_000)
    s.bid("a", aid, 130_000)
    s.w.advance_to(s.t0 + 100 * SEC)
    return aid


def test_confirm_payment_transfers_the_record_atomically(s: Scene) -> None:
    aid = english_with_bids(s, register="land", record=PLOT)
    s.w.fails("auction.forbidden", s.other, "auction", "confirm_payment", auction=aid)
    result = s.w.ok(s.fund, "auction", "confirm_payment", auction=aid)
    assert s.types(result) == ["registry.transferred", "auction.completed"]
    plot = s.plot()
    assert plot["owners"] == [{"person": s.p("a"), "share": 1}]
    assert plot["sale"] is None
    history = s.w.query("registry", "history", register="land", id=PLOT)
    assert history[-1]["award"] == f"auction/{aid}"
    assert history[-1]["price"] == 130_000
    assert s.auction(aid)["status"] == "completed"
    s.w.fails("auction.not_awarded", s.fund, "auction", "confirm_payment", auction=aid)
    winner = s.w.query("auction", "bidder", person=s.p("a"))[0]
    assert winner["winner"] and winner["status"] == "completed"


def test_disqualify_moves_award_down_to_unsuccessful(s: Scene) -> None:
    aid = english_with_bids(s, register="land", record=PLOT)
    order = []
    for _ in range(3):
        order.append(s.auction(aid)["award"]["bidder"])
        s.w.ok(s.fund, "auction", "disqualify", auction=aid, reason="no payment")
    assert order == [s.p("a"), s.p("c"), s.p("b")]
    a = s.auction(aid)
    assert a["status"] == "unsuccessful" and len(a["disqualified"]) == 3
    assert s.plot()["sale"] is None
    s.w.fails(
        "auction.not_awarded", s.fund, "auction", "disqualify", auction=aid, reason="x"
    )


def test_payment_deadline_disqualifies_in_end_block(s: Scene) -> None:
    aid = english_with_bids(s, payment_period=30 * SEC)
    due = s.auction(aid)["award"]["due"]
    assert due == s.t0 + 130 * SEC
    end = s.w.advance_to(due)
    assert [e.type for e in end.events] == ["auction.disqualified", "auction.awarded"]
    award = s.auction(aid)["award"]
    assert award["bidder"] == s.p("c") and award["due"] == due + 30 * SEC
    s.w.ok(s.fund, "auction", "confirm_payment", auction=aid)
    # the second deadline was withdrawn with the payment
    assert s.w.advance_to(due + 60 * SEC).events == ()
    assert s.auction(aid)["status"] == "completed"


def test_cancel_before_the_first_bid_only(s: Scene) -> None:
    aid = s.create(register="land", record=PLOT)
    s.w.fails(
        "auction.forbidden", s.other, "auction", "cancel", auction=aid, reason="x"
    )
    result = s.w.ok(s.fund, "auction", "cancel", auction=aid, reason="withdrawn")
    assert s.types(result) == ["registry.sale_unlocked", "auction.cancelled"]
    assert s.plot()["sale"] is None and s.w.query("auction", "open") == []
    s.w.fails("auction.finished", s.fund, "auction", "cancel", auction=aid, reason="x")
    assert s.w.advance_to(s.t0 + 100 * SEC).events == ()
    s.rebase()
    aid = s.create()
    s.at(20 * SEC)
    s.bid("a", aid, 100_000)
    s.w.fails("auction.has_bids", s.fund, "auction", "cancel", auction=aid, reason="x")


def test_arrest_blocks_award_transfer_and_allows_cancel(s: Scene) -> None:
    aid = english_with_bids(s, register="land", record=PLOT)
    s.w.ok(
        s.reg,
        "registry",
        "encumber",
        register="land",
        record=PLOT,
        kind="arrest",
        holder="Commercial court",
        reference="910/123/26",
    )
    s.w.fails("registry.encumbered", s.fund, "auction", "confirm_payment", auction=aid)
    assert s.auction(aid)["status"] == "awarded"  # the failure rolled back
    s.w.ok(s.fund, "auction", "cancel", auction=aid, reason="record arrested")
    a = s.auction(aid)
    assert a["status"] == "cancelled" and a["award"] is None
    assert a["withdrawn_award"]["bidder"] == s.p("a")
    assert s.plot()["sale"] is None


def test_sale_by_mandate_of_a_citizen_owner(s: Scene) -> None:
    s.w.ok(
        s.reg,
        "registry",
        "register",
        register="land",
        id="CITIZEN-1",
        owners={s.p("d"): 1},
        denominator=1,
        attributes={},
    )
    args = {**terms(s.t0, "english"), "register": "land", "record": "CITIZEN-1"}
    s.w.fails("registry.cannot_sell", s.fund, "auction", "create", **args)
    s.w.ok(
        s.k("d"),
        "registry",
        "mandate",
        register="land",
        record="CITIZEN-1",
        agent=s.fund_id,
    )
    aid = s.create(register="land", record="CITIZEN-1")
    s.w.fails(
        "registry.sale_pending",
        s.k("d"),
        "registry",
        "revoke_mandate",
        register="land",
        record="CITIZEN-1",
    )
    s.at(20 * SEC)
    s.bid("b", aid, 100_000)
    s.w.advance_to(s.t0 + 100 * SEC)
    s.w.ok(s.fund, "auction", "confirm_payment", auction=aid)
    rec = s.w.query("registry", "record", register="land", id="CITIZEN-1")
    assert rec["owners"] == [{"person": s.p("b"), "share": 1}]
    assert rec["mandate"] is None


def test_queries_are_safe_on_bad_parameters(s: Scene) -> None:
    assert s.w.query("auction", "auction", id="1") is None
    assert s.w.query("auction", "auction", id=42) is None
    assert s.w.query("auction", "bidder", person="") == []
    assert s.w.query("auction", "price", id=1, time=0) is None


def test_bid_limit_from_genesis_config() -> None:
    w = World.create(
        modules=["identity", "auction"], module_config={"auction": {"max_bids": 2}}
    )
    fund, _ = w.official("Fund", "auctioneer")
    t0 = w.time
    aid = int(
        w.ok(fund, "auction", "create", **terms(t0, "english"))
        .events[0]
        .attrs["auction"]
    )
    w.time = t0 + 20 * SEC
    for i, amount in enumerate((100_000, 101_000)):
        key, _ = w.enrol(f"b{i}")
        w.ok(key, "auction", "bid", auction=aid, amount=amount)
    key, _ = w.enrol("late")
    w.fails("auction.too_many_bids", key, "auction", "bid", auction=aid, amount=10**6)
