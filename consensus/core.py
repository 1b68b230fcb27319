"""The consensus core: routes inputs to the machine of the current height.

Invariants:

1. One HeightMachine at a time, for the height the application is ready
   for; a height starts only on HeightReady and only upwards.
2. Messages for the next height are kept (bounded, per sender, members of
   the next validator set only) and replayed when it starts: validators
   that decided first are already voting there. Messages for other heights
   are dropped; the driver catches up when peers are further ahead.
3. Pure: no IO, no clock, no randomness. Given the same inputs the core
   returns the same outputs.
"""

from __future__ import annotations

from chain.validators import ValidatorSet
from consensus.buffer import Message, SenderBuffer, sender
from consensus.inputs import (
    BlockValidated,
    HeightReady,
    Input,
    ProposalBuilt,
    ProposalReceived,
    TimeoutElapsed,
    VoteReceived,
)
from consensus.machine import HeightMachine
from consensus.outputs import Output
from consensus.state import RoundState
from consensus.timeouts import TimeoutParams

NEXT_HEIGHT_PER_SENDER = 8


class Consensus:
    def __init__(self, address: bytes, timeouts: TimeoutParams) -> None:
        self.address = address
        self.timeouts = timeouts
        self._machine: HeightMachine | None = None
        self._next_validators: ValidatorSet | None = None
        self._next = SenderBuffer(NEXT_HEIGHT_PER_SENDER)

    @property
    def height(self) -> int:
        """The height being decided; 0 before the first HeightReady."""
        return 0 if self._machine is None else self._machine.height

    @property
    def state(self) -> RoundState | None:
        return None if self._machine is None else self._machine.state

    @property
    def validators(self) -> ValidatorSet | None:
        return None if self._machine is None else self._machine.validators

    def handle(self, event: Input) -> list[Output]:
        """Feed one input; return the commands to perform, in order."""
        if isinstance(event, HeightReady):
            return self._start_height(event)
        machine = self._machine
        if machine is None:
            return []
        if isinstance(event, ProposalReceived):
            return self._route(machine, event.proposal)
        if isinstance(event, VoteReceived):
            return self._route(machine, event.vote)
        if event.height != machine.height:
            return []  # a timeout or an answer for a height already left
        if isinstance(event, TimeoutElapsed):
            return machine.on_timeout(event.step, event.round)
        if isinstance(event, ProposalBuilt):
            return machine.on_proposal_built(event.round, event.block_hash)
        assert isinstance(event, BlockValidated)
        return machine.on_validated(event.block_hash, event.valid)

    def _route(self, machine: HeightMachine, message: Message) -> list[Output]:
        if message.height == machine.height:
            return machine.on_message(message)
        next_set = self._next_validators
        if (
            message.height == machine.height + 1
            and next_set is not None
            and sender(message) in next_set
        ):
            self._next.add(message)
        return []

    def _start_height(self, event: HeightReady) -> list[Output]:
        if self._machine is not None and event.height <= self._machine.height:
            return []
        machine = HeightMachine(
            event.height, event.validators, self.address, self.timeouts
        )
        self._machine = machine
        self._next_validators = event.next_validators
        early = self._next.take(lambda m: True)
        outputs = machine.start(event.own_messages)
        for message in early:
            if message.height == event.height:
                outputs.extend(machine.on_message(message))
        return outputs
