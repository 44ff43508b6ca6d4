"""Abuse (issue 8.4), in-process: oversized, malformed, deeply nested and out-of-range input
gets a clear 4xx in the JSON error shape, never a 500, and changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.security.conftest import logged_text
from tests.support.app import Tenant, make_character, sign_up

MIB = 1024 * 1024
JSON = {"content-type": "application/json"}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.fixture
async def tenant(memory_api: httpx.AsyncClient) -> Tenant:
    return await sign_up(memory_api, "abuse@example.com")


async def test_a_body_over_the_limit_is_413_whether_announced_or_streamed(
    memory_api: httpx.AsyncClient, tenant: Tenant
) -> None:
    announced = await memory_api.post(
        "/api/characters", json={"agent_role": "x" * MIB}, headers=tenant.headers
    )
    body = assert_error(announced, 413, "PayloadTooLarge")
    assert body["detail"] == f"request body is larger than {MIB} bytes"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"agent_role": "'
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    streamed = await memory_api.post(
        "/api/characters", content=chunks(), headers={**tenant.headers, **JSON}
    )
    assert_error(streamed, 413, "PayloadTooLarge")
    listed = await memory_api.get("/api/characters", headers=tenant.headers)
    assert listed.json()["data"]["items"] == []


async def test_a_malformed_content_length_is_400(
    memory_api: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await memory_api.post(
        "/api/characters",
        content=b'{"agent_role": "x"}',
        headers={**tenant.headers, **JSON, "content-length": "12abc"},
    )
    assert_error(response, 400, "MalformedBody")


async def test_long_keys_and_headers_are_401_or_431(memory_api: httpx.AsyncClient) -> None:
    long_key = await memory_api.get("/api/characters", headers={"x-api-key": "k" * 16_000})
    assert_error(long_key, 401, "Unauthorized")
    assert long_key.headers["www-authenticate"] == "ApiKey"
    foreign = await memory_api.get("/api/characters", headers={"x-api-key": "ключ".encode()})
    assert_error(foreign, 401, "Unauthorized")
    huge_key = await memory_api.get("/api/characters", headers={"x-api-key": "k" * 65536})
    assert_error(huge_key, 431, "HeadersTooLarge")
    huge_other = await memory_api.get("/health", headers={"x-padding": "p" * 65536})
    assert_error(huge_other, 431, "HeadersTooLarge")


async def test_long_query_strings_are_414_and_long_cursors_422(
    memory_api: httpx.AsyncClient, tenant: Tenant
) -> None:
    junk = await memory_api.get(f"/api/characters?junk={'j' * 4000}", headers=tenant.headers)
    assert junk.status_code == 200  # unknown parameters are ignored, within the limit
    too_long = await memory_api.get(f"/api/characters?junk={'j' * 9000}", headers=tenant.headers)
    assert_error(too_long, 414, "URITooLong")
    cursor = await memory_api.get(f"/api/characters?cursor={'c' * 600}", headers=tenant.headers)
    assert_error(cursor, 422, "ValidationError")
    forged = await memory_api.get(f"/api/characters?cursor={'c' * 500}", headers=tenant.headers)
    assert_error(forged, 422, "Invalid")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="100k-nested-arrays"),
        pytest.param('{"agent_role": ' + "[" * 100_000 + "]" * 100_000 + "}", id="in-a-field"),
        pytest.param('{"agent_role": "x", "knowledge": ' + '{"a":' * 50_000, id="unclosed"),
    ],
)
async def test_deeply_nested_json_is_400_without_a_recursion_error(
    memory_api: httpx.AsyncClient, tenant: Tenant, logs: pytest.LogCaptureFixture, body: str
) -> None:
    response = await memory_api.post(
        "/api/characters", content=body.encode(), headers={**tenant.headers, **JSON}
    )
    assert response.status_code in (400, 422), response.text
    assert response.json()["error"] in ("MalformedBody", "ValidationError")
    assert "Traceback" not in logged_text(logs)
    assert "RecursionError" not in logged_text(logs)


async def test_metadata_depth_is_bounded_and_kept_exactly_below_it(
    api: httpx.AsyncClient,
) -> None:
    tenant = await sign_up(api, "deep@example.com")
    snippet = {"entity_type": "doc", "entity_id": "deep", "content": "deep"}
    too_deep = await api.post(
        "/api/vectors/upsert", json={**snippet, "metadata": nested(33)}, headers=tenant.headers
    )
    body = assert_error(too_deep, 422, "ValidationError")
    assert body["detail"][0]["loc"] == ["body", "metadata"]
    filter_too_deep = await api.post(
        "/api/vectors/search",
        json={"query": "deep", "metadata": nested(400)},
        headers=tenant.headers,
    )
    assert_error(filter_too_deep, 422, "ValidationError")

    deepest = nested(32)
    stored = await api.post(
        "/api/vectors/upsert", json={**snippet, "metadata": deepest}, headers=tenant.headers
    )
    assert stored.status_code == 201, stored.text
    hits = await api.post(
        "/api/vectors/search", json={"query": "deep", "metadata": deepest}, headers=tenant.headers
    )
    assert [h["metadata"] for h in hits.json()["data"]] == [deepest]


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        pytest.param(b'{"agent_role": "\xff\xfe bad"}', 400, "MalformedBody", id="invalid-utf8"),
        pytest.param(
            b'{"agent_role": "\xed\xa0\x80"}', 422, "ValidationError", id="utf8-surrogate"
        ),
        pytest.param(b'{"agent_role": "\\ud800"}', 422, "ValidationError", id="escaped-surrogate"),
        pytest.param(b'{"agent_role": "x", "name": 5}', 422, "ValidationError", id="wrong-type"),
        pytest.param(b'{"agent_role": "x",}', 422, "ValidationError", id="trailing-comma"),
    ],
)
async def test_undecodable_text_is_a_4xx(
    memory_api: httpx.AsyncClient, tenant: Tenant, raw: bytes, status: int, code: str
) -> None:
    response = await memory_api.post(
        "/api/characters", content=raw, headers={**tenant.headers, **JSON}
    )
    assert_error(response, status, code)


async def test_text_the_database_cannot_hold_is_422_on_every_backend(
    api: httpx.AsyncClient,
) -> None:
    tenant = await sign_up(api, "nul@example.com")
    snippet = {"entity_type": "doc", "entity_id": "nul"}
    for body in (
        {**snippet, "content": "a\u0000b"},
        {**snippet, "content": "ok", "metadata": {"k": "a\u0000b"}},
        {**snippet, "content": "ok", "metadata": {"k": "\ud800"}},
    ):
        raw = json.dumps(body).encode()  # json.dumps escapes the surrogate as JSON allows
        response = await api.post(
            "/api/vectors/upsert", content=raw, headers={**tenant.headers, **JSON}
        )
        assert response.status_code == 422, response.text
    prompt = await api.post(
        "/api/characters", json={"agent_role": "a\u0000b"}, headers=tenant.headers
    )
    assert prompt.status_code == 422, prompt.text
    hits = await api.post("/api/vectors/search", json={"query": "ok"}, headers=tenant.headers)
    assert hits.json()["data"] == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/vectors/search", '{"query": "q", "top_k": 1000000}'),
        ("POST", "/api/vectors/search", '{"query": "q", "top_k": 1' + "0" * 400 + "}"),
        ("POST", "/api/vectors/search", '{"query": "q", "top_k": 1e308}'),
        ("POST", "/api/vectors/search", '{"query": "q", "top_k": 1e999}'),
        ("POST", "/api/vectors/search", '{"query": "q", "top_k": -1}'),
        ("POST", "/api/vectors/search", '{"query": "q", "top_k": "5"}'),
        ("POST", "/api/vectors/search", '{"query": "q", "top_k": true}'),
        ("POST", "/api/characters", '{"agent_role": "x", "ttl": 99999999999999999999}'),
        (
            "POST",
            "/api/characters",
            '{"agent_role": "x", "knowledge": {"entity_types": ["a"], "top_k": 51}}',
        ),
        (
            "POST",
            "/api/characters",
            '{"agent_role": "x", "knowledge": {"entity_types": ["a"], "min_score": NaN}}',
        ),
        ("GET", "/api/characters?limit=1000000000000000000000000000000", None),
        ("GET", "/api/characters?limit=0", None),
        ("GET", "/api/characters?limit=NaN", None),
    ],
)
async def test_huge_and_odd_numbers_are_422(
    memory_api: httpx.AsyncClient, tenant: Tenant, method: str, path: str, body: str | None
) -> None:
    response = await memory_api.request(
        method,
        path,
        content=body.encode() if body else None,
        headers={**tenant.headers, **JSON},
    )
    assert_error(response, 422, "ValidationError")


async def test_a_refused_request_changes_nothing(
    memory_api: httpx.AsyncClient, tenant: Tenant
) -> None:
    cid = await make_character(memory_api, tenant, "Original prompt.")
    for body in ({"agent_role": "x" * (MIB + 1)}, {"agent_role": "y", "ttl": 0}):
        refused = await memory_api.patch(
            f"/api/characters/{cid}", json=body, headers=tenant.headers
        )
        assert refused.status_code in (413, 422)
    kept = await memory_api.get(f"/api/characters/{cid}", headers=tenant.headers)
    assert kept.json()["data"]["agent_role"] == "Original prompt."
