"""The Trio driver: performs the core's outputs against the node.

One loop takes events in order (messages from peers, timeouts, answers of
the application), feeds the core and performs what it returns:

- SignVote / SignProposal: check the write-ahead log, sign, append the
  record (fsynced) and only then broadcast; then report the signed message
  back to the core as received.
- ScheduleTimeout: a task that sleeps on the Trio clock and reports
  TimeoutElapsed. A propose timeout sleeps longer by twice the time this
  validator's application recently took to build or validate a block (the
  proposer executes the block before sending it, and we execute it before
  prevoting), so that slow execution under load does not turn into nil
  prevotes and round changes. The core's durations stay pure; only the
  real sleep grows, bounded by ``timeout_max_ms``.
- RequestProposal / RequestValidation: tasks that ask the application and
  report ProposalBuilt / BlockValidated.
- Decide: commit the block with its commit, then start the next height.
- ReportEvidence / ReportRoundChange: keep and gossip evidence; log.

Around that: signature checks on what peers send (the core trusts its
inputs), a gossip tick that re-sends this validator's messages of the
current round while nothing moves (the paper assumes messages are
eventually delivered; links may drop them), and catch-up: a node that sees
peers at higher heights asks them for decided blocks with their commits,
verifies each commit, and commits the blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import trio

from chain.block import Block
from chain.errors import ChainError
from chain.genesis import Genesis
from chain.keys import PrivateKey
from chain.votes import (
    Commit,
    DuplicateVoteEvidence,
    Proposal,
    Vote,
    VoteType,
    bft_time,
)
from consensus.core import Consensus
from consensus.errors import StoreInconsistent
from consensus.inputs import (
    BlockValidated,
    HeightReady,
    Input,
    ProposalBuilt,
    ProposalReceived,
    TimeoutElapsed,
    VoteReceived,
)
from consensus.messages import (
    MAX_BATCH,
    BlockRequest,
    BlockResponse,
    ConsensusMessage,
    EvidenceMessage,
    ProposalMessage,
    StatusMessage,
    VoteMessage,
)
from consensus.outputs import (
    Decide,
    Output,
    ReportEvidence,
    ReportRoundChange,
    RequestProposal,
    RequestValidation,
    ScheduleTimeout,
    SignProposal,
    SignVote,
)
from consensus.protocols import (
    Application,
    BuildRequest,
    Clock,
    Envelope,
    PeerId,
    Transport,
)
from consensus.state import Step
from consensus.timeouts import TimeoutParams
from storage.wal import WalConflict, WalRecord, WriteAheadLog

log = logging.getLogger("egov.consensus")

Blocking = Callable[[Callable[[], None]], Awaitable[None]]
WAL_COMPACT_EVERY = 100
INBOX_SIZE = 1024
MAX_PENDING_EVIDENCE = 64
MAX_BLOCKS = 64
EXEC_DECAY = 0.75  # how much of the slowest recent execution one block keeps


async def _in_thread(fn: Callable[[], None]) -> None:
    await trio.to_thread.run_sync(fn)


@dataclass(frozen=True)
class DriverConfig:
    chain_id: str
    genesis_time: int
    genesis_hash: bytes  # prev_hash of block 1
    consensus: dict[str, int]  # the genesis consensus parameters
    gossip_interval_ms: int = 1000

    @classmethod
    def from_genesis(cls, genesis: Genesis) -> DriverConfig:
        return cls(
            genesis.chain_id, genesis.genesis_time, genesis.hash, genesis.consensus
        )


class Driver:
    def __init__(
        self,
        config: DriverConfig,
        key: PrivateKey,
        app: Application,
        transport: Transport,
        wal: WriteAheadLog,
        clock: Clock,
        *,
        blocking: Blocking = _in_thread,
    ) -> None:
        self.config = config
        self.key = key
        self.address = key.public
        self.app = app
        self.transport = transport
        self.wal = wal
        self.clock = clock
        self._blocking = blocking
        self.timeouts = TimeoutParams.from_consensus(config.consensus)
        self.core = Consensus(self.address, self.timeouts)
        self.evidence_seen: list[DuplicateVoteEvidence] = []
        self._tag = f"validator={self.address.hex()[:12]}"
        self._send, self._inbox = trio.open_memory_channel[Input | Envelope](INBOX_SIZE)
        self._blocks: dict[bytes, Block] = {}
        self._block_rounds: dict[bytes, tuple[int, int]] = {}
        self._last: tuple[Block, Commit] | None = None
        self._height_time = config.genesis_time
        self._own: list[ConsensusMessage] = []  # signed at the current height
        self._pol: list[VoteMessage] = []  # proof-of-lock prevotes we relayed
        self._seen: set[bytes] = set()  # signatures already checked and fed
        self._pending_evidence: dict[bytes, DuplicateVoteEvidence] = {}
        self._peer_heights: dict[PeerId, int] = {}  # from their status
        self._catch_up_turn = 0
        self._nursery: trio.Nursery | None = None
        self._exec_s = 0.0  # recent block execution time, decaying maximum

    # -- running --------------------------------------------------------------

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Restore from the store and the log, then run until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await self._restore()
            nursery.start_soon(self._receive_loop)
            nursery.start_soon(self._gossip_loop)
            task_status.started()
            async for event in self._inbox:
                if isinstance(event, Envelope):
                    await self._on_envelope(event)
                else:
                    await self._feed(event)

    async def _restore(self) -> None:
        if self.wal.torn_tail:
            self._log(
                logging.WARNING,
                "event=wal_torn_tail_cut bytes=%d last_signed=%s",
                self.wal.torn_tail,
                self.wal.last_signed,
            )
        last = self.app.last_height()
        if last > 0:
            stored = self.app.stored_block(last)
            if stored is None:
                raise StoreInconsistent(last)
            self._last = stored
            self._height_time = bft_time(stored[1], self.app.validators(last))
        height = last + 1
        signed = self.wal.last_signed
        if signed is not None and signed[0] > height:
            # We signed at a height the store has not reached: blocks we
            # decided were lost. The log will refuse to sign below that
            # height; block sync can still bring the store forward.
            self._log(
                logging.ERROR,
                "event=store_behind_log height=%d last_signed_height=%d",
                height,
                signed[0],
            )
        own: list[Vote | Proposal] = []
        for record in self.wal.at_height(height):
            own.append(record.message)
            if isinstance(record.message, Proposal) and record.block is not None:
                block = Block.decode(record.block)
                self._blocks[block.hash()] = block
                self._own.append(ProposalMessage(record.message, block))
            elif isinstance(record.message, Vote):
                self._own.append(VoteMessage(record.message))
        self._log(
            logging.INFO,
            "event=started height=%d own_messages=%d last_signed=%s",
            height,
            len(own),
            self.wal.last_signed,
        )
        await self._feed(
            HeightReady(
                height,
                self.app.validators(height),
                self.app.validators(height + 1),
                tuple(own),
            )
        )
        for message in list(self._own):
            await self.transport.broadcast(message)

    async def _receive_loop(self) -> None:
        async for envelope in self.transport.received():
            message = envelope.message
            if isinstance(message, VoteMessage) and message.vote.sig in self._seen:
                continue  # a copy gossip brought again: nothing new
            await self._send.send(envelope)

    async def _gossip_loop(self) -> None:
        interval = self.config.gossip_interval_ms / 1000
        previous = None
        while True:
            await trio.sleep(interval)
            state = self.core.state
            now = None if state is None else (state.height, state.round, state.step)
            await self.transport.broadcast(self._status())
            if now is not None and now == previous:
                # Nothing moved for a whole tick: our messages may be lost.
                for message in self._own:
                    if _worth_repeating(message, now[1]):
                        await self.transport.broadcast(message)
                for relay in self._pol:
                    await self.transport.broadcast(relay)
                await self._request_catch_up()
            previous = now

    def _status(self) -> StatusMessage:
        if self._last is None:
            return StatusMessage(0, self.config.genesis_hash)
        block = self._last[0]
        return StatusMessage(block.height, block.hash())

    async def _request_catch_up(self) -> None:
        """Ask a peer whose own status says it has committed our height;
        take turns among such peers, in case one does not answer."""
        height = self.core.height
        ahead = sorted(p for p, h in self._peer_heights.items() if h >= height)
        if not ahead:
            return
        peer = ahead[self._catch_up_turn % len(ahead)]
        self._catch_up_turn += 1
        self._log(
            logging.INFO,
            "event=catch_up_request height=%d peer=%s peer_height=%d",
            height,
            peer,
            self._peer_heights[peer],
        )
        await self.transport.send(peer, BlockRequest(height, MAX_BATCH))

    # -- feeding the core -----------------------------------------------------

    async def _feed(self, first: Input) -> None:
        pending = [first]
        while pending:
            event = pending.pop(0)
            for output in self.core.handle(event):
                follow = await self._perform(output)
                if follow is not None:
                    pending.append(follow)

    async def _perform(self, output: Output) -> Input | None:
        if isinstance(output, SignVote):
            return await self._sign_vote(output)
        if isinstance(output, SignProposal):
            return await self._sign_proposal(output)
        if isinstance(output, ScheduleTimeout):
            self._spawn(self._timeout, output)
        elif isinstance(output, RequestProposal):
            self._spawn(self._build, output)
        elif isinstance(output, RequestValidation):
            self._spawn(self._validate, output)
        elif isinstance(output, Decide):
            return await self._decide(output)
        elif isinstance(output, ReportEvidence):
            await self._evidence(output.evidence, gossip=True)
        else:
            assert isinstance(output, ReportRoundChange)
            if output.round > 0:
                self._log(
                    logging.INFO,
                    "event=round_change height=%d round=%d reason=%s",
                    output.height,
                    output.round,
                    output.reason.value,
                )
        return None

    def _spawn(self, fn: Callable[[Any], Awaitable[None]], arg: Any) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(fn, arg)

    # -- signing --------------------------------------------------------------

    async def _sign(
        self, unsigned: Vote | Proposal, block: bytes | None
    ) -> Vote | Proposal | None:
        """Sign unless the log forbids it; the record is durable on return."""
        try:
            existing = self.wal.check(unsigned)
        except WalConflict as exc:
            self._log(
                logging.ERROR,
                "event=sign_refused height=%d round=%d reason=%r",
                unsigned.height,
                unsigned.round,
                exc.reason,
            )
            return None
        if existing is not None:
            return existing.message
        signed = unsigned.signed(self.key, self.config.chain_id)
        record = WalRecord(signed, block)
        await self._blocking(lambda: self.wal.append(record))
        return signed

    async def _sign_vote(self, out: SignVote) -> Input | None:
        floor = self._height_time + 1
        if out.block_hash is not None and out.block_hash in self._blocks:
            floor = max(floor, self._blocks[out.block_hash].header.time + 1)
        unsigned = Vote(
            out.type,
            out.height,
            out.round,
            out.block_hash,
            max(self.clock(), floor),
            self.address,
        )
        vote = await self._sign(unsigned, None)
        if not isinstance(vote, Vote):
            return None
        message = VoteMessage(vote)
        self._own.append(message)
        self._seen.add(vote.sig)
        await self.transport.broadcast(message)
        return VoteReceived(vote)

    async def _sign_proposal(self, out: SignProposal) -> Input | None:
        block = self._blocks.get(out.block_hash)
        if block is None:
            self._log(
                logging.ERROR,
                "event=proposal_block_missing height=%d round=%d",
                out.height,
                out.round,
            )
            return None
        unsigned = Proposal(
            out.height, out.round, out.block_hash, out.pol_round, self.address
        )
        proposal = await self._sign(unsigned, block.encode())
        if not isinstance(proposal, Proposal):
            return None
        message = ProposalMessage(proposal, block)
        self._own.append(message)
        self._seen.add(proposal.sig)
        await self.transport.broadcast(message)
        for vote in out.pol_votes:
            relay = VoteMessage(vote)
            self._pol.append(relay)
            await self.transport.broadcast(relay)
        return ProposalReceived(proposal)

    # -- tasks ----------------------------------------------------------------

    async def _timeout(self, out: ScheduleTimeout) -> None:
        await trio.sleep(self.timeout_seconds(out))
        await self._send.send(TimeoutElapsed(out.step, out.height, out.round))

    def timeout_seconds(self, out: ScheduleTimeout) -> float:
        """The real sleep for ``out``: the core's duration, and for a propose
        timeout room for two executions of a block at the recent pace."""
        seconds = out.duration_ms / 1000
        if out.step == Step.PROPOSE:
            seconds += min(2 * self._exec_s, self.timeouts.max_ms / 1000)
        return seconds

    def _executed(self, seconds: float) -> None:
        self._exec_s = max(seconds, self._exec_s * EXEC_DECAY)

    async def _build(self, out: RequestProposal) -> None:
        interval = self.config.consensus.get("empty_block_interval_ms", 0)
        if out.round == 0 and interval > 0:
            # Block production policy: propose as soon as there are
            # transactions, or an empty block once the interval has passed.
            with trio.move_on_after(interval / 1000):
                await self.app.wait_for_txs()
        if self.core.height != out.height:
            return
        request = BuildRequest(
            height=out.height,
            round=out.round,
            time=self._height_time,
            proposer=self.address,
            last_commit=None if self._last is None else self._last[1],
            evidence=tuple(self._pending_evidence.values()),
            max_txs=self.config.consensus.get("max_block_txs", 5000),
            max_bytes=self.config.consensus.get("max_block_bytes", 4 << 20),
        )
        started = trio.current_time()
        block = await self.app.build_block(request)
        self._executed(trio.current_time() - started)
        if self.core.height != out.height:
            return
        self._blocks[block.hash()] = block
        await self._send.send(ProposalBuilt(out.height, out.round, block.hash()))

    async def _validate(self, out: RequestValidation) -> None:
        block = self._blocks.get(out.block_hash)
        if block is None or self.core.height != out.height:
            return
        started = trio.current_time()
        valid = self._check_block(block) and await self.app.validate_block(block)
        self._executed(trio.current_time() - started)
        await self._send.send(BlockValidated(out.height, out.block_hash, valid))

    # -- blocks and heights ---------------------------------------------------

    def _check_block(self, block: Block) -> bool:
        """What consensus fixes about a block at the current height."""
        header = block.header
        height = self.core.height
        validators = self.core.validators
        if validators is None:
            return False
        if header.chain != self.config.chain_id or header.height != height:
            return False
        if header.validators_hash != validators.hash:
            return False
        if header.proposer not in validators:
            return False
        try:
            block.check_structure()
        except ChainError:
            return False
        if self._last is None:
            return (
                header.prev_hash == self.config.genesis_hash
                and header.time == self.config.genesis_time
            )
        last_block, last_commit = self._last
        commit = block.last_commit
        if header.prev_hash != last_block.hash() or commit is None:
            return False
        previous = self.app.validators(height - 1)
        if commit != last_commit:
            try:
                commit.verify(
                    self.config.chain_id, previous, height - 1, last_block.hash()
                )
            except ChainError:
                return False
        time = bft_time(commit, previous)
        return header.time == time and time > last_block.header.time

    async def _decide(self, out: Decide) -> Input:
        block = self._blocks[out.block_hash]  # L49 needs the proposal: we have it
        await self.app.commit_block(block, out.commit)
        self._log(
            logging.INFO,
            "event=decided height=%d round=%d hash=%s txs=%d time=%d",
            out.height,
            out.round,
            out.block_hash.hex()[:16],
            len(block.txs),
            block.header.time,
        )
        return self._next_height(block, out.commit)

    def _next_height(self, block: Block, commit: Commit) -> HeightReady:
        self._last = (block, commit)
        height = block.height + 1
        self._height_time = bft_time(commit, self.app.validators(block.height))
        self._blocks = {k: b for k, b in self._blocks.items() if b.height >= height}
        self._block_rounds = {
            k: slot for k, slot in self._block_rounds.items() if k in self._blocks
        }
        for evidence in block.evidence:
            self._pending_evidence.pop(evidence.encode(), None)
        self._own = []
        self._pol = []
        self._seen = set()
        if height % WAL_COMPACT_EVERY == 0:
            self.wal.compact(height)
        return HeightReady(
            height, self.app.validators(height), self.app.validators(height + 1)
        )

    async def _catch_up(self, peer: PeerId, response: BlockResponse) -> None:
        applied = 0
        for block, commit in response.blocks:
            height = self.core.height
            if block.height < height:
                continue
            if block.height > height or block.hash() != commit.block_hash:
                break
            if not self._check_block(block):
                break
            try:
                commit.verify(
                    self.config.chain_id,
                    self.app.validators(height),
                    height,
                    block.hash(),
                )
            except ChainError as exc:
                self._log(
                    logging.WARNING,
                    "event=catch_up_bad_commit height=%d peer=%s reason=%s",
                    height,
                    peer,
                    exc,
                )
                break
            await self.app.commit_block(block, commit)
            applied += 1
            self._log(
                logging.INFO,
                "event=caught_up height=%d peer=%s hash=%s",
                height,
                peer,
                block.hash().hex()[:16],
            )
            await self._feed(self._next_height(block, commit))
        if applied and applied == len(response.blocks):
            await self._request_catch_up()

    # -- messages from peers --------------------------------------------------

    async def _on_envelope(self, envelope: Envelope) -> None:
        message, peer = envelope.message, envelope.peer
        if isinstance(message, VoteMessage):
            vote = message.vote
            if self._fresh(vote.height, vote.sig) and vote.verify(self.config.chain_id):
                self._seen.add(vote.sig)
                await self._feed(VoteReceived(vote))
                # Gossip: what one correct validator receives, all do (the
                # paper's assumption); it also puts both halves of an
                # equivocation in front of someone.
                await self.transport.broadcast(message, exclude=peer)
        elif isinstance(message, ProposalMessage):
            proposal, block = message.proposal, message.block
            if (
                self._fresh(proposal.height, proposal.sig)
                and block.hash() == proposal.block_hash
                and proposal.verify(self.config.chain_id)
            ):
                self._seen.add(proposal.sig)
                if self._keep_block(block, proposal):
                    await self._feed(ProposalReceived(proposal))
        elif isinstance(message, EvidenceMessage):
            await self._evidence(message.evidence, gossip=False)
        elif isinstance(message, StatusMessage):
            self._peer_heights[peer] = message.height
        elif isinstance(message, BlockRequest):
            await self._serve_blocks(peer, message)
        else:
            await self._catch_up(peer, message)

    def _keep_block(self, block: Block, proposal: Proposal) -> bool:
        """Hold the body of a proposed block. Bounded: when full, the block
        of the highest (height, round) goes first, so a faulty proposer's
        far-future rounds cannot push out the rounds being decided."""
        key = block.hash()
        slot = (proposal.height, proposal.round)
        if key in self._blocks:
            return True
        if len(self._blocks) >= MAX_BLOCKS:
            if not self._block_rounds:
                return False
            worst = max(self._block_rounds, key=lambda k: self._block_rounds[k])
            if self._block_rounds[worst] <= slot:
                return False
            del self._blocks[worst], self._block_rounds[worst]
        self._blocks[key] = block
        self._block_rounds[key] = slot
        return True

    def _fresh(self, height: int, sig: bytes) -> bool:
        """Worth checking: for this height or the next, and not seen yet."""
        current = self.core.height
        return current <= height <= current + 1 and sig not in self._seen

    async def _serve_blocks(self, peer: PeerId, request: BlockRequest) -> None:
        last = self.app.last_height()
        pairs = []
        for height in range(
            request.from_height,
            min(last, request.from_height + min(request.count, MAX_BATCH) - 1) + 1,
        ):
            stored = self.app.stored_block(height)
            if stored is None:
                break
            pairs.append(stored)
        if pairs:
            await self.transport.send(peer, BlockResponse(tuple(pairs)))

    async def _evidence(self, evidence: DuplicateVoteEvidence, *, gossip: bool) -> None:
        key = evidence.encode()
        if key in self._pending_evidence:
            return
        if not gossip:  # from a peer: check it before keeping it
            try:
                validators = self.app.validators(evidence.vote_a.height)
                evidence.verify(self.config.chain_id, validators)
            except (ChainError, KeyError, ValueError):
                return
        if len(self._pending_evidence) >= MAX_PENDING_EVIDENCE:
            return
        self._pending_evidence[key] = evidence
        self.evidence_seen.append(evidence)
        vote = evidence.vote_a
        self._log(
            logging.WARNING,
            "event=evidence validator=%s height=%d round=%d type=%s",
            vote.validator.hex()[:12],
            vote.height,
            vote.round,
            vote.type.name.lower(),
        )
        if gossip:
            await self.transport.broadcast(EvidenceMessage(evidence))

    def _log(self, level: int, fmt: str, *args: object) -> None:
        if log.isEnabledFor(level):
            log.log(level, "%s " + fmt, self._tag, *args)


def _worth_repeating(message: ConsensusMessage, round: int) -> bool:
    """Everything of the current round, and the precommits of earlier ones:
    a validator still in an earlier round needs 2f+1 of those to leave it
    (L47, L65) or to decide (L49), and we will not send them again."""
    if isinstance(message, ProposalMessage):
        return message.proposal.round == round
    if isinstance(message, VoteMessage):
        vote = message.vote
        return vote.round == round or vote.type == VoteType.PRECOMMIT
    return False
