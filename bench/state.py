"""Authenticated state: update throughput and proof size, design against design.

Run ``python -m bench.state`` (``--sizes 10000,100000`` for a quicker run).
For every map size it builds the map, then applies blocks of ``--block``
changes (nine rewrites of existing keys for one new key) and reports changes
per second (of the median block) and the mean encoded size of proofs of
present and of absent keys.

Designs:

- ``compressed``: ``storage.smt``, the tree the node uses, nodes in a dict.
- ``compressed+leveldb``: the same through ``storage.store.Store``: prepare,
  then commit each block in one synced write batch, as the node does, with
  ``--cache-nodes`` tree nodes cached in memory.
- ``naive256``: a full-depth 256-level sparse Merkle tree with the same
  hashes and the empty-subtree shortcut (an inner node over two empty
  children is empty), every level stored. Its node count is about
  ``n * (256 - log2 n)``, so sizes past ``--naive-max-nodes`` are skipped.
- ``hexary``: the Ethereum Merkle Patricia trie from the ``trie`` package on
  keccak-256 of the key, if it is importable (it is not a dependency of
  egov; ``pip install trie`` into any path the bench can import).

The ceiling is raw ed25519 verifications per second (PyNaCl, one thread),
measured in the same run, right before each design's blocks, so that the
changing load of a shared machine weighs on both sides of the ratio alike.
Every transaction costs at least one verification, so the ratio says how
many state changes a transaction can afford before state, not signatures,
bounds throughput. The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgpack
from nacl.signing import SigningKey

from chain.smt_proof import EMPTY, Proof, ProofEnd, encode_proof, verify
from storage.smt import MemoryNodes, SparseMerkleTree
from storage.store import Store

Changes = dict[bytes, bytes | None]


def key_of(i: int) -> bytes:
    return b"registry/record/%010d" % i


def value_of(i: int, version: int) -> bytes:
    return hashlib.sha256(b"%d/%d" % (i, version)).digest() * 2


def proof_bytes(proof: Proof) -> int:
    return len(msgpack.packb(encode_proof(proof), use_bin_type=True))


@dataclass
class Result:
    design: str
    keys: int
    updates_per_s: float | None = None
    proof_present: float | None = None
    proof_absent: float | None = None
    build_s: float | None = None
    ceiling: float | None = None  # ed25519 verifications/s next to the blocks
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Workload:
    """The same blocks of changes for every design at one size."""

    def __init__(self, size: int, block: int, blocks: int, seed: int) -> None:
        self.size = size
        rng = random.Random(seed)
        next_key = size
        self.blocks: list[Changes] = []
        for number in range(blocks):
            changes: Changes = {}
            while len(changes) < block:
                if rng.randrange(10) == 0:
                    changes[key_of(next_key)] = value_of(next_key, 0)
                    next_key += 1
                else:
                    i = rng.randrange(size)
                    changes[key_of(i)] = value_of(i, number + 1)
            self.blocks.append(changes)
        self.present = [key_of(rng.randrange(size)) for _ in range(200)]
        self.absent = [b"absent/%d" % rng.randrange(10**9) for _ in range(200)]

    def initial(self) -> Iterator[tuple[bytes, bytes]]:
        for i in range(self.size):
            yield key_of(i), value_of(i, 0)


def measure(
    result: Result,
    work: Workload,
    build: Callable[[], None],
    apply: Callable[[Changes], None],
    prove: Callable[[bytes], int],
    prove_absent: Callable[[bytes], int],
) -> Result:
    started = time.perf_counter()
    build()
    result.build_s = time.perf_counter() - started
    result.ceiling = ed25519_verifications_per_s(0.5)
    rates: list[float] = []
    total = 0.0
    for changes in work.blocks:
        started = time.perf_counter()
        apply(changes)
        elapsed = time.perf_counter() - started
        rates.append(len(changes) / elapsed)
        total += elapsed
    # The median block resists the other loads of a shared machine; the
    # overall rate, stalls included, is kept in the JSON line.
    result.updates_per_s = statistics.median(rates)
    result.extra["updates_per_s_overall"] = round(
        sum(len(changes) for changes in work.blocks) / total
    )
    result.proof_present = sum(map(prove, work.present)) / len(work.present)
    result.proof_absent = sum(map(prove_absent, work.absent)) / len(work.absent)
    return result


# -- the compressed tree -------------------------------------------------------


def run_compressed(work: Workload) -> Result:
    nodes = MemoryNodes()
    tree = SparseMerkleTree(nodes)

    def apply(changes: Changes) -> None:
        nonlocal tree
        root, new_nodes = tree.update(changes)
        nodes.put_many(new_nodes)
        tree = SparseMerkleTree(nodes, root)

    def build() -> None:
        apply(dict(work.initial()))

    def prove(key: bytes) -> int:
        proof = tree.prove(key)
        assert proof.end is ProofEnd.FOUND
        return proof_bytes(proof)

    def prove_absent(key: bytes) -> int:
        proof = tree.prove(key)
        assert verify(tree.root, key, None, proof)
        return proof_bytes(proof)

    result = measure(
        Result("compressed", work.size), work, build, apply, prove, prove_absent
    )
    depths = [tree.prove(key).depth for key in work.present]
    result.extra["mean_depth"] = round(sum(depths) / len(depths), 2)
    result.extra["nodes"] = len(nodes)
    result.note = f"mean depth {result.extra['mean_depth']}"
    return result


def run_leveldb(work: Workload, cache_nodes: int) -> Result:
    directory = tempfile.mkdtemp(prefix="egov-bench-state-")
    store = Store.open(directory, cache_nodes=cache_nodes)
    height = 0

    def build() -> None:
        store.commit_genesis(store.prepare(dict(work.initial())))
        # A chain grows block by block; one giant genesis batch would leave
        # LevelDB's compaction far behind and stall the measured blocks.
        store.compact()

    def apply(changes: Changes) -> None:
        nonlocal height
        height += 1
        store.commit_block(
            height=height,
            block_hash=hashlib.sha256(b"%d" % height).digest(),
            block=b"",
            commit=b"",
            txids=[],
            results=b"",
            state=store.prepare(changes),
        )

    def prove(key: bytes) -> int:
        return proof_bytes(store.prove(key))

    try:
        return measure(
            Result("compressed+leveldb", work.size), work, build, apply, prove, prove
        )
    finally:
        store.close()
        shutil.rmtree(directory, ignore_errors=True)


# -- the naive full-depth tree -------------------------------------------------


class NaiveTree:
    """Every one of the 256 levels stored; only two empty children collapse."""

    def __init__(self) -> None:
        self.nodes: dict[bytes, bytes] = {}  # hash -> left || right
        self.root = EMPTY

    def update(self, changes: Changes) -> None:
        items: list[tuple[bytes, bytes]] = []
        for key, value in changes.items():
            digest = hashlib.sha256(key).digest()
            leaf = EMPTY
            if value is not None:
                leaf = hashlib.sha256(
                    b"\x00" + digest + hashlib.sha256(value).digest()
                ).digest()
            items.append((digest, leaf))
        items.sort()
        self.root = self._apply(self.root, 0, items, 0, len(items))

    def _apply(
        self,
        node: bytes,
        depth: int,
        items: list[tuple[bytes, bytes]],
        lo: int,
        hi: int,
    ) -> bytes:
        if depth == 256:
            return items[lo][1]
        if node == EMPTY:
            left = right = EMPTY
        else:
            both = self.nodes[node]
            left, right = both[:32], both[32:]
        index, mask = depth >> 3, 0x80 >> (depth & 7)
        mid = lo
        while mid < hi and not items[mid][0][index] & mask:
            mid += 1
        if lo < mid:
            left = self._apply(left, depth + 1, items, lo, mid)
        if mid < hi:
            right = self._apply(right, depth + 1, items, mid, hi)
        if left == EMPTY and right == EMPTY:
            return EMPTY
        both = left + right
        digest = hashlib.sha256(b"\x01" + both).digest()
        self.nodes[digest] = both
        return digest

    def prove(self, key: bytes) -> Proof:
        digest = hashlib.sha256(key).digest()
        siblings: list[bytes] = []
        node = self.root
        for depth in range(256):
            if node == EMPTY:
                siblings.append(EMPTY)
                continue
            both = self.nodes[node]
            if (digest[depth >> 3] >> (7 - (depth & 7))) & 1:
                siblings.append(both[:32])
                node = both[32:]
            else:
                siblings.append(both[32:])
                node = both[:32]
        end = ProofEnd.EMPTY if node == EMPTY else ProofEnd.FOUND
        return Proof(tuple(siblings), end)


def naive_nodes_estimate(size: int) -> int:
    levels = max(0, 256 - math.ceil(math.log2(max(size, 2))))
    return size * levels + 2 * size


def run_naive(work: Workload, max_nodes: int) -> Result:
    result = Result("naive256", work.size)
    estimate = naive_nodes_estimate(work.size)
    if estimate > max_nodes:
        result.note = f"skipped: ~{estimate / 1e6:.0f}M nodes (> --naive-max-nodes)"
        result.extra["estimated_nodes"] = estimate
        return result
    tree = NaiveTree()

    def build() -> None:
        tree.update(dict(work.initial()))

    def prove(key: bytes) -> int:
        proof = tree.prove(key)
        assert proof.end is ProofEnd.FOUND
        return proof_bytes(proof)

    def prove_absent(key: bytes) -> int:
        return proof_bytes(tree.prove(key))

    measure(result, work, build, tree.update, prove, prove_absent)
    result.extra["nodes"] = len(tree.nodes)
    result.note = f"{len(tree.nodes) / 1e6:.1f}M nodes; raw proof 8192 B"
    return result


# -- the Ethereum hexary trie, if installed --------------------------------------


def run_hexary(work: Workload, max_keys: int) -> Result:
    result = Result("hexary", work.size)
    if work.size > max_keys:
        result.note = "skipped: building it takes too long (> --hexary-max-keys)"
        return result
    try:
        import rlp
        from eth_hash.auto import keccak
        from trie import HexaryTrie
    except ImportError:
        result.note = "skipped: the trie package is not importable"
        return result
    trie = HexaryTrie(db={})

    def apply(changes: Changes) -> None:
        with trie.squash_changes() as batch:
            for key, value in changes.items():
                if value is None:
                    del batch[keccak(key)]
                else:
                    batch[keccak(key)] = value

    def build() -> None:
        apply(dict(work.initial()))

    def prove(key: bytes) -> int:
        return sum(len(rlp.encode(node)) for node in trie.get_proof(keccak(key)))

    measure(result, work, build, apply, prove, prove)
    result.note = "trie (Ethereum MPT), keccak-256"
    return result


# -- the ceiling ---------------------------------------------------------------


def ed25519_verifications_per_s(seconds: float = 1.0) -> float:
    signing = SigningKey(b"\x01" * 32)
    verify_key = signing.verify_key
    signed = signing.sign(b"egov/tx/v1" + b"egov-dev" + b"\x00" + b"x" * 200)
    count = 0
    started = time.perf_counter()
    while True:
        for _ in range(200):
            verify_key.verify(signed)
        count += 200
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return count / elapsed


# -- the report ----------------------------------------------------------------


def fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def rounded(value: float | None, digits: int = 0) -> float | None:
    if value is None:
        return None
    return round(value, digits) if digits else round(value)


def ratio(result: Result) -> float | None:
    if result.updates_per_s is None or result.ceiling is None:
        return None
    return result.updates_per_s / result.ceiling


def print_table(results: list[Result]) -> None:
    header = (
        f"{'design':<20}{'keys':>10}{'updates/s':>12}{'/ ed25519':>10}"
        f"{'proof B':>9}{'absent B':>10}{'build s':>9}  note"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.design:<20}{r.keys:>10,}{fmt(r.updates_per_s):>12}"
            f"{fmt(ratio(r), 2):>10}"
            f"{fmt(r.proof_present):>9}{fmt(r.proof_absent):>10}"
            f"{fmt(r.build_s, 1):>9}  {r.note}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.state", description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--block", type=int, default=1000, help="changes per block")
    parser.add_argument("--blocks", type=int, default=7, help="blocks per size")
    parser.add_argument(
        "--designs", default="compressed,compressed+leveldb,naive256,hexary"
    )
    parser.add_argument("--naive-max-nodes", type=int, default=30_000_000)
    parser.add_argument("--hexary-max-keys", type=int, default=100_000)
    parser.add_argument(
        "--cache-nodes", type=int, default=1_000_000, help="the store's node cache"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    designs = args.designs.split(",")
    runners: dict[str, Callable[[Workload], Result]] = {
        "compressed": run_compressed,
        "compressed+leveldb": lambda work: run_leveldb(work, args.cache_nodes),
        "naive256": lambda work: run_naive(work, args.naive_max_nodes),
        "hexary": lambda work: run_hexary(work, args.hexary_max_keys),
    }
    unknown = sorted(set(designs) - set(runners))
    if unknown:
        parser.error(f"unknown designs: {', '.join(unknown)}")
    results: list[Result] = []
    for size in sizes:
        work = Workload(size, args.block, args.blocks, args.seed)
        for design in designs:
            result = runners[design](work)
            results.append(result)
            print(
                f"  {design} at {size:,} keys: build {fmt(result.build_s, 1)} s, "
                f"{fmt(result.updates_per_s)} updates/s. {result.note}",
                file=sys.stderr,
                flush=True,
            )
    ceilings = [r.ceiling for r in results if r.ceiling is not None]
    ceiling = statistics.median(ceilings) if ceilings else None
    print()
    print(
        f"ed25519 verifications/s (PyNaCl, one thread), median over the run: "
        f"{fmt(ceiling)} (from {fmt(min(ceilings, default=None))} "
        f"to {fmt(max(ceilings, default=None))})"
    )
    print_table(results)
    summary = {
        "bench": "state",
        "block": args.block,
        "blocks": args.blocks,
        "ed25519_verify_per_s": rounded(ceiling),
        "results": [
            {
                "design": r.design,
                "keys": r.keys,
                "updates_per_s": rounded(r.updates_per_s),
                "ratio_to_ed25519": rounded(ratio(r), 3),
                "ed25519_verify_per_s": rounded(r.ceiling),
                "proof_bytes_mean": rounded(r.proof_present, 1),
                "absent_proof_bytes_mean": rounded(r.proof_absent, 1),
                "build_s": rounded(r.build_s, 2),
                "note": r.note,
                **r.extra,
            }
            for r in results
        ],
    }
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
