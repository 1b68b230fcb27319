"""Inputs of the core: facts the driver reports.

Messages arrive already signature-checked by the driver; the core checks
everything else (height, round, membership, proposer, pol_round).
"""

from __future__ import annotations

from dataclasses import dataclass

from chain.validators import ValidatorSet
from chain.votes import Proposal, Vote
from consensus.state import Step

Message = Vote | Proposal


@dataclass(frozen=True)
class HeightReady:
    """The application committed ``height - 1`` and is ready for ``height``.

    ``next_validators`` is the set for ``height + 1`` (known one height ahead
    because set changes take effect two heights after the block deciding
    them); messages for ``height + 1`` are buffered against it.
    ``own_messages`` are this validator's signed messages at ``height`` from
    the write-ahead log: after a restart the core resumes from them.
    """

    height: int
    validators: ValidatorSet
    next_validators: ValidatorSet
    own_messages: tuple[Message, ...] = ()


@dataclass(frozen=True)
class ProposalReceived:
    proposal: Proposal


@dataclass(frozen=True)
class VoteReceived:
    vote: Vote


@dataclass(frozen=True)
class TimeoutElapsed:
    step: Step  # PROPOSE, PREVOTE or PRECOMMIT
    height: int
    round: int


@dataclass(frozen=True)
class ProposalBuilt:
    """The application built the block asked for by RequestProposal."""

    height: int
    round: int
    block_hash: bytes


@dataclass(frozen=True)
class BlockValidated:
    """The application checked (and speculatively executed) a proposed block."""

    height: int
    block_hash: bytes
    valid: bool


Input = (
    HeightReady
    | ProposalReceived
    | VoteReceived
    | TimeoutElapsed
    | ProposalBuilt
    | BlockValidated
)
