"""vote: ballots and citizens' proposals, step by step through signed txs.

Each test is a script: a description, the transactions, the expected
results, events and state.
"""

from __future__ import annotations

from typing import Any

import pytest

from chain.keys import PrivateKey, dev_key
from modules.errors import ModuleConfigError, ModuleError
from modules.vote import VoteModule
from modules.vote.config import DAY_MS
from tests.modules.harness import World

ADMIN = dev_key("admin")
HOUR = 3_600_000
CONFIG = {
    "vote": {
        "max_ballot_days": 30,
        "proposals": {
            "support_threshold": 2,
            "support_days": 5,
            "ballot_days": 2,
            "quorum": 2,
            "revote": True,
        },
    }
}


@pytest.fixture
def world() -> World:
    return World.create(modules=["identity", "vote"], module_config=CONFIG)


@pytest.fixture
def cec(world: World) -> PrivateKey:
    return world.official("CEC", "election_official")[0]


def types(result: Any) -> list[str]:
    return [event.type for event in result.events]


def create(world: World, key: PrivateKey, **overrides: Any) -> str:
    """A ballot opening in an hour and closing a day later; its id."""
    args: dict[str, Any] = {
        "question": "Rename the square?",
        "options": ["yes", "no", "abstain"],
        "opens_at": world.time + HOUR,
        "closes_at": world.time + HOUR + DAY_MS,
    }
    args.update(overrides)
    result = world.ok(key, "vote", "create_ballot", **args)
    return str(result.events[0].attrs["ballot"])


def ballot(world: World, bid: str) -> dict[str, Any]:
    record = world.query("vote", "ballot", id=bid)
    assert record is not None
    return dict(record)


def open_now(world: World, bid: str) -> None:
    world.advance_to(ballot(world, bid)["opens_at"])


def close_now(world: World, bid: str) -> Any:
    return world.advance_to(ballot(world, bid)["closes_at"])


# --- configuration ----------------------------------------------------------


def test_empty_config_takes_documented_defaults() -> None:
    module = VoteModule({})
    assert module.q_config(None, {}) == {  # type: ignore[arg-type]
        "max_ballot_days": 366,
        "proposals": {
            "ballot_days": 14,
            "quorum": 0,
            "revote": True,
            "support_days": 90,
            "support_threshold": 25000,
        },
    }


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"max_ballot_days": 0}, "vote.max_ballot_days"),
        ({"max_ballot_days": "9"}, "vote.max_ballot_days"),
        ({"colour": 1}, "vote.colour"),
        ({"proposals": []}, "vote.proposals"),
        ({"proposals": {"support_threshold": 0}}, "vote.proposals.support_threshold"),
        ({"proposals": {"support_days": True}}, "vote.proposals.support_days"),
        ({"proposals": {"revote": 1}}, "vote.proposals.revote"),
        ({"proposals": {"quorum": -1}}, "vote.proposals.quorum"),
        (
            {"max_ballot_days": 3, "proposals": {"ballot_days": 4}},
            "vote.proposals.ballot_days",
        ),
        ({"proposals": {"threshold": 5}}, "vote.proposals.threshold"),
    ],
)
def test_bad_config_names_the_field(config: dict[str, Any], field: str) -> None:
    with pytest.raises(ModuleConfigError) as info:
        VoteModule(config)
    assert info.value.field == field


# --- creating and cancelling ballots -----------------------------------------


def test_create_schedules_a_ballot(world: World, cec: PrivateKey) -> None:
    opens, closes = world.time + HOUR, world.time + 2 * DAY_MS
    result = world.ok(
        cec,
        "vote",
        "create_ballot",
        question="Build a bridge?",
        options=["yes", "no"],
        opens_at=opens,
        closes_at=closes,
        revote=True,
        quorum=10,
        eligible="citizen",
        attributes={"region": "kyiv"},
    )
    assert types(result) == ["vote.ballot_created"]
    assert result.events[0].attrs == {
        "ballot": "b1",
        "closes_at": closes,
        "opens_at": opens,
        "options": 2,
        "origin": "official",
    }
    record = ballot(world, "b1")
    assert record["status"] == "scheduled"
    assert record["mode"] == "open"
    assert record["eligibility"] == {
        "attributes": {"region": "kyiv"},
        "role": "citizen",
    }
    assert record["origin"] == {"by": "p2", "kind": "official"}
    assert (record["revote"], record["quorum"], record["tally"]) == (True, 10, None)
    assert world.query("vote", "ballots", status="scheduled")[0]["id"] == "b1"
    assert world.query("vote", "open_ballots") == []


