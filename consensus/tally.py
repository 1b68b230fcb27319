"""The votes of one height, by round and type, weighted by voting power.

Invariants:

1. Only validators of the height's set are counted, each at most once per
   (round, type): the first vote counts, and a later identical vote is a
   duplicate.
2. A second vote of one validator at one (round, type) for another value is
   equivocation: it is not counted, and it is returned as
   DuplicateVoteEvidence, once per (validator, round, type).
3. Quorum and f+1 thresholds come from the ValidatorSet (integer arithmetic).
"""

from __future__ import annotations

from enum import Enum

from chain.validators import ValidatorSet
from chain.votes import DuplicateVoteEvidence, Vote, VoteType

Slot = tuple[int, VoteType]


class AddResult(Enum):
    ADDED = "added"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    NOT_A_VALIDATOR = "not_a_validator"


class VoteTally:
    def __init__(self, validators: ValidatorSet) -> None:
        self.validators = validators
        self._votes: dict[Slot, dict[bytes, Vote]] = {}
        self._power: dict[Slot, dict[bytes | None, int]] = {}
        self._total: dict[Slot, int] = {}
        self._reported: set[tuple[bytes, int, VoteType]] = set()
        self._precommit_quorums: list[tuple[int, bytes]] = []

    def add(self, vote: Vote) -> tuple[AddResult, DuplicateVoteEvidence | None]:
        power = self.validators.power_of(vote.validator)
        if power == 0:
            return AddResult.NOT_A_VALIDATOR, None
        slot = (vote.round, vote.type)
        by_validator = self._votes.setdefault(slot, {})
        first = by_validator.get(vote.validator)
        if first is not None:
            if first.block_hash == vote.block_hash:
                return AddResult.DUPLICATE, None
            key = (vote.validator, vote.round, vote.type)
            if key in self._reported:
                return AddResult.CONFLICT, None
            self._reported.add(key)
            return AddResult.CONFLICT, DuplicateVoteEvidence.of(first, vote)
        by_validator[vote.validator] = vote
        powers = self._power.setdefault(slot, {})
        before = powers.get(vote.block_hash, 0)
        powers[vote.block_hash] = before + power
        self._total[slot] = self._total.get(slot, 0) + power
        if (
            vote.type == VoteType.PRECOMMIT
            and vote.block_hash is not None
            and not self.validators.is_quorum(before)
            and self.validators.is_quorum(before + power)
        ):
            self._precommit_quorums.append((vote.round, vote.block_hash))
        return AddResult.ADDED, None

    def power(self, round: int, type: VoteType, value: bytes | None) -> int:
        return self._power.get((round, type), {}).get(value, 0)

    def has_quorum(self, round: int, type: VoteType, value: bytes | None) -> bool:
        """More than 2/3 of the power voted ``value`` (2f+1 ⟨type, round, v⟩)."""
        return self.validators.is_quorum(self.power(round, type, value))

    def has_quorum_any(self, round: int, type: VoteType) -> bool:
        """More than 2/3 of the power voted anything (2f+1 ⟨type, round, *⟩)."""
        return self.validators.is_quorum(self._total.get((round, type), 0))

    def quorum_values(self, round: int, type: VoteType) -> list[bytes | None]:
        """Values with a quorum; more than one only if > 1/3 equivocated."""
        powers = self._power.get((round, type), {})
        return [v for v, p in powers.items() if self.validators.is_quorum(p)]

    def votes_for(self, round: int, type: VoteType, value: bytes | None) -> list[Vote]:
        votes = self._votes.get((round, type), {}).values()
        return [v for v in votes if v.block_hash == value]

    def precommit_quorums(self) -> list[tuple[int, bytes]]:
        """(round, value) pairs with precommits of a quorum, in order found."""
        return list(self._precommit_quorums)
