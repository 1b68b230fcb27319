"""petition: every state, deadline and refusal, through signed transactions."""

from __future__ import annotations

from typing import Any

import pytest

from chain.keys import PrivateKey, dev_key
from modules.errors import ModuleConfigError, ModuleError
from modules.petition import PetitionModule
from modules.petition.config import DAY_MS
from tests.modules.harness import World

ADMIN = dev_key("admin")
CONFIG = {
    "petition": {
        "addressees": {
            "president": {
                "title": "Office of the President",
                "threshold": 3,
                "window_days": 90,
                "response_days": 10,
                "moderated": True,
            },
            "kyiv_council": {
                "title": "Kyiv City Council",
                "threshold": 2,
                "window_days": 30,
                "response_days": 5,
                "moderated": False,
            },
        }
    }
}


@pytest.fixture
def world() -> World:
    return World.create(modules=["identity", "petition"], module_config=CONFIG)


@pytest.fixture
def office(world: World) -> PrivateKey:
    return world.official("Office", "petition_addressee:president")[0]


@pytest.fixture
def council(world: World) -> PrivateKey:
    return world.official("Council", "petition_addressee:kyiv_council")[0]


@pytest.fixture
def author(world: World) -> PrivateKey:
    return world.enrol("Author")[0]


def types(result: Any) -> list[str]:
    return [event.type for event in result.events]


def petition(world: World, pid: str = "pt1") -> dict[str, Any]:
    record = world.query("petition", "petition", id=pid)
    assert record is not None
    return dict(record)


def submit(world: World, key: PrivateKey, addressee: str = "president") -> str:
    result = world.ok(
        key, "petition", "submit", addressee=addressee, title="Trees", text="Plant."
    )
    return str(result.events[0].attrs["petition"])


def signers(world: World, n: int) -> list[PrivateKey]:
    return [world.enrol(f"signer{i}")[0] for i in range(n)]


def reach_threshold(world: World, author: PrivateKey, office: PrivateKey) -> str:
    pid = submit(world, author)
    world.ok(office, "petition", "publish", petition=pid)
    for key in signers(world, 3):
        world.ok(key, "petition", "sign", petition=pid)
    return pid


# --- configuration ----------------------------------------------------------


def test_empty_config_runs_no_addressees() -> None:
    assert PetitionModule({}).addressees == {}


def test_addressees_query(world: World) -> None:
    found = world.query("petition", "addressees")
    assert [a["name"] for a in found] == ["kyiv_council", "president"]
    assert found[1]["role"] == "petition_addressee:president"
    assert found[1]["window_days"] == 90


GOOD = {"title": "T", "threshold": 1, "window_days": 1, "response_days": 1}


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"addresses": {}}, "petition.addresses"),
        ({"addressees": []}, "petition.addressees"),
        ({"addressees": {"Kyiv!": GOOD}}, "petition.addressees.Kyiv!"),
        ({"addressees": {"kyiv": 5}}, "petition.addressees.kyiv"),
        ({"addressees": {"kyiv": {**GOOD, "x": 1}}}, "petition.addressees.kyiv.x"),
        (
            {"addressees": {"kyiv": {**GOOD, "title": ""}}},
            "petition.addressees.kyiv.title",
        ),
        (
            {"addressees": {"kyiv": {**GOOD, "threshold": 0}}},
            "petition.addressees.kyiv.threshold",
        ),
        (
            {"addressees": {"kyiv": {**GOOD, "threshold": "5"}}},
            "petition.addressees.kyiv.threshold",
        ),
        (
            {"addressees": {"kyiv": {**GOOD, "window_days": 0}}},
            "petition.addressees.kyiv.window_days",
        ),
        (
            {"addressees": {"kyiv": {**GOOD, "response_days": True}}},
            "petition.addressees.kyiv.response_days",
        ),
        (
            {"addressees": {"kyiv": {**GOOD, "moderated": "yes"}}},
            "petition.addressees.kyiv.moderated",
        ),
    ],
)
def test_bad_config_names_the_field(config: dict[str, Any], field: str) -> None:
    with pytest.raises(ModuleConfigError) as info:
        PetitionModule(config)
    assert info.value.field == field


# --- submission and moderation ----------------------------------------------


