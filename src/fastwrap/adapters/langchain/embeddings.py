"""Embedders for providers: OpenAI (and compatible servers) directly, the rest through LangChain.

OpenAI goes through the `openai` SDK rather than LangChain's `OpenAIEmbeddings`, whose
context-length check downloads a tiktoken vocabulary on first use: a fresh or offline machine
must never need that. Texts are sent in batches of `batch_size`, one request per batch, a few
batches at a time, and every vector is checked to have EMBEDDING_DIM entries before it is used.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fastwrap.adapters.langchain.hashing import HashingEmbedder
from fastwrap.adapters.langchain.provider_errors import provider_error, scrub
from fastwrap.adapters.langchain.providers import (
    KEYLESS,
    PLACEHOLDER_KEY,
    require_package,
    split_model,
)
from fastwrap.domain.errors import ConfigurationError, DomainError, UpstreamFailed
from fastwrap.ports.embeddings import Embedder

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

CONCURRENT_BATCHES = 4
HASHING_LABEL = "hashing"
# Providers LangChain's init_embeddings knows (besides openai, which we call directly).
LANGCHAIN_EMBEDDING_PROVIDERS = frozenset(
    {"azure_openai", "bedrock", "cohere", "google_genai", "google_vertexai", "huggingface",
     "mistralai", "ollama"}
)  # fmt: skip


class _BatchedEmbedder(Embedder):
    """Batching, deadlines, error translation and the size check shared by both adapters."""

    def __init__(
        self, *, model: str, dimensions: int, batch_size: int, timeout: float, secret: str | None
    ) -> None:
        self._model = model
        self._dimensions = dimensions
        self._batch_size = batch_size
        self._timeout = timeout
        self._secrets = (secret,) if secret else ()

    @property
    def model(self) -> str:
        return self._model

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @abstractmethod
    async def _call(self, texts: list[str]) -> list[list[float]]:
        """One provider request for one batch."""

    async def embed(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        batches = [
            list(texts[i : i + self._batch_size]) for i in range(0, len(texts), self._batch_size)
        ]
        limit = asyncio.Semaphore(CONCURRENT_BATCHES)
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._one_batch(batch, limit)) for batch in batches]
        except ExceptionGroup as failures:
            # Every batch error is already a domain error; report the first one.
            raise failures.exceptions[0]  # noqa: B904 - its cause is the provider error
        return [vector for task in tasks for vector in task.result()]

    async def _one_batch(
        self, batch: list[str], limit: asyncio.Semaphore
    ) -> list[tuple[float, ...]]:
        async with limit:
            try:
                async with asyncio.timeout(self._timeout):
                    vectors = await self._call(batch)
            except DomainError:
                raise
            except Exception as exc:  # CancelledError is a BaseException and passes through
                raise provider_error(
                    exc, what="embedding", timeout=self._timeout, secrets=self._secrets
                ) from exc
        if len(vectors) != len(batch):
            raise UpstreamFailed(
                f"embedding provider returned {len(vectors)} vectors for {len(batch)} texts"
            )
        for vector in vectors:
            if len(vector) != self._dimensions:
                raise UpstreamFailed(
                    f"embedding model {self._model!r} returned {len(vector)} dimensions but "
                    f"EMBEDDING_DIM is {self._dimensions}"
                )
        return [tuple(float(x) for x in vector) for vector in vectors]


class OpenAIEmbedder(_BatchedEmbedder):
    """OpenAI's embeddings API, or any server that speaks it (`base_url`)."""

    def __init__(
        self,
        *,
        model: str,
        dimensions: int,
        api_key: str | None,
        base_url: str | None,
        batch_size: int,
        timeout: float,
        max_retries: int,
    ) -> None:
        super().__init__(
            model=model, dimensions=dimensions, batch_size=batch_size, timeout=timeout,
            secret=api_key,
        )  # fmt: skip
        options: dict[str, Any] = {"timeout": timeout, "max_retries": max_retries}
        if base_url:
            options["base_url"] = base_url
        import openai  # here, not at the top: the no-key defaults never pay for importing it

        self._client = openai.AsyncOpenAI(api_key=api_key or PLACEHOLDER_KEY, **options)
        # Only the text-embedding-3 family can shorten its vectors; others reject the field.
        self._send_dimensions = model.startswith("text-embedding-3")

    async def _call(self, texts: list[str]) -> list[list[float]]:
        extra: dict[str, Any] = {"dimensions": self._dimensions} if self._send_dimensions else {}
        response = await self._client.embeddings.create(
            model=self._model, input=texts, encoding_format="float", **extra
        )
        ordered = sorted(response.data, key=lambda item: item.index)
        return [list(item.embedding) for item in ordered]

    async def aclose(self) -> None:
        """Close the HTTP connection pool (the container calls this at shutdown)."""
        await self._client.close()


