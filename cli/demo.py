"""``egov demo`` and ``egov localnet --demo``: a workload that shows every module.

The demo is an ordinary client: it signs with the INSECURE development keys
(``node/devnet.py``) and talks to the nodes only through their HTTP API. It
plays one scenario, then (under ``localnet --demo``) a light steady load:

1. the Ministry enrols citizens (``dev_key("demo/citizen/<i>")``) with regions;
2. the State Property Fund sells a land plot in an English auction that closes
   by itself in the end-of-block step, and confirms the winner's payment;
3. the land registrar registers a plot with two owners, which they transfer
   (offer, consent, accept, approval), and then mortgage;
4. the Election Commission runs a short ballot that citizens vote on and that
   closes with a tally;
5. a citizens' proposal reaches its support threshold and becomes a ballot;
6. a petition to the Kyiv City Council passes its threshold and is answered.

It can run again on a chain that has seen it: enrolled keys are skipped,
every id (record, offer, auction, ballot, proposal, petition) is fresh or
taken from this run's events, and nonces come from the node. Times are
relative to the chain's last block time, never to this machine's clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx

from chain.keys import PrivateKey, dev_key
from chain.tx import SignedTx, TxBody
from cli.client import ApiError, ClientError, NodeClient
from cli.context import node_option, note
from cli.errors import Failed
from cli.keys import read_key, write_key
from node.devnet import DEV_AUTHORITIES, authority_key

REGIONS = ("kyiv", "lviv", "odesa", "kharkiv", "dnipro")
NAMES = (
    "Olena Kovalenko", "Andrii Shevchenko", "Iryna Bondarenko", "Taras Melnyk",
    "Oksana Tkachenko", "Dmytro Kravchenko", "Nataliia Oliinyk", "Serhii Lysenko",
    "Yuliia Marchenko", "Bohdan Savchenko", "Kateryna Rudenko", "Mykola Moroz",
    "Sofiia Polishchuk", "Volodymyr Hnatiuk", "Mariia Pavlenko", "Oleh Symonenko",
    "Anastasiia Karpenko", "Yurii Zinchenko", "Halyna Ivanchenko", "Petro Levchenko",
)  # fmt: skip
MIN_CITIZENS = 6
TX_TIMEOUT = 30.0
# Deadlines are set this far after the last block's time, so that they are
# still ahead of the block that will carry the transaction.
LEAD_MS = 4_000
AUCTION_MS = 20_000
BALLOT_MS = 25_000
PHASE_TIMEOUT = 90.0
UAH = 100  # amounts are in kopiykas


class DemoError(Exception):
    """The demo could not go on; ``code`` names the step or the chain's refusal."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Stopped(Exception):
    """The runner was asked to stop while the demo was waiting."""


@dataclass
class Actor:
    name: str
    key: PrivateKey
    person: str = ""


@dataclass
class Stats:
    """What the demo has done, for the summary; plain fields, one writer."""

    phase: str = "starting"
    citizens: int = 0
    records: int = 0
    auctions: int = 0
    auction_note: str = ""
    ballots: int = 0
    ballot_note: str = ""
    petitions: int = 0
    answered: int = 0
    load_ok: int = 0
    load_failed: int = 0
    load_started: float = 0.0
    error: str = ""


def events_of(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        dict(e.get("attrs") or {})
        for e in result.get("events") or []
        if e.get("type") == kind
    ]


def event(result: dict[str, Any], kind: str) -> dict[str, Any]:
    found = events_of(result, kind)
    if not found:
        raise DemoError("demo.no_event", f"expected a {kind} event")
    return found[0]


def money(amount: int) -> str:
    return f"{amount // UAH:,}.{amount % UAH:02d} UAH"


