"""Which chat model to build from MODEL / MODEL_PROVIDER / MODEL_BASE_URL / MODEL_KEY (SPEC §6.3).

Detection follows LangChain's `init_chat_model` rules, with one deliberate difference: a bare
`gemini-*` name goes to `google_genai` (the `google` extra, keyed by an API key) rather than to
Vertex AI. Every check happens here, at start-up, so a bad name or a missing package stops the
service with one line instead of failing the first chat turn.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastwrap.adapters.langchain.offline import OFFLINE_LABEL, OfflineChatModel
from fastwrap.adapters.langchain.provider_errors import scrub
from fastwrap.domain.errors import ConfigurationError
from fastwrap.ports.llm import ChatModel

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from fastwrap.adapters.langchain.chat_model import Completion

DEFAULT_MODEL = "gpt-4o-mini"
# Local OpenAI-compatible servers ignore the key, but the OpenAI client insists on one.
PLACEHOLDER_KEY = "not-needed"


@dataclass(frozen=True, slots=True)
class ProviderPackage:
    module: str
    package: str
    extra: str | None = None  # our optional-dependency group that installs it, if any


PROVIDERS: dict[str, ProviderPackage] = {
    "openai": ProviderPackage("langchain_openai", "langchain-openai"),
    "azure_openai": ProviderPackage("langchain_openai", "langchain-openai"),
    "anthropic": ProviderPackage("langchain_anthropic", "langchain-anthropic", "anthropic"),
    "google_genai": ProviderPackage("langchain_google_genai", "langchain-google-genai", "google"),
    "google_vertexai": ProviderPackage("langchain_google_vertexai", "langchain-google-vertexai"),
    "mistralai": ProviderPackage("langchain_mistralai", "langchain-mistralai", "mistral"),
    "ollama": ProviderPackage("langchain_ollama", "langchain-ollama", "ollama"),
    "cohere": ProviderPackage("langchain_cohere", "langchain-cohere"),
    "groq": ProviderPackage("langchain_groq", "langchain-groq"),
    "deepseek": ProviderPackage("langchain_deepseek", "langchain-deepseek"),
    "xai": ProviderPackage("langchain_xai", "langchain-xai"),
    "fireworks": ProviderPackage("langchain_fireworks", "langchain-fireworks"),
    "together": ProviderPackage("langchain_together", "langchain-together"),
    "perplexity": ProviderPackage("langchain_perplexity", "langchain-perplexity"),
    "upstage": ProviderPackage("langchain_upstage", "langchain-upstage"),
    "bedrock": ProviderPackage("langchain_aws", "langchain-aws"),
    "bedrock_converse": ProviderPackage("langchain_aws", "langchain-aws"),
    "openrouter": ProviderPackage("langchain_openrouter", "langchain-openrouter"),
    "huggingface": ProviderPackage("langchain_huggingface", "langchain-huggingface"),
}
ALIASES = {"google": "google_genai", "gemini": "google_genai", "mistral": "mistralai"}
# Bare-name prefixes, in LangChain's order.
PREFIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("gpt-", "o1", "o3", "o4", "chatgpt", "text-davinci"), "openai"),
    (("claude",), "anthropic"),
    (("command",), "cohere"),
    (("accounts/fireworks",), "fireworks"),
    (("gemini",), "google_genai"),
    (("amazon.", "anthropic.", "meta."), "bedrock"),
    (("mistral", "mixtral"), "mistralai"),
    (("deepseek",), "deepseek"),
    (("grok",), "xai"),
    (("sonar",), "perplexity"),
    (("solar",), "upstage"),
)
KEYLESS = frozenset({"ollama"})  # talks to a local server by default; no key means no key


@dataclass(frozen=True, slots=True)
class ModelChoice:
    provider: str
    model: str

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.model}"


def canonical_provider(provider: str) -> str:
    name = provider.strip().lower().replace("-", "_")
    return ALIASES.get(name, name)


def split_model(model: str, provider: str | None) -> tuple[str | None, str]:
    """(provider or None, model name) from a `provider:model` or bare name and an override.

    Only a known provider counts as a prefix, so Ollama-style names (`llama3:8b`) stay whole; an
    explicit provider wins over a different prefix.
    """
    chosen = canonical_provider(provider) if provider and provider.strip() else None
    head, colon, rest = model.strip().partition(":")
    prefix = canonical_provider(head)
    known = prefix in PROVIDERS or prefix == "hashing"  # the embeddings' local provider
    if colon and rest and known and chosen in (None, prefix):
        return prefix, rest
    return chosen, model.strip()


def detect_provider(model: str) -> str | None:
    """The provider a bare model name belongs to, by LangChain's prefix rules."""
    lowered = model.lower()
    for prefixes, provider in PREFIXES:
        if lowered.startswith(prefixes):
            return provider
    return None


