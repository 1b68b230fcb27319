"""A simulated cluster: real drivers, in-memory links, one Trio run.

Everything runs under ``trio.testing.MockClock(autojump_threshold=0)``, so
virtual time jumps to the next timer whenever every task is blocked. A run
is a pure function of its Schedule: the links draw delays and losses from a
``random.Random(seed)``, and Trio's scheduler is made deterministic (its
batch order is seeded too), so ``run(schedule)`` replays exactly.

Faults: link delay (reordering comes from jitter), loss and partitions until
``heal_ms``; crashes that keep only the write-ahead log and the block store
(optionally tearing the log's last append); Byzantine validators that stay
silent, equivocate (two votes per step, two blocks per proposal, to
different halves of the peers) or build invalid blocks and vote for them.

Checked on every run: agreement, validity, no honest double-signing (every
message an honest validator ever sent, across restarts), no evidence against
an honest validator, and liveness: after ``heal_ms`` every live honest node
reaches ``extra_heights`` more heights within ``liveness_bound_ms``.
"""

from __future__ import annotations

import heapq
import logging
import math
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum

import trio
import trio.testing

from chain.block import Block
from chain.genesis import DEFAULT_CONSENSUS
from chain.hashing import sha256
from chain.keys import PrivateKey
from chain.votes import Proposal, Vote, VoteType
from consensus.driver import Driver, DriverConfig
from consensus.messages import ConsensusMessage, ProposalMessage, VoteMessage
from consensus.protocols import Envelope, PeerId
from storage.wal import MemoryWalStorage, WalRecord, WriteAheadLog
from tests.consensus.fakeapp import FakeApp, Store, is_valid, tx_pool
from tests.consensus.support import make_validators

CHAIN_ID = "egov-sim"
GENESIS_TIME = 1_767_225_600_000  # 2026-01-01T00:00:00Z
GENESIS_HASH = sha256(b"sim-genesis")
TX_POOL = 400
DELIVERY_GRID = 0.01


class Behaviour(StrEnum):
    HONEST = "honest"
    SILENT = "silent"
    EQUIVOCATE = "equivocate"
    INVALID = "invalid"


@dataclass(frozen=True)
class Crash:
    node: int
    at_ms: int
    restart_ms: int | None  # None: stays down for good
    tear: bool = False  # leave half a record at the end of its log


@dataclass(frozen=True)
class Partition:
    start_ms: int
    end_ms: int
    groups: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Schedule:
    seed: int
    n: int = 4
    behaviours: tuple[Behaviour, ...] = ()
    powers: tuple[int, ...] = ()
    crashes: tuple[Crash, ...] = ()
    partitions: tuple[Partition, ...] = ()
    loss: float = 0.0  # until heal_ms
    delay_ms: tuple[int, int] = (5, 40)
    heal_ms: int = 0
    extra_heights: int = 3
    liveness_bound_ms: int = 60_000
    tx_per_s: int = 0
    skew_ms: int = 50  # clocks differ by up to this much

    def behaviour(self, node: int) -> Behaviour:
        return (
            self.behaviours[node] if node < len(self.behaviours) else Behaviour.HONEST
        )

    def honest(self) -> list[int]:
        return [i for i in range(self.n) if self.behaviour(i) == Behaviour.HONEST]

    def down_for_good(self) -> set[int]:
        return {c.node for c in self.crashes if c.restart_ms is None}


@dataclass
class Result:
    schedule: Schedule
    violations: list[str] = field(default_factory=list)
    heights: dict[int, int] = field(default_factory=dict)
    decisions: int = 0  # (node, height) pairs committed by honest nodes
    virtual_ms: int = 0
    heal_height: int = 0
    evidence: int = 0  # pieces of evidence honest nodes recorded
    messages: int = 0
    committed_txs: int = 0
    max_round: int = 0  # highest round any honest commit was decided in
    torn_tails: int = 0  # restarts that found (and cut) a torn log append
    timeline: list[tuple[int, int]] = field(default_factory=list)  # (ms, height)

    def height_at(self, ms: int) -> int:
        """Highest honest height reached by virtual time ``ms``."""
        return max((h for t, h in self.timeline if t <= ms), default=0)

    @property
    def ok(self) -> bool:
        return not self.violations

    def describe(self) -> str:
        return (
            f"seed={self.schedule.seed} violations={self.violations} "
            f"heights={self.heights} virtual_ms={self.virtual_ms}\n"
            f"replay: python -m bench.consensus_search --replay "
            f"{self.schedule.seed}  (or run(<the schedule>) in a test)\n"
            f"schedule={self.schedule}"
        )


