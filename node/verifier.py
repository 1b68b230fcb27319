"""Signature verification beside execution, in worker processes.

A block's signatures and its execution do not depend on each other until
the block is accepted, so a validator can verify them while it executes.
Threads cannot do that in CPython: PyNaCl releases the GIL while it
verifies, but a thread executing Python holds it for a switch interval
(5 ms) at a time, so verifying threads wait after every signature, and
cutting the interval makes the executing thread pay for every switch
(measured on a 1,000-transaction block: 144 ms verified then executed,
200 ms overlapped in threads with a 0.2 ms interval). Worker processes have
GILs of their own.

Invariants:

1. Worker processes only ever answer which signatures do not verify; the
   verdict that counts is made here. Good signatures are remembered in the
   memo of ``chain.keys``; on any bad one, or a worker that died, the
   caller verifies every signature again in its own thread, which raises
   the first failure in transaction order exactly as verifying in order
   would have.
2. Signatures already known good (a transaction admitted by the mempool)
   are not sent. Fewer than ``MIN_SENT`` are verified in the caller's
   thread.
3. The pool starts on first use and restarts after a worker dies.
4. A worker exits within a second of its node: a node killed outright
   (SIGKILL, the OOM killer) leaves no process behind.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from chain.keys import TAG_TX, Unverified, check_many, remember_good, unverified
from chain.tx import SignedTx

log = logging.getLogger("egov.verify")

# Below this many signatures to check, the round trip costs more than it
# saves (a process round trip is about 1 ms, a signature about 60 us).
MIN_SENT = 64


def _exit_with(parent: int) -> None:
    """A worker's initializer: exit once ``parent`` is gone (invariant 4).

    A worker waits on a queue whose other end it also holds, so it would
    not notice its node dying; its parent process id changes when it does.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="egov-verify-watch", daemon=True).start()


def default_processes() -> int:
    """One core is left to the executing thread."""
    return max(1, (os.cpu_count() or 2) - 1)


class Pending:
    """Signatures being verified elsewhere; ``result`` waits for them."""

    def __init__(
        self,
        parts: list[tuple[Future[list[int]], list[Unverified]]],
        recheck: Callable[[], None],
    ) -> None:
        self._parts = parts
        self._recheck = recheck

    def result(self) -> None:
        """Wait; raise the first failure in order, as ``recheck`` finds it."""
        doubtful = False
        for future, items in self._parts:
            try:
                bad = future.result()
            except (BrokenProcessPool, CancelledError, OSError, RuntimeError) as exc:
                # CancelledError: the pool was shut down (the node closing,
                # or another caller replacing a broken pool) before it ran.
                log.warning("signature worker failed (%r); verifying here", exc)
                doubtful = True
                continue
            if bad:
                doubtful = True
            failed = set(bad)
            for index, item in enumerate(items):
                if index not in failed:
                    remember_good(item)
        if doubtful:
            self._recheck()


class Verifier:
    """A pool of ``processes`` worker processes (0: verify in the caller)."""

    def __init__(self, processes: int | None = None) -> None:
        self.processes = default_processes() if processes is None else processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self, txs: Sequence[SignedTx], chain_id: str) -> Pending | None:
        """Start verifying the transactions' signatures; None when there is
        nothing worth sending (the caller verifies in its own thread)."""
        if self.processes <= 0 or len(txs) < MIN_SENT:
            return None
        todo: list[Unverified] = []
        for tx in txs:
            if tx.body.chain != chain_id:
                return None  # refused in order by the caller
            item = unverified(tx.body.sender, TAG_TX, chain_id, tx.body_bytes, tx.sig)
            if item is not None:
                todo.append(item)
        if len(todo) < MIN_SENT:
            return None
        pool = self._ensure_pool()
        chunk = -(-len(todo) // self.processes)
        parts = []
        try:
            for i in range(0, len(todo), chunk):
                items = todo[i : i + chunk]
                payload = [(u.public, u.message, u.signature) for u in items]
                parts.append((pool.submit(check_many, payload), items))
        except (BrokenProcessPool, RuntimeError) as exc:
            log.warning("signature workers unavailable (%s); verifying here", exc)
            self._drop_pool()
            return None

        def recheck() -> None:
            for tx in txs:
                tx.verify_signature(chain_id)

        return Pending(parts, recheck)

    def _ensure_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            pool = self._pool
            if pool is not None and getattr(pool, "_broken", False):
                pool.shutdown(wait=False, cancel_futures=True)
                pool = None
            if pool is None:
                # spawn, not fork: a fork of a process running threads and
                # Trio could inherit locks held at that moment.
                context = multiprocessing.get_context("spawn")
                pool = ProcessPoolExecutor(
                    self.processes,
                    mp_context=context,
                    initializer=_exit_with,
                    initargs=(os.getpid(),),
                )
                self._pool = pool
            return pool

    def _drop_pool(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def close(self) -> None:
        self._drop_pool()


_SHARED: dict[int, Verifier] = {}


def shared_verifier(processes: int | None = None) -> Verifier:
    """The process's verifier of that many processes (default: one fewer
    than the cores): applications of one process share their workers."""
    count = default_processes() if processes is None else processes
    verifier = _SHARED.get(count)
    if verifier is None:
        verifier = _SHARED[count] = Verifier(count)
    return verifier
