"""Weighted round-robin proposer selection, a pure function of (height, round).

Invariants:

1. Slot ``k = (height + round) mod P``, where P is the total voting power.
   Over any P consecutive slots each validator proposes exactly as many
   times as it has power.
2. Turns are spread evenly rather than bunched. With n validators in their
   canonical (key) order, validator j of power p has its i-th turn of a
   cycle at position (i + (2j + 1) / (2n)) / p in [0, 1); the cycle is every
   turn of every validator sorted by position, ties broken by key order.
   Equal powers give plain round robin in key order; with powers 10, 1, 1, 1
   the three light validators fall at three different places of the cycle
   instead of all in a row.
3. Only integer arithmetic, so every node computes the same proposer.

The k-th turn is found without walking the cycle: binary search over a grid
of step 1/(4 n P^2), finer than the smallest gap 1/(2 n P^2) between two
distinct positions, for the first grid point by which k + 1 turns have
passed.
"""

from __future__ import annotations

from functools import lru_cache

from chain.validators import ValidatorSet


def proposer(validators: ValidatorSet, height: int, round: int) -> bytes:
    """The key of the validator that proposes at ``height`` and ``round``."""
    return _turn(validators, (height + round) % validators.total_power)


def _turns_by(validators: ValidatorSet, a: int, grid: int) -> list[int]:
    """Per validator, how many of its turns sit at positions <= a / grid."""
    n = len(validators)
    # Turn i of validator j (power p) sits at (2ni + 2j + 1) / (2np), which is
    # <= a / grid  <=>  i <= (2npa - (2j+1) grid) / (2n grid).
    return [
        min(
            v.power,
            (2 * n * v.power * a + (2 * n - 2 * j - 1) * grid) // (2 * n * grid),
        )
        for j, v in enumerate(validators)
    ]


@lru_cache(maxsize=4096)
def _turn(validators: ValidatorSet, slot: int) -> bytes:
    total = validators.total_power
    grid = 4 * len(validators) * total * total
    lo, hi = 0, grid  # every turn sits below position 1 = grid / grid
    while lo < hi:
        mid = (lo + hi) // 2
        if sum(_turns_by(validators, mid, grid)) >= slot + 1:
            hi = mid
        else:
            lo = mid + 1
    before = _turns_by(validators, lo - 1, grid)
    at = _turns_by(validators, lo, grid)
    tied = [v.key for v, b, a in zip(validators, before, at, strict=True) if a > b]
    return tied[slot - sum(before)]
