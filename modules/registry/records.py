"""Records: lookups, the one way a change is written, registration,
correction, archiving and encumbrances."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modules.base import Ctx, Module, action
from modules.registry.common import (
    ATTRIBUTES,
    ENCUMBRANCE_KINDS,
    MAX_DENOMINATOR,
    OWNERS,
    REASON,
    RECORD,
    RECORD_ID_RE,
    REGISTER,
    Register,
    blocking_kinds,
    fail,
    owner_ids,
    parse_config,
)
from modules.schema import Int, Str
from modules.state import State

if TYPE_CHECKING:
    from chain.genesis import Genesis


class RegistryRecords(Module):
    """The record half of the registry module; see ``modules/registry``."""

    def __init__(self, config: dict[str, Any], genesis: Genesis | None = None) -> None:
        super().__init__(config, genesis)
        self.registers: dict[str, Register] = parse_config(config)

    # --- lookups --------------------------------------------------------------

    def _register(self, name: str) -> Register:
        reg = self.registers.get(name)
        if reg is None:
            raise fail("unknown_register", f"no register {name!r}")
        return reg

    def _load(self, state: State, register: str, rid: str) -> dict[str, Any]:
        self._register(register)
        record = state.get(f"record/{register}/{rid}")
        if record is None:
            raise fail("unknown_record", f"no record {rid!r} in register {register}")
        return dict(record)

    def _active(self, state: State, register: str, rid: str) -> dict[str, Any]:
        record = self._load(state, register, rid)
        if record["status"] != "active":
            raise fail("archived", f"record {register}/{rid} is archived")
        return record

    def _registrar(self, ctx: Ctx, register: str) -> str:
        self._register(register)
        return ctx.require_role(f"registrar:{register}")

    def _offer(self, state: State, oid: int) -> dict[str, Any]:
        offer = state.get(f"offer/{oid}")
        if offer is None:
            raise fail("unknown_offer", f"no offer {oid}")
        return dict(offer)

    def _person_active(self, ctx: Ctx, pid: str) -> None:
        if not ctx.call("identity", "is_active", person=pid):
            raise fail("unknown_person", f"{pid} is not an active enrolled person")

    def _owners(
        self, ctx: Ctx, owners: dict[str, int], denominator: int
    ) -> list[dict[str, Any]]:
        """Checked owners sorted by person; shares are positive and sum exactly."""
        if not owners:
            raise fail("bad_shares", "a record has at least one owner")
        out: list[dict[str, Any]] = []
        for person in sorted(owners):
            self._person_active(ctx, person)
            out.append({"person": person, "share": owners[person]})
        total = sum(o["share"] for o in out)
        if total != denominator:
            raise fail(
                "bad_shares", f"shares sum to {total}, the whole is {denominator}"
            )
        return out

    # --- writing a change -----------------------------------------------------

    def _save(
        self,
        ctx: Ctx,
        state: State,
        record: dict[str, Any],
        change: str,
        detail: dict[str, Any],
    ) -> None:
        """Bump the version, store the record and one history entry."""
        record["version"] += 1
        record["updated"] = ctx.stamp()
        key = f"{record['register']}/{record['id']}"
        state.put(f"record/{key}", record)
        entry = {
            "by": ctx.person,
            "change": change,
            "version": record["version"],
            **ctx.stamp(),
            **detail,
        }
        state.put(f"history/{key}/{record['version']:010d}", entry)

    def _void_offer(
        self, ctx: Ctx, state: State, record: dict[str, Any], why: str
    ) -> None:
        """The record is about to change: an open offer on it no longer holds."""
        oid = record.get("offer")
        if oid is None:
            return
        offer = self._offer(state, oid)
        offer["status"] = "void"
        offer["reason"] = why
        offer["closed"] = ctx.stamp()
        state.put(f"offer/{oid}", offer)
        record["offer"] = None
        ctx.emit("offer_voided", offer=oid, reason=why)

    def _set_owners(
        self,
        state: State,
        record: dict[str, Any],
        owners: list[dict[str, Any]],
        denominator: int,
    ) -> None:
        key = f"{record['register']}/{record['id']}"
        for pid in owner_ids(record):
            state.delete(f"owner/{pid}/{key}")
        record["owners"] = owners
        record["denominator"] = denominator
        record["mandate"] = None
        for pid in owner_ids(record):
            state.put(f"owner/{pid}/{key}", 1)

    def _require_transferable(self, record: dict[str, Any]) -> None:
        kinds = blocking_kinds(record)
        if kinds:
            raise fail(
                "encumbered",
                f"record {record['register']}/{record['id']} is under "
                + " and ".join(kinds),
            )

    def _require_unlocked(self, record: dict[str, Any]) -> None:
        if record["sale"] is not None:
            raise fail(
                "sale_pending",
                f"record is being sold through {record['sale']['ref']}",
            )

    def _require_owner(self, record: dict[str, Any], person: str) -> None:
        if person not in owner_ids(record):
            raise fail("not_owner", f"{person} is not an owner of {record['id']}")

    # --- registration, correction, archive ------------------------------------

    @action(
        "register",
        {
            "register": REGISTER,
            "id": RECORD,
            "owners": OWNERS,
            "denominator": Int(1, MAX_DENOMINATOR),
            "attributes": ATTRIBUTES,
        },
        who="registrar:<register>",
    )
    def register(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Enter a new record with its owners and attributes."""
        reg, rid = args["register"], args["id"]
        self._registrar(ctx, reg)
        if not RECORD_ID_RE.match(rid):
            raise fail("bad_id", f"{rid!r} is not a record id")
        if state.has(f"record/{reg}/{rid}"):
            raise fail("exists", f"record {rid} already exists in {reg}")
        owners = self._owners(ctx, args["owners"], args["denominator"])
        record: dict[str, Any] = {
            "attributes": args["attributes"],
            "denominator": args["denominator"],
            "encumbrances": [],
            "id": rid,
            "mandate": None,
            "next_encumbrance": 1,
            "offer": None,
            "owners": [],
            "register": reg,
            "registered": ctx.stamp(),
            "sale": None,
            "status": "active",
            "version": 0,
        }
        self._set_owners(state, record, owners, args["denominator"])
        self._save(
            ctx,
            state,
            record,
            "registered",
            {"owners": owners, "denominator": args["denominator"]},
        )
        ctx.emit("registered", register=reg, record=rid, owners=owner_ids(record))

    @action(
        "correct",
        {
            "register": REGISTER,
            "record": RECORD,
            "attributes": ATTRIBUTES,
            "reason": REASON,
        },
        who="registrar:<register>",
    )
    def correct(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Replace the attributes; the history keeps the old ones."""
        reg, rid = args["register"], args["record"]
        self._registrar(ctx, reg)
        record = self._active(state, reg, rid)
        old = record["attributes"]
        if old == args["attributes"]:
            raise fail("no_change", "the attributes are already these")
        self._void_offer(ctx, state, record, "record corrected")
        record["attributes"] = args["attributes"]
        self._save(
            ctx,
            state,
            record,
            "corrected",
            {"old": old, "new": args["attributes"], "reason": args["reason"]},
        )
        ctx.emit("corrected", register=reg, record=rid, version=record["version"])

    @action(
        "archive",
        {"register": REGISTER, "record": RECORD, "reason": REASON},
        who="registrar:<register>",
    )
    def archive(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Close a record for good (a demolished building, a scrapped car)."""
        reg, rid = args["register"], args["record"]
        self._registrar(ctx, reg)
        record = self._active(state, reg, rid)
        self._require_transferable(record)
        self._require_unlocked(record)
        self._void_offer(ctx, state, record, "record archived")
        record["status"] = "archived"
        record["mandate"] = None
        self._save(ctx, state, record, "archived", {"reason": args["reason"]})
        ctx.emit("archived", register=reg, record=rid, reason=args["reason"])

    # --- encumbrances ---------------------------------------------------------

    @action(
        "encumber",
        {
            "register": REGISTER,
            "record": RECORD,
            "kind": Str(16, choices=ENCUMBRANCE_KINDS),
            "holder": Str(128, doc="person id or name of the holder"),
            "reference": Str(128, doc="contract or decision reference"),
        },
        who="registrar:<register>",
    )
    def encumber(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Register a mortgage, an arrest or a lease."""
        reg, rid = args["register"], args["record"]
        self._registrar(ctx, reg)
        record = self._active(state, reg, rid)
        for e in record["encumbrances"]:
            if (e["kind"], e["reference"]) == (args["kind"], args["reference"]):
                raise fail(
                    "duplicate_encumbrance",
                    f"{args['kind']} {args['reference']} is already registered",
                )
        self._void_offer(ctx, state, record, f"{args['kind']} registered")
        number = record["next_encumbrance"]
        entry = {
            "holder": args["holder"],
            "id": number,
            "kind": args["kind"],
            "reference": args["reference"],
            **ctx.stamp(),
        }
        record["next_encumbrance"] = number + 1
        record["encumbrances"] = [*record["encumbrances"], entry]
        self._save(ctx, state, record, "encumbered", {"encumbrance": entry})
        ctx.emit(
            "encumbered",
            register=reg,
            record=rid,
            encumbrance=number,
            kind=args["kind"],
        )

    @action(
        "release",
        {
            "register": REGISTER,
            "record": RECORD,
            "encumbrance": Int(1, 2**31),
            "reason": REASON,
        },
        who="registrar:<register>",
    )
    def release(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Lift an encumbrance; the history keeps it."""
        reg, rid, number = args["register"], args["record"], args["encumbrance"]
        self._registrar(ctx, reg)
        record = self._active(state, reg, rid)
        found = [e for e in record["encumbrances"] if e["id"] == number]
        if not found:
            raise fail("unknown_encumbrance", f"no encumbrance {number} on {rid}")
        self._void_offer(ctx, state, record, "encumbrance released")
        record["encumbrances"] = [
            e for e in record["encumbrances"] if e["id"] != number
        ]
        self._save(
            ctx,
            state,
            record,
            "released",
            {"encumbrance": found[0], "reason": args["reason"]},
        )
        ctx.emit(
            "released",
            register=reg,
            record=rid,
            encumbrance=number,
            kind=found[0]["kind"],
        )
