"""Steps of a round and the snapshot of a validator's consensus state."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Step(IntEnum):
    """The step of the current round; ordered, so ``step >= PREVOTE`` reads
    as in the paper. COMMIT is ours: the height is decided and the core waits
    for the application to hand it the next height."""

    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3
    COMMIT = 4


class RoundReason(StrEnum):
    """Why a round started; logged by the driver."""

    NEW_HEIGHT = "new_height"
    TIMEOUT_PRECOMMIT = "timeout_precommit"
    ROUND_SKIP = "round_skip"
    RESTORED = "restored"


@dataclass(frozen=True)
class RoundState:
    """The variables of Algorithm 1 (lines 2-9) for the current height."""

    height: int
    round: int
    step: Step
    locked_value: bytes | None = None
    locked_round: int = -1
    valid_value: bytes | None = None
    valid_round: int = -1
    decision: bytes | None = None
