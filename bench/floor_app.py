"""The floor: the least a Python web app can do for the I/O of one FastWrap request.

`POST /api/chat` does exactly the I/O of a chat turn on an existing conversation and nothing
else: authentication from a dict (no query), the history from Redis (one LRANGE of the most recent
messages the prompt can hold), one call to the model server through the openai SDK (which
langchain-openai uses underneath FastWrap), and the two new messages appended with their EXPIRE
in one pipeline. `GET /api/characters` is a bare endpoint doing one PostgreSQL query (the same
SELECT as FastWrap's character list) and serialising the rows. `POST /api/vectors/search`
embeds the query with FastWrap's own hashing embedder, runs FLOOR_SEARCH_SQL (set by
vector_search.py to the endpoint's statement written by hand) and serialises the hits;
`POST /bare/vectors/search` does the same in plain ASGI, beneath FastAPI.

Both answer with the same envelope shape as FastWrap, serialised with orjson. The benchmarks run
this app under the same uvicorn (uvloop + httptools) as FastWrap, so the ratio between the two is
the price of FastWrap's own code.

Configuration (environment): DATABASE_URL, REDIS_URL, MODEL_BASE_URL, MODEL_KEY, and from the
benchmark's set-up FLOOR_API_KEY, FLOOR_CLIENT_ID, FLOOR_CHARACTER_ID, FLOOR_AGENT_ROLE;
HISTORY_MAX_MESSAGES (default 50, as FastWrap's); FLOOR_LLM picks how the model is called:
`sdk` (default: `chat.completions.create`, as langchain-openai does), `extra-body` (the same call
with the messages passed through `extra_body`, which skips the SDK's per-message request
transform) or `httpx` (a bare POST with an orjson body, no SDK at all).

    uvicorn --factory --app-dir bench floor_app:create_app --port 9102
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import numpy as np
import orjson
from fastapi import FastAPI, Header, HTTPException, Request, Response
from openai import AsyncOpenAI
from pgvector.asyncpg import register_vector
from pydantic import BaseModel, Field
from redis.asyncio import Redis

from fastwrap.adapters.langchain.hashing import HashingEmbedder

KEY_PREFIX = "floor:"
TTL_SECONDS = 1200
MODEL = "gpt-4o-mini"
LIST_CHARACTERS = """
SELECT id, client_id, name, agent_role, ttl, knowledge, created_at, updated_at FROM characters
WHERE client_id = $1 AND deleted_at IS NULL
ORDER BY created_at, id LIMIT $2
"""


class SearchIn(BaseModel):
    query: str = Field(min_length=1, max_length=8_000)
    top_k: int = Field(10, ge=1, le=100)


class ChatIn(BaseModel):
    character_id: str
    content: str = Field(min_length=1, max_length=32_000)
    conversation_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")


def model_caller(env: Any) -> Any:
    """The model call the floor makes, as FLOOR_LLM says; returns (completion function, closer)."""
    how = env.get("FLOOR_LLM", "sdk")
    if how == "httpx":
        http = httpx.AsyncClient(
            base_url=env["MODEL_BASE_URL"],
            headers={"authorization": f"Bearer {env['MODEL_KEY']}"},
            timeout=60,
        )

        async def post(messages: list[dict[str, str]]) -> tuple[str, dict[str, int] | None]:
            body = orjson.dumps({"model": MODEL, "messages": messages})
            answer = await http.post(
                "/chat/completions", content=body, headers={"content-type": "application/json"}
            )
            answer.raise_for_status()
            data = orjson.loads(answer.content)
            return data["choices"][0]["message"]["content"] or "", data.get("usage")

        return post, http.aclose
    sdk = AsyncOpenAI(
        api_key=env["MODEL_KEY"], base_url=env["MODEL_BASE_URL"], timeout=60, max_retries=2
    )
    extra_body = how == "extra-body"

    async def create(messages: list[dict[str, str]]) -> tuple[str, dict[str, int] | None]:
        if extra_body:
            completion = await sdk.chat.completions.create(
                model=MODEL, messages=[], extra_body={"messages": messages}
            )
        else:
            completion = await sdk.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
        usage = completion.usage
        counts = (
            {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}
            if usage
            else None
        )
        return completion.choices[0].message.content or "", counts

    return create, sdk.close


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def search_hits(rows: list[Any], top_k: int) -> list[dict[str, Any]]:
    return [
        {
            "id": str(r["id"]),
            "entity_type": r["entity_type"],
            "entity_id": r["entity_id"],
            "content": r["content"],
            "metadata": orjson.loads(r["metadata"]),
            "created_at": r["created_at"].isoformat(),
            "updated_at": r["updated_at"].isoformat(),
            "distance": r["distance"],
            "score": 1 - r["distance"],
        }
        for r in rows[:top_k]
    ]


def with_bare_search(app: FastAPI, clients: dict[str, str], embedder: HashingEmbedder) -> Any:
    """`app`, with `POST /bare/vectors/search` answered below it by plain ASGI: the same search
    as the FastAPI route, without FastAPI (no routing, no validation, no dependencies), to show
    what the web framework itself costs a request."""
    search_sql = os.environ.get("FLOOR_SEARCH_SQL", "")

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/bare/vectors/search":
            await app(scope, receive, send)
            return
        key = dict(scope["headers"]).get(b"x-api-key", b"").decode()
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        query = orjson.loads(body)
        vector = np.asarray((await embedder.embed([query["query"]]))[0], dtype=np.float32)
        rows = await app.state.io[0].fetch(search_sql, vector, UUID(clients[key]), embedder.model)
        hits = search_hits(rows, int(query.get("top_k", 10)))
        payload = orjson.dumps({"message": f"{len(hits)} hits", "data": hits})
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(payload)),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return asgi


def create_app() -> Any:
    env = os.environ
    clients = {env["FLOOR_API_KEY"]: env["FLOOR_CLIENT_ID"]}
    prompts = {
        (env["FLOOR_CLIENT_ID"], env.get("FLOOR_CHARACTER_ID", "")): env.get("FLOOR_AGENT_ROLE", "")
    }
    history_messages = int(env.get("HISTORY_MAX_MESSAGES", "50"))
    search_sql = env.get("FLOOR_SEARCH_SQL")
    embedder = HashingEmbedder(int(env.get("EMBEDDING_DIM", "1536")))

    async def init(conn: asyncpg.Connection) -> None:
        if search_sql:  # the vector type exists once FastWrap has migrated the database
            await register_vector(conn)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = orjson.loads(env.get("FLOOR_PG_SETTINGS", "{}"))
        pool = await asyncpg.create_pool(
            env["DATABASE_URL"], min_size=2, max_size=10, init=init, server_settings=settings
        )
        redis = Redis.from_url(env["REDIS_URL"], decode_responses=True)
        complete, close_model = model_caller(env)
        app.state.io = (pool, redis, complete)
        try:
            yield
        finally:
            await close_model()
            await redis.aclose()
            await pool.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None)

    def authenticate(api_key: str | None) -> str:
        client_id = clients.get(api_key or "")
        if client_id is None:
            raise HTTPException(401, "bad key")
        return client_id

    @app.get("/ping")
    async def ping() -> Response:
        return Response(b"ok")

    @app.post("/api/chat", status_code=201)
    async def chat(
        body: ChatIn, request: Request, x_api_key: str | None = Header(None)
    ) -> Response:
        client_id = authenticate(x_api_key)
        prompt = prompts.get((client_id, body.character_id))
        if prompt is None:
            raise HTTPException(404, "character not found")
        _pool, redis, complete = request.app.state.io
        key = f"{KEY_PREFIX}{client_id}:{body.conversation_id}"
        stored = await redis.lrange(key, -history_messages, -1) if history_messages else []
        history = [orjson.loads(m) for m in stored]
        messages = [
            {"role": "system", "content": prompt},
            *({"role": m["role"], "content": m["content"]} for m in history),
            {"role": "user", "content": body.content},
        ]
        reply, usage = await complete(messages)
        now = datetime.now(UTC)
        pipe = redis.pipeline(transaction=False)
        pipe.rpush(
            key,
            orjson.dumps({"role": "user", "content": body.content, "at": now.isoformat()}),
            orjson.dumps({"role": "assistant", "content": reply, "at": now.isoformat()}),
        )
        pipe.expire(key, TTL_SECONDS)
        await pipe.execute()
        data = {
            "conversation_id": body.conversation_id,
            "character_id": body.character_id,
            "reply": {"role": "assistant", "content": reply},
            "usage": {
                "input_tokens": usage["prompt_tokens"] if usage else None,
                "output_tokens": usage["completion_tokens"] if usage else None,
            },
            "expires_at": (now + timedelta(seconds=TTL_SECONDS)).isoformat(),
            "sources": [],
        }
        return json_response({"message": "reply", "data": data}, 201)

    @app.get("/api/characters")
    async def characters(request: Request, x_api_key: str | None = Header(None)) -> Response:
        client_id = authenticate(x_api_key)
        pool = request.app.state.io[0]
        rows = await pool.fetch(LIST_CHARACTERS, client_id, 51)
        items = [
            {
                "id": str(r["id"]),
                "name": r["name"],
                "agent_role": r["agent_role"],
                "ttl": r["ttl"],
                "knowledge": r["knowledge"],
                "created_at": r["created_at"].isoformat(),
                "updated_at": r["updated_at"].isoformat(),
            }
            for r in rows[:50]
        ]
        next_cursor = "more" if len(rows) > 50 else None
        data = {"items": items, "next_cursor": next_cursor}
        return json_response({"message": f"{len(items)} characters", "data": data})

    @app.post("/api/vectors/search")
    async def search(
        body: SearchIn, request: Request, x_api_key: str | None = Header(None)
    ) -> Response:
        client_id = authenticate(x_api_key)
        if not search_sql:
            raise HTTPException(404, "no search here: FLOOR_SEARCH_SQL is unset")
        vector = np.asarray((await embedder.embed([body.query]))[0], dtype=np.float32)
        pool = request.app.state.io[0]
        rows = await pool.fetch(search_sql, vector, UUID(client_id), embedder.model)
        hits = search_hits(rows, body.top_k)
        return json_response({"message": f"{len(hits)} hits", "data": hits})

    return with_bare_search(app, clients, embedder)
