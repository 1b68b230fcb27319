"""Step scripts for the pure core: each step an input, the exact outputs and
the expected state. Validator 0 is "us"; with equal powers the proposer of
(height, round) is validator (height + round) mod 4."""

from __future__ import annotations

from chain.keys import dev_key
from chain.votes import DuplicateVoteEvidence, Vote
from consensus.inputs import (
    BlockValidated,
    HeightReady,
    ProposalBuilt,
    ProposalReceived,
    TimeoutElapsed,
    VoteReceived,
)
from consensus.outputs import (
    Decide,
    ReportEvidence,
    ReportRoundChange,
    RequestProposal,
    RequestValidation,
    ScheduleTimeout,
    SignProposal,
    SignVote,
)
from consensus.proposer import proposer
from consensus.state import RoundReason
from consensus.state import Step as S
from tests.consensus.support import (
    KEYS,
    LOCKED_B,
    PRECOMMIT,
    PREVOTE,
    PREVOTED_B,
    READY_1,
    B,
    C,
    D,
    Step,
    V,
    block_hash,
    commit_of,
    core,
    precommit,
    prevote,
    proposal,
    run_script,
    started,
    timeout,
    vote,
)


def test_proposer_is_round_robin_in_key_order() -> None:
    for h in range(1, 5):
        for r in range(4):
            assert proposer(V, h, r) == KEYS[(h + r) % 4].public


def test_happy_path() -> None:
    run_script(
        core(),
        LOCKED_B
        + [
            Step("our precommit comes back", precommit(0, 0, B), []),
            Step("precommit B from 1", precommit(1, 0, B), []),
            Step(
                "L49-51: 2f+1 precommits for B with its proposal: decide",
                precommit(2, 0, B),
                [Decide(1, 0, B, commit_of(0, B, [0, 1, 2]))],
                {"step": S.COMMIT, "decision": B},
            ),
            Step("a fourth precommit changes nothing", precommit(3, 0, B), []),
            Step(
                "L52-54: the application is ready for height 2: reset, round 0",
                HeightReady(2, V, V),
                started(2, 0, RoundReason.NEW_HEIGHT),
                {
                    "height": 2,
                    "round": 0,
                    "step": S.PROPOSE,
                    "locked_value": None,
                    "locked_round": -1,
                    "valid_value": None,
                    "decision": None,
                },
            ),
        ],
    )


def test_proposer_builds_then_proposes() -> None:
    run_script(
        core(us=1),
        [
            Step(
                "L14-18: we propose round 0 and have no valid value: getValue()",
                READY_1,
                [
                    ReportRoundChange(1, 0, RoundReason.NEW_HEIGHT),
                    RequestProposal(1, 0),
                    timeout(S.PROPOSE, 1, 0),
                ],
            ),
            Step(
                "a block for another round is ignored",
                ProposalBuilt(1, 3, C),
                [],
            ),
            Step(
                "L19: the block is built: propose it with validRound -1",
                ProposalBuilt(1, 0, B),
                [SignProposal(1, 0, B, -1)],
            ),
            Step("a second build answer is ignored", ProposalBuilt(1, 0, C), []),
            Step(
                "L22-24: our own proposal comes back; it is valid by construction",
                ProposalReceived(proposal(1, 1, 0, B)),
                [SignVote(PREVOTE, 1, 0, B)],
                {"step": S.PREVOTE},
            ),
        ],
    )


