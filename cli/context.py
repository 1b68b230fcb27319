"""What every command shares: the node client, options, output helpers.

``main`` puts a ``Settings`` on the click context. Tests pass their own
(``CliRunner.invoke(main, args, obj=Settings(transport=...))``) to answer
HTTP from a fake node and to poll without sleeping.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click
import httpx

from cli.client import DEFAULT_NODE, ApiError, ClientError, NodeClient
from cli.errors import Failed, NodeUnavailable

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Settings:
    transport: httpx.BaseTransport | None = None
    poll_interval: float = 0.5
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.monotonic)


def settings() -> Settings:
    ctx = click.get_current_context()
    obj = ctx.find_object(Settings)
    return obj if obj is not None else Settings()


def node_option(fn: F) -> F:
    return click.option(
        "--node",
        "node_url",
        envvar="EGOV_NODE",
        default=DEFAULT_NODE,
        show_default=True,
        help="The node's API address (or $EGOV_NODE).",
    )(fn)


def json_option(fn: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print machine-readable JSON."
    )(fn)


@contextmanager
def node_client(url: str) -> Iterator[NodeClient]:
    """A client for ``url``; client errors become CliErrors with exit codes."""
    client = NodeClient(url, transport=settings().transport)
    try:
        yield client
    except ApiError as exc:
        raise Failed(exc.code, exc.message) from exc
    except ClientError as exc:
        raise NodeUnavailable(exc.code, exc.message) from exc
    finally:
        client.close()


def plain(value: Any) -> Any:
    """A value made JSON-ready: bytes as hex, tuples as lists."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def echo_json(value: Any) -> None:
    click.echo(json.dumps(plain(value), indent=2, sort_keys=True))


def note(message: str) -> None:
    """A line for the human, on stderr, so stdout stays parseable."""
    click.echo(message, err=True)
