"""A synchronous client of the node's HTTP API (DESIGN.md §8).

JSON in and out, every bytes value as lowercase hex. A node that refuses a
request answers ``{"error": {"code", "message"}}`` with an HTTP status; that
becomes ``ApiError``. A node that cannot be reached, or that answers with
something that is not the contract's JSON, is ``NodeUnreachable`` or
``BadResponse``. The transport is injectable so that tests can answer with
an ``httpx.MockTransport``.
"""

from __future__ import annotations

from typing import Any

import httpx

DEFAULT_NODE = "http://127.0.0.1:26657"
MAX_PAGE = 100


class ClientError(Exception):
    """Base of the client's errors; ``code`` is stable."""

    code = "client.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NodeUnreachable(ClientError):
    """No answer: connection refused, timeout, bad address."""

    code = "node.unreachable"


class BadResponse(ClientError):
    """An answer outside the API contract: not JSON, or a missing field."""

    code = "node.bad_response"


class ApiError(ClientError):
    """The node refused the request, with its own code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status


class NodeClient:
    def __init__(
        self,
        url: str = DEFAULT_NODE,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions ---------------------------------------------------------

    def submit_tx(self, raw: bytes) -> str:
        """Submit one signed transaction; its id (hex) once accepted."""
        answer = self._request("POST", "/v1/tx", json={"tx": raw.hex()})
        return str(_field(answer, "id"))

    def submit_txs(self, raws: list[bytes]) -> list[dict[str, Any]]:
        answer = self._request("POST", "/v1/txs", json={"txs": [r.hex() for r in raws]})
        results = _field(answer, "results")
        if not isinstance(results, list):
            raise BadResponse("results is not a list")
        return results

    def tx(self, tx_id: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/tx/{tx_id}")

    def next_nonce(self, sender: bytes) -> int:
        answer = self._request("GET", f"/v1/nonce/{sender.hex()}")
        nonce = _field(answer, "next_nonce")
        if not isinstance(nonce, int) or isinstance(nonce, bool) or nonce < 1:
            raise BadResponse(f"next_nonce is not a positive integer: {nonce!r}")
        return nonce

    # --- chain ------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self._request("GET", "/v1/status")

    def genesis(self) -> dict[str, Any]:
        answer = self._request("GET", "/v1/genesis")
        # The document itself, or wrapped as {"genesis": document}.
        if "chain_id" not in answer and isinstance(answer.get("genesis"), dict):
            inner: dict[str, Any] = answer["genesis"]
            return inner
        return answer

    def block(self, height: int | str) -> dict[str, Any]:
        return self._request("GET", f"/v1/blocks/{height}")

    def blocks(self, start: int, limit: int = MAX_PAGE) -> list[dict[str, Any]]:
        """Up to ``limit`` blocks from ``start``: height, block_raw, commit_raw."""
        answer = self._request(
            "GET", "/v1/blocks", params={"from": start, "limit": min(limit, MAX_PAGE)}
        )
        blocks = _field(answer, "blocks")
        if not isinstance(blocks, list):
            raise BadResponse("blocks is not a list")
        return blocks

    def state(self, module: str, path: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/state/{module}/{path}")

    def query(self, module: str, name: str, params: dict[str, str]) -> Any:
        return self._request("GET", f"/v1/query/{module}/{name}", params=params)

    # --- plumbing -------------------------------------------------------------

    def _request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kw)
        except httpx.TimeoutException as exc:
            raise NodeUnreachable(f"{self.url} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise NodeUnreachable(f"cannot reach {self.url}: {exc}") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise BadResponse(
                f"{method} {path} answered HTTP {response.status_code}, not JSON"
            ) from exc
        if not isinstance(body, dict):
            raise BadResponse(f"{method} {path} answered {type(body).__name__}")
        if response.is_success:
            return body
        error = body.get("error")
        if not isinstance(error, dict):
            raise BadResponse(
                f"{method} {path} answered HTTP {response.status_code}"
                " without an error object"
            )
        raise ApiError(
            response.status_code,
            str(error.get("code", "node.error")),
            str(error.get("message", "")),
        )


def _field(answer: dict[str, Any], name: str) -> Any:
    if name not in answer:
        raise BadResponse(f"the answer lacks {name!r}")
    return answer[name]


def unhex(value: Any, what: str) -> bytes:
    """Bytes from a hex field of an answer; BadResponse if it is not hex."""
    if not isinstance(value, str):
        raise BadResponse(f"{what} is not a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise BadResponse(f"{what} is not hex") from exc