def test_nil_precommits_and_timeouts_at_each_step() -> None:
    run_script(
        core(),
        [
            Step("start", READY_1, started(1, 0, RoundReason.NEW_HEIGHT)),
            Step(
                "L57-60: timeoutPropose: prevote nil",
                TimeoutElapsed(S.PROPOSE, 1, 0),
                [SignVote(PREVOTE, 1, 0, None)],
                {"step": S.PREVOTE},
            ),
            Step(
                "the same timeout again is stale", TimeoutElapsed(S.PROPOSE, 1, 0), []
            ),
            Step("timeout of another height", TimeoutElapsed(S.PREVOTE, 2, 0), []),
            Step("prevote B from 1", prevote(1, 0, B), []),
            Step("prevote nil from 2", prevote(2, 0, None), []),
            Step(
                "L34-35: 2f+1 mixed prevotes: schedule timeoutPrevote only",
                prevote(3, 0, C),
                [timeout(S.PREVOTE, 1, 0)],
            ),
            Step(
                "L61-64: timeoutPrevote: precommit nil",
                TimeoutElapsed(S.PREVOTE, 1, 0),
                [SignVote(PRECOMMIT, 1, 0, None)],
                {"step": S.PRECOMMIT, "locked_value": None},
            ),
            Step("timeoutPrevote again is stale", TimeoutElapsed(S.PREVOTE, 1, 0), []),
            Step("precommit nil from 1", precommit(1, 0, None), []),
            Step("precommit nil from 2", precommit(2, 0, None), []),
            Step(
                "L47-48: 2f+1 precommits: schedule timeoutPrecommit",
                precommit(3, 0, None),
                [timeout(S.PRECOMMIT, 1, 0)],
            ),
            Step(
                "L65-67: next round with longer timeouts",
                TimeoutElapsed(S.PRECOMMIT, 1, 0),
                [
                    ReportRoundChange(1, 1, RoundReason.TIMEOUT_PRECOMMIT),
                    ScheduleTimeout(S.PROPOSE, 1, 1, 1500),
                ],
                {"round": 1, "step": S.PROPOSE},
            ),
        ],
    )


def test_nil_polka_precommits_nil() -> None:
    run_script(
        core(),
        [
            Step("start", READY_1, started(1, 0, RoundReason.NEW_HEIGHT)),
            Step(
                "timeout propose",
                TimeoutElapsed(S.PROPOSE, 1, 0),
                [SignVote(PREVOTE, 1, 0, None)],
            ),
            Step("prevote nil from 1", prevote(1, 0, None), []),
            Step("prevote nil from 2", prevote(2, 0, None), []),
            Step(
                "L44-46: 2f+1 prevotes for nil: precommit nil",
                prevote(3, 0, None),
                [timeout(S.PREVOTE, 1, 0), SignVote(PRECOMMIT, 1, 0, None)],
                {"step": S.PRECOMMIT},
            ),
        ],
    )


def test_invalid_proposal_gets_nil_prevote() -> None:
    run_script(
        core(),
        [
            Step("start", READY_1, started(1, 0, RoundReason.NEW_HEIGHT)),
            Step(
                "proposal B",
                ProposalReceived(proposal(1, 1, 0, B)),
                [RequestValidation(1, 0, B)],
            ),
            Step(
                "L23, L26: not valid(v): prevote nil",
                BlockValidated(1, B, False),
                [SignVote(PREVOTE, 1, 0, None)],
            ),
            Step("prevote B from 1", prevote(1, 0, B), []),
            Step("prevote B from 2", prevote(2, 0, B), []),
            Step(
                "a polka for an invalid block locks nothing (L36: valid(v))",
                prevote(3, 0, B),
                [timeout(S.PREVOTE, 1, 0)],
                {"step": S.PREVOTE, "locked_value": None},
            ),
            Step("precommit B from 1", precommit(1, 0, B), []),
            Step("precommit B from 2", precommit(2, 0, B), []),
            Step(
                "2f+1 precommits for an invalid block decide nothing (L50)",
                precommit(3, 0, B),
                [timeout(S.PRECOMMIT, 1, 0)],
                {"decision": None},
            ),
        ],
    )


def test_round_skip_on_f_plus_one() -> None:
    run_script(
        core(),
        [
            Step("start", READY_1, started(1, 0, RoundReason.NEW_HEIGHT)),
            Step("one validator in round 5 is not enough", prevote(1, 5, None), []),
            Step("its precommit adds no power", precommit(1, 5, None), []),
            Step(
                "L55-56: f+1 power in round 5: StartRound(5)",
                prevote(2, 5, None),
                started(1, 5, RoundReason.ROUND_SKIP),
                {"round": 5, "step": S.PROPOSE},
            ),
            Step("a third prevote of round 5", prevote(3, 5, None), []),
            Step(
                "the buffered votes were counted: our nil prevote meets 2f+1 nil",
                TimeoutElapsed(S.PROPOSE, 1, 5),
                [
                    SignVote(PREVOTE, 1, 5, None),
                    timeout(S.PREVOTE, 1, 5),
                    SignVote(PRECOMMIT, 1, 5, None),
                ],
            ),
            Step(
                "a proposal for a later round is buffered, not used",
                ProposalReceived(proposal(3, 1, 6, B)),
                [],
            ),
            Step("a vote of an earlier round is counted quietly", prevote(1, 2, B), []),
        ],
    )


