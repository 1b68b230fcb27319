"""Transfers by offer (owners consent, recipients accept, a registrar
approves where the register says so) and sale mandates."""

from __future__ import annotations

from typing import Any

from modules.base import Ctx, action
from modules.registry.common import (
    MAX_DENOMINATOR,
    OPEN_OFFER,
    OWNERS,
    REASON,
    RECORD,
    REGISTER,
    fail,
    owner_ids,
)
from modules.registry.records import RegistryRecords
from modules.schema import PERSON, Int
from modules.state import State


class RegistryTransfers(RegistryRecords):
    """Changes of owners that the owners themselves start."""

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
            raise fail("offer_pending", f"offer {record['offer']} is open on {rid}")
        to = self._owners(ctx, args["to"], args["denominator"])
        if (to, args["denominator"]) == (record["owners"], record["denominator"]):
            raise fail("no_change", "the offer would leave the owners as they are")
        oid = state.next_id("offer")
        owners = owner_ids(record)
        offer: dict[str, Any] = {
            "acceptances": {},
            "closed": None,
            "consents": {person: ctx.stamp()},
            "created": ctx.stamp(),
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
            raise fail("offer_closed", f"offer {offer['id']} is {offer['status']}")
        self._require_owner(record, person)
        if person in offer["consents"]:
            raise fail("already_consented", f"{person} has already consented")
        self._require_transferable(record)
        offer["consents"] = {**offer["consents"], person: ctx.stamp()}
        ctx.emit("consented", offer=offer["id"], by=person)
        self._advance(ctx, state, offer, record)

    @action("accept", {"offer": Int(1)}, who="a recipient")
    def accept(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """A recipient accepts, once every owner has consented."""
        person = ctx.require_person()
        offer, record = self._open_offer(state, args["offer"])
        if person not in offer["needs_acceptance"]:
            raise fail("not_recipient", f"{person} is not a new owner in this offer")
        if offer["status"] == "consenting":
            raise fail("not_ready", "not every owner has consented yet")
        if offer["status"] != "accepting" or person in offer["acceptances"]:
            raise fail("already_accepted", f"{person} has already accepted")
        self._require_transferable(record)
        offer["acceptances"] = {**offer["acceptances"], person: ctx.stamp()}
        ctx.emit("accepted", offer=offer["id"], by=person)
        self._advance(ctx, state, offer, record)

    @action("approve", {"offer": Int(1)}, who="registrar:<register>")
    def approve(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """A registrar approves a fully signed offer; the transfer executes."""
        offer, record = self._open_offer(state, args["offer"])
        person = self._registrar(ctx, offer["register"])
        if offer["status"] != "approval":
            raise fail("not_ready", f"offer {offer['id']} is {offer['status']}")
        self._require_transferable(record)
        offer["approved"] = {"by": person, **ctx.stamp()}
        self._execute(ctx, state, offer, record)

    @action("reject", {"offer": Int(1), "reason": REASON}, who="registrar:<register>")
    def reject(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """A registrar refuses to approve a fully signed offer."""
        offer, record = self._open_offer(state, args["offer"])
        self._registrar(ctx, offer["register"])
        if offer["status"] != "approval":
            raise fail("not_ready", f"offer {offer['id']} is {offer['status']}")
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
            raise fail("not_party", f"{person} is not a party to this offer")
        self._close_offer(ctx, state, offer, record, "cancelled", args["reason"])
        ctx.emit("offer_cancelled", offer=offer["id"], by=person)

    def _open_offer(
        self, state: State, oid: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        offer = self._offer(state, oid)
        if offer["status"] not in OPEN_OFFER:
            raise fail("offer_closed", f"offer {oid} is {offer['status']}")
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
        offer["closed"] = ctx.stamp()
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
        offer["closed"] = ctx.stamp()
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
            owners=owner_ids(record),
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
            raise fail("offer_pending", f"offer {record['offer']} is open on {rid}")
        self._person_active(ctx, agent)
        current = record["mandate"]
        if current is not None and current["agent"] != agent:
            raise fail("mandate_conflict", f"a mandate for {current['agent']} exists")
        consents = [] if current is None else list(current["consents"])
        if person in consents:
            raise fail("already_consented", f"{person} has already consented")
        consents = sorted([*consents, person])
        in_force = set(consents) == set(owner_ids(record))
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
            raise fail("no_mandate", f"record {rid} has no mandate")
        self._require_unlocked(record)
        if record["offer"] is not None:  # as for granting: the offer binds first
            raise fail("offer_pending", f"offer {record['offer']} is open on {rid}")
        old = record["mandate"]
        record["mandate"] = None
        self._save(ctx, state, record, "mandate_revoked", {"old": old})
        ctx.emit("mandate_revoked", register=reg, record=rid, by=person)
