"""registry: step scripts for every transition and every refusal.

Each test drives the module through signed transactions on a World; the
comment above a step says what it checks when that is not obvious.
"""

from __future__ import annotations

from typing import Any

import pytest

from chain.keys import PrivateKey
from modules.errors import ModuleConfigError, ModuleError
from modules.registry import RegistryModule
from tests.modules.harness import World

REGISTERS = {
    "land": {"title": "State land cadastre", "transfer_approval": True},
    "vehicles": {"title": "Vehicle register", "transfer_approval": False},
}
LAND = "8000000000:75:123:0045"


class Scene:
    """A world with a land registrar, a vehicle registrar and four citizens."""

    def __init__(self) -> None:
        self.w = World.create(
            modules=["identity", "registry"],
            module_config={"registry": {"registers": REGISTERS}},
        )
        self.reg, self.reg_id = self.w.official("Registrar", "registrar:land")
        self.vreg, _ = self.w.official("Vehicles", "registrar:vehicles")
        self.keys: dict[str, PrivateKey] = {}
        self.ids: dict[str, str] = {}
        for name in ("olena", "petro", "iryna", "taras"):
            key, pid = self.w.enrol(name)
            self.keys[name], self.ids[name] = key, pid

    def k(self, name: str) -> PrivateKey:
        return self.keys[name]

    def p(self, name: str) -> str:
        return self.ids[name]

    def register_land(self, rid: str = LAND, **owners: int) -> None:
        owners = owners or {"olena": 1, "petro": 1}
        self.w.ok(
            self.reg,
            "registry",
            "register",
            register="land",
            id=rid,
            owners={self.p(n): s for n, s in owners.items()},
            denominator=sum(owners.values()),
            attributes={"area_m2": "1200", "purpose": "housing"},
        )

    def record(self, rid: str = LAND, register: str = "land") -> Any:
        return self.w.query("registry", "record", register=register, id=rid)

    def offer(self, by: str, to: dict[str, int], rid: str = LAND, **kw: Any) -> int:
        result = self.w.ok(
            self.k(by),
            "registry",
            "offer",
            register=kw.pop("register", "land"),
            record=rid,
            to={self.p(n): s for n, s in to.items()},
            denominator=sum(to.values()),
            **kw,
        )
        return int(
            next(e for e in result.events if e.type == "registry.offered").attrs[
                "offer"
            ]
        )

    def types(self, result: Any) -> list[str]:
        return [e.type for e in result.events]


@pytest.fixture
def s() -> Scene:
    return Scene()


# --- configuration ----------------------------------------


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({}, "registry.registers"),
        ({"registers": {}}, "registry.registers"),
        ({"registers": REGISTERS, "x": 1}, "registry.x"),
        ({"registers": {"Land": {"title": "t"}}}, "registry.registers.Land"),
        ({"registers": {"land": {"title": ""}}}, "registry.registers.land.title"),
        (
            {"registers": {"land": {"title": "t", "transfer_approval": 1}}},
            "registry.registers.land.transfer_approval",
        ),
        (
            {"registers": {"land": {"title": "t", "fee": 5}}},
            "registry.registers.land.fee",
        ),
        ({"registers": {"land": []}}, "registry.registers.land"),
    ],
)
def test_config_errors_name_the_field(config: Any, field: str) -> None:
    with pytest.raises(ModuleConfigError) as info:
        RegistryModule(config)
    assert info.value.field == field


def test_registers_query_lists_the_configuration(s: Scene) -> None:
    names = [r["name"] for r in s.w.query("registry", "registers")]
    assert names == ["land", "vehicles"]


# --- register ----------------------------------------


