"""``egov query`` (proven state), ``query-module``, ``status`` and ``block``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from chain.genesis import Genesis
from cli.client import NodeClient
from cli.context import echo_json, json_option, node_client, node_option, note, plain
from cli.errors import Unverified
from cli.genesis import load_genesis, parse_genesis
from cli.verify import Rejected, state_key, verify_state

genesis_option = click.option(
    "--genesis",
    "genesis_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The genesis to trust [default: the node's, which trusts the node].",
)


def trusted_genesis(client: NodeClient, genesis_file: Path | None) -> Genesis:
    """The genesis from --genesis, or else the node's, with a warning."""
    if genesis_file is not None:
        return load_genesis(genesis_file)
    note(
        "warning: no --genesis given; using the node's genesis, so the"
        " validator set is only as trustworthy as this node"
    )
    return parse_genesis(client.genesis(), "the node's genesis")


@click.command("query")
@click.argument("module")
@click.argument("path")
@node_option
@click.option("--no-verify", is_flag=True, help="Print the value without checks.")
@genesis_option
@json_option
def query(
    module: str,
    path: str,
    node_url: str,
    no_verify: bool,
    genesis_file: Path | None,
    as_json: bool,
) -> None:
    """Print the state value at MODULE/PATH, proven against the validators."""
    with node_client(node_url) as client:
        answer = client.state(module, path)
        if no_verify:
            note("warning: --no-verify: the value is the node's word only")
            doc = {
                "key": state_key(module, path),
                "value": answer.get("value"),
                "height": answer.get("height"),
                "verified": False,
            }
            _print(doc, as_json)
            return
        gen = trusted_genesis(client, genesis_file)
    try:
        proven = verify_state(answer, module, path, gen)
    except Rejected as exc:
        raise Unverified(
            f"verify.{exc.step}",
            f"the node's answer does not verify ({exc.message}); not printing it",
        ) from exc
    doc = {
        "key": proven.key,
        "value": proven.value,
        "present": proven.value_raw is not None,
        "height": proven.height,
        "state_root": proven.state_root,
        "block_hash": proven.block_hash,
        "verified": True,
    }
    if not as_json:
        what = "value" if proven.value_raw is not None else "absence"
        note(
            f"verified {what} at height {proven.height}: proof to state root"
            f" {proven.state_root.hex()[:16]}..., commit signed by"
            f" {proven.signers} of {len(gen.validators)} validators"
        )
    _print(doc, as_json)


def _print(doc: dict[str, object], as_json: bool) -> None:
    if as_json:
        echo_json(doc)
    else:
        echo_json(doc["value"])


@click.command("query-module")
@click.argument("module")
@click.argument("name")
@click.argument("params", nargs=-1, metavar="[K=V]...")
@node_option
def query_module(
    module: str, name: str, params: tuple[str, ...], node_url: str
) -> None:
    """Run a module's named query (not proven: the node's word)."""
    parsed: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not k=v", param_hint="PARAMS")
        parsed[key] = value
    with node_client(node_url) as client:
        answer = client.query(module, name, parsed)
    echo_json(answer.get("result", answer) if isinstance(answer, dict) else answer)


@click.command("status")
@node_option
@json_option
def status(node_url: str, as_json: bool) -> None:
    """Print the node's chain, height and health."""
    with node_client(node_url) as client:
        answer = client.status()
    if as_json:
        echo_json(answer)
        return
    for key in sorted(answer):
        value = plain(answer[key])
        if isinstance(value, dict | list):
            value = json.dumps(value, sort_keys=True)
        click.echo(f"{key + ':':<18} {value}")


@click.command("block")
@click.argument("height")
@node_option
@json_option
def block(height: str, node_url: str, as_json: bool) -> None:
    """Print block HEIGHT (a number or 'latest')."""
    if height != "latest" and not (height.isdigit() and int(height) >= 1):
        raise click.BadParameter(
            "must be a height >= 1 or 'latest'", param_hint="HEIGHT"
        )
    with node_client(node_url) as client:
        answer = client.block(height)
    if as_json:
        echo_json(answer)
        return
    header = answer.get("header") or {}
    txs = answer.get("txs") or []
    results = answer.get("results") or []
    click.echo(f"height:     {answer.get('height')}")
    click.echo(f"hash:       {answer.get('hash')}")
    for field in ("time", "proposer", "prev_hash", "state_root", "results_root"):
        if field in header:
            click.echo(f"{field + ':':<11} {plain(header[field])}")
    click.echo(f"txs:        {len(txs)}")
    for i, tx in enumerate(txs):
        code = results[i].get("code") if i < len(results) else "?"
        label = tx.get("id") if isinstance(tx, dict) else tx
        summary = ""
        if isinstance(tx, dict) and "module" in tx:
            summary = f" {tx.get('module')}.{tx.get('action')}"
        click.echo(f"  {i}: {label}{summary} -> {code}")
    commit = answer.get("commit") or {}
    if isinstance(commit, dict) and "signatures" in commit:
        click.echo(f"commit:     {len(commit['signatures'])} signatures")
