"""Running the real app in-process over ASGITransport, built from a container like production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp

from fastwrap.container import Container, make_container
from fastwrap.entrypoints.http.app import create_app
from fastwrap.settings import Settings

STRONG_PASSWORD = "Correct-Horse-9-battery"
SERVICE_KEY = "test-service-key-0123456789"


def hermetic_settings(**overrides: Any) -> Settings:
    """Hermetic settings: in memory, fast bcrypt, no rate limits unless a test asks."""
    values: dict[str, Any] = {
        "fastwrap_storage": "memory",
        "bcrypt_rounds": 4,
        "rate_limit_enabled": False,
        "fastwrap_api_key": SERVICE_KEY,
        "embedding_dim": 256,
        "log_dir": None,
        "redis_url": None,
        "database_url": None,
        "model": None,
        "model_key": None,
        "model_base_url": None,
        "embedding_key": None,
        "embedding_base_url": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def app_client(
    settings: Settings, container: Container | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    container = container or make_container(settings)
    app = create_app(container)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://fastwrap.test"
        ) as client:
            yield client


@dataclass
class Tenant:
    id: str
    email: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.key}


async def sign_up(client: httpx.AsyncClient, email: str) -> Tenant:
    response = await client.post("/auth/signup", json={"email": email, "password": STRONG_PASSWORD})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return Tenant(id=data["id"], email=data["email"], key=data["api_key"])


async def make_character(
    client: httpx.AsyncClient, tenant: Tenant, prompt: str = "You are a pirate.", **extra: Any
) -> str:
    response = await client.post(
        "/api/characters", json={"agent_role": prompt, **extra}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


@asynccontextmanager
async def live_port(
    app: ASGIApp, *, force_exit: bool = False, **options: Any
) -> AsyncIterator[int]:
    """Serve `app` on a real uvicorn socket on 127.0.0.1 and yield its port. `options` go to
    uvicorn.Config; `force_exit` stops without waiting for connections a test left open."""
    import asyncio

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, **options))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # start-up failed: raise its error
            await asyncio.sleep(0.01)
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        server.force_exit = force_exit
        await task


@asynccontextmanager
async def live_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app behind a real socket (ASGITransport buffers whole bodies, so streaming and
    disconnects need a real server)."""
    async with (
        live_port(create_app(make_container(settings)), log_level="warning") as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        yield client


async def bootstrap_admin(client: httpx.AsyncClient, email: str = "root@example.com") -> Tenant:
    """The first admin, made with the service key."""
    response = await client.post(
        "/internal/bootstrap-admin",
        json={"email": email, "password": STRONG_PASSWORD},
        headers={"x-fastwrap-api-key": SERVICE_KEY},
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return Tenant(id=data["id"], email=data["email"], key=data["api_key"])
