"""Consensus messages: canonical round trips, strict decoding, and agreement
with the p2p codec's schemas."""

from __future__ import annotations

import pytest

from chain.errors import ChainError
from chain.votes import Commit, DuplicateVoteEvidence
from consensus import messages
from consensus.messages import (
    BlockRequest,
    BlockResponse,
    EvidenceMessage,
    ProposalMessage,
    StatusMessage,
    VoteMessage,
)
from consensus.protocols import BuildRequest
from p2p.codec import DEFAULT_CODEC
from tests.consensus.fakeapp import FakeApp
from tests.consensus.sim import CHAIN_ID, GENESIS_HASH, GENESIS_TIME
from tests.consensus.support import (
    KEYS,
    PRECOMMIT,
    PREVOTE,
    VALIDATORS,
    B,
    C,
    proposal,
    vote,
)


def sample_block():
    app = FakeApp(CHAIN_ID, GENESIS_HASH, VALIDATORS, {})
    request = BuildRequest(1, 0, GENESIS_TIME, KEYS[1].public, None, (), 10, 1 << 20)
    return app.make_block(request, ())


def samples() -> list[messages.ConsensusMessage]:
    block = sample_block()
    commit_votes = [vote(i, PRECOMMIT, 1, 0, block.hash()) for i in range(3)]
    commit = Commit.from_votes(commit_votes)
    evidence = DuplicateVoteEvidence.of(
        vote(2, PREVOTE, 1, 0, B), vote(2, PREVOTE, 1, 0, C)
    )
    return [
        ProposalMessage(proposal(1, 1, 0, block.hash()), block),
        VoteMessage(vote(0, PREVOTE, 3, 1, None)),
        EvidenceMessage(evidence),
        StatusMessage(7, B),
        BlockRequest(5, 16),
        BlockResponse(((block, commit),)),
    ]


@pytest.mark.parametrize("message", samples(), ids=lambda m: type(m).__name__)
def test_round_trip_and_p2p_schema(message: messages.ConsensusMessage) -> None:
    data = messages.encode(message)
    back = messages.decode(data)
    assert messages.encode(back) == data
    if isinstance(message, ProposalMessage):
        assert isinstance(back, ProposalMessage)
        assert back.block.hash() == message.block.hash()
        assert back.proposal == message.proposal
    elif not isinstance(message, BlockResponse):
        assert back == message
    assert DEFAULT_CODEC.problem(messages.to_value(message)) is None


@pytest.mark.parametrize(
    "value",
    [
        {"type": "nonsense"},
        {"type": "vote"},
        {"type": "vote", "vote": {"height": 1}},
        {"type": "block_request", "from_height": 0, "count": 1},
        {"type": "block_request", "from_height": 1, "count": 999},
        {"type": "proposal", "proposal": {}, "block": b"\x00"},
        [1, 2, 3],
    ],
)
def test_malformed_messages_are_refused(value: object) -> None:
    with pytest.raises(ChainError):
        messages.from_value(value)
