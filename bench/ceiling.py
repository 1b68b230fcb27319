"""The ceiling every figure is compared with: raw ed25519 verifications/s.

Measured in the same run as the figure it accompanies, single thread, on
64-byte messages, with PyNaCl (libsodium). ``verify_rates`` also gives the
rate per second of CPU time: on a machine shared with other work, a rate per
CPU second moves much less than a rate per wall second, and a benchmark that
reports its own CPU time can be compared with it.
"""

from __future__ import annotations

import time

import nacl.signing


def verify_rates(seconds: float = 1.0) -> tuple[float, float]:
    """(verifications per wall second, per CPU second), one thread."""
    key = nacl.signing.SigningKey(b"\x01" * 32)
    verify_key = key.verify_key
    signed = [key.sign(bytes([i]) * 64) for i in range(64)]
    count = 0
    start = time.perf_counter()
    cpu_start = time.thread_time()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for message in signed:
            verify_key.verify(message)
        count += len(signed)
    cpu = max(time.thread_time() - cpu_start, 1e-9)
    return count / (time.perf_counter() - start), count / cpu


def verify_rate(seconds: float = 1.0) -> float:
    return verify_rates(seconds)[0]
