"""Proofs over the authenticated state map, checkable with nothing but a root.

A light client that holds only a state root (from a header signed by the
validators) uses this module alone: it imports hashlib and the standard
library, nothing else of ours.

The map and its tree
--------------------

The state is a map from byte-string keys to byte-string values. An entry sits
in a binary tree at the path given by the 256 bits of ``key_hash``, most
significant bit of the first byte first: bit ``i`` chooses the child of a node
at depth ``i`` (the root is at depth 0), 0 for the left child, 1 for the right.

Hashes, all SHA-256, with ``||`` for concatenation:

1. ``key_hash = SHA-256(key)`` and ``value_hash = SHA-256(value)``.
2. A leaf: ``SHA-256(0x00 || key_hash || value_hash)``.
3. An inner node: ``SHA-256(0x01 || left || right)``, where ``left`` and
   ``right`` are the hashes of its two children.
4. An empty subtree: 32 zero bytes. It is never hashed.

The tree is compressed, and its shape is canonical: a subtree that holds no
entry is empty; a subtree that holds exactly one entry *is* that entry's leaf,
at the subtree's own position; a subtree that holds two entries or more is an
inner node over its two halves. So a leaf sits at the shallowest depth where
its entry is alone, the depth grows as ``log2(n)``, and the root depends only
on the set of entries, never on the order in which they were written or
removed. The empty map has the root ``EMPTY`` (32 zero bytes); a map of one
entry has that entry's leaf hash as its root.

Proofs
------

A proof about key ``K`` follows ``K``'s path from the root down to the first
node that is not an inner node, at depth ``d`` (0 to 256). It gives the hashes
of the ``d`` siblings met on the way, ``siblings[i]`` being the other child at
depth ``i + 1``, top first, and tells how the path ends (``ProofEnd``):

- ``FOUND``: at the leaf of ``K`` itself. ``K`` is present; the verifier
  recomputes that leaf from ``K`` and the claimed value.
- ``EMPTY``: in an empty subtree. ``K`` is absent.
- ``OTHER_LEAF``: at the leaf of another key, given as its ``(key_hash,
  value_hash)``; that key hash differs from ``K``'s and shares its first ``d``
  bits. ``K`` is absent, since the subtree where it would sit holds only that
  other entry.

To verify: start from ``h`` = the leaf of ``(K, value)``, ``EMPTY`` or the
other leaf; for ``i`` from ``d - 1`` down to 0, if bit ``i`` of ``K``'s key
hash is 0 then ``h = node(h, siblings[i])``, else ``h = node(siblings[i],
h)``; accept if and only if ``h`` equals the root. A verifier also rejects,
before hashing, a proof whose shape no canonical tree can have: ``d > 256``,
a sibling that is not 32 bytes, or ``d > 0`` with ``siblings[d - 1]`` empty
(the end would then have sat one level higher). The last rule is implied by
the hash, and is checked because it is cheap.

Encoded form
------------

``encode_proof`` gives a map with ``str`` keys whose values are ints, bytes or
lists of bytes, so that it encodes canonically as msgpack (sorted keys) and
as JSON with bytes in hex:

- ``"depth"``: ``d``, an int from 0 to 256.
- ``"empty"``: ``ceil(d / 8)`` bytes, a bitmap, most significant bit first:
  bit ``i`` is set if and only if ``siblings[i]`` is the empty subtree. Bits
  past ``d`` are zero.
- ``"siblings"``: the siblings that are not empty, top first, 32 bytes each.
- ``"end"``: 0 for ``FOUND``, 1 for ``EMPTY``, 2 for ``OTHER_LEAF``.
- ``"leaf"``: ``[key_hash, value_hash]`` of the other leaf for ``OTHER_LEAF``,
  else the empty list.

``decode_proof`` accepts exactly the maps that ``encode_proof`` produces, so
a proof has a single encoded form. ``proof_to_json`` and ``proof_from_json``
give the same map with every bytes value as lowercase hex.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

HASH_SIZE = 32
MAX_DEPTH = 256
EMPTY = bytes(HASH_SIZE)
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

EncodedProof = dict[str, int | bytes | list[bytes]]


class MalformedProof(ValueError):
    """An encoded proof is not the canonical encoding of any proof."""

    code = "proof.malformed"


class ProofEnd(IntEnum):
    """How a proof's path ends."""

    FOUND = 0
    EMPTY = 1
    OTHER_LEAF = 2


