"""vote: random actors cast, re-vote, rotate keys, move, propose and support at
random times; a model predicts every result code and the invariants hold.

Invariants checked after every step:

- a person has at most one recorded vote per ballot, and it is their last
  accepted vote in the model (one vote per person, across key rotation);
- a ballot's ``voters`` equals its recorded votes;
- a closed ballot's tally equals the count of the distinct eligible voters'
  last votes, and turnout the number of those voters;
- a proposal's ``supporters`` equals its distinct supporters;
- replaying every block on a fresh World gives the same state digest and
  the same events.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from chain.keys import PrivateKey, dev_key
from chain.tx import TxResult
from modules.state import State
from tests.modules.harness import RecordingWorld, replay

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
THRESHOLD = 3
CONFIG = {
    "vote": {
        "proposals": {
            "support_threshold": THRESHOLD,
            "support_days": 1,
            "ballot_days": 1,
            "quorum": 2,
            "revote": True,
        }
    }
}
DOC: dict[str, Any] = {"modules": ["identity", "vote"], "module_config": CONFIG}
REGIONS = ("kyiv", "lviv")
CITIZENS = 5
MAX_BALLOTS = 4
MAX_PROPOSALS = 3


@dataclass
class Ballot:
    id: str
    opens_at: int
    closes_at: int
    options: int
    revote: bool
    region: str | None
    cancelled: bool = False
    closed: bool = False
    votes: dict[str, int] = field(default_factory=dict)


@dataclass
class Proposal:
    id: str
    author: str
    support_until: int
    status: str = "collecting"
    supporters: set[str] = field(default_factory=set)


class VoteMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.world = RecordingWorld.create(**DOC)
        self.cec, _ = self.world.official("CEC", "election_official")
        self.keys: dict[str, PrivateKey] = {}
        self.region: dict[str, str] = {}
        self.rotations = 0
        for i in range(CITIZENS):
            region = REGIONS[i % 2]
            key, pid = self.world.enrol(f"c{i}", region=region)
            self.keys[pid], self.region[pid] = key, region
        self.admin = dev_key("admin")  # person p1, an agency: never eligible
        self.actors = [*sorted(self.keys), "p1"]
        self.keys["p1"] = self.admin
        self.ballots: list[Ballot] = []
        self.proposals: list[Proposal] = []

    # --- helpers ------------------------------------------------------------

    def run(self, actor: str, action: str, advance: int, **args: Any) -> TxResult:
        tx = self.world.sign(self.keys[actor], "vote", action, **args)
        [result] = self.world.block(tx, advance=advance)
        self.after_block()
        return result

    def after_block(self) -> None:
        """What the end-of-block step must have done at the new time."""
        now = self.world.time
        for ballot in self.ballots:
            if not ballot.cancelled and ballot.closes_at <= now:
                ballot.closed = True
        for prop in self.proposals:
            if prop.status == "collecting" and prop.support_until <= now:
                prop.status = "archived"

    def citizen(self, pid: str) -> bool:
        return pid != "p1"

    # --- rules ----------------------------------------------------------------

    @rule(
        advance=st.integers(1, 10 * MINUTE),
        opens_in=st.integers(0, 10 * MINUTE),
        length=st.integers(10 * MINUTE, 3 * HOUR),
        revote=st.booleans(),
        region=st.sampled_from([None, *REGIONS]),
        options=st.integers(2, 4),
    )
    def create_ballot(
        self,
        advance: int,
        opens_in: int,
        length: int,
        revote: bool,
        region: str | None,
        options: int,
    ) -> None:
        if len(self.ballots) >= MAX_BALLOTS:
            return
        opens = self.world.time + advance + opens_in
        tx = self.world.sign(
            self.cec,
            "vote",
            "create_ballot",
            question="Q?",
            options=[f"o{i}" for i in range(options)],
            opens_at=opens,
            closes_at=opens + length,
            revote=revote,
            attributes={} if region is None else {"region": region},
            quorum=2,
        )
        [result] = self.world.block(tx, advance=advance)
        assert result.ok, result
        bid = str(result.events[0].attrs["ballot"])
        self.ballots.append(Ballot(bid, opens, opens + length, options, revote, region))
        self.after_block()

    @rule(data=st.data(), advance=st.integers(1, HOUR))
    def cancel(self, data: st.DataObject, advance: int) -> None:
        if not self.ballots:
            return
        ballot = data.draw(st.sampled_from(self.ballots))
        t = self.world.time + advance
        if ballot.cancelled:
            expected = "vote.cancelled"
        elif t >= ballot.opens_at:
            expected = "vote.already_open"
        else:
            expected = "ok"
        tx = self.world.sign(
            self.cec, "vote", "cancel_ballot", ballot=ballot.id, reason="r"
        )
        [result] = self.world.block(tx, advance=advance)
        assert result.code == expected, (result, ballot, t)
        if result.ok:
            ballot.cancelled = True
        self.after_block()

    @rule(
        data=st.data(),
        votes=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 3)), max_size=6),
        advance=st.integers(1, 10 * MINUTE),
    )
    def cast(
        self, data: st.DataObject, votes: list[tuple[int, int]], advance: int
    ) -> None:
        """Several votes, by several actors, in one block."""
        if not self.ballots:
            return
        ballot = data.draw(st.sampled_from(self.ballots))
        t = self.world.time + advance
        txs, expected = [], []
        for who, option in votes:
            actor = self.actors[who % len(self.actors)]
            code = self.expect_cast(ballot, actor, option, t)
            if code == "ok":
                ballot.votes[actor] = option
            expected.append(code)
            txs.append(
                self.world.sign(
                    self.keys[actor], "vote", "cast", ballot=ballot.id, option=option
                )
            )
        results = self.world.block(*txs, advance=advance)
        self.after_block()
        assert [r.code for r in results] == expected, (results, ballot, t)

    def expect_cast(self, ballot: Ballot, actor: str, option: int, t: int) -> str:
        if ballot.cancelled:
            return "vote.cancelled"
        if t < ballot.opens_at:
            return "vote.not_open"
        if ballot.closed or t >= ballot.closes_at:
            return "vote.closed"
        if option >= ballot.options:
            return "vote.bad_option"
        if not self.citizen(actor) or (
            ballot.region is not None and self.region[actor] != ballot.region
        ):
            return "vote.not_eligible"
        if actor in ballot.votes:
            if not ballot.revote:
                return "vote.already_voted"
            if ballot.votes[actor] == option:
                return "vote.unchanged"
        return "ok"

    @rule(data=st.data())
    def rotate_key(self, data: st.DataObject) -> None:
        actor = data.draw(st.sampled_from(self.actors[:-1]))
        self.rotations += 1
        new = dev_key(f"rotated/{self.rotations}")
        tx = self.world.sign(
            self.keys[actor], "identity", "rotate_key", new_key=new.public
        )
        [result] = self.world.block(tx)
        self.after_block()
        assert result.ok, result
        self.keys[actor] = new

    @rule(data=st.data())
    def move(self, data: st.DataObject) -> None:
        actor = data.draw(st.sampled_from(self.actors[:-1]))
        region = data.draw(st.sampled_from(REGIONS))
        self.world.ok(
            self.admin,
            "identity",
            "set_attributes",
            person=actor,
            attributes={"region": region},
        )
        self.region[actor] = region
        self.after_block()

    @rule(data=st.data(), advance=st.integers(1, 2 * HOUR))
    def propose(self, data: st.DataObject, advance: int) -> None:
        if len(self.proposals) >= MAX_PROPOSALS:
            return
        actor = data.draw(st.sampled_from(self.actors))
        t = self.world.time + advance
        result = self.run(actor, "propose", advance, title="T", text="x")
        assert result.code == ("ok" if self.citizen(actor) else "vote.not_citizen")
        if result.ok:
            pid = str(result.events[0].attrs["proposal"])
            self.proposals.append(Proposal(pid, actor, t + DAY))

    @rule(
        data=st.data(),
        who=st.lists(st.integers(0, 7), max_size=5),
        advance=st.integers(1, 2 * HOUR),
    )
    def support(self, data: st.DataObject, who: list[int], advance: int) -> None:
        """Several supports of one proposal in one block."""
        if not self.proposals:
            return
        prop = data.draw(st.sampled_from(self.proposals))
        t = self.world.time + advance
        txs, expected = [], []
        for index in who:
            actor = self.actors[index % len(self.actors)]
            expected.append(self.expect_support(prop, actor, t))
            if expected[-1] == "ok":
                prop.supporters.add(actor)
                if len(prop.supporters) >= THRESHOLD:
                    prop.status = "accepted"
                    self.ballots.append(Ballot("", t, t + DAY, 2, True, None))
            txs.append(
                self.world.sign(self.keys[actor], "vote", "support", proposal=prop.id)
            )
        results = self.world.block(*txs, advance=advance)
        assert [r.code for r in results] == expected, (results, prop, t)
        for result in results:
            for event in result.events:
                if event.type == "vote.ballot_created":
                    self.ballots[-1].id = str(event.attrs["ballot"])
        self.after_block()

    def expect_support(self, prop: Proposal, actor: str, t: int) -> str:
        if not self.citizen(actor):
            return "vote.not_citizen"
        if prop.status != "collecting" or t >= prop.support_until:
            return "vote.support_closed"
        if actor == prop.author:
            return "vote.own_proposal"
        if actor in prop.supporters:
            return "vote.already_supported"
        return "ok"

    @rule(wait=st.integers(MINUTE, 6 * HOUR))
    def wait(self, wait: int) -> None:
        self.world.advance_to(self.world.time + wait)
        self.after_block()

    # --- invariants -------------------------------------------------------------

    @invariant()
    def votes_count_once(self) -> None:
        if not hasattr(self, "world"):
            return
        state = State(self.world.kv, "vote")
        for ballot in self.ballots:
            recorded = {
                path.rsplit("/", 1)[1]: vote["option"]
                for path, vote in state.scan(f"cast/open/{ballot.id}/")
            }
            assert recorded == ballot.votes
            record = state.get(f"ballot/{ballot.id}")
            assert record["voters"] == len(recorded)
            status = record["status"]
            if ballot.cancelled:
                assert status == "cancelled"
            elif ballot.closed:
                assert status == "closed"
                tally = record["tally"]
                counts = Counter(ballot.votes.values())
                assert tally["counts"] == [counts[i] for i in range(ballot.options)]
                assert tally["turnout"] == len(ballot.votes)
                assert tally["quorum_met"] == (len(ballot.votes) >= 2)
            else:
                assert record["tally"] is None

    @invariant()
    def supporters_are_distinct(self) -> None:
        if not hasattr(self, "world"):
            return
        state = State(self.world.kv, "vote")
        for prop in self.proposals:
            record = state.get(f"proposal/{prop.id}")
            listed = {p.rsplit("/", 1)[1] for p, _ in state.scan(f"support/{prop.id}/")}
            assert listed == prop.supporters
            assert record["supporters"] == len(listed)
            assert record["status"] == prop.status

    def teardown(self) -> None:
        if not hasattr(self, "world"):
            return
        fresh = replay(self.world.log, **DOC)
        assert fresh.state_digest() == self.world.state_digest()
        assert fresh.events == self.world.events


VoteMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestVoteMachine = VoteMachine.TestCase
