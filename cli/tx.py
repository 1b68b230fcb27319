"""``egov tx``: build, sign, submit and optionally wait for a transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from chain.errors import ChainError
from chain.tx import SignedTx, TxBody
from cli.args import ArgError, build_args
from cli.client import ApiError, NodeClient
from cli.context import echo_json, json_option, node_client, node_option, settings
from cli.errors import Failed, NodeUnavailable
from cli.keys import read_key


@click.command("tx")
@click.argument("module")
@click.argument("action")
@click.option(
    "--arg",
    "pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="An argument; hex:, int:, str:, bool: fix its type (repeatable).",
)
@click.option("--arg-json", help='Arguments as a JSON object ("hex:..." for bytes).')
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The sender's key file.",
)
@node_option
@click.option("--nonce", type=click.IntRange(min=1), help="[default: the node's]")
@click.option("--chain-id", help="[default: the node's]")
@click.option("--wait", is_flag=True, help="Wait until committed; print the result.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait with --wait.",
)
@json_option
def tx(
    module: str,
    action: str,
    pairs: tuple[str, ...],
    arg_json: str | None,
    key_file: Path,
    node_url: str,
    nonce: int | None,
    chain_id: str | None,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Sign MODULE ACTION with --key and submit it to the node."""
    try:
        args = build_args(pairs, arg_json)
    except ArgError as exc:
        raise click.BadParameter(str(exc), param_hint="--arg") from exc
    key = read_key(key_file)
    with node_client(node_url) as client:
        if chain_id is None:
            chain_id = client.status().get("chain_id")
            if not isinstance(chain_id, str) or not chain_id:
                raise NodeUnavailable("node.bad_response", "status has no chain_id")
        if nonce is None:
            nonce = client.next_nonce(key.public)
        try:
            signed = SignedTx.create(
                TxBody(chain_id, module, action, args, key.public, nonce), key
            )
            SignedTx.decode(signed.raw)  # the node will be as strict
        except ChainError as exc:
            raise Failed(exc.code, exc.message) from exc
        try:
            tx_id = client.submit_tx(signed.raw)
        except ApiError as exc:
            raise Failed(exc.code, f"refused: {exc.message}") from exc
        if not wait:
            if as_json:
                echo_json({"id": tx_id, "nonce": nonce, "status": "pending"})
            else:
                click.echo(f"submitted {tx_id} (nonce {nonce})")
            return
        answer = _wait(client, tx_id, timeout)
    _report(answer, as_json)


def _wait(client: NodeClient, tx_id: str, timeout: float) -> dict[str, Any]:
    opts = settings()
    deadline = opts.clock() + timeout
    while True:
        try:
            answer = client.tx(tx_id)
        except ApiError as exc:
            if exc.status != 404:  # not yet known: keep polling
                raise
        else:
            if answer.get("status") == "committed":
                return answer
        if opts.clock() >= deadline:
            raise Failed(
                "tx.timeout", f"{tx_id} not committed within {timeout:g} seconds"
            )
        opts.sleep(opts.poll_interval)


def _report(answer: dict[str, Any], as_json: bool) -> None:
    result = answer.get("result") or {}
    code = str(result.get("code", "?"))
    if as_json:
        echo_json(answer)
    else:
        click.echo(
            f"committed {answer.get('id')} at height {answer.get('height')}"
            f" index {answer.get('index')}"
        )
        message = result.get("message")
        click.echo(f"result: {code}: {message}" if message else f"result: {code}")
        for event in result.get("events") or []:
            attrs = event.get("attrs") or {}
            fields = " ".join(f"{k}={v}" for k, v in sorted(attrs.items()))
            click.echo(f"event: {event.get('type')} {fields}".rstrip())
    if code != "ok":
        raise Failed(code, str(result.get("message") or "the transaction failed"))
