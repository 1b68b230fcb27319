"""The API client's errors against scripted transports."""

from __future__ import annotations

import httpx
import pytest

from cli.client import ApiError, BadResponse, NodeClient, NodeUnreachable


def client(handler) -> NodeClient:  # type: ignore[no-untyped-def]
    return NodeClient("http://node", transport=httpx.MockTransport(handler))


def test_a_refusal_carries_the_node_code_and_status() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": {"code": "tx.bad_nonce", "message": "nonce 3, expected 2"}}
        return httpx.Response(400, json=body)

    with pytest.raises(ApiError) as info:
        client(handler).submit_tx(b"\x01")
    assert info.value.code == "tx.bad_nonce"
    assert info.value.status == 400
    assert info.value.message == "nonce 3, expected 2"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>"),
        httpx.Response(200, json=[1, 2]),
        httpx.Response(500, json={"oops": 1}),
        httpx.Response(202, json={"no_id": 1}),
    ],
)
def test_answers_outside_the_contract_are_bad_responses(
    response: httpx.Response,
) -> None:
    with pytest.raises(BadResponse):
        client(lambda request: response).submit_tx(b"\x01")


def test_an_unreachable_node_is_reported_as_such() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(NodeUnreachable):
        client(handler).status()

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(NodeUnreachable):
        client(slow).status()


def test_requests_follow_the_contract() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")
        if request.url.path == "/v1/nonce/ab":
            return httpx.Response(200, json={"next_nonce": 4})
        if request.url.path == "/v1/genesis":
            return httpx.Response(200, json={"genesis": {"chain_id": "c"}})
        return httpx.Response(200, json={"blocks": []})

    c = client(handler)
    assert c.next_nonce(b"\xab") == 4
    assert c.genesis() == {"chain_id": "c"}
    assert c.blocks(7, 500) == []
    assert seen[-1] == "GET /v1/blocks?from=7&limit=100"


def test_a_nonce_that_is_not_a_positive_integer_is_refused() -> None:
    for value in (0, "1", True, None):
        response = httpx.Response(200, json={"next_nonce": value})
        with pytest.raises(BadResponse):
            client(lambda request, r=response: r).next_nonce(b"\x01")
