"""The ceiling every figure is compared with: raw ed25519 verifications/s.

Measured in the same run as the figure it accompanies, single thread, on
64-byte messages, with PyNaCl (libsodium).
"""

from __future__ import annotations

import time

import nacl.signing


def verify_rate(seconds: float = 1.0) -> float:
    key = nacl.signing.SigningKey(b"\x01" * 32)
    verify_key = key.verify_key
    signed = [key.sign(bytes([i]) * 64) for i in range(64)]
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for message in signed:
            verify_key.verify(message)
        count += len(signed)
    return count / (time.perf_counter() - start)
