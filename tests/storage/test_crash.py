"""Crash atomicity: a writer killed at random leaves exactly one whole block.

A child process commits blocks in a loop; the test SIGKILLs it after a short
random delay, reopens the store and checks that everything (blocks, indexes,
state values, tree nodes, root) is that of exactly the block at the reopened
height. Then it starts a new child on the same store, five times over. The same
holds when most blocks are written unsynced (a killed process loses nothing
the OS already has).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chain.smt_proof import verify
from storage.smt import build_root
from storage.store import Store, TxLocation
from tests.storage import crash_writer

KILLS = 5
REPO = Path(__file__).resolve().parents[2]


def run_and_kill(path: Path, delay: float, mode: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.crash_writer", str(path), mode],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n", "the writer did not start"
        try:
            child.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def check_exactly_at_one_block(store: Store, sample: random.Random) -> None:
    height = store.height
    assert height >= 1
    expected = crash_writer.state_at(height)
    values = dict(store.state_iter())
    assert values == expected
    root = build_root(values)
    assert store.state_root == root
    assert store.state_root_at(height) == root
    assert store.state_root_at(height + 1) is None
    assert dict(store.tree().entries()) == expected
    for key in sample.sample(sorted(expected), 20):
        assert verify(root, key, expected[key], store.prove(key))
    assert store.last_block_hash == crash_writer.block_hash(height)
    assert store.get_block(height) == crash_writer.block_bytes(height)
    assert store.get_block(height + 1) is None
    assert store.get_commit(height) == b"commit %d" % height
    assert store.get_commit(height + 1) is None
    assert store.get_results(height) == b"results %d" % height
    assert store.get_block_height(crash_writer.block_hash(height)) == height
    assert store.get_block_height(crash_writer.block_hash(height + 1)) is None
    for index, txid in enumerate(crash_writer.txids(height)):
        assert store.get_tx_location(txid) == TxLocation(height, index)
    for txid in crash_writer.txids(height + 1):
        assert store.get_tx_location(txid) is None


@pytest.mark.parametrize("mode", ["synced", "unsynced"])
def test_sigkill_leaves_the_store_at_a_whole_block(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "db"
    rng = random.Random(20240611)
    previous = 0
    for _ in range(KILLS):
        run_and_kill(path, delay=rng.uniform(0.05, 0.9), mode=mode)
        with Store.open(path) as store:
            # Each run committed at least the block it announced as ready.
            assert store.height > previous
            check_exactly_at_one_block(store, rng)
            previous = store.height
