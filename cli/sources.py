"""Where a chain is read from: a node's home, a node's API, a chain file.

Each source yields ``Record``s from height 1 upwards and trusts nothing it
reads; the replay checks it all. A home's store is opened only to read: no
command here ever writes to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from cli.client import BadResponse, NodeClient, unhex
from cli.errors import Failed
from cli.replay import Divergence, Record
from node.config import Home
from storage.errors import StorageError
from storage.store import Store


def open_home_store(root: Path) -> Store:
    """The home's LevelDB store, for reading; a clear error if a node holds it."""
    path = Home(root).db
    if not path.is_dir():
        raise Failed("home.no_store", f"{root} has no store at {path}")
    try:
        return Store.open(path, create=False)
    except StorageError as exc:
        if "lock" in str(exc).lower():
            raise Failed(
                "home.locked",
                f"the store in {root} is locked: a node is running on it."
                " Audit through its API instead: --node http://<its api address>",
            ) from exc
        raise Failed(getattr(exc, "code", "storage.error"), str(exc)) from exc


def store_records(store: Store) -> Iterator[Record]:
    """The blocks and commits of a node's store."""
    for height in range(1, store.height + 1):
        block = store.get_block(height)
        commit = store.get_commit(height)
        if block is None or commit is None:
            missing = "block" if block is None else "commit"
            raise Divergence(height, missing, "stored", "missing")
        yield Record(height, block, commit)


def node_records(client: NodeClient, last: int, page: int = 100) -> Iterator[Record]:
    """Blocks 1..last from the node's API, a page at a time."""
    height = 1
    while height <= last:
        items = client.blocks(height, min(page, last - height + 1))
        if not items:
            raise BadResponse(f"the node has no block {height} (it said {last})")
        for item in items:
            if not isinstance(item, dict) or item.get("height") != height:
                raise BadResponse(f"expected block {height} in the page")
            yield Record(
                height,
                unhex(item.get("block_raw"), "block_raw"),
                unhex(item.get("commit_raw"), "commit_raw"),
            )
            height += 1
            if height > last:
                return


def node_height(client: NodeClient) -> int:
    height = client.status().get("height")
    if not isinstance(height, int) or isinstance(height, bool) or height < 0:
        raise BadResponse(f"status height is not a height: {height!r}")
    return height
