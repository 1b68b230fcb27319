"""SHA-256 and the RFC 6962 Merkle tree over ordered lists.

Invariants:

1. Leaves are hashed as ``H(0x00 || leaf)`` and inner nodes as
   ``H(0x01 || left || right)``, so a leaf can never pass for a node.
2. The tree shape is RFC 6962 §2.1: for n > 1 items, the left subtree holds
   the largest power of two strictly smaller than n. The root of the empty
   list is ``H()`` (the hash of no bytes).
3. An inclusion proof is the audit path of RFC 6962 §2.1.1, leaf to root.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from chain.errors import ValidationError

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(_root_of_hashes(hashes[:k]), _root_of_hashes(hashes[k:]))


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle Tree Hash of ``leaves``."""
    if not leaves:
        return sha256(b"")
    return _root_of_hashes([leaf_hash(leaf) for leaf in leaves])


def _path(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return _path(index, hashes[:k]) + [_root_of_hashes(hashes[k:])]
    return _path(index - k, hashes[k:]) + [_root_of_hashes(hashes[:k])]


def merkle_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Audit path for ``leaves[index]``: sibling hashes from the leaf upwards."""
    if not 0 <= index < len(leaves):
        raise ValidationError(f"index {index} outside 0..{len(leaves) - 1}")
    return _path(index, [leaf_hash(leaf) for leaf in leaves])


def verify_merkle_proof(
    root: bytes, leaf: bytes, index: int, size: int, path: Sequence[bytes]
) -> bool:
    """Check an audit path (RFC 6962 §2.1.1 verification, as in RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    current = leaf_hash(leaf)
    for sibling in path:
        if len(sibling) != HASH_SIZE or sn == 0:
            return False
        if fn & 1 or fn == sn:
            current = node_hash(sibling, current)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            current = node_hash(current, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and current == root
