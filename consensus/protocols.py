"""What the driver needs from the node: the application, the transport and
a clock. The node implements these; the simulated cluster in
tests/consensus implements them in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from chain.block import Block
from chain.validators import ValidatorSet
from chain.votes import Commit, DuplicateVoteEvidence
from consensus.messages import ConsensusMessage

PeerId = str
Clock = Callable[[], int]  # wall-clock time, integer milliseconds since the epoch


@dataclass(frozen=True)
class BuildRequest:
    """What the proposer's block must be: its header fields that consensus
    fixes, the evidence to include, and the size limits from genesis."""

    height: int
    round: int
    time: int  # BFT time: bft_time(last_commit), or the genesis time at 1
    proposer: bytes
    last_commit: Commit | None  # None at height 1
    evidence: tuple[DuplicateVoteEvidence, ...]
    max_txs: int
    max_bytes: int


class Application(Protocol):
    """The state machine being replicated. Heights are contiguous from 1."""

    def last_height(self) -> int:
        """Height of the last committed block; 0 before the first."""
        ...

    def validators(self, height: int) -> ValidatorSet:
        """The set that signs ``height``; known up to last_height() + 2."""
        ...

    def stored_block(self, height: int) -> tuple[Block, Commit] | None:
        """A committed block with the commit that decided it."""
        ...

    async def wait_for_txs(self) -> None:
        """Return once there are transactions to propose (maybe at once)."""
        ...

    async def build_block(self, request: BuildRequest) -> Block:
        """Select transactions within the limits, execute them speculatively
        and return the block with its roots."""
        ...

    async def validate_block(self, block: Block) -> bool:
        """Execute a proposed block speculatively; True if it is valid. The
        driver has already checked what consensus fixes (height, link to the
        previous block, last commit, time, validator set hash)."""
        ...

    async def commit_block(self, block: Block, commit: Commit) -> None:
        """Make a decided block durable (one synced batch) with its commit."""
        ...


@dataclass(frozen=True)
class Envelope:
    peer: PeerId
    message: ConsensusMessage


class Transport(Protocol):
    """Authenticated links to the other validators."""

    async def broadcast(
        self, message: ConsensusMessage, *, exclude: PeerId | None = None
    ) -> None:
        """Send to every connected peer but ``exclude``; best effort, never
        blocks for long."""
        ...

    async def send(self, peer: PeerId, message: ConsensusMessage) -> None:
        """Send to one peer; best effort."""
        ...

    def received(self) -> AsyncIterator[Envelope]:
        """Messages from peers, already decoded, in arrival order."""
        ...
