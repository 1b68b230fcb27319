"""RFC 6962 Merkle trees: fixed roots, and proofs sound and complete."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.errors import ValidationError
from chain.hashing import (
    leaf_hash,
    merkle_proof,
    merkle_root,
    node_hash,
    sha256,
    verify_merkle_proof,
)

MAX_SIZE = 33
LEAVES = [f"leaf-{i}".encode() for i in range(MAX_SIZE)]


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 written out directly, independent of the code under test."""
    if not leaves:
        return h(b"")
    if len(leaves) == 1:
        return h(b"\x00" + leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return h(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:]))


def test_domain_separated_hashes() -> None:
    assert sha256(b"abc") == h(b"abc")
    assert leaf_hash(b"x") == h(b"\x00x")
    assert node_hash(b"a" * 32, b"b" * 32) == h(b"\x01" + b"a" * 32 + b"b" * 32)


def test_empty_and_single_roots() -> None:
    assert merkle_root([]).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert merkle_root([b""]) == h(b"\x00")


def test_three_leaf_shape() -> None:
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert merkle_root([b"a", b"b", b"c"]) == node_hash(node_hash(a, b), c)


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_root_matches_reference(size: int) -> None:
    assert merkle_root(LEAVES[:size]) == reference_root(LEAVES[:size])


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_every_proof_verifies(size: int) -> None:
    leaves = LEAVES[:size]
    root = merkle_root(leaves)
    for index in range(size):
        path = merkle_proof(leaves, index)
        assert len(path) <= (size - 1).bit_length()
        assert verify_merkle_proof(root, leaves[index], index, size, path)


def shape(index: int, size: int) -> list[bool]:
    """Leaf-to-root sides of the siblings (True: sibling on the left)."""
    if size <= 1:
        return []
    k = 1 << ((size - 1).bit_length() - 1)
    if index < k:
        return [*shape(index, k), False]
    return [*shape(index - k, size - k), True]


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_wrong_index_size_leaf_or_root_fails(size: int) -> None:
    leaves = LEAVES[:size]
    root = merkle_root(leaves)
    for index in range(size):
        path = merkle_proof(leaves, index)
        leaf = leaves[index]
        for other in range(-1, size + 1):
            if other != index:
                assert not verify_merkle_proof(root, leaf, other, size, path)
        for other_size in range(2 * size + 2):
            if other_size == size:
                continue
            # A size is only refused when it changes the path's shape: the
            # root does not commit to the size, the verifier must know it.
            same = index < other_size and shape(index, other_size) == shape(index, size)
            assert verify_merkle_proof(root, leaf, index, other_size, path) == same
        assert not verify_merkle_proof(root, leaf + b"!", index, size, path)
        assert not verify_merkle_proof(sha256(root), leaf, index, size, path)


@pytest.mark.parametrize("size", range(2, MAX_SIZE + 1))
def test_tampered_path_fails(size: int) -> None:
    leaves = LEAVES[:size]
    root = merkle_root(leaves)
    for index in range(size):
        path = merkle_proof(leaves, index)
        for at in range(len(path)):
            flipped = bytearray(path[at])
            flipped[0] ^= 1
            bad = [*path[:at], bytes(flipped), *path[at + 1 :]]
            assert not verify_merkle_proof(root, leaves[index], index, size, bad)
            short = [*path[:at], path[at][:31], *path[at + 1 :]]
            assert not verify_merkle_proof(root, leaves[index], index, size, short)
        assert not verify_merkle_proof(root, leaves[index], index, size, path[:-1])
        extra = [*path, path[-1]]
        assert not verify_merkle_proof(root, leaves[index], index, size, extra)
        if len(path) > 1:
            swapped = [path[1], path[0], *path[2:]]
            if swapped != path:
                assert not verify_merkle_proof(
                    root, leaves[index], index, size, swapped
                )


def test_a_node_cannot_pass_for_a_leaf() -> None:
    # The classic second-preimage trick: present an inner node's children as
    # one 64-byte leaf of a shorter tree. Prefixes make the roots differ.
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert merkle_root([b"a", b"b"]) != merkle_root([a + b])


def test_proof_index_out_of_range() -> None:
    with pytest.raises(ValidationError):
        merkle_proof(LEAVES[:3], 3)
    with pytest.raises(ValidationError):
        merkle_proof([], 0)


@settings(max_examples=100)
@given(
    st.lists(st.binary(max_size=8), min_size=1, max_size=70),
    st.data(),
)
def test_proofs_property(leaves: list[bytes], data: st.DataObject) -> None:
    size = len(leaves)
    index = data.draw(st.integers(0, size - 1))
    root = merkle_root(leaves)
    assert root == reference_root(leaves)
    path = merkle_proof(leaves, index)
    assert verify_merkle_proof(root, leaves[index], index, size, path)
    # Any other claimed leaf at that place fails, unless it is the same bytes.
    other = data.draw(st.binary(max_size=8))
    assert verify_merkle_proof(root, other, index, size, path) == (
        other == leaves[index]
    )


@settings(max_examples=200)
@given(
    st.lists(st.binary(min_size=32, max_size=32), max_size=8),
    st.integers(-2, 40),
    st.integers(-2, 40),
    st.binary(max_size=8),
)
def test_verify_never_raises(
    path: list[bytes], index: int, size: int, leaf: bytes
) -> None:
    root = merkle_root(LEAVES[:5])
    assert verify_merkle_proof(root, leaf, index, size, path) in (True, False)
