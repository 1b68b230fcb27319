"""Logging setup for the node: one line per event, key=value fields.

    2026-12-03T17:11:02.123Z INFO egov.node started moniker=validator-1 ...

Logs are for the moments an operator cares about; counters live in metrics.
"""

from __future__ import annotations

import logging
import sys
import time


class LineFormatter(logging.Formatter):
    def formatTime(  # noqa: N802 - logging's name
        self, record: logging.LogRecord, datefmt: str | None = None
    ) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


def setup(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        LineFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger("egov")
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    root.propagate = False