def test_register_creates_record_history_and_owner_index(s: Scene) -> None:
    s.register_land(olena=2, petro=1)
    rec = s.record()
    assert rec["owners"] == [
        {"person": s.p("olena"), "share": 2},
        {"person": s.p("petro"), "share": 1},
    ]
    assert rec["denominator"] == 3
    assert (rec["version"], rec["status"]) == (1, "active")
    history = s.w.query("registry", "history", register="land", id=LAND)
    assert [h["change"] for h in history] == ["registered"]
    assert history[0]["by"] == s.reg_id and len(history[0]["tx"]) == 64
    mine = s.w.query("registry", "owner", person=s.p("olena"))
    assert mine == [
        {
            "denominator": 3,
            "id": LAND,
            "register": "land",
            "share": 2,
            "status": "active",
        }
    ]


def test_register_refusals(s: Scene) -> None:
    s.register_land()
    args: dict[str, Any] = {
        "register": "land",
        "id": "X-1",
        "owners": {s.p("olena"): 1},
        "denominator": 1,
        "attributes": {},
    }
    w = s.w
    w.fails("registry.forbidden", s.k("olena"), "registry", "register", **args)
    # a registrar of another register is no registrar here
    w.fails("registry.forbidden", s.vreg, "registry", "register", **args)
    w.fails(
        "registry.unknown_register",
        s.reg,
        "registry",
        "register",
        **{**args, "register": "ships"},
    )
    w.fails("registry.exists", s.reg, "registry", "register", **{**args, "id": LAND})
    w.fails("registry.bad_id", s.reg, "registry", "register", **{**args, "id": "a/b"})
    w.fails(
        "registry.bad_shares",
        s.reg,
        "registry",
        "register",
        **{**args, "denominator": 2},
    )
    w.fails(
        "registry.bad_shares", s.reg, "registry", "register", **{**args, "owners": {}}
    )
    w.fails(
        "registry.unknown_person",
        s.reg,
        "registry",
        "register",
        **{**args, "owners": {"p999": 1}},
    )
    w.fails(
        "args.invalid",
        s.reg,
        "registry",
        "register",
        **{**args, "owners": {s.p("olena"): 0}},
    )
    w.fails(
        "args.invalid",
        s.reg,
        "registry",
        "register",
        **{**args, "attributes": {"note": "x" * 257}},
    )


# --- correct and archive ----------------------------------------


def test_correct_keeps_old_value_in_history(s: Scene) -> None:
    s.register_land()
    new = {"area_m2": "1250", "purpose": "housing"}
    result = s.w.ok(
        s.reg,
        "registry",
        "correct",
        register="land",
        record=LAND,
        attributes=new,
        reason="survey 2026-02",
    )
    assert s.types(result) == ["registry.corrected"]
    assert s.record()["attributes"] == new and s.record()["version"] == 2
    entry = s.w.query("registry", "history", register="land", id=LAND)[-1]
    assert entry["old"]["area_m2"] == "1200" and entry["reason"] == "survey 2026-02"
    s.w.fails(
        "registry.no_change",
        s.reg,
        "registry",
        "correct",
        register="land",
        record=LAND,
        attributes=new,
        reason="again",
    )
    s.w.fails(
        "registry.forbidden",
        s.k("olena"),
        "registry",
        "correct",
        register="land",
        record=LAND,
        attributes={},
        reason="mine",
    )
    s.w.fails(
        "registry.unknown_record",
        s.reg,
        "registry",
        "correct",
        register="land",
        record="nope",
        attributes={},
        reason="x",
    )


def test_archive_makes_record_read_only(s: Scene) -> None:
    s.register_land()
    s.w.ok(s.reg, "registry", "archive", register="land", record=LAND, reason="merged")
    assert s.record()["status"] == "archived"
    s.w.fails(
        "registry.archived",
        s.reg,
        "registry",
        "archive",
        register="land",
        record=LAND,
        reason="again",
    )
    s.w.fails(
        "registry.archived",
        s.k("olena"),
        "registry",
        "offer",
        register="land",
        record=LAND,
        to={s.p("iryna"): 1},
        denominator=1,
    )
    s.w.fails(
        "registry.archived",
        s.reg,
        "registry",
        "encumber",
        register="land",
        record=LAND,
        kind="lease",
        holder="x",
        reference="y",
    )


