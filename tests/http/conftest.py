"""The HTTP suite runs on the in-memory adapters and again on PostgreSQL (pgvector)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.app import Tenant, sign_up


@pytest.fixture
async def alice(api: httpx.AsyncClient) -> Tenant:
    return await sign_up(api, "alice@example.com")


@pytest.fixture
async def bob(api: httpx.AsyncClient) -> Tenant:
    return await sign_up(api, "bob@example.com")
