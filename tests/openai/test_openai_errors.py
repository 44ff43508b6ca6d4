"""The mapping from domain errors and invalid input to OpenAI's error shape (SPEC §12)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from fastwrap.domain import errors as e
from fastwrap.entrypoints.http.openai.errors import (
    InvalidParam,
    domain_body,
    is_openai,
    kind_of,
    param_of,
)
from tests.support.app import Tenant, app_client, hermetic_settings, sign_up


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (e.CharacterNotFound("x"), 404, "model_not_found"),
        (e.NotFound("x"), 404, "not_found"),
        (e.Busy("x"), 409, "conversation_busy"),
        (e.CharacterMismatch("x"), 409, "conversation_character_mismatch"),
        (e.Ambiguous("x"), 400, "model_ambiguous"),
        (e.Invalid("x"), 400, "invalid_value"),
        (e.Unauthorized("x"), 401, "invalid_api_key"),
        (e.Forbidden("x"), 403, "insufficient_scope"),
        (e.RateLimited("x", 1.0), 429, "rate_limit_exceeded"),
        (e.UpstreamFailed("x"), 502, "upstream_error"),
        (e.UpstreamTimeout("x"), 504, "upstream_timeout"),
        (e.Unavailable("x"), 503, "service_unavailable"),
        (e.DomainError("x"), 500, "internal_error"),
    ],
)
def test_each_domain_error_has_its_openai_status_and_code(
    error: e.DomainError, status: int, code: str
) -> None:
    answered, body = domain_body(error)
    assert (answered, body["error"]["code"], body["error"]["message"]) == (status, code, "x")
    assert kind_of(error).status == status


def test_the_finer_errors_keep_the_code_api_bodies_carry() -> None:
    assert e.CharacterNotFound.code == e.NotFound.code
    assert e.CharacterMismatch.code == e.EndUserMismatch.code == e.Conflict.code
    assert e.Ambiguous.code == e.Invalid.code


def test_a_budget_error_is_named_by_its_code() -> None:
    class BudgetExceeded(e.RateLimited):
        code = "BudgetExceeded"

    status, body = domain_body(BudgetExceeded("over budget", 60.0))
    assert (status, body["error"]["code"]) == (429, "budget_exceeded")


def test_an_invalid_param_names_its_field() -> None:
    status, body = domain_body(InvalidParam("the last message must be the user's", "messages"))
    assert (status, body["error"]["param"], body["error"]["type"]) == (
        400,
        "messages",
        "invalid_request_error",
    )


@pytest.mark.parametrize(
    ("loc", "param"),
    [
        (("body", "messages", 0, "content"), "messages[0].content"),
        (("body", "n"), "n"),
        (("body",), None),
        (("query", "limit"), "limit"),
        (("body", "stream_options", "include_usage"), "stream_options.include_usage"),
    ],
)
def test_a_validation_location_reads_as_openai_names_a_param(
    loc: tuple[str | int, ...], param: str | None
) -> None:
    assert param_of(loc) == param


def test_only_v1_paths_speak_openai() -> None:
    assert [is_openai(p) for p in ("/v1", "/v1/models", "/v10/models", "/api/chat")] == [
        True,
        True,
        False,
        False,
    ]


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(hermetic_settings()) as client:
        yield client


@pytest.fixture
async def tenant(api: httpx.AsyncClient) -> Tenant:
    return await sign_up(api, "carol@example.com")


def assert_openai_error(response: httpx.Response, status: int, code: str | None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code


async def test_a_missing_key_is_401_in_openai_shape(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/models")
    assert_openai_error(response, 401, "invalid_api_key")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_the_key_goes_as_bearer_or_as_x_api_key(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    bearer = await api.get("/v1/models", headers={"Authorization": f"Bearer {tenant.key}"})
    plain = await api.get("/v1/models", headers=tenant.headers)
    assert bearer.status_code == plain.status_code == 200
    assert bearer.json() == plain.json() == {"object": "list", "data": []}
    wrong = await api.get("/v1/models", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert_openai_error(wrong, 401, "invalid_api_key")


async def test_unknown_v1_paths_and_methods_answer_in_openai_shape(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert_openai_error(await api.get("/v1/nothing-here", headers=tenant.headers), 404, "not_found")
    assert_openai_error(
        await api.delete("/v1/models", headers=tenant.headers), 405, "method_not_allowed"
    )


async def test_a_malformed_body_is_400_in_openai_shape(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await api.post(
        "/v1/chat/completions",
        content=b"{not json",
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert_openai_error(response, 400, "invalid_value")
    assert response.json()["error"]["param"] is None


async def test_a_body_over_the_limit_is_413_in_openai_shape(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    huge = b'{"model": "x", "messages": [{"role": "user", "content": "' + b"x" * 2_000_000 + b'"}]}'
    response = await api.post(
        "/v1/chat/completions",
        content=huge,
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert_openai_error(response, 413, "request_too_large")
