"""Timeout growth and cap; the vote tally's thresholds."""

from __future__ import annotations

from chain.genesis import DEFAULT_CONSENSUS
from chain.votes import Vote, VoteType
from consensus.state import Step
from consensus.tally import AddResult, VoteTally
from consensus.timeouts import TimeoutParams
from tests.consensus.support import (
    PRECOMMIT,
    PREVOTE,
    VALIDATORS,
    B,
    C,
    make_validators,
    vote,
)


def test_timeouts_grow_by_delta_and_are_capped() -> None:
    t = TimeoutParams.from_consensus(DEFAULT_CONSENSUS)
    interval = DEFAULT_CONSENSUS["empty_block_interval_ms"]
    assert t.duration(Step.PROPOSE, 0) == 1000 + interval
    assert t.duration(Step.PROPOSE, 1) == 1500
    assert t.duration(Step.PREVOTE, 2) == 1500
    assert t.duration(Step.PRECOMMIT, 3) == 2000
    assert t.duration(Step.PRECOMMIT, 10**6) == 10_000
    assert t.duration(Step.PROPOSE, 10**9) == 10_000


def test_cap_below_base_keeps_base() -> None:
    t = TimeoutParams(propose_ms=3000, max_ms=1000)
    assert t.duration(Step.PROPOSE, 5) == 3000


def test_tally_weighted_thresholds() -> None:
    validators, keys = make_validators([5, 1, 1, 1], prefix="weighted")
    by_power = {v.key: v.power for v in validators}
    heavy = next(i for i, k in enumerate(keys) if by_power[k.public] == 5)
    tally = VoteTally(validators)

    def signed(i: int, value: bytes | None, type: VoteType = PREVOTE) -> Vote:
        k = keys[i]
        return Vote(type, 1, 0, value, 1, k.public).signed(k, "t")

    assert tally.add(signed(heavy, B))[0] == AddResult.ADDED
    assert not tally.has_quorum(0, PREVOTE, B)  # 5 of 8 is not > 2/3
    light = next(i for i in range(4) if i != heavy)
    tally.add(signed(light, B))
    assert tally.has_quorum(0, PREVOTE, B)  # 6 of 8
    assert tally.quorum_values(0, PREVOTE) == [B]
    assert tally.add(signed(light, B))[0] == AddResult.DUPLICATE
    result, evidence = tally.add(signed(light, C))
    assert result == AddResult.CONFLICT and evidence is not None
    assert tally.power(0, PREVOTE, C) == 1  # counted for each value it signed
    assert tally.power(0, PREVOTE, B) == 6
    for value in (b"x" * 32, b"y" * 32):
        assert tally.add(signed(light, value))[0] == AddResult.CONFLICT
    assert tally.add(signed(light, b"z" * 32))[0] == AddResult.OVER_LIMIT


def test_tally_refuses_outsiders_and_tracks_precommit_quorums() -> None:
    tally = VoteTally(VALIDATORS)
    outsider_set, outsider_keys = make_validators([1], prefix="outsider")
    k = outsider_keys[0]
    stray = Vote(PRECOMMIT, 1, 0, B, 1, k.public).signed(k, "t")
    assert tally.add(stray)[0] == AddResult.NOT_A_VALIDATOR
    for i in range(3):
        tally.add(vote(i, PRECOMMIT, 1, 0, B))
    assert tally.precommit_quorums() == [(0, B)]
    assert len(tally.votes_for(0, PRECOMMIT, B)) == 3
