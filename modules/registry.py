"""registry — state registers: records, their owners, and every change.

A register (``land``, ``vehicles``) is configured in genesis; its registrars
are the persons holding the identity role ``registrar:<register>``.

Invariants:

1. A record's owners are distinct persons with positive integer shares that
   sum exactly to the record's ``denominator`` (the whole). Shares are never
   reduced or rounded: what the parties signed is what is stored.
2. Every change to a record bumps its ``version`` and appends exactly one
   history entry naming the transaction, height, time and signer; the old
   value of anything overwritten is kept in that entry.
3. A record has at most one open transfer offer. The parties consented to the
   record as it was, so any other change to the record voids the offer.
4. No transfer step (offer, consent, acceptance, approval, award) while an
   arrest or a mortgage is in force; a lease does not block a transfer.
5. A record locked for sale by another module (an auction) changes owners
   only through that module's award; its owners can make no offer meanwhile.
6. Archived records are read-only.

State (under ``registry/``):

- ``record/<register>/<id>``: the record
- ``history/<register>/<id>/<version>``: one entry per change (10 digits)
- ``owner/<person>/<register>/<id>``: 1, an index of each owner's records
- ``offer/<n>``: a transfer offer (``seq/offer`` numbers them)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from modules.base import Ctx, Module, action, interface, query
from modules.errors import ModuleConfigError, ModuleError
from modules.schema import PERSON, Int, MapOf, Str
from modules.state import State

if TYPE_CHECKING:
    from chain.genesis import Genesis

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")
RECORD_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}\Z")
MAX_DENOMINATOR = 10**12
ENCUMBRANCE_KINDS = ("mortgage", "arrest", "lease")
BLOCKING = frozenset({"mortgage", "arrest"})
OPEN_OFFER = ("consenting", "accepting", "approval")

REGISTER = Str(32, doc="register name")
RECORD = Str(64, doc="record id, e.g. a cadastral number")
REASON = Str(512, doc="stated reason")
ATTRIBUTES = MapOf(Str(256), 32, doc="attribute name -> value")
OWNERS = MapOf(Int(1, MAX_DENOMINATOR), 32, doc="person id -> share")


class Register:
    __slots__ = ("name", "title", "transfer_approval")

    def __init__(self, name: str, title: str, transfer_approval: bool) -> None:
        self.name = name
        self.title = title
        self.transfer_approval = transfer_approval

    def to_value(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "transfer_approval": self.transfer_approval,
        }


def parse_config(config: Any) -> dict[str, Register]:
    """The registers of a genesis ``module_config.registry``; names the bad field."""
    if not isinstance(config, dict):
        raise ModuleConfigError("registry", "must be a map")
    for key in config:
        if key != "registers":
            raise ModuleConfigError(f"registry.{key}", "unknown field")
    registers = config.get("registers")
    if not isinstance(registers, dict) or not registers:
        raise ModuleConfigError("registry.registers", "must be a non-empty map")
    out: dict[str, Register] = {}
    for name in sorted(registers):
        where = f"registry.registers.{name}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ModuleConfigError(where, "register names are [a-z][a-z0-9_]{0,31}")
        spec = registers[name]
        if not isinstance(spec, dict):
            raise ModuleConfigError(where, "must be a map")
        for key in spec:
            if key not in ("title", "transfer_approval"):
                raise ModuleConfigError(f"{where}.{key}", "unknown field")
        title = spec.get("title")
        if not isinstance(title, str) or not 1 <= len(title) <= 128:
            raise ModuleConfigError(f"{where}.title", "must be a string of 1..128")
        approval = spec.get("transfer_approval", False)
        if not isinstance(approval, bool):
            raise ModuleConfigError(f"{where}.transfer_approval", "must be a boolean")
        out[name] = Register(name, title, approval)
    return out


def _err(code: str, message: str) -> ModuleError:
    return ModuleError(f"registry.{code}", message)


def _stamp(ctx: Ctx) -> dict[str, Any]:
    return {"height": ctx.height, "time": ctx.time, "tx": ctx.tx_hex()}


def _blocking(record: dict[str, Any]) -> list[str]:
    return sorted({e["kind"] for e in record["encumbrances"]} & BLOCKING)


def _owner_ids(record: dict[str, Any]) -> list[str]:
    return [o["person"] for o in record["owners"]]


class RegistryModule(Module):
    name = "registry"

    def __init__(self, config: dict[str, Any], genesis: Genesis | None = None) -> None:
        super().__init__(config, genesis)
        self.registers = parse_config(config)

    # --- lookups --------------------------------------------------------------

    def _register(self, name: str) -> Register:
        reg = self.registers.get(name)
        if reg is None:
            raise _err("unknown_register", f"no register {name!r}")
        return reg

    def _load(self, state: State, register: str, rid: str) -> dict[str, Any]:
        self._register(register)
        record = state.get(f"record/{register}/{rid}")
        if record is None:
            raise _err("unknown_record", f"no record {rid!r} in register {register}")
        return dict(record)

    def _active(self, state: State, register: str, rid: str) -> dict[str, Any]:
        record = self._load(state, register, rid)
        if record["status"] != "active":
            raise _err("archived", f"record {register}/{rid} is archived")
        return record

    def _registrar(self, ctx: Ctx, register: str) -> str:
        self._register(register)
        return ctx.require_role(f"registrar:{register}")

    def _offer(self, state: State, oid: int) -> dict[str, Any]:
        offer = state.get(f"offer/{oid}")
        if offer is None:
            raise _err("unknown_offer", f"no offer {oid}")
        return dict(offer)

    def _person_active(self, ctx: Ctx, pid: str) -> None:
        if not ctx.call("identity", "is_active", person=pid):
            raise _err("unknown_person", f"{pid} is not an active enrolled person")

    def _owners(
        self, ctx: Ctx, owners: dict[str, int], denominator: int
    ) -> list[dict[str, Any]]:
        """Checked owners sorted by person; shares are positive and sum exactly."""
        if not owners:
            raise _err("bad_shares", "a record has at least one owner")
        out: list[dict[str, Any]] = []
        for person in sorted(owners):
            self._person_active(ctx, person)
            out.append({"person": person, "share": owners[person]})
        total = sum(o["share"] for o in out)
        if total != denominator:
            raise _err(
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
        record["updated"] = _stamp(ctx)
        key = f"{record['register']}/{record['id']}"
        state.put(f"record/{key}", record)
        entry = {
            "by": ctx.person,
            "change": change,
            "version": record["version"],
            **_stamp(ctx),
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
        offer["closed"] = _stamp(ctx)
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
        for pid in _owner_ids(record):
            state.delete(f"owner/{pid}/{key}")
        record["owners"] = owners
        record["denominator"] = denominator
        record["mandate"] = None
        for pid in _owner_ids(record):
            state.put(f"owner/{pid}/{key}", 1)

    def _require_transferable(self, record: dict[str, Any]) -> None:
        kinds = _blocking(record)
        if kinds:
            raise _err(
                "encumbered",
                f"record {record['register']}/{record['id']} is under "
                + " and ".join(kinds),
            )

    def _require_unlocked(self, record: dict[str, Any]) -> None:
        if record["sale"] is not None:
            raise _err(
                "sale_pending",
                f"record is being sold through {record['sale']['ref']}",
            )

    def _require_owner(self, record: dict[str, Any], person: str) -> None:
        if person not in _owner_ids(record):
            raise _err("not_owner", f"{person} is not an owner of {record['id']}")

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
            raise _err("bad_id", f"{rid!r} is not a record id")
        if state.has(f"record/{reg}/{rid}"):
            raise _err("exists", f"record {rid} already exists in {reg}")
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
            "registered": _stamp(ctx),
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
        ctx.emit("registered", register=reg, record=rid, owners=_owner_ids(record))

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
            raise _err("no_change", "the attributes are already these")
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
                raise _err(
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
            **_stamp(ctx),
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
            raise _err("unknown_encumbrance", f"no encumbrance {number} on {rid}")
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

    # --- transfer by offer ----------------------------------------------------

    @action(
        "offer",
        {
            "register": REGISTER,
            "record": RECORD,
            "to": OWNERS,
            "denominator": Int(1, MAX_DENOMINATOR),
            "price": Int(0, required=False, doc="declared price, minor units"),
        },
        who="an owner",
    )
    def offer(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Propose new owners; the proposer's consent is recorded with it."""
        person = ctx.require_person()
        reg, rid = args["register"], args["record"]
        record = self._active(state, reg, rid)
        self._require_owner(record, person)
        self._require_transferable(record)
        self._require_unlocked(record)
        if record["offer"] is not None:
            raise _err("offer_pending", f"offer {record['offer']} is open on {rid}")
        to = self._owners(ctx, args["to"], args["denominator"])
        if (to, args["denominator"]) == (record["owners"], record["denominator"]):
            raise _err("no_change", "the offer would leave the owners as they are")
        oid = state.next_id("offer")
        owners = _owner_ids(record)
        offer: dict[str, Any] = {
            "acceptances": {},
            "closed": None,
            "consents": {person: _stamp(ctx)},
            "created": _stamp(ctx),
            "denominator": args["denominator"],
            "id": oid,
            "needs_acceptance": [o["person"] for o in to if o["person"] not in owners],
            "owners": owners,
            "price": args["price"],
            "reason": "",
            "record": rid,
            "register": reg,
            "status": "consenting",
            "to": to,
            "version": record["version"],
        }
        record["offer"] = oid
        state.put(f"record/{reg}/{rid}", record)
        ctx.emit("offered", offer=oid, register=reg, record=rid, by=person)
        self._advance(ctx, state, offer, record)

    @action("consent", {"offer": Int(1)}, who="an owner")
    def consent(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """An owner signs the same offer."""
        person = ctx.require_person()
        offer, record = self._open_offer(state, args["offer"])
        if offer["status"] != "consenting":
            raise _err("offer_closed", f"offer {offer['id']} is {offer['status']}")
        self._require_owner(record, person)
        if person in offer["consents"]:
            raise _err("already_consented", f"{person} has already consented")
        self._require_transferable(record)
        offer["consents"] = {**offer["consents"], person: _stamp(ctx)}
        ctx.emit("consented", offer=offer["id"], by=person)
        self._advance(ctx, state, offer, record)

    @action("accept", {"offer": Int(1)}, who="a recipient")
    def accept(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """A recipient accepts, once every owner has consented."""
        person = ctx.require_person()
        offer, record = self._open_offer(state, args["offer"])
        if person not in offer["needs_acceptance"]:
            raise _err("not_recipient", f"{person} is not a new owner in this offer")
        if offer["status"] == "consenting":
            raise _err("not_ready", "not every owner has consented yet")
        if offer["status"] != "accepting" or person in offer["acceptances"]:
            raise _err("already_accepted", f"{person} has already accepted")
        self._require_transferable(record)
        offer["acceptances"] = {**offer["acceptances"], person: _stamp(ctx)}
        ctx.emit("accepted", offer=offer["id"], by=person)
        self._advance(ctx, state, offer, record)

    @action("approve", {"offer": Int(1)}, who="registrar:<register>")
    def approve(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """A registrar approves a fully signed offer; the transfer executes."""
        offer, record = self._open_offer(state, args["offer"])
        person = self._registrar(ctx, offer["register"])
        if offer["status"] != "approval":
            raise _err("not_ready", f"offer {offer['id']} is {offer['status']}")
        self._require_transferable(record)
        offer["approved"] = {"by": person, **_stamp(ctx)}
        self._execute(ctx, state, offer, record)

    @action("reject", {"offer": Int(1), "reason": REASON}, who="registrar:<register>")
    def reject(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """A registrar refuses to approve a fully signed offer."""
        offer, record = self._open_offer(state, args["offer"])
        self._registrar(ctx, offer["register"])
        if offer["status"] != "approval":
            raise _err("not_ready", f"offer {offer['id']} is {offer['status']}")
        self._close_offer(ctx, state, offer, record, "rejected", args["reason"])
        ctx.emit("offer_rejected", offer=offer["id"], reason=args["reason"])

    @action(
        "cancel_offer",
        {"offer": Int(1), "reason": REASON},
        who="an owner or a recipient",
    )
    def cancel_offer(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Withdraw an open offer (an owner) or decline it (a recipient)."""
        person = ctx.require_person()
        offer, record = self._open_offer(state, args["offer"])
        if person not in offer["owners"] and person not in offer["needs_acceptance"]:
            raise _err("not_party", f"{person} is not a party to this offer")
        self._close_offer(ctx, state, offer, record, "cancelled", args["reason"])
        ctx.emit("offer_cancelled", offer=offer["id"], by=person)

    def _open_offer(
        self, state: State, oid: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        offer = self._offer(state, oid)
        if offer["status"] not in OPEN_OFFER:
            raise _err("offer_closed", f"offer {oid} is {offer['status']}")
        return offer, self._active(state, offer["register"], offer["record"])

    def _close_offer(
        self,
        ctx: Ctx,
        state: State,
        offer: dict[str, Any],
        record: dict[str, Any],
        status: str,
        reason: str,
    ) -> None:
        offer["status"] = status
        offer["reason"] = reason
        offer["closed"] = _stamp(ctx)
        state.put(f"offer/{offer['id']}", offer)
        record["offer"] = None
        state.put(f"record/{record['register']}/{record['id']}", record)

    def _advance(
        self, ctx: Ctx, state: State, offer: dict[str, Any], record: dict[str, Any]
    ) -> None:
        """Move the offer as far as its signatures allow."""
        oid = offer["id"]
        if offer["status"] == "consenting":
            if set(offer["consents"]) == set(offer["owners"]):
                offer["status"] = "accepting"
                ctx.emit("owners_consented", offer=oid)
        if offer["status"] == "accepting":
            if set(offer["acceptances"]) == set(offer["needs_acceptance"]):
                if self.registers[offer["register"]].transfer_approval:
                    offer["status"] = "approval"
                    ctx.emit("awaiting_approval", offer=oid)
                else:
                    self._execute(ctx, state, offer, record)
                    return
        state.put(f"offer/{oid}", offer)

    def _execute(
        self, ctx: Ctx, state: State, offer: dict[str, Any], record: dict[str, Any]
    ) -> None:
        old = record["owners"], record["denominator"]
        offer["status"] = "executed"
        offer["closed"] = _stamp(ctx)
        state.put(f"offer/{offer['id']}", offer)
        record["offer"] = None
        self._set_owners(state, record, offer["to"], offer["denominator"])
        self._save(
            ctx,
            state,
            record,
            "transferred",
            {
                "offer": offer["id"],
                "old_owners": old[0],
                "old_denominator": old[1],
                "owners": offer["to"],
                "denominator": offer["denominator"],
                "price": offer["price"],
            },
        )
        ctx.emit(
            "transferred",
            register=record["register"],
            record=record["id"],
            offer=offer["id"],
            owners=_owner_ids(record),
        )

    # --- sale mandate -----------------------------------------------------------

    @action(
        "mandate",
        {"register": REGISTER, "record": RECORD, "agent": PERSON},
        who="an owner",
    )
    def mandate(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Consent to let ``agent`` (an auctioneer) sell the record.

        The mandate is in force once every owner has consented to the same
        agent; a sole owner's consent puts it in force at once.
        """
        person = ctx.require_person()
        reg, rid, agent = args["register"], args["record"], args["agent"]
        record = self._active(state, reg, rid)
        self._require_owner(record, person)
        self._require_unlocked(record)
        if record["offer"] is not None:
            raise _err("offer_pending", f"offer {record['offer']} is open on {rid}")
        self._person_active(ctx, agent)
        current = record["mandate"]
        if current is not None and current["agent"] != agent:
            raise _err("mandate_conflict", f"a mandate for {current['agent']} exists")
        consents = [] if current is None else list(current["consents"])
        if person in consents:
            raise _err("already_consented", f"{person} has already consented")
        consents = sorted([*consents, person])
        in_force = set(consents) == set(_owner_ids(record))
        record["mandate"] = {"agent": agent, "consents": consents, "in_force": in_force}
        self._save(ctx, state, record, "mandate", {"mandate": record["mandate"]})
        ctx.emit("mandate_consented", register=reg, record=rid, by=person)
        if in_force:
            ctx.emit("mandate_granted", register=reg, record=rid, agent=agent)

    @action("revoke_mandate", {"register": REGISTER, "record": RECORD}, who="an owner")
    def revoke_mandate(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Withdraw a sale mandate (not while a sale is under way)."""
        person = ctx.require_person()
        reg, rid = args["register"], args["record"]
        record = self._active(state, reg, rid)
        self._require_owner(record, person)
        if record["mandate"] is None:
            raise _err("no_mandate", f"record {rid} has no mandate")
        self._require_unlocked(record)
        old = record["mandate"]
        record["mandate"] = None
        self._save(ctx, state, record, "mandate_revoked", {"old": old})
        ctx.emit("mandate_revoked", register=reg, record=rid, by=person)

    # --- interface for other modules ------------------------------------------

    @interface
    def record(
        self, ctx: Ctx, state: State, register: str, record: str
    ) -> dict[str, Any] | None:
        if register not in self.registers:
            return None
        value = state.get(f"record/{register}/{record}")
        return None if value is None else dict(value)

    @interface
    def assert_may_sell(
        self, ctx: Ctx, state: State, register: str, record: str, person: str
    ) -> None:
        """Raise unless ``person`` may put the record up for sale now."""
        rec = self._active(state, register, record)
        self._require_transferable(rec)
        self._require_unlocked(rec)
        if rec["offer"] is not None:
            raise _err("offer_pending", f"offer {rec['offer']} is open on {record}")
        sole = _owner_ids(rec) == [person]
        mandate = rec["mandate"]
        agent = mandate is not None and mandate["in_force"]
        if not sole and not (agent and mandate["agent"] == person):
            raise _err(
                "cannot_sell",
                f"{person} is neither the sole owner of {record} nor its agent",
            )

    @interface
    def may_sell(
        self, ctx: Ctx, state: State, register: str, record: str, person: str
    ) -> bool:
        try:
            self.assert_may_sell(ctx, state, register, record, person)
        except ModuleError:
            return False
        return True

    @interface
    def is_transferable(
        self, ctx: Ctx, state: State, register: str, record: str
    ) -> bool:
        """Active and under no arrest or mortgage."""
        rec = self.record(ctx, state, register, record)
        return rec is not None and rec["status"] == "active" and not _blocking(rec)

    @interface
    def lock_for_sale(
        self, ctx: Ctx, state: State, register: str, record: str, seller: str, ref: str
    ) -> None:
        """Reserve the record for a sale named ``ref`` (``auction/7``)."""
        self.assert_may_sell(ctx, state, register, record, seller)
        rec = self._active(state, register, record)
        rec["sale"] = {"ref": ref, "seller": seller}
        self._save(ctx, state, rec, "sale_locked", {"sale": rec["sale"]})
        ctx.emit("sale_locked", register=register, record=record, ref=ref)

    @interface
    def unlock_sale(
        self, ctx: Ctx, state: State, register: str, record: str, ref: str
    ) -> bool:
        """Lift the sale lock ``ref`` if it is still there; never raises.

        End-of-block steps call this, and they must not fail.
        """
        rec = self.record(ctx, state, register, record)
        if rec is None or rec["sale"] is None or rec["sale"]["ref"] != ref:
            return False
        rec["sale"] = None
        self._save(ctx, state, rec, "sale_unlocked", {"ref": ref})
        ctx.emit("sale_unlocked", register=register, record=record, ref=ref)
        return True

    @interface
    def transfer_by_award(
        self,
        ctx: Ctx,
        state: State,
        register: str,
        record: str,
        winner: str,
        ref: str,
        price: int,
    ) -> None:
        """Make ``winner`` the sole owner on the authority of the award ``ref``."""
        rec = self._active(state, register, record)
        if rec["sale"] is None or rec["sale"]["ref"] != ref:
            raise _err("not_locked", f"record {record} is not being sold by {ref}")
        self._require_transferable(rec)
        self._person_active(ctx, winner)
        old = rec["owners"], rec["denominator"]
        rec["sale"] = None
        self._set_owners(state, rec, [{"person": winner, "share": 1}], 1)
        self._save(
            ctx,
            state,
            rec,
            "transferred",
            {
                "award": ref,
                "old_owners": old[0],
                "old_denominator": old[1],
                "owners": rec["owners"],
                "denominator": 1,
                "price": price,
            },
        )
        ctx.emit(
            "transferred",
            register=register,
            record=record,
            award=ref,
            owners=[winner],
        )

    # --- queries ----------------------------------------------------------------

    @query("registers")
    def q_registers(self, state: State, params: dict[str, Any]) -> Any:
        return [self.registers[n].to_value() for n in sorted(self.registers)]

    @query("record")
    def q_record(self, state: State, params: dict[str, Any]) -> Any:
        reg, rid = str(params.get("register", "")), str(params.get("id", ""))
        if reg not in self.registers or not RECORD_ID_RE.match(rid):
            return None
        return state.get(f"record/{reg}/{rid}")

    @query("history")
    def q_history(self, state: State, params: dict[str, Any]) -> Any:
        reg, rid = str(params.get("register", "")), str(params.get("id", ""))
        if reg not in self.registers or not RECORD_ID_RE.match(rid):
            return []
        return [entry for _, entry in state.scan(f"history/{reg}/{rid}/")]

    @query("owner")
    def q_owner(self, state: State, params: dict[str, Any]) -> Any:
        """Records of a person: [{register, id, share, denominator, status}]."""
        person = str(params.get("person", ""))
        if not person or "/" in person:
            return []
        out = []
        for path, _ in state.scan(f"owner/{person}/"):
            _, _, reg, rid = path.split("/", 3)
            rec = state.get(f"record/{reg}/{rid}")
            share = next(o["share"] for o in rec["owners"] if o["person"] == person)
            out.append(
                {
                    "denominator": rec["denominator"],
                    "id": rid,
                    "register": reg,
                    "share": share,
                    "status": rec["status"],
                }
            )
        return out

    @query("offer")
    def q_offer(self, state: State, params: dict[str, Any]) -> Any:
        oid = params.get("id")
        if isinstance(oid, bool) or not isinstance(oid, int):
            return None
        return state.get(f"offer/{oid}")
