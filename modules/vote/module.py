"""vote — ballots run by election officials, and citizens' proposals.

Invariants:

1. Votes belong to persons (identity person ids), never to keys: a person
   has at most one recorded vote per ballot, ``cast/<mode>/<ballot>/<person>``.
   A re-vote, where the ballot allows it, replaces that record, so the last
   vote counts and a key rotation never yields a second vote.
2. A vote is accepted only in ``opens_at <= time < closes_at`` and only from
   a person eligible at that moment. The times decide; the ``status`` field
   follows in the end-of-block step of the first block at or after them.
3. The tally is computed once, in the end-of-block step of the first block
   at or after ``closes_at``, from the recorded votes; it is stored in the
   ballot and never changes afterwards.
4. A proposal's ``supporters`` equals its ``support/<proposal>/<person>``
   entries. The support that reaches the threshold turns the proposal into a
   yes/no ballot in the same transaction; a proposal still short of it when
   its support window ends is archived.

State layout: see docs/modules/vote.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modules.base import (
    Ctx,
    Module,
    action,
    pop_due,
    query,
    query_page,
    query_str,
    schedule,
    unschedule,
)
from modules.errors import ModuleError
from modules.schema import Bool, Int, ListOf, MapOf, Str
from modules.state import State
from modules.vote import ballot as b
from modules.vote.config import parse_config

if TYPE_CHECKING:
    from chain.genesis import Genesis

OFFICIAL = "election_official"
MAX_OPTIONS = 16
ID = Str(32, doc="ballot or proposal id")

# Proposal statuses.
COLLECTING = "collecting"
ACCEPTED = "accepted"
ARCHIVED = "archived"
PROPOSAL_STATUSES = (COLLECTING, ACCEPTED, ARCHIVED)

# Deadline kinds (modules.base.schedule).
DUE_OPEN = "open"
DUE_CLOSE = "close"
DUE_SUPPORT = "support"


class VoteModule(Module):
    name = "vote"

    def __init__(self, config: dict[str, Any], genesis: Genesis | None = None) -> None:
        super().__init__(config, genesis)
        self.policy = parse_config(config)

    # --- state helpers --------------------------------------------------------

    def _ballot(self, state: State, bid: str) -> dict[str, Any]:
        record = state.get(f"ballot/{bid}")
        if record is None:
            raise ModuleError("vote.unknown_ballot", f"no ballot {bid}")
        return dict(record)

    def _proposal(self, state: State, pid: str) -> dict[str, Any]:
        record = state.get(f"proposal/{pid}")
        if record is None:
            raise ModuleError("vote.unknown_proposal", f"no proposal {pid}")
        return dict(record)

    def _set_status(
        self, state: State, kind: str, record: dict[str, Any], status: str
    ) -> None:
        """Move a ballot or proposal to ``status``, keeping the index in step."""
        state.delete(f"{kind}_status/{record['status']}/{record['id']}")
        state.put(f"{kind}_status/{status}/{record['id']}", 1)
        record["status"] = status

    def _require_citizen(self, ctx: Ctx, what: str) -> str:
        person = ctx.require_person()
        why = b.ineligibility(ctx, person, {"role": b.CITIZEN, "attributes": {}})
        if why is not None:
            raise ModuleError("vote.not_citizen", f"only citizens may {what}: {why}")
        return person

    # --- ballots ------------------------------------------------------------

    def _new_ballot(
        self,
        ctx: Ctx,
        state: State,
        spec: dict[str, Any],
        origin: dict[str, Any],
    ) -> dict[str, Any]:
        bid = f"b{state.next_id('ballot')}"
        record = {
            "cancelled": None,
            "closes_at": spec["closes_at"],
            "created": ctx.stamp(),
            "eligibility": {"attributes": spec["attributes"], "role": spec["eligible"]},
            "id": bid,
            "mode": spec["mode"],
            "options": spec["options"],
            "opens_at": spec["opens_at"],
            "origin": origin,
            "question": spec["question"],
            "quorum": spec["quorum"],
            "revote": spec["revote"],
            "status": b.SCHEDULED,
            "tally": None,
            "voters": 0,
        }
        state.put(f"ballot_status/{b.SCHEDULED}/{bid}", 1)
        ctx.emit(
            "ballot_created",
            ballot=bid,
            closes_at=spec["closes_at"],
            opens_at=spec["opens_at"],
            options=len(spec["options"]),
            origin=origin["kind"],
        )
        if spec["opens_at"] <= ctx.time:
            self._open(ctx, state, record)
        else:
            schedule(state, spec["opens_at"], DUE_OPEN, bid)
        schedule(state, spec["closes_at"], DUE_CLOSE, bid)
        state.put(f"ballot/{bid}", record)
        return record

    def _open(self, ctx: Ctx, state: State, record: dict[str, Any]) -> None:
        self._set_status(state, "ballot", record, b.OPEN)
        ctx.emit("ballot_opened", ballot=record["id"], closes_at=record["closes_at"])

    def _close(self, ctx: Ctx, state: State, record: dict[str, Any]) -> None:
        choices = (
            int(vote["option"])
            for _, vote in state.scan(b.cast_prefix(record["mode"], record["id"]))
        )
        result = b.tally(len(record["options"]), choices, record["quorum"])
        result["closed"] = ctx.stamp()
        record["tally"] = result
        self._set_status(state, "ballot", record, b.CLOSED)
        state.put(f"ballot/{record['id']}", record)
        ctx.emit(
            "ballot_closed",
            ballot=record["id"],
            counts=result["counts"],
            leading=result["leading"],
            quorum_met=result["quorum_met"],
            turnout=result["turnout"],
        )

    @action(
        "create_ballot",
        {
            "question": Str(500),
            "options": ListOf(Str(200), MAX_OPTIONS, min_len=2),
            "eligible": Str(64, required=False, default=b.CITIZEN),
            "attributes": MapOf(Str(128), 4, required=False),
            "opens_at": Int(),
            "closes_at": Int(),
            "revote": Bool(required=False, default=False),
            "quorum": Int(0, 10**9, required=False, default=0),
            "mode": Str(16, choices=b.MODES, required=False, default="open"),
        },
        who=OFFICIAL,
    )
    def create_ballot(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Schedule a ballot; it opens and closes at the given block times."""
        person = ctx.require_role(OFFICIAL)
        if len(set(args["options"])) != len(args["options"]):
            raise ModuleError("vote.duplicate_option", "options must be distinct")
        if not b.ELIGIBLE_RE.match(args["eligible"]):
            raise ModuleError(
                "vote.bad_eligibility",
                f"{args['eligible']!r} is neither 'citizen' nor a role name",
            )
        if args["opens_at"] < ctx.time:
            raise ModuleError(
                "vote.opens_in_past",
                f"opens_at {args['opens_at']} is before the block time {ctx.time}",
            )
        if args["closes_at"] <= args["opens_at"]:
            raise ModuleError("vote.bad_window", "closes_at must be after opens_at")
        if args["closes_at"] - args["opens_at"] > self.policy.max_ballot_ms:
            raise ModuleError(
                "vote.too_long",
                f"a ballot may last at most {self.policy.max_ballot_ms} ms",
            )
        self._new_ballot(ctx, state, args, {"by": person, "kind": "official"})

    @action("cancel_ballot", {"ballot": ID, "reason": Str(500)}, who=OFFICIAL)
    def cancel_ballot(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Cancel a ballot that has not opened yet."""
        person = ctx.require_role(OFFICIAL)
        record = self._ballot(state, args["ballot"])
        if record["status"] == b.CANCELLED:
            raise ModuleError("vote.cancelled", f"ballot {record['id']} is cancelled")
        if record["status"] != b.SCHEDULED or ctx.time >= record["opens_at"]:
            raise ModuleError(
                "vote.already_open", f"ballot {record['id']} has already opened"
            )
        unschedule(state, record["opens_at"], DUE_OPEN, record["id"])
        unschedule(state, record["closes_at"], DUE_CLOSE, record["id"])
        record["cancelled"] = {**ctx.stamp(), "by": person, "reason": args["reason"]}
        self._set_status(state, "ballot", record, b.CANCELLED)
        state.put(f"ballot/{record['id']}", record)
        ctx.emit("ballot_cancelled", ballot=record["id"], by=person)

    @action("cast", {"ballot": ID, "option": Int(0, MAX_OPTIONS - 1)}, who="eligible")
    def cast(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Vote for an option (by index); on a re-vote ballot, change it."""
        person = ctx.require_person()
        record = self._ballot(state, args["ballot"])
        bid, option = record["id"], args["option"]
        self._check_window(ctx, record)
        if option >= len(record["options"]):
            raise ModuleError(
                "vote.bad_option",
                f"ballot {bid} has options 0..{len(record['options']) - 1}",
            )
        why = b.ineligibility(ctx, person, record["eligibility"])
        if why is not None:
            raise ModuleError("vote.not_eligible", why)
        path = b.cast_prefix(record["mode"], bid) + person
        previous = state.get(path)
        if previous is not None:
            if not record["revote"]:
                raise ModuleError(
                    "vote.already_voted", f"{person} has already voted on {bid}"
                )
            if previous["option"] == option:
                raise ModuleError(
                    "vote.unchanged", f"{person} already votes for option {option}"
                )
        else:
            record["voters"] += 1
            state.put(f"ballot/{bid}", record)
        changes = 0 if previous is None else int(previous["changes"]) + 1
        state.put(path, {**ctx.stamp(), "changes": changes, "option": option})
        ctx.emit(
            "vote_cast", ballot=bid, person=person, option=option, revote=changes > 0
        )

    def _check_window(self, ctx: Ctx, record: dict[str, Any]) -> None:
        bid = record["id"]
        if record["status"] == b.CANCELLED:
            raise ModuleError("vote.cancelled", f"ballot {bid} is cancelled")
        if ctx.time < record["opens_at"]:
            raise ModuleError(
                "vote.not_open", f"ballot {bid} opens at {record['opens_at']}"
            )
        if record["status"] == b.CLOSED or ctx.time >= record["closes_at"]:
            raise ModuleError(
                "vote.closed", f"ballot {bid} closed at {record['closes_at']}"
            )

    # --- citizens' proposals ------------------------------------------------

    @action("propose", {"title": Str(200), "text": Str(4000)}, who="citizen")
    def propose(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Put a question to the citizens; support decides whether it is voted."""
        person = self._require_citizen(ctx, "propose")
        rule = self.policy.proposals
        pid = f"cp{state.next_id('proposal')}"
        until = ctx.time + rule.support_ms
        record = {
            "accepted": None,
            "archived": None,
            "author": person,
            "ballot": None,
            "created": ctx.stamp(),
            "id": pid,
            "status": COLLECTING,
            "support_until": until,
            "supporters": 0,
            "text": args["text"],
            "threshold": rule.support_threshold,
            "title": args["title"],
        }
        state.put(f"proposal/{pid}", record)
        state.put(f"proposal_status/{COLLECTING}/{pid}", 1)
        schedule(state, until, DUE_SUPPORT, pid)
        ctx.emit(
            "proposed",
            proposal=pid,
            author=person,
            support_until=until,
            threshold=rule.support_threshold,
        )

    @action("support", {"proposal": ID}, who="citizen other than the author")
    def support(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Support a proposal; the support that reaches the threshold makes a
        ballot of it at once."""
        person = self._require_citizen(ctx, "support proposals")
        record = self._proposal(state, args["proposal"])
        pid = record["id"]
        if record["status"] != COLLECTING or ctx.time >= record["support_until"]:
            raise ModuleError(
                "vote.support_closed", f"proposal {pid} no longer collects support"
            )
        if record["author"] == person:
            raise ModuleError(
                "vote.own_proposal", "the author cannot support their own proposal"
            )
        if state.has(f"support/{pid}/{person}"):
            raise ModuleError(
                "vote.already_supported", f"{person} already supports {pid}"
            )
        state.put(f"support/{pid}/{person}", ctx.stamp())
        record["supporters"] += 1
        ctx.emit(
            "supported", proposal=pid, person=person, supporters=record["supporters"]
        )
        if record["supporters"] >= record["threshold"]:
            self._accept(ctx, state, record)
        state.put(f"proposal/{pid}", record)

    def _accept(self, ctx: Ctx, state: State, record: dict[str, Any]) -> None:
        rule = self.policy.proposals
        unschedule(state, record["support_until"], DUE_SUPPORT, record["id"])
        spec = {
            "attributes": {},
            "closes_at": ctx.time + rule.ballot_ms,
            "eligible": b.CITIZEN,
            "mode": "open",
            "options": ["yes", "no"],
            "opens_at": ctx.time,
            "question": record["title"],
            "quorum": rule.quorum,
            "revote": rule.revote,
        }
        origin = {"kind": "proposal", "proposal": record["id"]}
        ballot = self._new_ballot(ctx, state, spec, origin)
        record["accepted"] = ctx.stamp()
        record["ballot"] = ballot["id"]
        self._set_status(state, "proposal", record, ACCEPTED)
        ctx.emit(
            "proposal_accepted",
            proposal=record["id"],
            ballot=ballot["id"],
            supporters=record["supporters"],
        )

    def _archive(self, ctx: Ctx, state: State, record: dict[str, Any]) -> None:
        record["archived"] = ctx.stamp()
        self._set_status(state, "proposal", record, ARCHIVED)
        state.put(f"proposal/{record['id']}", record)
        ctx.emit(
            "proposal_archived",
            proposal=record["id"],
            supporters=record["supporters"],
            threshold=record["threshold"],
        )

    # --- deadlines ------------------------------------------------------------

    def end_block(self, ctx: Ctx, state: State) -> None:
        """Open, close and archive what fell due, in time order."""
        for _, kind, item in pop_due(state, ctx.time):
            if kind == DUE_SUPPORT:
                proposal = state.get(f"proposal/{item}")
                if proposal is not None and proposal["status"] == COLLECTING:
                    self._archive(ctx, state, dict(proposal))
                continue
            record = state.get(f"ballot/{item}")
            if record is None:
                continue
            record = dict(record)
            if kind == DUE_OPEN and record["status"] == b.SCHEDULED:
                self._open(ctx, state, record)
                state.put(f"ballot/{item}", record)
            elif kind == DUE_CLOSE and record["status"] in (b.SCHEDULED, b.OPEN):
                self._close(ctx, state, record)

    # --- queries --------------------------------------------------------------

    @query("config")
    def q_config(self, state: State, params: dict[str, Any]) -> Any:
        return self.policy.to_value()

    @query("ballot")
    def q_ballot(self, state: State, params: dict[str, Any]) -> Any:
        return state.get(f"ballot/{query_str(params, 'id')}")

    @query("vote")
    def q_vote(self, state: State, params: dict[str, Any]) -> Any:
        """A person's current vote on an open-mode ballot, or None."""
        record = state.get(f"ballot/{query_str(params, 'ballot')}")
        if record is None or record["mode"] != "open":
            return None
        path = b.cast_prefix("open", record["id"]) + query_str(params, "person")
        return state.get(path)

    @query("ballots")
    def q_ballots(self, state: State, params: dict[str, Any]) -> Any:
        """Ballots with a status (default open), in id key order."""
        status = query_str(params, "status", b.OPEN)
        if status not in b.STATUSES:
            raise ModuleError("query.invalid", f"status must be one of {b.STATUSES}")
        ids = query_page(state, f"ballot_status/{status}/", params)
        return [state.get(f"ballot/{bid}") for bid in ids]

    @query("open_ballots")
    def q_open_ballots(self, state: State, params: dict[str, Any]) -> Any:
        return self.q_ballots(state, {**params, "status": b.OPEN})

    @query("proposal")
    def q_proposal(self, state: State, params: dict[str, Any]) -> Any:
        return state.get(f"proposal/{query_str(params, 'id')}")

    @query("proposals")
    def q_proposals(self, state: State, params: dict[str, Any]) -> Any:
        """Proposals with a status (default collecting), in id key order."""
        status = query_str(params, "status", COLLECTING)
        if status not in PROPOSAL_STATUSES:
            raise ModuleError(
                "query.invalid", f"status must be one of {PROPOSAL_STATUSES}"
            )
        ids = query_page(state, f"proposal_status/{status}/", params)
        return [state.get(f"proposal/{pid}") for pid in ids]

    @query("supporters")
    def q_supporters(self, state: State, params: dict[str, Any]) -> Any:
        """Person ids supporting a proposal, in key order; paged."""
        return query_page(state, f"support/{query_str(params, 'proposal')}/", params)
