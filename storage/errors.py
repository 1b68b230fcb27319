"""Errors raised by the storage package.

Every error carries a stable ``code`` that the API and the logs can show. The
ones that mean "the caller asked for something impossible" (a wrong height, a
state prepared against another root) are separate from the ones that mean
"the data on disk is not what we wrote" (``CorruptStore``).
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every storage error."""

    code = "storage.error"


class StoreClosed(StorageError):
    """The store was used after ``close()``."""

    code = "storage.closed"


class BadHeight(StorageError):
    """A block was offered for a height other than the next one."""

    code = "storage.bad_height"

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"expected height {expected}, got {got}")
        self.expected = expected
        self.got = got


class StaleState(StorageError):
    """A prepared state was computed against a root that is no longer current."""

    code = "storage.stale_state"

    def __init__(self, expected_root: bytes, base_root: bytes) -> None:
        super().__init__(
            f"state prepared on root {base_root.hex()}, "
            f"but the committed root is {expected_root.hex()}"
        )
        self.expected_root = expected_root
        self.base_root = base_root


class MissingNode(StorageError):
    """A tree node is not in the node store: an unknown root, or a gap."""

    code = "storage.missing_node"

    def __init__(self, node_hash: bytes) -> None:
        super().__init__(f"no tree node {node_hash.hex()}")
        self.node_hash = node_hash


class CorruptStore(StorageError):
    """Stored bytes do not have the shape that this package writes."""

    code = "storage.corrupt"


class OverlayMisuse(StorageError):
    """An overlay was committed into something other than its own base."""

    code = "storage.overlay_misuse"
