"""The tree's definition, written as literally as possible, to test against.

This is the recursive rule of ``chain.smt_proof``'s docstring: an empty set
is the empty subtree, one entry is its leaf, more is an inner node over the
two halves split by the next bit of the key hash. It shares no code with the
incremental update in ``storage.smt``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

ZERO = bytes(32)


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def bit(digest: bytes, depth: int) -> int:
    return (digest[depth // 8] >> (7 - depth % 8)) & 1


def spec_root(entries: Mapping[bytes, bytes]) -> bytes:
    hashed = [(sha(key), sha(value)) for key, value in entries.items()]
    return _subtree(hashed, 0)


def _subtree(hashed: list[tuple[bytes, bytes]], depth: int) -> bytes:
    if not hashed:
        return ZERO
    if len(hashed) == 1:
        key_digest, value_digest = hashed[0]
        return sha(b"\x00" + key_digest + value_digest)
    left = [entry for entry in hashed if bit(entry[0], depth) == 0]
    right = [entry for entry in hashed if bit(entry[0], depth) == 1]
    return sha(b"\x01" + _subtree(left, depth + 1) + _subtree(right, depth + 1))


def keys_sharing_prefix(bits: int, count: int) -> list[bytes]:
    """``count`` small keys whose hashes share their first ``bits`` bits.

    Found by a deterministic scan, so that tests reach deep, lopsided paths
    (long runs of empty siblings) that random keys almost never produce.
    """
    groups: dict[int, list[bytes]] = {}
    candidate = 0
    while True:
        key = candidate.to_bytes(4, "big")
        prefix = int.from_bytes(sha(key)[:4], "big") >> (32 - bits)
        group = groups.setdefault(prefix, [])
        group.append(key)
        if len(group) == count:
            return group
        candidate += 1
