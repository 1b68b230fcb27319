"""A bounded buffer of messages that arrived early, kept per sender.

Each sender gets its own small FIFO, so a faulty validator can only push
out its own messages, and memory is bounded by the validator count. An
honest validator sends at most three messages a round (proposal, prevote,
precommit), so a few rounds' worth per sender is enough; older ones are
dropped first, and an honest sender re-sends what still matters.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from chain.validators import ValidatorSet
from chain.votes import Proposal, Vote

Message = Vote | Proposal


def sender(message: Message) -> bytes:
    return message.validator if isinstance(message, Vote) else message.proposer


class SenderBuffer:
    def __init__(self, per_sender: int) -> None:
        self.per_sender = per_sender
        self._queues: dict[bytes, deque[Message]] = {}

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def add(self, message: Message) -> bool:
        """Keep ``message``; False if it is already held."""
        queue = self._queues.setdefault(sender(message), deque(maxlen=self.per_sender))
        if message in queue:
            return False
        queue.append(message)
        return True

    def rounds(self) -> set[int]:
        return {m.round for q in self._queues.values() for m in q}

    def power_in_round(self, round: int, validators: ValidatorSet) -> int:
        """Power of the distinct senders holding any message of ``round``."""
        return sum(
            validators.power_of(key)
            for key, queue in self._queues.items()
            if any(m.round == round for m in queue)
        )

    def take(self, wanted: Callable[[Message], bool]) -> list[Message]:
        """Remove and return the messages ``wanted`` selects, in arrival order
        per sender."""
        taken: list[Message] = []
        for key in list(self._queues):
            queue = self._queues[key]
            taken.extend(m for m in queue if wanted(m))
            kept = [m for m in queue if not wanted(m)]
            if kept:
                self._queues[key] = deque(kept, maxlen=self.per_sender)
            else:
                del self._queues[key]
        return taken
