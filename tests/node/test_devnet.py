"""The development chain: genesis.json is dev_genesis(4) and loads in full."""

from __future__ import annotations

import json
from pathlib import Path

from chain.genesis import Genesis
from modules.host import ModuleHost
from node.devnet import dev_genesis

ROOT = Path(__file__).resolve().parents[2]


def test_root_genesis_is_the_dev_genesis() -> None:
    assert json.loads((ROOT / "genesis.json").read_text()) == dev_genesis(4)


def test_dev_genesis_loads_every_module() -> None:
    genesis = Genesis.load(ROOT / "genesis.json")
    host = ModuleHost.from_genesis(genesis)
    assert sorted(host.modules) == [
        "auction",
        "identity",
        "petition",
        "registry",
        "vote",
    ]
    assert "INSECURE" in json.loads((ROOT / "genesis.json").read_text())["comment"]
