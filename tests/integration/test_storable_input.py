"""Input PostgreSQL would refuse is a 422 in our words, before any provider is called (item 9).

The app runs on PostgreSQL with the real LangChain OpenAI embeddings pointed at the stub
server, which records every request: "before the embedder" means the stub saw nothing. Bodies
are sent as raw JSON text, since NaN and Infinity are what a careless client's encoder writes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.app import (
    Tenant,
    app_client,
    bootstrap_admin,
    hermetic_settings,
    make_character,
    sign_up,
)
from tests.support.openai_stub import OpenAIStub

pytestmark = pytest.mark.integration

JSON = {"content-type": "application/json"}
# What asyncpg and PostgreSQL say about such values; none of it may reach a caller.
DRIVER_WORDS = (
    "invalid byte sequence",
    "unsupported Unicode escape",
    "invalid input syntax",
    "Token",
    "violates",
    "DataError",
    "asyncpg",
    "rejected by the database",
)
SNIPPET = '"entity_type": "doc", "entity_id": "e1"'
BAD_UPSERTS = [
    f'{{{SNIPPET}, "content": "text", "metadata": {{"n": NaN}}}}',
    f'{{{SNIPPET}, "content": "text", "metadata": {{"n": [1, Infinity]}}}}',
    f'{{{SNIPPET}, "content": "text", "metadata": {{"n": {{"deep": -Infinity}}}}}}',
    f'{{{SNIPPET}, "content": "text", "metadata": {{"k": "nul \\u0000 inside"}}}}',
    f'{{{SNIPPET}, "content": "text", "metadata": {{"nul \\u0000 key": 1}}}}',
    f'{{{SNIPPET}, "content": "nul \\u0000 inside"}}',
    f'{{{SNIPPET}, "content": "lone \\ud800 surrogate"}}',
    # A batch: the fourth item spoils it, and nothing of it may be embedded or stored.
    '{"items": ['
    + ", ".join(
        f'{{"entity_type": "doc", "entity_id": "b{n}", "content": "ok {n}"}}' for n in range(3)
    )
    + ', {"entity_type": "doc", "entity_id": "b3", "content": "x", "metadata": {"n": NaN}}]}',
]


@pytest.fixture
async def api(pg_dsn: str, openai_stub: OpenAIStub) -> AsyncIterator[httpx.AsyncClient]:
    settings = hermetic_settings(
        fastwrap_storage="postgres",
        database_url=pg_dsn,
        embedding_key="sk-test-secret-key-123",
        embedding_base_url=openai_stub.base_url,
    )
    async with app_client(settings) as client:
        yield client


@pytest.fixture
async def ada(api: httpx.AsyncClient) -> Tenant:
    return await sign_up(api, "ada@example.com")


def assert_refused_in_our_words(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    # Ours, or the schema's (which already refuses text that is not valid Unicode).
    assert response.json()["error"] in {"Invalid", "ValidationError"}
    for words in DRIVER_WORDS:
        assert words not in response.text


UPSERT_CASES = [
    "metadata-nan", "metadata-infinity", "metadata-minus-infinity", "metadata-nul-value",
    "metadata-nul-key", "content-nul", "content-lone-surrogate", "batch-with-one-bad-item",
]  # fmt: skip


@pytest.mark.parametrize("body", BAD_UPSERTS, ids=UPSERT_CASES)
async def test_unstorable_snippets_are_refused_before_the_embedder(
    api: httpx.AsyncClient, ada: Tenant, openai_stub: OpenAIStub, body: str
) -> None:
    response = await api.post(
        "/api/vectors/upsert", content=body.encode(), headers={**ada.headers, **JSON}
    )

    assert_refused_in_our_words(response)
    assert openai_stub.requests_to("/v1/embeddings") == []
    stored = await api.post(
        "/api/vectors/search", json={"query": "text", "top_k": 50}, headers=ada.headers
    )
    assert stored.json()["data"] == []


async def test_an_unstorable_search_filter_is_refused_before_the_embedder(
    api: httpx.AsyncClient, ada: Tenant, openai_stub: OpenAIStub
) -> None:
    body = b'{"query": "text", "metadata": {"n": NaN}}'
    response = await api.post("/api/vectors/search", content=body, headers={**ada.headers, **JSON})

    assert_refused_in_our_words(response)
    assert openai_stub.requests_to("/v1/embeddings") == []


@pytest.mark.parametrize(
    "body",
    [
        {"name": "nul \x00 inside", "agent_role": "You are Ada."},
        {"agent_role": "nul \x00 inside"},
        {"agent_role": "lone \ud800 surrogate"},
    ],
    ids=["name-nul", "agent-role-nul", "agent-role-lone-surrogate"],
)
async def test_unstorable_characters_are_refused_and_nothing_changes(
    api: httpx.AsyncClient, ada: Tenant, body: dict[str, str]
) -> None:
    character = await make_character(api, ada, "You are Ada.")
    url = f"/api/characters/{character}"

    created = await api.post(
        "/api/characters", content=_json(body), headers={**ada.headers, **JSON}
    )
    patched = await api.patch(url, content=_json(body), headers={**ada.headers, **JSON})

    assert_refused_in_our_words(created)
    assert_refused_in_our_words(patched)
    listed = await api.get("/api/characters", headers=ada.headers)
    [only] = listed.json()["data"]["items"]
    assert (only["id"], only["agent_role"]) == (character, "You are Ada.")


async def test_an_unstorable_admin_field_is_refused(api: httpx.AsyncClient, ada: Tenant) -> None:
    admin = await bootstrap_admin(api)
    url = f"/admin/clients/{ada.id}"
    response = await api.patch(
        url, content=_json({"store_name": "nul \x00"}), headers={**admin.headers, **JSON}
    )

    assert_refused_in_our_words(response)
    assert (await api.get(url, headers=admin.headers)).json()["data"]["store_name"] is None


def _json(body: dict[str, str]) -> bytes:
    """JSON text with \\u escapes, as any client sends a NUL or a lone surrogate."""
    return json.dumps(body).encode()
