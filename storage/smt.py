"""The authenticated state map: a compressed binary sparse Merkle tree.

The hashing, the canonical shape and the proofs are those of
``chain.smt_proof``; this module stores and updates the tree.

Invariants:

1. Nodes are content addressed: a node is stored under its own hash and never
   changes. Writing a node that already exists rewrites the same bytes, so
   every root ever committed stays readable as long as its nodes are kept.
   Pruning old roots is future work; until then the node store only grows.
2. The shape is canonical (a subtree with one entry is that entry's leaf, at
   the subtree's own position), so the root is a function of the entries
   alone: deleting a key gives back the root of never having written it.
3. ``update`` is pure. It reads nodes through a ``NodeReader`` and returns the
   new root with the nodes to write; the caller decides whether to write
   them (a block is executed speculatively and committed only if decided).

Stored node encodings (the hash of a node is SHA-256 of its first 65 bytes):

- inner node: ``0x01 || left (32) || right (32)``, 65 bytes.
- leaf: ``0x00 || key_hash (32) || value_hash (32) || len(key) (4, big
  endian) || key || value``. The leaf keeps the key and the value themselves,
  so that any retained root can be read, iterated and proved without another
  table; the store also keeps the latest values apart for fast reads.

A leaf's hash does not depend on its depth, so when a deletion leaves a leaf
alone in a subtree the same leaf moves up without being rewritten.
"""

from __future__ import annotations

import hashlib
import mmap
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol

from chain.smt_proof import (
    EMPTY,
    HASH_SIZE,
    MAX_DEPTH,
    Proof,
    ProofEnd,
    key_hash,
    value_hash,
)
from storage.errors import CorruptStore, MissingNode, StorageError

LEAF_TAG = 0
INNER_TAG = 1
_HASHED = 1 + 2 * HASH_SIZE  # the prefix of a node that its hash covers
_LEAF_HEADER = _HASHED + 4

_sha256 = hashlib.sha256


class NodeReader(Protocol):
    """Where tree nodes are read from: node hash -> encoded node."""

    def get(self, node_hash: bytes, /) -> bytes | None: ...


class MemoryNodes:
    """A node store in a dict, for tests, benchmarks and scratch trees."""

    __slots__ = ("nodes",)

    def __init__(self, nodes: Mapping[bytes, bytes] | None = None) -> None:
        self.nodes: dict[bytes, bytes] = dict(nodes or {})

    def get(self, node_hash: bytes, /) -> bytes | None:
        return self.nodes.get(node_hash)

    def put_many(self, nodes: Mapping[bytes, bytes]) -> None:
        self.nodes.update(nodes)

    def __len__(self) -> int:
        return len(self.nodes)


class LayeredNodes:
    """Nodes not yet written, read in front of a base store.

    This lets a caller update a tree again on top of an update that it has
    not committed (block sync executing several blocks, for instance).
    """

    __slots__ = ("pending", "base", "top_levels")

    def __init__(self, pending: Mapping[bytes, bytes], base: NodeReader) -> None:
        self.pending = pending
        self.base = base
        self.top_levels: int = getattr(base, "top_levels", 0)

    def get(self, node_hash: bytes, /) -> bytes | None:
        node = self.pending.get(node_hash)
        if node is None:
            return self.base.get(node_hash)
        return node

    def get_top(self, node_hash: bytes, slot: int, /) -> bytes | None:
        node = self.pending.get(node_hash)
        if node is None:
            base: PositionedReader = self.base  # type: ignore[assignment]
            return base.get_top(node_hash, slot)
        return node


class PositionedReader(NodeReader, Protocol):
    """A node reader that also holds the top levels of the tree by position.

    ``top_levels`` levels (0 for none) are read with ``get_top``, which is
    told the node's position: ``slot`` numbers the positions level by level,
    ``1`` for the root, ``2 * s`` and ``2 * s + 1`` for the children of
    ``s`` (so a node at depth ``d`` has ``2 ** d <= slot < 2 ** (d + 1)``).
    """

    top_levels: int

    def get_top(self, node_hash: bytes, slot: int, /) -> bytes | None: ...


# What an entry of the recent generations costs beyond the node's bytes
# (CPython 3.11, measured): the hash object and a dict slot.
RECENT_ENTRY_BYTES = 150
_INNER_SIZE = 1 + 2 * HASH_SIZE
# A slot of the top levels: an inner node's hash, then the node.
TOP_SLOT_BYTES = HASH_SIZE + _INNER_SIZE


