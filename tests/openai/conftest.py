"""A real FastWrap on a socket, its model the OpenAI-compatible stub, and OpenAI's own SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI

from fastwrap.container import make_container
from fastwrap.entrypoints.http.app import create_app
from tests.support.app import Tenant, hermetic_settings, live_port, make_character, sign_up
from tests.support.openai_stub import OpenAIStub

MODEL_KEY = "sk-test-secret-key-123"


def stub_settings(stub: OpenAIStub, **overrides: Any) -> dict[str, Any]:
    """Settings of an app whose model and embeddings are the stub."""
    return {
        "model": "gpt-4o-mini",
        "model_key": MODEL_KEY,
        "model_base_url": stub.base_url,
        "model_timeout_seconds": 2.0,
        "model_max_retries": 0,
        "embedding_key": MODEL_KEY,
        "embedding_base_url": stub.base_url,
        **overrides,
    }


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Settings a test module changes (storage, rate limits)."""
    return {}


@pytest.fixture
async def server(openai_stub: OpenAIStub, app_overrides: dict[str, Any]) -> AsyncIterator[str]:
    settings = hermetic_settings(**stub_settings(openai_stub, **app_overrides))
    app = create_app(make_container(settings))
    async with live_port(app, log_level="warning", force_exit=True) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=10) as client:
        yield client


@pytest.fixture
async def alice(http: httpx.AsyncClient) -> Tenant:
    return await sign_up(http, "alice@example.com")


@pytest.fixture
async def bob(http: httpx.AsyncClient) -> Tenant:
    return await sign_up(http, "bob@example.com")


@pytest.fixture
async def pirate(http: httpx.AsyncClient, alice: Tenant) -> str:
    """Alice's character, named "Pirate"."""
    return await make_character(http, alice, "You are a pirate.", name="Pirate")


def sdk_for(server: str, key: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{server}/v1", api_key=key, max_retries=0, timeout=10)


@pytest.fixture
async def sdk(server: str, alice: Tenant) -> AsyncIterator[AsyncOpenAI]:
    """OpenAI's SDK, pointed at FastWrap with Alice's key."""
    async with sdk_for(server, alice.key) as client:
        yield client
