"""registry: step scripts for registering, correcting, archiving and
encumbering records, and the interface, with every refusal (transfers and
mandates: test_registry_transfer.py).

Each test drives the module through signed transactions on a World; the
comment above a step says what it checks when that is not obvious.
"""

from __future__ import annotations

from typing import Any

import pytest

from modules.errors import ModuleConfigError, ModuleError
from modules.registry import RegistryModule
from tests.modules.registry_scene import LAND, REGISTERS, Scene, encumber


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
