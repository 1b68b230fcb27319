"""The mempool: transactions admitted and waiting for a block.

Invariants:

1. Admission checks what the application checks (signature, chain,
   enrolment, nonce, and a dry run of the module rules when the sender has
   nothing pending), so what waits here would be valid in the next block.
2. Per sender, pending nonces are contiguous from the sender's next
   committed nonce; arrival order is therefore nonce order, and a block
   takes transactions in arrival order.
3. Bounded: at most ``max_txs`` transactions and ``max_bytes`` bytes;
   beyond that a clear ``mempool.full`` refusal, never unbounded growth.
4. After a block, included transactions leave, and only the senders the
   block touched are re-checked (their nonces moved); nothing else is
   re-examined, so the cost follows the block, not the mempool.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from chain.hashing import sha256
from chain.tx import MAX_TX_BYTES, SignedTx
from node.application import Application
from node.errors import TxRefused


@dataclass
class _Sender:
    base: int  # the next nonce on the committed state
    pending: list[bytes]  # tx ids, nonces base, base+1, ...


class Mempool:
    def __init__(
        self,
        app: Application,
        *,
        max_txs: int = 20_000,
        max_bytes: int = 64 * 1024 * 1024,
        check_rules: bool = True,
    ) -> None:
        self.app = app
        self.max_txs = max_txs
        self.max_bytes = max_bytes
        self.check_rules = check_rules
        self._txs: OrderedDict[bytes, SignedTx] = OrderedDict()
        self._senders: dict[bytes, _Sender] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._txs)

    def __contains__(self, tx_id: object) -> bool:
        return tx_id in self._txs

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, tx_id: bytes) -> SignedTx | None:
        return self._txs.get(tx_id)

    def add(self, raw: bytes, *, from_peer: bool = False) -> SignedTx:
        """Admit one encoded transaction or raise TxRefused with a stable code.

        A transaction gossiped by a peer skips the dry run of module rules:
        the node it was submitted to already ran it for the client, and the
        rules are enforced in the block anyway. Its signature, chain,
        enrolment and nonce are checked here all the same.
        """
        if len(raw) > MAX_TX_BYTES:
            raise TxRefused("tx.too_large", f"{len(raw)} bytes, limit {MAX_TX_BYTES}")
        # Gossip brings most transactions more than once. Pending bytes are
        # canonical, so equal bytes are the same transaction: refuse them
        # before paying for decoding and the signature.
        if sha256(raw) in self._txs:
            raise TxRefused("mempool.duplicate", "transaction is already pending")
        tx = self.app.decode_tx(raw)  # tx.id is sha256(raw)
        if len(self._txs) >= self.max_txs or self._bytes + len(raw) > self.max_bytes:
            raise TxRefused(
                "mempool.full",
                f"mempool holds {len(self._txs)} txs, {self._bytes} bytes; retry",
            )
        sender = self._sender(tx.body.sender)
        expected = sender.base + len(sender.pending)
        if tx.body.nonce < expected and tx.body.nonce >= sender.base:
            raise TxRefused(
                "mempool.nonce_taken", f"nonce {tx.body.nonce} is already pending"
            )
        self.app.check_tx(
            tx,
            expected,
            rules=self.check_rules and not from_peer and not sender.pending,
        )
        sender.pending.append(tx.id)
        self._txs[tx.id] = tx
        self._bytes += len(tx.raw)
        return tx

    def pending_count(self, sender: bytes) -> int:
        """How many transactions of ``sender`` wait here."""
        entry = self._senders.get(sender)
        return 0 if entry is None else len(entry.pending)

    def _sender(self, key: bytes) -> _Sender:
        sender = self._senders.get(key)
        if sender is None:
            sender = _Sender(self.app.next_nonce(key), [])
            self._senders[key] = sender
        return sender

    def reap(self, max_txs: int, max_bytes: int) -> list[SignedTx]:
        """The oldest pending transactions within the block limits."""
        out: list[SignedTx] = []
        size = 0
        for tx in self._txs.values():
            if len(out) >= max_txs or size + len(tx.raw) > max_bytes:
                break
            out.append(tx)
            size += len(tx.raw)
        return out

    def remove(self, tx_ids: Iterable[bytes]) -> None:
        """Drop transactions (left out of a block as invalid, say)."""
        touched = set()
        for tx_id in tx_ids:
            tx = self._txs.pop(tx_id, None)
            if tx is not None:
                self._bytes -= len(tx.raw)
                touched.add(tx.body.sender)
        self._recheck(touched)

    def update(self, committed: Iterable[SignedTx]) -> None:
        """After a block: drop what it included, re-check the senders it touched."""
        touched = set()
        for tx in committed:
            touched.add(tx.body.sender)
            mine = self._txs.pop(tx.id, None)
            if mine is not None:
                self._bytes -= len(mine.raw)
        self._recheck(touched)

    def _recheck(self, senders: set[bytes]) -> None:
        for key in sorted(senders):
            sender = self._senders.pop(key, None)
            if sender is None:
                continue
            base = self.app.next_nonce(key)
            keep: list[bytes] = []
            for tx_id in sender.pending:
                tx = self._txs.get(tx_id)
                if tx is None:
                    continue
                if tx.body.nonce == base + len(keep):
                    keep.append(tx_id)
                else:  # stale (nonce used) or no longer contiguous
                    del self._txs[tx_id]
                    self._bytes -= len(tx.raw)
            if keep:
                self._senders[key] = _Sender(base, keep)
