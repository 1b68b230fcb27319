"""The proof format and its verifier, as a light client sees them."""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.smt_proof import (
    EMPTY,
    MalformedProof,
    Proof,
    ProofEnd,
    decode_proof,
    encode_proof,
    key_hash,
    leaf_hash,
    node_hash,
    proof_from_json,
    proof_to_json,
    value_hash,
    verify,
    verify_exclusion,
    verify_inclusion,
)
from storage.smt import MemoryNodes, SparseMerkleTree
from tests.storage.reference import bit, keys_sharing_prefix, sha


def tree_of(entries: dict[bytes, bytes]) -> SparseMerkleTree:
    nodes = MemoryNodes()
    root, new_nodes = SparseMerkleTree(nodes).update(entries)
    nodes.put_many(new_nodes)
    return SparseMerkleTree(nodes, root)


# -- the hashing, step by step ------------------------------------------------


def test_hashes_are_domain_separated_sha256() -> None:
    assert key_hash(b"k") == sha(b"k")
    assert value_hash(b"v") == sha(b"v")
    assert leaf_hash(sha(b"k"), sha(b"v")) == sha(b"\x00" + sha(b"k") + sha(b"v"))
    assert node_hash(b"a" * 32, b"b" * 32) == sha(b"\x01" + b"a" * 32 + b"b" * 32)


def test_empty_map_root_is_zero_and_proves_absence() -> None:
    tree = tree_of({})
    assert tree.root == EMPTY
    proof = tree.prove(b"k")
    assert proof == Proof((), ProofEnd.EMPTY)
    assert verify_exclusion(EMPTY, b"k", proof)
    assert not verify_inclusion(EMPTY, b"k", b"", proof)


def test_single_entry_root_is_its_leaf() -> None:
    tree = tree_of({b"k": b"v"})
    assert tree.root == leaf_hash(sha(b"k"), sha(b"v"))
    found = tree.prove(b"k")
    assert found == Proof((), ProofEnd.FOUND)
    assert verify_inclusion(tree.root, b"k", b"v", found)
    other = tree.prove(b"x")
    assert other == Proof((), ProofEnd.OTHER_LEAF, (sha(b"k"), sha(b"v")))
    assert verify_exclusion(tree.root, b"x", other)
    assert not verify_exclusion(tree.root, b"k", found)


def test_two_entries_sharing_bits_hang_below_empty_siblings() -> None:
    a, b = keys_sharing_prefix(10, 2)
    ha, hb = sha(a), sha(b)
    shared = next(i for i in range(256) if bit(ha, i) != bit(hb, i))
    assert shared >= 10
    tree = tree_of({a: b"1", b: b"2"})
    leaf_a = leaf_hash(ha, sha(b"1"))
    leaf_b = leaf_hash(hb, sha(b"2"))
    if bit(ha, shared) == 0:
        expected = node_hash(leaf_a, leaf_b)
    else:
        expected = node_hash(leaf_b, leaf_a)
    for depth in range(shared - 1, -1, -1):
        if bit(ha, depth):
            expected = node_hash(EMPTY, expected)
        else:
            expected = node_hash(expected, EMPTY)
    assert tree.root == expected
    proof = tree.prove(a)
    assert proof.depth == shared + 1
    assert proof.siblings == (EMPTY,) * shared + (leaf_b,)
    assert verify_inclusion(tree.root, a, b"1", proof)
    encoded = encode_proof(proof)
    assert encoded["siblings"] == [leaf_b]
    assert decode_proof(encoded) == proof


# -- soundness against tampering ------------------------------------------------


