"""Algorithm 1 of "The latest gossip on BFT consensus" for one height.

Line numbers (L22, L36-43, ...) refer to Algorithm 1 of arXiv:1807.04938v3.
The value v of the paper is a block hash; id(v) is the same hash.

Invariants:

1. The core decides at most once per height (L49 guards on decision = nil),
   and only a value with a proposal, a quorum of precommits and valid(v).
2. It asks to sign at most one proposal per round and at most one prevote
   and one precommit per round: each is emitted only together with a step
   change (propose -> prevote -> precommit) or, for proposals, only from
   StartRound and only once per round.
3. lockedValue changes only with a precommit for it (L38-40). So after a
   restart the lock is the value of the highest-round non-nil precommit in
   the write-ahead log, which is how ``start`` restores it.
4. The tally holds messages of rounds up to the current round only; later
   rounds wait in a per-sender bounded buffer that also feeds the f+1 round
   skip (L55). Rounds at or below the current one are bounded by honest
   progress: entering a round takes a timeout or f+1 power.
5. valid(v) is asked of the application once per block; until it answers,
   the rules that need it wait.

Every rule is an ``upon`` of the paper; after each input the rules are
re-evaluated until none fires, so the order inputs arrive in only decides
when, never whether, a rule fires.
"""

from __future__ import annotations

from collections.abc import Sequence

from chain.validators import ValidatorSet
from chain.votes import Commit, Proposal, Vote, VoteType
from consensus.buffer import Message, SenderBuffer
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
from consensus.proposer import proposer
from consensus.state import RoundReason, RoundState, Step
from consensus.tally import VoteTally
from consensus.timeouts import TimeoutParams

PREVOTE, PRECOMMIT = VoteType.PREVOTE, VoteType.PRECOMMIT
# A proposer that equivocates gets its first two proposals per round kept;
# the first one is what this validator prevotes for.
MAX_PROPOSALS_PER_ROUND = 2
FUTURE_PER_SENDER = 8