class Chain:
    """Submits signed transactions and reads state through the nodes' API.

    Nonces are counted here after the first lookup, so that one sender can
    have several transactions in flight; a refusal for a nonce resets the
    count from the node. Requests go to the first node that answers.
    """

    def __init__(
        self,
        urls: list[str],
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        poll: float = 0.25,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not urls:
            raise DemoError("demo.no_node", "no node to talk to")
        self.clients = [NodeClient(u, transport=transport) for u in urls]
        self.sleep, self.clock, self.poll = sleep, clock, poll
        self._nonces: dict[bytes, int] = {}
        self.chain_id = str(self._call(lambda c: c.status())["chain_id"])

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def _call(self, fn: Callable[[NodeClient], Any]) -> Any:
        error: ClientError | None = None
        for _ in range(2):
            for client in list(self.clients):
                try:
                    return fn(client)
                except ApiError:
                    raise
                except ClientError as exc:
                    error = exc
                    # Rotate so that a node that is down is asked last.
                    self.clients.remove(client)
                    self.clients.append(client)
            self.sleep(0.5)
        assert error is not None
        raise DemoError(error.code, error.message)

    # --- reading --------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call(lambda c: c.status())
        return result

    def block_time(self) -> int:
        return int(self.status()["last_block_time"])

    def value(self, module: str, path: str) -> Any:
        return self._call(lambda c: c.state(module, path)).get("value")

    def query(self, module: str, name: str, **params: Any) -> Any:
        strings = {k: str(v) for k, v in params.items()}
        return self._call(lambda c: c.query(module, name, strings)).get("result")

    def person_of(self, key: PrivateKey) -> str | None:
        entry = self.query("identity", "key", key=key.public.hex())
        if not isinstance(entry, dict) or entry.get("status") != "active":
            return None
        return str(entry["person"])

    def wait_until(
        self, what: str, ready: Callable[[], bool], timeout: float = PHASE_TIMEOUT
    ) -> None:
        deadline = self.clock() + timeout
        while not ready():
            if self.clock() > deadline:
                raise DemoError("demo.timeout", f"gave up waiting for {what}")
            self.sleep(0.5)

    def wait_time(self, ms: int) -> None:
        """Until a block at or after ``ms`` (chain time) is committed."""
        self.wait_until(f"chain time {ms}", lambda: self.block_time() >= ms)

    # --- writing --------------------------------------------------------------

    def submit(
        self, actor: Actor, module: str, action: str, args: dict[str, Any]
    ) -> str:
        """Sign and submit; the transaction id once a node has admitted it."""
        sender = actor.key.public
        for attempt in range(2):
            if sender not in self._nonces:
                self._nonces[sender] = self._call(lambda c: c.next_nonce(sender))
            nonce = self._nonces[sender]
            body = TxBody(self.chain_id, module, action, args, sender, nonce)
            try:
                tx_id = self._submit_raw(SignedTx.create(body, actor.key).raw)
            except ApiError as exc:
                stale = exc.code in ("tx.bad_nonce", "mempool.nonce_taken")
                self._nonces.pop(sender, None)
                if stale and attempt == 0:
                    continue
                raise DemoError(exc.code, f"{module}.{action}: {exc.message}") from exc
            self._nonces[sender] = nonce + 1
            return tx_id
        raise AssertionError("unreachable")

    def _submit_raw(self, raw: bytes) -> str:
        return str(self._call(lambda c: c.submit_tx(raw)))

    def status_of(self, tx_id: str) -> dict[str, Any] | None:
        """The committed answer for ``tx_id``, or None while it is not."""
        try:
            answer: dict[str, Any] = self._call(lambda c: c.tx(tx_id))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return answer if answer.get("status") == "committed" else None

    def wait(self, tx_id: str) -> dict[str, Any]:
        """The result of a committed transaction; DemoError unless it is ok."""
        deadline = self.clock() + TX_TIMEOUT
        while (answer := self.status_of(tx_id)) is None:
            if self.clock() > deadline:
                raise DemoError("demo.timeout", f"{tx_id} was not committed")
            self.sleep(self.poll)
        result: dict[str, Any] = answer.get("result") or {}
        if result.get("code") != "ok":
            body = answer.get("body") or {}
            raise DemoError(
                str(result.get("code")),
                f"{body.get('module')}.{body.get('action')} failed: "
                f"{result.get('message')}",
            )
        return result

    def run(
        self, actor: Actor, module: str, action: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        return self.wait(self.submit(actor, module, action, args))

    def run_all(
        self, calls: list[tuple[Actor, str, str, dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Submit every call first, then wait for each: one or two blocks."""
        ids = [self.submit(*call) for call in calls]
        return [self.wait(tx_id) for tx_id in ids]


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


class SteadyLoad:
    """A few valid transactions a second: petitions, re-votes, moves.

    Each ``tick`` submits without waiting and collects what has committed
    since. A petition goes round submit -> signatures -> answer; votes on the
    proposal's ballot switch option (re-voting is allowed there); the
    Ministry records citizens moving region.
    """

    def __init__(self, scenario: Scenario, stats: Stats) -> None:
        self.s, self.chain, self.stats = scenario, scenario.chain, stats
        self.pending: dict[str, Callable[[dict[str, Any]], None] | None] = {}
        self.turn = 0
        self.votes: dict[str, int] = {}
        self.stage = "idle"
        self.petition = ""
        self.signed = 0
        self.threshold = 3
        self.inflight: set[str] = set()

    def tick(self) -> None:
        self.collect()
        self.turn += 1
        people = self.s.people
        self.petition_step()
        if self.s.proposal_ballot:
            voter = people[self.turn % len(people)]
            option = 1 - self.votes.get(voter.person, 1)
            args = {"ballot": self.s.proposal_ballot, "option": option}
            self.send(voter, "vote", "cast", args, self._voted(voter.person, option))
        mover = people[(self.turn * 7) % len(people)]
        region = REGIONS[self.turn % len(REGIONS)]
        self.send(
            self.s.clerk,
            "identity",
            "set_attributes",
            {"person": mover.person, "attributes": {"region": region}},
        )

    def _voted(self, person: str, option: int) -> Callable[[dict[str, Any]], None]:
        def record(result: dict[str, Any]) -> None:
            if result.get("code") == "ok":
                self.votes[person] = option

        return record

    def send(
        self,
        actor: Actor,
        module: str,
        action: str,
        args: dict[str, Any],
        then: Callable[[dict[str, Any]], None] | None = None,
    ) -> str | None:
        """Submit; ``then`` hears the result, ok or failed, once committed."""
        try:
            tx_id = self.chain.submit(actor, module, action, args)
        except DemoError:
            self.stats.load_failed += 1
            return None
        self.pending[tx_id] = then
        return tx_id

    def collect(self) -> None:
        for tx_id in list(self.pending)[:50]:
            answer = self.chain.status_of(tx_id)
            if answer is None:
                continue
            then = self.pending.pop(tx_id)
            self.inflight.discard(tx_id)
            result = answer.get("result") or {}
            if result.get("code") == "ok":
                self.stats.load_ok += 1
            else:
                self.stats.load_failed += 1
            if then is not None:
                then(result)

    def petition_step(self) -> None:
        if self.stage == "idle":
            author = self.s.people[self.turn % len(self.s.people)]
            args = {
                "addressee": "kyiv_council",
                "title": f"A bench with a view of the Dnipro, no. {self.turn}",
                "text": "Residents ask for a bench on Andriivskyi Descent.",
            }
            self._petition_tx(author, "submit", args, self.submitted, "submitting")
        elif self.stage == "signing" and self.signed < self.threshold:
            people = self.s.people
            signer = people[(self.turn + self.signed) % len(people)]
            self.signed += 1
            args = {"petition": self.petition}
            self._petition_tx(signer, "sign", args, self.sig, "signing")
        elif self.stage == "signing" and not self.inflight:
            self.stage = "idle"  # a signature failed: start another petition
        elif self.stage == "answer":
            args = {
                "petition": self.petition,
                "decision": "supported",
                "text": "The council will install it this spring.",
            }
            council = self.s.secretary
            self._petition_tx(council, "respond", args, self.answered, "wait")

    def _petition_tx(
        self,
        actor: Actor,
        action: str,
        args: dict[str, Any],
        then: Callable[[dict[str, Any]], None],
        stage: str,
    ) -> None:
        tx_id = self.send(actor, "petition", action, args, then)
        if tx_id is None:
            self.stage = "idle"
            return
        self.inflight.add(tx_id)
        self.stage = stage

    def submitted(self, result: dict[str, Any]) -> None:
        self.stage = "idle"
        if result.get("code") != "ok" or not events_of(result, "petition.published"):
            return  # failed, or a moderated addressee: leave it be
        self.petition = str(event(result, "petition.submitted")["petition"])
        self.signed = 0
        self.stage = "signing"
        self.stats.petitions += 1

    def sig(self, result: dict[str, Any]) -> None:
        if events_of(result, "petition.threshold_reached"):
            self.stage = "answer"

    def answered(self, result: dict[str, Any]) -> None:
        if result.get("code") == "ok":
            self.stats.answered += 1
        self.stage = "idle"


def summarize(stats: Stats, now: float) -> str:
    auctions = f"auctions {stats.auctions}"
    if stats.auction_note:
        auctions += f" ({stats.auction_note})"
    ballots = f"ballots {stats.ballots}"
    if stats.ballot_note:
        ballots += f" ({stats.ballot_note})"
    lines = [
        f"demo: {stats.phase}",
        f"  citizens {stats.citizens}, registry records {stats.records}, {auctions}",
        f"  {ballots}, petitions {stats.petitions} ({stats.answered} answered)",
    ]
    if stats.load_started:
        elapsed = max(1.0, now - stats.load_started)
        lines.append(
            f"  steady load: {stats.load_ok} tx committed,"
            f" {stats.load_failed} failed ({stats.load_ok / elapsed:.1f} tx/s)"
        )
    if stats.error:
        lines.append(f"  stopped on an error: {stats.error}")
    return "\n".join(lines)


class DemoRunner:
    """The demo in a background thread: the scenario, then the steady load."""

    def __init__(
        self, api_urls: list[str], citizens: int = 20, rate: float = 3.0
    ) -> None:
        self.urls = list(api_urls)
        self.citizens = citizens
        self.interval = 3.0 / rate  # a tick sends about three transactions
        self.stats = Stats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="demo", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def summary(self) -> str:
        return summarize(self.stats, time.monotonic())

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise Stopped

    def _main(self) -> None:
        chain = None
        try:
            chain = Chain(self.urls, sleep=self._sleep)
            scenario = Scenario(chain, self.citizens, self.stats)
            scenario.run()
            load = SteadyLoad(scenario, self.stats)
            self.stats.phase = "steady load"
            self.stats.load_started = time.monotonic()
            while True:
                load.tick()
                self._sleep(self.interval)
        except Stopped:
            pass
        except (DemoError, ClientError) as exc:
            self.stats.error = str(exc)
        finally:
            if chain is not None:
                chain.close()


def write_dev_keys(directory: Path) -> list[tuple[Path, str, PrivateKey]]:
    """The development authorities' key files, named after their seeds."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for seed, name, _ in DEV_AUTHORITIES:
        path = directory / f"{seed.rsplit('/', 1)[1]}.key"
        key = authority_key(seed)
        if not (path.exists() and read_key(path).public == key.public):
            write_key(path, key)
        written.append((path, name, key))
    return written


@click.command("demo")
@node_option
@click.option(
    "--citizens",
    type=click.IntRange(MIN_CITIZENS, 500),
    default=20,
    show_default=True,
    help="How many demo citizens to enrol (or reuse).",
)
@click.option(
    "--write-keys",
    "keys_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Only write the development authorities' key files to this directory.",
)
def demo(node_url: str, citizens: int, keys_dir: Path | None) -> None:
    """Play the demo scenario once against a development chain.

    Enrols citizens and exercises every module: a land transfer and a
    mortgage, an auction, a ballot, a citizens' proposal and a petition.
    It signs with the INSECURE development keys, so the chain must be one
    made from the development genesis (egov localnet). With --write-keys
    it writes those keys to files instead, to act as the agencies by hand.
    """
    if keys_dir is not None:
        for path, name, key in write_dev_keys(keys_dir):
            click.echo(f"{str(path):<24} {key.public.hex()[:16]}...  {name}")
        note("warning: INSECURE development keys; for a local network only")
        return
    stats = Stats()
    started = time.monotonic()
    try:
        chain = Chain([node_url])
        try:
            Scenario(chain, citizens, stats, log=click.echo).run()
        finally:
            chain.close()
    except DemoError as exc:
        raise Failed(exc.code, f"{exc.message} (during: {stats.phase})") from exc
    except ClientError as exc:
        raise Failed(exc.code, f"{exc.message} (during: {stats.phase})") from exc
    click.echo(summarize(stats, time.monotonic()))
    click.echo(f"done in {time.monotonic() - started:.0f} s")
