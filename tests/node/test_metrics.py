"""Metrics: a registry per node, and what each report does to the series."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from node.metrics import Metrics


def samples(metrics: Metrics) -> dict[str, float]:
    text = metrics.render().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def test_reports_move_the_series() -> None:
    metrics = Metrics()
    metrics.block_committed(1, 3, latency=0.4)
    metrics.block_committed(2, 0, latency=1.5)
    metrics.block_committed(3, 20)  # latency unknown (a synced block)
    metrics.set_round(4)
    metrics.set_mempool(7, 1234)
    metrics.set_peers(3)
    got = samples(metrics)
    assert got["egov_height"] == 3
    assert got["egov_round"] == 4
    assert got["egov_txs_committed_total"] == 23
    assert (got["egov_mempool_txs"], got["egov_mempool_bytes"]) == (7, 1234)
    assert got["egov_peers"] == 3
    assert got["egov_commit_latency_seconds_count"] == 2
    assert got["egov_commit_latency_seconds_sum"] == 1.9
    assert got["egov_commit_latency_seconds_bucket{le=0.5}"] == 1
    assert got["egov_block_txs_count"] == 3
    assert got["egov_block_txs_bucket{le=0.0}"] == 1
    assert got["egov_block_txs_bucket{le=10.0}"] == 2


def test_each_node_has_its_own_registry() -> None:
    a, b = Metrics(), Metrics()
    a.block_committed(5, 2)
    assert samples(a)["egov_height"] == 5
    assert samples(b)["egov_height"] == 0
    assert REGISTRY.get_sample_value("egov_height") is None
    assert a.content_type.startswith("text/plain")
