"""The node's own facts: status, validators, peers, evidence, genesis, metrics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from node.api.context import context
from node.jsonvalues import to_json


async def status(request: Request) -> JSONResponse:
    return JSONResponse(to_json(context(request).node.status()))


async def validators(request: Request) -> JSONResponse:
    node = context(request).node
    vset = node.validators()
    return JSONResponse(
        {
            "height": node.app.height + 1,
            "hash": vset.hash.hex(),
            "total_power": vset.total_power,
            "validators": to_json(vset.to_value()),
        }
    )


async def peers(request: Request) -> JSONResponse:
    return JSONResponse({"peers": to_json(context(request).node.peers())})


async def evidence(request: Request) -> JSONResponse:
    return JSONResponse({"evidence": to_json(context(request).node.evidence())})


async def genesis(request: Request) -> JSONResponse:
    gen = context(request).node.genesis
    document = gen.raw or to_json(gen.to_value())
    return JSONResponse({"hash": gen.hash.hex(), "genesis": document})


async def metrics(request: Request) -> Response:
    node = context(request).node
    # The mempool and the height are read at scrape time, so they are exact.
    node.metrics.set_mempool(len(node.mempool), node.mempool.size_bytes)
    node.metrics.height.set(node.app.height)
    return Response(node.metrics.render(), media_type=node.metrics.content_type)
