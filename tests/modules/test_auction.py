"""auction: step scripts for the rules, creation and bidding of each kind
of auction, and their refusals (award and after: test_auction_award.py).

Time in these scripts is relative to ``T0``, the world's time when the scene
is built; every transaction block advances the clock by one second.
"""

from __future__ import annotations

from typing import Any

import pytest

from modules.auction import AuctionModule, commitment_hash, dutch_price
from modules.auction.rules import award_price, ranking
from modules.errors import ModuleConfigError
from tests.modules.auction_scene import PLOT, SEC, Scene, terms


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
