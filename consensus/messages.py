"""Consensus messages between validators, and their canonical maps.

The maps have the shapes p2p's codec declares (``{"type": ..., fields}``):

    proposal        {"block": bin, "proposal": map, "type": "proposal"}
    vote            {"type": "vote", "vote": map}
    evidence        {"evidence": map, "type": "evidence"}
    status          {"hash": bin, "height": int, "type": "status"}
    block_request   {"count": int, "from_height": int, "type": "block_request"}
    block_response  {"blocks": [{"block": bin, "commit": map}, ...],
                     "type": "block_response"}

"proposal", "vote", "evidence" and "commit" are the chain.votes maps;
"block" is the chain.block encoding. Decoding is strict: a malformed map
raises a ChainError subclass (a peer's fault, never a crash).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chain import encoding
from chain.block import Block
from chain.errors import ValidationError
from chain.fields import as_map, get_bytes, get_int, get_list
from chain.votes import MAX_HEIGHT, Commit, DuplicateVoteEvidence, Proposal, Vote

MAX_BATCH = 16  # (block, commit) pairs per block_response
MAX_MESSAGE = 2 * 8 * 1024 * 1024


@dataclass(frozen=True)
class ProposalMessage:
    proposal: Proposal
    block: Block


@dataclass(frozen=True)
class VoteMessage:
    vote: Vote


@dataclass(frozen=True)
class EvidenceMessage:
    evidence: DuplicateVoteEvidence


@dataclass(frozen=True)
class StatusMessage:
    """The sender's last committed height and block hash (0 and the genesis
    hash before block 1); sent every gossip tick, it tells a validator that
    is behind whom to ask for blocks."""

    height: int
    hash: bytes


@dataclass(frozen=True)
class BlockRequest:
    """Send me the decided blocks with their commits from ``from_height``."""

    from_height: int
    count: int


@dataclass(frozen=True)
class BlockResponse:
    blocks: tuple[tuple[Block, Commit], ...]


ConsensusMessage = (
    ProposalMessage
    | VoteMessage
    | EvidenceMessage
    | StatusMessage
    | BlockRequest
    | BlockResponse
)


def to_value(message: ConsensusMessage) -> dict[str, Any]:
    if isinstance(message, ProposalMessage):
        return {
            "block": message.block.encode(),
            "proposal": message.proposal.to_value(),
            "type": "proposal",
        }
    if isinstance(message, VoteMessage):
        return {"type": "vote", "vote": message.vote.to_value()}
    if isinstance(message, EvidenceMessage):
        return {"evidence": message.evidence.to_value(), "type": "evidence"}
    if isinstance(message, StatusMessage):
        return {"hash": message.hash, "height": message.height, "type": "status"}
    if isinstance(message, BlockRequest):
        return {
            "count": message.count,
            "from_height": message.from_height,
            "type": "block_request",
        }
    return {
        "blocks": [
            {"block": block.encode(), "commit": commit.to_value()}
            for block, commit in message.blocks
        ],
        "type": "block_response",
    }


def from_value(value: Any) -> ConsensusMessage:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "proposal":
        m = as_map(value, "proposal message", ("block", "proposal", "type"))
        block = Block.decode(get_bytes(m, "block", max_size=MAX_MESSAGE))
        return ProposalMessage(Proposal.from_value(m["proposal"]), block)
    if kind == "vote":
        m = as_map(value, "vote message", ("type", "vote"))
        return VoteMessage(Vote.from_value(m["vote"]))
    if kind == "evidence":
        m = as_map(value, "evidence message", ("evidence", "type"))
        return EvidenceMessage(DuplicateVoteEvidence.from_value(m["evidence"]))
    if kind == "status":
        m = as_map(value, "status", ("hash", "height", "type"))
        return StatusMessage(
            get_int(m, "height", 0, MAX_HEIGHT), get_bytes(m, "hash", 32)
        )
    if kind == "block_request":
        m = as_map(value, "block request", ("count", "from_height", "type"))
        return BlockRequest(
            get_int(m, "from_height", 1, MAX_HEIGHT), get_int(m, "count", 1, MAX_BATCH)
        )
    if kind == "block_response":
        m = as_map(value, "block response", ("blocks", "type"))
        pairs = []
        for item in get_list(m, "blocks", MAX_BATCH):
            pair = as_map(item, "block response entry", ("block", "commit"))
            block = Block.decode(get_bytes(pair, "block", max_size=MAX_MESSAGE))
            pairs.append((block, Commit.from_value(pair["commit"])))
        return BlockResponse(tuple(pairs))
    raise ValidationError(
        f"not a consensus message: {str(kind)[:32]!r}", code="consensus.bad_message"
    )


def encode(message: ConsensusMessage) -> bytes:
    return encoding.encode(to_value(message))


def decode(data: bytes) -> ConsensusMessage:
    return from_value(encoding.decode(data, max_size=MAX_MESSAGE))
