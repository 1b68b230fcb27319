"""Shared builders and hypothesis strategies for the chain tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from chain.encoding import INT_MAX, INT_MIN
from chain.errors import ChainError
from chain.keys import PrivateKey, dev_key
from chain.tx import SignedTx, TxBody
from chain.validators import Validator, ValidatorSet
from chain.votes import Commit, Vote, VoteType

CHAIN = "egov-dev"
BLOCK_HASH = bytes(range(32))


def key(name: str) -> PrivateKey:
    return dev_key(name)


def make_validators(
    powers: Sequence[int],
) -> tuple[ValidatorSet, list[PrivateKey]]:
    """A validator set with the given powers; keys are returned in set order."""
    keys = [dev_key(f"validator-{i}") for i in range(len(powers))]
    validators = [
        Validator(f"v{i}", power, k.public, dev_key(f"node-{i}").public)
        for i, (power, k) in enumerate(zip(powers, keys, strict=True))
    ]
    valset = ValidatorSet(validators)
    by_public = {k.public: k for k in keys}
    return valset, [by_public[v.key] for v in valset]


def precommit(
    k: PrivateKey,
    *,
    height: int = 5,
    round: int = 0,
    block_hash: bytes | None = BLOCK_HASH,
    timestamp: int = 1_000,
    chain: str = CHAIN,
) -> Vote:
    vote = Vote(VoteType.PRECOMMIT, height, round, block_hash, timestamp, k.public)
    return vote.signed(k, chain)


def make_commit(
    signers: Sequence[PrivateKey],
    *,
    height: int = 5,
    block_hash: bytes = BLOCK_HASH,
    timestamps: Sequence[int] | None = None,
) -> Commit:
    stamps = timestamps or [1_000 + i for i in range(len(signers))]
    votes = [
        precommit(k, height=height, block_hash=block_hash, timestamp=t)
        for k, t in zip(signers, stamps, strict=True)
    ]
    return Commit.from_votes(votes)


def body(
    *,
    sender: PrivateKey | None = None,
    chain: str = CHAIN,
    module: str = "identity",
    action: str = "rotate_key",
    args: dict[str, Any] | None = None,
    nonce: int = 1,
) -> TxBody:
    sender = sender or dev_key("citizen-1")
    return TxBody(
        chain=chain,
        module=module,
        action=action,
        args={"new_key": bytes(32)} if args is None else args,
        sender=sender.public,
        nonce=nonce,
    )


def signed_tx(**kwargs: Any) -> SignedTx:
    sender = kwargs.get("sender") or dev_key("citizen-1")
    return SignedTx.create(body(**kwargs), sender)


def returns_or_chain_error(decoder: Callable[[Any], object], data: Any) -> None:
    """The fuzzing contract: a value, or a ChainError subclass, nothing else."""
    try:
        decoder(data)
    except ChainError:
        pass


# -- hypothesis strategies -------------------------------------------------

ints = st.integers(INT_MIN, INT_MAX)
scalars = st.none() | st.booleans() | ints | st.binary(max_size=40) | st.text()
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[bytes]) -> bytes:
    """A valid encoding with a few bytes flipped, replaced, inserted or deleted."""
    data = bytearray(draw(valid))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        if op == "insert" or not data:
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
            continue
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[at] = draw(st.integers(0, 255))
        else:
            del data[at]
    return bytes(data)