def test_tampered_proofs_fail() -> None:
    entries = {bytes([i]): bytes([i]) * 3 for i in range(40)}
    tree = tree_of(entries)
    key = bytes([7])
    proof = tree.prove(key)
    assert verify(tree.root, key, entries[key], proof)
    assert not verify(tree.root, key, b"other", proof)
    assert not verify(tree.root, key, None, proof)
    assert not verify(tree.root, bytes([8]), entries[key], proof)
    assert not verify(b"\x01" * 32, key, entries[key], proof)
    for i in range(proof.depth):
        siblings = list(proof.siblings)
        siblings[i] = bytes([siblings[i][0] ^ 1]) + siblings[i][1:]
        forged = Proof(tuple(siblings), proof.end)
        assert not verify(tree.root, key, entries[key], forged)
    assert not verify(
        tree.root, key, entries[key], Proof(proof.siblings[:-1], proof.end)
    )
    longer = Proof(proof.siblings + (EMPTY,), proof.end)
    assert not verify(tree.root, key, entries[key], longer)
    absent = Proof(proof.siblings, ProofEnd.EMPTY)
    assert not verify(tree.root, key, None, absent)


def test_other_leaf_must_be_another_key_on_the_path() -> None:
    entries = {bytes([i]): b"v" for i in range(40)}
    tree = tree_of(entries)
    absent = b"absent"
    proof = tree.prove(absent)
    assert verify_exclusion(tree.root, absent, proof)
    if proof.end is ProofEnd.OTHER_LEAF:
        assert proof.leaf is not None
        off_path = (bytes([proof.leaf[0][0] ^ 0x80]) + proof.leaf[0][1:], proof.leaf[1])
        assert not verify_exclusion(
            tree.root, absent, Proof(proof.siblings, ProofEnd.OTHER_LEAF, off_path)
        )
    # A present key cannot be shown absent by presenting its own leaf.
    present = bytes([3])
    own = tree.prove(present)
    as_other = Proof(own.siblings, ProofEnd.OTHER_LEAF, (sha(present), sha(b"v")))
    assert not verify_exclusion(tree.root, present, as_other)


def test_malformed_proof_objects_are_rejected_not_raised() -> None:
    root = tree_of({b"a": b"1", b"b": b"2"}).root
    assert not verify(root, b"a", b"1", Proof((b"short",), ProofEnd.FOUND))
    assert not verify(root, b"x", None, Proof((), ProofEnd.OTHER_LEAF, None))
    assert not verify(root, b"x", None, Proof((), ProofEnd.EMPTY, (EMPTY, EMPTY)))
    assert not verify(root[:31], b"a", b"1", Proof((), ProofEnd.FOUND))
    assert not verify(root, b"a", b"1", Proof((b"\x02" * 32,) * 257, ProofEnd.FOUND))


# -- the encoded form -----------------------------------------------------------


def sample_proofs() -> list[Proof]:
    a, b, c = keys_sharing_prefix(9, 3)
    entries = {a: b"1", b: b"2", c: b"3", b"z": b"4"}
    tree = tree_of(entries)
    return [tree.prove(key) for key in (a, b, c, b"z", b"absent", b"q", b"")]


def test_encoding_round_trips_through_msgpack_and_json() -> None:
    for proof in sample_proofs():
        encoded = encode_proof(proof)
        assert list(encoded) == sorted(encoded)
        packed = msgpack.packb(encoded, use_bin_type=True)
        assert decode_proof(msgpack.unpackb(packed, raw=False)) == proof
        assert msgpack.packb(encode_proof(decode_proof(encoded))) == packed
        text = json.dumps(proof_to_json(proof), sort_keys=True)
        assert proof_from_json(json.loads(text)) == proof


def good_encoding() -> dict[str, Any]:
    a, b = keys_sharing_prefix(9, 2)
    proof = tree_of({a: b"1", b: b"2", b"z": b"3"}).prove(a)
    assert proof.depth > 8
    return dict(encode_proof(proof))


