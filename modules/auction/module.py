"""The auction state machine.

States: ``open`` (bids in ``[opens_at, closes_at)``) -> ``reveal`` (sealed
kinds, reveals in ``[closes_at, reveal_until)``) -> ``awarded`` (the best
valid bid waits for the auctioneer's payment confirmation) -> ``completed``;
or ``unsuccessful`` (no valid bid left) or ``cancelled``.

Invariants:

1. An auction has at most one award at a time, and the awarded bid is the
   first of the ranking of valid bids by non-disqualified bidders (highest
   amount, ties to the earlier bid).
2. Closing, the end of the reveal window and a missed payment deadline are
   handled in the end-of-block step at the first block whose time reaches
   them; no transaction is needed, and none is accepted past a deadline.
3. A sealed amount is on chain only once revealed; an unrevealed or
   mismatching commitment is forfeited, recorded, and never wins.
4. A registry item is locked for this auction at creation and leaves the
   lock only by the award's transfer (in the payment confirmation's own
   transaction) or by the lock's release when the auction ends otherwise.

State (under ``auction/``; ``<a>`` is the id with 10 digits):

- ``auction/<a>``: the auction
- ``bid/<a>/<seq>``: every bid, commitment or acceptance (8-digit seq)
- ``last/<a>/<person>``: the seq of the person's latest bid
- ``admitted/<a>/<person>``: the admission record
- ``open/<a>``: 1 while the auction is open (the open-auctions index)
- ``bidder/<person>/<a>``: 1 once the person has bid (their index)
- ``due/...``: deadlines (``close``, ``reveal``, ``payment``)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modules.auction import rules
from modules.auction.rules import KINDS, SEALED
from modules.base import (
    Ctx,
    Module,
    action,
    param_int,
    pop_due,
    query,
    schedule,
    unschedule,
)
from modules.errors import ModuleError
from modules.schema import PERSON, Bool, Bytes, Int, Str
from modules.state import State

if TYPE_CHECKING:
    from chain.genesis import Genesis

AUCTIONEER = "auctioneer"
FINAL = ("completed", "unsuccessful", "cancelled")
AUCTION = Int(1, doc="auction id")
REASON = Str(512, doc="stated reason")
MONEY = Int(0, 2**62, doc="minor units (kopiykas)")
MS = Int(0, 2**62, doc="milliseconds")


def _err(code: str, message: str) -> ModuleError:
    return ModuleError(f"auction.{code}", message)


def _key(aid: int) -> str:
    return f"{aid:010d}"


class AuctionModule(Module):
    name = "auction"

    def __init__(self, config: dict[str, Any], genesis: Genesis | None = None) -> None:
        super().__init__(config, genesis)
        self.limits = rules.parse_config(config)

    # --- lookups --------------------------------------------------------------

    def _load(self, state: State, aid: int) -> dict[str, Any]:
        auction = state.get(f"auction/{_key(aid)}")
        if auction is None:
            raise _err("unknown", f"no auction {aid}")
        return dict(auction)

    def _save(self, state: State, auction: dict[str, Any]) -> None:
        state.put(f"auction/{_key(auction['id'])}", auction)

    def _own(self, ctx: Ctx, state: State, aid: int) -> dict[str, Any]:
        """The auction, if the signer is its auctioneer."""
        person = ctx.require_role(AUCTIONEER)
        auction = self._load(state, aid)
        if auction["auctioneer"] != person:
            raise _err("forbidden", f"auction {aid} belongs to another auctioneer")
        return auction

    def _bids(self, state: State, aid: int) -> list[dict[str, Any]]:
        return [bid for _, bid in state.scan(f"bid/{_key(aid)}/")]

    def _bidder_bid(self, state: State, aid: int, person: str) -> dict[str, Any] | None:
        seq = state.get(f"last/{_key(aid)}/{person}")
        if seq is None:
            return None
        return dict(state.get(f"bid/{_key(aid)}/{seq:08d}"))

    # --- creation ---------------------------------------------------------------

    @action(
        "create",
        {
            "item": Str(1024, doc="description of what is sold"),
            "register": Str(32, required=False, doc="registry register"),
            "record": Str(64, required=False, doc="registry record id"),
            "kind": Str(16, choices=KINDS),
            "start_price": Int(1, 2**62),
            "min_step": Int(0, 2**62, required=False, default=0),
            "opens_at": MS,
            "closes_at": MS,
            "extension": Int(0, 2**62, required=False, default=0),
            "reveal_period": Int(0, 2**62, required=False, default=0),
            "floor_price": Int(0, 2**62, required=False, default=0),
            "interval": Int(0, 2**62, required=False, default=0),
            "admission": Bool(required=False, default=False),
            "payment_period": Int(0, 2**62, required=False, default=0),
        },
        who="auctioneer",
    )
    def create(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Announce an auction; a registry item is locked for it."""
        person = ctx.require_role(AUCTIONEER)
        self._check_terms(ctx, args)
        aid = state.next_id("auction")
        register, record = args["register"], args["record"]
        if (register is None) != (record is None):
            raise _err("bad_item", "give both register and record, or neither")
        if register is not None:
            ctx.call(
                "registry",
                "lock_for_sale",
                register=register,
                record=record,
                seller=person,
                ref=f"auction/{aid}",
            )
        kind = args["kind"]
        auction: dict[str, Any] = {
            "admission": args["admission"],
            "auctioneer": person,
            "award": None,
            "bids": 0,
            "closes_at": args["closes_at"],
            "created": ctx.stamp(),
            "disqualified": [],
            "ended": None,
            "extension": args["extension"],
            "floor_price": args["floor_price"],
            "id": aid,
            "interval": args["interval"],
            "item": {
                "description": args["item"],
                "record": record,
                "register": register,
            },
            "kind": kind,
            "leader": None,
            "min_step": args["min_step"],
            "opens_at": args["opens_at"],
            "outcome": "",
            "payment_period": args["payment_period"],
            "reveal_until": (
                args["closes_at"] + args["reveal_period"] if kind in SEALED else None
            ),
            "scheduled_close": args["closes_at"],
            "start_price": args["start_price"],
            "status": "open",
            "withdrawn_award": None,
        }
        self._save(state, auction)
        state.put(f"open/{_key(aid)}", 1)
        schedule(state, args["closes_at"], "close", _key(aid))
        ctx.emit(
            "created",
            auction=aid,
            kind=kind,
            opens_at=args["opens_at"],
            closes_at=args["closes_at"],
        )

    def _check_terms(self, ctx: Ctx, args: dict[str, Any]) -> None:
        """Refuse terms that make no sense for the kind, or times not ahead."""
        kind, opens, closes = args["kind"], args["opens_at"], args["closes_at"]
        if opens <= ctx.time:
            raise _err("bad_times", f"opens_at {opens} is not after now ({ctx.time})")
        if closes <= opens:
            raise _err("bad_times", "closes_at must be after opens_at")
        end = closes + (args["reveal_period"] if kind in SEALED else 0)
        if end - opens > self.limits["max_duration"]:
            raise _err("bad_times", "the auction would last longer than allowed")

        def need(ok: bool, message: str) -> None:
            if not ok:
                raise _err("bad_terms", f"{kind}: {message}")

        need(kind in SEALED or args["min_step"] >= 1, "min_step must be >= 1")
        need(kind == "english" or args["extension"] == 0, "extension is english-only")
        if kind in SEALED:
            need(args["reveal_period"] >= 1, "reveal_period must be >= 1")
        else:
            need(args["reveal_period"] == 0, "reveal_period is for sealed bids")
        if kind == "dutch":
            need(args["interval"] >= 1, "interval must be >= 1")
            need(
                1 <= args["floor_price"] <= args["start_price"],
                "floor_price must be within 1..start_price",
            )
        else:
            need(args["interval"] == 0, "interval is dutch-only")
            need(args["floor_price"] == 0, "floor_price is dutch-only")

    # --- admission --------------------------------------------------------------

    @action("admit", {"auction": AUCTION, "person": PERSON}, who="its auctioneer")
    def admit(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Admit a bidder whose deposit was paid (off chain)."""
        auction = self._own(ctx, state, args["auction"])
        person = args["person"]
        if not auction["admission"]:
            raise _err("no_admission", "this auction is open to every person")
        self._require_open(ctx, auction)
        if person == auction["auctioneer"]:
            raise _err("self_bid", "the auctioneer cannot bid")
        if not ctx.call("identity", "is_active", person=person):
            raise _err("unknown_person", f"{person} is not an active person")
        path = f"admitted/{_key(auction['id'])}/{person}"
        if state.has(path):
            raise _err("already_admitted", f"{person} is already admitted")
        state.put(path, ctx.stamp())
        ctx.emit("admitted", auction=auction["id"], person=person)

    # --- bidding ----------------------------------------------------------------

    def _require_open(self, ctx: Ctx, auction: dict[str, Any]) -> None:
        if auction["status"] != "open" or ctx.time >= auction["closes_at"]:
            raise _err("closed", f"auction {auction['id']} is closed for bids")

    def _bidder(
        self, ctx: Ctx, state: State, auction: dict[str, Any], kinds: tuple[str, ...]
    ) -> str:
        """The signer, if they may bid in this auction now."""
        person = ctx.require_person()
        if auction["kind"] not in kinds:
            raise _err("wrong_kind", f"auction {auction['id']} is {auction['kind']}")
        self._require_open(ctx, auction)
        if ctx.time < auction["opens_at"]:
            raise _err("not_open", f"bidding opens at {auction['opens_at']}")
        if person == auction["auctioneer"]:
            raise _err("self_bid", "the auctioneer cannot bid")
        admitted = state.has(f"admitted/{_key(auction['id'])}/{person}")
        if auction["admission"] and not admitted:
            raise _err("not_admitted", f"{person} is not admitted")
        if auction["bids"] >= self.limits["max_bids"]:
            raise _err("too_many_bids", "the auction has reached its bid limit")
        return person

    def _record_bid(
        self, ctx: Ctx, state: State, auction: dict[str, Any], bid: dict[str, Any]
    ) -> dict[str, Any]:
        seq = auction["bids"] + 1
        auction["bids"] = seq
        aid = _key(auction["id"])
        bid = {"seq": seq, **bid, **ctx.stamp()}
        state.put(f"bid/{aid}/{seq:08d}", bid)
        state.put(f"last/{aid}/{bid['bidder']}", seq)
        state.put(f"bidder/{bid['bidder']}/{aid}", 1)
        return bid

    @action("bid", {"auction": AUCTION, "amount": MONEY}, who="a bidder")
    def bid(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """An english bid: at least the start price, then the leader plus a step."""
        auction = self._load(state, args["auction"])
        person = self._bidder(ctx, state, auction, ("english",))
        leader, amount = auction["leader"], args["amount"]
        if leader is None and amount < auction["start_price"]:
            raise _err("bid_too_low", f"the start price is {auction['start_price']}")
        if leader is not None:
            if leader["bidder"] == person:
                raise _err("already_leading", f"{person} holds the best bid")
            least = leader["amount"] + auction["min_step"]
            if amount < least:
                raise _err("bid_too_low", f"the least acceptable bid is {least}")
        bid = self._record_bid(
            ctx, state, auction, {"amount": amount, "bidder": person, "status": "valid"}
        )
        auction["leader"] = {"amount": amount, "bidder": person, "seq": bid["seq"]}
        ctx.emit("bid", auction=auction["id"], bidder=person, amount=amount)
        if auction["closes_at"] - ctx.time <= auction["extension"]:
            # Anti-sniping: a bid in the last window gives everyone time to answer.
            aid = _key(auction["id"])
            unschedule(state, auction["closes_at"], "close", aid)
            auction["closes_at"] += auction["extension"]
            schedule(state, auction["closes_at"], "close", aid)
            ctx.emit("extended", auction=auction["id"], closes_at=auction["closes_at"])
        self._save(state, auction)

    @action(
        "commit",
        {"auction": AUCTION, "hash": Bytes(32, doc="commitment_hash(...)")},
        who="a bidder",
    )
    def commit(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """A sealed bid: only its commitment hash, once per bidder."""
        auction = self._load(state, args["auction"])
        person = self._bidder(ctx, state, auction, tuple(sorted(SEALED)))
        if state.has(f"last/{_key(auction['id'])}/{person}"):
            raise _err("already_committed", f"{person} has already committed")
        self._record_bid(
            ctx,
            state,
            auction,
            {
                "amount": None,
                "bidder": person,
                "hash": args["hash"],
                "revealed": None,
                "status": "committed",
            },
        )
        self._save(state, auction)
        ctx.emit("committed", auction=auction["id"], bidder=person)

    @action(
        "reveal",
        {"auction": AUCTION, "amount": MONEY, "salt": Bytes(max_len=64)},
        who="a bidder who committed",
    )
    def reveal(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Open a sealed bid. A mismatch is recorded and forfeits the bid."""
        person = ctx.require_person()
        auction = self._load(state, args["auction"])
        if auction["kind"] not in SEALED:
            raise _err("wrong_kind", f"auction {auction['id']} is {auction['kind']}")
        in_window = auction["closes_at"] <= ctx.time < auction["reveal_until"]
        if auction["status"] != "reveal" or not in_window:
            raise _err("not_reveal_phase", "this is not the reveal window")
        bid = self._bidder_bid(state, auction["id"], person)
        if bid is None:
            raise _err("no_commitment", f"{person} made no commitment")
        if bid["status"] != "committed":
            raise _err("already_revealed", f"the commitment is {bid['status']}")
        amount = args["amount"]
        expected = rules.commitment_hash(auction["id"], person, amount, args["salt"])
        bid["revealed"] = ctx.stamp()
        if expected != bid["hash"]:
            bid["status"] = "mismatch"
            ctx.emit("forfeited", auction=auction["id"], bidder=person, why="mismatch")
        elif amount < auction["start_price"]:
            bid["status"], bid["amount"] = "below_start", amount
            ctx.emit("forfeited", auction=auction["id"], bidder=person, why="low")
        else:
            bid["status"], bid["amount"] = "valid", amount
            ctx.emit("revealed", auction=auction["id"], bidder=person, amount=amount)
        state.put(f"bid/{_key(auction['id'])}/{bid['seq']:08d}", bid)

    @action(
        "accept_price",
        {"auction": AUCTION, "price": Int(1, 2**62, doc="the price the bidder saw")},
        who="a bidder",
    )
    def accept_price(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Dutch: take the current price; the first acceptance wins at once.

        ``price`` protects the bidder: the acceptance is refused if the
        current price is above it, and the bidder pays the current price.
        """
        auction = self._load(state, args["auction"])
        person = self._bidder(ctx, state, auction, ("dutch",))
        current = rules.dutch_price(auction, ctx.time)
        if current > args["price"]:
            raise _err("price_changed", f"the current price is {current}")
        self._record_bid(
            ctx,
            state,
            auction,
            {"amount": current, "bidder": person, "status": "valid"},
        )
        unschedule(state, auction["closes_at"], "close", _key(auction["id"]))
        ctx.emit("price_accepted", auction=auction["id"], bidder=person, price=current)
        self._close_bidding(ctx, state, auction)
        self._award(ctx, state, auction)

    # --- after bidding ------------------------------------------------------------

    @action("confirm_payment", {"auction": AUCTION}, who="its auctioneer")
    def confirm_payment(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """The winner paid: the auction completes; a registry item changes hands."""
        auction = self._own(ctx, state, args["auction"])
        award = self._require_award(auction)
        item = auction["item"]
        if item["register"] is not None:
            ctx.call(
                "registry",
                "transfer_by_award",
                register=item["register"],
                record=item["record"],
                winner=award["bidder"],
                ref=f"auction/{auction['id']}",
                price=award["price"],
            )
        self._unschedule_payment(state, auction)
        award["paid"] = ctx.stamp()
        self._end(ctx, state, auction, "completed", "payment confirmed")
        ctx.emit(
            "completed",
            auction=auction["id"],
            winner=award["bidder"],
            price=award["price"],
        )

    @action("disqualify", {"auction": AUCTION, "reason": REASON}, who="its auctioneer")
    def disqualify(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """The winner did not pay or is ineligible; the next best bid is awarded."""
        auction = self._own(ctx, state, args["auction"])
        self._require_award(auction)
        self._disqualify(ctx, state, auction, args["reason"])

    @action("cancel", {"auction": AUCTION, "reason": REASON}, who="its auctioneer")
    def cancel(self, ctx: Ctx, state: State, args: dict[str, Any]) -> None:
        """Cancel before the first bid, or when the item can no longer be sold.

        The second case covers a registry record arrested or mortgaged while
        its auction runs: the sale could never be completed.
        """
        auction = self._own(ctx, state, args["auction"])
        if auction["status"] in FINAL:
            raise _err("finished", f"auction {auction['id']} is {auction['status']}")
        if auction["bids"] > 0 and not self._item_blocked(ctx, auction):
            raise _err("has_bids", "an auction with bids cannot be cancelled")
        if auction["status"] == "open":
            unschedule(state, auction["closes_at"], "close", _key(auction["id"]))
        if auction["status"] == "reveal":
            unschedule(state, auction["reveal_until"], "reveal", _key(auction["id"]))
        self._unschedule_payment(state, auction)
        # an award the sale can no longer honour is kept for the record only
        auction["withdrawn_award"], auction["award"] = auction["award"], None
        self._end(ctx, state, auction, "cancelled", args["reason"])
        ctx.emit("cancelled", auction=auction["id"], reason=args["reason"])

    def _item_blocked(self, ctx: Ctx, auction: dict[str, Any]) -> bool:
        item = auction["item"]
        if item["register"] is None:
            return False
        return not ctx.call(
            "registry",
            "is_transferable",
            register=item["register"],
            record=item["record"],
        )

    def _require_award(self, auction: dict[str, Any]) -> dict[str, Any]:
        if auction["status"] != "awarded":
            raise _err("not_awarded", f"auction {auction['id']} is {auction['status']}")
        return dict(auction["award"])

    # --- state transitions (also from end_block: these never raise) ---------------

    def _close_bidding(self, ctx: Ctx, state: State, auction: dict[str, Any]) -> None:
        state.delete(f"open/{_key(auction['id'])}")
        ctx.emit("closed", auction=auction["id"], bids=auction["bids"])

    def _award(self, ctx: Ctx, state: State, auction: dict[str, Any]) -> None:
        """Award the best valid bid of a bidder not disqualified, or end."""
        excluded = {d["bidder"] for d in auction["disqualified"]}
        ranked = rules.ranking(self._bids(state, auction["id"]), excluded)
        if not ranked:
            self._end(ctx, state, auction, "unsuccessful", "no valid bid")
            ctx.emit("unsuccessful", auction=auction["id"])
            return
        best = ranked[0]
        price = rules.award_price(auction["kind"], ranked, auction["start_price"])
        due = None
        if auction["payment_period"]:
            due = ctx.time + auction["payment_period"]
        round_ = len(auction["disqualified"]) + 1
        auction["status"] = "awarded"
        auction["award"] = {
            "amount": best["amount"],
            "bidder": best["bidder"],
            "due": due,
            "paid": None,
            "price": price,
            "round": round_,
            "seq": best["seq"],
            **ctx.stamp(),
        }
        if due is not None:
            schedule(state, due, "payment", f"{_key(auction['id'])}.{round_}")
        self._save(state, auction)
        ctx.emit(
            "awarded",
            auction=auction["id"],
            winner=best["bidder"],
            price=price,
            round=round_,
        )

    def _disqualify(
        self, ctx: Ctx, state: State, auction: dict[str, Any], reason: str
    ) -> None:
        award = auction["award"]
        self._unschedule_payment(state, auction)
        auction["disqualified"] = [
            *auction["disqualified"],
            {"bidder": award["bidder"], "reason": reason, **ctx.stamp()},
        ]
        auction["award"] = None
        ctx.emit(
            "disqualified", auction=auction["id"], bidder=award["bidder"], reason=reason
        )
        self._award(ctx, state, auction)

    def _unschedule_payment(self, state: State, auction: dict[str, Any]) -> None:
        award = auction["award"]
        if award is not None and award["due"] is not None:
            item = f"{_key(auction['id'])}.{award['round']}"
            unschedule(state, award["due"], "payment", item)

    def _end(
        self, ctx: Ctx, state: State, auction: dict[str, Any], status: str, why: str
    ) -> None:
        """Enter a final state; a registry lock is lifted unless it was spent."""
        state.delete(f"open/{_key(auction['id'])}")
        auction["status"] = status
        auction["outcome"] = why
        auction["ended"] = ctx.stamp()
        item = auction["item"]
        if status != "completed" and item["register"] is not None:
            ctx.call(
                "registry",
                "unlock_sale",
                register=item["register"],
                record=item["record"],
                ref=f"auction/{auction['id']}",
            )
        self._save(state, auction)

    # --- deadlines ----------------------------------------------------------------

    def end_block(self, ctx: Ctx, state: State) -> None:
        # A deadline handled here may set another one already in the past (a
        # long gap between blocks), so drain until nothing is due.
        while True:
            due = list(pop_due(state, ctx.time))
            if not due:
                return
            for _, kind, item in due:
                if kind == "close":
                    self._on_close(ctx, state, int(item))
                elif kind == "reveal":
                    self._on_reveal_end(ctx, state, int(item))
                elif kind == "payment":
                    aid, round_ = item.split(".")
                    self._on_payment_due(ctx, state, int(aid), int(round_))

    def _on_close(self, ctx: Ctx, state: State, aid: int) -> None:
        auction = self._load(state, aid)
        if auction["status"] != "open":
            return
        self._close_bidding(ctx, state, auction)
        if auction["kind"] in SEALED and auction["bids"] > 0:
            auction["status"] = "reveal"
            schedule(state, auction["reveal_until"], "reveal", _key(aid))
            self._save(state, auction)
            ctx.emit("reveal_started", auction=aid, until=auction["reveal_until"])
            return
        self._award(ctx, state, auction)

    def _on_reveal_end(self, ctx: Ctx, state: State, aid: int) -> None:
        auction = self._load(state, aid)
        if auction["status"] != "reveal":
            return
        for bid in self._bids(state, aid):
            if bid["status"] == "committed":
                bid["status"] = "unrevealed"
                state.put(f"bid/{_key(aid)}/{bid['seq']:08d}", bid)
                ctx.emit(
                    "forfeited", auction=aid, bidder=bid["bidder"], why="unrevealed"
                )
        self._award(ctx, state, auction)

    def _on_payment_due(self, ctx: Ctx, state: State, aid: int, round_: int) -> None:
        auction = self._load(state, aid)
        award = auction["award"]
        if auction["status"] != "awarded" or award["round"] != round_:
            return
        self._disqualify(ctx, state, auction, "payment not confirmed in time")

    # --- queries ------------------------------------------------------------------

    @query("auction")
    def q_auction(self, state: State, params: dict[str, Any]) -> Any:
        """The auction with its bids; a sealed amount appears once revealed."""
        aid = param_int(params, "id")
        if aid is None or aid < 1:
            return None
        auction = state.get(f"auction/{_key(aid)}")
        if auction is None:
            return None
        auction["bid_list"] = self._bids(state, aid)
        auction["admitted"] = [
            path.rsplit("/", 1)[1] for path, _ in state.scan(f"admitted/{_key(aid)}/")
        ]
        return auction

    @query("open")
    def q_open(self, state: State, params: dict[str, Any]) -> Any:
        """Auctions still taking bids (or about to), by id."""
        out = []
        for path, _ in state.scan("open/"):
            auction = state.get(f"auction/{path.split('/', 1)[1]}")
            out.append(_summary(auction))
        return out

    @query("bidder")
    def q_bidder(self, state: State, params: dict[str, Any]) -> Any:
        """Auctions a person has bid in, with whether they hold the award."""
        person = str(params.get("person", ""))
        if not person or "/" in person:
            return []
        out = []
        for path, _ in state.scan(f"bidder/{person}/"):
            auction = state.get(f"auction/{path.rsplit('/', 1)[1]}")
            award = auction["award"]
            winner = award is not None and award["bidder"] == person
            out.append({**_summary(auction), "winner": winner})
        return out

    @query("price")
    def q_price(self, state: State, params: dict[str, Any]) -> Any:
        """A dutch auction's asking price at ``time`` (ms)."""
        aid, time = param_int(params, "id"), param_int(params, "time")
        if aid is None or time is None or aid < 1:
            return None
        auction = state.get(f"auction/{_key(aid)}")
        if auction is None or auction["kind"] != "dutch":
            return None
        return rules.dutch_price(auction, time)


def _summary(auction: dict[str, Any]) -> dict[str, Any]:
    return {
        "closes_at": auction["closes_at"],
        "id": auction["id"],
        "item": auction["item"],
        "kind": auction["kind"],
        "opens_at": auction["opens_at"],
        "status": auction["status"],
    }