def test_submit_to_moderated_addressee_awaits_moderation(
    world: World, author: PrivateKey
) -> None:
    result = world.ok(
        author, "petition", "submit", addressee="president", title="T", text="x"
    )
    assert types(result) == ["petition.submitted"]
    assert result.events[0].attrs == {
        "addressee": "president",
        "author": "p2",
        "petition": "pt1",
    }
    record = petition(world)
    assert (record["status"], record["closes_at"], record["threshold"]) == (
        "moderation",
        None,
        3,
    )
    assert world.query("petition", "petitions", status="moderation")[0]["id"] == "pt1"


def test_submit_to_unmoderated_addressee_publishes_at_once(
    world: World, author: PrivateKey
) -> None:
    result = world.ok(
        author, "petition", "submit", addressee="kyiv_council", title="T", text="x"
    )
    assert types(result) == ["petition.submitted", "petition.published"]
    record = petition(world)
    assert record["status"] == "open"
    assert record["closes_at"] == world.time + 30 * DAY_MS
    assert [h["status"] for h in record["history"]] == ["moderation", "open"]


def test_submit_refusals(world: World, author: PrivateKey) -> None:
    args = {"addressee": "president", "title": "T", "text": "x"}
    world.fails("petition.not_citizen", ADMIN, "petition", "submit", **args)
    world.fails(
        "petition.unknown_addressee",
        author,
        "petition",
        "submit",
        **{**args, "addressee": "king"},
    )
    for bad in ({"title": "t" * 201}, {"text": "x" * 8001}, {"text": ""}):
        world.fails("args.invalid", author, "petition", "submit", **{**args, **bad})
    assert world.query("petition", "petition", id="pt1") is None


def test_publish_opens_the_window(
    world: World, author: PrivateKey, office: PrivateKey
) -> None:
    pid = submit(world, author)
    result = world.ok(office, "petition", "publish", petition=pid)
    assert types(result) == ["petition.published"]
    assert result.events[0].attrs["closes_at"] == world.time + 90 * DAY_MS
    record = petition(world)
    assert record["status"] == "open"
    assert record["published"]["height"] == world.height
    assert world.query("petition", "petitions", status="moderation") == []
    assert world.query("petition", "petitions")[0]["id"] == pid


def test_reject_with_code_and_reason(
    world: World, author: PrivateKey, office: PrivateKey
) -> None:
    pid = submit(world, author)
    result = world.ok(
        office, "petition", "reject", petition=pid, code="duplicate", reason="See pt0"
    )
    assert types(result) == ["petition.rejected"]
    assert result.events[0].attrs == {"code": "duplicate", "petition": pid}
    record = petition(world)
    assert record["status"] == "rejected"
    assert record["rejection"]["reason"] == "See pt0"
    assert record["rejection"]["by"] == "p3"
    world.fails(
        "petition.not_in_moderation", office, "petition", "publish", petition=pid
    )


def test_moderation_refusals(
    world: World, author: PrivateKey, office: PrivateKey, council: PrivateKey
) -> None:
    pid = submit(world, author)
    # another addressee's office, and the author, may not moderate it
    world.fails("petition.forbidden", council, "petition", "publish", petition=pid)
    world.fails("petition.forbidden", author, "petition", "publish", petition=pid)
    world.fails(
        "petition.forbidden",
        council,
        "petition",
        "reject",
        petition=pid,
        code="other",
        reason="r",
    )
    world.fails(
        "petition.unknown_petition", office, "petition", "publish", petition="pt9"
    )
    world.fails(
        "args.invalid",
        office,
        "petition",
        "reject",
        petition=pid,
        code="boring",
        reason="r",
    )
    world.fails(
        "args.invalid",
        office,
        "petition",
        "reject",
        petition=pid,
        code="other",
        reason="r" * 2001,
    )
    world.ok(office, "petition", "publish", petition=pid)
    world.fails(
        "petition.not_in_moderation", office, "petition", "publish", petition=pid
    )
    world.fails(
        "petition.not_in_moderation",
        office,
        "petition",
        "reject",
        petition=pid,
        code="unlawful",
        reason="r",
    )


# --- signing ----------------------------------------------------------------


