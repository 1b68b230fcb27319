"""The crash test's child: commits blocks of a fixed workload until killed.

Run as ``python -m tests.storage.crash_writer DB_PATH [unsynced]``. With
``unsynced``, only every eighth block is written with ``sync=True``, as block
sync and the auditor do for a run of blocks. It resumes from the
store's height, prints ``ready`` once it has committed a block, and stops by
itself after ``MAX_BLOCKS`` blocks in case nobody kills it.

The workload is a function of the height alone, so the test can recompute
the exact state of any height without the child's help.
"""

from __future__ import annotations

import hashlib
import sys

from storage.store import Store

MAX_BLOCKS = 20_000
NEW_KEYS = 40
REWRITTEN = 10
DELETED = range(30, 36)

GENESIS = {b"meta/chain": b"crash-test", b"meta/version": b"1"}


def _digest(*parts: object) -> bytes:
    return hashlib.sha256(repr(parts).encode()).digest()


def entry_key(height: int, index: int) -> bytes:
    return b"k/%08d/%02d" % (height, index)


def changes_for(height: int) -> dict[bytes, bytes | None]:
    """What block ``height`` writes: new keys, rewrites and deletions."""
    changes: dict[bytes, bytes | None] = {}
    for index in range(NEW_KEYS):
        changes[entry_key(height, index)] = _digest("new", height, index) * (
            1 + index % 3
        )
    if height // 2 >= 1:
        for index in range(REWRITTEN):
            changes[entry_key(height // 2, index)] = b"rewritten at %d" % height
    if height - 3 >= 1:
        for index in DELETED:
            changes[entry_key(height - 3, index)] = None
    return changes


def state_at(height: int) -> dict[bytes, bytes]:
    state = dict(GENESIS)
    for h in range(1, height + 1):
        for key, value in changes_for(h).items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
    return state


def block_hash(height: int) -> bytes:
    return _digest("block", height)


def block_bytes(height: int) -> bytes:
    return b"block %d" % height


def txids(height: int) -> list[bytes]:
    return [_digest("tx", height, index) for index in range(3)]


def main(path: str, unsynced: bool = False) -> None:
    with Store.open(path) as store:
        if not store.initialized:
            store.commit_genesis(store.prepare(GENESIS))
        for count in range(MAX_BLOCKS):
            height = store.height + 1
            store.commit_block(
                height=height,
                block_hash=block_hash(height),
                block=block_bytes(height),
                commit=b"commit %d" % height,
                txids=txids(height),
                results=b"results %d" % height,
                state=store.prepare(changes_for(height)),
                sync=not unsynced or height % 8 == 0,
            )
            if count == 0:
                sys.stdout.write("ready\n")
                sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], unsynced=sys.argv[2:] == ["unsynced"])
