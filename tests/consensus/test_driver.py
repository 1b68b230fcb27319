"""The driver on its own: a single validator (it is its own quorum) on the
autojump clock, restarted from its write-ahead log and block store."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from chain.block import Block
from chain.genesis import DEFAULT_CONSENSUS
from chain.votes import Proposal, Vote, VoteType, bft_time
from consensus.driver import Driver, DriverConfig
from consensus.messages import ConsensusMessage
from consensus.outputs import ScheduleTimeout
from consensus.protocols import BuildRequest, Envelope, PeerId
from consensus.state import Step
from storage.wal import MemoryWalStorage, WalRecord, WriteAheadLog
from tests.consensus.fakeapp import FakeApp, Store
from tests.consensus.sim import CHAIN_ID, GENESIS_HASH, GENESIS_TIME
from tests.consensus.support import make_validators

SOLO, (KEY,) = make_validators([1], prefix="solo")
CONFIG = DriverConfig(CHAIN_ID, GENESIS_TIME, GENESIS_HASH, dict(DEFAULT_CONSENSUS))


class Alone:
    """A transport with nobody on the other end."""

    def __init__(self) -> None:
        self.sent: list[ConsensusMessage] = []

    async def broadcast(
        self, message: ConsensusMessage, *, exclude: PeerId | None = None
    ) -> None:
        self.sent.append(message)

    async def send(self, peer: PeerId, message: ConsensusMessage) -> None:
        self.sent.append(message)

    async def received(self) -> AsyncIterator[Envelope]:
        await trio.sleep_forever()
        yield Envelope("", self.sent[0])  # never reached


def clock() -> int:
    return GENESIS_TIME + int(trio.current_time() * 1000)


async def _inline(fn: object) -> None:
    assert callable(fn)
    fn()


async def run_for(seconds: float, store: Store, wal: MemoryWalStorage) -> Driver:
    app = FakeApp(CHAIN_ID, GENESIS_HASH, SOLO, store)
    driver = Driver(
        CONFIG, KEY, app, Alone(), WriteAheadLog.open(wal), clock, blocking=_inline
    )
    with trio.move_on_after(seconds):
        await driver.run()
    return driver


async def test_lone_validator_decides_one_block_per_interval(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store: Store = {}
    await run_for(5.5, store, MemoryWalStorage())
    assert max(store) == 5  # empty blocks, one per empty_block_interval_ms
    times = [store[h][0].header.time for h in sorted(store)]
    assert times[0] == GENESIS_TIME
    assert all(a < b for a, b in zip(times, times[1:], strict=False))
    for h in range(2, 6):
        block, _ = store[h]
        assert block.header.time == bft_time(store[h - 1][1], SOLO)


async def test_restart_resumes_from_the_log_without_signing_anew(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store: Store = {}
    storage = MemoryWalStorage()
    await run_for(2.5, store, storage)
    assert max(store) == 2
    # Crash right after proposing block X at height 3 and prevoting it.
    app = FakeApp(CHAIN_ID, GENESIS_HASH, SOLO, store)
    request = BuildRequest(
        3, 0, bft_time(store[2][1], SOLO), KEY.public, store[2][1], (), 10, 1 << 20
    )
    x = app.make_block(request, ())
    wal = WriteAheadLog.open(storage)
    p = Proposal(3, 0, x.hash(), -1, KEY.public).signed(KEY, CHAIN_ID)
    v = Vote(VoteType.PREVOTE, 3, 0, x.hash(), clock(), KEY.public)
    wal.append(WalRecord(p, x.encode()))
    wal.append(WalRecord(v.signed(KEY, CHAIN_ID)))
    prevotes_before = len(wal.records)

    driver = await run_for(0.5, store, storage)
    assert store[3][0].hash() == x.hash()  # it finished what it had started
    records = driver.wal.records
    positions = [r.position for r in records]
    assert positions == sorted(set(positions))  # one message per step, in order
    signed_at_3 = [r for r in records if r.message.height == 3]
    assert [r.position[2] for r in signed_at_3] == [1, 2, 3]  # no new proposal
    assert len(records) == prevotes_before + 1  # only the precommit was new


async def test_conflicting_signature_is_refused_and_logged(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    storage = MemoryWalStorage()
    wal = WriteAheadLog.open(storage)
    nil = Vote(VoteType.PREVOTE, 1, 0, None, GENESIS_TIME + 1, KEY.public)
    wal.append(WalRecord(nil.signed(KEY, CHAIN_ID)))
    app = FakeApp(CHAIN_ID, GENESIS_HASH, SOLO, {})
    driver = Driver(CONFIG, KEY, app, Alone(), wal, clock, blocking=_inline)
    other = Vote(VoteType.PREVOTE, 1, 0, b"\x01" * 32, GENESIS_TIME + 1, KEY.public)
    with caplog.at_level(logging.ERROR, logger="egov.consensus"):
        assert await driver._sign(other, None) is None
    assert "event=sign_refused" in caplog.text
    again = Vote(VoteType.PREVOTE, 1, 0, None, GENESIS_TIME + 99, KEY.public)
    assert await driver._sign(again, None) == wal.records[0].message
    assert len(wal.records) == 1


class SlowApp(FakeApp):
    """Takes ``seconds`` of the Trio clock to build a block."""

    seconds = 0.8

    async def build_block(self, request: BuildRequest) -> Block:
        await trio.sleep(self.seconds)
        return await super().build_block(request)


async def test_propose_timeouts_make_room_for_slow_execution(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = SlowApp(CHAIN_ID, GENESIS_HASH, SOLO, {})
    driver = Driver(
        CONFIG,
        KEY,
        app,
        Alone(),
        WriteAheadLog.open(MemoryWalStorage()),
        clock,
        blocking=_inline,
    )
    propose = ScheduleTimeout(Step.PROPOSE, 1, 0, 1000)
    prevote = ScheduleTimeout(Step.PREVOTE, 1, 0, 500)
    assert driver.timeout_seconds(propose) == 1.0  # nothing measured yet
    with trio.move_on_after(2.5):
        await driver.run()
    assert max(app.store) >= 1
    # Room for the proposer's execution and ours; other steps unchanged.
    assert driver.timeout_seconds(propose) == pytest.approx(1.0 + 2 * 0.8)
    assert driver.timeout_seconds(prevote) == 0.5
    # A long stall still cannot stretch a timeout past timeout_max_ms.
    driver._executed(60.0)
    limit = DEFAULT_CONSENSUS["timeout_max_ms"] / 1000
    assert driver.timeout_seconds(propose) == pytest.approx(1.0 + limit)
