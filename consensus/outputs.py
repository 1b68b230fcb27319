"""Outputs of the core: commands the driver performs.

The driver signs (SignVote, SignProposal), persists what it signed to the
write-ahead log, broadcasts it and reports it back as received; the core
counts only what it receives, so its tallies hold signed votes only.
"""

from __future__ import annotations

from dataclasses import dataclass

from chain.votes import Commit, DuplicateVoteEvidence, Vote, VoteType
from consensus.state import RoundReason, Step


@dataclass(frozen=True)
class SignProposal:
    """Sign and broadcast ⟨PROPOSAL, height, round, block, pol_round⟩.

    ``pol_votes`` are the prevotes of round ``pol_round`` for the block that
    this validator saw: the driver relays them with the proposal. The paper
    assumes every message a correct process receives reaches every correct
    process; relaying the proof of lock is the part of that gossip that
    liveness needs when a faulty validator sent its prevote to only some.
    """

    height: int
    round: int
    block_hash: bytes
    pol_round: int
    pol_votes: tuple[Vote, ...] = ()


@dataclass(frozen=True)
class SignVote:
    """Sign and broadcast a prevote or precommit (``None`` is nil)."""

    type: VoteType
    height: int
    round: int
    block_hash: bytes | None


@dataclass(frozen=True)
class ScheduleTimeout:
    """Report TimeoutElapsed(step, height, round) after ``duration_ms``."""

    step: Step
    height: int
    round: int
    duration_ms: int


@dataclass(frozen=True)
class RequestProposal:
    """Ask the application for a block to propose (getValue(), line 18)."""

    height: int
    round: int


@dataclass(frozen=True)
class RequestValidation:
    """Ask the application whether a proposed block is valid (valid(v))."""

    height: int
    round: int
    block_hash: bytes


@dataclass(frozen=True)
class Decide:
    """``block_hash`` is decided at ``height``; ``commit`` proves it."""

    height: int
    round: int
    block_hash: bytes
    commit: Commit


@dataclass(frozen=True)
class ReportEvidence:
    """A validator signed two conflicting votes; keep, gossip and include it."""

    evidence: DuplicateVoteEvidence


@dataclass(frozen=True)
class ReportRoundChange:
    height: int
    round: int
    reason: RoundReason


Output = (
    SignProposal
    | SignVote
    | ScheduleTimeout
    | RequestProposal
    | RequestValidation
    | Decide
    | ReportEvidence
    | ReportRoundChange
)