class CachedNodes:
    """A cache of nodes in front of a slower reader, bounded in bytes.

    Nodes never change (a hash always names the same bytes), so a cached node
    is never stale: a cache can cost memory, never a wrong root or proof.

    The top ``top_levels`` levels of the tree, which every block's paths
    cross, are kept by position: one fixed slot of ``TOP_SLOT_BYTES`` per
    position, in an anonymous private memory map of ``2 ** top_levels``
    slots that the kernel backs with memory only where slots were written. A
    slot holds the inner node last read at its position, so a newer version
    of a node takes the place of the older one and the top holds one tree,
    not its history. It gets the largest such map that fits in three
    quarters of the bound: a slot there is crossed by a block's paths far
    more often than any node below, and costs 97 bytes, not some 250 as a
    Python object.

    Below the top a random key's path meets nodes that few blocks touch
    again. The rest of the bound is two generations that approximate LRU at
    O(1) a read, for those nodes and for nodes just written: hits and new
    entries go to the young dict; when it holds half of its share it becomes
    the old one and the previous old one is dropped. Their size is counted
    as each node's length plus ``RECENT_ENTRY_BYTES``.
    """

    __slots__ = (
        "base",
        "capacity",
        "top_levels",
        "reads",
        "_top",
        "_recent_half",
        "_young",
        "_young_bytes",
        "_old",
        "_old_bytes",
    )

    def __init__(
        self, base: NodeReader, capacity: int, top_levels: int | None = None
    ) -> None:
        self.base = base
        self.capacity = max(capacity, 0)
        levels = 0
        while 2 ** (levels + 1) * TOP_SLOT_BYTES <= self.capacity * 3 // 4:
            levels += 1
        if top_levels is not None:
            levels = min(levels, top_levels)
        self.top_levels = min(levels, MAX_DEPTH)
        self.reads = 0  # reads that went to the base reader
        self._top = (
            mmap.mmap(
                -1,
                2**self.top_levels * TOP_SLOT_BYTES,
                flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
            )
            if self.top_levels
            else None
        )
        self._recent_half = (self.capacity - self.top_bytes) // 2
        self._young: dict[bytes, bytes] = {}
        self._young_bytes = 0
        self._old: dict[bytes, bytes] = {}
        self._old_bytes = 0

    @property
    def top_bytes(self) -> int:
        """The size of the top levels' map (resident only where written)."""
        return 0 if self._top is None else len(self._top)

    @property
    def bytes_used(self) -> int:
        """The cache's size at most, as counted against ``capacity``."""
        return self.top_bytes + self._young_bytes + self._old_bytes

    def get(self, node_hash: bytes, /) -> bytes | None:
        node = self._young.get(node_hash)
        if node is not None:
            return node
        node = self._old.get(node_hash)
        if node is None:
            node = self._read_base(node_hash)
            if node is None:
                return None
        self._keep(node_hash, node)
        return node

    def get_top(self, node_hash: bytes, slot: int, /) -> bytes | None:
        top = self._top
        if top is None:
            return self.get(node_hash)
        at = slot * TOP_SLOT_BYTES
        if top[at : at + HASH_SIZE] == node_hash:
            return top[at + HASH_SIZE : at + TOP_SLOT_BYTES]
        node = self._young.get(node_hash) or self._old.get(node_hash)
        if node is None:
            node = self._read_base(node_hash)
            if node is None:
                return None
        if len(node) == _INNER_SIZE and node[0] == INNER_TAG:
            top[at : at + TOP_SLOT_BYTES] = node_hash + node
        else:
            self._keep(node_hash, node)  # a leaf this high: a small tree
        return node

    def remember(
        self,
        nodes: Mapping[bytes, bytes],
        placed: Sequence[tuple[int, bytes, bytes]] | None = None,
    ) -> None:
        """Cache nodes just written, as ``update`` returns them.

        Each block rewrites the nodes on its paths, so the top levels take
        the new versions at once. ``placed`` gives the positions of the new
        inner nodes in the top levels, as ``SparseMerkleTree.update_placed``
        returns them for this cache's ``top_levels``; without it they are
        found by walking down from the new root (the last node of an
        update, which writes children before parents). Other nodes go to
        the recent generations.
        """
        top = self._top
        if top is None or not nodes:
            for node_hash, node in nodes.items():
                self._keep(node_hash, node)
            return
        if placed is None:
            root = next(reversed(nodes)) if isinstance(nodes, dict) else b""
            done = self._place(root, nodes)
        else:
            done = set()
            for slot, node_hash, node in placed:
                at = slot * TOP_SLOT_BYTES
                top[at : at + TOP_SLOT_BYTES] = node_hash + node
                done.add(node_hash)
        keep = self._keep
        for node_hash, node in nodes.items():
            if node_hash not in done:
                keep(node_hash, node)

    def _place(self, root: bytes, nodes: Mapping[bytes, bytes]) -> set[bytes]:
        """Put the new inner nodes under ``root`` in their top slots."""
        top = self._top
        assert top is not None
        placed: set[bytes] = set()
        layer = [(root, 1)]
        for _ in range(self.top_levels):
            below = []
            for node_hash, slot in layer:
                node = nodes.get(node_hash)
                if node is None or node[0] != INNER_TAG:
                    continue
                at = slot * TOP_SLOT_BYTES
                top[at : at + TOP_SLOT_BYTES] = node_hash + node
                placed.add(node_hash)
                below.append((node[1:33], 2 * slot))
                below.append((node[33:65], 2 * slot + 1))
            layer = below
        return placed

    def close(self) -> None:
        """Give the memory back; the cache then reads through."""
        if self._top is not None:
            self._top.close()
            self._top = None
        self._young, self._old = {}, {}
        self._young_bytes = self._old_bytes = self._recent_half = 0

    def _read_base(self, node_hash: bytes) -> bytes | None:
        self.reads += 1
        return self.base.get(node_hash)

    def _keep(self, node_hash: bytes, node: bytes) -> None:
        size = len(node) + RECENT_ENTRY_BYTES
        if size > self._recent_half or node_hash in self._young:
            return
        if self._young_bytes + size > self._recent_half:
            self._old, self._old_bytes = self._young, self._young_bytes
            self._young, self._young_bytes = {}, 0
        self._young[node_hash] = node
        self._young_bytes += size