def test_archive_refused_under_arrest(s: Scene) -> None:
    s.register_land()
    s.w.ok(
        s.reg,
        "registry",
        "encumber",
        register="land",
        record=LAND,
        kind="arrest",
        holder="District court",
        reference="case 2-17/2026",
    )
    s.w.fails(
        "registry.encumbered",
        s.reg,
        "registry",
        "archive",
        register="land",
        record=LAND,
        reason="x",
    )


# --- encumbrances ----------------------------------------


def encumber(s: Scene, kind: str, ref: str = "ref-1") -> Any:
    return s.w.ok(
        s.reg,
        "registry",
        "encumber",
        register="land",
        record=LAND,
        kind=kind,
        holder="Oschadbank",
        reference=ref,
    )


def test_encumber_and_release(s: Scene) -> None:
    s.register_land()
    result = encumber(s, "mortgage")
    assert result.events[0].attrs["encumbrance"] == 1
    encumber(s, "lease", "lease-7")
    s.w.fails(
        "registry.duplicate_encumbrance",
        s.reg,
        "registry",
        "encumber",
        register="land",
        record=LAND,
        kind="mortgage",
        holder="Other bank",
        reference="ref-1",
    )
    assert [e["kind"] for e in s.record()["encumbrances"]] == ["mortgage", "lease"]
    s.w.ok(
        s.reg,
        "registry",
        "release",
        register="land",
        record=LAND,
        encumbrance=1,
        reason="loan repaid",
    )
    assert [e["id"] for e in s.record()["encumbrances"]] == [2]
    entry = s.w.query("registry", "history", register="land", id=LAND)[-1]
    assert entry["change"] == "released" and entry["encumbrance"]["kind"] == "mortgage"
    s.w.fails(
        "registry.unknown_encumbrance",
        s.reg,
        "registry",
        "release",
        register="land",
        record=LAND,
        encumbrance=1,
        reason="again",
    )
    # numbers are never reused
    assert encumber(s, "mortgage", "ref-9").events[0].attrs["encumbrance"] == 3


# --- transfer ----------------------------------------


def test_transfer_with_approval_runs_every_step(s: Scene) -> None:
    s.register_land()  # olena 1/2, petro 1/2
    oid = s.offer("olena", {"iryna": 2, "taras": 1}, price=150_000_00)
    offer = s.w.query("registry", "offer", id=oid)
    assert offer["status"] == "consenting"
    assert list(offer["consents"]) == [s.p("olena")]
    # recipients cannot accept until every owner has signed the same offer
    s.w.fails("registry.not_ready", s.k("iryna"), "registry", "accept", offer=oid)
    s.w.fails("registry.not_owner", s.k("taras"), "registry", "consent", offer=oid)
    s.w.fails(
        "registry.already_consented", s.k("olena"), "registry", "consent", offer=oid
    )
    result = s.w.ok(s.k("petro"), "registry", "consent", offer=oid)
    assert s.types(result) == ["registry.consented", "registry.owners_consented"]
    s.w.fails("registry.not_recipient", s.k("olena"), "registry", "accept", offer=oid)
    s.w.ok(s.k("iryna"), "registry", "accept", offer=oid)
    s.w.fails(
        "registry.already_accepted", s.k("iryna"), "registry", "accept", offer=oid
    )
    s.w.fails("registry.not_ready", s.reg, "registry", "approve", offer=oid)
    result = s.w.ok(s.k("taras"), "registry", "accept", offer=oid)
    assert "registry.awaiting_approval" in s.types(result)
    assert s.record()["owners"][0]["person"] == s.p("olena")  # not yet
    s.w.fails("registry.forbidden", s.vreg, "registry", "approve", offer=oid)
    result = s.w.ok(s.reg, "registry", "approve", offer=oid)
    assert s.types(result) == ["registry.transferred"]
    rec = s.record()
    assert rec["owners"] == [
        {"person": s.p("iryna"), "share": 2},
        {"person": s.p("taras"), "share": 1},
    ]
    assert rec["denominator"] == 3 and rec["offer"] is None
    assert s.w.query("registry", "owner", person=s.p("olena")) == []
    assert s.w.query("registry", "owner", person=s.p("iryna"))[0]["share"] == 2
    last = s.w.query("registry", "history", register="land", id=LAND)[-1]
    assert last["change"] == "transferred" and last["offer"] == oid
    assert last["price"] == 150_000_00 and len(last["old_owners"]) == 2
    s.w.fails("registry.offer_closed", s.reg, "registry", "approve", offer=oid)
    s.w.fails("registry.unknown_offer", s.reg, "registry", "approve", offer=99)


