"""The registry module: actions from records and transfers, the interface
other modules call, and the queries."""

from __future__ import annotations

from typing import Any

from modules.base import Ctx, interface, param_int, query
from modules.errors import ModuleError
from modules.registry.common import RECORD_ID_RE, blocking_kinds, fail, owner_ids
from modules.registry.transfers import RegistryTransfers
from modules.state import State


class RegistryModule(RegistryTransfers):
    name = "registry"

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
            raise fail("offer_pending", f"offer {rec['offer']} is open on {record}")
        sole = owner_ids(rec) == [person]
        mandate = rec["mandate"]
        agent = mandate is not None and mandate["in_force"]
        if not sole and not (agent and mandate["agent"] == person):
            raise fail(
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
        return rec is not None and rec["status"] == "active" and not blocking_kinds(rec)

    @interface
    def lock_for_sale(
        self, ctx: Ctx, state: State, register: str, record: str, seller: str, ref: str
    ) -> None:
        """Reserve the record for a sale named ``ref`` (``auction/7``).

        A module may only lock under its own name (``ref`` starts with the
        calling module's name), so one module cannot act on another's sale.
        """
        _require_own_ref(ctx, ref)
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
        if not ref.startswith(f"{ctx.via}/"):
            return False
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
        _require_own_ref(ctx, ref)
        rec = self._active(state, register, record)
        if rec["sale"] is None or rec["sale"]["ref"] != ref:
            raise fail("not_locked", f"record {record} is not being sold by {ref}")
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
        oid = param_int(params, "id")
        if oid is None:
            return None
        return state.get(f"offer/{oid}")


def _require_own_ref(ctx: Ctx, ref: str) -> None:
    if not ctx.via or not ref.startswith(f"{ctx.via}/"):
        raise ModuleError(
            "registry.forbidden", f"sale {ref!r} is not the calling module's"
        )