def test_ballot_opens_in_end_block_at_its_time(world: World, cec: PrivateKey) -> None:
    bid = create(world, cec)
    world.advance_to(ballot(world, bid)["opens_at"] - 1)
    assert ballot(world, bid)["status"] == "scheduled"
    end = world.advance_to(ballot(world, bid)["opens_at"])
    assert types(end) == ["vote.ballot_opened"]
    assert ballot(world, bid)["status"] == "open"
    assert [b["id"] for b in world.query("vote", "open_ballots")] == [bid]


def test_ballot_opening_at_block_time_opens_at_once(
    world: World, cec: PrivateKey
) -> None:
    block_time = world.time + 1000  # World.do advances one second per block
    result = world.ok(
        cec,
        "vote",
        "create_ballot",
        question="Now?",
        options=["yes", "no"],
        opens_at=block_time,
        closes_at=block_time + HOUR,
    )
    assert types(result) == ["vote.ballot_created", "vote.ballot_opened"]
    assert ballot(world, "b1")["status"] == "open"


@pytest.mark.parametrize(
    ("code", "overrides"),
    [
        ("vote.duplicate_option", {"options": ["yes", "no", "yes"]}),
        ("vote.bad_eligibility", {"eligible": "Citizens!"}),
        ("vote.bad_eligibility", {"eligible": "registrar:"}),
        ("vote.opens_in_past", {"opens_at": 0}),
        ("vote.bad_window", {"closes_at": -1}),
        ("vote.too_long", {"closes_at": 31 * DAY_MS}),
        ("args.invalid", {"options": ["only"]}),
        ("args.invalid", {"options": [str(i) for i in range(17)]}),
        ("args.invalid", {"question": "?" * 501}),
        ("args.invalid", {"options": ["yes", "n" * 201]}),
        ("args.invalid", {"mode": "secret"}),
        ("args.invalid", {"quorum": -1}),
        ("args.invalid", {"attributes": {str(i): "x" for i in range(5)}}),
    ],
)
def test_create_refusals(
    world: World, cec: PrivateKey, code: str, overrides: dict[str, Any]
) -> None:
    args: dict[str, Any] = {
        "question": "Q?",
        "options": ["yes", "no"],
        "opens_at": world.time + HOUR,
        "closes_at": world.time + 2 * HOUR,
    }
    if overrides.get("closes_at") == -1:
        overrides = {"closes_at": args["opens_at"]}
    elif "closes_at" in overrides:
        overrides = {"closes_at": args["opens_at"] + overrides["closes_at"]}
    args.update(overrides)
    result = world.fails(code, cec, "vote", "create_ballot", **args)
    assert result.events == ()
    assert world.query("vote", "ballot", id="b1") is None


def test_only_election_officials_create_ballots(world: World) -> None:
    citizen, _ = world.enrol("Olena")
    world.fails(
        "vote.forbidden",
        citizen,
        "vote",
        "create_ballot",
        question="Q?",
        options=["a", "b"],
        opens_at=world.time + HOUR,
        closes_at=world.time + 2 * HOUR,
    )


def test_cancel_before_opening(world: World, cec: PrivateKey) -> None:
    bid = create(world, cec)
    citizen, _ = world.enrol("Olena")
    world.fails(
        "vote.forbidden", citizen, "vote", "cancel_ballot", ballot=bid, reason="x"
    )
    world.fails(
        "vote.unknown_ballot", cec, "vote", "cancel_ballot", ballot="b9", reason="x"
    )
    result = world.ok(cec, "vote", "cancel_ballot", ballot=bid, reason="court order")
    assert types(result) == ["vote.ballot_cancelled"]
    record = ballot(world, bid)
    assert record["status"] == "cancelled"
    assert record["cancelled"]["reason"] == "court order"
    world.fails("vote.cancelled", cec, "vote", "cancel_ballot", ballot=bid, reason="x")
    world.fails("vote.cancelled", citizen, "vote", "cast", ballot=bid, option=0)
    # its deadlines are gone: nothing happens when they pass
    assert types(world.advance_to(record["closes_at"] + 1)) == []
    assert ballot(world, bid)["status"] == "cancelled"


