"""Chat turns with the offline model: memory, caller-chosen ids, live prompts, SSE (SPEC §6.2)."""

from __future__ import annotations

import json

import httpx

from tests.support.app import Tenant, make_character


async def chat(api: httpx.AsyncClient, tenant: Tenant, **body: object) -> httpx.Response:
    return await api.post("/api/chat", json=body, headers=tenant.headers)


async def test_a_conversation_remembers_its_turns(api: httpx.AsyncClient, alice: Tenant) -> None:
    cid = await make_character(api, alice, "You are a pirate.")
    first = await chat(api, alice, character_id=cid, content="Hello there")
    assert first.status_code == 201
    data = first.json()["data"]
    assert data["reply"]["role"] == "assistant"
    assert data["reply"]["content"].startswith("[offline]")
    assert data["character_id"] == cid
    assert data["sources"] == []
    conversation_id = data["conversation_id"]

    second = await chat(api, alice, uuid=cid, content="And again", conversation_id=conversation_id)
    assert second.status_code == 201
    history = await api.get(f"/api/conversations/{conversation_id}", headers=alice.headers)
    assert history.status_code == 200
    messages = history.json()["data"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert [messages[0]["content"], messages[2]["content"]] == ["Hello there", "And again"]


async def test_caller_chosen_id_and_prompt_read_live(api: httpx.AsyncClient, alice: Tenant) -> None:
    cid = await make_character(api, alice, "You are a pirate.")
    first = await chat(api, alice, character_id=cid, content="hi", conversation_id="user-42:s1")
    assert first.json()["data"]["conversation_id"] == "user-42:s1"
    assert "pirate" in first.json()["data"]["reply"]["content"]
    await api.patch(
        f"/api/characters/{cid}", json={"agent_role": "You are a parrot."}, headers=alice.headers
    )
    second = await chat(api, alice, character_id=cid, content="hi", conversation_id="user-42:s1")
    assert "parrot" in second.json()["data"]["reply"]["content"]


async def test_reusing_an_id_with_another_character_is_409(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    one = await make_character(api, alice, "One")
    two = await make_character(api, alice, "Two")
    await chat(api, alice, character_id=one, content="hi", conversation_id="c1")
    clash = await chat(api, alice, character_id=two, content="hi", conversation_id="c1")
    assert clash.status_code == 409
    history = await api.get("/api/conversations/c1", headers=alice.headers)
    assert len(history.json()["data"]["messages"]) == 2


async def test_missing_character_is_404_and_stores_nothing(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    response = await chat(api, alice, character_id=missing, content="hi", conversation_id="c2")
    assert response.status_code == 404
    assert (await api.get("/api/conversations/c2", headers=alice.headers)).status_code == 404


async def test_bad_chat_input_is_422(api: httpx.AsyncClient, alice: Tenant) -> None:
    cid = await make_character(api, alice)
    for body in (
        {"character_id": "nope", "content": "hi"},
        {"character_id": cid, "content": ""},
        {"character_id": cid, "content": "x" * 32_001},
        {"character_id": cid, "content": "hi", "conversation_id": "has space"},
        {"character_id": cid, "content": "hi", "role": "system"},
    ):
        assert (await chat(api, alice, **body)).status_code == 422, body


async def test_forgetting_a_conversation(api: httpx.AsyncClient, alice: Tenant) -> None:
    cid = await make_character(api, alice)
    await chat(api, alice, character_id=cid, content="hi", conversation_id="gone")
    assert (await api.delete("/api/conversations/gone", headers=alice.headers)).status_code == 204
    assert (await api.get("/api/conversations/gone", headers=alice.headers)).status_code == 404
    assert (await api.delete("/api/conversations/gone", headers=alice.headers)).status_code == 404


def parse_sse(text: str) -> list[tuple[str, dict[str, object]]]:
    frames = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        frames.append((lines["event"], json.loads(lines["data"])))
    return frames


async def test_streamed_turn_sends_deltas_then_done(api: httpx.AsyncClient, alice: Tenant) -> None:
    cid = await make_character(api, alice)
    async with api.stream(
        "POST",
        "/api/chat",
        json={
            "character_id": cid,
            "content": "stream please",
            "stream": True,
            "conversation_id": "s1",
        },
        headers=alice.headers,
    ) as response:
        assert response.status_code == 201
        assert response.headers["content-type"].startswith("text/event-stream")
        text = (await response.aread()).decode()
    frames = parse_sse(text)
    events = [event for event, _ in frames]
    assert events[-1] == "done"
    assert events.count("done") == 1
    assert len(events) >= 3
    assert set(events[:-1]) == {"delta"}
    streamed = "".join(str(data["content"]) for event, data in frames if event == "delta")
    done = frames[-1][1]
    assert done["reply"] == {"role": "assistant", "content": streamed}  # type: ignore[comparison-overlap]
    assert set(done) == {
        "conversation_id",
        "character_id",
        "reply",
        "usage",
        "expires_at",
        "sources",
        "memories",
    }
    history = await api.get("/api/conversations/s1", headers=alice.headers)
    assert len(history.json()["data"]["messages"]) == 2


async def test_streamed_turn_on_a_missing_character_is_a_plain_404(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    body = {"character_id": "00000000-0000-4000-8000-000000000000", "content": "x", "stream": True}
    response = await api.post("/api/chat", json=body, headers=alice.headers)
    assert response.status_code == 404
