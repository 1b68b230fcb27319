"""``egov keys``: create and show ed25519 key files.

A key file holds the 32-byte seed in hex, mode 0600 (chain.keys). The seed
is printed only when asked with ``--secret``; everything else shows the
public key, which is what a genesis or an enrolment needs.
"""

from __future__ import annotations

from pathlib import Path

import click

from chain.errors import KeyFileError
from chain.keys import PrivateKey, load_key, save_key
from cli.context import echo_json, json_option
from cli.errors import Failed

KEY_TYPES = ("validator", "node", "citizen")


def read_key(path: Path | str) -> PrivateKey:
    """Load a key file; KeyFileError becomes a CliError with its code."""
    try:
        return load_key(path)
    except KeyFileError as exc:
        raise Failed(exc.code, exc.message) from exc


def write_key(path: Path, key: PrivateKey, *, force: bool = False) -> None:
    try:
        save_key(path, key, overwrite=force)
    except KeyFileError as exc:
        if exc.code == "key.exists":
            raise Failed(exc.code, f"{path} exists; use --force to replace it") from exc
        raise Failed(exc.code, exc.message) from exc
    except OSError as exc:
        raise Failed("key.write", f"cannot write {path}: {exc}") from exc


@click.group("keys")
def keys() -> None:
    """Create and inspect key files."""


@keys.command("new")
@click.option(
    "--type",
    "key_type",
    type=click.Choice(KEY_TYPES),
    required=True,
    help="What the key is for (names the default file).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the key [default: ./<type>.key].",
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@json_option
def new(key_type: str, out: Path | None, force: bool, as_json: bool) -> None:
    """Generate a key and write its seed to a file readable only by you."""
    path = out or Path(f"{key_type}.key")
    key = PrivateKey.generate()
    write_key(path, key, force=force)
    if as_json:
        echo_json({"type": key_type, "file": str(path), "public_key": key.public})
        return
    click.echo(f"wrote {key_type} key to {path}")
    click.echo(f"public key: {key.public.hex()}")


@keys.command("show")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--secret", is_flag=True, help="Also print the secret seed.")
@json_option
def show(file: Path, secret: bool, as_json: bool) -> None:
    """Print a key file's public key (and its seed only with --secret)."""
    key = read_key(file)
    if as_json:
        doc: dict[str, object] = {"file": str(file), "public_key": key.public}
        if secret:
            doc["seed"] = key.seed
        echo_json(doc)
        return
    click.echo(key.public.hex())
    if secret:
        click.echo(f"seed: {key.seed.hex()}")
