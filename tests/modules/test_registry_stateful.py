"""registry: random actions by random actors at random times.

After every step the whole registry state is checked against the module's
invariants, and at the end the same signed transactions replayed on a fresh
World must give the same state digest.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from chain.keys import PrivateKey
from chain.tx import SignedTx, TxResult
from modules.state import State
from tests.modules.harness import World

CONFIG: dict[str, Any] = {
    "modules": ["identity", "registry"],
    "module_config": {
        "registry": {
            "registers": {
                "land": {"title": "Land", "transfer_approval": True},
                "cars": {"title": "Cars", "transfer_approval": False},
            }
        }
    },
}
REGISTERS = ("land", "cars")
RECORDS = ("R1", "R2", "R3")
ACTORS = 6  # 0, 1: registrars of land and cars; 2..5: citizens
OPEN = ("consenting", "accepting", "approval")


class Recorder(World):
    """A World that remembers every block, so that it can be replayed."""

    def log(self) -> list[tuple[int, list[SignedTx]]]:
        blocks: list[tuple[int, list[SignedTx]]] = self.__dict__.setdefault(
            "blocks", []
        )
        return blocks

    def block(self, *txs: SignedTx, advance: int = 1000) -> list[TxResult]:
        self.log().append((self.time + advance, list(txs)))
        return super().block(*txs, advance=advance)

    def advance_to(self, time: int) -> TxResult:
        self.log().append((time, []))
        return super().advance_to(time)


def replay(blocks: list[tuple[int, list[SignedTx]]], **config: Any) -> bytes:
    fresh = World.create(**config)
    for time, txs in blocks:
        fresh.height += 1
        fresh.time = time
        for tx in txs:
            fresh.host.execute_tx(fresh.kv, tx, fresh.height, fresh.time)
        fresh.host.end_block(fresh.kv, fresh.height, fresh.time)
    return fresh.state_digest()


actors = st.integers(0, ACTORS - 1)
# An actor is drawn either at random (0) or among those entitled to act
# (1..3), so that most sequences get past the permission checks.
modes = st.sampled_from((1, 2, 3, 0))
registers = st.sampled_from(REGISTERS)
records = st.sampled_from(("R1", "R1", *RECORDS))
shares = st.dictionaries(
    st.integers(2, ACTORS - 1), st.integers(1, 4), min_size=1, max_size=3
)


class RegistryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.w = Recorder.create(**CONFIG)
        self.keys: list[PrivateKey] = []
        self.ids: list[str] = []
        for i, role in enumerate(("registrar:land", "registrar:cars")):
            key, pid = self.w.official(f"registrar {i}", role)
            self.keys.append(key)
            self.ids.append(pid)
        for i in range(ACTORS - 2):
            key, pid = self.w.enrol(f"citizen {i}")
            self.keys.append(key)
            self.ids.append(pid)
        self.offers = 0
        self.results: list[TxResult] = []
        self.index = {pid: i for i, pid in enumerate(self.ids)}
        # two records to start from, so that short runs reach deep states
        for reg, owners in (("land", {2: 1, 3: 2}), ("cars", {4: 1})):
            people, whole = self.owners(owners)
            self.act(
                REGISTERS.index(reg),
                "register",
                register=reg,
                id="R1",
                owners=people,
                denominator=whole,
                attributes={},
            )

    def act(self, who: int, action: str, **args: Any) -> TxResult:
        result = self.w.do(self.keys[who], "registry", action, **args)
        self.results.append(result)
        if result.ok:
            for event in result.events:
                if event.type == "registry.offered":
                    self.offers = max(self.offers, int(event.attrs["offer"]))
        return result

    def owners(self, picked: dict[int, int]) -> tuple[dict[str, int], int]:
        owners = {self.ids[i]: s for i, s in picked.items()}
        return owners, sum(owners.values())

    def offer_id(self, n: int) -> int:
        """Offer ``n`` counted back from the latest one (0 is the latest)."""
        return max(self.offers - n % max(self.offers, 1), 1)

    def pick(self, mode: int, who: int, entitled: list[str]) -> int:
        if mode == 0 or not entitled:
            return who
        return self.index[entitled[mode % len(entitled)]]

    def registrar(self, mode: int, who: int, reg: str) -> int:
        return who if mode == 0 else REGISTERS.index(reg)

    def record_owners(self, reg: str, rid: str) -> list[str]:
        rec = self.state().get(f"record/{reg}/{rid}")
        return [] if rec is None else [o["person"] for o in rec["owners"]]

    def offer_party(self, mode: int, who: int, oid: int, step: str) -> int:
        offer = self.state().get(f"offer/{oid}")
        if offer is None:
            return who
        if step == "approve" or step == "reject":
            return self.registrar(mode, who, offer["register"])
        if step == "consent":
            pending = [p for p in offer["owners"] if p not in offer["consents"]]
            return self.pick(mode, who, pending or offer["owners"])
        if step == "accept":
            return self.pick(mode, who, offer["needs_acceptance"])
        return self.pick(mode, who, offer["owners"] + offer["needs_acceptance"])

    # --- rules ------------------------------------------------------------------

    @rule(
        who=actors,
        mode=modes,
        reg=registers,
        rid=records,
        picked=shares,
        skew=st.sampled_from((0, 0, 0, 1, -1)),
    )
    def register(
        self,
        who: int,
        mode: int,
        reg: str,
        rid: str,
        picked: dict[int, int],
        skew: int,
    ) -> None:
        owners, whole = self.owners(picked)
        self.act(
            self.registrar(mode, who, reg),
            "register",
            register=reg,
            id=rid,
            owners=owners,
            denominator=max(1, whole + skew),
            attributes={"n": rid},
        )

    @rule(
        who=actors,
        mode=modes,
        reg=registers,
        rid=records,
        picked=shares,
        price=st.integers(0, 9),
    )
    def offer(
        self,
        who: int,
        mode: int,
        reg: str,
        rid: str,
        picked: dict[int, int],
        price: int,
    ) -> None:
        owners, whole = self.owners(picked)
        self.act(
            self.pick(mode, who, self.record_owners(reg, rid)),
            "offer",
            register=reg,
            record=rid,
            to=owners,
            denominator=max(1, whole),
            price=price,
        )

    @rule(
        who=actors,
        mode=modes,
        n=st.integers(0, 20),
        step=st.sampled_from(["consent", "accept", "approve"]),
    )
    def sign_offer(self, who: int, mode: int, n: int, step: str) -> None:
        oid = self.offer_id(n)
        self.act(self.offer_party(mode, who, oid, step), step, offer=oid)

    @rule(n=st.integers(0, 20), spaced=st.booleans())
    def settle_offer(self, n: int, spaced: bool) -> None:
        """Every party signs in turn, as far as the rules let them."""
        oid = self.offer_id(n)
        for _ in range(2 * ACTORS):
            offer = self.state().get(f"offer/{oid}")
            if offer is None or offer["status"] not in OPEN:
                return
            step = {"consenting": "consent", "accepting": "accept"}.get(
                offer["status"], "approve"
            )
            if not self.act(self.offer_party(1, 0, oid, step), step, offer=oid).ok:
                return
            if spaced:
                self.w.advance_to(self.w.time + 3_600_000)

    @rule(
        who=actors,
        mode=modes,
        n=st.integers(0, 20),
        step=st.sampled_from(["reject", "cancel"]),
    )
    def close_offer(self, who: int, mode: int, n: int, step: str) -> None:
        oid = self.offer_id(n)
        action = "reject" if step == "reject" else "cancel_offer"
        self.act(self.offer_party(mode, who, oid, step), action, offer=oid, reason="r")

    @rule(
        who=actors,
        mode=modes,
        reg=registers,
        rid=records,
        kind=st.sampled_from(["mortgage", "arrest", "lease"]),
        ref=st.integers(0, 2),
    )
    def encumber(
        self, who: int, mode: int, reg: str, rid: str, kind: str, ref: int
    ) -> None:
        self.act(
            self.registrar(mode, who, reg),
            "encumber",
            register=reg,
            record=rid,
            kind=kind,
            holder="h",
            reference=f"ref{ref}",
        )

    @rule(who=actors, mode=modes, reg=registers, rid=records, number=st.integers(1, 4))
    def release(self, who: int, mode: int, reg: str, rid: str, number: int) -> None:
        self.act(
            self.registrar(mode, who, reg),
            "release",
            register=reg,
            record=rid,
            encumbrance=number,
            reason="r",
        )

    @rule(who=actors, mode=modes, reg=registers, rid=records, value=st.integers(0, 2))
    def correct(self, who: int, mode: int, reg: str, rid: str, value: int) -> None:
        self.act(
            self.registrar(mode, who, reg),
            "correct",
            register=reg,
            record=rid,
            attributes={"n": str(value)},
            reason="r",
        )

    @rule(
        who=actors,
        mode=modes,
        reg=registers,
        rid=records,
        agent=actors,
        revoke=st.booleans(),
    )
    def mandate(
        self, who: int, mode: int, reg: str, rid: str, agent: int, revoke: bool
    ) -> None:
        who = self.pick(mode, who, self.record_owners(reg, rid))
        if revoke:
            self.act(who, "revoke_mandate", register=reg, record=rid)
        else:
            self.act(who, "mandate", register=reg, record=rid, agent=self.ids[agent])

    @rule(who=actors, mode=st.sampled_from(range(10)), reg=registers, rid=records)
    def archive(self, who: int, mode: int, reg: str, rid: str) -> None:
        # archiving is final: make it rare so that records live long
        who = who if mode < 8 else REGISTERS.index(reg)
        self.act(who, "archive", register=reg, record=rid, reason="r")

    @rule(gap=st.integers(1, 10**9))
    def wait(self, gap: int) -> None:
        self.w.advance_to(self.w.time + gap)

    # --- invariants ---------------------------------------------------------------

    def state(self) -> State:
        return State(self.w.kv, "registry")

    @invariant()
    def no_internal_errors(self) -> None:
        for result in self.results:
            assert result.ok or result.code.startswith(("registry.", "args.")), (
                result.code,
                result.message,
            )

    @invariant()
    def shares_sum_to_the_whole(self) -> None:
        for _, rec in self.state().scan("record/"):
            people = [o["person"] for o in rec["owners"]]
            assert people == sorted(set(people)) and people
            assert all(o["share"] >= 1 for o in rec["owners"])
            assert sum(o["share"] for o in rec["owners"]) == rec["denominator"]

    @invariant()
    def owner_index_matches_records(self) -> None:
        state = self.state()
        indexed = {path.split("/", 1)[1] for path, _ in state.scan("owner/")}
        expected = set()
        for _, rec in state.scan("record/"):
            for o in rec["owners"]:
                expected.add(f"{o['person']}/{rec['register']}/{rec['id']}")
        assert indexed == expected

    @invariant()
    def history_has_one_entry_per_version(self) -> None:
        state = self.state()
        for _, rec in state.scan("record/"):
            key = f"{rec['register']}/{rec['id']}"
            versions = [h["version"] for _, h in state.scan(f"history/{key}/")]
            assert versions == list(range(1, rec["version"] + 1))

    @invariant()
    def open_offers_and_records_point_at_each_other(self) -> None:
        state = self.state()
        for _, offer in state.scan("offer/"):
            rec = state.get(f"record/{offer['register']}/{offer['record']}")
            is_open = offer["status"] in OPEN
            assert (rec["offer"] == offer["id"]) == is_open
            if is_open:
                assert rec["status"] == "active"
                assert not {e["kind"] for e in rec["encumbrances"]} & {
                    "arrest",
                    "mortgage",
                }
                assert offer["version"] == rec["version"]

    def teardown(self) -> None:
        assert replay(self.w.log(), **CONFIG) == self.w.state_digest()


RegistryMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRegistryMachine = RegistryMachine.TestCase
