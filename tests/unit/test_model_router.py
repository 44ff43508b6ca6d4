"""MODELS (SPEC §13): one chat model per listed model, built once at start-up and shared;
a call goes to the model its options name."""

from __future__ import annotations

import asyncio

import pytest

from fastwrap.adapters.langchain.chat_model import LangChainChatModel
from fastwrap.adapters.langchain.router import ModelRouter
from fastwrap.container.resources import make_chat_model
from fastwrap.domain.errors import ConfigurationError, Invalid
from fastwrap.domain.model import ModelOptions, PromptMessage
from tests.support.app import hermetic_settings

STUB = "http://127.0.0.1:9/v1"  # never called: building a client connects nowhere


def test_each_model_is_built_once_and_model_is_shared_when_listed() -> None:
    settings = hermetic_settings(
        model="gpt-4o-mini", model_key="sk-x", model_base_url=STUB,
        models="gpt-4o-mini, gpt-4o ,openai:gpt-4o,gpt-4o",
    )  # fmt: skip
    model, label = make_chat_model(settings)

    assert isinstance(model, ModelRouter)
    assert label == "openai:gpt-4o-mini"
    assert settings.allowed_models == ("gpt-4o-mini", "gpt-4o", "openai:gpt-4o")
    # gpt-4o-mini is MODEL's own client; gpt-4o and openai:gpt-4o are one model, one client.
    assert len(model.adapters) == 2
    assert all(isinstance(a, LangChainChatModel) for a in model.adapters)
    assert model.labels == {
        "gpt-4o-mini": "openai:gpt-4o-mini",
        "gpt-4o": "openai:gpt-4o",
        "openai:gpt-4o": "openai:gpt-4o",
    }
    asyncio.run(model.aclose())


def test_without_models_there_is_no_router() -> None:
    model, _ = make_chat_model(hermetic_settings(model="gpt-4o-mini", model_key="sk-x"))
    assert not isinstance(model, ModelRouter)


def test_a_models_entry_that_cannot_be_built_stops_start_up_naming_models() -> None:
    settings = hermetic_settings(model="gpt-4o-mini", model_key="sk-x", models="mystery-model")
    with pytest.raises(ConfigurationError, match="MODEL"):
        make_chat_model(settings)


async def test_a_call_for_a_model_not_listed_is_refused_naming_those_that_are() -> None:
    settings = hermetic_settings(models="gpt-4o-mini,gpt-4o")  # offline: no key, no base URL
    model, _ = make_chat_model(settings)
    assert isinstance(model, ModelRouter)
    prompt = [PromptMessage(role="user", content="hi")]

    with pytest.raises(Invalid, match="gpt-4o-mini, gpt-4o"):
        await model.reply(prompt, ModelOptions(model="claude-opus"))
    assert (await model.reply(prompt, ModelOptions(model="gpt-4o"))).content
    assert (await model.reply(prompt)).content
