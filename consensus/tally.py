"""The votes of one height, by round and type, weighted by voting power.

Invariants:

1. Only validators of the height's set are counted. A validator's power
   counts at most once per (round, type, value), and at most once per
   (round, type) toward "2f+1 of any value" (L34, L47).
2. As in the paper, "2f+1 ⟨PREVOTE, h, r, id(v)⟩" counts the distinct
   senders of messages for v. A validator that signed two values at one
   (round, type) therefore counts toward both: it is faulty, and the
   quorum arithmetic already allows f faulty validators to vote for
   anything. Counting only its first vote would let validators disagree
   on whether a proof of lock exists, depending on which vote reached them
   first, and stall them (a liveness bug, not a safety one).
3. The second value a validator signs at one (round, type) yields
   DuplicateVoteEvidence, once per (validator, round, type). At most
   MAX_VALUES_PER_VALIDATOR values per validator and (round, type) are
   kept, so a faulty validator cannot grow the tally without bound.
4. Quorum and f+1 thresholds come from the ValidatorSet (integer arithmetic).
"""

from __future__ import annotations

from enum import Enum

from chain.validators import ValidatorSet
from chain.votes import DuplicateVoteEvidence, Vote, VoteType

Slot = tuple[int, VoteType]
MAX_VALUES_PER_VALIDATOR = 4


class AddResult(Enum):
    ADDED = "added"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"  # counted, and the validator equivocated
    OVER_LIMIT = "over_limit"
    NOT_A_VALIDATOR = "not_a_validator"


class VoteTally:
    def __init__(self, validators: ValidatorSet) -> None:
        self.validators = validators
        # slot -> validator -> value -> vote (first vote per value)
        self._votes: dict[Slot, dict[bytes, dict[bytes | None, Vote]]] = {}
        self._power: dict[Slot, dict[bytes | None, int]] = {}
        self._total: dict[Slot, int] = {}
        self._reported: set[tuple[bytes, int, VoteType]] = set()
        self._precommit_quorums: list[tuple[int, bytes]] = []

    def add(self, vote: Vote) -> tuple[AddResult, DuplicateVoteEvidence | None]:
        power = self.validators.power_of(vote.validator)
        if power == 0:
            return AddResult.NOT_A_VALIDATOR, None
        slot = (vote.round, vote.type)
        by_value = self._votes.setdefault(slot, {}).setdefault(vote.validator, {})
        if vote.block_hash in by_value:
            return AddResult.DUPLICATE, None
        if len(by_value) >= MAX_VALUES_PER_VALIDATOR:
            return AddResult.OVER_LIMIT, None
        evidence = None
        if by_value:
            first = next(iter(by_value.values()))
            key = (vote.validator, vote.round, vote.type)
            if key not in self._reported:
                self._reported.add(key)
                evidence = DuplicateVoteEvidence.of(first, vote)
        else:
            self._total[slot] = self._total.get(slot, 0) + power
        by_value[vote.block_hash] = vote
        powers = self._power.setdefault(slot, {})
        before = powers.get(vote.block_hash, 0)
        powers[vote.block_hash] = before + power
        if (
            vote.type == VoteType.PRECOMMIT
            and vote.block_hash is not None
            and not self.validators.is_quorum(before)
            and self.validators.is_quorum(before + power)
        ):
            self._precommit_quorums.append((vote.round, vote.block_hash))
        if len(by_value) > 1:
            return AddResult.CONFLICT, evidence
        return AddResult.ADDED, None

    def power(self, round: int, type: VoteType, value: bytes | None) -> int:
        return self._power.get((round, type), {}).get(value, 0)

    def has_quorum(self, round: int, type: VoteType, value: bytes | None) -> bool:
        """More than 2/3 of the power voted ``value`` (2f+1 ⟨type, round, v⟩)."""
        return self.validators.is_quorum(self.power(round, type, value))

    def has_quorum_any(self, round: int, type: VoteType) -> bool:
        """More than 2/3 of the power voted (2f+1 ⟨type, round, *⟩)."""
        return self.validators.is_quorum(self._total.get((round, type), 0))

    def quorum_values(self, round: int, type: VoteType) -> list[bytes | None]:
        """Values with a quorum; more than one only if > 1/3 equivocated."""
        powers = self._power.get((round, type), {})
        return [v for v, p in powers.items() if self.validators.is_quorum(p)]

    def votes_for(self, round: int, type: VoteType, value: bytes | None) -> list[Vote]:
        by_validator = self._votes.get((round, type), {})
        return [
            by_value[value] for by_value in by_validator.values() if value in by_value
        ]

    def precommit_quorums(self) -> list[tuple[int, bytes]]:
        """(round, value) pairs with precommits of a quorum, in order found."""
        return list(self._precommit_quorums)
