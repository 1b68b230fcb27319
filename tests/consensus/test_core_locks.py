"""Step scripts for locks in the pure core: locking, proof-of-lock rounds
and the valid value a proposer proposes again. Validator 0 is "us"; with
equal powers the proposer of (height, round) is validator (height + round)
mod 4."""

from __future__ import annotations

from consensus.inputs import (
    BlockValidated,
    ProposalReceived,
    TimeoutElapsed,
)
from consensus.outputs import (
    ReportRoundChange,
    RequestProposal,
    RequestValidation,
    SignProposal,
    SignVote,
)
from consensus.state import RoundReason
from consensus.state import Step as S
from tests.consensus.support import (
    LOCKED_B,
    PRECOMMIT,
    PREVOTE,
    READY_1,
    B,
    C,
    Step,
    core,
    precommit,
    prevote,
    proposal,
    run_script,
    started,
    timeout,
    vote,
)


def test_locked_validator_prevotes_nil_then_relocks_on_later_polka() -> None:
    run_script(
        core(),
        LOCKED_B
        + [
            Step("precommit nil from 1", precommit(1, 0, None), []),
            Step("precommit nil from 2", precommit(2, 0, None), []),
            Step(
                "L47-48: 2f+1 precommits of any kind: schedule timeoutPrecommit",
                precommit(0, 0, B),
                [timeout(S.PRECOMMIT, 1, 0)],
            ),
            Step(
                "L65-67: timeoutPrecommit: round 1, lock kept",
                TimeoutElapsed(S.PRECOMMIT, 1, 0),
                started(1, 1, RoundReason.TIMEOUT_PRECOMMIT),
                {"round": 1, "step": S.PROPOSE, "locked_value": B},
            ),
            Step(
                "fresh proposal C in round 1",
                ProposalReceived(proposal(2, 1, 1, C)),
                [RequestValidation(1, 1, C)],
            ),
            Step(
                "L23, L26: C is valid but we are locked on B: prevote nil",
                BlockValidated(1, C, True),
                [SignVote(PREVOTE, 1, 1, None)],
                {"step": S.PREVOTE, "locked_value": B},
            ),
            Step("prevote C from 1", prevote(1, 1, C), []),
            Step("prevote C from 2", prevote(2, 1, C), []),
            Step(
                "L36-43: a polka for C in the later round: unlock B, lock C",
                prevote(3, 1, C),
                [timeout(S.PREVOTE, 1, 1), SignVote(PRECOMMIT, 1, 1, C)],
                {
                    "step": S.PRECOMMIT,
                    "locked_value": C,
                    "locked_round": 1,
                    "valid_value": C,
                    "valid_round": 1,
                },
            ),
        ],
    )


def test_proof_of_lock_round_unlocks() -> None:
    run_script(
        core(),
        LOCKED_B
        + [
            Step(
                "round 0 ends without a decision",
                TimeoutElapsed(S.PRECOMMIT, 1, 0),
                started(1, 1, RoundReason.TIMEOUT_PRECOMMIT),
            ),
            Step(
                "L57-60: no proposal in round 1: prevote nil",
                TimeoutElapsed(S.PROPOSE, 1, 1),
                [SignVote(PREVOTE, 1, 1, None)],
            ),
            Step("prevote C from 1 (round 1)", prevote(1, 1, C), []),
            Step("prevote C from 2 (round 1)", prevote(2, 1, C), []),
            Step(
                "a polka for C, but we never saw C's proposal: only L34",
                prevote(3, 1, C),
                [timeout(S.PREVOTE, 1, 1)],
                {"locked_value": B, "locked_round": 0},
            ),
            Step(
                "L61-64: timeoutPrevote: precommit nil",
                TimeoutElapsed(S.PREVOTE, 1, 1),
                [SignVote(PRECOMMIT, 1, 1, None)],
            ),
            Step(
                "round 1 ends",
                TimeoutElapsed(S.PRECOMMIT, 1, 1),
                started(1, 2, RoundReason.TIMEOUT_PRECOMMIT),
            ),
            Step(
                "round 2 proposes C with proof-of-lock round 1",
                ProposalReceived(proposal(3, 1, 2, C, pol_round=1)),
                [RequestValidation(1, 2, C)],
            ),
            Step(
                "L28-30: polka for C in round 1 >= lockedRound 0: prevote C",
                BlockValidated(1, C, True),
                [SignVote(PREVOTE, 1, 2, C)],
                {"step": S.PREVOTE, "locked_value": B, "locked_round": 0},
            ),
        ],
    )


