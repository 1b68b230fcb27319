"""The event feed over HTTP: a long poll, and a server-sent event stream.

Both answer with the same object, ``{"events", "height", "missed"}``:
``height`` is the cursor to pass as ``after`` next time (in the stream it is
also the event id, so that ``Last-Event-ID`` resumes where a client left).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from chain.votes import MAX_HEIGHT
from node.api.context import context
from node.api.errors import ApiError
from node.api.inputs import int_param, seconds_param
from node.events import EventFeed, FeedSlice


def slice_json(part: FeedSlice) -> dict[str, Any]:
    return {
        "events": [e.to_json() for e in part.events],
        "height": part.height,
        "missed": part.missed,
    }


def _cursor(request: Request, feed: EventFeed) -> int:
    # Without a cursor, a client starts at the current height: new blocks only.
    after = int_param(request, "after", feed.height, 0, MAX_HEIGHT)
    return min(after, feed.height)


async def poll(request: Request) -> JSONResponse:
    ctx = context(request)
    feed = ctx.node.events
    cursor = _cursor(request, feed)
    timeout = seconds_param(request, "timeout", 0.0, ctx.limits.poll_timeout)
    if timeout > 0:
        await feed.wait_after(cursor, timeout)
    return JSONResponse(slice_json(feed.after(cursor, ctx.limits.feed_blocks)))


async def stream(request: Request) -> StreamingResponse:
    ctx = context(request)
    feed = ctx.node.events
    resume = request.headers.get("last-event-id")
    if resume is not None and "after" not in request.query_params:
        if not (resume.isascii() and resume.isdigit()) or len(resume) > 19:
            raise ApiError(400, "api.bad_param", "Last-Event-ID must be a height")
        cursor = min(int(resume), feed.height)
    else:
        cursor = _cursor(request, feed)
    return StreamingResponse(
        _messages(feed, cursor, ctx.limits.feed_blocks, ctx.limits.keepalive),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _messages(
    feed: EventFeed, cursor: int, max_blocks: int, keepalive: float
) -> AsyncIterator[str]:
    yield ": egov events\n\n"  # sends the headers at once
    while True:
        if feed.height > cursor:
            part = feed.after(cursor, max_blocks)
            cursor = part.height
            data = json.dumps(slice_json(part), separators=(",", ":"))
            yield f"id: {cursor}\nevent: events\ndata: {data}\n\n"
        elif not await feed.wait_after(cursor, keepalive):
            yield ": keepalive\n\n"