@dataclass(frozen=True, slots=True)
class Proof:
    """A path from the root towards one key; see the module docstring."""

    siblings: tuple[bytes, ...]
    end: ProofEnd
    # (key_hash, value_hash) of the leaf that ends the path, for OTHER_LEAF.
    leaf: tuple[bytes, bytes] | None = None

    @property
    def depth(self) -> int:
        return len(self.siblings)


def key_hash(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()


def value_hash(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


def leaf_hash(key_digest: bytes, value_digest: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + key_digest + value_digest).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def path_bit(digest: bytes, depth: int) -> int:
    """Bit ``depth`` of a key hash: 0 goes left, 1 goes right."""
    return (digest[depth >> 3] >> (7 - (depth & 7))) & 1


def common_prefix_bits(a: bytes, b: bytes) -> int:
    """How many leading bits two 32-byte hashes share (256 if equal)."""
    diff = int.from_bytes(a, "big") ^ int.from_bytes(b, "big")
    return MAX_DEPTH - diff.bit_length()


def verify(root: bytes, key: bytes, value: bytes | None, proof: Proof) -> bool:
    """Check that ``key`` maps to ``value`` (absent if None) under ``root``."""
    if value is None:
        return verify_exclusion(root, key, proof)
    return verify_inclusion(root, key, value, proof)


def verify_inclusion(root: bytes, key: bytes, value: bytes, proof: Proof) -> bool:
    """Check that ``key`` maps to ``value`` in the map whose root is ``root``."""
    if proof.end is not ProofEnd.FOUND or proof.leaf is not None:
        return False
    digest = key_hash(key)
    start = leaf_hash(digest, value_hash(value))
    return _fold_matches(root, digest, start, proof.siblings)


def verify_exclusion(root: bytes, key: bytes, proof: Proof) -> bool:
    """Check that ``key`` is absent from the map whose root is ``root``."""
    digest = key_hash(key)
    if proof.end is ProofEnd.EMPTY:
        if proof.leaf is not None:
            return False
        start = EMPTY
    elif proof.end is ProofEnd.OTHER_LEAF:
        if proof.leaf is None:
            return False
        other_key, other_value = proof.leaf
        if len(other_key) != HASH_SIZE or len(other_value) != HASH_SIZE:
            return False
        # The other leaf must sit on our path, and be somebody else's.
        if other_key == digest:
            return False
        if common_prefix_bits(other_key, digest) < proof.depth:
            return False
        start = leaf_hash(other_key, other_value)
    else:
        return False
    return _fold_matches(root, digest, start, proof.siblings)


def _fold_matches(
    root: bytes, digest: bytes, start: bytes, siblings: tuple[bytes, ...]
) -> bool:
    depth = len(siblings)
    if depth > MAX_DEPTH or len(root) != HASH_SIZE:
        return False
    if depth > 0 and siblings[-1] == EMPTY:
        return False
    current = start
    for i in range(depth - 1, -1, -1):
        sibling = siblings[i]
        if len(sibling) != HASH_SIZE:
            return False
        if path_bit(digest, i):
            current = node_hash(sibling, current)
        else:
            current = node_hash(current, sibling)
    return current == root


def encode_proof(proof: Proof) -> EncodedProof:
    """The canonical map form of a proof (see the module docstring)."""
    depth = proof.depth
    bitmap = bytearray((depth + 7) // 8)
    present: list[bytes] = []
    for i, sibling in enumerate(proof.siblings):
        if sibling == EMPTY:
            bitmap[i >> 3] |= 0x80 >> (i & 7)
        else:
            present.append(bytes(sibling))
    leaf: list[bytes] = []
    if proof.leaf is not None:
        leaf = [bytes(proof.leaf[0]), bytes(proof.leaf[1])]
    return {  # in sorted key order, as canonical msgpack writes maps
        "depth": depth,
        "empty": bytes(bitmap),
        "end": int(proof.end),
        "leaf": leaf,
        "siblings": present,
    }


_FIELDS = frozenset({"depth", "empty", "siblings", "end", "leaf"})


def decode_proof(encoded: Mapping[str, object]) -> Proof:
    """Parse the canonical map form; raise ``MalformedProof`` on anything else."""
    if not isinstance(encoded, Mapping) or set(encoded) != _FIELDS:
        raise MalformedProof(f"a proof has exactly the fields {sorted(_FIELDS)}")
    depth = encoded["depth"]
    if type(depth) is not int or not 0 <= depth <= MAX_DEPTH:
        raise MalformedProof(f"depth must be an int from 0 to {MAX_DEPTH}")
    bitmap = _bytes_field(encoded["empty"], "empty")
    if len(bitmap) != (depth + 7) // 8:
        raise MalformedProof("the empty bitmap must hold ceil(depth / 8) bytes")
    if depth % 8 and bitmap[-1] & (0xFF >> (depth % 8)):
        raise MalformedProof("bits past depth in the empty bitmap must be zero")
    present = _hash_list(encoded["siblings"], "siblings")
    if any(sibling == EMPTY for sibling in present):
        raise MalformedProof("an empty sibling belongs in the bitmap")
    siblings: list[bytes] = []
    remaining = iter(present)
    for i in range(depth):
        if bitmap[i >> 3] & (0x80 >> (i & 7)):
            siblings.append(EMPTY)
        else:
            sibling = next(remaining, None)
            if sibling is None:
                raise MalformedProof("fewer siblings than the bitmap announces")
            siblings.append(sibling)
    if next(remaining, None) is not None:
        raise MalformedProof("more siblings than the bitmap announces")
    end_value = encoded["end"]
    if type(end_value) is not int or end_value not in (0, 1, 2):
        raise MalformedProof("end must be 0 (found), 1 (empty) or 2 (other leaf)")
    end = ProofEnd(end_value)
    leaf_fields = _hash_list(encoded["leaf"], "leaf")
    leaf: tuple[bytes, bytes] | None = None
    if end is ProofEnd.OTHER_LEAF:
        if len(leaf_fields) != 2:
            raise MalformedProof("an other-leaf end carries [key_hash, value_hash]")
        leaf = (leaf_fields[0], leaf_fields[1])
    elif leaf_fields:
        raise MalformedProof("only an other-leaf end carries a leaf")
    return Proof(siblings=tuple(siblings), end=end, leaf=leaf)


def proof_to_json(proof: Proof) -> dict[str, int | str | list[str]]:
    """The encoded form with bytes as lowercase hex, for JSON."""
    encoded = encode_proof(proof)
    out: dict[str, int | str | list[str]] = {}
    for name, value in encoded.items():
        if isinstance(value, bytes):
            out[name] = value.hex()
        elif isinstance(value, list):
            out[name] = [item.hex() for item in value]
        else:
            out[name] = value
    return out


def proof_from_json(obj: Mapping[str, object]) -> Proof:
    """Parse the JSON form; raise ``MalformedProof`` on anything else."""
    if not isinstance(obj, Mapping):
        raise MalformedProof("a proof is a JSON object")
    encoded: dict[str, object] = {}
    for name, value in obj.items():
        if isinstance(value, str):
            encoded[name] = _unhex(value, name)
        elif isinstance(value, list):
            encoded[name] = [_unhex(item, name) for item in value]
        else:
            encoded[name] = value
    proof = decode_proof(encoded)
    if proof_to_json(proof) != dict(obj):
        raise MalformedProof("hex must be lowercase and the form canonical")
    return proof


def _unhex(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise MalformedProof(f"{name} must hold hex strings")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise MalformedProof(f"{name} is not hex") from exc


def _bytes_field(value: object, name: str) -> bytes:
    if type(value) is not bytes:
        raise MalformedProof(f"{name} must be bytes")
    return value


def _hash_list(value: object, name: str) -> list[bytes]:
    if not isinstance(value, list | tuple):
        raise MalformedProof(f"{name} must be a list of 32-byte hashes")
    items: list[bytes] = []
    for item in value:
        if type(item) is not bytes or len(item) != HASH_SIZE:
            raise MalformedProof(f"{name} must be a list of 32-byte hashes")
        items.append(item)
    if len(items) > MAX_DEPTH:
        raise MalformedProof(f"{name} is too long")
    return items
