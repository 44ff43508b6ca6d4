"""`GET /metrics` after known traffic: each counter moves by exactly what was sent (SPEC §14).

The app runs in-process on the in-memory adapters with the offline model, or with a chat model
put in the container where a test needs a model that waits or fails.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from dependency_injector import providers
from prometheus_client.parser import text_string_to_metric_families

from fastwrap.container import make_container
from fastwrap.domain.errors import UpstreamFailed
from fastwrap.domain.model import (
    NO_OPTIONS,
    Caller,
    ChatDelta,
    ChatReply,
    ModelOptions,
    PromptMessage,
    Usage,
)
from fastwrap.ports.llm import ChatModel
from fastwrap.settings import Settings
from tests.support.app import Tenant, app_client, hermetic_settings, make_character, sign_up
from tests.support.metrics import Scrape, parse

REQUESTS = "fastwrap_http_requests_total"
DURATIONS = "fastwrap_http_request_duration_seconds_count"
MODEL_CALLS = "fastwrap_model_call_duration_seconds_count"
TOKENS = "fastwrap_model_tokens_total"
ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 10  # a bound for a broken test, not a timing it relies on


async def scrape(api: httpx.AsyncClient) -> Scrape:
    response = await api.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def chat(api: httpx.AsyncClient, tenant: Tenant, **body: Any) -> httpx.Response:
    return await api.post("/api/chat", json=body, headers=tenant.headers)


def done_frame(text: str) -> dict[str, Any]:
    frames = text.split("event: done\ndata: ", 1)
    assert len(frames) == 2, text
    return dict(json.loads(frames[1].split("\n", 1)[0]))


async def test_requests_are_counted_by_route_template_and_status() -> None:
    async with app_client(hermetic_settings()) as api:
        before = await scrape(api)
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)
        for _ in range(3):
            assert (await chat(api, alice, character_id=cid, content="hi")).status_code == 201
        streamed = await chat(api, alice, character_id=cid, content="hi", stream=True)
        missing = uuid4()
        gone = await api.get(f"/api/characters/{missing}", headers=alice.headers)
        assert gone.status_code == 404
        assert (await api.get("/no/such/page")).status_code == 404
        after = await scrape(api)

    def moved(name: str, method: str, route: str, status: str) -> float:
        labels = {"method": method, "route": route, "status": status}
        return after.value(name, **labels) - before.value(name, **labels)

    assert streamed.status_code == 201
    for name in (REQUESTS, DURATIONS):
        assert moved(name, "POST", "/auth/signup", "201") == 1
        assert moved(name, "POST", "/api/characters", "201") == 1
        assert moved(name, "POST", "/api/chat", "201") == 4
        assert moved(name, "GET", "/api/characters/{character_id}", "404") == 1
        assert moved(name, "GET", "unmatched", "404") == 1
        assert moved(name, "GET", "/metrics", "200") == 1  # the first scrape
    # Labels hold templates, never a raw path, a tenant, a key or an email.
    for secret in (str(missing), alice.id, alice.key, alice.email, "/no/such/page"):
        assert secret not in after.text


async def test_model_calls_are_timed_and_their_tokens_counted() -> None:
    async with app_client(hermetic_settings()) as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)
        before = await scrape(api)
        usages = [
            (await chat(api, alice, character_id=cid, content=f"turn {n}")).json()["data"]["usage"]
            for n in range(2)
        ]
        streamed = await chat(api, alice, character_id=cid, content="stream it", stream=True)
        usages.append(done_frame(streamed.text)["usage"])
        after = await scrape(api)

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert moved(MODEL_CALLS, model="offline", mode="reply", outcome="ok") == 2
    assert moved(MODEL_CALLS, model="offline", mode="stream", outcome="ok") == 1
    inputs = sum(u["input_tokens"] for u in usages)
    outputs = sum(u["output_tokens"] for u in usages)
    assert inputs > 0
    assert moved(TOKENS, model="offline", direction="input") == inputs
    assert moved(TOKENS, model="offline", direction="output") == outputs


async def test_rate_limit_rejections_are_counted_by_reason() -> None:
    settings = hermetic_settings(rate_limit_enabled=True, rate_limit_api="2/minute")
    async with app_client(settings) as api:
        alice = await sign_up(api, "alice@example.com")
        statuses = [
            (await api.get("/api/characters", headers=alice.headers)).status_code for _ in range(3)
        ]
        after = await scrape(api)

    assert statuses == [200, 200, 429]
    assert after.value("fastwrap_requests_rejected_total", reason="rate_limit") == 1
    assert after.total("fastwrap_requests_rejected_total") == 1
    # Refused before routing, yet counted under its route.
    assert after.value(REQUESTS, method="GET", route="/api/characters", status="429") == 1


class GatedModel(ChatModel):
    """Holds each call until `gate` opens (`inside` tells that one is waiting), or fails."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.inside = asyncio.Event()
        self.gate = asyncio.Event()

    async def reply(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> ChatReply:
        self.inside.set()
        await self.gate.wait()
        if self.fail:
            raise UpstreamFailed("the provider answered 500")
        return ChatReply(content="late", usage=Usage(input_tokens=7, output_tokens=3))

    async def stream(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> AsyncIterator[ChatDelta]:
        yield ChatDelta(content=(await self.reply(messages, options, caller)).content)

    async def aclose(self) -> None:
        return None


@asynccontextmanager
async def app_with_model(settings: Settings, model: ChatModel) -> AsyncIterator[httpx.AsyncClient]:
    @asynccontextmanager
    async def resource() -> AsyncIterator[tuple[ChatModel, str]]:
        yield model, "test:gated"

    container = make_container(settings)
    container.chat_model.override(providers.Resource(resource))
    async with app_client(settings, container) as api:
        yield api


async def test_busy_turns_and_lock_waits_are_counted() -> None:
    model = GatedModel()
    settings = hermetic_settings(conversation_lock_wait_seconds=0.05)
    async with app_with_model(settings, model) as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)
        body = {"character_id": cid, "content": "hi", "conversation_id": "c1"}
        first = asyncio.create_task(chat(api, alice, **body))
        async with asyncio.timeout(WAIT_SECONDS):
            await model.inside.wait()  # the first turn holds c1
        busy = await chat(api, alice, **body)
        model.gate.set()
        assert (await first).status_code == 201
        after = await scrape(api)

    assert busy.status_code == 409
    assert busy.json()["error"] == "ConversationBusy"
    assert after.value("fastwrap_conversation_busy_total") == 1
    # Only the turn that got the conversation waited for it and was timed.
    assert after.value("fastwrap_conversation_lock_wait_seconds_count") == 1
    assert after.value(REQUESTS, method="POST", route="/api/chat", status="409") == 1
    assert after.value(MODEL_CALLS, model="test:gated", mode="reply", outcome="ok") == 1
    assert after.value(TOKENS, model="test:gated", direction="input") == 7


async def test_a_failed_model_call_is_counted_by_its_outcome() -> None:
    model = GatedModel(fail=True)
    model.gate.set()
    async with app_with_model(hermetic_settings(), model) as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)
        failed = await chat(api, alice, character_id=cid, content="hi")
        after = await scrape(api)

    assert failed.status_code == 502
    assert after.value(MODEL_CALLS, model="test:gated", mode="reply", outcome="UpstreamError") == 1
    assert after.total(MODEL_CALLS, outcome="ok") == 0
    assert after.total(TOKENS) == 0


