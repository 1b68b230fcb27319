"""The Starlette application: routes, error handlers, the node behind them."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Route

from node.api import blocks, feed, info, state, txs
from node.api.context import ApiContext, ApiLimits
from node.api.errors import ApiError, on_api_error, on_http_exception, on_unexpected
from node.api.view import NodeView

ROUTES = [
    Route("/v1/tx", txs.submit_tx, methods=["POST"]),
    Route("/v1/txs", txs.submit_batch, methods=["POST"]),
    Route("/v1/tx/{id}", txs.get_tx, methods=["GET"]),
    Route("/v1/blocks", blocks.list_blocks, methods=["GET"]),
    Route("/v1/blocks/{ref}", blocks.get_block, methods=["GET"]),
    Route("/v1/state/{key}", state.get_state_key, methods=["GET"]),
    Route("/v1/state/{module}/{path:path}", state.get_state_path, methods=["GET"]),
    Route("/v1/query/{module}/{name}", state.query, methods=["GET"]),
    Route("/v1/nonce/{sender}", state.next_nonce, methods=["GET"]),
    Route("/v1/status", info.status, methods=["GET"]),
    Route("/v1/validators", info.validators, methods=["GET"]),
    Route("/v1/peers", info.peers, methods=["GET"]),
    Route("/v1/evidence", info.evidence, methods=["GET"]),
    Route("/v1/genesis", info.genesis, methods=["GET"]),
    Route("/v1/events", feed.poll, methods=["GET"]),
    Route("/v1/events/stream", feed.stream, methods=["GET"]),
    Route("/metrics", info.metrics, methods=["GET"]),
]


def create_api(node: NodeView, limits: ApiLimits | None = None) -> Starlette:
    api = Starlette(
        routes=ROUTES,
        exception_handlers={
            ApiError: on_api_error,
            HTTPException: on_http_exception,
            Exception: on_unexpected,
        },
    )
    api.state.api = ApiContext(node, limits or ApiLimits())
    return api
