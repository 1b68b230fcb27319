"""Transactions: submit one or a batch; look one up with its inclusion proof."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio
from starlette.requests import Request
from starlette.responses import JSONResponse

from chain.hashing import merkle_proof, sha256
from chain.tx import SignedTx
from node.api.context import context
from node.api.errors import ApiError
from node.api.inputs import hex_value, read_json_object
from node.errors import TxRefused
from node.jsonvalues import parse_hex, to_json

# A batch yields to other tasks this often: admission verifies signatures.
_BATCH_YIELD = 64


async def submit_tx(request: Request) -> JSONResponse:
    ctx = context(request)
    body = await read_json_object(request, ctx.limits.tx_body)
    if "tx" not in body:
        raise ApiError(400, "api.bad_request", 'the body needs "tx": hex')
    raw = hex_value(body["tx"], "tx")
    try:
        tx = ctx.node.submit(raw)
    except TxRefused as exc:
        raise ApiError.refused(exc) from exc
    return JSONResponse({"id": tx.id.hex()}, status_code=202)


async def submit_batch(request: Request) -> JSONResponse:
    ctx = context(request)
    body = await read_json_object(request, ctx.limits.batch_body)
    items = body.get("txs")
    if not isinstance(items, list):
        raise ApiError(400, "api.bad_request", 'the body needs "txs": [hex, ...]')
    if len(items) > ctx.limits.batch_txs:
        raise ApiError(
            400,
            "api.too_many_txs",
            f"{len(items)} transactions, at most {ctx.limits.batch_txs}",
        )
    results: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if i and i % _BATCH_YIELD == 0:
            await trio.lowlevel.checkpoint()
        results.append(_submit_one(ctx.node.submit, item))
    return JSONResponse({"results": results})


def _submit_one(submit: Callable[[bytes], SignedTx], item: object) -> dict[str, Any]:
    raw = parse_hex(item)
    if raw is None:
        return {
            "id": None,
            "accepted": False,
            "code": "api.bad_hex",
            "message": "each transaction must be a hex string",
        }
    try:
        tx = submit(raw)
    except TxRefused as exc:
        # The id a transaction with these bytes has, to match the input.
        return {
            "id": sha256(raw).hex(),
            "accepted": False,
            "code": exc.code,
            "message": exc.message,
        }
    return {"id": tx.id.hex(), "accepted": True}


async def get_tx(request: Request) -> JSONResponse:
    node = context(request).node
    tx_id = hex_value(request.path_params["id"], "transaction id", 32)
    location = node.app.store.get_tx_location(tx_id)
    if location is None:
        pending = node.mempool.get(tx_id)
        if pending is None:
            raise ApiError(404, "tx.not_found", f"no transaction {tx_id.hex()}")
        return JSONResponse(
            {
                "id": tx_id.hex(),
                "status": "pending",
                "height": None,
                "index": None,
                "block_hash": None,
                "result": None,
                "body": to_json(pending.body.to_value()),
                "tx_raw": pending.raw.hex(),
                "proof": None,
            }
        )
    height, index = location.height, location.index
    block = node.app.get_block(height)
    results = node.app.get_results(height)
    if block is None or index >= len(block.txs) or index >= len(results):
        raise ApiError(404, "tx.not_found", f"no block {height} for {tx_id.hex()}")
    tx, result = block.txs[index], results[index]
    ids = [t.id for t in block.txs]
    return JSONResponse(
        {
            "id": tx_id.hex(),
            "status": "committed",
            "height": height,
            "index": index,
            "block_hash": block.hash().hex(),
            "result": to_json(result.to_value()),
            "body": to_json(tx.body.to_value()),
            "tx_raw": tx.raw.hex(),
            "proof": {
                "txs_root": block.header.txs_root.hex(),
                "index": index,
                "size": len(ids),
                "path": [h.hex() for h in merkle_proof(ids, index)],
            },
        }
    )
