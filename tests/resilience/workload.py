"""Concurrent writers (signups, characters, snippet upserts) that remember what was acknowledged.

A write counts as acknowledged only when FastWrap answered 2xx; anything else (a 503, a cut
connection) may or may not have been stored, and a fault test only promises the former.
`verify()` then checks, through the API, that every acknowledged write is there.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.support.app import STRONG_PASSWORD, Tenant

ENTITY_TYPE = "doc"
MAX_TOP_K = 50
PAUSE_AFTER_FAILURE = 0.02  # a failing dependency should not turn the writers into a busy loop


@dataclass
class Acknowledged:
    tenants: list[Tenant] = field(default_factory=list)
    characters: list[tuple[Tenant, str]] = field(default_factory=list)
    snippets: dict[str, tuple[Tenant, set[str]]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        stored = sum(len(ids) for _, ids in self.snippets.values())
        return len(self.tenants) + len(self.characters) + stored


@dataclass
class WriteLoad:
    """`workers` writers on `client` until stop(); statuses and failure details are counted."""

    client: httpx.AsyncClient
    workers: int = 6
    label: str = "load"
    acked: Acknowledged = field(default_factory=Acknowledged)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._writer(n)) for n in range(self.workers)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def until(self, acknowledged: int, timeout: float = 30.0) -> None:
        """Wait until this many writes in all were acknowledged."""
        async with asyncio.timeout(timeout):
            while self.acked.count < acknowledged:
                await asyncio.sleep(0.01)

    async def until_status(self, status: int, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while not self.statuses[status]:
                await asyncio.sleep(0.01)

    async def _writer(self, n: int) -> None:
        tenant: Tenant | None = None
        step = 0
        while not self._stop.is_set():
            step += 1
            try:
                if tenant is None or step % 5 == 0:
                    tenant = await self._sign_up(f"{self.label}-{n}-{step}@example.com") or tenant
                elif step % 2:
                    await self._character(tenant, f"persona {n}/{step}")
                else:
                    await self._snippet(tenant, f"e-{n}-{step}")
            except httpx.TransportError as exc:  # the server went away mid-request
                self.failures[f"transport: {type(exc).__name__}"] += 1
                await asyncio.sleep(PAUSE_AFTER_FAILURE)

    def _answered(self, response: httpx.Response) -> bool:
        self.statuses[response.status_code] += 1
        if response.is_success:
            return True
        try:
            body = response.json()
            reason = f"{body.get('error')}: {body.get('detail')}"
        except ValueError:  # not our JSON error shape: worth seeing as it came
            reason = response.text[:200]
        self.failures[f"{response.status_code} {reason}"] += 1
        return False

    async def _sign_up(self, email: str) -> Tenant | None:
        body = {"email": email, "password": STRONG_PASSWORD}
        response = await self.client.post("/auth/signup", json=body)
        if not self._answered(response):
            await asyncio.sleep(PAUSE_AFTER_FAILURE)
            return None
        data = response.json()["data"]
        tenant = Tenant(id=data["id"], email=data["email"], key=data["api_key"])
        self.acked.tenants.append(tenant)
        return tenant

    async def _character(self, tenant: Tenant, prompt: str) -> None:
        response = await self.client.post(
            "/api/characters", json={"agent_role": prompt}, headers=tenant.headers
        )
        if self._answered(response):
            self.acked.characters.append((tenant, response.json()["data"]["id"]))
        else:
            await asyncio.sleep(PAUSE_AFTER_FAILURE)

    async def _snippet(self, tenant: Tenant, entity_id: str) -> None:
        body = {"entity_type": ENTITY_TYPE, "entity_id": entity_id, "content": f"note {entity_id}"}
        response = await self.client.post("/api/vectors/upsert", json=body, headers=tenant.headers)
        if self._answered(response):
            self.acked.snippets.setdefault(tenant.id, (tenant, set()))[1].add(entity_id)
        else:
            await asyncio.sleep(PAUSE_AFTER_FAILURE)


async def missing_writes(client: httpx.AsyncClient, acked: Acknowledged) -> list[str]:
    """Every acknowledged write that `client` cannot find; an empty list means none was lost."""
    missing: list[str] = []
    for tenant in acked.tenants:  # the signup's key still authenticates: the client is there
        if (await client.get("/api/characters", headers=tenant.headers)).status_code != 200:
            missing.append(f"client {tenant.email}")
    for tenant, character_id in acked.characters:
        response = await client.get(f"/api/characters/{character_id}", headers=tenant.headers)
        if response.status_code != 200:
            missing.append(f"character {character_id}")
    for tenant, entity_ids in acked.snippets.values():
        # A search returns min(top_k, matching snippets): with few enough, all of them.
        assert len(entity_ids) <= MAX_TOP_K
        response = await client.post(
            "/api/vectors/search",
            json={"query": "note", "top_k": MAX_TOP_K, "entity_type": ENTITY_TYPE},
            headers=tenant.headers,
        )
        found = (
            {hit["entity_id"] for hit in response.json()["data"]} if response.is_success else set()
        )
        missing += [f"snippet {e}" for e in sorted(entity_ids - found)]
    return missing