def _step(message: Vote | Proposal) -> int:
    if isinstance(message, Proposal):
        return 1
    return 2 if message.type == VoteType.PREVOTE else 3


class Network:
    """Delayed, lossy, partitionable links; delivery in (time, sequence)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.schedule = cluster.schedule
        self.rng = random.Random(cluster.schedule.seed * 7919 + 1)
        self._heap: list[tuple[float, int, int, int, ConsensusMessage]] = []
        self._seq = 0
        self._wake = trio.Event()
        self.sent = 0

    def _cut(self, src: int, dst: int, now_ms: float) -> bool:
        for p in self.schedule.partitions:
            if p.start_ms <= now_ms < p.end_ms:
                same = any(src in g and dst in g for g in p.groups)
                if not same:
                    return True
        return False

    def send(self, src: int, dst: int, message: ConsensusMessage) -> None:
        self.sent += 1
        now_ms = trio.current_time() * 1000
        if now_ms < self.schedule.heal_ms:
            if self._cut(src, dst, now_ms):
                return
            if self.schedule.loss and self.rng.random() < self.schedule.loss:
                return
        low, high = self.schedule.delay_ms
        delay = self.rng.randint(low, high) / 1000
        # Deliveries fall on a grid of DELIVERY_GRID seconds: messages due
        # in the same slot arrive in one step of the Trio loop, in order of
        # sending, which keeps a run cheap without changing what can happen.
        due = math.ceil((trio.current_time() + delay) / DELIVERY_GRID) * DELIVERY_GRID
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, src, dst, message))
        self._wake.set()

    async def pump(self) -> None:
        while True:
            while self._heap and self._heap[0][0] <= trio.current_time():
                _, _, src, dst, message = heapq.heappop(self._heap)
                self.cluster.nodes[dst].deliver(src, message)
            self._wake = trio.Event()
            if self._heap:
                with trio.move_on_at(self._heap[0][0]):
                    await self._wake.wait()
            else:
                await self._wake.wait()


class SimTransport:
    def __init__(self, node: SimNode) -> None:
        self.node = node
        self.send_channel, self.receive_channel = trio.open_memory_channel[Envelope](
            math.inf
        )

    def _out(self, dst: int, message: ConsensusMessage) -> None:
        self.node.cluster.record_sent(self.node.index, message)
        self.node.cluster.network.send(self.node.index, dst, message)

    async def broadcast(
        self, message: ConsensusMessage, *, exclude: PeerId | None = None
    ) -> None:
        for dst in self.node.cluster.peers_of(self.node.index):
            if str(dst) != exclude:
                self._out(dst, message)

    async def send(self, peer: PeerId, message: ConsensusMessage) -> None:
        self._out(int(peer), message)

    def received(self) -> AsyncIterator[Envelope]:
        return self.receive_channel


class EquivocatingTransport(SimTransport):
    """Sends one half of the peers what the driver signed, the other half a
    conflicting message signed with the same key."""

    async def broadcast(
        self, message: ConsensusMessage, *, exclude: PeerId | None = None
    ) -> None:
        peers = self.node.cluster.peers_of(self.node.index)
        other = self._conflicting(message)
        for i, dst in enumerate(peers):
            if str(dst) != exclude:
                self._out(dst, message if other is None or i % 2 == 0 else other)

    def _conflicting(self, message: ConsensusMessage) -> ConsensusMessage | None:
        key, chain = self.node.key, CHAIN_ID
        if isinstance(message, VoteMessage) and message.vote.validator == key.public:
            v = message.vote
            value = (
                None
                if v.block_hash is not None
                else sha256(b"phantom" + bytes([v.round % 256]))
            )
            twin = Vote(v.type, v.height, v.round, value, v.timestamp, v.validator)
            return VoteMessage(twin.signed(key, chain))
        if isinstance(message, ProposalMessage):
            p, app = message.proposal, self.node.app
            assert app is not None
            extras = tx_pool(CHAIN_ID + "-byzantine", 64)
            alt = app.variant(message.block, extras[(p.height + p.round) % 64])
            twin_p = Proposal(p.height, p.round, alt.hash(), p.pol_round, p.proposer)
            return ProposalMessage(twin_p.signed(key, chain), alt)
        return None


class SimNode:
    def __init__(self, cluster: Cluster, index: int, key: PrivateKey) -> None:
        self.cluster = cluster
        self.index = index
        self.key = key
        self.behaviour = cluster.schedule.behaviour(index)
        self.store: Store = {}
        self.wal_storage = MemoryWalStorage(f"node{index}/wal")
        self.app: FakeApp | None = None
        self.driver: Driver | None = None
        self.transport: SimTransport | None = None
        self.scope: trio.CancelScope | None = None
        self.skew = cluster.rng.randint(
            -cluster.schedule.skew_ms, cluster.schedule.skew_ms
        )
        self.restarts = 0

    @property
    def alive(self) -> bool:
        return self.scope is not None

    def clock(self) -> int:
        return GENESIS_TIME + int(trio.current_time() * 1000) + self.skew

    def deliver(self, src: int, message: ConsensusMessage) -> None:
        if self.transport is not None and self.alive:
            self.transport.send_channel.send_nowait(Envelope(str(src), message))

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        cluster = self.cluster
        self.app = FakeApp(
            CHAIN_ID,
            GENESIS_HASH,
            cluster.validators,
            self.store,
            invalid=self.behaviour == Behaviour.INVALID,
            on_commit=lambda block: cluster.record_commit(self.index, block),
        )
        for tx in cluster.offered:
            self.app.add_tx(tx)
        transport_type = (
            EquivocatingTransport
            if self.behaviour == Behaviour.EQUIVOCATE
            else SimTransport
        )
        self.transport = transport_type(self)
        wal = WriteAheadLog.open(self.wal_storage)
        if wal.torn_tail:
            cluster.torn_tails += 1
        self.driver = Driver(
            cluster.config,
            self.key,
            self.app,
            self.transport,
            wal,
            self.clock,
            blocking=_inline,
        )
        with trio.CancelScope() as scope:
            self.scope = scope
            task_status.started()
            await self.driver.run()
        self.scope = None

    def crash(self, tear: bool) -> None:
        if self.scope is None:
            return  # already down
        self.scope.cancel()
        self.scope = None
        self.transport = None
        if tear:
            # A crash in the middle of an append: the record never completed,
            # so its message was never sent.
            phantom = Vote(VoteType.PREVOTE, 1, 0, None, 0, self.key.public)
            frame = WalRecord(phantom.signed(self.key, CHAIN_ID)).frame()
            self.wal_storage.append(frame[: len(frame) // 2])


async def _inline(fn: object) -> None:
    assert callable(fn)
    fn()


class Cluster:
    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.rng = random.Random(schedule.seed)
        powers = schedule.powers or tuple([1] * schedule.n)
        self.validators, keys = make_validators(powers, prefix="sim")
        self.config = DriverConfig(
            CHAIN_ID, GENESIS_TIME, GENESIS_HASH, dict(DEFAULT_CONSENSUS)
        )
        self.nodes = [SimNode(self, i, k) for i, k in enumerate(keys)]
        self.network = Network(self)
        self.offered: list = []
        self.violations: list[str] = []
        self.decided: dict[int, bytes] = {}  # height -> hash, honest nodes
        self.decisions = 0
        self.signed: dict[tuple[bytes, int, int, int], object] = {}
        self.torn_tails = 0
        self.honest = set(schedule.honest())
        self.honest_keys = {self.nodes[i].key.public for i in self.honest}

    def peers_of(self, index: int) -> list[int]:
        return [i for i in range(self.schedule.n) if i != index]

    def record_sent(self, index: int, message: ConsensusMessage) -> None:
        """Every vote and proposal an honest validator signed, whoever sends
        it (proof-of-lock prevotes are relayed by the proposer)."""
        if isinstance(message, VoteMessage):
            signed: Vote | Proposal = message.vote
            signer, content = signed.validator, signed.block_hash
        elif isinstance(message, ProposalMessage):
            signed = message.proposal
            signer = signed.proposer
            content = (signed.block_hash, signed.pol_round)
        else:
            return
        if signer not in self.honest_keys:
            return
        slot = (signer, signed.height, signed.round, _step(signed))
        before = self.signed.setdefault(slot, content)
        if before != content and signed.verify(CHAIN_ID):
            self.violations.append(
                f"double signing: {signer.hex()[:8]} at height={signed.height} "
                f"round={signed.round} step={_step(signed)}"
            )

    def record_commit(self, index: int, block: Block) -> None:
        if index not in self.honest:
            return
        self.decisions += 1
        h = block.height
        first = self.decided.setdefault(h, block.hash())
        if first != block.hash():
            self.violations.append(f"agreement: two blocks decided at height {h}")

    def height_of(self, index: int) -> int:
        return max(self.nodes[index].store, default=0)


async def _crashes(cluster: Cluster, nursery: trio.Nursery) -> None:
    events: list[tuple[int, int, str, Crash]] = []
    for i, c in enumerate(cluster.schedule.crashes):
        events.append((c.at_ms, i, "crash", c))
        if c.restart_ms is not None:
            events.append((c.restart_ms, i, "restart", c))
    for at_ms, _, kind, c in sorted(events, key=lambda e: (e[0], e[1], e[2])):
        await trio.sleep_until(at_ms / 1000)
        node = cluster.nodes[c.node]
        if kind == "crash":
            node.crash(c.tear)
        elif not node.alive:
            node.restarts += 1
            await nursery.start(node.run)


async def _load(cluster: Cluster) -> None:
    rate = cluster.schedule.tx_per_s
    if rate <= 0:
        return
    for tx in tx_pool(CHAIN_ID, TX_POOL):
        await trio.sleep(1 / rate)
        cluster.offered.append(tx)
        for node in cluster.nodes:
            if node.alive and node.app is not None:
                node.app.add_tx(tx)


async def _sample(cluster: Cluster, result: Result) -> None:
    while True:
        height = max(cluster.height_of(i) for i in cluster.honest)
        if not result.timeline or result.timeline[-1][1] != height:
            result.timeline.append((int(trio.current_time() * 1000), height))
        await trio.sleep(0.25)


async def _main(schedule: Schedule) -> Result:
    cluster = Cluster(schedule)
    result = Result(schedule)
    live = [i for i in schedule.honest() if i not in schedule.down_for_good()]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(cluster.network.pump)
        for node in cluster.nodes:
            if node.behaviour != Behaviour.SILENT:
                await nursery.start(node.run)
        nursery.start_soon(_crashes, cluster, nursery)
        nursery.start_soon(_load, cluster)
        nursery.start_soon(_sample, cluster, result)
        await trio.sleep_until(schedule.heal_ms / 1000)
        result.heal_height = max(cluster.height_of(i) for i in live)
        target = result.heal_height + schedule.extra_heights
        deadline = (schedule.heal_ms + schedule.liveness_bound_ms) / 1000
        while min(cluster.height_of(i) for i in live) < target:
            if trio.current_time() >= deadline:
                cluster.violations.append(
                    f"liveness: heights {[cluster.height_of(i) for i in live]} "
                    f"did not reach {target} within "
                    f"{schedule.liveness_bound_ms} ms after heal"
                )
                break
            await trio.sleep(0.25)
        result.virtual_ms = int(trio.current_time() * 1000)
        nursery.cancel_scope.cancel()
    _final_checks(cluster, result)
    return result


def _final_checks(cluster: Cluster, result: Result) -> None:
    for i in cluster.honest:
        store = cluster.nodes[i].store
        for h in sorted(store):
            block = store[h][0]
            partial = {k: v for k, v in store.items() if k < h}
            if not is_valid(partial, block):
                cluster.violations.append(f"validity: node {i} height {h}")
                break
        driver = cluster.nodes[i].driver
        if driver is None:
            continue
        result.evidence += len(driver.evidence_seen)
        for evidence in driver.evidence_seen:
            culprit = evidence.vote_a.validator
            index = [n.key.public for n in cluster.nodes].index(culprit)
            if index in cluster.honest:
                cluster.violations.append(f"evidence against honest node {index}")
    result.violations = cluster.violations
    result.heights = {i: cluster.height_of(i) for i in range(cluster.schedule.n)}
    result.decisions = cluster.decisions
    result.messages = cluster.network.sent
    first = cluster.nodes[min(cluster.honest)].store
    result.committed_txs = sum(len(b.txs) for b, _ in first.values())
    result.max_round = max(
        (c.round for i in cluster.honest for _, c in cluster.nodes[i].store.values()),
        default=0,
    )
    result.torn_tails = cluster.torn_tails


def run(schedule: Schedule) -> Result:
    """Run one schedule in a fresh Trio run; deterministic in the schedule."""
    import trio._core._run as trio_run  # the scheduler's batch-order switch

    trio_run._ALLOW_DETERMINISTIC_SCHEDULING = True  # type: ignore[misc]
    trio_run._r.seed(schedule.seed)
    logging.getLogger("egov.consensus").setLevel(logging.ERROR)
    clock = trio.testing.MockClock(autojump_threshold=0)
    return trio.run(_main, schedule, clock=clock)


def random_schedule(seed: int) -> Schedule:
    """A fault schedule drawn from ``seed``: at most f Byzantine validators,
    crashes (some with torn logs), partitions, loss and jitter until heal."""
    rng = random.Random(seed)
    n = rng.choice((4, 4, 4, 4, 4, 4, 4, 7))
    f = (n - 1) // 3
    nodes = list(range(n))
    rng.shuffle(nodes)
    byzantine = nodes[: rng.randint(0, f)]
    behaviours = [Behaviour.HONEST] * n
    for i in byzantine:
        behaviours[i] = rng.choice(
            (Behaviour.SILENT, Behaviour.EQUIVOCATE, Behaviour.INVALID)
        )
    heal_ms = rng.randint(1000, 9000)
    honest = [i for i in range(n) if behaviours[i] == Behaviour.HONEST]
    crashes = []
    for _ in range(rng.randint(0, 3)):
        at = rng.randint(0, heal_ms)
        crashes.append(
            Crash(
                rng.choice(honest),
                at,
                rng.randint(at + 1, at + 6000),
                tear=rng.random() < 0.3,
            )
        )
    partitions = []
    for _ in range(rng.randint(0, 2)):
        start = rng.randint(0, heal_ms)
        members = list(range(n))
        rng.shuffle(members)
        cut = rng.randint(1, n - 1)
        partitions.append(
            Partition(
                start,
                rng.randint(start, heal_ms),
                (tuple(members[:cut]), tuple(members[cut:])),
            )
        )
    low = rng.randint(1, 60)
    return Schedule(
        seed=seed,
        n=n,
        behaviours=tuple(behaviours),
        crashes=tuple(crashes),
        partitions=tuple(partitions),
        loss=rng.choice((0.0, 0.0, 0.05, 0.2)),
        delay_ms=(low, low + rng.randint(0, 400)),
        heal_ms=max([heal_ms] + [c.restart_ms or 0 for c in crashes]),
        extra_heights=2,
        liveness_bound_ms=90_000,
        tx_per_s=rng.choice((0, 0, 20)),
    )