def test_transfer_without_approval_executes_on_last_acceptance(s: Scene) -> None:
    s.w.ok(
        s.vreg,
        "registry",
        "register",
        register="vehicles",
        id="AA1234BB",
        owners={s.p("olena"): 1},
        denominator=1,
        attributes={"vin": "WVWZZZ1JZXW000001"},
    )
    oid = s.offer("olena", {"petro": 1}, rid="AA1234BB", register="vehicles")
    result = s.w.ok(s.k("petro"), "registry", "accept", offer=oid)
    assert "registry.transferred" in s.types(result)
    rec = s.record("AA1234BB", "vehicles")
    assert rec["owners"] == [{"person": s.p("petro"), "share": 1}]


def test_co_owner_buying_out_needs_no_acceptance_from_herself(s: Scene) -> None:
    s.register_land()
    oid = s.offer("olena", {"olena": 1})
    assert s.w.query("registry", "offer", id=oid)["needs_acceptance"] == []
    result = s.w.ok(s.k("petro"), "registry", "consent", offer=oid)
    assert s.types(result)[-1] == "registry.awaiting_approval"
    s.w.ok(s.reg, "registry", "approve", offer=oid)
    assert s.record()["owners"] == [{"person": s.p("olena"), "share": 1}]


def test_offer_refusals(s: Scene) -> None:
    s.register_land()
    w = s.w
    args = {"register": "land", "record": LAND, "denominator": 1}
    w.fails(
        "registry.not_owner",
        s.k("iryna"),
        "registry",
        "offer",
        to={s.p("iryna"): 1},
        **args,
    )
    w.fails(
        "registry.no_change",
        s.k("olena"),
        "registry",
        "offer",
        register="land",
        record=LAND,
        to={s.p("olena"): 1, s.p("petro"): 1},
        denominator=2,
    )
    w.fails(
        "registry.bad_shares",
        s.k("olena"),
        "registry",
        "offer",
        register="land",
        record=LAND,
        to={s.p("iryna"): 1},
        denominator=2,
    )
    s.offer("olena", {"iryna": 1})
    w.fails(
        "registry.offer_pending",
        s.k("petro"),
        "registry",
        "offer",
        to={s.p("taras"): 1},
        **args,
    )


def test_reject_and_cancel_close_the_offer(s: Scene) -> None:
    s.register_land(olena=1)
    oid = s.offer("olena", {"iryna": 1})
    s.w.ok(s.k("iryna"), "registry", "accept", offer=oid)
    s.w.fails(
        "registry.forbidden",
        s.k("olena"),
        "registry",
        "reject",
        offer=oid,
        reason="x",
    )
    s.w.ok(s.reg, "registry", "reject", offer=oid, reason="price below valuation")
    offer = s.w.query("registry", "offer", id=oid)
    assert offer["status"] == "rejected" and offer["reason"].startswith("price")
    # a new offer is possible once the old one is closed
    oid = s.offer("olena", {"taras": 1})
    s.w.fails(
        "registry.not_party",
        s.k("petro"),
        "registry",
        "cancel_offer",
        offer=oid,
        reason="x",
    )
    # a recipient may decline
    s.w.ok(s.k("taras"), "registry", "cancel_offer", offer=oid, reason="changed mind")
    assert s.w.query("registry", "offer", id=oid)["status"] == "cancelled"
    s.w.fails(
        "registry.offer_closed",
        s.k("olena"),
        "registry",
        "cancel_offer",
        offer=oid,
        reason="x",
    )
    oid = s.offer("olena", {"taras": 1})
    s.w.ok(s.k("olena"), "registry", "cancel_offer", offer=oid, reason="withdrawn")
    s.w.fails("registry.offer_closed", s.k("taras"), "registry", "accept", offer=oid)