class LangChainEmbedder(_BatchedEmbedder):
    """Any LangChain `Embeddings` (Ollama, Mistral, Google, Cohere, ...)."""

    def __init__(
        self,
        embeddings: Embeddings,
        *,
        model: str,
        dimensions: int,
        batch_size: int,
        timeout: float,
        secret: str | None = None,
    ) -> None:
        super().__init__(
            model=model, dimensions=dimensions, batch_size=batch_size, timeout=timeout,
            secret=secret,
        )  # fmt: skip
        self._embeddings = embeddings

    async def _call(self, texts: list[str]) -> list[list[float]]:
        return await self._embeddings.aembed_documents(texts)

    async def aclose(self) -> None:
        """LangChain embeddings own no closable client in their common interface."""


def build_embedder(
    *,
    provider: str | None,
    model: str,
    dimensions: int,
    api_key: str | None,
    base_url: str | None,
    batch_size: int,
    timeout: float,
    max_retries: int,
) -> tuple[Embedder, str]:
    """The embedder to share for the process's life, and its label for /health.

    No key and no base URL (or EMBEDDING_PROVIDER=hashing) → the local hashing embedder.
    """
    chosen, name = _resolve(provider, model, base_url)
    if chosen == HASHING_LABEL or (not api_key and not base_url and chosen not in KEYLESS):
        return HashingEmbedder(dimensions), HASHING_LABEL
    label = f"{chosen}:{name}"
    if chosen == "openai":
        embedder: Embedder = OpenAIEmbedder(
            model=name, dimensions=dimensions, api_key=api_key, base_url=base_url,
            batch_size=batch_size, timeout=timeout, max_retries=max_retries,
        )  # fmt: skip
        return embedder, label
    require_package(chosen, "EMBEDDING_PROVIDER")
    embeddings = _init_langchain(chosen, name, api_key=api_key, base_url=base_url)
    embedder = LangChainEmbedder(
        embeddings, model=name, dimensions=dimensions, batch_size=batch_size,
        timeout=timeout, secret=api_key,
    )  # fmt: skip
    return embedder, label


def _resolve(provider: str | None, model: str, base_url: str | None) -> tuple[str, str]:
    chosen, model = split_model(model, provider)
    chosen = chosen or "openai"  # EMBEDDING_BASE_URL alone means an OpenAI-compatible server
    if chosen not in {"openai", HASHING_LABEL} | LANGCHAIN_EMBEDDING_PROVIDERS:
        known = ", ".join(sorted({"openai", HASHING_LABEL} | LANGCHAIN_EMBEDDING_PROVIDERS))
        raise ConfigurationError(
            f"EMBEDDING_PROVIDER={provider!r} is not a known provider ({known})"
        )
    return chosen, model


def _init_langchain(
    provider: str, model: str, *, api_key: str | None, base_url: str | None
) -> Embeddings:
    from langchain.embeddings import init_embeddings

    kwargs: dict[str, Any] = {}
    if api_key:
        kwargs["api_key"] = api_key
    if base_url:
        kwargs["base_url"] = base_url
    try:
        return init_embeddings(model, provider=provider, **kwargs)
    except Exception as exc:  # the provider class refused its settings: a start-up error
        reason = scrub(str(exc), [api_key])[:300]
        raise ConfigurationError(
            f"EMBEDDING_MODEL={provider}:{model}: the provider rejected its settings: {reason}"
        ) from exc
