"""egov init."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from chain.genesis import Genesis
from chain.keys import load_key
from node.config import Config, Home
from node.devnet import dev_genesis, node_key, validator_key
from tests.cli.conftest import Run, genesis_file


def test_init_with_dev_keys_writes_the_whole_layout(tmp_path: Path, run: Run) -> None:
    root = tmp_path / "n2"
    result = run(
        "init", "--home", root, "--moniker", "agency-2", "--dev-index", 2,
        "--api-listen", "127.0.0.1:27002", "--peer",
        f"{node_key(1).public.hex()}@127.0.0.1:26001",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    home = Home(root)
    config = Config.load(home.config)
    assert config.moniker == "agency-2"
    assert config.api_listen == "127.0.0.1:27002"
    assert len(config.peer_list()) == 1
    assert load_key(home.validator_key) == validator_key(2)
    assert load_key(home.node_key) == node_key(2)
    for key in (home.validator_key, home.node_key):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert Genesis.load(home.genesis).hash == Genesis.from_json(dev_genesis()).hash
    assert home.db.parent.is_dir()
    assert "INSECURE" in result.stderr
    assert "not in the genesis" not in result.stderr


def test_init_with_new_keys_and_a_given_genesis(tmp_path: Path, run: Run) -> None:
    root = tmp_path / "n"
    source = genesis_file(tmp_path)
    result = run("init", "--home", root, "--genesis", source, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    home = Home(root)
    assert load_key(home.validator_key).public.hex() == doc["validator_key"]
    assert doc["in_validator_set"] is False
    assert "egov genesis add-validator" in result.stderr
    assert json.loads(home.genesis.read_text()) == json.loads(source.read_text())


def test_init_refuses_an_existing_home(tmp_path: Path, run: Run) -> None:
    root = tmp_path / "n"
    assert run("init", "--home", root, "--dev-index", 1).exit_code == 0
    before = Home(root).validator_key.read_text()
    result = run("init", "--home", root)
    assert result.exit_code == 1 and "home.exists" in result.stderr
    assert Home(root).validator_key.read_text() == before


def test_init_refuses_a_bad_genesis_or_peer_before_writing(
    tmp_path: Path, run: Run
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**dev_genesis(), "chain_id": ""}))
    result = run("init", "--home", tmp_path / "a", "--genesis", bad)
    assert result.exit_code == 1 and "chain_id" in result.stderr
    assert not (tmp_path / "a").exists()
    result = run("init", "--home", tmp_path / "b", "--peer", "nonsense")
    assert result.exit_code == 1 and "p2p.peers" in result.stderr
    assert not (tmp_path / "b").exists()