def test_late_precommits_decide_an_earlier_round() -> None:
    run_script(
        core(),
        [
            Step("start", READY_1, started(1, 0, RoundReason.NEW_HEIGHT)),
            Step(
                "proposal B",
                ProposalReceived(proposal(1, 1, 0, B)),
                [RequestValidation(1, 0, B)],
            ),
            Step(
                "propose times out first",
                TimeoutElapsed(S.PROPOSE, 1, 0),
                [SignVote(PREVOTE, 1, 0, None)],
            ),
            Step("validation arrives late", BlockValidated(1, B, True), []),
            Step("precommit B from 1", precommit(1, 0, B), []),
            Step("precommit B from 2", precommit(2, 0, B), []),
            Step(
                "our nil precommit",
                TimeoutElapsed(S.PREVOTE, 1, 0),
                [SignVote(PRECOMMIT, 1, 0, None)],
            ),
            Step(
                "it comes back: 2f+1 of any kind",
                precommit(0, 0, None),
                [timeout(S.PRECOMMIT, 1, 0)],
            ),
            Step(
                "round 1",
                TimeoutElapsed(S.PRECOMMIT, 1, 0),
                started(1, 1, RoundReason.TIMEOUT_PRECOMMIT),
            ),
            Step(
                "L49: a late third precommit for B in round 0 decides B",
                precommit(3, 0, B),
                [Decide(1, 0, B, commit_of(0, B, [1, 2, 3]))],
                {"decision": B, "step": S.COMMIT},
            ),
        ],
    )


def test_duplicate_and_misdirected_messages_are_ignored() -> None:
    ours = vote(0, PREVOTE, 1, 0, B)
    outsider = dev_key("outsider")
    foreign = Vote(PREVOTE, 1, 0, B, 1_000, outsider.public).signed(outsider, "x")
    run_script(
        core(),
        PREVOTED_B
        + [
            Step("prevote B from 1", prevote(1, 0, B), []),
            Step("the same prevote again", prevote(1, 0, B), []),
            Step("a prevote from a non-validator", VoteReceived(foreign), []),
            Step(
                "a prevote of a far height",
                prevote(2, 0, B, height=7),
                [],
            ),
            Step(
                "a proposal from a validator that is not the proposer",
                ProposalReceived(proposal(2, 1, 0, C)),
                [],
            ),
            Step("our own prevote", VoteReceived(ours), []),
            Step(
                "the duplicate did not count twice: two more make the polka",
                prevote(2, 0, B),
                [timeout(S.PREVOTE, 1, 0), SignVote(PRECOMMIT, 1, 0, B)],
            ),
        ],
    )


def test_equivocation_becomes_evidence() -> None:
    first, second = vote(1, PREVOTE, 1, 0, B), vote(1, PREVOTE, 1, 0, C)
    run_script(
        core(),
        [
            Step("start", READY_1, started(1, 0, RoundReason.NEW_HEIGHT)),
            Step("prevote B from 1", VoteReceived(first), []),
            Step(
                "prevote C from 1 in the same round: evidence, not counted",
                VoteReceived(second),
                [ReportEvidence(DuplicateVoteEvidence.of(first, second))],
            ),
            Step(
                "a third conflicting vote is not reported again", prevote(1, 0, D), []
            ),
            Step("prevote C from 2", prevote(2, 0, C), []),
            Step("prevote C from 3", prevote(3, 0, C), [], {"step": S.PROPOSE}),
            Step(
                "1 counts for each value it signed: a polka for C, but no proposal",
                TimeoutElapsed(S.PROPOSE, 1, 0),
                [SignVote(PREVOTE, 1, 0, None), timeout(S.PREVOTE, 1, 0)],
                {"locked_value": None},
            ),
        ],
    )


