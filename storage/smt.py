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
from collections.abc import Callable, Iterator, Mapping
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

# What a subtree is, as far as the update needs to know.
_EMPTY_KIND = 0
_LEAF_KIND = 1
_INNER_KIND = 2
_UNKNOWN_KIND = 3  # an untouched subtree whose node was not read

# A change while updating: (key_hash, leaf_hash, leaf_encoding). A deletion
# has no leaf hash; a leaf that is already stored has no encoding to write.
_Item = tuple[bytes, bytes | None, bytes | None]
_Subtree = tuple[bytes, int]

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

    __slots__ = ("pending", "base")

    def __init__(self, pending: Mapping[bytes, bytes], base: NodeReader) -> None:
        self.pending = pending
        self.base = base

    def get(self, node_hash: bytes, /) -> bytes | None:
        node = self.pending.get(node_hash)
        if node is None:
            return self.base.get(node_hash)
        return node

    def get_at(self, node_hash: bytes, digest: bytes, depth: int, /) -> bytes | None:
        node = self.pending.get(node_hash)
        if node is None:
            base_at = getattr(self.base, "get_at", None)
            if base_at is None:
                return self.base.get(node_hash)
            node = base_at(node_hash, digest, depth)
        return node


class PathNodeReader(NodeReader, Protocol):
    """A node reader that is also told where on a path a node is read.

    ``digest`` is the key hash being followed and ``depth`` the node's depth
    on its path, which together name the node's position in the tree.
    """

    def get_at(
        self, node_hash: bytes, digest: bytes, depth: int, /
    ) -> bytes | None: ...


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

    def get_at(self, node_hash: bytes, digest: bytes, depth: int, /) -> bytes | None:
        top = self._top
        if top is None or depth >= self.top_levels:
            return self.get(node_hash)
        slot = (int.from_bytes(digest, "big") >> (256 - depth)) | (1 << depth)
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

    def remember(self, nodes: Mapping[bytes, bytes]) -> None:
        """Cache nodes just written, as ``update`` returns them.

        Each block rewrites the nodes on its paths, so the top levels hold
        the new versions at once: walking down from the new root (the last
        node of an update, which writes children before parents) places them
        by position. Other nodes go to the recent generations. Nodes in
        another order are only cached less well.
        """
        placed: set[bytes] = set()
        if self._top is not None and nodes:
            root = next(reversed(nodes)) if isinstance(nodes, dict) else b""
            placed = self._place(root, nodes)
        for node_hash, node in nodes.items():
            if node_hash not in placed:
                self._keep(node_hash, node)

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

    __slots__ = ("nodes", "root", "_get_at")

    def __init__(self, nodes: NodeReader, root: bytes = EMPTY) -> None:
        if len(root) != HASH_SIZE:
            raise StorageError(f"a root is {HASH_SIZE} bytes, not {len(root)}")
        self.nodes = nodes
        self.root = root
        get_at = getattr(nodes, "get_at", None)
        self._get_at: Callable[[bytes, bytes, int], bytes | None] = (
            get_at if get_at is not None else _positionless(nodes)
        )

    # -- reads -------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        digest = key_hash(key)
        current = self.root
        depth = 0
        while current != EMPTY:
            node = self._read(current, digest, depth)
            if node[0] == LEAF_TAG:
                if node[1:33] != digest:
                    return None
                return decode_leaf(node)[1]
            current = node[33:65] if _bit(digest, depth) else node[1:33]
            depth += 1
        return None

    def prove(self, key: bytes) -> Proof:
        """A proof of ``key``'s value, or of its absence, under this root."""
        digest = key_hash(key)
        siblings: list[bytes] = []
        current = self.root
        depth = 0
        while current != EMPTY:
            node = self._read(current, digest, depth)
            if node[0] == LEAF_TAG:
                leaf_key = node[1:33]
                if leaf_key == digest:
                    return Proof(tuple(siblings), ProofEnd.FOUND)
                return Proof(
                    tuple(siblings), ProofEnd.OTHER_LEAF, (leaf_key, node[33:65])
                )
            if _bit(digest, depth):
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
        items: list[_Item] = []
        for key, value in changes.items():
            if value is None:
                items.append((key_hash(key), None, None))
            else:
                leaf = encode_leaf(key, value)
                items.append((leaf[1:33], _node_hash(leaf), leaf))
        items.sort(key=_item_key)
        for i in range(1, len(items)):
            if items[i][0] == items[i - 1][0]:
                raise StorageError("two keys share a SHA-256 hash")
        new_nodes: dict[bytes, bytes] = {}
        if not items:
            return self.root, new_nodes
        root, _ = self._apply(self.root, 0, items, 0, len(items), new_nodes)
        return root, new_nodes

    def _apply(
        self,
        current: bytes,
        depth: int,
        items: list[_Item],
        lo: int,
        hi: int,
        out: dict[bytes, bytes],
    ) -> _Subtree:
        if current == EMPTY:
            present = [item for item in items[lo:hi] if item[1] is not None]
            return self._build(depth, present, 0, len(present), out)
        node = self._read(current, items[lo][0], depth)
        if node[0] == LEAF_TAG:
            # The subtree held one entry: rebuild it from that entry and the
            # changes, which is small and keeps the shape canonical.
            return self._merge_leaf(current, node, depth, items, lo, hi, out)
        mid = _split(items, lo, hi, depth)
        left: _Subtree = (node[1:33], _UNKNOWN_KIND)
        right: _Subtree = (node[33:65], _UNKNOWN_KIND)
        if lo < mid:
            left = self._apply(left[0], depth + 1, items, lo, mid, out)
        if mid < hi:
            right = self._apply(right[0], depth + 1, items, mid, hi, out)
        return self._join(left, right, out)

    def _merge_leaf(
        self,
        current: bytes,
        node: bytes,
        depth: int,
        items: list[_Item],
        lo: int,
        hi: int,
        out: dict[bytes, bytes],
    ) -> _Subtree:
        digest = node[1:33]
        present: list[_Item] = []
        placed = False
        for item in items[lo:hi]:
            if not placed and digest <= item[0]:
                placed = True
                if digest != item[0]:
                    present.append((digest, current, None))
            if item[1] is not None:
                present.append(item)
        if not placed:
            present.append((digest, current, None))
        return self._build(depth, present, 0, len(present), out)

    def _build(
        self,
        depth: int,
        items: list[_Item],
        lo: int,
        hi: int,
        out: dict[bytes, bytes],
    ) -> _Subtree:
        """The canonical subtree of entries that are all present."""
        if lo == hi:
            return EMPTY, _EMPTY_KIND
        if hi - lo == 1:
            _, leaf_hash, leaf = items[lo]
            assert leaf_hash is not None
            if leaf is not None:
                out[leaf_hash] = leaf
            return leaf_hash, _LEAF_KIND
        if depth >= MAX_DEPTH:
            raise StorageError("two keys share a SHA-256 hash")
        mid = _split(items, lo, hi, depth)
        left = self._build(depth + 1, items, lo, mid, out)
        right = self._build(depth + 1, items, mid, hi, out)
        return self._join(left, right, out)

    def _join(
        self, left: _Subtree, right: _Subtree, out: dict[bytes, bytes]
    ) -> _Subtree:
        left_hash, left_kind = left
        right_hash, right_kind = right
        if left_hash == EMPTY or right_hash == EMPTY:
            if left_hash == right_hash:
                return EMPTY, _EMPTY_KIND
            other_hash, other_kind = right if left_hash == EMPTY else left
            if other_kind == _UNKNOWN_KIND:
                other_kind = self._kind(other_hash)
            if other_kind == _LEAF_KIND:
                return other_hash, _LEAF_KIND  # a lone leaf moves up
        node = b"\x01" + left_hash + right_hash
        digest = _sha256(node).digest()
        out[digest] = node
        return digest, _INNER_KIND

    def _kind(self, current: bytes) -> int:
        if current == EMPTY:
            return _EMPTY_KIND
        return _LEAF_KIND if self._read(current)[0] == LEAF_TAG else _INNER_KIND

    def _read(self, current: bytes, digest: bytes = b"", depth: int = -1) -> bytes:
        """The node ``current``, at ``depth`` on ``digest``'s path if known."""
        if depth < 0:
            node = self.nodes.get(current)
        else:
            node = self._get_at(current, digest, depth)
        if node is None:
            raise MissingNode(current)
        tag = node[0] if node else -1
        if tag == INNER_TAG:
            if len(node) != _HASHED:
                raise CorruptStore(f"inner node {current.hex()} is not 65 bytes")
        elif tag != LEAF_TAG or len(node) < _LEAF_HEADER:
            raise CorruptStore(f"node {current.hex()} is not a tree node")
        return node


def _positionless(
    nodes: NodeReader,
) -> Callable[[bytes, bytes, int], bytes | None]:
    def get_at(node_hash: bytes, digest: bytes, depth: int, /) -> bytes | None:
        return nodes.get(node_hash)

    return get_at


def build_root(entries: Mapping[bytes, bytes]) -> bytes:
    """The root of a map, computed from scratch (for checks and audits)."""
    root, _ = SparseMerkleTree(MemoryNodes()).update(entries)
    return root


def _item_key(item: _Item) -> bytes:
    return item[0]


def _bit(digest: bytes, depth: int) -> int:
    return (digest[depth >> 3] >> (7 - (depth & 7))) & 1


def _split(items: list[_Item], lo: int, hi: int, depth: int) -> int:
    """First index in [lo, hi) whose key hash has bit ``depth`` set.

    The items are sorted by key hash and share their first ``depth`` bits,
    so those with the bit clear come first.
    """
    index = depth >> 3
    mask = 0x80 >> (depth & 7)
    while lo < hi:
        mid = (lo + hi) >> 1
        if items[mid][0][index] & mask:
            hi = mid
        else:
            lo = mid + 1
    return lo