def encode_leaf(key: bytes, value: bytes) -> bytes:
    return b"".join(
        (
            b"\x00",
            key_hash(key),
            value_hash(value),
            len(key).to_bytes(4, "big"),
            key,
            value,
        )
    )


def decode_leaf(node: bytes) -> tuple[bytes, bytes]:
    """The (key, value) of an encoded leaf."""
    if len(node) < _LEAF_HEADER or node[0] != LEAF_TAG:
        raise CorruptStore("a leaf node is too short or mistagged")
    key_end = _LEAF_HEADER + int.from_bytes(node[_HASHED:_LEAF_HEADER], "big")
    if key_end > len(node):
        raise CorruptStore("a leaf node's key runs past its end")
    return node[_LEAF_HEADER:key_end], node[key_end:]


def _node_hash(node: bytes) -> bytes:
    return _sha256(node[:_HASHED]).digest()


class SparseMerkleTree:
    """One version of the map: a root, read through a node store.

    The object is immutable; ``update`` returns the next root rather than
    changing this one.
    """

    __slots__ = ("nodes", "root", "_top_levels", "_get_top")

    def __init__(self, nodes: NodeReader, root: bytes = EMPTY) -> None:
        if len(root) != HASH_SIZE:
            raise StorageError(f"a root is {HASH_SIZE} bytes, not {len(root)}")
        self.nodes = nodes
        self.root = root
        self._top_levels: int = getattr(nodes, "top_levels", 0)
        self._get_top: Callable[[bytes, int], bytes | None] | None = (
            getattr(nodes, "get_top", None) if self._top_levels else None
        )

    # -- reads -------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        digest = key_hash(key)
        path = int.from_bytes(digest, "big")
        current = self.root
        depth = 0
        while current != EMPTY:
            node = self._read(current, path, depth)
            if node[0] == LEAF_TAG:
                if node[1:33] != digest:
                    return None
                return decode_leaf(node)[1]
            current = node[33:65] if path >> (255 - depth) & 1 else node[1:33]
            depth += 1
        return None

    def prove(self, key: bytes) -> Proof:
        """A proof of ``key``'s value, or of its absence, under this root."""
        digest = key_hash(key)
        path = int.from_bytes(digest, "big")
        siblings: list[bytes] = []
        current = self.root
        depth = 0
        while current != EMPTY:
            node = self._read(current, path, depth)
            if node[0] == LEAF_TAG:
                leaf_key = node[1:33]
                if leaf_key == digest:
                    return Proof(tuple(siblings), ProofEnd.FOUND)
                return Proof(
                    tuple(siblings), ProofEnd.OTHER_LEAF, (leaf_key, node[33:65])
                )
            if path >> (255 - depth) & 1:
                siblings.append(node[1:33])
                current = node[33:65]
            else:
                siblings.append(node[33:65])
                current = node[1:33]
            depth += 1
        return Proof(tuple(siblings), ProofEnd.EMPTY)

    def entries(self) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value), in key-hash order (not key order)."""
        stack = [self.root]
        while stack:
            current = stack.pop()
            if current == EMPTY:
                continue
            node = self._read(current)
            if node[0] == LEAF_TAG:
                yield decode_leaf(node)
            else:
                stack.append(node[33:65])
                stack.append(node[1:33])

    # -- the update ----------------------------------------------------------

    def update(
        self, changes: Mapping[bytes, bytes | None]
    ) -> tuple[bytes, dict[bytes, bytes]]:
        """Apply ``changes`` (None deletes) and return (new root, new nodes).

        Nothing is written. The changed keys are sorted by key hash and the
        tree is walked once, so each touched node is rehashed once per batch.
        """
        root, nodes, _ = self.update_placed(changes)
        return root, nodes

    def update_placed(
        self,
        changes: Mapping[bytes, bytes | None],
        top_levels: int = 0,
        old: Mapping[bytes, bytes | None] | None = None,
    ) -> tuple[bytes, dict[bytes, bytes], list[tuple[int, bytes, bytes]]]:
        """``update``, and the new inner nodes above depth ``top_levels`` with
        their positions: ``(slot, hash, node)`` as ``PositionedReader``
        numbers slots, for a cache that holds those levels by position.

        ``old`` may give the values some changed keys had before (read while
        executing, say). A key's leaf is found by its hash then, without
        reading the node: a leaf's hash covers its key and value, so a
        wrong or stale old value only fails to match and the node is read.
        """
        leaves: dict[bytes, int] = {}
        if old:
            for key in changes:
                before = old.get(key)
                if before is not None:
                    leaf = encode_leaf(key, before)
                    leaves[_node_hash(leaf)] = int.from_bytes(leaf[1:33], "big")
        items: list[_Item] = []
        for key, value in changes.items():
            if value is None:
                digest = key_hash(key)
                items.append((int.from_bytes(digest, "big"), None, None))
            else:
                leaf = encode_leaf(key, value)
                items.append(
                    (int.from_bytes(leaf[1:33], "big"), _node_hash(leaf), leaf)
                )
        items.sort(key=_item_path)
        for i in range(1, len(items)):
            if items[i][0] == items[i - 1][0]:
                raise StorageError("two keys share a SHA-256 hash")
        if not items:
            return self.root, {}, []
        return _Update(self, items, top_levels, leaves).run(self.root)

    # -- reading nodes ---------------------------------------------------------

    def _read(self, current: bytes, path: int = 0, depth: int = -1) -> bytes:
        """The node ``current``, at ``depth`` on the path of key hash ``path``
        if known (-1: position unknown)."""
        get_top = self._get_top
        if get_top is not None and 0 <= depth < self._top_levels:
            node = get_top(current, (path >> (256 - depth)) | (1 << depth))
        else:
            node = self.nodes.get(current)
        if node is None:
            raise MissingNode(current)
        tag = node[0] if node else -1
        if tag == INNER_TAG:
            if len(node) != _HASHED:
                raise CorruptStore(f"inner node {current.hex()} is not 65 bytes")
        elif tag != LEAF_TAG or len(node) < _LEAF_HEADER:
            raise CorruptStore(f"node {current.hex()} is not a tree node")
        return node

    def _is_leaf(self, current: bytes, out: Mapping[bytes, bytes]) -> bool:
        node = out.get(current)
        if node is None:
            node = self._read(current)
        return node[0] == LEAF_TAG


# A change while updating: (key hash as an int, leaf hash, leaf encoding). A
# deletion has no leaf hash; a leaf that is already stored has no encoding.
_Item = tuple[int, bytes | None, bytes | None]


def _item_path(item: _Item) -> int:
    return item[0]


class _Update:
    """One batch of changes applied to one tree (``update_placed``).

    The walk is a recursion over the sorted changes: a subtree's changes are
    a contiguous run ``[lo, hi)`` of them, split in two by the next bit of
    the key hashes. It returns subtree hashes only; whether a subtree is a
    lone leaf, which decides whether it moves up beside an empty sibling, is
    looked up in that rare case.
    """

    __slots__ = ("tree", "items", "paths", "out", "placed", "top_levels", "leaves")

    def __init__(
        self,
        tree: SparseMerkleTree,
        items: list[_Item],
        top: int,
        leaves: Mapping[bytes, int],
    ) -> None:
        self.tree = tree
        self.leaves = leaves  # hash -> key hash, of leaves known without a read
        self.items = items
        self.paths = [item[0] for item in items]
        self.out: dict[bytes, bytes] = {}
        self.placed: list[tuple[int, bytes, bytes]] = []
        self.top_levels = top

    def run(
        self, root: bytes
    ) -> tuple[bytes, dict[bytes, bytes], list[tuple[int, bytes, bytes]]]:
        new_root = self.apply(root, 0, 0, len(self.items))
        return new_root, self.out, self.placed

    def apply(self, current: bytes, depth: int, lo: int, hi: int) -> bytes:
        if current == EMPTY:
            present = [item for item in self.items[lo:hi] if item[1] is not None]
            return self.build_all(present, depth)
        known = self.leaves.get(current)
        if known is not None:
            return self.merge_leaf(current, known, depth, lo, hi)
        node = self.tree._read(current, self.paths[lo], depth)
        if node[0] == LEAF_TAG:
            # The subtree held one entry: rebuild it from that entry and the
            # changes, which is small and keeps the shape canonical.
            path = int.from_bytes(node[1:33], "big")
            return self.merge_leaf(current, path, depth, lo, hi)
        mid = self.split(self.paths, lo, hi, depth)
        left = node[1:33]
        right = node[33:65]
        if lo < mid:
            left = self.apply(left, depth + 1, lo, mid)
        if mid < hi:
            right = self.apply(right, depth + 1, mid, hi)
        return self.join(left, right, depth, self.paths[lo])

    def merge_leaf(
        self, current: bytes, path: int, depth: int, lo: int, hi: int
    ) -> bytes:
        """The subtree of the leaf ``current`` (key hash ``path``) and the
        changes ``[lo, hi)``."""
        present: list[_Item] = []
        placed = False
        for item in self.items[lo:hi]:
            if not placed and path <= item[0]:
                placed = True
                if path != item[0]:
                    present.append((path, current, None))
            if item[1] is not None:
                present.append(item)
        if not placed:
            present.append((path, current, None))
        return self.build_all(present, depth)

    def build_all(self, items: list[_Item], depth: int) -> bytes:
        paths = self.paths if items is self.items else [item[0] for item in items]
        return self.build(items, paths, 0, len(items), depth)

    def build(
        self, items: list[_Item], paths: list[int], lo: int, hi: int, depth: int
    ) -> bytes:
        """The canonical subtree of entries that are all present."""
        if hi - lo == 1:
            _, leaf_hash, leaf = items[lo]
            assert leaf_hash is not None
            if leaf is not None:
                self.out[leaf_hash] = leaf
            return leaf_hash
        if lo == hi:
            return EMPTY
        if depth >= MAX_DEPTH:
            raise StorageError("two keys share a SHA-256 hash")
        mid = self.split(paths, lo, hi, depth)
        if mid == lo or mid == hi:
            # All on one side: the other is empty, and this level is an
            # inner node over the subtree below (two entries or more).
            below = self.build(items, paths, lo, hi, depth + 1)
            if mid == lo:
                return self.inner(EMPTY, below, depth, paths[lo])
            return self.inner(below, EMPTY, depth, paths[lo])
        left = self.build(items, paths, lo, mid, depth + 1)
        right = self.build(items, paths, mid, hi, depth + 1)
        return self.inner(left, right, depth, paths[lo])

    def join(self, left: bytes, right: bytes, depth: int, path: int) -> bytes:
        """The node over two subtrees, one of which may now be empty."""
        if left == EMPTY or right == EMPTY:
            if left == right:
                return EMPTY
            other = right if left == EMPTY else left
            if self.tree._is_leaf(other, self.out):
                return other  # a lone leaf moves up
        return self.inner(left, right, depth, path)

    def inner(self, left: bytes, right: bytes, depth: int, path: int) -> bytes:
        node = b"\x01" + left + right
        digest = _sha256(node).digest()
        self.out[digest] = node
        if depth < self.top_levels:
            slot = (path >> (256 - depth)) | (1 << depth)
            self.placed.append((slot, digest, node))
        return digest

    @staticmethod
    def split(paths: list[int], lo: int, hi: int, depth: int) -> int:
        """First index in [lo, hi) whose key hash has bit ``depth`` set.

        The paths are sorted and share their first ``depth`` bits, so those
        with the bit clear come first.
        """
        shift = 255 - depth
        while lo < hi:
            mid = (lo + hi) >> 1
            if paths[mid] >> shift & 1:
                hi = mid
            else:
                lo = mid + 1
        return lo


def build_root(entries: Mapping[bytes, bytes]) -> bytes:
    """The root of a map, computed from scratch (for checks and audits)."""
    root, _ = SparseMerkleTree(MemoryNodes()).update(entries)
    return root
