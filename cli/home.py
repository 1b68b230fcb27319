"""``egov init``: create a node's home directory.

The layout is node.config.Home's. Keys are new random ones, or with
``--dev-index I`` the INSECURE development keys of validator I, which only
make sense with the development genesis (a local network).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from chain.keys import PrivateKey
from cli.context import echo_json, json_option, note
from cli.errors import Failed
from cli.genesis import parse_genesis, read_doc
from cli.keys import write_key
from node.config import Config, ConfigError, Home
from node.devnet import dev_genesis, node_key, validator_key


@dataclass(frozen=True)
class NewHome:
    home: Home
    validator: bytes  # public keys
    node: bytes
    in_validator_set: bool


def init_home(
    root: Path,
    *,
    genesis_doc: dict[str, Any],
    config: Config,
    validator: PrivateKey,
    node: PrivateKey,
) -> NewHome:
    """Write config.toml, genesis.json and the two keys into a new ``root``.

    Refuses a ``root`` that exists and is not empty. Reused by ``import`` and
    by anything that builds homes for a local network.
    """
    gen = parse_genesis(genesis_doc, "genesis")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise Failed("home.exists", f"{root} exists and is not empty; not touching it")
    home = Home(root)
    try:
        config.peer_list()
        Config.split_address(config.p2p_listen, "p2p.listen")
        Config.split_address(config.api_listen, "api.listen")
    except ConfigError as exc:
        raise Failed("home.config", exc.message) from exc
    try:
        root.mkdir(parents=True, exist_ok=True)
        home.config.write_text(config.dump())
        home.genesis.write_text(json.dumps(genesis_doc, indent=2) + "\n")
        write_key(home.validator_key, validator)
        write_key(home.node_key, node)
        home.db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Failed("home.write", f"cannot write {root}: {exc}") from exc
    return NewHome(
        home, validator.public, node.public, validator.public in gen.validators
    )


@click.command("init")
@click.option(
    "--home",
    "root",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The directory to create.",
)
@click.option("--moniker", default="node", show_default=True, help="The node's name.")
@click.option(
    "--genesis",
    "genesis_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The chain's genesis [default: the INSECURE development chain].",
)
@click.option(
    "--dev-index",
    type=click.IntRange(min=1),
    help="Use the INSECURE development keys of validator I (local networks).",
)
@click.option("--p2p-listen", help="host:port for peers [default: config's].")
@click.option("--api-listen", help="host:port for the API [default: config's].")
@click.option(
    "--peer", "peers", multiple=True, help="nodekey@host:port of a peer (repeatable)."
)
@click.option(
    "--observer", is_flag=True, help="Follow the chain without signing votes."
)
@json_option
def init(
    root: Path,
    moniker: str,
    genesis_file: Path | None,
    dev_index: int | None,
    p2p_listen: str | None,
    api_listen: str | None,
    peers: tuple[str, ...],
    observer: bool,
    as_json: bool,
) -> None:
    """Create a node's home: config.toml, genesis.json and keys."""
    doc = read_doc(genesis_file) if genesis_file else dev_genesis()
    config = Config(moniker=moniker, mode="observer" if observer else "validator")
    if p2p_listen:
        config.p2p_listen = p2p_listen
    if api_listen:
        config.api_listen = api_listen
    config.peers = list(peers)
    if dev_index is None:
        keys = PrivateKey.generate(), PrivateKey.generate()
    else:
        keys = validator_key(dev_index), node_key(dev_index)
    made = init_home(
        root, genesis_doc=doc, config=config, validator=keys[0], node=keys[1]
    )
    if dev_index is not None:
        note("warning: INSECURE development keys; for a local network only")
    if not made.in_validator_set and not observer:
        note(
            "this validator is not in the genesis; to add it:\n"
            f"  egov genesis add-validator GENESIS --name {moniker} --power 10"
            f" --key {made.validator.hex()} --node-key {made.node.hex()}"
        )
    if as_json:
        echo_json(
            {
                "home": str(root),
                "validator_key": made.validator,
                "node_key": made.node,
                "in_validator_set": made.in_validator_set,
            }
        )
        return
    click.echo(f"initialised {root}")
    click.echo(f"validator key: {made.validator.hex()}")
    click.echo(f"node key:      {made.node.hex()}")
