"""Serving the API with hypercorn on Trio."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import cast

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from hypercorn.typing import ASGIFramework
from starlette.applications import Starlette

log = logging.getLogger("egov.api")


async def serve_api(
    app: Starlette,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    graceful_timeout: float = 2.0,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` until ``shutdown_trigger`` returns or the task is cancelled.

    Port 0 binds a free port; ``task_status.started`` reports the bound one.
    After the trigger, open requests (event streams) get ``graceful_timeout``
    seconds before they are cut.
    """
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("egov.api.server")
    config.graceful_timeout = graceful_timeout
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(
            partial(
                serve,
                cast(ASGIFramework, app),
                config,
                shutdown_trigger=shutdown_trigger,
            )
        )
        bound = int(binds[0].rsplit(":", 1)[1])
        log.info("api listening host=%s port=%d", host, bound)
        task_status.started(bound)
