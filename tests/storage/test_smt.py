"""The compressed sparse Merkle tree: updates, reads and proofs."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.smt_proof import EMPTY, ProofEnd, verify, verify_exclusion
from storage.errors import MissingNode
from storage.smt import (
    LayeredNodes,
    MemoryNodes,
    SparseMerkleTree,
    build_root,
    decode_leaf,
    encode_leaf,
)
from tests.storage.reference import keys_sharing_prefix, spec_root

keys = st.binary(max_size=6)
values = st.binary(max_size=12)
maps = st.dictionaries(keys, values, max_size=50)
batches = st.lists(st.dictionaries(keys, st.none() | values, max_size=25), max_size=6)


def apply(nodes: MemoryNodes, root: bytes, changes: dict[bytes, bytes | None]) -> bytes:
    new_root, new_nodes = SparseMerkleTree(nodes, root).update(changes)
    nodes.put_many(new_nodes)
    return new_root


def fold(model: dict[bytes, bytes], changes: dict[bytes, bytes | None]) -> None:
    for key, value in changes.items():
        if value is None:
            model.pop(key, None)
        else:
            model[key] = value


@settings(max_examples=80, deadline=None)
@given(maps, st.lists(keys, max_size=10))
def test_proofs_are_complete_and_sound(
    entries: dict[bytes, bytes], probes: list[bytes]
) -> None:
    nodes = MemoryNodes()
    root = apply(nodes, EMPTY, dict(entries))
    tree = SparseMerkleTree(nodes, root)
    for key, value in entries.items():
        proof = tree.prove(key)
        assert proof.end is ProofEnd.FOUND
        assert verify(root, key, value, proof)
        assert not verify(root, key, value + b"!", proof)
        assert not verify(root, key, None, proof)
        assert tree.get(key) == value
    for key in probes:
        if key in entries:
            continue
        proof = tree.prove(key)
        assert proof.end is not ProofEnd.FOUND
        assert verify_exclusion(root, key, proof)
        assert not verify(root, key, b"", proof)
        assert tree.get(key) is None
        if proof.depth:
            tampered = bytes([proof.siblings[0][0] ^ 0x40]) + proof.siblings[0][1:]
            forged = type(proof)(
                (tampered,) + proof.siblings[1:], proof.end, proof.leaf
            )
            assert not verify_exclusion(root, key, forged)
        if root != EMPTY:
            assert not verify_exclusion(spec_root({b"\xff" * 7: b""}), key, proof)


@settings(max_examples=60, deadline=None)
@given(maps, st.randoms(use_true_random=False))
def test_root_depends_only_on_the_entries(
    entries: dict[bytes, bytes], rng: random.Random
) -> None:
    expected = spec_root(entries)
    assert build_root(entries) == expected
    items = list(entries.items())
    rng.shuffle(items)
    nodes = MemoryNodes()
    root = EMPTY
    while items:
        size = rng.randint(1, 8)
        chunk, items = items[:size], items[size:]
        root = apply(nodes, root, dict(chunk))
    assert root == expected


@settings(max_examples=60, deadline=None)
@given(maps, maps)
def test_deleting_gives_back_the_root_of_never_inserting(
    kept: dict[bytes, bytes], transient: dict[bytes, bytes]
) -> None:
    nodes = MemoryNodes()
    root = apply(nodes, EMPTY, {**transient, **kept})
    overwritten = {key: kept[key] for key in transient if key in kept}
    deleted: dict[bytes, bytes | None] = {
        key: None for key in transient if key not in kept
    }
    root = apply(nodes, root, {**deleted, **overwritten})
    assert root == build_root(kept) == spec_root(kept)


@settings(max_examples=60, deadline=None)
@given(maps, batches)
def test_update_equals_rebuild_and_old_roots_stay_readable(
    initial: dict[bytes, bytes], steps: list[dict[bytes, bytes | None]]
) -> None:
    nodes = MemoryNodes()
    model = dict(initial)
    root = apply(nodes, EMPTY, dict(initial))
    history = [(root, dict(model))]
    for changes in steps:
        root = apply(nodes, root, changes)
        fold(model, changes)
        assert root == spec_root(model)
        assert dict(SparseMerkleTree(nodes, root).entries()) == model
        history.append((root, dict(model)))
    for old_root, old_model in history:
        tree = SparseMerkleTree(nodes, old_root)
        for key, value in old_model.items():
            assert tree.get(key) == value
            assert verify(old_root, key, value, tree.prove(key))


class CountingNodes(MemoryNodes):
    """Counts the nodes read."""

    def __init__(self, nodes: MemoryNodes) -> None:
        super().__init__(nodes.nodes)
        self.read: list[bytes] = []

    def get(self, node_hash: bytes, /) -> bytes | None:
        self.read.append(node_hash)
        return super().get(node_hash)


@settings(max_examples=80, deadline=None)
@given(
    maps,
    st.dictionaries(keys, st.none() | values, max_size=25),
    st.lists(st.sampled_from(["true", "wrong", "absent"]), min_size=25, max_size=25),
)
def test_old_values_spare_leaf_reads_and_change_nothing(
    initial: dict[bytes, bytes],
    changes: dict[bytes, bytes | None],
    kinds: list[str],
) -> None:
    nodes = MemoryNodes()
    root = apply(nodes, EMPTY, dict(initial))
    # What a caller may know of the old values: right, wrong (stale), or
    # nothing at all; the result must not depend on it.
    old: dict[bytes, bytes | None] = {}
    for key, kind in zip(changes, kinds, strict=False):
        if kind == "true":
            old[key] = initial.get(key)
        elif kind == "wrong":
            old[key] = b"stale" + initial.get(key, b"")
    plain = CountingNodes(nodes)
    hinted = CountingNodes(nodes)
    want = SparseMerkleTree(plain, root).update_placed(changes, 4)
    got = SparseMerkleTree(hinted, root).update_placed(changes, 4, old)
    assert got == want
    # A leaf whose key and true old value were given is never read.
    spared = {
        hashlib.sha256(encode_leaf(k, v)[:65]).digest()
        for k, v in old.items()
        if v is not None and initial.get(k) == v
    }
    assert not spared & set(hinted.read)
    assert len(hinted.read) <= len(plain.read)


def test_deep_shared_prefixes_insert_and_delete() -> None:
    """Keys whose hashes share 16 bits exercise long runs of empty siblings."""
    close = keys_sharing_prefix(16, 3)
    entries = {key: key * 2 for key in close}
    entries.update({bytes([i]): b"x" for i in range(10)})
    nodes = MemoryNodes()
    root = apply(nodes, EMPTY, dict(entries))
    assert root == spec_root(entries)
    tree = SparseMerkleTree(nodes, root)
    proof = tree.prove(close[0])
    assert proof.depth > 16
    assert EMPTY in proof.siblings
    assert verify(root, close[0], entries[close[0]], proof)
    # Removing two of the three lifts the last one back up to its own level.
    root = apply(nodes, root, {close[1]: None, close[2]: None})
    del entries[close[1]], entries[close[2]]
    assert root == spec_root(entries)
    assert SparseMerkleTree(nodes, root).prove(close[0]).depth < 16


def test_update_is_pure_and_touches_only_the_changed_path() -> None:
    nodes = MemoryNodes()
    entries = {i.to_bytes(4, "big"): b"v" for i in range(2000)}
    root = apply(nodes, EMPTY, dict(entries))
    before = dict(nodes.nodes)
    tree = SparseMerkleTree(nodes, root)
    key = (17).to_bytes(4, "big")
    new_root, new_nodes = tree.update({key: b"changed"})
    assert nodes.nodes == before
    assert tree.get(key) == b"v"
    assert len(new_nodes) == tree.prove(key).depth + 1
    assert SparseMerkleTree(LayeredNodes(new_nodes, nodes), new_root).get(key) == (
        b"changed"
    )
    assert tree.update({}) == (root, {})
    assert tree.update({b"never there": None})[0] == root


def test_an_unknown_root_is_a_missing_node() -> None:
    tree = SparseMerkleTree(MemoryNodes(), b"\x07" * 32)
    with pytest.raises(MissingNode) as caught:
        tree.get(b"k")
    assert caught.value.node_hash == b"\x07" * 32
    assert caught.value.code == "storage.missing_node"


def test_leaf_encoding_keeps_key_and_value() -> None:
    leaf = encode_leaf(b"key", b"value")
    assert decode_leaf(leaf) == (b"key", b"value")
    assert decode_leaf(encode_leaf(b"", b"")) == (b"", b"")