def resolve_model(model: str | None, provider: str | None, base_url: str | None) -> ModelChoice:
    """Provider and model name; raises ConfigurationError naming the variable to fix."""
    chosen, name = split_model((model or "").strip() or DEFAULT_MODEL, provider)
    if chosen is None and base_url:
        chosen = "openai"  # MODEL_BASE_URL means an OpenAI-compatible server, whatever the name
    if chosen is None:
        chosen = detect_provider(name)
        if chosen is None:
            raise ConfigurationError(
                f"MODEL={name!r}: cannot tell its provider; set MODEL_PROVIDER "
                "or write MODEL as provider:model (e.g. openai:gpt-4o-mini)"
            )
    if chosen not in PROVIDERS:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigurationError(f"MODEL_PROVIDER={chosen!r} is not a known provider ({known})")
    return ModelChoice(provider=chosen, model=name)


def require_package(provider: str, variable: str = "MODEL") -> None:
    """Raise ConfigurationError naming the extra (or package) to install if it is missing."""
    package = PROVIDERS[provider]
    if importlib.util.find_spec(package.module) is not None:
        return
    if package.extra:
        fix = f"`uv sync --extra {package.extra}` or `pip install fastwrap[{package.extra}]`"
    else:
        fix = f"`uv add {package.package}` or `pip install {package.package}`"
    raise ConfigurationError(
        f"{variable}: provider {provider!r} needs the {package.package} package; "
        f"install it with {fix}"
    )


def _model_kwargs(
    choice: ModelChoice,
    *,
    api_key: str | None,
    base_url: str | None,
    timeout: float,
    max_retries: int,
    temperature: float | None,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if choice.provider != "ollama":  # ChatOllama takes neither a key nor client retry settings
        kwargs |= {"timeout": timeout, "max_retries": max_retries}
        if api_key or choice.provider == "openai":
            kwargs["api_key"] = api_key or PLACEHOLDER_KEY
    if choice.provider == "openai":
        kwargs["stream_usage"] = True  # usage on the last streamed chunk (stream_options)
        # Our own connection pool: langchain-openai otherwise shares one per process, which
        # breaks when that pool outlives the event loop it was first used on.
        import openai

        kwargs["http_async_client"] = openai.DefaultAsyncHttpxClient()
    if base_url:
        kwargs["base_url"] = base_url
    if temperature is not None:
        kwargs["temperature"] = temperature
    return kwargs


def build_chat_model(
    *,
    model: str | None,
    provider: str | None,
    api_key: str | None,
    base_url: str | None,
    timeout: float,
    max_retries: int,
    temperature: float | None,
    traced: bool = False,
    offline_without_key: bool = True,
    variable: str = "MODEL",
) -> tuple[ChatModel, str]:
    """The chat model to share for the process's life, and its label for /health.

    No key and no base URL → the offline model (labelled "offline"), unless the provider needs
    no key (Ollama). A provider whose package is missing → ConfigurationError naming the extra.
    `traced`: LangSmith tracing is on, so every reply goes through LangChain's run (`ainvoke`);
    otherwise an OpenAI model's replies take the plain lane when it applies (openai_chat.py).
    `offline_without_key` False: no key means the provider's own (its package reads its
    environment, e.g. ANTHROPIC_API_KEY), for a MODELS entry of another provider than MODEL's.
    """
    choice = resolve_model(model, provider, base_url)
    keyless = not api_key and not base_url and choice.provider not in KEYLESS
    if keyless and offline_without_key:
        return OfflineChatModel(), OFFLINE_LABEL
    require_package(choice.provider, variable)
    # Imported here: LangChain's import cost is paid only when a real model is configured.
    from fastwrap.adapters.langchain.chat_model import LangChainChatModel

    kwargs = _model_kwargs(
        choice,
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        temperature=temperature,
    )
    try:
        chat, complete = _langchain_model(choice, kwargs, traced=traced)
    except Exception as exc:  # the provider class refused its settings: still a start-up error
        reason = scrub(str(exc), [api_key])[:300]
        raise ConfigurationError(
            f"{variable}={choice.label}: the provider rejected its settings: {reason}"
        ) from exc
    secrets = (api_key,) if api_key else ()
    client = kwargs.get("http_async_client")
    adapter = LangChainChatModel(
        chat,
        timeout=timeout,
        secrets=secrets,
        close=client.aclose if client else None,
        complete=complete,
    )
    return adapter, choice.label


def _langchain_model(
    choice: ModelChoice, kwargs: dict[str, Any], *, traced: bool
) -> tuple[BaseChatModel, Completion | None]:
    """The LangChain model, and the lane its replies take when it is not `ainvoke`."""
    if choice.provider != "openai":
        from langchain.chat_models import init_chat_model

        return init_chat_model(choice.model, model_provider=choice.provider, **kwargs), None
    from fastwrap.adapters.langchain.openai_chat import MessagesInBodyChatOpenAI, plain_completion

    chat = MessagesInBodyChatOpenAI(model=choice.model, **kwargs)
    return chat, None if traced else plain_completion(chat)
