"""Reading requests: bounded bodies, JSON objects, hex and integer parameters.

A body is never read past its limit: a declared Content-Length above it is
refused before reading, and a body without one is counted as it streams in.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import ClientDisconnect, Request

from node.api.errors import ApiError
from node.jsonvalues import parse_hex


def too_large(limit: int) -> ApiError:
    # The rest of the body stays unread, so the connection cannot carry another
    # request; say so, or a client would send its next one into a closed socket.
    return ApiError(
        413,
        "api.too_large",
        f"request body is over {limit} bytes",
        headers={"Connection": "close"},
    )


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit() or len(declared) > 20:
            raise ApiError(400, "api.bad_request", "Content-Length is not a number")
        if int(declared) > limit:
            raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise ApiError(400, "api.disconnected", "the client went away") from exc
    return b"".join(chunks)


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    body = await read_body(request, limit)
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError included
        raise ApiError(400, "api.bad_json", "the body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise ApiError(400, "api.bad_request", "the body must be a JSON object")
    return value


def hex_value(text: object, name: str, size: int | None = None) -> bytes:
    raw = parse_hex(text, size=size)
    if raw is None:
        what = f"{size} bytes of hex" if size is not None else "hex"
        raise ApiError(400, "api.bad_hex", f"{name} must be {what}")
    return raw


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise ApiError(400, "api.bad_param", f"{name} must be a whole number")
    value = int(text)
    if not low <= value <= high:
        raise ApiError(400, "api.bad_param", f"{name} must be from {low} to {high}")
    return value


def seconds_param(request: Request, name: str, default: float, high: float) -> float:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = float(text) if len(text) <= 32 else math.nan
    except ValueError:
        value = math.nan
    if not 0 <= value <= high:  # NaN fails here too
        raise ApiError(400, "api.bad_param", f"{name} must be seconds, 0 to {high}")
    return value
