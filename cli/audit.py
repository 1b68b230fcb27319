"""``egov audit``: replay a whole chain from genesis and check everything.

The chain comes from a node's home (its store, only read), from a node's
API, or from a chain file; it is replayed into a fresh temporary store by a
fresh Application (cli.replay says what each height must pass). From a
home, the node's stored results, state roots and transaction index and, at
the end, every stored state value are also compared with the replayed ones,
so a value changed on disk is found even though no block mentions it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import click

from chain.genesis import Genesis
from cli.chainfile import ChainFileError, ChainFileReader
from cli.context import echo_json, json_option, node_client, note
from cli.errors import Failed
from cli.genesis import check_modules, load_genesis, parse_genesis
from cli.query import trusted_genesis
from cli.replay import Divergence, Record, Replayer
from cli.sources import node_height, node_records, open_home_store, store_records
from node.application import GENESIS_META, Application
from node.config import Home
from storage.store import Store

# The replay re-executes every block against a state that grows to the
# chain's whole state: tree nodes that fall out of the cache are read back
# from LevelDB at every block that crosses them. An audit is a one-off
# process, so it keeps more of the tree than a validator's default.
REPLAY_NODE_CACHE_MB = 256


@dataclass
class Progress:
    every: int
    started: float = 0.0
    shown: int = -1  # blocks at the last line printed

    def __post_init__(self) -> None:
        self.started = time.monotonic()

    def report(self, replayer: Replayer, *, final: bool = False) -> None:
        due = self.every > 0 and replayer.blocks % self.every == 0
        if not (final or due) or replayer.blocks == self.shown:
            return
        self.shown = replayer.blocks
        elapsed = max(time.monotonic() - self.started, 1e-9)
        note(
            f"audit: height={replayer.app.height} blocks={replayer.blocks}"
            f" txs={replayer.txs} tx/s={replayer.txs / elapsed:.0f}"
            f" blocks/s={replayer.blocks / elapsed:.1f}"
        )


def replay(
    gen: Genesis,
    records: Iterator[Record],
    fresh: Store,
    progress: Progress,
    stored: Store | None = None,
) -> Replayer:
    """Replay ``records`` into the empty store ``fresh``; Divergence if bad.

    ``fresh`` is thrown away afterwards: no write to it is synced.
    """
    app = Application(fresh, gen)
    app.init_chain()
    replayer = Replayer(app, stored)
    for record in records:
        replayer.apply(record, sync=False)
        progress.report(replayer)
    return replayer


def compare_state(stored: Store, replayed: Store) -> None:
    """Every stored state value must be the replayed one, and no other."""
    height = replayed.height
    ours = stored.state_iter()
    theirs = replayed.state_iter()
    a, b = next(ours, None), next(theirs, None)
    while a is not None or b is not None:
        if a is not None and (b is None or a[0] < b[0]):
            raise Divergence(height, f"state {_key(a[0])}", "absent", a[1].hex())
        if b is not None and (a is None or b[0] < a[0]):
            raise Divergence(height, f"state {_key(b[0])}", b[1].hex(), "absent")
        assert a is not None and b is not None
        if a[1] != b[1]:
            raise Divergence(height, f"state {_key(a[0])}", b[1].hex(), a[1].hex())
        a, b = next(ours, None), next(theirs, None)
    if stored.state_root != replayed.state_root:
        raise Divergence(
            height,
            "stored state_root",
            replayed.state_root.hex(),
            stored.state_root.hex(),
        )


def _key(key: bytes) -> str:
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + key.hex()


@click.command("audit")
@click.option(
    "--home",
    "home_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A node's home (its store is only read).",
)
@click.option("--node", "node_url", help="A node's API address.")
@click.option(
    "--file",
    "chain_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A chain file from `egov export`.",
)
@click.option(
    "--genesis",
    "genesis_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The genesis to trust [default: the source's].",
)
@click.option(
    "--progress-every",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Report progress on stderr every N blocks (0: only at the end).",
)
@click.option(
    "--cache-mb",
    type=click.IntRange(min=1),
    default=REPLAY_NODE_CACHE_MB,
    show_default=True,
    help="Memory for the replayed state's tree nodes, in MiB.",
)
@json_option
def audit(
    home_dir: Path | None,
    node_url: str | None,
    chain_file: Path | None,
    genesis_file: Path | None,
    progress_every: int,
    cache_mb: int,
    as_json: bool,
) -> None:
    """Replay the chain from genesis, verifying every commit, signature and root."""
    chosen = [x for x in (home_dir, node_url, chain_file) if x is not None]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --home, --node, --file")
    progress = Progress(progress_every)
    with ExitStack() as stack:
        tmp = tempfile.TemporaryDirectory(prefix="egov-audit-")
        workdir = Path(stack.enter_context(tmp))
        stored: Store | None = None
        if home_dir is not None:
            gen = load_genesis(genesis_file or Home(home_dir).genesis)
            stored = stack.enter_context(open_home_store(home_dir))
            _check_store_genesis(stored, gen)
            records = store_records(stored)
        elif node_url is not None:
            client = stack.enter_context(node_client(node_url))
            gen = trusted_genesis(client, genesis_file)
            records = node_records(client, node_height(client))
        else:
            assert chain_file is not None
            reader = stack.enter_context(open_chain_file(chain_file))
            gen = file_genesis(reader, genesis_file)
            records = file_records(reader)
        check_modules(gen, "genesis")
        fresh = stack.enter_context(
            Store.open(workdir / "db", node_cache_bytes=cache_mb * 1024 * 1024)
        )
        try:
            replayer = replay(gen, records, fresh, progress, stored)
            if stored is not None:
                compare_state(stored, fresh)
        except Divergence as div:
            if as_json:
                echo_json({"ok": False, "divergence": div.to_json()})
            raise Failed("audit.diverged", str(div)) from div
        progress.report(replayer, final=True)
        summary = {
            "ok": True,
            "chain_id": gen.chain_id,
            "blocks": replayer.blocks,
            "transactions": replayer.txs,
            "height": fresh.height,
            "state_root": fresh.state_root,
            "last_block_hash": fresh.last_block_hash,
        }
    if as_json:
        echo_json(summary)
        return
    click.echo(f"audit passed: chain {gen.chain_id}")
    click.echo(f"blocks:       {replayer.blocks}")
    click.echo(f"transactions: {replayer.txs}")
    click.echo(f"state root:   {fresh.state_root.hex()}")


def _check_store_genesis(store: Store, gen: Genesis) -> None:
    stored = store.get_meta(GENESIS_META)
    if stored is not None and stored != gen.hash:
        raise Failed(
            "audit.diverged",
            str(Divergence(0, "genesis", gen.hash.hex(), stored.hex())),
        )


def open_chain_file(path: Path) -> ChainFileReader:
    try:
        return ChainFileReader(path)
    except ChainFileError as exc:
        raise Failed(exc.code, str(exc)) from exc


def file_genesis(reader: ChainFileReader, genesis_file: Path | None) -> Genesis:
    in_file = parse_genesis(reader.genesis_doc, f"{reader.path} (its genesis)")
    if genesis_file is None:
        note(f"warning: no --genesis given; trusting the genesis in {reader.path}")
        return in_file
    gen = load_genesis(genesis_file)
    if gen.hash != in_file.hash:
        raise Failed(
            "audit.diverged",
            str(Divergence(0, "genesis", gen.hash.hex(), in_file.hash.hex())),
        )
    return gen


def file_records(reader: ChainFileReader) -> Iterator[Record]:
    try:
        yield from reader.records()
    except ChainFileError as exc:
        raise Failed(exc.code, str(exc)) from exc
