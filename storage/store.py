"""The node's one LevelDB database: blocks, indexes, state and tree nodes.

Invariants:

1. Everything one block changes (the block, its hash index, its commit, its
   transactions' locations, its results, the state values, the new tree nodes,
   the height, last block hash and state root) is written in one LevelDB
   write batch, synced by default. A crash leaves the store at the previous
   block or at this one, never between. A caller applying a run of blocks
   (block sync, the auditor's replay) may pass ``sync=False`` for all but
   the last of them: LevelDB appends batches to its log in order and each
   batch is whole or absent, so a power loss can only drop a suffix of the
   unsynced blocks, and the store is still at a block boundary. A killed
   process loses nothing: unsynced writes are already in the OS.
2. Heights advance by exactly one. The genesis state is height 0 and comes
   first; block ``h`` is accepted only when the store is at ``h - 1``.
3. The ``S`` table holds the latest committed value of every state key and is
   always the set of entries under the committed state root.
4. Blocks, commits and results are opaque bytes here; their meaning belongs
   to ``chain``.
5. Tree nodes read or written are kept in a bounded in-memory cache. Nodes
   never change, so the cache is never stale; nodes enter it only once their
   batch is written.

Key layout (one prefix byte, heights as 8 bytes big endian so that they sort
in numeric order):

=================== ================================================
``B`` height         block bytes
``H`` block hash     height
``C`` height         the commit that decided the block at this height
``T`` tx id          height (8 bytes) and index in the block (4 bytes)
``R`` height         the block's results bytes
``O`` height         the state root after that height (0: genesis)
``S`` state key      the latest committed value
``N`` node hash      an encoded tree node (see ``storage.smt``)
``M`` name           the store's own metadata (format, height, ...)
``A`` name           metadata that the application defines
=================== ================================================
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import plyvel

from chain.smt_proof import EMPTY, HASH_SIZE, Proof
from storage.errors import (
    BadHeight,
    CorruptStore,
    StaleState,
    StorageError,
    StoreClosed,
)
from storage.smt import CachedNodes, LayeredNodes, NodeReader, SparseMerkleTree

FORMAT = b"1"
# The tree nodes kept in memory: the top 18 levels of the tree (the nodes
# that every block's paths cross) in 25 MB, and 15 MB of recently used
# nodes (those of the last block among them).
DEFAULT_NODE_CACHE_BYTES = 40 * 1024 * 1024
# LevelDB's block cache. Table files are memory mapped, and a block read
# from a map is cached only if it was compressed: tree nodes, being hashes,
# mostly are not, so a large block cache holds little.
DEFAULT_BLOCK_CACHE_BYTES = 8 * 1024 * 1024
# LevelDB maps each open table file whole, and the pages it reads stay
# resident while the file is open, so the open files (less 10 for its logs,
# at least 74) times the size of a table file bound that memory: 64 MiB
# here. LevelDB's own defaults (1,000 files of 2 MiB) map a 2 GB database
# whole. A lookup in a table that is not open opens it, which costs some
# microseconds; the node cache keeps such lookups to a few a change.
DEFAULT_MAX_OPEN_FILES = 74
MIN_OPEN_FILES = 74  # LevelDB raises a smaller max_open_files to this
DEFAULT_MAX_FILE_BYTES = 1024 * 1024
# LevelDB's memtable. With its default of 4 MiB, the level-0 files that a
# steady stream of blocks flushes (their keys are hashes, so each overlaps
# every table below) outran compaction: about every 200 MB written, a write
# stopped for 0.36 to 1.7 s until compaction caught up. At 8 MiB no write
# took more than 19 ms and the mean write was 14-22 % cheaper (16 MiB:
# 38-48 % cheaper, for 16 MiB more memory). ``python -m bench.writes``
# measures it; a flush holds two memtables at most, 16 MiB here.
DEFAULT_WRITE_BUFFER_BYTES = 8 * 1024 * 1024
# What ``cache_nodes`` (a bound in nodes, kept for callers that give one)
# counts a node as: a little more than an inner node costs cached.
NODE_BYTES = 250

# Tables are written uncompressed. Most of what a store holds is tree
# nodes, which are hashes and do not compress, so snappy only cost CPU in
# every compaction: block sync took 25 % more CPU with it, for a database
# 8 % smaller. A store written either way reads the same (LevelDB marks
# each block's compression).
DEFAULT_COMPRESSION: str | None = None

_BLOCK = b"B"
_BLOCK_HASH = b"H"
_COMMIT = b"C"
_TX = b"T"
_RESULTS = b"R"
_ROOT_AT = b"O"
_STATE = b"S"
_NODE = b"N"
_APP_META = b"A"
_META_FORMAT = b"Mformat"
_META_HEIGHT = b"Mheight"
_META_LAST_HASH = b"Mlast_hash"
_META_ROOT = b"Mstate_root"


@dataclass(frozen=True, slots=True)
class TxLocation:
    """Where a transaction sits: its block's height and its index there."""

    height: int
    index: int