@pytest.mark.parametrize(
    ("description", "change"),
    [
        ("missing field", lambda e: e.pop("leaf")),
        ("extra field", lambda e: e.update(extra=1)),
        ("depth is a bool", lambda e: e.update(depth=True)),
        ("depth too large", lambda e: e.update(depth=257)),
        ("negative depth", lambda e: e.update(depth=-1)),
        ("bitmap too long", lambda e: e.update(empty=e["empty"] + b"\x00")),
        ("bitmap bits past depth", lambda e: e.update(empty=e["empty"][:-1] + b"\x7f")),
        ("bitmap is a list", lambda e: e.update(empty=list(e["empty"]))),
        ("one sibling too many", lambda e: e["siblings"].append(b"\x05" * 32)),
        ("one sibling too few", lambda e: e["siblings"].pop()),
        ("empty sibling listed", lambda e: e["siblings"].__setitem__(0, EMPTY)),
        ("short sibling", lambda e: e["siblings"].__setitem__(0, b"\x05" * 31)),
        ("unknown end", lambda e: e.update(end=3)),
        ("leaf on a found end", lambda e: e.update(leaf=[b"\x01" * 32] * 2)),
        ("other leaf without leaf", lambda e: e.update(end=2)),
        ("siblings not a list", lambda e: e.update(siblings=b"")),
    ],
)
def test_decode_rejects_non_canonical_forms(description: str, change: Any) -> None:
    encoded = good_encoding()
    encoded["siblings"] = list(encoded["siblings"])
    change(encoded)
    with pytest.raises(MalformedProof):
        decode_proof(encoded)


def test_json_form_rejects_uppercase_and_spaced_hex() -> None:
    obj = proof_to_json(sample_proofs()[0])
    siblings: list[str] = obj["siblings"]  # type: ignore[assignment]
    obj["siblings"] = [item.upper() for item in siblings]
    with pytest.raises(MalformedProof):
        proof_from_json(obj)
    obj = proof_to_json(sample_proofs()[4])
    obj["empty"] = " " + str(obj["empty"])
    with pytest.raises(MalformedProof):
        proof_from_json(obj)


fields = st.fixed_dictionaries(
    {
        "depth": st.integers(-2, 300) | st.booleans(),
        "empty": st.binary(max_size=40),
        "end": st.integers(-1, 4),
        "leaf": st.lists(st.binary(min_size=31, max_size=33), max_size=3),
        "siblings": st.lists(
            st.sampled_from([EMPTY, b"\x01" * 32, b"\x02" * 31]), max_size=20
        ),
    }
)


@settings(max_examples=300, deadline=None)
@given(fields)
def test_decode_accepts_only_what_encode_gives(encoded: dict[str, Any]) -> None:
    try:
        proof = decode_proof(encoded)
    except MalformedProof:
        return
    assert encode_proof(proof) == encoded


def test_the_example_in_docs_state_md() -> None:
    """A fixed vector: the map, root and proofs shown in docs/STATE.md."""
    tree = tree_of({b"id/alice": b"enrolled", b"reg/1": b"parcel", b"reg/2": b"house"})
    assert tree.root.hex() == (
        "af4d2dacbfd478365f36e6ed2e8fe6476da6ed013e366ba08d41ded08d6fcd52"
    )
    top = "bae3feb55ecdd0f431013d74a380deeb7a347f54f64a67ed2507b1b1c6a1eae7"
    present = {
        "depth": 4,
        "empty": "60",
        "end": 0,
        "leaf": [],
        "siblings": [
            top,
            "c0acab9aedcccd16d7136ecf0947e87adc4dff020b0f86e5f7981a04cb7821ab",
        ],
    }
    absent = {
        "depth": 3,
        "empty": "40",
        "end": 1,
        "leaf": [],
        "siblings": [
            top,
            "92077d12bc4d96d899224856f4c77e007e2316d446fadfd689934e64d99b1a46",
        ],
    }
    assert proof_to_json(tree.prove(b"id/alice")) == present
    assert proof_to_json(tree.prove(b"reg/9")) == absent
    assert verify(tree.root, b"id/alice", b"enrolled", proof_from_json(present))
    assert verify(tree.root, b"reg/9", None, proof_from_json(absent))
