"""API errors: a stable code, a message and an HTTP status, as JSON.

Every error response is ``{"error": {"code": ..., "message": ...}}``. Codes
of refused transactions are the node's own (``tx.bad_nonce``,
``mempool.full``); the API adds ``api.*`` for what is wrong with a request.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from node.errors import TxRefused

log = logging.getLogger("egov.api")

# Refusal codes that are not the client's malformed input.
_REFUSAL_STATUS = {
    "mempool.duplicate": 409,
    "mempool.nonce_taken": 409,
    "mempool.full": 503,
    "tx.too_large": 413,
}


class ApiError(Exception):
    """A request the API answers with an error: status, code, message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    @classmethod
    def refused(cls, exc: TxRefused) -> ApiError:
        return cls(refusal_status(exc.code), exc.code, exc.message)


def refusal_status(code: str) -> int:
    """The HTTP status of a refused transaction: 400 unless listed."""
    return _REFUSAL_STATUS.get(code, 400)


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers=headers,
    )


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(404, "api.not_found", f"no endpoint {request.url.path}")
    if exc.status_code == 405:
        return error_response(
            405,
            "api.method_not_allowed",
            f"{request.method} is not allowed on {request.url.path}",
        )
    return error_response(exc.status_code, f"api.http_{exc.status_code}", exc.detail)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # A bug of ours: log it with the traceback, tell the client nothing more.
    log.error(
        "request failed method=%s path=%s error=%r",
        request.method,
        request.url.path,
        exc,
        exc_info=exc,
    )
    return error_response(500, "api.internal", "internal error")
