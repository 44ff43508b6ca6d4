"""Which chat model and embedder a configuration builds (SPEC §6.3), without any network call."""

from __future__ import annotations

import importlib.util

import pytest

from fastwrap.adapters.langchain.chat_model import LangChainChatModel
from fastwrap.adapters.langchain.embeddings import OpenAIEmbedder, build_embedder
from fastwrap.adapters.langchain.hashing import HashingEmbedder
from fastwrap.adapters.langchain.offline import OfflineChatModel
from fastwrap.adapters.langchain.providers import (
    ModelChoice,
    build_chat_model,
    detect_provider,
    resolve_model,
)
from fastwrap.domain.errors import ConfigurationError

LOCAL = "http://127.0.0.1:11434/v1"


def _skip_if_installed(module: str) -> None:
    # These tests are about a missing package; an environment with every extra cannot run them.
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed")


@pytest.mark.parametrize(
    ("name", "provider"),
    [
        ("gpt-4o-mini", "openai"),
        ("gpt-4.1", "openai"),
        ("o1-mini", "openai"),
        ("o3", "openai"),
        ("claude-3-5-sonnet", "anthropic"),
        ("claude-sonnet-4-5", "anthropic"),
        ("gemini-1.5-pro", "google_genai"),
        ("mistral-large-latest", "mistralai"),
        ("mixtral-8x7b", "mistralai"),
        ("command-r-plus", "cohere"),
        ("deepseek-chat", "deepseek"),
        ("grok-2", "xai"),
        ("llama3", None),
    ],
)
def test_bare_names_are_detected_by_prefix(name: str, provider: str | None) -> None:
    assert detect_provider(name) == provider


@pytest.mark.parametrize(
    ("model", "provider", "base_url", "expected"),
    [
        ("openai:gpt-4o", None, None, ModelChoice("openai", "gpt-4o")),
        ("anthropic:claude-3-haiku", None, None, ModelChoice("anthropic", "claude-3-haiku")),
        ("gpt-4o", "anthropic", None, ModelChoice("anthropic", "gpt-4o")),
        ("claude-3-haiku", "OpenAI", None, ModelChoice("openai", "claude-3-haiku")),
        ("gemini-2.0-flash", "google", None, ModelChoice("google_genai", "gemini-2.0-flash")),
        ("openai:gpt-4o", "openai", None, ModelChoice("openai", "gpt-4o")),
        ("llama3:8b", None, LOCAL, ModelChoice("openai", "llama3:8b")),
        ("mistral-7b-instruct", None, LOCAL, ModelChoice("openai", "mistral-7b-instruct")),
        ("llama3", "ollama", LOCAL, ModelChoice("ollama", "llama3")),
        (None, None, None, ModelChoice("openai", "gpt-4o-mini")),
    ],
)
def test_model_resolution(
    model: str | None, provider: str | None, base_url: str | None, expected: ModelChoice
) -> None:
    assert resolve_model(model, provider, base_url) == expected


def test_an_unknown_provider_names_model_provider() -> None:
    with pytest.raises(ConfigurationError, match="MODEL_PROVIDER='nosuchai'"):
        resolve_model("gpt-4o", "nosuchai", None)


def test_an_undetectable_name_asks_for_model_provider() -> None:
    with pytest.raises(ConfigurationError, match="MODEL_PROVIDER"):
        resolve_model("llama3", None, None)


def _chat(**options: object) -> tuple[object, str]:
    settings: dict[str, object] = {
        "model": None, "provider": None, "api_key": None, "base_url": None,
        "timeout": 5.0, "max_retries": 1, "temperature": None,
    } | options  # fmt: skip
    return build_chat_model(**settings)  # type: ignore[arg-type]


def test_no_key_and_no_base_url_is_the_offline_model() -> None:
    model, label = _chat(model="gpt-4o")

    assert isinstance(model, OfflineChatModel)
    assert label == "offline"


