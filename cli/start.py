"""``egov start``: run one validator or observer from its home."""

from __future__ import annotations

import signal
from pathlib import Path

import click
import trio

from chain.errors import ChainError
from cli.errors import CliError
from modules.errors import ModuleConfigError
from node import logs
from node.config import Config
from node.errors import NodeError
from node.service import Node
from storage.errors import StorageError


async def _serve(home: Path) -> None:
    node = Node(home)
    async with trio.open_nursery() as nursery:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            ports = await nursery.start(node.run)
            click.echo(f"ready p2p={ports.p2p} api={ports.api}", err=True)
            async for signum in signals:
                click.echo(f"stopping on {signal.Signals(signum).name}", err=True)
                nursery.cancel_scope.cancel()
                break


@click.command("start")
@click.option(
    "--home",
    "root",
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The node's home (made by egov init).",
)
@click.option(
    "--log-level",
    default=None,
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Overrides config.toml's log.level.",
)
def start(root: Path, log_level: str | None) -> None:
    """Run a validator (or an observer) until SIGINT or SIGTERM."""
    try:
        config = Config.load(root / "config.toml")
        logs.setup(log_level or config.log_level)
        trio.run(_serve, root)
    except (NodeError, ChainError, StorageError) as exc:
        code = getattr(exc, "code", "node.error")
        raise CliError(code, str(getattr(exc, "message", exc))) from exc
    except ModuleConfigError as exc:
        raise CliError("genesis.module_config", str(exc)) from exc
