"""Named keys and end-user tokens made through the API, as a tenant's backend makes them."""

from __future__ import annotations

from typing import Any

import httpx


async def create_key(
    api: httpx.AsyncClient, headers: dict[str, str], scopes: list[str], **extra: Any
) -> str:
    body = {"name": f"{'-'.join(scopes)} key", "scopes": scopes, **extra}
    response = await api.post("/clients/me/keys", json=body, headers=headers)
    assert response.status_code == 201, response.text
    key: str = response.json()["data"]["api_key"]
    return key


async def issue_token(
    api: httpx.AsyncClient, headers: dict[str, str], character: str, end_user: str, **extra: Any
) -> str:
    body = {"character_id": character, "end_user": end_user, **extra}
    response = await api.post("/api/end-user-tokens", json=body, headers=headers)
    assert response.status_code == 201, response.text
    token: str = response.json()["data"]["token"]
    return token


def bearer(secret: str) -> dict[str, str]:
    return {"x-api-key": secret}