@dataclass(frozen=True, slots=True)
class PreparedState:
    """A state computed but not written: ``Store.prepare``'s result."""

    base_root: bytes
    root: bytes
    changes: Mapping[bytes, bytes | None]  # key order; None deletes
    nodes: Mapping[bytes, bytes]  # tree nodes to write
    # The new inner nodes of the node cache's top levels, by position.
    placed: Sequence[tuple[int, bytes, bytes]] = ()


def _height_key(prefix: bytes, height: int) -> bytes:
    return prefix + height.to_bytes(8, "big")


class LevelNodes:
    """The tree nodes of a store, as a ``NodeReader``."""

    __slots__ = ("_db",)

    def __init__(self, db: Any) -> None:
        self._db = db

    def get(self, node_hash: bytes, /) -> bytes | None:
        node: bytes | None = self._db.get(_NODE + node_hash)
        return node


class CommittedState:
    """The committed state values of a store, as a ``StateReader``."""

    __slots__ = ("_db",)

    def __init__(self, db: Any) -> None:
        self._db = db

    def get(self, key: bytes, /) -> bytes | None:
        value: bytes | None = self._db.get(_STATE + key)
        return value

    def iter_prefix(self, prefix: bytes = b"", /) -> Iterator[tuple[bytes, bytes]]:
        # A LevelDB iterator reads from an implicit snapshot taken here.
        iterator = self._db.iterator(prefix=_STATE + prefix)
        return ((key[1:], value) for key, value in iterator)


def open_leveldb(
    path: str | os.PathLike[str],
    *,
    create: bool = True,
    cache_bytes: int = DEFAULT_BLOCK_CACHE_BYTES,
    max_open_files: int = DEFAULT_MAX_OPEN_FILES,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    write_buffer_bytes: int = DEFAULT_WRITE_BUFFER_BYTES,
    compression: str | None = DEFAULT_COMPRESSION,
) -> Any:
    """The LevelDB database under a store, opened with the store's settings
    (the parameters of ``Store.open``); CorruptStore or StorageError."""
    try:
        return plyvel.DB(
            os.fspath(path),
            create_if_missing=create,
            bloom_filter_bits=10,
            lru_cache_size=cache_bytes,
            max_open_files=max_open_files,
            max_file_size=max_file_bytes,
            write_buffer_size=write_buffer_bytes,
            compression=compression,
        )
    except plyvel.CorruptionError as exc:
        raise CorruptStore(f"cannot open {os.fspath(path)}: {exc}") from exc
    except (plyvel.Error, OSError) as exc:
        raise StorageError(f"cannot open {os.fspath(path)}: {exc}") from exc


