"""The bounded send queue of one peer.

Policy (docs/P2P.md, "Send queues"):

- Two classes of message. *Gossip* (transactions) may be lost: a peer that
  misses one still gets it from another peer or in a block. *Reliable*
  messages (proposals, votes, evidence, sync) must not be silently lost.
- The queue is bounded both in messages and in bytes, over both classes.
- Reliable messages go out before gossip, so a flood of transactions never
  delays consensus.
- When a message does not fit, the oldest gossip is dropped to make room. A
  gossip message that still does not fit is itself dropped. A reliable
  message that still does not fit means the peer cannot keep up: ``put``
  returns False and the caller disconnects it; the peer reconnects and
  catches up through block sync.
"""

from __future__ import annotations

from collections import deque


class SendQueue:
    def __init__(self, *, max_messages: int, max_bytes: int) -> None:
        if max_messages < 1 or max_bytes < 1:
            raise ValueError("queue bounds must be positive")
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._reliable: deque[bytes] = deque()
        self._gossip: deque[bytes] = deque()
        self.size_bytes = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._reliable) + len(self._gossip)

    def put(self, data: bytes, *, droppable: bool) -> bool:
        """Queue ``data``; False only if a reliable message does not fit."""
        while self._gossip and not self._fits(len(data)):
            self.size_bytes -= len(self._gossip.popleft())
            self.dropped += 1
        if not self._fits(len(data)):
            if droppable:
                self.dropped += 1
                return True
            return False
        (self._gossip if droppable else self._reliable).append(data)
        self.size_bytes += len(data)
        return True

    def get_nowait(self) -> bytes | None:
        """The next message to send, reliable first; None if empty."""
        source = self._reliable or self._gossip
        if not source:
            return None
        data = source.popleft()
        self.size_bytes -= len(data)
        return data

    def _fits(self, size: int) -> bool:
        return (
            len(self) + 1 <= self.max_messages
            and self.size_bytes + size <= self.max_bytes
        )
