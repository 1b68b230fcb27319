"""petition — e-petitions to configured addressees.

States::

    moderation --publish--> open --sign (threshold)--> threshold_reached
    moderation --reject---> rejected        threshold_reached --respond--> answered
    moderation, open --withdraw--> withdrawn
    open --(window ends, end of block)--> expired
    threshold_reached --(response deadline, end of block)--> overdue
    overdue --respond--> answered

Invariants:

1. Signatures belong to persons (identity person ids), never to keys: one
   ``signer/<petition>/<person>`` entry per person, so a key rotation never
   yields a second signature. ``signatures`` equals the number of those
   entries and of the ``signers/<petition>/<n>`` entries, which keep the
   signing order.
2. A signature is accepted only while the petition is open and the block
   time is before ``closes_at``; the signature that reaches the threshold
   ends collection and records the block (height, time, transaction).
3. Deadlines (window end, response deadline) are handled in the end-of-block
   step of the first block at or after them; a transition never happens
   without an event.
4. The author's signature is not automatic: the author may sign their own
   petition once, like any citizen, and that signature counts.

State layout: see docs/modules/petition.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modules.base import (
    Ctx,
    Module,
    action,
    param_int,
    pop_due,
    query,
    query_limit,
    query_page,
    query_str,
    schedule,
    unschedule,
)
from modules.errors import ModuleError
from modules.petition.config import Addressee, parse_config
from modules.schema import Str
from modules.state import State

if TYPE_CHECKING:
    from chain.genesis import Genesis

MODERATION = "moderation"
OPEN = "open"
THRESHOLD_REACHED = "threshold_reached"
OVERDUE = "overdue"
ANSWERED = "answered"
EXPIRED = "expired"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
STATUSES = (
    MODERATION,
    OPEN,
    THRESHOLD_REACHED,
    OVERDUE,
    ANSWERED,
    EXPIRED,
    REJECTED,
    WITHDRAWN,
)
REJECT_CODES = ("duplicate", "unlawful", "not_in_remit", "other")
DECISIONS = ("supported", "not_supported")

DUE_WINDOW = "window"
DUE_RESPONSE = "response"
ORDER_WIDTH = 12  # signers/<petition>/<n>: zero-padded so key order is order

ID = Str(32, doc="petition id")
ADDRESSEE = "addressee of the petition (role petition_addressee:<addressee>)"


class PetitionModule(Module):
    name = "petition"

    def __init__(self, config: dict[str, Any], genesis: Genesis | None = None) -> None:
        super().__init__(config, genesis)
        self.addressees: dict[str, Addressee] = parse_config(config)

    # --- state helpers --------------------------------------------------------

    def _petition(self, state: State, pid: str) -> dict[str, Any]:
        record = state.get(f"petition/{pid}")
        if record is None:
            raise ModuleError("petition.unknown_petition", f"no petition {pid}")
        return dict(record)

    def _addressee(self, name: str) -> Addressee:
        found = self.addressees.get(name)
        if found is None:
            raise ModuleError(
                "petition.unknown_addressee", f"no addressee {name!r} on this chain"
            )
        return found

    def _move(
        self, ctx: Ctx, state: State, record: dict[str, Any], status: str
    ) -> None:
        """Change status, keep the status index and the history, store."""
        state.delete(f"status/{record['status']}/{record['id']}")
        state.put(f"status/{status}/{record['id']}", 1)
        record["status"] = status
        record["history"] = [
            *record["history"],
            {"height": ctx.height, "status": status, "time": ctx.time},
        ]
        state.put(f"petition/{record['id']}", record)

    def _require_citizen(self, ctx: Ctx, what: str) -> str:
        person = ctx.require_person()
        record = ctx.call("identity", "person", person=person)
        if record is None or record["status"] != "active":
            raise ModuleError("petition.not_citizen", f"{person} is not active")
        if record["kind"] != "citizen":
            raise ModuleError(
                "petition.not_citizen", f"only citizens may {what}; {person} is not"
            )
        return person

    def _require_addressee(
        self, ctx: Ctx, state: State, pid: str
    ) -> tuple[str, dict[str, Any]]:
        record = self._petition(state, pid)
        person = ctx.require_role(self._addressee(record["addressee"]).role)
        return person, record

    def _publish(self, ctx: Ctx, state: State, record: dict[str, Any]) -> None:
        addressee = self._addressee(record["addressee"])
        closes_at = ctx.time + addressee.window_ms
        record["published"] = ctx.stamp()
        record["closes_at"] = closes_at
        schedule(state, closes_at, DUE_WINDOW, record["id"])
        self._move(ctx, state, record, OPEN)
        ctx.emit("published", petition=record["id"], closes_at=closes_at)

    # --- actions --------------------------------------------------------------

    @action(
        "submit",
        {"addressee": Str(32), "title": Str(200), "text": Str(8000)},
        who="citizen",
    )
    def submit(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Submit a petition; published at once if the addressee is unmoderated."""
        addressee = self._addressee(args["addressee"])
        person = self._require_citizen(ctx, "submit petitions")
        pid = f"pt{state.next_id('petition')}"
        record = {
            "addressee": addressee.name,
            "author": person,
            "closes_at": None,
            "history": [{"height": ctx.height, "status": MODERATION, "time": ctx.time}],
            "id": pid,
            "published": None,
            "rejection": None,
            "response": None,
            "response_due": None,
            "signatures": 0,
            "status": MODERATION,
            "submitted": ctx.stamp(),
            "text": args["text"],
            "threshold": addressee.threshold,
            "threshold_reached": None,
            "title": args["title"],
            "withdrawal": None,
        }
        state.put(f"petition/{pid}", record)
        state.put(f"status/{MODERATION}/{pid}", 1)
        ctx.emit("submitted", petition=pid, addressee=addressee.name, author=person)
        if not addressee.moderated:
            self._publish(ctx, state, record)

    @action("publish", {"petition": ID}, who=ADDRESSEE)
    def publish(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Pass moderation: the petition opens for signatures from now."""
        _, record = self._require_addressee(ctx, state, args["petition"])
        self._require_status(record, (MODERATION,), "petition.not_in_moderation")
        self._publish(ctx, state, record)

    @action(
        "reject",
        {
            "petition": ID,
            "code": Str(16, choices=REJECT_CODES),
            "reason": Str(2000),
        },
        who=ADDRESSEE,
    )
    def reject(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Refuse publication, with a code and a reason the author can read."""
        person, record = self._require_addressee(ctx, state, args["petition"])
        self._require_status(record, (MODERATION,), "petition.not_in_moderation")
        record["rejection"] = {
            **ctx.stamp(),
            "by": person,
            "code": args["code"],
            "reason": args["reason"],
        }
        self._move(ctx, state, record, REJECTED)
        ctx.emit("rejected", petition=record["id"], code=args["code"])

    @action(
        "withdraw",
        {"petition": ID, "reason": Str(2000, min_len=0, required=False, default="")},
        who="the author",
    )
    def withdraw(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """The author takes the petition back, before the threshold is reached."""
        person = ctx.require_person()
        record = self._petition(state, args["petition"])
        if record["author"] != person:
            raise ModuleError(
                "petition.not_author", f"only the author may withdraw {record['id']}"
            )
        self._require_status(record, (MODERATION, OPEN), "petition.cannot_withdraw")
        if record["status"] == OPEN:
            unschedule(state, record["closes_at"], DUE_WINDOW, record["id"])
        record["withdrawal"] = {**ctx.stamp(), "reason": args["reason"]}
        self._move(ctx, state, record, WITHDRAWN)
        ctx.emit("withdrawn", petition=record["id"], signatures=record["signatures"])

    @action("sign", {"petition": ID}, who="citizen")
    def sign(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Sign once; the signature that reaches the threshold ends collection."""
        person = self._require_citizen(ctx, "sign petitions")
        record = self._petition(state, args["petition"])
        pid = record["id"]
        self._require_status(record, (OPEN,), "petition.not_open")
        if ctx.time >= record["closes_at"]:
            raise ModuleError(
                "petition.closed",
                f"collection for {pid} ended at {record['closes_at']}",
            )
        if state.has(f"signer/{pid}/{person}"):
            raise ModuleError("petition.already_signed", f"{person} already signed")
        count = record["signatures"] + 1
        record["signatures"] = count
        state.put(f"signer/{pid}/{person}", {**ctx.stamp(), "n": count})
        state.put(f"signers/{pid}/{count:0{ORDER_WIDTH}d}", person)
        state.put(f"petition/{pid}", record)
        ctx.emit("signed", petition=pid, person=person, signatures=count)
        if count >= record["threshold"]:
            self._reach_threshold(ctx, state, record, person)

    def _reach_threshold(
        self, ctx: Ctx, state: State, record: dict[str, Any], person: str
    ) -> None:
        addressee = self._addressee(record["addressee"])
        due = ctx.time + addressee.response_ms
        unschedule(state, record["closes_at"], DUE_WINDOW, record["id"])
        schedule(state, due, DUE_RESPONSE, record["id"])
        record["threshold_reached"] = {**ctx.stamp(), "signer": person}
        record["response_due"] = due
        self._move(ctx, state, record, THRESHOLD_REACHED)
        ctx.emit(
            "threshold_reached",
            petition=record["id"],
            signatures=record["signatures"],
            height=ctx.height,
            time=ctx.time,
            response_due=due,
        )

    @action(
        "respond",
        {
            "petition": ID,
            "decision": Str(16, choices=DECISIONS),
            "text": Str(16000),
        },
        who=ADDRESSEE,
    )
    def respond(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """The addressee's answer; also accepted after the deadline (late)."""
        person, record = self._require_addressee(ctx, state, args["petition"])
        self._require_status(
            record, (THRESHOLD_REACHED, OVERDUE), "petition.not_awaiting_response"
        )
        late = record["status"] == OVERDUE
        if not late:
            unschedule(state, record["response_due"], DUE_RESPONSE, record["id"])
        record["response"] = {
            **ctx.stamp(),
            "by": person,
            "decision": args["decision"],
            "late": late,
            "text": args["text"],
        }
        self._move(ctx, state, record, ANSWERED)
        ctx.emit(
            "answered", petition=record["id"], decision=args["decision"], late=late
        )

    def _require_status(
        self, record: dict[str, Any], allowed: tuple[str, ...], code: str
    ) -> None:
        if record["status"] not in allowed:
            raise ModuleError(
                code,
                f"petition {record['id']} is {record['status']}, "
                f"not {' or '.join(allowed)}",
            )

    # --- deadlines ------------------------------------------------------------

    def end_block(self, ctx: Ctx, state: State) -> None:
        """Expire collections and mark unanswered petitions overdue."""
        for _, kind, pid in pop_due(state, ctx.time):
            found = state.get(f"petition/{pid}")
            if found is None:
                continue
            record = dict(found)
            if kind == DUE_WINDOW and record["status"] == OPEN:
                self._move(ctx, state, record, EXPIRED)
                ctx.emit("expired", petition=pid, signatures=record["signatures"])
            elif kind == DUE_RESPONSE and record["status"] == THRESHOLD_REACHED:
                self._move(ctx, state, record, OVERDUE)
                ctx.emit("overdue", petition=pid, response_due=record["response_due"])

    # --- queries --------------------------------------------------------------

    @query("addressees")
    def q_addressees(self, state: State, params: dict[str, Any]) -> Any:
        return [a.to_value() for _, a in sorted(self.addressees.items())]

    @query("petition")
    def q_petition(self, state: State, params: dict[str, Any]) -> Any:
        return state.get(f"petition/{query_str(params, 'id')}")

    @query("petitions")
    def q_petitions(self, state: State, params: dict[str, Any]) -> Any:
        """Petitions with a status (default open), in id key order; paged."""
        status = query_str(params, "status", OPEN)
        if status not in STATUSES:
            raise ModuleError("query.invalid", f"status must be one of {STATUSES}")
        ids = query_page(state, f"status/{status}/", params)
        return [state.get(f"petition/{pid}") for pid in ids]

    @query("signature")
    def q_signature(self, state: State, params: dict[str, Any]) -> Any:
        """A person's signature on a petition (block, time, ordinal), or None."""
        pid, person = query_str(params, "petition"), query_str(params, "person")
        return state.get(f"signer/{pid}/{person}")

    @query("signers")
    def q_signers(self, state: State, params: dict[str, Any]) -> Any:
        """Signers in signing order: [{n, person}], after ordinal ``after``."""
        pid = query_str(params, "petition")
        after = param_int(params, "after") if "after" in params else 0
        if after is None:
            raise ModuleError("query.invalid", "after must be an ordinal >= 0")
        start = f"{after:0{ORDER_WIDTH}d}"
        limit = query_limit(params)
        prefix = f"signers/{pid}/"
        out: list[dict[str, Any]] = []
        for path, person in state.scan(prefix):
            stamp = path[len(prefix) :]
            if stamp > start:
                out.append({"n": int(stamp), "person": person})
                if len(out) == limit:
                    break
        return out