@pytest.mark.parametrize("kind", ["arrest", "mortgage"])
def test_arrest_or_mortgage_blocks_every_transfer_step(s: Scene, kind: str) -> None:
    s.register_land()
    oid = s.offer("olena", {"iryna": 1})
    # registering the encumbrance voids the open offer: nobody consented to it
    result = encumber(s, kind)
    assert s.types(result) == ["registry.offer_voided", "registry.encumbered"]
    assert s.w.query("registry", "offer", id=oid)["status"] == "void"
    s.w.fails("registry.offer_closed", s.k("petro"), "registry", "consent", offer=oid)
    s.w.fails(
        "registry.encumbered",
        s.k("olena"),
        "registry",
        "offer",
        register="land",
        record=LAND,
        to={s.p("iryna"): 1},
        denominator=1,
    )
    s.w.ok(
        s.reg,
        "registry",
        "release",
        register="land",
        record=LAND,
        encumbrance=1,
        reason="lifted",
    )
    s.offer("olena", {"iryna": 1})


def test_lease_does_not_block_transfer(s: Scene) -> None:
    s.register_land(olena=1)
    encumber(s, "lease")
    oid = s.offer("olena", {"iryna": 1})
    s.w.ok(s.k("iryna"), "registry", "accept", offer=oid)
    s.w.ok(s.reg, "registry", "approve", offer=oid)
    rec = s.record()
    assert rec["owners"][0]["person"] == s.p("iryna")
    assert rec["encumbrances"][0]["kind"] == "lease"  # the lease survives


def test_correction_voids_open_offer(s: Scene) -> None:
    s.register_land(olena=1)
    oid = s.offer("olena", {"iryna": 1})
    s.w.ok(
        s.reg,
        "registry",
        "correct",
        register="land",
        record=LAND,
        attributes={"area_m2": "900"},
        reason="survey",
    )
    assert s.w.query("registry", "offer", id=oid)["status"] == "void"
    s.w.fails("registry.offer_closed", s.k("iryna"), "registry", "accept", offer=oid)


# --- mandates ----------------------------------------


def mandate(s: Scene, by: str, agent: str) -> Any:
    return s.w.ok(
        s.k(by),
        "registry",
        "mandate",
        register="land",
        record=LAND,
        agent=s.p(agent),
    )


def test_mandate_needs_every_owner_and_can_be_revoked(s: Scene) -> None:
    s.register_land()
    result = mandate(s, "olena", "taras")
    assert s.types(result) == ["registry.mandate_consented"]
    assert not s.record()["mandate"]["in_force"]
    s.w.fails(
        "registry.mandate_conflict",
        s.k("petro"),
        "registry",
        "mandate",
        register="land",
        record=LAND,
        agent=s.p("iryna"),
    )
    s.w.fails(
        "registry.already_consented",
        s.k("olena"),
        "registry",
        "mandate",
        register="land",
        record=LAND,
        agent=s.p("taras"),
    )
    result = mandate(s, "petro", "taras")
    assert s.types(result)[-1] == "registry.mandate_granted"
    assert s.record()["mandate"]["in_force"]
    s.w.fails(
        "registry.not_owner",
        s.k("iryna"),
        "registry",
        "revoke_mandate",
        register="land",
        record=LAND,
    )
    s.w.ok(s.k("petro"), "registry", "revoke_mandate", register="land", record=LAND)
    assert s.record()["mandate"] is None
    s.w.fails(
        "registry.no_mandate",
        s.k("petro"),
        "registry",
        "revoke_mandate",
        register="land",
        record=LAND,
    )


