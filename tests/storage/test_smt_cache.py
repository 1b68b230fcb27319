"""The tree-node cache: its byte bound, its top levels, and that it never
changes a root or a proof."""

from __future__ import annotations

import hashlib
import sys

from chain.smt_proof import EMPTY
from storage.smt import (
    RECENT_ENTRY_BYTES,
    TOP_SLOT_BYTES,
    CachedNodes,
    LayeredNodes,
    MemoryNodes,
    SparseMerkleTree,
)


class CountingNodes(MemoryNodes):
    """A dict node store that records the reads it serves."""

    __slots__ = ("reads",)

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[bytes] = []

    def get(self, node_hash: bytes, /) -> bytes | None:
        self.reads.append(node_hash)
        return super().get(node_hash)


def top_nodes(nodes: MemoryNodes, root: bytes, levels: int) -> set[bytes]:
    """The hashes of the nodes above depth ``levels``."""
    found: set[bytes] = set()
    layer = [root]
    for _ in range(levels):
        found.update(layer)
        layer = [
            child
            for node_hash in layer
            if nodes.nodes[node_hash][0] == 1
            for child in (nodes.nodes[node_hash][1:33], nodes.nodes[node_hash][33:])
            if child != EMPTY
        ]
    return found


def entries(n: int, version: int = 0) -> dict[bytes, bytes | None]:
    return {b"key %d" % i: b"value %d/%d" % (i, version) for i in range(n)}


def grown(n: int) -> tuple[CountingNodes, bytes]:
    nodes = CountingNodes()
    root, new_nodes = SparseMerkleTree(nodes).update(entries(n))
    nodes.put_many(new_nodes)
    return nodes, root


def test_reads_through_and_remembers_written_nodes() -> None:
    base = MemoryNodes({bytes([i]) * 32: bytes([i]) * 65 for i in range(10)})
    cache = CachedNodes(base, capacity=100_000)
    assert cache.get(b"\x01" * 32) == b"\x01" * 65
    assert cache.get(b"\xff" * 32) is None
    cache.remember({b"\xee" * 32: b"new"})
    base.nodes.clear()
    assert cache.get(b"\xee" * 32) == b"new"
    assert cache.get(b"\x01" * 32) == b"\x01" * 65
    assert CachedNodes(base, capacity=0).get(b"\xee" * 32) is None


def test_stays_within_its_byte_bound_under_reads_and_writes() -> None:
    nodes, root = grown(3_000)
    for capacity in (0, 1_000, 40_000, 300_000):
        cache = CachedNodes(nodes, capacity)
        tree = SparseMerkleTree(cache, root)
        for i in range(0, 3_000, 7):
            tree.prove(b"key %d" % i)
            assert cache.bytes_used <= capacity
        for version in range(1, 4):
            new_root, new_nodes = tree.update(entries(500, version))
            cache.remember(new_nodes)
            nodes.put_many(new_nodes)
            tree = SparseMerkleTree(cache, new_root)
            assert cache.bytes_used <= capacity


def test_counted_entry_sizes_are_not_below_the_real_ones() -> None:
    node_hash = hashlib.sha256(b"n").digest()
    inner = b"\x01" + node_hash * 2
    held = sys.getsizeof(node_hash) + sys.getsizeof(inner)
    # A dict slot is at least 8 bytes of index and 24 of entry.
    assert RECENT_ENTRY_BYTES >= held - len(inner) + 32


def test_the_top_levels_take_the_largest_map_within_3_4_of_the_bound() -> None:
    for capacity in (0, 100, 50_000, 10_000_000):
        cache = CachedNodes(MemoryNodes(), capacity)
        assert cache.top_bytes == (
            0 if cache.top_levels == 0 else 2**cache.top_levels * TOP_SLOT_BYTES
        )
        assert cache.top_bytes <= capacity * 3 // 4
        assert 2 ** (cache.top_levels + 1) * TOP_SLOT_BYTES > capacity * 3 // 4
    assert CachedNodes(MemoryNodes(), 10_000_000, top_levels=5).top_levels == 5


def test_the_top_levels_are_read_once_then_held() -> None:
    nodes, root = grown(4_000)
    cache = CachedNodes(nodes, capacity=2_000_000, top_levels=8)
    tree = SparseMerkleTree(cache, root)
    keys = [b"key %d" % i for i in range(4_000)]
    for key in keys:
        tree.prove(key)
    top = top_nodes(nodes, root, 8)
    # Push everything out of the recent generations with unrelated nodes.
    filler = {hashlib.sha256(b"f%d" % i).digest(): b"x" * 65 for i in range(20_000)}
    cache.remember(filler)
    nodes.reads.clear()
    for key in keys:
        tree.prove(key)
    assert nodes.reads  # the levels below the top are read again
    assert top.isdisjoint(nodes.reads)


def test_a_newer_version_takes_its_position_in_the_top() -> None:
    nodes, root = grown(2_000)
    cache = CachedNodes(nodes, capacity=2_000_000, top_levels=6)
    tree = SparseMerkleTree(cache, root)
    for version in range(1, 4):
        new_root, new_nodes = tree.update(entries(2_000, version))
        nodes.put_many(new_nodes)
        cache.remember(new_nodes)
        tree = SparseMerkleTree(cache, new_root)
        for i in range(2_000):
            tree.prove(b"key %d" % i)
        # Every node above depth 6 of the newest tree is held by position.
        nodes.reads.clear()
        for i in range(2_000):
            tree.prove(b"key %d" % i)
        assert top_nodes(nodes, new_root, 6).isdisjoint(nodes.reads)


def test_small_caches_give_the_same_roots_and_proofs() -> None:
    keys = [b"key %d" % i for i in range(1_500)]
    results = []
    for capacity in (0, 2_000, 50_000, 10_000_000):
        nodes = MemoryNodes()
        cache = CachedNodes(nodes, capacity)
        root = SparseMerkleTree(cache).root
        roots = []
        for version in range(4):
            changes: dict[bytes, bytes | None] = dict(entries(1_500, version))
            for i in range(version, 1_500, 5):
                changes[b"key %d" % i] = None
            pending_root, pending = SparseMerkleTree(cache, root).update(changes)
            # A second update stacked on the unwritten first one.
            layered = SparseMerkleTree(LayeredNodes(pending, cache), pending_root)
            root, more = layered.update({b"extra %d" % version: b"x"})
            nodes.put_many(pending)
            nodes.put_many(more)
            cache.remember(pending)
            cache.remember(more)
            roots.append(root)
        tree = SparseMerkleTree(cache, root)
        proofs = [tree.prove(key) for key in keys[::11]]
        results.append((roots, proofs))
    assert all(result == results[0] for result in results)


def test_written_nodes_take_their_top_slots_at_once() -> None:
    nodes = CountingNodes()
    # Room for the top 8 levels and about 20 recent nodes.
    cache = CachedNodes(nodes, capacity=34_000)
    assert cache.top_levels == 8
    root = SparseMerkleTree(cache).root
    for version in range(3):
        root, new_nodes = SparseMerkleTree(cache, root).update(entries(3_000, version))
        nodes.put_many(new_nodes)
        cache.remember(new_nodes)
        nodes.reads.clear()
        tree = SparseMerkleTree(cache, root)
        for i in range(0, 3_000, 2):
            tree.prove(b"key %d" % i)
        assert nodes.reads
        assert top_nodes(nodes, root, 8).isdisjoint(nodes.reads)