def test_cannot_cancel_once_open(world: World, cec: PrivateKey) -> None:
    bid = create(world, cec)
    opens = ballot(world, bid)["opens_at"]
    # the block at opens_at runs its transactions before its end-of-block step:
    # the window, not the status, decides
    tx = world.sign(cec, "vote", "cancel_ballot", ballot=bid, reason="late")
    [result] = world.block(tx, advance=opens - world.time)
    assert result.code == "vote.already_open"
    world.fails(
        "vote.already_open", cec, "vote", "cancel_ballot", ballot=bid, reason="x"
    )


# --- casting votes -------------------------------------------------------------


def test_cast_in_window_records_the_persons_vote(world: World, cec: PrivateKey) -> None:
    bid = create(world, cec)
    olena, pid = world.enrol("Olena")
    world.fails("vote.not_open", olena, "vote", "cast", ballot=bid, option=0)
    open_now(world, bid)
    result = world.ok(olena, "vote", "cast", ballot=bid, option=1)
    assert types(result) == ["vote.vote_cast"]
    assert result.events[0].attrs == {
        "ballot": bid,
        "option": 1,
        "person": pid,
        "revote": False,
    }
    vote = world.query("vote", "vote", ballot=bid, person=pid)
    assert (vote["option"], vote["changes"], vote["time"]) == (1, 0, world.time)
    assert ballot(world, bid)["voters"] == 1


def test_cast_refusals(world: World, cec: PrivateKey) -> None:
    bid = create(world, cec)
    olena, _ = world.enrol("Olena")
    open_now(world, bid)
    world.fails("vote.unknown_ballot", olena, "vote", "cast", ballot="b7", option=0)
    world.fails("vote.bad_option", olena, "vote", "cast", ballot=bid, option=3)
    world.fails("args.invalid", olena, "vote", "cast", ballot=bid, option=16)
    world.fails("args.invalid", olena, "vote", "cast", ballot=bid, option=-1)
    # the genesis authority is an agency, not a citizen
    world.fails("vote.not_eligible", ADMIN, "vote", "cast", ballot=bid, option=0)
    world.ok(olena, "vote", "cast", ballot=bid, option=0)
    world.fails("vote.already_voted", olena, "vote", "cast", ballot=bid, option=1)
    assert world.query("vote", "vote", ballot=bid, person="p3")["option"] == 0


def test_one_vote_per_person_across_key_rotation(world: World, cec: PrivateKey) -> None:
    bid = create(world, cec)
    old, pid = world.enrol("Olena")
    open_now(world, bid)
    world.ok(old, "vote", "cast", ballot=bid, option=0)
    new = dev_key("olena/new")
    world.ok(old, "identity", "rotate_key", new_key=new.public)
    world.fails("vote.already_voted", new, "vote", "cast", ballot=bid, option=1)
    assert ballot(world, bid)["voters"] == 1


def test_revote_replaces_the_vote(world: World, cec: PrivateKey) -> None:
    bid = create(world, cec, revote=True)
    olena, pid = world.enrol("Olena")
    open_now(world, bid)
    world.ok(olena, "vote", "cast", ballot=bid, option=0)
    result = world.ok(olena, "vote", "cast", ballot=bid, option=2)
    assert result.events[0].attrs["revote"] is True
    world.fails("vote.unchanged", olena, "vote", "cast", ballot=bid, option=2)
    vote = world.query("vote", "vote", ballot=bid, person=pid)
    assert (vote["option"], vote["changes"]) == (2, 1)
    assert ballot(world, bid)["voters"] == 1
    tally = close_now(world, bid).events[0].attrs
    assert tally["counts"] == [0, 0, 1]


def test_no_vote_at_or_after_closing_time(world: World, cec: PrivateKey) -> None:
    bid = create(world, cec)
    olena, _ = world.enrol("Olena")
    open_now(world, bid)
    closes = ballot(world, bid)["closes_at"]
    tx = world.sign(olena, "vote", "cast", ballot=bid, option=0)
    [result] = world.block(tx, advance=closes - world.time)
    assert result.code == "vote.closed"
    assert ballot(world, bid)["status"] == "closed"
    world.fails("vote.closed", olena, "vote", "cast", ballot=bid, option=0)


def test_eligibility_by_role_and_attribute(world: World, cec: PrivateKey) -> None:
    bid = create(
        world, cec, eligible="election_official", attributes={"region": "kyiv"}
    )
    lviv_official, _ = world.official("Taras", "election_official")
    kyiv_citizen, _ = world.enrol("Olena", region="kyiv")
    kyiv_official, kpid = world.official("Iryna", "election_official")
    world.ok(
        ADMIN, "identity", "set_attributes", person=kpid, attributes={"region": "kyiv"}
    )
    open_now(world, bid)
    world.fails(
        "vote.not_eligible", lviv_official, "vote", "cast", ballot=bid, option=0
    )
    world.fails("vote.not_eligible", kyiv_citizen, "vote", "cast", ballot=bid, option=0)
    world.ok(kyiv_official, "vote", "cast", ballot=bid, option=0)


