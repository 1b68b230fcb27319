"""``egov demo`` and ``egov localnet --demo``: a workload that shows every module.

The demo is an ordinary client: it signs with the INSECURE development keys
(``node/devnet.py``) and talks to the nodes only through their HTTP API. It
plays one scenario, then (under ``localnet --demo``) a light steady load:

1. the Ministry enrols citizens (``dev_key("demo/citizen/<i>")``) with regions;
2. the State Property Fund sells a land plot in an English auction that closes
   by itself in the end-of-block step, and confirms the winner's payment;
3. the land registrar registers a plot with two owners, which they transfer
   (offer, consent, accept, approval), and then mortgage;
4. the Election Commission runs a short ballot that citizens vote on and that
   closes with a tally;
5. a citizens' proposal reaches its support threshold and becomes a ballot;
6. a petition to the Kyiv City Council passes its threshold and is answered.

It can run again on a chain that has seen it: enrolled keys are skipped,
every id (record, offer, auction, ballot, proposal, petition) is fresh or
taken from this run's events, and nonces come from the node. Times are
relative to the chain's last block time, never to this machine's clock.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from chain.keys import PrivateKey
from cli.client import ClientError
from cli.context import node_option, note
from cli.demo.chain import MIN_CITIZENS, Chain, DemoError, Stats
from cli.demo.load import DemoRunner, summarize
from cli.demo.scenario import Scenario
from cli.errors import Failed
from cli.keys import read_key, write_key
from node.devnet import DEV_AUTHORITIES, authority_key


def write_dev_keys(directory: Path) -> list[tuple[Path, str, PrivateKey]]:
    """The development authorities' key files, named after their seeds."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for seed, name, _ in DEV_AUTHORITIES:
        path = directory / f"{seed.rsplit('/', 1)[1]}.key"
        key = authority_key(seed)
        if not (path.exists() and read_key(path).public == key.public):
            write_key(path, key)
        written.append((path, name, key))
    return written


@click.command("demo")
@node_option
@click.option(
    "--citizens",
    type=click.IntRange(MIN_CITIZENS, 500),
    default=20,
    show_default=True,
    help="How many demo citizens to enrol (or reuse).",
)
@click.option(
    "--write-keys",
    "keys_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Only write the development authorities' key files to this directory.",
)
def demo(node_url: str, citizens: int, keys_dir: Path | None) -> None:
    """Play the demo scenario once against a development chain.

    Enrols citizens and exercises every module: a land transfer and a
    mortgage, an auction, a ballot, a citizens' proposal and a petition.
    It signs with the INSECURE development keys, so the chain must be one
    made from the development genesis (egov localnet). With --write-keys
    it writes those keys to files instead, to act as the agencies by hand.
    """
    if keys_dir is not None:
        for path, name, key in write_dev_keys(keys_dir):
            click.echo(f"{str(path):<24} {key.public.hex()[:16]}...  {name}")
        note("warning: INSECURE development keys; for a local network only")
        return
    stats = Stats()
    started = time.monotonic()
    try:
        chain = Chain([node_url])
        try:
            Scenario(chain, citizens, stats, log=click.echo).run()
        finally:
            chain.close()
    except DemoError as exc:
        raise Failed(exc.code, f"{exc.message} (during: {stats.phase})") from exc
    except ClientError as exc:
        raise Failed(exc.code, f"{exc.message} (during: {stats.phase})") from exc
    click.echo(summarize(stats, time.monotonic()))
    click.echo(f"done in {time.monotonic() - started:.0f} s")


__all__ = ["DemoRunner", "demo", "write_dev_keys"]
