"""OpenTelemetry traces of chat turns, on real PostgreSQL and Redis (SPEC §14).

The app is configured for tracing as an operator would (OTEL_EXPORTER_OTLP_ENDPOINT), with the
SDK's in-memory exporter put in the container in place of the OTLP one; the spans are read once
the app has shut down (which flushes its batch processor).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from dependency_injector import providers
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from fastwrap.container import make_container
from tests.support.app import app_client, hermetic_settings, make_character, sign_up

pytestmark = pytest.mark.integration

PROMPT = "You are a lighthouse keeper."
SECRET = "the secret word is avocado"


async def traced_turns(
    pg_dsn: str, redis_url: str, namespace: str, **settings: Any
) -> tuple[list[ReadableSpan], str, str]:
    """One plain and one streamed turn; (every span, the tenant id, the streamed reply)."""
    config = hermetic_settings(
        fastwrap_storage="postgres",
        database_url=pg_dsn,
        redis_url=redis_url,
        redis_key_prefix=namespace,
        lookup_cache_size=0,  # every request reads its key and character from PostgreSQL
        otel_exporter_otlp_endpoint="http://127.0.0.1:4318",
        **settings,
    )
    exporter = InMemorySpanExporter()
    container = make_container(config)
    container.span_exporter.override(providers.Object(exporter))
    async with app_client(config, container) as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice, PROMPT)
        body = {"character_id": cid, "content": SECRET, "conversation_id": "c1"}
        plain = await api.post(
            "/api/chat", json=body, headers={**alice.headers, "x-request-id": "turn-plain"}
        )
        assert plain.status_code == 201, plain.text
        streamed = await api.post(
            "/api/chat",
            json={**body, "stream": True},
            headers={**alice.headers, "x-request-id": "turn-streamed"},
        )
        assert "event: done" in streamed.text
    reply = plain.json()["data"]["reply"]["content"]
    return list(exporter.get_finished_spans()), alice.id, reply


def server_span(spans: Sequence[ReadableSpan], request_id: str) -> ReadableSpan:
    found = [
        s
        for s in spans
        if s.kind == SpanKind.SERVER
        and (s.attributes or {}).get("fastwrap.request_id") == request_id
    ]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def system(span: ReadableSpan) -> object:
    attributes = span.attributes or {}
    return attributes.get("db.system") or attributes.get("db.system.name")


def all_attribute_text(spans: Sequence[ReadableSpan]) -> str:
    return json.dumps([dict(s.attributes or {}) for s in spans], default=str)


async def test_a_chat_turn_is_one_trace_with_database_redis_and_model_spans(
    pg_dsn: str, redis_url: str, redis_namespace: str
) -> None:
    spans, tenant_id, _reply = await traced_turns(pg_dsn, redis_url, redis_namespace)

    for request_id in ("turn-plain", "turn-streamed"):
        root = server_span(spans, request_id)
        assert root.parent is None
        assert root.name == "POST /api/chat"
        attributes = dict(root.attributes or {})
        assert attributes["http.route"] == "/api/chat"
        assert attributes["http.request.method"] == "POST"
        assert attributes["http.response.status_code"] == 201
        assert attributes["fastwrap.tenant_id"] == tenant_id
        below = children(spans, root)
        assert {s.context.trace_id for s in below if s.context} == {root.context.trace_id}
        assert "postgresql" in {system(s) for s in below}, [s.name for s in below]
        assert "redis" in {system(s) for s in below}, [s.name for s in below]
        models = [s for s in below if s.name == "chat offline"]
        assert len(models) == 1, [s.name for s in below]
        model = models[0]
        assert model.kind == SpanKind.CLIENT
        gen_ai = dict(model.attributes or {})
        assert gen_ai["gen_ai.operation.name"] == "chat"
        assert gen_ai["gen_ai.system"] == "offline"
        assert gen_ai["gen_ai.request.model"] == "offline"
        assert gen_ai["gen_ai.usage.input_tokens"] > 0
        assert gen_ai["gen_ai.usage.output_tokens"] > 0


async def test_no_message_content_on_any_span_by_default(
    pg_dsn: str, redis_url: str, redis_namespace: str
) -> None:
    spans, _tenant, reply = await traced_turns(pg_dsn, redis_url, redis_namespace)

    text = all_attribute_text(spans)
    assert "gen_ai.input.messages" not in text
    for content in (SECRET, PROMPT, reply, "avocado"):
        assert content not in text


async def test_content_is_captured_only_when_asked(
    pg_dsn: str, redis_url: str, redis_namespace: str
) -> None:
    spans, _tenant, reply = await traced_turns(
        pg_dsn, redis_url, redis_namespace, otel_capture_content=True
    )

    model = next(
        s for s in children(spans, server_span(spans, "turn-plain")) if s.name.startswith("chat")
    )
    attributes = dict(model.attributes or {})
    sent = json.loads(str(attributes["gen_ai.input.messages"]))
    assert {"role": "system", "parts": [{"type": "text", "content": PROMPT}]} in sent
    assert sent[-1] == {"role": "user", "parts": [{"type": "text", "content": SECRET}]}
    answered = json.loads(str(attributes["gen_ai.output.messages"]))
    assert answered == [{"role": "assistant", "parts": [{"type": "text", "content": reply}]}]