def test_eligibility_is_judged_when_the_vote_is_cast(
    world: World, cec: PrivateKey
) -> None:
    bid = create(world, cec, attributes={"region": "kyiv"}, revote=True)
    olena, pid = world.enrol("Olena", region="kyiv")
    open_now(world, bid)
    world.ok(olena, "vote", "cast", ballot=bid, option=0)
    world.ok(
        ADMIN, "identity", "set_attributes", person=pid, attributes={"region": "lviv"}
    )
    # after moving she may not change her vote, but the vote she cast stands
    world.fails("vote.not_eligible", olena, "vote", "cast", ballot=bid, option=1)
    assert close_now(world, bid).events[0].attrs["counts"] == [1, 0, 0]


# --- the tally ------------------------------------------------------------------


def test_tally_at_closing_is_final(world: World, cec: PrivateKey) -> None:
    bid = create(world, cec, quorum=3)
    voters = [world.enrol(f"voter{i}")[0] for i in range(4)]
    open_now(world, bid)
    for key, option in zip(voters, [0, 1, 1, 2], strict=True):
        world.ok(key, "vote", "cast", ballot=bid, option=option)
    end = close_now(world, bid)
    assert types(end) == ["vote.ballot_closed"]
    assert end.events[0].attrs == {
        "ballot": bid,
        "counts": [1, 2, 1],
        "leading": [1],
        "quorum_met": True,
        "turnout": 4,
    }
    record = ballot(world, bid)
    assert record["status"] == "closed"
    tally = record["tally"]
    assert tally["shares_bp"] == [2500, 5000, 2500]
    assert tally["closed"]["height"] == world.height
    # nothing changes it afterwards
    world.advance_to(world.time + DAY_MS)
    assert ballot(world, bid)["tally"] == tally
    assert world.query("vote", "ballots", status="closed")[0]["id"] == bid


def test_tally_without_quorum_and_with_a_tie(world: World, cec: PrivateKey) -> None:
    bid = create(world, cec, quorum=5)
    voters = [world.enrol(f"voter{i}")[0] for i in range(3)]
    open_now(world, bid)
    for key, option in zip(voters, [0, 2, 1], strict=True):
        world.ok(key, "vote", "cast", ballot=bid, option=option)
    tally = close_now(world, bid).events[0].attrs
    assert (tally["quorum_met"], tally["leading"], tally["turnout"]) == (
        False,
        [0, 1, 2],
        3,
    )
    assert ballot(world, bid)["tally"]["shares_bp"] == [3333, 3333, 3333]


def test_tally_of_an_empty_ballot(world: World, cec: PrivateKey) -> None:
    bid = create(world, cec)
    record = ballot(world, bid)
    # one long block skips both deadlines: it opens, then closes, in order
    end = world.advance_to(record["closes_at"] + HOUR)
    assert types(end) == ["vote.ballot_opened", "vote.ballot_closed"]
    tally = ballot(world, bid)["tally"]
    assert (tally["counts"], tally["leading"], tally["turnout"]) == ([0, 0, 0], [], 0)
    assert tally["quorum_met"] is True  # no quorum was set


# --- citizens' proposals --------------------------------------------------------


def propose(world: World, key: PrivateKey) -> str:
    result = world.ok(key, "vote", "propose", title="Car-free Khreshchatyk", text="…")
    return str(result.events[0].attrs["proposal"])


def test_propose_opens_support_collection(world: World) -> None:
    olena, pid = world.enrol("Olena")
    result = world.ok(olena, "vote", "propose", title="Parks", text="More parks.")
    assert types(result) == ["vote.proposed"]
    record = world.query("vote", "proposal", id="cp1")
    assert record["author"] == pid
    assert record["status"] == "collecting"
    assert record["support_until"] == world.time + 5 * DAY_MS
    assert record["threshold"] == 2
    assert [p["id"] for p in world.query("vote", "proposals")] == ["cp1"]


def test_propose_refusals(world: World) -> None:
    world.fails("vote.not_citizen", ADMIN, "vote", "propose", title="T", text="x")
    olena, _ = world.enrol("Olena")
    world.fails("args.invalid", olena, "vote", "propose", title="T" * 201, text="x")
    world.fails("args.invalid", olena, "vote", "propose", title="T", text="x" * 4001)
    world.fails("args.invalid", olena, "vote", "propose", title="", text="x")


