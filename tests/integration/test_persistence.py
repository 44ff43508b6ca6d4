"""The embedded default keeps data across restarts: sign up and upsert, stop, start again on the
same data dir, and the key still works and the snippet is still found (issue 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.app import app_client, hermetic_settings, sign_up

pytestmark = pytest.mark.integration


async def test_data_survives_a_restart_of_the_embedded_default(embedded_tmp_path: Path) -> None:
    settings = hermetic_settings(
        fastwrap_storage="postgres", fastwrap_data_dir=embedded_tmp_path / "data"
    )
    assert settings.postgres_dsn is None  # the embedded server, as `fastwrap serve` runs it

    async with app_client(settings) as api:
        assert (await api.get("/health")).json()["checks"]["postgres"]["adapter"] == "embedded"
        tenant = await sign_up(api, "keeper@example.com")
        stored = await api.post(
            "/api/vectors/upsert",
            json={"entity_type": "note", "entity_id": "n1", "content": "the harbour opens at dawn"},
            headers=tenant.headers,
        )
        assert stored.status_code == 201

    async with app_client(settings) as api:
        listed = await api.get("/api/characters", headers=tenant.headers)
        assert listed.status_code == 200
        hits = await api.post(
            "/api/vectors/search",
            json={"query": "when does the harbour open"},
            headers=tenant.headers,
        )
        assert [h["entity_id"] for h in hits.json()["data"]] == ["n1"]
