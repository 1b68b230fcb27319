"""petition: random actors submit, moderate, sign, withdraw, respond and
rotate keys at random times; a model predicts every result code.

Invariants checked after every step:

- a petition's ``signatures`` equals its distinct signers, both in the
  person index and in the signing-order index, and the model's signers
  (one signature per person, across key rotation);
- no petition holds more signatures than its threshold;
- every petition's status is the model's (deadlines in the end-of-block step);
- replaying every block on a fresh World gives the same state digest and
  the same events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from chain.keys import PrivateKey, dev_key
from chain.tx import SignedTx
from modules.state import State
from tests.modules.harness import RecordingWorld, replay

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
# name: (threshold, window_days, response_days, moderated)
ADDRESSEES = {"city": (3, 1, 1, False), "state": (4, 2, 1, True)}
CONFIG = {
    "petition": {
        "addressees": {
            name: {
                "title": name.title(),
                "threshold": threshold,
                "window_days": window,
                "response_days": response,
                "moderated": moderated,
            }
            for name, (threshold, window, response, moderated) in ADDRESSEES.items()
        }
    }
}
DOC: dict[str, Any] = {"modules": ["identity", "petition"], "module_config": CONFIG}
CITIZENS = 6
MAX_PETITIONS = 4


@dataclass
class Petition:
    id: str
    addressee: str
    author: str
    status: str
    closes_at: int = 0
    response_due: int = 0
    signers: list[str] = field(default_factory=list)

    @property
    def threshold(self) -> int:
        return ADDRESSEES[self.addressee][0]


class PetitionMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.world = RecordingWorld.create(**DOC)
        self.keys: dict[str, PrivateKey] = {}
        self.office: dict[str, str] = {}
        for name in ADDRESSEES:
            key, pid = self.world.official(name, f"petition_addressee:{name}")
            self.keys[pid], self.office[name] = key, pid
        for i in range(CITIZENS):
            key, pid = self.world.enrol(f"c{i}")
            self.keys[pid] = key
        self.keys["p1"] = dev_key("admin")  # an agency: may not submit or sign
        self.actors = sorted(self.keys, key=lambda p: (p == "p1", int(p[1:])))
        self.rotations = 0
        self.petitions: list[Petition] = []

    # --- helpers ------------------------------------------------------------

    def block(self, txs: list[SignedTx], expected: list[str], advance: int) -> Any:
        results = self.world.block(*txs, advance=advance)
        assert [r.code for r in results] == expected, results
        self.after_block()
        return results

    def tx(self, actor: str, action: str, **args: Any) -> SignedTx:
        return self.world.sign(self.keys[actor], "petition", action, **args)

    def after_block(self) -> None:
        now = self.world.time
        for p in self.petitions:
            if p.status == "open" and p.closes_at <= now:
                p.status = "expired"
            elif p.status == "threshold_reached" and p.response_due <= now:
                p.status = "overdue"

    def actor(self, data: st.DataObject, likely: str | None = None) -> str:
        """A random actor; half the time ``likely`` (the one entitled to act)."""
        if likely is not None and data.draw(st.booleans()):
            return likely
        return data.draw(st.sampled_from(self.actors))

    def publish(self, p: Petition, t: int) -> None:
        p.status = "open"
        p.closes_at = t + ADDRESSEES[p.addressee][1] * DAY

    # --- rules ----------------------------------------------------------------

    @rule(
        data=st.data(),
        addressee=st.sampled_from(sorted(ADDRESSEES)),
        advance=st.integers(1, 2 * HOUR),
    )
    def submit(self, data: st.DataObject, addressee: str, advance: int) -> None:
        if len(self.petitions) >= MAX_PETITIONS:
            return
        actor = self.actor(data)
        expected = "ok" if actor != "p1" else "petition.not_citizen"
        tx = self.tx(actor, "submit", addressee=addressee, title="T", text="x")
        [result] = self.block([tx], [expected], advance)
        if result.ok:
            p = Petition(str(result.events[0].attrs["petition"]), addressee, actor, "")
            p.status = "moderation"
            if not ADDRESSEES[addressee][3]:
                self.publish(p, self.world.time)
            self.petitions.append(p)

    @rule(data=st.data(), reject=st.booleans(), advance=st.integers(1, 2 * HOUR))
    def moderate(self, data: st.DataObject, reject: bool, advance: int) -> None:
        if not self.petitions:
            return
        p = data.draw(st.sampled_from(self.petitions))
        actor = self.actor(data, self.office[p.addressee])
        t = self.world.time + advance
        if actor != self.office[p.addressee]:
            expected = "petition.forbidden"
        elif p.status != "moderation":
            expected = "petition.not_in_moderation"
        else:
            expected = "ok"
        if reject:
            tx = self.tx(actor, "reject", petition=p.id, code="other", reason="r")
        else:
            tx = self.tx(actor, "publish", petition=p.id)
        if expected == "ok":
            if reject:
                p.status = "rejected"
            else:
                self.publish(p, t)
        self.block([tx], [expected], advance)

    @rule(data=st.data(), advance=st.integers(1, 2 * HOUR))
    def withdraw(self, data: st.DataObject, advance: int) -> None:
        if not self.petitions:
            return
        p = data.draw(st.sampled_from(self.petitions))
        actor = self.actor(data, p.author)
        if actor != p.author:
            expected = "petition.not_author"
        elif p.status not in ("moderation", "open"):
            expected = "petition.cannot_withdraw"
        else:
            expected = "ok"
            p.status = "withdrawn"
        self.block([self.tx(actor, "withdraw", petition=p.id)], [expected], advance)

    @rule(
        data=st.data(),
        who=st.lists(st.integers(0, 8), max_size=6),
        advance=st.integers(1, 3 * HOUR),
    )
    def sign(self, data: st.DataObject, who: list[int], advance: int) -> None:
        """Several signatures on one petition in one block."""
        if not self.petitions:
            return
        p = data.draw(st.sampled_from(self.petitions))
        t = self.world.time + advance
        txs, expected = [], []
        for index in who:
            actor = self.actors[index % len(self.actors)]
            expected.append(self.expect_sign(p, actor, t))
            if expected[-1] == "ok":
                p.signers.append(actor)
                if len(p.signers) >= p.threshold:
                    p.status = "threshold_reached"
                    p.response_due = t + ADDRESSEES[p.addressee][2] * DAY
            txs.append(self.tx(actor, "sign", petition=p.id))
        self.block(txs, expected, advance)

    def expect_sign(self, p: Petition, actor: str, t: int) -> str:
        if actor == "p1":
            return "petition.not_citizen"
        if p.status != "open":
            return "petition.not_open"
        if t >= p.closes_at:
            return "petition.closed"
        if actor in p.signers:
            return "petition.already_signed"
        return "ok"

    @rule(
        data=st.data(),
        decision=st.sampled_from(["supported", "not_supported"]),
        advance=st.integers(1, 12 * HOUR),
    )
    def respond(self, data: st.DataObject, decision: str, advance: int) -> None:
        if not self.petitions:
            return
        p = data.draw(st.sampled_from(self.petitions))
        actor = self.actor(data, self.office[p.addressee])
        if actor != self.office[p.addressee]:
            expected = "petition.forbidden"
        elif p.status not in ("threshold_reached", "overdue"):
            expected = "petition.not_awaiting_response"
        else:
            expected = "ok"
            p.status = "answered"
        tx = self.tx(actor, "respond", petition=p.id, decision=decision, text="t")
        self.block([tx], [expected], advance)

    @rule(data=st.data())
    def rotate_key(self, data: st.DataObject) -> None:
        actor = data.draw(st.sampled_from(self.actors[:-1]))
        self.rotations += 1
        new = dev_key(f"rotated/{self.rotations}")
        tx = self.world.sign(
            self.keys[actor], "identity", "rotate_key", new_key=new.public
        )
        self.block([tx], ["ok"], 1000)
        self.keys[actor] = new

    @rule(wait=st.integers(MINUTE, DAY))
    def wait(self, wait: int) -> None:
        self.world.advance_to(self.world.time + wait)
        self.after_block()

    # --- invariants -------------------------------------------------------------

    @invariant()
    def count_equals_distinct_signers(self) -> None:
        if not hasattr(self, "world"):
            return
        state = State(self.world.kv, "petition")
        for p in self.petitions:
            record = state.get(f"petition/{p.id}")
            by_person = [
                path.rsplit("/", 1)[1] for path, _ in state.scan(f"signer/{p.id}/")
            ]
            in_order = [person for _, person in state.scan(f"signers/{p.id}/")]
            assert in_order == p.signers
            assert sorted(by_person) == sorted(set(p.signers))
            assert record["signatures"] == len(by_person) == len(in_order)
            assert record["signatures"] <= record["threshold"]
            assert record["status"] == p.status
            reached = record["threshold_reached"]
            assert (reached is not None) == (len(p.signers) >= p.threshold)

    def teardown(self) -> None:
        if not hasattr(self, "world"):
            return
        fresh = replay(self.world.log, **DOC)
        assert fresh.state_digest() == self.world.state_digest()
        assert fresh.events == self.world.events


PetitionMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPetitionMachine = PetitionMachine.TestCase
