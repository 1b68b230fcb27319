"""State values with proofs, module queries, and a sender's next nonce.

A state answer holds everything a client needs to check it without trusting
this node: the value, its proof against ``state_root``, the header at that
height (which holds the root) and the commit whose signatures cover the
header's hash. All four are read with no await in between, so they belong
to one height even while blocks are being committed.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from chain import encoding
from chain.errors import ChainError
from chain.smt_proof import proof_to_json
from modules.errors import ModuleError
from node.api.context import context
from node.api.errors import ApiError
from node.api.inputs import hex_value
from node.api.view import NodeView
from node.jsonvalues import to_json

# Query codes that name something absent rather than a bad parameter.
_QUERY_NOT_FOUND = {"query.unknown_module", "query.unknown"}
MAX_KEY_BYTES = 4096


def state_json(node: NodeView, key: bytes) -> dict[str, Any]:
    if len(key) > MAX_KEY_BYTES:
        raise ApiError(400, "api.bad_param", f"a key is at most {MAX_KEY_BYTES} bytes")
    app = node.app
    value, proof, height = app.prove(key)
    header = app.last_header() if height == app.height else None
    commit_raw = app.store.get_commit(height) if height > 0 else None
    root = app.store.state_root_at(height)
    return {
        "key": key.hex(),
        "value_raw": None if value is None else value.hex(),
        "value": _decoded(value),
        "height": height,
        "state_root": None if root is None else root.hex(),
        "proof": proof_to_json(proof),
        "header_raw": None if header is None else header.encode().hex(),
        "commit_raw": None if commit_raw is None else commit_raw.hex(),
    }


def _decoded(value: bytes | None) -> Any:
    if value is None:
        return None
    try:
        return to_json(encoding.decode(value))
    except ChainError:  # not canonical msgpack: only value_raw is given
        return None


async def get_state_key(request: Request) -> JSONResponse:
    key = hex_value(request.path_params["key"], "key")
    return JSONResponse(state_json(context(request).node, key))


async def get_state_path(request: Request) -> JSONResponse:
    module, path = request.path_params["module"], request.path_params["path"]
    try:
        key = f"{module}/{path}".encode()
    except UnicodeEncodeError as exc:
        raise ApiError(400, "api.bad_param", "the path is not UTF-8") from exc
    return JSONResponse(state_json(context(request).node, key))


async def query(request: Request) -> JSONResponse:
    node = context(request).node
    module, name = request.path_params["module"], request.path_params["name"]
    params = dict(request.query_params)
    try:
        result = node.app.query(module, name, params)
    except ModuleError as exc:
        status = 404 if exc.code in _QUERY_NOT_FOUND else 400
        raise ApiError(status, exc.code, exc.message) from exc
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        raise ApiError(
            400, "query.bad_params", f"{module}.{name} refused the parameters"
        ) from exc
    return JSONResponse(
        {
            "module": module,
            "name": name,
            "height": node.app.height,
            "result": to_json(result),
        }
    )


async def next_nonce(request: Request) -> JSONResponse:
    """The nonce a sender's next transaction takes, after those pending."""
    node = context(request).node
    sender = hex_value(request.path_params["sender"], "sender", 32)
    committed = node.app.next_nonce(sender)
    pending = node.mempool.pending_count(sender)
    following = committed + pending
    return JSONResponse(
        {
            "sender": sender.hex(),
            "next_nonce": following,
            "committed_nonce": committed - 1,
            "pending": pending,
        }
    )