def test_sign_once_per_person_even_after_key_rotation(
    world: World, author: PrivateKey, council: PrivateKey
) -> None:
    pid = submit(world, author, "kyiv_council")
    olena, person = world.enrol("Olena")
    result = world.ok(olena, "petition", "sign", petition=pid)
    assert types(result) == ["petition.signed"]
    assert result.events[0].attrs == {
        "person": person,
        "petition": pid,
        "signatures": 1,
    }
    world.fails("petition.already_signed", olena, "petition", "sign", petition=pid)
    new = dev_key("olena/new")
    world.ok(olena, "identity", "rotate_key", new_key=new.public)
    world.fails("petition.already_signed", new, "petition", "sign", petition=pid)
    assert petition(world)["signatures"] == 1
    signature = world.query("petition", "signature", petition=pid, person=person)
    assert signature["n"] == 1


def test_sign_refusals(world: World, author: PrivateKey, office: PrivateKey) -> None:
    pid = submit(world, author)
    olena, _ = world.enrol("Olena")
    world.fails("petition.not_open", olena, "petition", "sign", petition=pid)
    world.fails("petition.unknown_petition", olena, "petition", "sign", petition="pt9")
    world.ok(office, "petition", "publish", petition=pid)
    world.fails("petition.not_citizen", ADMIN, "petition", "sign", petition=pid)


def test_author_may_sign_and_it_counts(world: World, author: PrivateKey) -> None:
    pid = submit(world, author, "kyiv_council")
    assert petition(world)["signatures"] == 0  # not signed automatically
    world.ok(author, "petition", "sign", petition=pid)
    assert petition(world)["signatures"] == 1


def test_threshold_crossing_is_recorded_and_ends_collection(
    world: World, author: PrivateKey, office: PrivateKey
) -> None:
    pid = submit(world, author)
    world.ok(office, "petition", "publish", petition=pid)
    keys = signers(world, 4)
    for key in keys[:2]:
        world.ok(key, "petition", "sign", petition=pid)
    tx = world.sign(keys[2], "petition", "sign", petition=pid)
    [result] = world.block(tx)
    assert types(result) == ["petition.signed", "petition.threshold_reached"]
    assert result.events[1].attrs == {
        "height": world.height,
        "petition": pid,
        "response_due": world.time + 10 * DAY_MS,
        "signatures": 3,
        "time": world.time,
    }
    record = petition(world)
    assert record["status"] == "threshold_reached"
    crossed = record["threshold_reached"]
    assert (crossed["height"], crossed["time"]) == (world.height, world.time)
    assert crossed["tx"] == tx.id.hex()
    assert crossed["signer"] == "p6"
    world.fails("petition.not_open", keys[3], "petition", "sign", petition=pid)
    listed = world.query("petition", "signers", petition=pid)
    assert [s["n"] for s in listed] == [1, 2, 3]
    assert [s["person"] for s in listed] == ["p4", "p5", "p6"]
    page = world.query("petition", "signers", petition=pid, after=1, limit=1)
    assert page == [{"n": 2, "person": "p5"}]
    # As an HTTP query string carries them: text digits.
    as_text = world.query("petition", "signers", petition=pid, after="1", limit="1")
    assert as_text == page
    # the window's deadline is gone: nothing expires it
    world.advance_to(world.time + 91 * DAY_MS)
    assert petition(world)["status"] == "overdue"


def test_open_petition_expires_at_window_end(
    world: World, author: PrivateKey, council: PrivateKey
) -> None:
    pid = submit(world, author, "kyiv_council")
    olena, late = signers(world, 2)
    world.ok(olena, "petition", "sign", petition=pid)
    closes = petition(world)["closes_at"]
    world.advance_to(closes - 1)
    assert petition(world)["status"] == "open"
    # a signature in the block at closes_at is refused; the block expires it
    tx = world.sign(late, "petition", "sign", petition=pid)
    [result] = world.block(tx, advance=closes - world.time)
    assert result.code == "petition.closed"
    record = petition(world)
    assert (record["status"], record["signatures"]) == ("expired", 1)
    assert world.events[-1].type == "petition.expired"
    world.fails("petition.not_open", late, "petition", "sign", petition=pid)
    world.fails(
        "petition.cannot_withdraw", author, "petition", "withdraw", petition=pid
    )


# --- withdrawal -------------------------------------------------------------


def test_author_withdraws_in_moderation(world: World, author: PrivateKey) -> None:
    pid = submit(world, author)
    result = world.ok(author, "petition", "withdraw", petition=pid)
    assert types(result) == ["petition.withdrawn"]
    assert petition(world)["status"] == "withdrawn"


