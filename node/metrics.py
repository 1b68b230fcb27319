"""The node's Prometheus metrics, in a registry of its own.

Each node owns one ``Metrics`` (so that several nodes in one process, as in
the cluster tests, never share counters). The service reports facts as they
happen; ``/metrics`` renders the registry as Prometheus text.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# Commit latency: from the start of a height to its commit, in seconds.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)
BLOCK_TXS_BUCKETS = (0, 1, 10, 50, 100, 500, 1000, 2000, 5000, 10_000, 20_000)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.height = Gauge("egov_height", "Last committed block height", registry=r)
        self.round = Gauge("egov_round", "Current consensus round", registry=r)
        self.txs_committed = Counter(
            "egov_txs_committed", "Transactions committed in blocks", registry=r
        )
        self.mempool_txs = Gauge(
            "egov_mempool_txs", "Transactions waiting in the mempool", registry=r
        )
        self.mempool_bytes = Gauge(
            "egov_mempool_bytes", "Bytes of transactions in the mempool", registry=r
        )
        self.peers = Gauge("egov_peers", "Connected peers", registry=r)
        self.commit_latency = Histogram(
            "egov_commit_latency_seconds",
            "Time from the start of a height to its commit",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.block_txs = Histogram(
            "egov_block_txs",
            "Transactions per committed block",
            buckets=BLOCK_TXS_BUCKETS,
            registry=r,
        )

    def block_committed(
        self, height: int, txs: int, latency: float | None = None
    ) -> None:
        """A block was committed: height, its size, and (if known) its latency."""
        self.height.set(height)
        self.txs_committed.inc(txs)
        self.block_txs.observe(txs)
        if latency is not None:
            self.commit_latency.observe(latency)

    def set_round(self, round_: int) -> None:
        self.round.set(round_)

    def set_mempool(self, txs: int, size_bytes: int) -> None:
        self.mempool_txs.set(txs)
        self.mempool_bytes.set(size_bytes)

    def set_peers(self, count: int) -> None:
        self.peers.set(count)

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
