"""Votes, proposals, commits and evidence as signed data.

A vote's signed bytes are the canonical encoding of its map without ``sig``,
signed under ``egov/vote/v1``; a proposal's likewise under
``egov/proposal/v1``. A commit is the set of precommits, for one block at one
height and round, whose power is more than two thirds of the validator set;
each entry keeps the timestamp its signer signed, since the signature covers
it and BFT time is computed from those timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from chain import encoding
from chain.errors import ChainError, ValidationError
from chain.fields import as_map, get_bytes, get_int, get_list, get_opt_bytes
from chain.hashing import sha256
from chain.keys import TAG_PROPOSAL, TAG_VOTE, PrivateKey, is_valid_signature
from chain.validators import ValidatorSet

MAX_ROUND = 2**31
MAX_HEIGHT = 2**62
MAX_TIME = 2**62


class VoteType(IntEnum):
    PREVOTE = 1
    PRECOMMIT = 2


@dataclass(frozen=True)
class Vote:
    type: VoteType
    height: int
    round: int
    block_hash: bytes | None  # None is a vote for nil
    timestamp: int  # the signer's clock, integer milliseconds
    validator: bytes
    sig: bytes = b""

    def _unsigned(self) -> dict[str, Any]:
        return {
            "block_hash": self.block_hash,
            "height": self.height,
            "round": self.round,
            "timestamp": self.timestamp,
            "type": int(self.type),
            "validator": self.validator,
        }

    def sign_bytes(self) -> bytes:
        return encoding.encode(self._unsigned())

    def signed(self, key: PrivateKey, chain_id: str) -> Vote:
        sig = key.sign(TAG_VOTE, chain_id, self.sign_bytes())
        return Vote(
            self.type,
            self.height,
            self.round,
            self.block_hash,
            self.timestamp,
            self.validator,
            sig,
        )

    def verify(self, chain_id: str) -> bool:
        return is_valid_signature(
            self.validator, TAG_VOTE, chain_id, self.sign_bytes(), self.sig
        )

    def to_value(self) -> dict[str, Any]:
        value = self._unsigned()
        value["sig"] = self.sig
        return value

    def encode(self) -> bytes:
        return encoding.encode(self.to_value())

    @classmethod
    def from_value(cls, value: Any) -> Vote:
        m = as_map(
            value,
            "vote",
            ("block_hash", "height", "round", "sig", "timestamp", "type", "validator"),
        )
        t = get_int(m, "type", 1, 2)
        return cls(
            type=VoteType(t),
            height=get_int(m, "height", 1, MAX_HEIGHT),
            round=get_int(m, "round", 0, MAX_ROUND),
            block_hash=get_opt_bytes(m, "block_hash", 32),
            timestamp=get_int(m, "timestamp", 0, MAX_TIME),
            validator=get_bytes(m, "validator", 32),
            sig=get_bytes(m, "sig", 64),
        )

    @classmethod
    def decode(cls, data: bytes) -> Vote:
        return cls.from_value(encoding.decode(data, max_size=1024))


@dataclass(frozen=True)
class Proposal:
    height: int
    round: int
    block_hash: bytes
    pol_round: int  # -1 when the proposer holds no proof of lock
    proposer: bytes
    sig: bytes = b""

    def _unsigned(self) -> dict[str, Any]:
        return {
            "block_hash": self.block_hash,
            "height": self.height,
            "pol_round": self.pol_round,
            "proposer": self.proposer,
            "round": self.round,
        }

    def sign_bytes(self) -> bytes:
        return encoding.encode(self._unsigned())

    def signed(self, key: PrivateKey, chain_id: str) -> Proposal:
        sig = key.sign(TAG_PROPOSAL, chain_id, self.sign_bytes())
        return Proposal(
            self.height, self.round, self.block_hash, self.pol_round, self.proposer, sig
        )

    def verify(self, chain_id: str) -> bool:
        return is_valid_signature(
            self.proposer, TAG_PROPOSAL, chain_id, self.sign_bytes(), self.sig
        )

    def to_value(self) -> dict[str, Any]:
        value = self._unsigned()
        value["sig"] = self.sig
        return value

    @classmethod
    def from_value(cls, value: Any) -> Proposal:
        m = as_map(
            value,
            "proposal",
            ("block_hash", "height", "pol_round", "proposer", "round", "sig"),
        )
        proposal = cls(
            height=get_int(m, "height", 1, MAX_HEIGHT),
            round=get_int(m, "round", 0, MAX_ROUND),
            block_hash=get_bytes(m, "block_hash", 32),
            pol_round=get_int(m, "pol_round", -1, MAX_ROUND),
            proposer=get_bytes(m, "proposer", 32),
            sig=get_bytes(m, "sig", 64),
        )
        if proposal.pol_round >= proposal.round:
            raise ValidationError(
                "pol_round must be below round", code="proposal.pol_round"
            )
        return proposal


@dataclass(frozen=True)
class CommitSig:
    validator: bytes
    timestamp: int
    sig: bytes

    def to_value(self) -> dict[str, Any]:
        return {
            "sig": self.sig,
            "timestamp": self.timestamp,
            "validator": self.validator,
        }

    @classmethod
    def from_value(cls, value: Any) -> CommitSig:
        m = as_map(value, "commit signature", ("sig", "timestamp", "validator"))
        return cls(
            validator=get_bytes(m, "validator", 32),
            timestamp=get_int(m, "timestamp", 0, MAX_TIME),
            sig=get_bytes(m, "sig", 64),
        )


class CommitError(ChainError):
    code = "commit.invalid"


@dataclass(frozen=True)
class Commit:
    """Precommits of more than 2/3 of the power for ``block_hash``."""

    height: int
    round: int
    block_hash: bytes
    signatures: tuple[CommitSig, ...]

    @classmethod
    def from_votes(cls, votes: list[Vote]) -> Commit:
        first = votes[0]
        assert first.block_hash is not None
        sigs = sorted(
            (CommitSig(v.validator, v.timestamp, v.sig) for v in votes),
            key=lambda s: s.validator,
        )
        return cls(first.height, first.round, first.block_hash, tuple(sigs))

    def votes(self) -> list[Vote]:
        return [
            Vote(
                VoteType.PRECOMMIT,
                self.height,
                self.round,
                self.block_hash,
                s.timestamp,
                s.validator,
                s.sig,
            )
            for s in self.signatures
        ]

    def to_value(self) -> dict[str, Any]:
        return {
            "block_hash": self.block_hash,
            "height": self.height,
            "round": self.round,
            "signatures": [s.to_value() for s in self.signatures],
        }

    def encode(self) -> bytes:
        return encoding.encode(self.to_value())

    def hash(self) -> bytes:
        return sha256(self.encode())

    @classmethod
    def from_value(cls, value: Any) -> Commit:
        m = as_map(value, "commit", ("block_hash", "height", "round", "signatures"))
        sigs = tuple(CommitSig.from_value(s) for s in get_list(m, "signatures", 256))
        keys = [s.validator for s in sigs]
        if keys != sorted(set(keys)):
            raise ValidationError(
                "commit signatures must be sorted and unique", code="commit.order"
            )
        return cls(
            height=get_int(m, "height", 1, MAX_HEIGHT),
            round=get_int(m, "round", 0, MAX_ROUND),
            block_hash=get_bytes(m, "block_hash", 32),
            signatures=sigs,
        )

    @classmethod
    def decode(cls, data: bytes) -> Commit:
        return cls.from_value(encoding.decode(data))

    def verify(
        self, chain_id: str, validators: ValidatorSet, height: int, block_hash: bytes
    ) -> None:
        """Raise CommitError unless this commits ``block_hash`` at ``height``."""
        keys = [s.validator for s in self.signatures]
        if keys != sorted(set(keys)):  # a repeated signer would count twice
            raise CommitError(
                "commit signatures must be sorted and unique", code="commit.order"
            )
        if self.height != height:
            raise CommitError(
                f"commit is for height {self.height}, not {height}",
                code="commit.height",
            )
        if self.block_hash != block_hash:
            raise CommitError("commit is for another block", code="commit.block")
        power = 0
        for vote in self.votes():
            if vote.validator not in validators:
                raise CommitError(
                    f"signer {vote.validator.hex()} is not a validator",
                    code="commit.unknown_signer",
                )
            if not vote.verify(chain_id):
                raise CommitError(
                    f"bad signature from {vote.validator.hex()}",
                    code="commit.bad_signature",
                )
            power += validators.power_of(vote.validator)
        if not validators.is_quorum(power):
            raise CommitError(
                f"signers hold {power} of {validators.total_power} power,"
                " not more than two thirds",
                code="commit.insufficient_power",
            )


def bft_time(commit: Commit, validators: ValidatorSet) -> int:
    """Weighted median of the commit's timestamps (by the signers' power).

    Sorting by (timestamp, validator) and taking the first timestamp at which
    the cumulative power exceeds half the signed power means fewer than a
    third of faulty power cannot push the median outside honest timestamps.
    """
    entries = sorted((s.timestamp, s.validator) for s in commit.signatures)
    total = sum(validators.power_of(v) for _, v in entries)
    acc = 0
    for ts, key in entries:
        acc += validators.power_of(key)
        if 2 * acc > total:
            return ts
    raise CommitError("empty commit", code="commit.empty")


@dataclass(frozen=True)
class DuplicateVoteEvidence:
    """Two conflicting signed votes of one validator at one height, round, type."""

    vote_a: Vote
    vote_b: Vote

    @classmethod
    def of(cls, a: Vote, b: Vote) -> DuplicateVoteEvidence:
        # Canonical order so the same misbehaviour always hashes the same.
        first, second = sorted((a, b), key=lambda v: v.encode())
        return cls(first, second)

    def to_value(self) -> dict[str, Any]:
        return {"vote_a": self.vote_a.to_value(), "vote_b": self.vote_b.to_value()}

    def encode(self) -> bytes:
        return encoding.encode(self.to_value())

    @classmethod
    def from_value(cls, value: Any) -> DuplicateVoteEvidence:
        m = as_map(value, "evidence", ("vote_a", "vote_b"))
        return cls(Vote.from_value(m["vote_a"]), Vote.from_value(m["vote_b"]))

    def verify(self, chain_id: str, validators: ValidatorSet) -> None:
        a, b = self.vote_a, self.vote_b
        same_slot = (a.validator, a.height, a.round, a.type) == (
            b.validator,
            b.height,
            b.round,
            b.type,
        )
        if not same_slot or a.block_hash == b.block_hash:
            raise ValidationError(
                "votes do not conflict", code="evidence.not_conflicting"
            )
        if a.encode() >= b.encode():
            raise ValidationError("evidence votes out of order", code="evidence.order")
        if a.validator not in validators:
            raise ValidationError("not a validator", code="evidence.unknown_validator")
        if not (a.verify(chain_id) and b.verify(chain_id)):
            raise ValidationError(
                "evidence signature invalid", code="evidence.bad_signature"
            )