def test_next_height_messages_are_buffered_and_replayed() -> None:
    run_script(
        core(),
        [
            Step("start", READY_1, started(1, 0, RoundReason.NEW_HEIGHT)),
            Step(
                "proposal of height 2 arrives early",
                ProposalReceived(proposal(2, 2, 0, C)),
                [],
            ),
            Step(
                "proposal of height 3 is too early",
                ProposalReceived(proposal(3, 3, 0, D)),
                [],
            ),
            Step(
                "height 2 starts and the early proposal is replayed",
                HeightReady(2, V, V),
                started(2, 0, RoundReason.NEW_HEIGHT) + [RequestValidation(2, 0, C)],
            ),
            Step(
                "height 3 starts: nothing was kept for it",
                HeightReady(3, V, V),
                started(3, 0, RoundReason.NEW_HEIGHT),
            ),
            Step(
                "an old HeightReady is ignored", HeightReady(2, V, V), [], {"height": 3}
            ),
        ],
    )


def test_next_height_buffer_is_bounded_per_sender() -> None:
    c = core()
    c.handle(READY_1)
    for r in range(50):
        c.handle(prevote(1, r, block_hash(str(r)), height=2))
    c.handle(prevote(2, 0, B, height=2))
    assert len(c._next) == 8 + 1


def test_restart_resumes_round_step_and_lock() -> None:
    own = (
        vote(0, PREVOTE, 1, 1, None),
        vote(0, PREVOTE, 1, 2, B),
        vote(0, PRECOMMIT, 1, 2, B),
    )
    run_script(
        core(),
        [
            Step(
                "resume at round 2 after our precommit for B",
                HeightReady(1, V, V, own),
                [ReportRoundChange(1, 2, RoundReason.RESTORED)],
                {
                    "round": 2,
                    "step": S.PRECOMMIT,
                    "locked_value": B,
                    "locked_round": 2,
                    "valid_value": B,
                },
            ),
            Step(
                "L15-16: in our round 3 we re-propose the restored valid value",
                TimeoutElapsed(S.PRECOMMIT, 1, 2),
                [
                    ReportRoundChange(1, 3, RoundReason.TIMEOUT_PRECOMMIT),
                    SignProposal(1, 3, B, 2, (vote(0, PREVOTE, 1, 2, B),)),
                    timeout(S.PROPOSE, 1, 3),
                ],
            ),
        ],
    )


def test_restart_after_own_proposal_prevotes_it() -> None:
    run_script(
        core(),
        [
            Step(
                "resume after proposing B in round 3 (our round)",
                HeightReady(1, V, V, (proposal(0, 1, 3, B),)),
                [
                    ReportRoundChange(1, 3, RoundReason.RESTORED),
                    timeout(S.PROPOSE, 1, 3),
                    SignVote(PREVOTE, 1, 3, B),
                ],
                {"round": 3, "step": S.PREVOTE},
            ),
        ],
    )


def test_restart_after_prevote_only() -> None:
    run_script(
        core(),
        [
            Step(
                "resume after a nil prevote in round 1",
                HeightReady(1, V, V, (vote(0, PREVOTE, 1, 1, None),)),
                [ReportRoundChange(1, 1, RoundReason.RESTORED)],
                {"round": 1, "step": S.PREVOTE, "locked_value": None},
            ),
            Step("prevote nil from 1", prevote(1, 1, None), []),
            Step(
                "our restored prevote counts toward the nil polka",
                prevote(2, 1, None),
                [timeout(S.PREVOTE, 1, 1), SignVote(PRECOMMIT, 1, 1, None)],
            ),
        ],
    )


def test_inputs_before_the_first_height_are_ignored() -> None:
    c = core()
    assert c.handle(prevote(1, 0, B)) == []
    assert c.handle(TimeoutElapsed(S.PROPOSE, 1, 0)) == []
    assert c.state is None and c.height == 0
