"""Keys, end-user tokens and settings through the library facade (SPEC §10, §13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import fastwrap
from tests.support.app import STRONG_PASSWORD, hermetic_settings
from tests.support.services import integration


@pytest.fixture(params=["memory", integration("postgres")])
def settings(request: pytest.FixtureRequest) -> fastwrap.Settings:
    if request.param == "postgres":
        dsn = request.getfixturevalue("pg_dsn")
        return hermetic_settings(fastwrap_storage="postgres", database_url=dsn)
    return hermetic_settings()


async def test_keys_tokens_and_settings_through_the_library(settings: fastwrap.Settings) -> None:
    async with fastwrap.open(settings) as app:
        issued = await app.clients.sign_up("ada@example.com", STRONG_PASSWORD)
        owner = fastwrap.Principal.of_primary(issued.client)
        assert (await app.keys.authenticate(issued.api_key)).scopes == owner.scopes

        later = datetime.now(UTC) + timedelta(days=1)
        made = await app.keys.create_key(owner, "backend", ["chat"], later)
        principal = await app.keys.authenticate(made.api_key)
        assert principal.key_id == made.key.id
        assert principal.scopes == frozenset({"chat"})
        with pytest.raises(fastwrap.MissingScope):
            principal.require("read")
        assert [k.id for k in await app.keys.list_keys(issued.client.id)] == [made.key.id]

        pirate = await app.characters.create(
            issued.client.id, fastwrap.CharacterDraft(agent_role="You are a pirate.")
        )
        token = await app.keys.issue_token(principal, pirate.id, "alice", ttl=120)
        as_alice = await app.keys.authenticate(token.secret)
        assert as_alice.end_user == "alice"
        assert as_alice.chat_as(pirate.id, None, None) == (None, "alice")

        await app.keys.revoke_key(issued.client.id, made.key.id)
        for secret in (made.api_key, token.secret):
            with pytest.raises(fastwrap.Unauthorized):
                await app.keys.authenticate(secret)

        changed = await app.client_settings.update(
            issued.client.id, allowed_origins=["https://app.example"], end_user_daily_tokens=500
        )
        assert changed == fastwrap.ClientSettings(
            allowed_origins=("https://app.example",), end_user_daily_tokens=500
        )
        client = await app.clients.get(issued.client.id)
        assert fastwrap.ClientSettings.of(client) == changed
