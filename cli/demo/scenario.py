"""The demo scenario: one pass over every module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chain.keys import dev_key
from cli.demo.chain import (
    AUCTION_MS,
    BALLOT_MS,
    LEAD_MS,
    MIN_CITIZENS,
    NAMES,
    REGIONS,
    UAH,
    Actor,
    Chain,
    DemoError,
    Stats,
    event,
    events_of,
    money,
)
from node.devnet import authority_key


def authority(seed: str, name: str) -> Actor:
    return Actor(name, authority_key(seed))


def citizen(i: int) -> Actor:
    return Actor(NAMES[i % len(NAMES)], dev_key(f"demo/citizen/{i}"))


class Scenario:
    """One pass over every module; ``log`` hears one line per thing done."""

    def __init__(
        self,
        chain: Chain,
        citizens: int,
        stats: Stats,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        if citizens < MIN_CITIZENS:
            raise DemoError("demo.citizens", f"need at least {MIN_CITIZENS} citizens")
        self.chain, self.stats, self.log = chain, stats, log
        self.people = [citizen(i) for i in range(citizens)]
        self.ministry = authority("authority/identity", "Ministry")
        self.cadastre = authority("authority/land", "Land Cadastre")
        self.fund = authority("authority/auctions", "State Property Fund")
        self.commission = authority("authority/elections", "Election Commission")
        self.council = authority("authority/kyiv", "Kyiv City Council")
        # The demo's own officials sign its steady load, so that whoever uses
        # the agencies' keys by hand meanwhile never races the demo for nonces.
        self.clerk = Actor("Registry clerk (demo)", dev_key("demo/clerk"))
        self.secretary = Actor("Council secretary (demo)", dev_key("demo/secretary"))
        self.proposal_ballot = ""

    def pick(self, start: int, count: int) -> list[Actor]:
        """``count`` distinct citizens from ``start``, wrapping around."""
        n = len(self.people)
        return [self.people[(start + k) % n] for k in range(count)]

    def phase(self, text: str) -> None:
        self.stats.phase = text

    def run(self) -> None:
        for agency in (self.ministry, self.cadastre, self.fund, self.council):
            person = self.chain.person_of(agency.key)
            if person is None:
                raise DemoError("demo.genesis", f"{agency.name} is not enrolled")
            agency.person = person
        self.enrol()
        self.appoint(self.clerk, "identity_authority")
        self.appoint(self.secretary, "petition_addressee:kyiv_council")
        auction = self.open_auction()
        self.bid(auction)
        ballot = self.official_ballot()
        self.land_transfer()
        self.proposal()
        self.petition()
        self.finish_auction(auction)
        self.finish_ballot(ballot)
        self.phase("scenario done")

    # --- identity -------------------------------------------------------------

    def enrol(self) -> None:
        self.phase("enrolling citizens")
        new: list[tuple[int, Actor]] = []
        for i, person in enumerate(self.people):
            found = self.chain.person_of(person.key)
            if found is None:
                new.append((i, person))
            else:
                person.person = found
        calls = [
            (
                self.ministry,
                "identity",
                "enrol",
                {
                    "key": p.key.public,
                    "name": p.name,
                    "kind": "citizen",
                    "attributes": {"region": REGIONS[i % len(REGIONS)]},
                },
            )
            for i, p in new
        ]
        for (_, person), result in zip(new, self.chain.run_all(calls), strict=True):
            person.person = str(event(result, "identity.enrolled")["person"])
        self.stats.citizens = len(self.people)
        ids = [p.person for p in self.people]
        self.log(
            f"identity: {len(new)} citizens enrolled, {len(self.people) - len(new)}"
            f" already enrolled ({ids[0]} .. {ids[-1]})"
        )

    def appoint(self, official: Actor, role: str) -> None:
        """Enrol ``official`` unless enrolled, and grant ``role`` unless held."""
        person = self.chain.person_of(official.key)
        if person is None:
            args = {
                "key": official.key.public,
                "name": official.name,
                "kind": "official",
                "attributes": {},
            }
            result = self.chain.run(self.ministry, "identity", "enrol", args)
            person = str(event(result, "identity.enrolled")["person"])
        official.person = person
        record = self.chain.query("identity", "person", id=person) or {}
        if role not in record.get("roles", []):
            args = {"person": person, "role": role}
            self.chain.run(self.ministry, "identity", "grant_role", args)
            self.log(f"identity: {person} ({official.name}) granted {role}")

    # --- registry -------------------------------------------------------------

    def fresh_record(self, prefix: str) -> str:
        for k in range(1, 10_000):
            rid = f"{prefix}:{k:04d}"
            if self.chain.value("registry", f"record/land/{rid}") is None:
                return rid
        raise DemoError("demo.registry", "no free record id")

    def register(self, rid: str, owners: dict[str, int], area: int) -> None:
        self.chain.run(
            self.cadastre,
            "registry",
            "register",
            {
                "register": "land",
                "id": rid,
                "owners": owners,
                "denominator": sum(owners.values()),
                "attributes": {
                    "area_m2": str(area),
                    "purpose": "residential",
                    "region": "kyiv",
                },
            },
        )
        self.stats.records += 1

    def land_transfer(self) -> None:
        self.phase("registry: a transfer")
        a, b, buyer = self.pick(0, 3)
        rid = self.fresh_record("8000000000:75:001")
        self.register(rid, {a.person: 1, b.person: 1}, 1200)
        self.log(
            f"registry: land/{rid} registered to {a.person} and {b.person}, 1/2 each"
        )
        offered = self.chain.run(
            a,
            "registry",
            "offer",
            {
                "register": "land",
                "record": rid,
                "to": {buyer.person: 1},
                "denominator": 1,
                "price": 2_400_000 * UAH,
            },
        )
        offer = int(event(offered, "registry.offered")["offer"])
        self.chain.run(b, "registry", "consent", {"offer": offer})
        self.chain.run(buyer, "registry", "accept", {"offer": offer})
        done = self.chain.run(self.cadastre, "registry", "approve", {"offer": offer})
        event(done, "registry.transferred")
        self.log(
            f"registry: offer {offer} to {buyer.person}: offered by {a.person},"
            f" consented by {b.person}, accepted, approved; transferred"
        )
        self.chain.run(
            self.cadastre,
            "registry",
            "encumber",
            {
                "register": "land",
                "record": rid,
                "kind": "mortgage",
                "holder": "Oschadbank",
                "reference": f"mortgage/{rid}",
            },
        )
        self.log(f"registry: land/{rid} mortgaged to Oschadbank")

    # --- auction --------------------------------------------------------------

    def open_auction(self) -> dict[str, Any]:
        self.phase("auction: announcing")
        rid = self.fresh_record("8000000000:85:002")
        self.register(rid, {self.fund.person: 1}, 5000)
        now = self.chain.block_time()
        terms: dict[str, Any] = {
            "item": f"Land plot {rid}, 0.5 ha, Kyiv",
            "register": "land",
            "record": rid,
            "kind": "english",
            "start_price": 500_000 * UAH,
            "min_step": 10_000 * UAH,
            "opens_at": now + LEAD_MS,
            "closes_at": now + LEAD_MS + AUCTION_MS,
            "payment_period": 600_000,
        }
        result = self.chain.run(self.fund, "auction", "create", terms)
        aid = int(event(result, "auction.created")["auction"])
        self.stats.auctions += 1
        self.stats.auction_note = "open"
        self.log(
            f"auction {aid}: English auction of land/{rid} from"
            f" {money(terms['start_price'])}, closes"
            f" {(terms['closes_at'] - now) // 1000} s after block time {now}"
        )
        return {"id": aid, **terms}

    def bid(self, auction: dict[str, Any]) -> None:
        self.phase(f"auction {auction['id']}: bidding")
        self.chain.wait_time(auction["opens_at"])
        amount = auction["start_price"]
        bids = []
        for bidder in self.pick(5, 3):
            self.chain.run(
                bidder, "auction", "bid", {"auction": auction["id"], "amount": amount}
            )
            bids.append(f"{money(amount)} by {bidder.person}")
            amount += 2 * auction["min_step"]
        self.log(f"auction {auction['id']}: bids " + ", ".join(bids))

    def finish_auction(self, auction: dict[str, Any]) -> None:
        aid = auction["id"]
        self.phase(f"auction {aid}: waiting for the close")
        path = f"auction/{aid:010d}"

        def awarded() -> bool:
            value = self.chain.value("auction", path)
            return isinstance(value, dict) and value.get("status") != "open"

        self.chain.wait_until(f"auction {aid} to close", awarded)
        state = self.chain.value("auction", path)
        if state["status"] != "awarded":
            raise DemoError("demo.auction", f"auction {aid} ended {state['status']}")
        award = state["award"]
        self.log(
            f"auction {aid}: closed in the end-of-block step at height"
            f" {award['height']}; awarded to {award['bidder']} at"
            f" {money(award['price'])}"
        )
        self.chain.run(self.fund, "auction", "confirm_payment", {"auction": aid})
        self.stats.auction_note = f"won by {award['bidder']}"
        self.log(
            f"auction {aid}: payment confirmed; land/{auction['record']} now"
            f" belongs to {award['bidder']}"
        )

    # --- vote -----------------------------------------------------------------

    def official_ballot(self) -> dict[str, Any]:
        self.phase("vote: an official ballot")
        now = self.chain.block_time()
        terms: dict[str, Any] = {
            "question": "Make Khreshchatyk a pedestrian street at weekends?",
            "options": ["yes", "no"],
            "eligible": "citizen",
            "opens_at": now + LEAD_MS,
            "closes_at": now + LEAD_MS + BALLOT_MS,
        }
        result = self.chain.run(self.commission, "vote", "create_ballot", terms)
        ballot = str(event(result, "vote.ballot_created")["ballot"])
        self.stats.ballots += 1
        self.log(f"vote: ballot {ballot} created by the Election Commission")
        self.chain.wait_time(terms["opens_at"])
        voters = self.pick(1, 4)
        options = [0, 0, 1, 0]
        self.chain.run_all(
            [
                (v, "vote", "cast", {"ballot": ballot, "option": o})
                for v, o in zip(voters, options, strict=True)
            ]
        )
        self.log(f"vote: {len(voters)} citizens voted on {ballot}")
        return {"id": ballot, **terms}

    def finish_ballot(self, ballot: dict[str, Any]) -> None:
        bid = ballot["id"]
        self.phase(f"vote: waiting for {bid} to close")

        def closed() -> bool:
            value = self.chain.query("vote", "ballot", id=bid)
            return isinstance(value, dict) and value.get("status") == "closed"

        self.chain.wait_until(f"ballot {bid} to close", closed)
        tally = self.chain.query("vote", "ballot", id=bid)["tally"]
        counts = "/".join(
            f"{name} {count}"
            for name, count in zip(ballot["options"], tally["counts"], strict=True)
        )
        self.stats.ballot_note = f"{bid} closed: {counts}"
        self.log(f"vote: ballot {bid} closed with the tally {counts}")

    def proposal(self) -> None:
        self.phase("vote: a citizens' proposal")
        config = self.chain.query("vote", "config") or {}
        threshold = int(config.get("proposals", {}).get("support_threshold", 3))
        if threshold + 1 > len(self.people):
            self.log(f"vote: skipped the proposal (threshold {threshold})")
            return
        author, *supporters = self.pick(8, threshold + 1)
        result = self.chain.run(
            author,
            "vote",
            "propose",
            {
                "title": "Plant 1,000 trees along the Dnipro embankment?",
                "text": "A chestnut or a linden every ten metres, from the "
                "Pedestrian Bridge to the Paton Bridge.",
            },
        )
        proposal = str(event(result, "vote.proposed")["proposal"])
        results = self.chain.run_all(
            [(s, "vote", "support", {"proposal": proposal}) for s in supporters]
        )
        accepted = [a for r in results for a in events_of(r, "vote.proposal_accepted")]
        if not accepted:
            raise DemoError("demo.proposal", f"{proposal} was not accepted")
        self.proposal_ballot = str(accepted[0]["ballot"])
        self.stats.ballots += 1
        self.log(
            f"vote: proposal {proposal} by {author.person} reached {threshold}"
            f" supporters and became ballot {self.proposal_ballot}"
        )

    # --- petition -------------------------------------------------------------

    def petition(self) -> None:
        self.phase("petition: collecting signatures")
        author, *signers = self.pick(12, MIN_CITIZENS)
        pid, threshold = submit_petition(
            self.chain, author, self.secretary, "Bring trolleybus 16 back to Podil"
        )
        self.stats.petitions += 1
        signers = signers[:threshold]
        if len(signers) < threshold:
            self.log(f"petition: {pid} submitted; {threshold} signatures are needed")
            return
        results = self.chain.run_all(
            [(s, "petition", "sign", {"petition": pid}) for s in signers]
        )
        reached = [r for r in results if events_of(r, "petition.threshold_reached")]
        if not reached:
            raise DemoError("demo.petition", f"{pid} did not reach its threshold")
        self.log(
            f"petition: {pid} by {author.person} signed by"
            f" {', '.join(s.person for s in signers)}: threshold reached"
        )
        answer_petition(self.chain, self.secretary, pid)
        self.stats.answered += 1
        self.log(f"petition: {pid} answered by the Kyiv City Council: supported")


def submit_petition(
    chain: Chain, author: Actor, council: Actor, title: str
) -> tuple[str, int]:
    """A petition to the Kyiv City Council, open for signatures; (id, threshold)."""
    result = chain.run(
        author,
        "petition",
        "submit",
        {
            "addressee": "kyiv_council",
            "title": title,
            "text": "Residents ask the council to act on this within the year.",
        },
    )
    pid = str(event(result, "petition.submitted")["petition"])
    if not events_of(result, "petition.published"):  # a moderated addressee
        chain.run(council, "petition", "publish", {"petition": pid})
    record = chain.query("petition", "petition", id=pid) or {}
    return pid, int(record.get("threshold", 3))


def answer_petition(chain: Chain, council: Actor, pid: str) -> None:
    chain.run(
        council,
        "petition",
        "respond",
        {
            "petition": pid,
            "decision": "supported",
            "text": "The council supports the petition and will act on it.",
        },
    )