def test_author_withdraws_while_open_and_deadline_is_dropped(
    world: World, author: PrivateKey
) -> None:
    pid = submit(world, author, "kyiv_council")
    other, _ = world.enrol("Other")
    world.fails("petition.not_author", other, "petition", "withdraw", petition=pid)
    world.ok(author, "petition", "withdraw", petition=pid, reason="Solved")
    record = petition(world)
    assert (record["status"], record["withdrawal"]["reason"]) == ("withdrawn", "Solved")
    world.fails("petition.not_open", other, "petition", "sign", petition=pid)
    world.fails(
        "petition.cannot_withdraw", author, "petition", "withdraw", petition=pid
    )
    end = world.advance_to(world.time + 31 * DAY_MS)
    assert types(end) == []


def test_no_withdrawal_after_threshold(
    world: World, author: PrivateKey, office: PrivateKey
) -> None:
    pid = reach_threshold(world, author, office)
    world.fails(
        "petition.cannot_withdraw", author, "petition", "withdraw", petition=pid
    )


# --- response ---------------------------------------------------------------


def test_addressee_answers_in_time(
    world: World, author: PrivateKey, office: PrivateKey, council: PrivateKey
) -> None:
    pid = reach_threshold(world, author, office)
    args = {"petition": pid, "decision": "supported", "text": "We agree."}
    world.fails("petition.forbidden", council, "petition", "respond", **args)
    world.fails("petition.forbidden", author, "petition", "respond", **args)
    world.fails(
        "args.invalid", office, "petition", "respond", **{**args, "decision": "maybe"}
    )
    world.fails(
        "args.invalid", office, "petition", "respond", **{**args, "text": "x" * 16001}
    )
    result = world.ok(office, "petition", "respond", **args)
    assert types(result) == ["petition.answered"]
    assert result.events[0].attrs == {
        "decision": "supported",
        "late": False,
        "petition": pid,
    }
    record = petition(world)
    assert record["status"] == "answered"
    assert record["response"]["text"] == "We agree."
    world.fails("petition.not_awaiting_response", office, "petition", "respond", **args)
    # the response deadline was dropped: it never becomes overdue
    assert types(world.advance_to(world.time + 11 * DAY_MS)) == []


def test_unanswered_petition_becomes_overdue_and_stays_answerable(
    world: World, author: PrivateKey, office: PrivateKey
) -> None:
    pid = reach_threshold(world, author, office)
    due = petition(world)["response_due"]
    world.advance_to(due - 1)
    assert petition(world)["status"] == "threshold_reached"
    end = world.advance_to(due)
    assert types(end) == ["petition.overdue"]
    assert petition(world)["status"] == "overdue"
    result = world.ok(
        office,
        "petition",
        "respond",
        petition=pid,
        decision="not_supported",
        text="Outside our powers.",
    )
    assert result.events[0].attrs["late"] is True
    record = petition(world)
    assert record["response"]["late"] is True
    assert [h["status"] for h in record["history"]] == [
        "moderation",
        "open",
        "threshold_reached",
        "overdue",
        "answered",
    ]


def test_respond_before_threshold_is_refused(
    world: World, author: PrivateKey, office: PrivateKey
) -> None:
    pid = submit(world, author)
    world.fails(
        "petition.not_awaiting_response",
        office,
        "petition",
        "respond",
        petition=pid,
        decision="supported",
        text="t",
    )


# --- queries ----------------------------------------------------------------


def test_query_parameters_are_checked(world: World, author: PrivateKey) -> None:
    submit(world, author, "kyiv_council")
    for name, params in (
        ("petitions", {"status": "lost"}),
        ("petitions", {"limit": 1001}),
        ("signers", {"petition": "pt1", "after": -1}),
        ("signers", {"petition": "pt1", "after": "-1"}),
        ("signers", {"petition": "pt1", "after": "one"}),
        ("petition", {"id": 5}),
    ):
        with pytest.raises(ModuleError) as info:
            world.query("petition", name, **params)
        assert info.value.code == "query.invalid"
    assert world.query("petition", "signers", petition="pt1") == []
    assert world.query("petition", "signature", petition="pt1", person="p1") is None
