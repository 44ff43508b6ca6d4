"""LangSmith tracing switches, traced replies, and the scrubbing of provider error messages."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from langchain_core.tracers.context import collect_runs
from langsmith import tracing_context
from langsmith import utils as langsmith_utils

from fastwrap.adapters.langchain.provider_errors import provider_error, scrub
from fastwrap.adapters.langchain.tracing import configure_tracing
from fastwrap.container.resources import make_chat_model
from fastwrap.domain.errors import UpstreamFailed, UpstreamTimeout
from fastwrap.domain.model import PromptMessage
from tests.support.app import hermetic_settings
from tests.support.openai_stub import OpenAIStub

TRACING_VARIABLES = (
    "LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2", "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY", "LANGCHAIN_CALLBACKS_BACKGROUND",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    # Restored here rather than with monkeypatch: langsmith's cache must be cleared *after*
    # the environment is back, or later tests would trace with a fake key.
    saved = {name: os.environ.get(name) for name in TRACING_VARIABLES}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    langsmith_utils.get_env_var.cache_clear()  # type: ignore[attr-defined]


def test_tracing_is_on_with_a_key_and_the_switch() -> None:
    assert configure_tracing("lsv2_pt_test", enabled=True) is True

    assert langsmith_utils.tracing_is_enabled() is True
    assert os.environ["LANGSMITH_API_KEY"] == "lsv2_pt_test"


@pytest.mark.parametrize(("key", "enabled"), [(None, True), ("lsv2_pt_test", False), (None, False)])
def test_tracing_stays_off_without_a_key_or_the_switch(key: str | None, enabled: bool) -> None:
    os.environ["LANGSMITH_TRACING"] = "true"  # a stray switch without a key must not win

    assert configure_tracing(key, enabled=enabled) is False

    assert langsmith_utils.tracing_is_enabled() is False


@pytest.mark.integration
@pytest.mark.parametrize(("key", "runs"), [("lsv2_pt_test", ["llm"]), (None, [])])
async def test_with_a_tracing_key_every_reply_goes_through_langchains_run(
    openai_stub: OpenAIStub, key: str | None, runs: list[str]
) -> None:
    """Traced, a reply is LangChain's run (`ainvoke`, its callbacks); untraced, the plain lane."""
    settings = hermetic_settings(
        model_key="sk-tracing-test", model_base_url=openai_stub.base_url, langchain_api_key=key,
        langsmith_tracing_v2=True,  # as by default: configure_tracing may have set it false
    )  # fmt: skip
    model, _ = make_chat_model(settings)
    try:
        # Collected here; `enabled=False` keeps the runs from being sent to LangSmith.
        with tracing_context(enabled=False), collect_runs() as collected:
            reply = await model.reply([PromptMessage(role="user", content="Hello")])
    finally:
        await model.aclose()

    assert reply.content == "stub reply to: Hello"
    assert [run.run_type for run in collected.traced_runs] == runs


def test_scrub_removes_the_key_and_anything_key_shaped() -> None:
    text = "bad key sk-proj-abc123def456 for my-secret-value, header Bearer xyz.123"

    cleaned = scrub(text, ["my-secret-value"])

    assert "sk-proj-abc123def456" not in cleaned
    assert "my-secret-value" not in cleaned
    assert "xyz.123" not in cleaned
    assert cleaned.startswith("bad key [redacted]")


def test_provider_errors_become_domain_errors() -> None:
    class FakeStatusError(Exception):
        status_code = 429
        message = "Rate limit reached for sk-live-0123456789"

    failed = provider_error(FakeStatusError(), what="model", timeout=3)
    timed_out = provider_error(TimeoutError(), what="embedding", timeout=2.5)

    assert isinstance(failed, UpstreamFailed)
    assert failed.detail == "model provider error (429): Rate limit reached for [redacted]"
    assert isinstance(timed_out, UpstreamTimeout)
    assert timed_out.detail == "embedding did not answer within 2.5s"
