"""Shared builders for the consensus tests: keys, a validator set, signed
votes and proposals, and a step-script runner for the pure core."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from chain.hashing import sha256
from chain.keys import PrivateKey, dev_key
from chain.validators import Validator, ValidatorSet
from chain.votes import Commit, Proposal, Vote, VoteType
from consensus.core import Consensus
from consensus.inputs import (
    BlockValidated,
    HeightReady,
    Input,
    ProposalReceived,
    VoteReceived,
)
from consensus.outputs import (
    Output,
    ReportRoundChange,
    RequestValidation,
    ScheduleTimeout,
    SignVote,
)
from consensus.state import RoundReason
from consensus.state import Step as S
from consensus.timeouts import TimeoutParams

CHAIN = "egov-test"
PREVOTE, PRECOMMIT = VoteType.PREVOTE, VoteType.PRECOMMIT
TIMEOUTS = TimeoutParams(
    propose_ms=1000,
    prevote_ms=500,
    precommit_ms=500,
    delta_ms=500,
    max_ms=10_000,
    empty_block_interval_ms=0,
)


def block_hash(name: str) -> bytes:
    return sha256(name.encode())


B, C, D = block_hash("B"), block_hash("C"), block_hash("D")


def make_validators(
    powers: Sequence[int], prefix: str = "validator"
) -> tuple[ValidatorSet, list[PrivateKey]]:
    """A validator set with ``powers``; keys are returned in set order."""
    keys = [dev_key(f"{prefix}-{i}") for i in range(len(powers))]
    members = [
        Validator(f"v{i}", power, k.public, dev_key(f"node-{prefix}-{i}").public)
        for i, (power, k) in enumerate(zip(powers, keys, strict=True))
    ]
    valset = ValidatorSet(members)
    by_public = {k.public: k for k in keys}
    return valset, [by_public[v.key] for v in valset]


VALIDATORS, KEYS = make_validators([1, 1, 1, 1])


def vote(
    signer: int,
    type: VoteType,
    height: int,
    round: int,
    value: bytes | None,
    timestamp: int = 1_000,
) -> Vote:
    key = KEYS[signer]
    return Vote(type, height, round, value, timestamp, key.public).signed(key, CHAIN)


def proposal(
    signer: int, height: int, round: int, value: bytes, pol_round: int = -1
) -> Proposal:
    key = KEYS[signer]
    return Proposal(height, round, value, pol_round, key.public).signed(key, CHAIN)


@dataclass
class Step:
    """One step of a script: feed ``input``, expect exactly ``outputs`` and
    the listed fields of the RoundState."""

    description: str
    input: Input
    outputs: list[Output]
    state: dict[str, Any] = field(default_factory=dict)


def run_script(core: Consensus, steps: Sequence[Step]) -> None:
    for number, step in enumerate(steps, 1):
        where = f"step {number} ({step.description})"
        got = core.handle(step.input)
        assert got == step.outputs, (
            f"{where}: outputs\n  got  {got}\n  want {step.outputs}"
        )
        state = core.state
        assert state is not None, where
        known = {f.name for f in fields(state)}
        for name, want in step.state.items():
            assert name in known, f"{where}: no state field {name}"
            have = getattr(state, name)
            assert have == want, f"{where}: {name} is {have!r}, want {want!r}"


# --- step scripts: the inputs and outputs they repeat ----------------------------

V = VALIDATORS
READY_1 = HeightReady(1, V, V)


def core(us: int = 0) -> Consensus:
    return Consensus(KEYS[us].public, TIMEOUTS)


def timeout(step: S, height: int, round: int) -> ScheduleTimeout:
    return ScheduleTimeout(step, height, round, TIMEOUTS.duration(step, round))


def started(height: int, round: int, reason: RoundReason) -> list[object]:
    return [ReportRoundChange(height, round, reason), timeout(S.PROPOSE, height, round)]


def prevote(signer: int, round: int, value: bytes | None, height: int = 1):
    return VoteReceived(vote(signer, PREVOTE, height, round, value))


def precommit(signer: int, round: int, value: bytes | None, height: int = 1):
    return VoteReceived(vote(signer, PRECOMMIT, height, round, value))


def commit_of(round: int, value: bytes, signers: list[int], height: int = 1):
    return Commit.from_votes(
        [vote(i, PRECOMMIT, height, round, value) for i in signers]
    )


# The first three steps of most scripts: height 1, proposal B, prevote B.
PREVOTED_B = [
    Step("start height 1", READY_1, started(1, 0, RoundReason.NEW_HEIGHT)),
    Step(
        "proposal B from the round-0 proposer: ask the application",
        ProposalReceived(proposal(1, 1, 0, B)),
        [RequestValidation(1, 0, B)],
        {"step": S.PROPOSE},
    ),
    Step(
        "L22-24: B is valid and we are not locked: prevote B",
        BlockValidated(1, B, True),
        [SignVote(PREVOTE, 1, 0, B)],
        {"step": S.PREVOTE},
    ),
]
LOCKED_B = PREVOTED_B + [
    Step("our prevote comes back", prevote(0, 0, B), []),
    Step("prevote B from 1", prevote(1, 0, B), []),
    Step(
        "L34 and L36-43: polka for B: lock, precommit B",
        prevote(2, 0, B),
        [timeout(S.PREVOTE, 1, 0), SignVote(PRECOMMIT, 1, 0, B)],
        {
            "step": S.PRECOMMIT,
            "locked_value": B,
            "locked_round": 0,
            "valid_value": B,
            "valid_round": 0,
        },
    ),
]