async def test_live_conversations_of_the_in_process_store() -> None:
    async with app_client(hermetic_settings()) as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)
        for name in ("a", "b", "c"):
            await chat(api, alice, character_id=cid, content="hi", conversation_id=name)
        await chat(api, alice, character_id=cid, content="again", conversation_id="a")
        three = await scrape(api)
        await api.delete("/api/conversations/b", headers=alice.headers)
        two = await scrape(api)

    assert three.value("fastwrap_live_conversations") == 3
    assert two.value("fastwrap_live_conversations") == 2


async def test_imported_rows_put_into_the_index_are_counted() -> None:
    async with app_client(hermetic_settings()) as api:
        alice = await sign_up(api, "alice@example.com")
        lines = "".join(
            json.dumps({"entity_type": "doc", "entity_id": f"e{n}", "content": f"row {n}"}) + "\n"
            for n in range(30)
        )
        headers = {**alice.headers, "content-type": "application/x-ndjson"}
        response = await api.post("/api/vectors/import", content=lines, headers=headers)
        assert response.status_code == 201, response.text
        async with asyncio.timeout(WAIT_SECONDS):  # the workers index in the background
            while (await scrape(api)).value("fastwrap_vector_rows_indexed_total") < 30:
                await asyncio.sleep(0.01)
        after = await scrape(api)

    assert after.value("fastwrap_vector_rows_indexed_total") == 30


async def test_metrics_enabled_false_serves_no_metrics() -> None:
    async with app_client(hermetic_settings(metrics_enabled=False)) as api:
        alice = await sign_up(api, "alice@example.com")
        cid = await make_character(api, alice)
        assert (await chat(api, alice, character_id=cid, content="hi")).status_code == 201
        response = await api.get("/metrics")
    assert response.status_code == 404


async def test_the_grafana_dashboard_reads_only_metrics_that_exist() -> None:
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for expr in exprs
        for name in re.findall(r"\bfastwrap_[a-z_]+", expr)
    }
    async with app_client(hermetic_settings()) as api:
        families = {
            family.name
            for family in text_string_to_metric_families((await api.get("/metrics")).text)
        }
    # The parser names a counter family without its `_total`.
    assert {name.removesuffix("_total") for name in used} <= families
    assert len(used) >= 8


async def test_a_request_is_counted_before_its_client_sees_the_response_end() -> None:
    """A scrape made right after a client got its answer includes it (a worker's counter is
    otherwise bumped after the last byte went out, and another process may read first)."""
    from prometheus_client import CollectorRegistry
    from starlette.types import Message, Receive, Scope, Send

    from fastwrap.entrypoints.http.metrics import HttpMetrics, MetricsMiddleware

    registry = CollectorRegistry()

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        await send({"type": "http.response.body", "body": b"end"})

    def counted() -> float:
        return sum(
            sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name == "fastwrap_http_requests_total"
        )

    seen: list[tuple[bool, float]] = []

    async def client(message: Message) -> None:
        if message["type"] == "http.response.body":
            seen.append((message.get("more_body", False), counted()))

    middleware = MetricsMiddleware(answer, HttpMetrics(registry), routes=[])
    scope: Scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}

    async def nothing() -> Message:
        return {"type": "http.request", "body": b""}

    await middleware(scope, nothing, client)

    assert seen == [(True, 0.0), (False, 1.0)]  # counted once, before the final body
    assert counted() == 1.0
