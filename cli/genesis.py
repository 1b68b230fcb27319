"""``egov genesis``: assemble and check a genesis document.

Agencies exchange public keys only: one of them runs ``genesis new``, each
adds its validator (``add-validator``) and its authorities
(``add-authority``), and everyone runs ``genesis validate`` on the final
file and compares the printed hash before starting a node.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from chain.errors import GenesisError
from chain.genesis import Genesis, parse_time
from chain.tx import NAME_RE
from chain.validators import MAX_POWER
from cli.context import echo_json, json_option
from cli.errors import Failed
from modules.errors import ModuleConfigError
from modules.host import ModuleHost

DEFAULT_MODULES = ("identity", "registry", "auction", "vote", "petition")


def read_doc(path: Path) -> dict[str, Any]:
    """The genesis file as a JSON object (not yet validated)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise Failed("genesis.read", f"cannot read {path}: {exc}") from exc
    try:
        doc = json.loads(text, parse_float=_no_float)
    except ValueError as exc:
        raise Failed("genesis.invalid", f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise Failed("genesis.invalid", f"{path}: must be a JSON object")
    return doc


def write_doc(path: Path, doc: dict[str, Any], *, overwrite: bool = True) -> None:
    """Write the document through a temporary file, so a crash leaves the old."""
    if not overwrite and path.exists():
        raise Failed("genesis.exists", f"{path} exists")
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise Failed("genesis.write", f"cannot write {path}: {exc}") from exc


def load_genesis(path: Path) -> Genesis:
    """Parse and validate a genesis file; the error names the wrong field."""
    try:
        return Genesis.load(path)
    except GenesisError as exc:
        raise Failed("genesis.invalid", f"{path}: {exc.message}") from exc


def parse_genesis(doc: Any, source: str) -> Genesis:
    try:
        return Genesis.from_json(doc)
    except GenesisError as exc:
        raise Failed("genesis.invalid", f"{source}: {exc.message}") from exc


def check_modules(gen: Genesis, source: str) -> None:
    """Every module is installed and accepts its configuration."""
    try:
        ModuleHost.from_genesis(gen)
    except ModuleConfigError as exc:
        raise Failed(
            "genesis.invalid", f"{source}: {exc.field}: {exc.message}"
        ) from exc
    except ImportError as exc:
        raise Failed(
            "genesis.invalid", f"{source}: modules: a module cannot be loaded: {exc}"
        ) from exc


def _no_float(text: str) -> Any:
    raise ValueError(f"floats are not allowed: {text}")


def _key_hex(value: str, option: str) -> str:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise click.BadParameter("must be 32 bytes in hex", param_hint=option)
    return raw.hex()


@click.group("genesis")
def genesis() -> None:
    """Assemble and check a genesis document."""


@genesis.command("new")
@click.option("--chain-id", required=True, help="The chain's name.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to create.",
)
@click.option(
    "--modules",
    default=",".join(DEFAULT_MODULES),
    show_default=True,
    help="Comma-separated modules the chain runs.",
)
@click.option(
    "--genesis-time",
    default=None,
    help="RFC 3339 UTC time of the chain's start [default: now].",
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
def new(
    chain_id: str, out: Path, modules: str, genesis_time: str | None, force: bool
) -> None:
    """Start a genesis with no validators or authorities yet."""
    names = [m.strip() for m in modules.split(",") if m.strip()]
    for name in names:
        if not NAME_RE.match(name):
            raise click.BadParameter(
                f"{name!r} is not a module name", param_hint="--modules"
            )
    if "identity" not in names:
        raise click.BadParameter(
            "the identity module is required", param_hint="--modules"
        )
    if genesis_time is None:
        from datetime import UTC, datetime

        genesis_time = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        parse_time(genesis_time)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--genesis-time") from exc
    doc = {
        "chain_id": chain_id,
        "genesis_time": genesis_time,
        "validators": [],
        "consensus": {},
        "modules": names,
        "module_config": {},
        "authorities": [],
    }
    write_doc(out, doc, overwrite=force)
    click.echo(f"wrote {out}; add validators with: egov genesis add-validator {out}")


@genesis.command("add-validator")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="The validator's (agency's) name.")
@click.option(
    "--power",
    required=True,
    type=click.IntRange(1, MAX_POWER),
    help="Voting power.",
)
@click.option("--key", required=True, help="Validator public key (hex).")
@click.option("--node-key", required=True, help="Node public key (hex).")
def add_validator(file: Path, name: str, power: int, key: str, node_key: str) -> None:
    """Add a validator from its public keys (`egov keys show`)."""
    doc = read_doc(file)
    entry = {
        "name": name,
        "power": power,
        "key": _key_hex(key, "--key"),
        "node_key": _key_hex(node_key, "--node-key"),
    }
    validators = doc.setdefault("validators", [])
    if not isinstance(validators, list):
        raise Failed("genesis.invalid", f"{file}: validators must be a list")
    for other in validators:
        if isinstance(other, dict):
            for field in ("name", "key", "node_key"):
                if other.get(field) == entry[field]:
                    raise Failed(
                        "genesis.duplicate",
                        f"a validator with this {field} is already listed",
                    )
    validators.append(entry)
    write_doc(file, doc)
    click.echo(f"added validator {name} (power {power}); {len(validators)} in all")


@genesis.command("add-authority")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="The authority's name.")
@click.option("--key", required=True, help="Its public key (hex).")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="A role, e.g. identity_authority or registrar:land (repeatable).",
)
@click.option(
    "--attr",
    "attrs",
    multiple=True,
    help="An attribute name=value (repeatable).",
)
def add_authority(
    file: Path, name: str, key: str, roles: tuple[str, ...], attrs: tuple[str, ...]
) -> None:
    """Add an authority (an agency enrolled at genesis, with roles)."""
    doc = read_doc(file)
    attributes: dict[str, str] = {}
    for item in attrs:
        attr, sep, value = item.partition("=")
        if not sep or not attr:
            raise click.BadParameter(f"{item!r} is not name=value", param_hint="--attr")
        attributes[attr] = value
    entry: dict[str, Any] = {
        "name": name,
        "key": _key_hex(key, "--key"),
        "roles": list(roles),
    }
    if attributes:
        entry["attributes"] = attributes
    authorities = doc.setdefault("authorities", [])
    if not isinstance(authorities, list):
        raise Failed("genesis.invalid", f"{file}: authorities must be a list")
    if any(isinstance(a, dict) and a.get("key") == entry["key"] for a in authorities):
        raise Failed(
            "genesis.duplicate", "an authority with this key is already listed"
        )
    authorities.append(entry)
    write_doc(file, doc)
    click.echo(f"added authority {name} ({', '.join(roles)})")


@genesis.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def validate(file: Path, as_json: bool) -> None:
    """Check a genesis; print its hash, or the field that is wrong (exit 1)."""
    gen = load_genesis(file)
    check_modules(gen, str(file))
    summary = {
        "chain_id": gen.chain_id,
        "hash": gen.hash,
        "validators": len(gen.validators),
        "total_power": gen.validators.total_power,
        "authorities": len(gen.authorities),
        "modules": list(gen.modules),
    }
    if as_json:
        echo_json(summary)
        return
    click.echo(f"{file}: valid")
    click.echo(f"chain_id:    {gen.chain_id}")
    click.echo(f"hash:        {gen.hash.hex()}")
    click.echo(
        f"validators:  {len(gen.validators)} (power {gen.validators.total_power})"
    )
    click.echo(f"authorities: {len(gen.authorities)}")
    click.echo(f"modules:     {', '.join(gen.modules)}")