def test_support_reaching_threshold_makes_a_ballot(world: World) -> None:
    author, _ = world.enrol("Author")
    first, p1 = world.enrol("First")
    second, p2 = world.enrol("Second")
    cp = propose(world, author)
    world.fails("vote.own_proposal", author, "vote", "support", proposal=cp)
    world.fails("vote.unknown_proposal", first, "vote", "support", proposal="cp9")
    world.fails("vote.not_citizen", ADMIN, "vote", "support", proposal=cp)
    result = world.ok(first, "vote", "support", proposal=cp)
    assert types(result) == ["vote.supported"]
    world.fails("vote.already_supported", first, "vote", "support", proposal=cp)
    result = world.ok(second, "vote", "support", proposal=cp)
    assert types(result) == [
        "vote.supported",
        "vote.ballot_created",
        "vote.ballot_opened",
        "vote.proposal_accepted",
    ]
    record = world.query("vote", "proposal", id=cp)
    assert (record["status"], record["ballot"], record["supporters"]) == (
        "accepted",
        "b1",
        2,
    )
    assert world.query("vote", "supporters", proposal=cp) == sorted([p1, p2])
    made = ballot(world, "b1")
    assert made["options"] == ["yes", "no"]
    assert made["origin"] == {"kind": "proposal", "proposal": cp}
    assert made["status"] == "open"
    assert (made["opens_at"], made["closes_at"]) == (
        world.time,
        world.time + 2 * DAY_MS,
    )
    assert (made["revote"], made["quorum"]) == (True, 2)
    third, _ = world.enrol("Third")
    world.fails("vote.support_closed", third, "vote", "support", proposal=cp)
    # its support deadline was removed: nothing archives it later
    world.ok(first, "vote", "cast", ballot="b1", option=0)
    world.ok(author, "vote", "cast", ballot="b1", option=0)
    end = world.advance_to(world.time + 5 * DAY_MS)
    assert types(end) == ["vote.ballot_closed"]
    assert end.events[0].attrs["quorum_met"] is True
    assert world.query("vote", "proposal", id=cp)["status"] == "accepted"


def test_proposal_short_of_threshold_is_archived(world: World) -> None:
    author, _ = world.enrol("Author")
    first, _ = world.enrol("First")
    cp = propose(world, author)
    world.ok(first, "vote", "support", proposal=cp)
    until = world.query("vote", "proposal", id=cp)["support_until"]
    late, _ = world.enrol("Late")
    tx = world.sign(late, "vote", "support", proposal=cp)
    [result] = world.block(tx, advance=until - world.time)
    assert result.code == "vote.support_closed"
    record = world.query("vote", "proposal", id=cp)
    assert (record["status"], record["supporters"]) == ("archived", 1)
    assert [e.type for e in world.events[-1:]] == ["vote.proposal_archived"]
    world.fails("vote.support_closed", late, "vote", "support", proposal=cp)
    assert world.query("vote", "proposals", status="archived")[0]["id"] == cp
    assert world.query("vote", "ballot", id="b1") is None


# --- queries ------------------------------------------------------------------


def test_query_paging_and_bad_parameters(world: World, cec: PrivateKey) -> None:
    for _ in range(3):
        create(world, cec)
    ids = [b["id"] for b in world.query("vote", "ballots", status="scheduled")]
    assert ids == ["b1", "b2", "b3"]
    page = world.query("vote", "ballots", status="scheduled", after="b1", limit=1)
    assert [b["id"] for b in page] == ["b2"]
    # Over HTTP a limit arrives as text: its decimal digits count the same.
    as_text = world.query("vote", "ballots", status="scheduled", after="b1", limit="1")
    assert as_text == page
    for params in (
        {"status": "lost"},
        {"limit": 0},
        {"limit": "0"},
        {"limit": "-5"},
        {"limit": "5.0"},
        {"limit": " 5"},
        {"limit": True},
        {"after": 3},
        {"after": "a/b"},
    ):
        with pytest.raises(ModuleError) as info:
            world.query("vote", "ballots", **params)
        assert info.value.code == "query.invalid"
    with pytest.raises(ModuleError):
        world.query("vote", "proposals", status="lost")
    assert world.query("vote", "vote", ballot="b9", person="p1") is None
    assert world.query("vote", "config")["proposals"]["support_threshold"] == 2
