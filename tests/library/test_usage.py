"""The library's usage reports: calls made through `app.chat` are in `app.usage` (SPEC §13)."""

from __future__ import annotations

import fastwrap
from tests.support.app import STRONG_PASSWORD, hermetic_settings


async def test_library_turns_are_metered_and_reported() -> None:
    async with fastwrap.open(hermetic_settings()) as app:
        issued = await app.clients.sign_up("lib@example.com", STRONG_PASSWORD)
        client_id = issued.client.id
        character = await app.characters.create(
            client_id, fastwrap.CharacterDraft(agent_role="You are terse.")
        )
        request = fastwrap.TurnRequest(character_id=character.id, content="hi", end_user="eve")
        await app.chat.turn(client_id, request)
        await app.chat.turn(client_id, request)

        page = await app.usage.report(client_id, group_by="end_user")

    [row] = page.items
    assert isinstance(row, fastwrap.UsageRow)
    assert (row.group, row.requests, row.failed) == ("eve", 2, 0)
    assert row.input_tokens > 0
