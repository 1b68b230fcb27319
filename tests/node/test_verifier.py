"""Signatures verified in worker processes (node.verifier)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from chain import encoding
from chain.errors import SignatureError
from chain.keys import TAG_TX, forget_verified, unverified
from chain.tx import SignedTx, TxBody
from node.devnet import authority_key
from node.verifier import MIN_SENT, Pending, Verifier
from tests.node.chainkit import enrol_txs, genesis

ADMIN = authority_key("authority/identity")
GEN = genesis()


def signed(count: int) -> list[SignedTx]:
    return enrol_txs(GEN, count, prefix="v")


def known_good(tx: SignedTx) -> bool:
    item = unverified(tx.body.sender, TAG_TX, GEN.chain_id, tx.body_bytes, tx.sig)
    return item is None


def forged(tx: SignedTx) -> SignedTx:
    sig = bytes([tx.sig[0] ^ 1]) + tx.sig[1:]
    return SignedTx.decode(encoding.encode({"body": tx.body_bytes, "sig": sig}))


@pytest.fixture
def verifier() -> Iterator[Verifier]:
    forget_verified()
    v = Verifier(1)
    yield v
    v.close()
    forget_verified()


def test_good_signatures_are_verified_by_the_workers_and_remembered(
    verifier: Verifier,
) -> None:
    txs = signed(MIN_SENT + 36)
    assert not any(known_good(tx) for tx in txs)
    pending = verifier.start(txs, GEN.chain_id)
    assert pending is not None
    pending.result()
    assert all(known_good(tx) for tx in txs)
    # Known good now: nothing is left worth sending.
    assert verifier.start(txs, GEN.chain_id) is None


def test_the_first_bad_signature_is_refused_and_no_bad_one_remembered(
    verifier: Verifier,
) -> None:
    txs = signed(MIN_SENT + 36)
    txs[40] = forged(txs[40])
    txs[90] = forged(txs[90])
    pending = verifier.start(txs, GEN.chain_id)
    assert pending is not None
    with pytest.raises(SignatureError) as info:
        pending.result()
    assert info.value.code == "sig.invalid"
    assert all(known_good(tx) for tx in txs[:40])
    assert not known_good(txs[40]) and not known_good(txs[90])


def test_a_killed_worker_is_survived_and_replaced(verifier: Verifier) -> None:
    txs = signed(MIN_SENT + 36)
    first = verifier.start(txs[:MIN_SENT], GEN.chain_id)
    assert first is not None
    first.result()
    pool = verifier._pool
    assert pool is not None
    for pid in list(pool._processes):  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)
    # Whatever the dead worker was sent is verified here instead.
    rest = txs[MIN_SENT:] + signed(MIN_SENT + 100)[MIN_SENT + 36 :]
    pending = verifier.start(rest, GEN.chain_id)
    if pending is not None:
        pending.result()
    assert all(known_good(tx) for tx in rest)
    # And the next block gets a new pool.
    forget_verified()
    again = verifier.start(txs, GEN.chain_id)
    assert again is not None
    again.result()
    assert verifier._pool is not pool
    assert all(known_good(tx) for tx in txs)


def test_few_signatures_or_no_processes_are_left_to_the_caller() -> None:
    forget_verified()
    txs = signed(MIN_SENT)
    assert Verifier(1).start(txs[: MIN_SENT - 1], GEN.chain_id) is None
    assert Verifier(0).start(txs, GEN.chain_id) is None
    body = TxBody("elsewhere", "identity", "enrol", {}, ADMIN.public, 1)
    stray = SignedTx.create(body, ADMIN)
    # A transaction for another chain: the caller refuses it, in order.
    assert Verifier(1).start([*txs, stray], GEN.chain_id) is None


WORKER_OWNER = """
import sys
from node.verifier import Verifier
from tests.node.test_verifier import GEN, signed

if __name__ == "__main__":
    verifier = Verifier(1)
    verifier.start(signed(100), GEN.chain_id).result()
    print(*verifier._pool._processes, flush=True)
    sys.stdin.read()  # until killed
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # exited; not yet reaped by whoever adopted it


def test_workers_exit_when_their_node_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "owner.py"
    script.write_text(WORKER_OWNER)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    owner = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        cwd=root,
    )
    try:
        assert owner.stdout is not None
        workers = [int(pid) for pid in owner.stdout.readline().split()]
        assert workers and not any(_gone(pid) for pid in workers)
        owner.kill()  # SIGKILL: no chance to shut its pool down
        owner.wait()
        deadline = time.monotonic() + 10
        while not all(_gone(pid) for pid in workers):
            assert time.monotonic() < deadline, "a worker outlived its node"
            time.sleep(0.1)
    finally:
        owner.kill()
        owner.wait()


def test_a_chunk_cancelled_before_it_ran_is_verified_by_the_caller() -> None:
    # A pool shut down with work still queued cancels it (cancel_futures).
    forget_verified()
    for fails in (False, True):
        txs = signed(MIN_SENT)
        if fails:
            txs[5] = forged(txs[5])
        items = [
            unverified(tx.body.sender, TAG_TX, GEN.chain_id, tx.body_bytes, tx.sig)
            for tx in txs
        ]
        cancelled: Future[list[int]] = Future()
        cancelled.cancel()
        checked: list[int] = []

        def recheck(txs: list[SignedTx] = txs, checked: list[int] = checked) -> None:
            checked.append(len(txs))
            for tx in txs:
                tx.verify_signature(GEN.chain_id)

        pending = Pending([(cancelled, [i for i in items if i is not None])], recheck)
        if fails:
            with pytest.raises(SignatureError):
                pending.result()
        else:
            pending.result()
            assert all(known_good(tx) for tx in txs)
        assert checked == [MIN_SENT]
