"""auction: award, payment, disqualification, cancel, sale by mandate, and
the queries; step scripts as in test_auction.py.

Time in these scripts is relative to ``T0``, the world's time when the scene
is built; every transaction block advances the clock by one second.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.modules.auction_scene import PLOT, SEC, Scene, terms
from tests.modules.harness import World


@pytest.fixture
def s() -> Scene:
    return Scene()


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
