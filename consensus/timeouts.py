"""Timeout durations: a base per step, growing by ``delta`` per round, capped.

Growing timeouts make liveness hold after the network stabilises whatever
the (unknown) message delay is; the cap keeps a long outage from leaving
validators with hour-long rounds once it heals. Round 0's propose timeout
also waits out the empty-block interval, because a proposer with no
transactions holds its proposal back that long (docs/CONSENSUS.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from consensus.state import Step


@dataclass(frozen=True)
class TimeoutParams:
    propose_ms: int = 1000
    prevote_ms: int = 500
    precommit_ms: int = 500
    delta_ms: int = 500
    max_ms: int = 10_000
    empty_block_interval_ms: int = 0

    @classmethod
    def from_consensus(cls, params: Mapping[str, int]) -> TimeoutParams:
        """From the genesis ``consensus`` section (chain.genesis names)."""
        return cls(
            propose_ms=params["timeout_propose_ms"],
            prevote_ms=params["timeout_prevote_ms"],
            precommit_ms=params["timeout_precommit_ms"],
            delta_ms=params["timeout_delta_ms"],
            max_ms=params["timeout_max_ms"],
            empty_block_interval_ms=params.get("empty_block_interval_ms", 0),
        )

    def duration(self, step: Step, round: int) -> int:
        """timeoutPropose/Prevote/Precommit(round) of the paper, in ms."""
        if step == Step.PROPOSE:
            base = self.propose_ms
        elif step == Step.PREVOTE:
            base = self.prevote_ms
        elif step == Step.PRECOMMIT:
            base = self.precommit_ms
        else:
            raise ValueError(f"no timeout for step {step!r}")
        grown = min(base + round * self.delta_ms, max(self.max_ms, base))
        if step == Step.PROPOSE and round == 0:
            grown += self.empty_block_interval_ms
        return grown
