"""The steady load after the scenario, and the runner localnet starts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from cli.client import ClientError
from cli.demo.chain import (
    REGIONS,
    Actor,
    Chain,
    DemoError,
    Stats,
    Stopped,
    event,
    events_of,
)
from cli.demo.scenario import Scenario


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
