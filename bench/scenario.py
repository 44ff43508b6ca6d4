"""The benchmark's tenant: one client, its characters and conversations, set up through the API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
from load import WrkResult, run_wrk, script

AGENT_ROLE = "You are Captain Byte, a cheerful pirate who answers in one short sentence."
PASSWORD = "Bench-password-1!"
CHAT_CONTENT = "What is the weather like on deck today?"


@dataclass(frozen=True, slots=True)
class Tenant:
    api_key: str
    client_id: str
    character_id: str

    def floor_env(self) -> dict[str, str]:
        return {
            "FLOOR_API_KEY": self.api_key,
            "FLOOR_CLIENT_ID": self.client_id,
            "FLOOR_CHARACTER_ID": self.character_id,
            "FLOOR_AGENT_ROLE": AGENT_ROLE,
        }


def create_tenant(
    url: str, *, extra_characters: int = 0, email: str = "bench@example.com"
) -> Tenant:
    with httpx.Client(base_url=url, timeout=30) as http:
        signed = http.post("/auth/signup", json={"email": email, "password": PASSWORD})
        signed.raise_for_status()
        data = signed.json()["data"]
        headers = {"x-api-key": data["api_key"]}
        character_id = ""
        for n in range(1 + extra_characters):
            body = {"name": f"Captain Byte {n}", "agent_role": AGENT_ROLE}
            made = http.post("/api/characters", json=body, headers=headers)
            made.raise_for_status()
            character_id = character_id or made.json()["data"]["id"]
    return Tenant(api_key=data["api_key"], client_id=data["id"], character_id=character_id)


def with_credential(url: str, tenant: Tenant, auth: str) -> Tenant:
    """The tenant authenticating with its primary key, a named chat key, or an end-user token
    (one end user, for a day), made through the API as a tenant's backend makes them."""
    if auth == "primary":
        return tenant
    headers = {"x-api-key": tenant.api_key}
    with httpx.Client(base_url=url, timeout=30, headers=headers) as http:
        if auth == "key":
            made = http.post("/clients/me/keys", json={"name": "bench", "scopes": ["chat"]})
            made.raise_for_status()
            return replace(tenant, api_key=made.json()["data"]["api_key"])
        body = {"character_id": tenant.character_id, "end_user": "bench-user", "ttl": 86_400}
        made = http.post("/api/end-user-tokens", json=body)
        made.raise_for_status()
        return replace(tenant, api_key=made.json()["data"]["token"])


def seed_conversations(
    url: str, tenant: Tenant, prefix: str, count: int, *, turns: int = 1
) -> None:
    """`turns` turns on each conversation id (in order; 16 conversations at a time), so the
    measured turns all find an existing history."""

    async def seed() -> None:
        headers = {"x-api-key": tenant.api_key}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
            gate = asyncio.Semaphore(16)

            async def one(index: int) -> None:
                body = {
                    "character_id": tenant.character_id,
                    "content": CHAT_CONTENT,
                    "conversation_id": f"{prefix}{index}",
                }
                async with gate:
                    for _ in range(turns):
                        answer = await http.post("/api/chat", json=body)
                        answer.raise_for_status()

            await asyncio.gather(*(one(i) for i in range(count)))

    asyncio.run(seed())


def chat_load(
    url: str,
    tenant: Tenant,
    workdir: Path,
    *,
    prefix: str,
    conversations: int,
    connections: int,
    seconds: float,
) -> WrkResult:
    args = [tenant.api_key, tenant.character_id, prefix, str(conversations), "1"]
    return run_wrk(url, script("chat", workdir), args, connections=connections, seconds=seconds)


def get_load(
    url: str, tenant: Tenant, workdir: Path, *, connections: int, seconds: float
) -> WrkResult:
    return run_wrk(
        url, script("get", workdir), [tenant.api_key], connections=connections, seconds=seconds
    )
