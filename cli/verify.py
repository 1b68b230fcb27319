"""Checking a node's state answer without trusting the node.

The chain of evidence, each link checked in order:

1. the key is ``<module>/<path>``, the one asked for;
2. the value (or its absence) is in the state map under ``state_root``,
   by the SMT proof (chain.smt_proof);
3. ``state_root`` is the one in the header (``header_raw``), for the height
   the answer claims, on the genesis chain, signed for the genesis set;
4. the commit (``commit_raw``) is for that header's hash at that height, and
   more than two thirds of the genesis validators' power signed it.

The validator set never changes (node.application, invariant 4), so the
genesis set is the set that signs every height. Only then is the value
decoded and shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chain import encoding
from chain.block import Header
from chain.errors import ChainError
from chain.genesis import Genesis
from chain.hashing import sha256
from chain.smt_proof import (
    MalformedProof,
    proof_from_json,
    verify_exclusion,
    verify_inclusion,
)
from chain.votes import Commit


class Rejected(Exception):
    """The answer does not verify; ``step`` names the link that broke."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message


@dataclass(frozen=True)
class Verified:
    key: bytes
    value_raw: bytes | None  # None: proven absent
    value: Any
    height: int
    state_root: bytes
    block_hash: bytes
    signers: int


def state_key(module: str, path: str) -> bytes:
    return module.encode() + b"/" + path.encode("utf-8")


def verify_state(
    answer: dict[str, Any], module: str, path: str, gen: Genesis
) -> Verified:
    key = state_key(module, path)
    if _hex(answer.get("key"), "key") != key:
        raise Rejected("key", f"the answer is about another key than {key!r}")
    raw = answer.get("value_raw")
    value_raw = None if raw is None else _hex(raw, "value_raw")
    header_raw = _hex(answer.get("header_raw"), "header_raw")
    try:
        header = Header.from_value(encoding.decode(header_raw))
    except ChainError as exc:
        raise Rejected("header", f"header_raw does not decode: {exc}") from exc
    root = _hex(answer.get("state_root"), "state_root")
    _check_proof(answer.get("proof"), header.state_root, key, value_raw)
    if root != header.state_root:
        raise Rejected("state_root", "state_root is not the header's")
    if answer.get("height") != header.height:
        raise Rejected(
            "height",
            f"the answer says {answer.get('height')!r}, the header {header.height}",
        )
    if header.chain != gen.chain_id:
        raise Rejected("header", f"the header is for chain {header.chain!r}")
    if header.validators_hash != gen.validators.hash:
        raise Rejected("header", "the header names another validator set")
    block_hash = sha256(header_raw)
    commit = _commit(answer.get("commit_raw"))
    try:
        commit.verify(gen.chain_id, gen.validators, header.height, block_hash)
    except ChainError as exc:
        raise Rejected("commit", exc.message) from exc
    value = None
    if value_raw is not None:
        try:
            value = encoding.decode(value_raw)
        except ChainError as exc:
            raise Rejected("value", f"the proven value does not decode: {exc}") from exc
    return Verified(
        key, value_raw, value, header.height, root, block_hash, len(commit.signatures)
    )


def _check_proof(
    encoded: Any, root: bytes, key: bytes, value_raw: bytes | None
) -> None:
    if not isinstance(encoded, dict):
        raise Rejected("proof", "the answer has no proof")
    try:
        proof = proof_from_json(encoded)
    except MalformedProof as exc:
        raise Rejected("proof", str(exc)) from exc
    if value_raw is None:
        if not verify_exclusion(root, key, proof):
            raise Rejected("proof", "the proof does not show the key absent")
    elif not verify_inclusion(root, key, value_raw, proof):
        raise Rejected("proof", "the value is not the one under the header's root")


def _commit(raw: Any) -> Commit:
    try:
        return Commit.decode(_hex(raw, "commit_raw"))
    except ChainError as exc:
        raise Rejected("commit", f"commit_raw does not decode: {exc}") from exc


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise Rejected(what, "missing or not a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise Rejected(what, "is not hex") from exc