def test_mandate_refused_while_offer_open(s: Scene) -> None:
    s.register_land()
    s.offer("olena", {"iryna": 1})
    s.w.fails(
        "registry.offer_pending",
        s.k("petro"),
        "registry",
        "mandate",
        register="land",
        record=LAND,
        agent=s.p("taras"),
    )


def test_mandate_kept_while_offer_open(s: Scene) -> None:
    # Found by the stateful test: revoking bumped the version under an open
    # offer. Granting and revoking a mandate both wait for the offer to end.
    s.register_land(olena=1)
    mandate(s, "olena", "taras")
    s.offer("olena", {"iryna": 1})
    s.w.fails(
        "registry.offer_pending",
        s.k("olena"),
        "registry",
        "revoke_mandate",
        register="land",
        record=LAND,
    )
    assert s.record()["mandate"]["agent"] == s.p("taras")


def test_every_change_bumps_version_and_adds_one_history_entry(s: Scene) -> None:
    s.register_land(olena=1)
    encumber(s, "lease")
    mandate(s, "olena", "taras")
    oid = s.offer("olena", {"iryna": 1})
    s.w.ok(s.k("iryna"), "registry", "accept", offer=oid)
    s.w.ok(s.reg, "registry", "approve", offer=oid)
    history = s.w.query("registry", "history", register="land", id=LAND)
    assert [h["version"] for h in history] == [1, 2, 3, 4]
    assert [h["change"] for h in history] == [
        "registered",
        "encumbered",
        "mandate",
        "transferred",
    ]
    assert s.record()["version"] == 4
    # a transfer ends the mandate: the new owner never gave it
    assert s.record()["mandate"] is None


def test_queries_are_safe_on_bad_parameters(s: Scene) -> None:
    assert s.w.query("registry", "record", register="ships", id="1") is None
    assert s.w.query("registry", "record", register="land", id="../x") is None
    assert s.w.query("registry", "history", register="land", id="none") == []
    assert s.w.query("registry", "owner", person="") == []
    assert s.w.query("registry", "offer", id="1") is None


# --- interface ----------------------------------------


def call(s: Scene, method: str, **kwargs: Any) -> Any:
    """Call the registry interface as another module would, outside a tx."""
    host = s.w.host
    ctx = host._ctx(s.w.kv, "auction", s.w.height, s.w.time)
    return ctx.call("registry", method, **kwargs)


def test_interface_may_sell_lock_and_award(s: Scene) -> None:
    s.register_land(olena=1)
    rid = {"register": "land", "record": LAND}
    assert call(s, "may_sell", person=s.p("olena"), **rid)
    assert not call(s, "may_sell", person=s.p("petro"), **rid)
    assert call(s, "is_transferable", **rid)
    assert call(s, "record", register="ships", record="x") is None
    with pytest.raises(ModuleError) as info:
        call(
            s, "transfer_by_award", winner=s.p("petro"), ref="auction/1", price=5, **rid
        )
    assert info.value.code == "registry.not_locked"
    with pytest.raises(ModuleError) as info:  # only under the caller's own name
        call(s, "lock_for_sale", seller=s.p("olena"), ref="vote/1", **rid)
    assert info.value.code == "registry.forbidden"
    call(s, "lock_for_sale", seller=s.p("olena"), ref="auction/1", **rid)
    assert not call(s, "may_sell", person=s.p("olena"), **rid)
    assert call(s, "unlock_sale", ref="auction/2", **rid) is False
    with pytest.raises(ModuleError) as info:
        call(
            s, "transfer_by_award", winner=s.p("petro"), ref="auction/2", price=5, **rid
        )
    assert info.value.code == "registry.not_locked"
    call(s, "transfer_by_award", winner=s.p("petro"), ref="auction/1", price=5, **rid)
    rec = s.record()
    assert rec["owners"] == [{"person": s.p("petro"), "share": 1}]
    assert rec["sale"] is None and rec["version"] == 3
    assert call(s, "unlock_sale", ref="auction/1", **rid) is False