class Store:
    """One node's database. Not thread safe: one writer, the node's own."""

    def __init__(
        self, db: Any, node_cache_bytes: int = DEFAULT_NODE_CACHE_BYTES
    ) -> None:
        self._db: Any = db
        self._nodes = CachedNodes(LevelNodes(db), node_cache_bytes)
        self._state = CommittedState(db)
        self._initialized = False
        self._height = 0
        self._last_hash: bytes | None = None
        self._root = EMPTY
        self._load_meta()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        cache_bytes: int = DEFAULT_BLOCK_CACHE_BYTES,
        node_cache_bytes: int = DEFAULT_NODE_CACHE_BYTES,
        cache_nodes: int | None = None,
        max_open_files: int = DEFAULT_MAX_OPEN_FILES,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        write_buffer_bytes: int = DEFAULT_WRITE_BUFFER_BYTES,
        compression: str | None = DEFAULT_COMPRESSION,
    ) -> Store:
        """Open (by default create) the database at ``path``.

        ``cache_bytes`` is LevelDB's block cache; ``node_cache_bytes`` bounds
        the tree nodes kept in memory, which is what makes ``prepare`` fast on
        a large state (``cache_nodes``, if given, bounds them as that many
        nodes of ``NODE_BYTES`` instead); ``max_open_files`` (at least 74)
        and ``max_file_bytes`` bound LevelDB's open, memory-mapped, table files
        and so the memory they take (see ``DEFAULT_MAX_OPEN_FILES``);
        ``write_buffer_bytes`` is LevelDB's memtable (see
        ``DEFAULT_WRITE_BUFFER_BYTES``); ``compression`` is LevelDB's
        compression of new tables, ``"snappy"`` or None (see
        ``DEFAULT_COMPRESSION``).
        """
        if cache_nodes is not None:
            node_cache_bytes = cache_nodes * NODE_BYTES
        db = open_leveldb(
            path,
            create=create,
            cache_bytes=cache_bytes,
            max_open_files=max_open_files,
            max_file_bytes=max_file_bytes,
            write_buffer_bytes=write_buffer_bytes,
            compression=compression,
        )
        try:
            return cls(db, node_cache_bytes)
        except BaseException:
            db.close()
            raise

    def close(self) -> None:
        if self._db is not None:
            self._nodes.close()
            self._db.close()
            self._db = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- where the chain stands ----------------------------------------------

    @property
    def initialized(self) -> bool:
        """Whether the genesis state (height 0) has been written."""
        return self._initialized

    @property
    def height(self) -> int:
        """The last committed height; 0 for genesis or an empty store."""
        return self._height

    @property
    def last_block_hash(self) -> bytes | None:
        """The hash of the block at ``height``; None before block 1."""
        return self._last_hash

    @property
    def state_root(self) -> bytes:
        """The state root after ``height`` (the empty root if nothing is)."""
        return self._root

    def state_root_at(self, height: int) -> bytes | None:
        return self._get(_height_key(_ROOT_AT, height))

    def get_meta(self, name: str) -> bytes | None:
        """Application metadata, as last written by a commit."""
        return self._get(_APP_META + name.encode())

    # -- state -----------------------------------------------------------

    @property
    def state(self) -> CommittedState:
        """The committed state values, to read or to put an overlay on."""
        self._live()
        return self._state

    @property
    def nodes(self) -> NodeReader:
        self._live()
        return self._nodes

    @property
    def node_cache_bytes(self) -> int:
        """The bound of the tree-node cache, in bytes."""
        return self._nodes.capacity

    @property
    def node_reads(self) -> int:
        """Tree nodes read from LevelDB since opening: the cache's misses."""
        return self._nodes.reads

    def state_get(self, key: bytes) -> bytes | None:
        return self._get(_STATE + key)

    def state_iter(self, prefix: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        """Committed (key, value) pairs under ``prefix``, in key order."""
        return self.state.iter_prefix(prefix)

    def tree(self, root: bytes | None = None) -> SparseMerkleTree:
        """The state tree at ``root`` (default: the committed one)."""
        return SparseMerkleTree(self.nodes, self._root if root is None else root)

    def prove(self, key: bytes, root: bytes | None = None) -> Proof:
        """A proof of ``key`` under ``root`` (default: the committed root).

        Raises ``MissingNode`` for a root whose nodes this store lacks.
        """
        return self.tree(root).prove(key)

    def prepare(
        self,
        changes: Mapping[bytes, bytes | None],
        on: PreparedState | None = None,
        old: Mapping[bytes, bytes | None] | None = None,
    ) -> PreparedState:
        """Compute the state after ``changes``, writing nothing.

        By default on the committed state; ``on`` stacks the changes on a
        state prepared but not committed yet. ``old``, values the changed
        keys had before as far as the caller read them, spares reading
        their leaves (``SparseMerkleTree.update_placed``).
        """
        if on is None:
            tree = self.tree()
        else:
            tree = SparseMerkleTree(LayeredNodes(on.nodes, self.nodes), on.root)
        root, nodes, placed = tree.update_placed(changes, self._nodes.top_levels, old)
        ordered = dict(sorted(changes.items()))
        return PreparedState(
            base_root=tree.root, root=root, changes=ordered, nodes=nodes, placed=placed
        )

    # -- writes ------------------------------------------------------------

    def commit_genesis(
        self, state: PreparedState, meta: Mapping[str, bytes | None] | None = None
    ) -> None:
        """Write the genesis state as height 0."""
        db = self._live()
        if self._initialized:
            raise BadHeight(expected=self._height + 1, got=0)
        self._check_base(state)
        batch = db.write_batch(sync=True)
        batch.put(_META_FORMAT, FORMAT)
        self._put_state(batch, state, 0, meta)
        batch.write()
        self._nodes.remember(state.nodes, state.placed)
        self._initialized = True
        self._root = state.root

    def commit_block(
        self,
        *,
        height: int,
        block_hash: bytes,
        block: bytes,
        commit: bytes,
        txids: Sequence[bytes],
        results: bytes,
        state: PreparedState,
        meta: Mapping[str, bytes | None] | None = None,
        sync: bool = True,
    ) -> None:
        """Write everything block ``height`` changes, in one batch.

        The batch is synced unless ``sync`` is false (see invariant 1).
        """
        db = self._live()
        expected = self._height + 1 if self._initialized else 0
        if height != expected or height == 0:
            raise BadHeight(expected=expected, got=height)
        if len(block_hash) != HASH_SIZE:
            raise StorageError(f"a block hash is {HASH_SIZE} bytes")
        if len(txids) >= 2**32:
            raise StorageError("too many transactions for the index")
        self._check_base(state)
        batch = db.write_batch(sync=sync)
        batch.put(_height_key(_BLOCK, height), block)
        batch.put(_BLOCK_HASH + block_hash, height.to_bytes(8, "big"))
        batch.put(_height_key(_COMMIT, height), commit)
        batch.put(_height_key(_RESULTS, height), results)
        location = height.to_bytes(8, "big")
        for index, txid in enumerate(txids):
            batch.put(_TX + txid, location + index.to_bytes(4, "big"))
        batch.put(_META_LAST_HASH, block_hash)
        self._put_state(batch, state, height, meta)
        batch.write()
        self._nodes.remember(state.nodes, state.placed)
        self._height = height
        self._last_hash = block_hash
        self._root = state.root

    def _check_base(self, state: PreparedState) -> None:
        if state.base_root != self._root:
            raise StaleState(expected_root=self._root, base_root=state.base_root)

    @staticmethod
    def _put_state(
        batch: Any,
        state: PreparedState,
        height: int,
        meta: Mapping[str, bytes | None] | None,
    ) -> None:
        for key, value in state.changes.items():
            if value is None:
                batch.delete(_STATE + key)
            else:
                batch.put(_STATE + key, value)
        for node_hash, node in state.nodes.items():
            batch.put(_NODE + node_hash, node)
        for name, meta_value in sorted((meta or {}).items()):
            if meta_value is None:
                batch.delete(_APP_META + name.encode())
            else:
                batch.put(_APP_META + name.encode(), meta_value)
        batch.put(_height_key(_ROOT_AT, height), state.root)
        batch.put(_META_ROOT, state.root)
        batch.put(_META_HEIGHT, height.to_bytes(8, "big"))

    def sync(self) -> None:
        """Make every block committed so far durable (after ``sync=False``).

        Rewrites the stored height in a synced batch: LevelDB syncs its log,
        and with it every batch written before.
        """
        db = self._live()
        batch = db.write_batch(sync=True)
        batch.put(_META_HEIGHT, self._height.to_bytes(8, "big"))
        batch.write()

    def compact(self) -> None:
        """Compact the whole database, after a bulk write such as an import.

        LevelDB compacts in the background anyway; a very large batch (a
        genesis of a million keys, an imported chain) leaves it far behind,
        and the next commits then stall while it catches up.
        """
        self._live().compact_range()

    # -- blocks and indexes -------------------------------------------------

    def get_block(self, height: int) -> bytes | None:
        return self._get(_height_key(_BLOCK, height))

    def get_block_height(self, block_hash: bytes) -> int | None:
        raw = self._get(_BLOCK_HASH + block_hash)
        return None if raw is None else int.from_bytes(raw, "big")

    def get_block_by_hash(self, block_hash: bytes) -> bytes | None:
        height = self.get_block_height(block_hash)
        return None if height is None else self.get_block(height)

    def get_commit(self, height: int) -> bytes | None:
        return self._get(_height_key(_COMMIT, height))

    def get_results(self, height: int) -> bytes | None:
        return self._get(_height_key(_RESULTS, height))

    def get_tx_location(self, txid: bytes) -> TxLocation | None:
        raw = self._get(_TX + txid)
        if raw is None:
            return None
        if len(raw) != 12:
            raise CorruptStore(f"tx index entry for {txid.hex()} is {len(raw)} bytes")
        return TxLocation(
            int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:], "big")
        )

    # -- internals -----------------------------------------------------------

    def _live(self) -> Any:
        if self._db is None:
            raise StoreClosed("the store is closed")
        return self._db

    def _get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._live().get(key)
        return value

    def _load_meta(self) -> None:
        raw_height = self._get(_META_HEIGHT)
        if raw_height is None:
            return
        if self._get(_META_FORMAT) != FORMAT:
            raise CorruptStore("unknown store format")
        if len(raw_height) != 8:
            raise CorruptStore("the stored height is not 8 bytes")
        height = int.from_bytes(raw_height, "big")
        root = self._get(_META_ROOT)
        if root is None or len(root) != HASH_SIZE:
            raise CorruptStore("the stored state root is missing or malformed")
        if self._get(_height_key(_ROOT_AT, height)) != root:
            raise CorruptStore(f"the state root of height {height} disagrees")
        if root != EMPTY and self._nodes.get(root) is None:
            raise CorruptStore("the state root's tree node is missing")
        last_hash = self._get(_META_LAST_HASH)
        if height > 0:
            if last_hash is None or self.get_block_height(last_hash) != height:
                raise CorruptStore(f"the last block hash does not index {height}")
        elif last_hash is not None:
            raise CorruptStore("a block hash is stored before block 1")
        self._initialized = True
        self._height = height
        self._last_hash = last_hash
        self._root = root
