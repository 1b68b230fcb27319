"""config.toml: defaults, round trip, refusals naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.config import Config, ConfigError, Home, Peer
from node.service import Node
from tests.node.cluster import make_homes


def test_round_trip_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    config = Config(moniker="v1", peers=[f"{'ab' * 32}@127.0.0.1:7001"])
    path.write_text(config.dump())
    loaded = Config.load(path)
    assert loaded == config
    assert loaded.peer_list() == [Peer(bytes.fromhex("ab" * 32), "127.0.0.1", 7001)]
    path.write_text("")
    assert Config.load(path) == Config()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[node]\nmode = 'king'\n", "node.mode"),
        ("[node]\ncolour = 'red'\n", "node.colour"),
        ("[mempool]\nmax_txs = 'many'\n", "mempool.max_txs"),
        ("[p2p]\npeers = ['nokey@host:1']\n", "p2p.peers"),
        ("[api]\nlisten = 'nowhere'\n", "api.listen"),
        ("[store]\nmax_open_files = 10\n", "store.max_open_files"),
        ("[store]\nnode_cache_mb = 0\n", "store.node_cache_mb"),
        ("[store]\nblock_cache_mb = 0\n", "store.block_cache_mb"),
        ("[store]\nwrite_buffer_mb = 0\n", "store.write_buffer_mb"),
        ("[node]\nverify_processes = -2\n", "node.verify_processes"),
        ("not toml at all [", "file"),
    ],
)
def test_refusals_name_the_setting(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        Config.load(path)
    assert info.value.field == field
    assert info.value.code == "config.invalid"


def test_store_settings_reach_the_store(tmp_path: Path) -> None:
    homes, _ = make_homes(tmp_path, 1, modules=("identity",))
    config = Config.load(Home(homes[0]).config)
    config.store_node_cache_mb = 3
    node = Node(homes[0], config=config)
    try:
        assert node.store.node_cache_bytes == 3 << 20
    finally:
        node.store.close()
