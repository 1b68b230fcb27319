"""Blocks with their commits and results, one by height or a page for sync."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from chain.votes import MAX_HEIGHT
from node.api.context import context
from node.api.errors import ApiError
from node.api.inputs import int_param
from node.api.view import NodeView
from node.jsonvalues import to_json


def _not_found(height: int | str) -> ApiError:
    return ApiError(404, "block.not_found", f"no block at height {height}")


def parse_height(text: str, latest: int) -> int:
    if text == "latest":
        if latest == 0:
            raise _not_found("latest: the chain has no block yet")
        return latest
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise ApiError(400, "api.bad_param", "height must be a number or 'latest'")
    return int(text)


def block_json(node: NodeView, height: int) -> dict[str, Any]:
    app = node.app
    block_raw = app.store.get_block(height)
    commit_raw = app.store.get_commit(height)
    block = app.get_block(height)
    commit = app.get_commit(height)
    if block is None or commit is None or block_raw is None or commit_raw is None:
        raise _not_found(height)
    header = block.header
    return {
        "height": height,
        "hash": block.hash().hex(),
        "header": to_json(header.to_value()),
        "header_raw": header.encode().hex(),
        "txs": [tx.id.hex() for tx in block.txs],
        "evidence": to_json([e.to_value() for e in block.evidence]),
        "last_commit": to_json(
            None if block.last_commit is None else block.last_commit.to_value()
        ),
        "block_raw": block_raw.hex(),
        "commit": to_json(commit.to_value()),
        "commit_raw": commit_raw.hex(),
        "results": [to_json(r.to_value()) for r in app.get_results(height)],
    }


async def get_block(request: Request) -> JSONResponse:
    node = context(request).node
    height = parse_height(request.path_params["ref"], node.app.height)
    if not 1 <= height <= node.app.height:
        raise _not_found(height)
    return JSONResponse(block_json(node, height))


async def list_blocks(request: Request) -> JSONResponse:
    """Raw blocks with the commits that decided them, from ``from`` upwards."""
    ctx = context(request)
    store = ctx.node.app.store
    start = int_param(request, "from", 1, 1, MAX_HEIGHT)
    limit = int_param(
        request, "limit", ctx.limits.page_blocks, 1, ctx.limits.page_blocks
    )
    top = store.height
    blocks: list[dict[str, Any]] = []
    size = 0
    for height in range(start, min(top, start + limit - 1) + 1):
        block_raw = store.get_block(height)
        commit_raw = store.get_commit(height)
        if block_raw is None or commit_raw is None:
            break
        blocks.append(
            {
                "height": height,
                "block_raw": block_raw.hex(),
                "commit_raw": commit_raw.hex(),
            }
        )
        size += len(block_raw) + len(commit_raw)
        if size >= ctx.limits.page_bytes:  # at least one block, then stop
            break
    return JSONResponse({"height": top, "blocks": blocks})