def test_proof_of_lock_older_than_lock_is_refused() -> None:
    run_script(
        core(),
        [
            Step("start", READY_1, started(1, 0, RoundReason.NEW_HEIGHT)),
            Step(
                "timeout propose",
                TimeoutElapsed(S.PROPOSE, 1, 0),
                [SignVote(PREVOTE, 1, 0, None)],
            ),
            Step("prevote C from 1", prevote(1, 0, C), []),
            Step("prevote C from 2", prevote(2, 0, C), []),
            Step("prevote C from 3", prevote(3, 0, C), [timeout(S.PREVOTE, 1, 0)]),
            Step(
                "timeout prevote",
                TimeoutElapsed(S.PREVOTE, 1, 0),
                [SignVote(PRECOMMIT, 1, 0, None)],
            ),
            Step(
                "round 1",
                TimeoutElapsed(S.PRECOMMIT, 1, 0),
                started(1, 1, RoundReason.TIMEOUT_PRECOMMIT),
            ),
            Step(
                "proposal B",
                ProposalReceived(proposal(2, 1, 1, B)),
                [RequestValidation(1, 1, B)],
            ),
            Step("prevote B", BlockValidated(1, B, True), [SignVote(PREVOTE, 1, 1, B)]),
            Step("prevote B from 1", prevote(1, 1, B), []),
            Step("prevote B from 2", prevote(2, 1, B), []),
            Step(
                "lock B in round 1",
                prevote(3, 1, B),
                [timeout(S.PREVOTE, 1, 1), SignVote(PRECOMMIT, 1, 1, B)],
                {"locked_value": B, "locked_round": 1},
            ),
            Step(
                "round 2",
                TimeoutElapsed(S.PRECOMMIT, 1, 1),
                started(1, 2, RoundReason.TIMEOUT_PRECOMMIT),
            ),
            Step(
                "C re-proposed with proof of lock round 0",
                ProposalReceived(proposal(3, 1, 2, C, pol_round=0)),
                [RequestValidation(1, 2, C)],
            ),
            Step(
                "L29, L32: locked in round 1 > 0 on B: prevote nil",
                BlockValidated(1, C, True),
                [SignVote(PREVOTE, 1, 2, None)],
                {"locked_value": B, "locked_round": 1},
            ),
        ],
    )


def test_skip_to_own_round_reproposes_nothing_without_valid_value() -> None:
    run_script(
        core(),
        [
            Step("start", READY_1, started(1, 0, RoundReason.NEW_HEIGHT)),
            Step("validator 1 in round 3", prevote(1, 3, None), []),
            Step(
                "L55, L14-18: we propose round 3: getValue()",
                prevote(2, 3, None),
                [
                    ReportRoundChange(1, 3, RoundReason.ROUND_SKIP),
                    RequestProposal(1, 3),
                    timeout(S.PROPOSE, 1, 3),
                ],
            ),
        ],
    )


def test_valid_value_is_reproposed() -> None:
    run_script(
        core(),
        LOCKED_B
        + [
            Step(
                "round 1",
                TimeoutElapsed(S.PRECOMMIT, 1, 0),
                started(1, 1, RoundReason.TIMEOUT_PRECOMMIT),
            ),
            Step(
                "timeout propose",
                TimeoutElapsed(S.PROPOSE, 1, 1),
                [SignVote(PREVOTE, 1, 1, None)],
            ),
            Step(
                "timeout prevote",
                TimeoutElapsed(S.PREVOTE, 1, 1),
                [SignVote(PRECOMMIT, 1, 1, None)],
            ),
            Step(
                "round 2",
                TimeoutElapsed(S.PRECOMMIT, 1, 1),
                started(1, 2, RoundReason.TIMEOUT_PRECOMMIT),
            ),
            Step(
                "timeout propose",
                TimeoutElapsed(S.PROPOSE, 1, 2),
                [SignVote(PREVOTE, 1, 2, None)],
            ),
            Step(
                "timeout prevote",
                TimeoutElapsed(S.PREVOTE, 1, 2),
                [SignVote(PRECOMMIT, 1, 2, None)],
            ),
            Step(
                "L15-16, L19: our round; propose validValue B with validRound 0",
                TimeoutElapsed(S.PRECOMMIT, 1, 2),
                [
                    ReportRoundChange(1, 3, RoundReason.TIMEOUT_PRECOMMIT),
                    SignProposal(
                        1, 3, B, 0, tuple(vote(i, PREVOTE, 1, 0, B) for i in range(3))
                    ),
                    timeout(S.PROPOSE, 1, 3),
                ],
            ),
            Step(
                "L28-30: our re-proposal comes back; polka of round 0 is known",
                ProposalReceived(proposal(0, 1, 3, B, pol_round=0)),
                [SignVote(PREVOTE, 1, 3, B)],
            ),
        ],
    )
