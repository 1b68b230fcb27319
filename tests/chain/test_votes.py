"""Votes, proposals, commits, BFT time and evidence."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain import encoding
from chain.errors import ChainError, ValidationError
from chain.keys import TAG_TX, TAG_VOTE, dev_key, signing_bytes
from chain.validators import Validator, ValidatorSet
from chain.votes import (
    MAX_TIME,
    Commit,
    CommitError,
    CommitSig,
    DuplicateVoteEvidence,
    Proposal,
    Vote,
    VoteType,
    bft_time,
)
from tests.chain.support import (
    BLOCK_HASH,
    CHAIN,
    make_commit,
    make_validators,
    mutated,
    precommit,
    returns_or_chain_error,
    values,
)

OTHER_HASH = b"\xee" * 32

# -- votes ---------------------------------------------------------------------


def test_vote_sign_bytes_are_the_map_without_sig() -> None:
    vote = precommit(dev_key("validator-0"))
    value = encoding.decode(vote.sign_bytes())
    assert list(value) == [
        "block_hash",
        "height",
        "round",
        "timestamp",
        "type",
        "validator",
    ]
    assert value["type"] == 2
    assert vote.verify(CHAIN)
    assert dev_key("validator-0").sign(TAG_VOTE, CHAIN, vote.sign_bytes()) == vote.sig


def test_vote_round_trip_and_nil() -> None:
    for block_hash in (BLOCK_HASH, None):
        vote = precommit(dev_key("validator-0"), block_hash=block_hash)
        assert Vote.decode(vote.encode()) == vote
    prevote = Vote(VoteType.PREVOTE, 1, 3, None, 0, dev_key("v").public)
    signed = prevote.signed(dev_key("v"), CHAIN)
    assert Vote.decode(signed.encode()) == signed and signed.verify(CHAIN)


@pytest.mark.parametrize(
    "change",
    [
        {"height": 6},
        {"round": 1},
        {"block_hash": OTHER_HASH},
        {"block_hash": None},
        {"timestamp": 1_001},
        {"type": VoteType.PREVOTE},
        {"validator": dev_key("validator-1").public},
    ],
)
def test_any_changed_field_breaks_the_signature(change: dict[str, Any]) -> None:
    vote = precommit(dev_key("validator-0"))
    assert not replace(vote, **change).verify(CHAIN)


def test_vote_signature_is_bound_to_chain_and_tag() -> None:
    key = dev_key("validator-0")
    vote = precommit(key)
    assert not vote.verify("egov-other")
    as_tx = key.sign(TAG_TX, CHAIN, vote.sign_bytes())
    assert not replace(vote, sig=as_tx).verify(CHAIN)
    assert signing_bytes(TAG_VOTE, CHAIN, vote.sign_bytes()).startswith(
        b"egov/vote/v1egov-dev\x00"
    )


def test_proposal_signature_is_not_a_vote_signature() -> None:
    key = dev_key("validator-0")
    proposal = Proposal(5, 0, BLOCK_HASH, -1, key.public).signed(key, CHAIN)
    assert proposal.verify(CHAIN)
    assert not proposal.verify("egov-other")
    forged = Proposal(5, 0, BLOCK_HASH, -1, key.public, precommit(key).sig)
    assert not forged.verify(CHAIN)


def test_proposal_round_trip() -> None:
    key = dev_key("validator-0")
    proposal = Proposal(5, 2, BLOCK_HASH, 1, key.public).signed(key, CHAIN)
    value = encoding.decode(encoding.encode(proposal.to_value()))
    assert Proposal.from_value(value) == proposal


@pytest.mark.parametrize(("round", "pol_round"), [(0, 0), (2, 2), (2, 3), (0, -2)])
def test_proposal_pol_round_must_be_below_round(round: int, pol_round: int) -> None:
    key = dev_key("validator-0")
    value = Proposal(5, round, BLOCK_HASH, pol_round, key.public, b"\x00" * 64)
    with pytest.raises(ValidationError):
        Proposal.from_value(value.to_value())


GOOD_VOTE = precommit(dev_key("validator-0")).to_value()


@pytest.mark.parametrize(
    "change",
    [
        {"type": 0},
        {"type": 3},
        {"height": 0},
        {"round": -1},
        {"timestamp": -1},
        {"timestamp": MAX_TIME + 1},
        {"block_hash": b"\x00" * 31},
        {"validator": b"\x00" * 33},
        {"sig": b""},
        {"extra": 1},
    ],
)
def test_malformed_votes(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Vote.from_value({**GOOD_VOTE, **change})


def test_oversize_vote_bytes() -> None:
    with pytest.raises(ChainError) as info:
        Vote.decode(encoding.encode({**GOOD_VOTE, "pad": b"x" * 1024}))
    assert info.value.code == "encoding.too_large"


# -- commits -------------------------------------------------------------------


def commit_code(
    commit: Commit,
    valset: ValidatorSet,
    *,
    height: int = 5,
    block_hash: bytes = BLOCK_HASH,
    chain: str = CHAIN,
) -> str:
    with pytest.raises(CommitError) as info:
        commit.verify(chain, valset, height, block_hash)
    return info.value.code


def test_commit_of_all_validators_verifies() -> None:
    valset, keys = make_validators([1, 1, 1, 1])
    commit = make_commit(keys)
    commit.verify(CHAIN, valset, 5, BLOCK_HASH)
    assert Commit.decode(commit.encode()) == commit
    assert [s.validator for s in commit.signatures] == [v.key for v in valset]


def test_three_of_four_is_enough() -> None:
    valset, keys = make_validators([1, 1, 1, 1])
    make_commit(keys[1:]).verify(CHAIN, valset, 5, BLOCK_HASH)


def test_exactly_two_thirds_is_not_enough() -> None:
    valset, keys = make_validators([1, 1, 1])
    assert commit_code(make_commit(keys[:2]), valset) == "commit.insufficient_power"
    valset, keys = make_validators([2, 1, 1, 2])  # 4 of 6 signed
    signers = [k for k, v in zip(keys, valset, strict=True) if v.power == 2]
    assert commit_code(make_commit(signers), valset) == "commit.insufficient_power"


def test_power_counts_not_heads() -> None:
    valset, keys = make_validators([10, 1, 1, 1])
    heavy = [k for k, v in zip(keys, valset, strict=True) if v.power == 10]
    make_commit(heavy).verify(CHAIN, valset, 5, BLOCK_HASH)
    light = [k for k, v in zip(keys, valset, strict=True) if v.power == 1]
    assert commit_code(make_commit(light), valset) == "commit.insufficient_power"


def test_empty_commit() -> None:
    valset, _ = make_validators([1])
    empty = Commit(5, 0, BLOCK_HASH, ())
    assert commit_code(empty, valset) == "commit.insufficient_power"


def test_wrong_height_or_block() -> None:
    valset, keys = make_validators([1, 1, 1, 1])
    commit = make_commit(keys)
    assert commit_code(commit, valset, height=6) == "commit.height"
    assert commit_code(commit, valset, block_hash=OTHER_HASH) == "commit.block"


def test_wrong_chain() -> None:
    valset, keys = make_validators([1, 1, 1, 1])
    assert commit_code(make_commit(keys), valset, chain="x") == "commit.bad_signature"


def test_unknown_signer() -> None:
    valset, keys = make_validators([1, 1, 1, 1])
    commit = make_commit([*keys, dev_key("stranger")])
    assert commit_code(commit, valset) == "commit.unknown_signer"


def test_tampered_signature_or_timestamp() -> None:
    valset, keys = make_validators([1, 1, 1, 1])
    commit = make_commit(keys)
    first = commit.signatures[0]
    moved = replace(first, timestamp=first.timestamp + 1)
    commit = replace(commit, signatures=(moved, *commit.signatures[1:]))
    assert commit_code(commit, valset) == "commit.bad_signature"


def test_a_signature_for_another_block_does_not_count() -> None:
    valset, keys = make_validators([1, 1, 1, 1])
    commit = make_commit(keys)
    nil = precommit(keys[0], block_hash=None)
    sigs = (CommitSig(nil.validator, nil.timestamp, nil.sig), *commit.signatures[1:])
    assert commit_code(replace(commit, signatures=sigs), valset) == (
        "commit.bad_signature"
    )


def test_duplicate_signer_is_refused_and_never_counted_twice() -> None:
    valset, keys = make_validators([1, 1, 1])
    commit = make_commit(keys[:2])
    doubled = replace(commit, signatures=(*commit.signatures, commit.signatures[1]))
    assert commit_code(doubled, valset) == "commit.order"
    with pytest.raises(ValidationError) as info:
        Commit.decode(doubled.encode())
    assert info.value.code == "commit.order"


def test_unsorted_signers_are_refused() -> None:
    valset, keys = make_validators([1, 1, 1, 1])
    commit = make_commit(keys)
    backwards = replace(commit, signatures=commit.signatures[::-1])
    with pytest.raises(ValidationError) as info:
        Commit.decode(backwards.encode())
    assert info.value.code == "commit.order"
    assert commit_code(backwards, valset) == "commit.order"


def test_commit_hash_is_sha256_of_encoding() -> None:
    from chain.hashing import sha256

    _, keys = make_validators([1, 1, 1, 1])
    commit = make_commit(keys)
    assert commit.hash() == sha256(commit.encode())


@given(st.lists(st.integers(1, 100), min_size=1, max_size=7), st.data())
@settings(max_examples=40, deadline=None)
def test_commit_verifies_exactly_when_signers_hold_a_quorum(
    powers: list[int], data: st.DataObject
) -> None:
    valset, keys = make_validators(powers)
    chosen = data.draw(st.sets(st.integers(0, len(keys) - 1)))
    signers = [keys[i] for i in sorted(chosen)]
    power = sum(valset.validators[i].power for i in chosen)
    commit = Commit(5, 0, BLOCK_HASH, ())
    if signers:
        commit = make_commit(signers)
    if 3 * power > 2 * valset.total_power:
        commit.verify(CHAIN, valset, 5, BLOCK_HASH)
    else:
        assert commit_code(commit, valset) == "commit.insufficient_power"


# -- BFT time ------------------------------------------------------------------


def test_bft_time_is_the_weighted_median() -> None:
    valset, keys = make_validators([1, 1, 1, 1])
    commit = make_commit(keys, timestamps=[100, 400, 200, 300])
    # Half the power is not "more than half": with an even split the upper
    # of the two middle timestamps is taken.
    assert bft_time(commit, valset) == 300
    commit = make_commit(keys[:3], timestamps=[100, 300, 200])
    assert bft_time(commit, valset) == 200
    valset, keys = make_validators([1, 5, 1, 1])
    stamps = [500 if v.power == 5 else 100 for v in valset]
    assert bft_time(make_commit(keys, timestamps=stamps), valset) == 500


def test_bft_time_of_a_commit_without_power() -> None:
    valset, _ = make_validators([1])
    stranger = dev_key("stranger")
    commit = make_commit([stranger])
    with pytest.raises(CommitError) as info:
        bft_time(commit, valset)
    assert info.value.code == "commit.empty"


def unsigned_commit(stamps: dict[bytes, int]) -> Commit:
    sigs = sorted(
        (CommitSig(key, ts, b"\x00" * 64) for key, ts in stamps.items()),
        key=lambda s: s.validator,
    )
    return Commit(5, 0, BLOCK_HASH, tuple(sigs))


@st.composite
def faulty_minority(draw: st.DrawFn) -> tuple[ValidatorSet, set[int], Commit]:
    """A set, the indexes of faulty validators (< 1/3 of power), a quorum commit."""
    powers = draw(st.lists(st.integers(1, 50), min_size=1, max_size=10))
    total = sum(powers)
    faulty: set[int] = set()
    for i in draw(st.lists(st.integers(0, len(powers) - 1), max_size=5)):
        if 3 * (sum(powers[j] for j in faulty | {i})) < total:
            faulty.add(i)
    signers = set(range(len(powers)))
    for i in draw(st.lists(st.integers(0, len(powers) - 1), max_size=5)):
        rest = signers - {i}
        if i not in faulty and 3 * sum(powers[j] for j in rest) > 2 * total:
            signers = rest
    valset = ValidatorSet(
        Validator(f"v{i}", p, bytes([i]) * 32, bytes([i]) * 32)
        for i, p in enumerate(powers)
    )
    honest_time = st.integers(1_000_000, 1_000_100)
    stamps = {
        bytes([i]) * 32: draw(st.integers(0, MAX_TIME) if i in faulty else honest_time)
        for i in sorted(signers)
    }
    return valset, faulty, unsigned_commit(stamps)


@settings(max_examples=150)
@given(faulty_minority())
def test_faulty_minority_cannot_move_bft_time(
    case: tuple[ValidatorSet, set[int], Commit],
) -> None:
    valset, faulty, commit = case
    faulty_keys = {bytes([i]) * 32 for i in faulty}
    honest = [s.timestamp for s in commit.signatures if s.validator not in faulty_keys]
    assert min(honest) <= bft_time(commit, valset) <= max(honest)


@settings(max_examples=100)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=10))
def test_bft_time_ignores_signature_order(stamps: list[int]) -> None:
    valset, keys = make_validators([1] * len(stamps))
    by_key = {k.public: ts for k, ts in zip(keys, stamps, strict=True)}
    commit = unsigned_commit(by_key)
    ordered = sorted(stamps)
    assert bft_time(commit, valset) == ordered[len(ordered) // 2]


# -- evidence ------------------------------------------------------------------


def equivocation() -> tuple[ValidatorSet, DuplicateVoteEvidence]:
    valset, keys = make_validators([1, 1, 1, 1])
    a = precommit(keys[0], block_hash=BLOCK_HASH)
    b = precommit(keys[0], block_hash=OTHER_HASH)
    return valset, DuplicateVoteEvidence.of(b, a)


def test_evidence_verifies_and_round_trips() -> None:
    valset, evidence = equivocation()
    evidence.verify(CHAIN, valset)
    value = encoding.decode(evidence.encode())
    assert DuplicateVoteEvidence.from_value(value) == evidence
    assert evidence.vote_a.encode() < evidence.vote_b.encode()
    a, b = evidence.vote_a, evidence.vote_b
    assert DuplicateVoteEvidence.of(a, b) == DuplicateVoteEvidence.of(b, a)


def test_nil_against_a_block_is_equivocation() -> None:
    valset, keys = make_validators([1, 1, 1, 1])
    a = precommit(keys[0], block_hash=None)
    b = precommit(keys[0], block_hash=BLOCK_HASH)
    DuplicateVoteEvidence.of(a, b).verify(CHAIN, valset)


def evidence_code(a: Vote, b: Vote, valset: ValidatorSet, chain: str = CHAIN) -> str:
    with pytest.raises(ValidationError) as info:
        DuplicateVoteEvidence.of(a, b).verify(chain, valset)
    return info.value.code


def test_refused_evidence() -> None:
    valset, keys = make_validators([1, 1, 1, 1])
    a = precommit(keys[0])
    assert evidence_code(a, a, valset) == "evidence.not_conflicting"
    later = precommit(keys[0], timestamp=9_999)  # same block, other clock
    assert evidence_code(a, later, valset) == "evidence.not_conflicting"
    for other in (
        precommit(keys[1], block_hash=OTHER_HASH),
        precommit(keys[0], block_hash=OTHER_HASH, height=6),
        precommit(keys[0], block_hash=OTHER_HASH, round=1),
        replace(precommit(keys[0], block_hash=OTHER_HASH), type=VoteType.PREVOTE),
    ):
        assert evidence_code(a, other, valset) == "evidence.not_conflicting"
    b = precommit(keys[0], block_hash=OTHER_HASH)
    assert evidence_code(a, b, valset, chain="x") == "evidence.bad_signature"
    forged = replace(b, sig=a.sig)
    assert evidence_code(a, forged, valset) == "evidence.bad_signature"
    stranger = dev_key("stranger")
    s_a, s_b = precommit(stranger), precommit(stranger, block_hash=OTHER_HASH)
    assert evidence_code(s_a, s_b, valset) == "evidence.unknown_validator"
    evidence = DuplicateVoteEvidence.of(a, b)
    backwards = DuplicateVoteEvidence(evidence.vote_b, evidence.vote_a)
    with pytest.raises(ValidationError) as info:
        backwards.verify(CHAIN, valset)
    assert info.value.code == "evidence.order"


# -- fuzzing -------------------------------------------------------------------

_valset, _keys = make_validators([1, 1, 1, 1])
VALID = [
    precommit(_keys[0]).encode(),
    precommit(_keys[0], block_hash=None).encode(),
    make_commit(_keys).encode(),
    equivocation()[1].encode(),
    encoding.encode(
        Proposal(5, 1, BLOCK_HASH, 0, _keys[0].public)
        .signed(_keys[0], CHAIN)
        .to_value()
    ),
]


def decode_everything(data: bytes) -> None:
    for decoder in (
        Vote.decode,
        Commit.decode,
        lambda d: Proposal.from_value(encoding.decode(d)),
        lambda d: DuplicateVoteEvidence.from_value(encoding.decode(d)),
    ):
        try:
            decoded = decoder(data)
        except ChainError:
            continue
        if isinstance(decoded, Commit):
            returns_or_chain_error(
                lambda c: c.verify(CHAIN, _valset, c.height, c.block_hash), decoded
            )
            returns_or_chain_error(lambda c: bft_time(c, _valset), decoded)
        if isinstance(decoded, DuplicateVoteEvidence):
            returns_or_chain_error(lambda e: e.verify(CHAIN, _valset), decoded)


@settings(max_examples=150)
@given(mutated(st.sampled_from(VALID)))
def test_fuzz_mutated(data: bytes) -> None:
    decode_everything(data)


@settings(max_examples=100)
@given(st.binary(max_size=120))
def test_fuzz_random_bytes(data: bytes) -> None:
    decode_everything(data)


@settings(max_examples=50)
@given(values)
def test_fuzz_values(value: Any) -> None:
    for decoder in (
        Vote.from_value,
        Commit.from_value,
        CommitSig.from_value,
        Proposal.from_value,
        DuplicateVoteEvidence.from_value,
    ):
        returns_or_chain_error(decoder, value)
