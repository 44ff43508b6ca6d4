"""A character's model, temperature and output cap go with its calls; a request's own options
win where it gives them (SPEC §13)."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest

from fastwrap.domain.chat import TurnRequest
from fastwrap.domain.model import ModelOptions
from tests.support.chat import Chat, build_chat
from tests.unit.test_chat_service import streamed


@pytest.fixture
async def chat() -> Chat:
    return await build_chat()


async def test_the_characters_options_fill_what_the_request_leaves_open(chat: Chat) -> None:
    plain = await chat.character()
    tuned = replace(plain, id=uuid4(), model="gpt-4o", temperature=0.2, max_output_tokens=50)
    await chat.characters.add(tuned)

    await chat.service.turn(chat.tenant, TurnRequest(character_id=tuned.id, content="a"))
    asked = TurnRequest(
        character_id=tuned.id, content="b", conversation_id="c2",
        options=ModelOptions(temperature=1.1),
    )  # fmt: skip
    await streamed(chat, asked)
    await chat.service.turn(chat.tenant, TurnRequest(character_id=plain.id, content="c"))

    options = [call[0] for call in chat.model.calls]
    assert options == [
        ModelOptions(model="gpt-4o", temperature=0.2, max_output_tokens=50),
        ModelOptions(model="gpt-4o", temperature=1.1, max_output_tokens=50),
        ModelOptions(),
    ]
