"""50 concurrent turns on one conversation through the HTTP app: exactly 100 messages, paired.

Run on the in-process cache (asyncio lock) and on Redis (the shared SET NX lock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.resilience.turns import assert_each_turn_whole, concurrent_turns, stored_messages
from tests.support.app import app_client, hermetic_settings, make_character, sign_up
from tests.support.services import integration


@pytest.fixture(params=["in-process", integration("redis")])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    settings = hermetic_settings()
    if request.param == "redis":
        settings = hermetic_settings(
            redis_url=request.getfixturevalue("redis_url"),
            redis_key_prefix=request.getfixturevalue("redis_namespace"),
        )
    async with app_client(settings) as client:
        yield client


async def test_concurrent_turns_on_one_conversation_are_all_kept_in_pairs(
    api: httpx.AsyncClient,
) -> None:
    alice = await sign_up(api, "alice@example.com")
    cid = await make_character(api, alice)

    sent = await concurrent_turns([api], alice, cid, count=50)

    assert_each_turn_whole(await stored_messages(api, alice), sent)