class HeightMachine:
    def __init__(
        self,
        height: int,
        validators: ValidatorSet,
        address: bytes,
        timeouts: TimeoutParams,
    ) -> None:
        self.height = height
        self.validators = validators
        self.address = address
        self.timeouts = timeouts
        # L3-9
        self.round = 0
        self.step = Step.PROPOSE
        self.locked_value: bytes | None = None
        self.locked_round = -1
        self.valid_value: bytes | None = None
        self.valid_round = -1
        self.decision: bytes | None = None
        self._tally = VoteTally(validators)
        self._proposals: dict[int, list[Proposal]] = {}
        self._future = SenderBuffer(FUTURE_PER_SENDER)
        self._future_dirty = False
        self._validity: dict[bytes, bool] = {}
        self._asked_validity: set[bytes] = set()
        self._fired: set[tuple[str, int]] = set()  # "for the first time"
        self._build_round = -1  # round of the outstanding RequestProposal
        self._out: list[Output] = []

    @property
    def state(self) -> RoundState:
        return RoundState(
            self.height,
            self.round,
            self.step,
            self.locked_value,
            self.locked_round,
            self.valid_value,
            self.valid_round,
            self.decision,
        )

    # -- entry points -------------------------------------------------------

    def start(self, own: Sequence[Message] = ()) -> list[Output]:
        """L10: StartRound(0), or resume from this validator's own signed
        messages at this height (restart; see invariant 3)."""
        if not own:
            self._start_round(0, RoundReason.NEW_HEIGHT)
        else:
            self._resume(own)
        return self._flush()

    def on_message(self, message: Message) -> list[Output]:
        if isinstance(message, Vote):
            self._accept_vote(message)
        else:
            self._accept_proposal(message)
        return self._flush()

    def on_timeout(self, step: Step, round: int) -> list[Output]:
        if self.decision is None and round == self.round:
            if step == Step.PROPOSE and self.step == Step.PROPOSE:
                # L57-60: OnTimeoutPropose, prevote nil
                self._vote(PREVOTE, None, Step.PREVOTE)
            elif step == Step.PREVOTE and self.step == Step.PREVOTE:
                # L61-64: OnTimeoutPrevote, precommit nil
                self._vote(PRECOMMIT, None, Step.PRECOMMIT)
            elif step == Step.PRECOMMIT:
                # L65-67: OnTimeoutPrecommit, StartRound(round_p + 1)
                self._start_round(round + 1, RoundReason.TIMEOUT_PRECOMMIT)
        return self._flush()

    def on_proposal_built(self, round: int, block_hash: bytes) -> list[Output]:
        if (
            self.decision is None
            and round == self.round == self._build_round
            and self.step == Step.PROPOSE
        ):
            # L18-19: getValue() returned; validRound_p is -1 here, because
            # L18 runs only with validValue_p = nil and L42 cannot run in
            # the propose step of this round. A block that comes after our
            # timeoutPropose is not proposed: we already prevoted this round,
            # and a proposal signed after a prevote would break the
            # (height, round, step) order the write-ahead log enforces.
            self._build_round = -1
            self._validity[block_hash] = True
            self._out.append(SignProposal(self.height, round, block_hash, -1))
        return self._flush()

    def on_validated(self, block_hash: bytes, valid: bool) -> list[Output]:
        self._validity.setdefault(block_hash, valid)
        return self._flush()

    # -- accepting messages -------------------------------------------------

    def _accept_proposal(self, p: Proposal) -> None:
        if p.proposer != proposer(self.validators, self.height, p.round):
            return  # "from proposer(h_p, r)" (L22, L28, L36, L49)
        if not -1 <= p.pol_round < p.round:
            return
        if p.round > self.round:
            self._future_dirty |= self._future.add(p)
            return
        kept = self._proposals.setdefault(p.round, [])
        if p in kept or len(kept) >= MAX_PROPOSALS_PER_ROUND:
            return
        kept.append(p)
        self._ask_validity(p.round, p.block_hash)

    def _accept_vote(self, vote: Vote) -> None:
        if vote.validator not in self.validators:
            return
        if vote.round > self.round:
            self._future_dirty |= self._future.add(vote)
            return
        _, evidence = self._tally.add(vote)
        if evidence is not None:
            self._out.append(ReportEvidence(evidence))

    def _ask_validity(self, round: int, value: bytes) -> None:
        if value not in self._validity and value not in self._asked_validity:
            self._asked_validity.add(value)
            self._out.append(RequestValidation(self.height, round, value))

    # -- the rules ------------------------------------------------------------

    def _flush(self) -> list[Output]:
        while self.decision is None and self._fire_one():
            pass
        out, self._out = self._out, []
        return out

    def _fire_one(self) -> bool:
        return (
            self._upon_decision()
            or self._upon_higher_round()
            or self._upon_proposal()
            or self._upon_prevote_quorum()
            or self._upon_polka()
            or self._upon_nil_polka()
            or self._upon_precommit_quorum()
        )

    def _upon_decision(self) -> bool:
        # L49-54: a proposal for v in some round r and 2f+1 precommits for
        # id(v) in r, valid(v): decide v. Moving to the next height (L52-54)
        # waits for the application (HeightReady).
        for r, v in self._tally.precommit_quorums():
            if not self._has_proposal(r, v):
                continue
            valid = self._validity.get(v)
            if valid is None:
                self._ask_validity(r, v)
                continue
            if not valid:
                continue
            votes = sorted(
                self._tally.votes_for(r, PRECOMMIT, v), key=lambda x: x.validator
            )
            self.decision = v
            self.step = Step.COMMIT
            self._out.append(Decide(self.height, r, v, Commit.from_votes(votes)))
            return True
        return False

    def _upon_higher_round(self) -> bool:
        # L55-56: f+1 messages of a round above round_p: StartRound(round).
        if not self._future_dirty:
            return False
        self._future_dirty = False
        skip = [
            r
            for r in self._future.rounds()
            if r > self.round
            and self.validators.is_one_third(
                self._future.power_in_round(r, self.validators)
            )
        ]
        if not skip:
            return False
        self._start_round(max(skip), RoundReason.ROUND_SKIP)
        return True

    def _upon_proposal(self) -> bool:
        if self.step != Step.PROPOSE:
            return False
        for p in self._proposals.get(self.round, ()):
            v, vr = p.block_hash, p.pol_round
            if vr == -1:
                # L22-27: a fresh proposal; prevote it unless locked on
                # another value.
                acceptable = self.locked_round == -1 or self.locked_value == v
            elif self._tally.has_quorum(vr, PREVOTE, v):
                # L28-33: a re-proposal backed by a polka in round vr; prevote
                # it unless locked after vr on another value.
                acceptable = self.locked_round <= vr or self.locked_value == v
            else:
                continue  # L28 waits for the polka of vr (or L57 times out)
            valid = self._validity.get(v)
            if valid is None:
                continue
            choice = v if valid and acceptable else None  # L24/L26, L30/L32
            self._vote(PREVOTE, choice, Step.PREVOTE)  # L27, L33
            return True
        return False

    def _upon_prevote_quorum(self) -> bool:
        # L34-35: 2f+1 prevotes for anything, step prevote, first time.
        key = ("timeout_prevote", self.round)
        if (
            self.step != Step.PREVOTE
            or key in self._fired
            or not self._tally.has_quorum_any(self.round, PREVOTE)
        ):
            return False
        self._fired.add(key)
        self._schedule(Step.PREVOTE)
        return True

    def _upon_polka(self) -> bool:
        # L36-43: proposal for v and 2f+1 prevotes for id(v) in round_p,
        # valid(v), step >= prevote, first time.
        key = ("polka", self.round)
        if self.step < Step.PREVOTE or key in self._fired:
            return False
        for v in self._tally.quorum_values(self.round, PREVOTE):
            if v is None or not self._has_proposal(self.round, v):
                continue
            valid = self._validity.get(v)
            if not valid:
                continue  # unknown (asked when the proposal came) or invalid
            self._fired.add(key)
            if self.step == Step.PREVOTE:
                # L37-41: lock on v and precommit it.
                self.locked_value, self.locked_round = v, self.round
                self._vote(PRECOMMIT, v, Step.PRECOMMIT)
            # L42-43: v is the value to re-propose from now on.
            self.valid_value, self.valid_round = v, self.round
            return True
        return False

    def _upon_nil_polka(self) -> bool:
        # L44-46: 2f+1 prevotes for nil, step prevote: precommit nil.
        if self.step != Step.PREVOTE or not self._tally.has_quorum(
            self.round, PREVOTE, None
        ):
            return False
        self._vote(PRECOMMIT, None, Step.PRECOMMIT)
        return True

    def _upon_precommit_quorum(self) -> bool:
        # L47-48: 2f+1 precommits for anything in round_p, first time.
        key = ("timeout_precommit", self.round)
        if key in self._fired or not self._tally.has_quorum_any(self.round, PRECOMMIT):
            return False
        self._fired.add(key)
        self._schedule(Step.PRECOMMIT)
        return True

    # -- actions --------------------------------------------------------------

    def _start_round(self, round: int, reason: RoundReason) -> None:
        # L11-13
        self.round = round
        self.step = Step.PROPOSE
        self._build_round = -1
        self._out.append(ReportRoundChange(self.height, round, reason))
        for early in self._future.take(lambda m: m.round <= round):
            if isinstance(early, Vote):
                self._accept_vote(early)
            else:
                self._accept_proposal(early)
        self._future_dirty = True
        if proposer(self.validators, self.height, round) == self.address:
            if self.valid_value is not None:
                # L15-16, L19: re-propose the value a polka was seen for.
                pol = self._tally.votes_for(self.valid_round, PREVOTE, self.valid_value)
                self._out.append(
                    SignProposal(
                        self.height,
                        round,
                        self.valid_value,
                        self.valid_round,
                        tuple(pol),
                    )
                )
            else:
                # L18: getValue(); the proposal follows on ProposalBuilt.
                self._build_round = round
                self._out.append(RequestProposal(self.height, round))
        # L21. The paper schedules it for non-proposers only; a proposer
        # schedules it too, so a slow application cannot stall the round.
        # A proposer's own proposal moves it to prevote before it fires.
        self._schedule(Step.PROPOSE)

    def _resume(self, own: Sequence[Message]) -> None:
        round = max(m.round for m in own)
        self.round = round
        self._out.append(ReportRoundChange(self.height, round, RoundReason.RESTORED))
        for m in own:
            if isinstance(m, Proposal):
                self._validity[m.block_hash] = True  # we proposed only valid
                self._accept_proposal(m)
            else:
                self._accept_vote(m)
        votes = [m for m in own if isinstance(m, Vote)]
        locks = [v for v in votes if v.type == PRECOMMIT and v.block_hash is not None]
        if locks:
            last = max(locks, key=lambda v: v.round)
            self.locked_value, self.locked_round = last.block_hash, last.round
            self.valid_value, self.valid_round = last.block_hash, last.round
        types = {v.type for v in votes if v.round == round}
        if PRECOMMIT in types:
            self.step = Step.PRECOMMIT
        elif PREVOTE in types:
            self.step = Step.PREVOTE
        else:
            self.step = Step.PROPOSE
            self._schedule(Step.PROPOSE)

    def _vote(self, type: VoteType, value: bytes | None, step: Step) -> None:
        self._out.append(SignVote(type, self.height, self.round, value))
        self.step = step

    def _schedule(self, step: Step) -> None:
        duration = self.timeouts.duration(step, self.round)
        self._out.append(ScheduleTimeout(step, self.height, self.round, duration))

    def _has_proposal(self, round: int, value: bytes) -> bool:
        return any(p.block_hash == value for p in self._proposals.get(round, ()))
