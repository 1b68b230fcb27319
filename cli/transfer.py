"""``egov export`` and ``egov import``: a chain to and from one file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from chain.keys import PrivateKey
from cli.audit import file_genesis, file_records, open_chain_file
from cli.chainfile import ChainFileWriter
from cli.context import echo_json, json_option, node_client, note
from cli.errors import Failed
from cli.genesis import check_modules, read_doc
from cli.home import init_home
from cli.replay import Divergence, Record, Replayer
from cli.sources import node_height, node_records, open_home_store, store_records
from node.application import Application
from node.config import Config, Home
from storage.store import Store


@click.command("export")
@click.option(
    "--home",
    "home_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A node's home (its store is only read).",
)
@click.option("--node", "node_url", help="A node's API address.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The chain file to write.",
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@json_option
def export(
    home_dir: Path | None, node_url: str | None, out: Path, force: bool, as_json: bool
) -> None:
    """Write the whole chain (genesis, blocks, commits) to one file."""
    if (home_dir is None) == (node_url is None):
        raise click.UsageError("give exactly one of --home, --node")
    if out.exists() and not force:
        raise Failed("export.exists", f"{out} exists; use --force to replace it")
    with ExitStack() as stack:
        records: Iterator[Record]
        if home_dir is not None:
            doc: dict[str, Any] = read_doc(Home(home_dir).genesis)
            records = store_records(stack.enter_context(open_home_store(home_dir)))
        else:
            assert node_url is not None
            client = stack.enter_context(node_client(node_url))
            doc = client.genesis()
            records = node_records(client, node_height(client))
        writer = ChainFileWriter(out, doc)
        try:
            for record in records:
                writer.add(record.height, record.block, record.commit)
        except BaseException:
            writer.abort()
            raise
        writer.finish()
    if as_json:
        echo_json({"file": str(out), "blocks": writer.height})
    else:
        click.echo(f"exported {writer.height} blocks to {out}")


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--home",
    "home_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A new home, or one from `egov init` with the same genesis and no blocks.",
)
@json_option
def import_(file: Path, home_dir: Path, as_json: bool) -> None:
    """Replay a chain file into a home's store, validating every block."""
    home = Home(home_dir)
    with ExitStack() as stack:
        reader = stack.enter_context(open_chain_file(file))
        if home.config.exists():
            gen = file_genesis(reader, home.genesis)
        else:
            gen = file_genesis(reader, None)
            init_home(
                home_dir,
                genesis_doc=reader.genesis_doc,
                config=Config(),
                validator=PrivateKey.generate(),
                node=PrivateKey.generate(),
            )
            note(f"initialised {home_dir} (new keys) with the file's genesis")
        check_modules(gen, str(file))
        store = stack.enter_context(Store.open(home.db))
        if store.height > 0:
            raise Failed(
                "import.not_empty", f"{home_dir} already holds {store.height} blocks"
            )
        replayer = Replayer(Application(store, gen))
        replayer.app.init_chain()
        try:
            for record in file_records(reader):
                replayer.apply(record)
        except Divergence as div:
            raise Failed(
                "import.invalid",
                f"{div}; the home keeps the {replayer.blocks} blocks before it",
            ) from div
        summary = {
            "home": str(home_dir),
            "blocks": replayer.blocks,
            "transactions": replayer.txs,
            "state_root": store.state_root,
        }
    if as_json:
        echo_json(summary)
    else:
        click.echo(
            f"imported {summary['blocks']} blocks ({summary['transactions']}"
            f" transactions) into {home_dir}; state root {store.state_root.hex()}"
        )