async def test_a_key_builds_the_langchain_model_without_calling_it() -> None:
    model, label = _chat(model="gpt-4o-mini", api_key="sk-unit-test")

    assert isinstance(model, LangChainChatModel)
    assert label == "openai:gpt-4o-mini"
    await model.aclose()


async def test_a_base_url_alone_is_enough() -> None:
    model, label = _chat(model="qwen2.5", base_url=LOCAL)

    assert isinstance(model, LangChainChatModel)
    assert label == "openai:qwen2.5"
    await model.aclose()


@pytest.mark.parametrize(
    ("model", "provider", "extra", "module"),
    [
        ("claude-3-5-sonnet", None, "anthropic", "langchain_anthropic"),
        ("gpt-4o", "mistral", "mistral", "langchain_mistralai"),
        ("gemini-2.0-flash", None, "google", "langchain_google_genai"),
    ],
)
def test_a_provider_without_its_package_names_the_extra(
    model: str, provider: str | None, extra: str, module: str
) -> None:
    _skip_if_installed(module)
    with pytest.raises(ConfigurationError) as caught:
        _chat(model=model, provider=provider, api_key="key-for-a-provider")

    assert f"uv sync --extra {extra}" in caught.value.detail
    assert f"pip install fastwrap[{extra}]" in caught.value.detail


def test_a_provider_without_an_extra_names_its_package() -> None:
    _skip_if_installed("langchain_cohere")
    with pytest.raises(ConfigurationError, match="langchain-cohere"):
        _chat(model="command-r", api_key="co-key")


def test_ollama_needs_no_key_but_needs_its_extra() -> None:
    _skip_if_installed("langchain_ollama")
    with pytest.raises(ConfigurationError, match="--extra ollama"):
        _chat(model="ollama:llama3")


def _embedder(**options: object) -> tuple[object, str]:
    settings: dict[str, object] = {
        "provider": None, "model": "text-embedding-3-small", "dimensions": 1536,
        "api_key": None, "base_url": None, "batch_size": 100, "timeout": 5.0, "max_retries": 1,
    } | options  # fmt: skip
    return build_embedder(**settings)  # type: ignore[arg-type]


def test_no_embedding_key_is_the_hashing_embedder() -> None:
    embedder, label = _embedder(dimensions=384)

    assert isinstance(embedder, HashingEmbedder)
    assert embedder.dimensions == 384
    assert label == "hashing"


def test_the_hashing_provider_can_be_chosen_with_a_key() -> None:
    embedder, label = _embedder(provider="hashing", api_key="sk-ignored")

    assert isinstance(embedder, HashingEmbedder)
    assert label == "hashing"


async def test_an_embedding_key_builds_the_openai_embedder_for_the_configured_model() -> None:
    embedder, label = _embedder(model="text-embedding-3-large", dimensions=3072, api_key="sk-x")

    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.model == "text-embedding-3-large"
    assert embedder.dimensions == 3072
    assert label == "openai:text-embedding-3-large"
    await embedder.aclose()


async def test_an_embedding_base_url_alone_means_an_openai_compatible_server() -> None:
    embedder, label = _embedder(model="nomic-embed-text", dimensions=768, base_url=LOCAL)

    assert isinstance(embedder, OpenAIEmbedder)
    assert label == "openai:nomic-embed-text"
    await embedder.aclose()


def test_an_embedding_provider_without_its_package_names_the_extra() -> None:
    _skip_if_installed("langchain_mistralai")
    with pytest.raises(ConfigurationError, match=r"EMBEDDING_PROVIDER.*--extra mistral"):
        _embedder(provider="mistralai", model="mistral-embed", api_key="m-key")


def test_an_unknown_embedding_provider_names_embedding_provider() -> None:
    with pytest.raises(ConfigurationError, match="EMBEDDING_PROVIDER='nosuch'"):
        _embedder(provider="nosuch", api_key="k")
