"""Weighted round-robin proposer selection."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.proposer import proposer
from tests.consensus.support import make_validators

powers_lists = st.lists(st.integers(1, 12), min_size=1, max_size=9)


@given(powers_lists, st.integers(1, 10**12))
@settings(max_examples=60, deadline=None)
def test_each_validator_proposes_its_power_per_cycle(
    powers: list[int], start: int
) -> None:
    validators, _ = make_validators(powers)
    total = validators.total_power
    seen = Counter(proposer(validators, start + k, 0) for k in range(total))
    assert seen == {v.key: v.power for v in validators}


@given(powers_lists, st.integers(1, 1000), st.integers(0, 50))
@settings(max_examples=60, deadline=None)
def test_depends_on_height_plus_round_only(
    powers: list[int], height: int, round: int
) -> None:
    validators, _ = make_validators(powers)
    assert proposer(validators, height, round) == proposer(
        validators, height + round, 0
    )


def longest_run(order: list[bytes], key: bytes) -> int:
    best = run = 0
    for k in order:
        run = run + 1 if k == key else 0
        best = max(best, run)
    return best


def test_heavier_validator_is_spread_not_bunched() -> None:
    validators, _ = make_validators([2, 1, 1])
    heavy = next(v.key for v in validators if v.power == 2)
    order = [proposer(validators, k, 0) for k in range(40)]
    assert order.count(heavy) == 20
    assert longest_run(order, heavy) == 1
    validators, _ = make_validators([10, 1, 1, 1])
    heavy = next(v.key for v in validators if v.power == 10)
    order = [proposer(validators, k, 0) for k in range(130)]
    assert longest_run(order, heavy) <= 5  # bunched would be 10


def test_large_powers_stay_fast_and_exact() -> None:
    validators, _ = make_validators([2**40, 3, 2**39 + 1, 7])
    keys = {proposer(validators, h, r) for h in range(1, 50) for r in range(3)}
    assert keys <= {v.key for v in validators}
