"""The Embedder contract, for the local hashing embedder and OpenAI's API over real HTTP."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest

from fastwrap.adapters.langchain.embeddings import OpenAIEmbedder
from fastwrap.adapters.langchain.hashing import HashingEmbedder
from fastwrap.ports.embeddings import Embedder
from tests.support.openai_stub import OpenAIStub
from tests.support.services import integration

DIMENSIONS = 64


def _openai(stub: OpenAIStub, *, batch_size: int = 100) -> OpenAIEmbedder:
    return OpenAIEmbedder(
        model="text-embedding-3-small", dimensions=DIMENSIONS, api_key="sk-embed-test",
        base_url=stub.base_url, batch_size=batch_size, timeout=10, max_retries=0,
    )  # fmt: skip


@pytest.fixture(params=["hashing", integration("openai")])
async def embedder(request: pytest.FixtureRequest) -> AsyncIterator[Embedder]:
    if request.param == "hashing":
        yield HashingEmbedder(DIMENSIONS)
        return
    real = _openai(request.getfixturevalue("openai_stub"))
    yield real
    await real.aclose()


def _cosine(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_one_vector_per_text_of_the_configured_size(embedder: Embedder) -> None:
    vectors = await embedder.embed(["a cat", "a dog", "a bird"])

    assert embedder.dimensions == DIMENSIONS
    assert len(vectors) == 3
    assert all(len(v) == DIMENSIONS for v in vectors)
    assert all(math.isclose(math.sqrt(_cosine(v, v)), 1.0, rel_tol=1e-5) for v in vectors)


async def test_vectors_are_deterministic_and_keep_input_order(embedder: Embedder) -> None:
    together = await embedder.embed(["first text", "second text"])
    first = await embedder.embed(["first text"])
    second = await embedder.embed(["second text"])

    assert together == first + second
    assert together[0] != together[1]


async def test_similar_texts_score_higher_than_unrelated_ones(embedder: Embedder) -> None:
    query, near, far = await embedder.embed(
        ["refund policy for orders", "our refund policy for returned orders", "weather in Oslo"]
    )

    assert _cosine(query, near) > _cosine(query, far)


async def test_nothing_to_embed_gives_nothing(embedder: Embedder) -> None:
    assert await embedder.embed([]) == []


async def test_the_model_name_is_the_vector_space(embedder: Embedder) -> None:
    assert embedder.model in {"hashing-v1", "text-embedding-3-small"}


async def test_openai_batches_by_batch_size_and_asks_for_the_dimensions(
    openai_stub: OpenAIStub,
) -> None:
    embedder = _openai(openai_stub, batch_size=100)
    texts = [f"snippet number {i}" for i in range(250)]
    try:
        vectors = await embedder.embed(texts)
    finally:
        await embedder.aclose()

    sent = openai_stub.requests_to("/v1/embeddings")
    assert sorted(len(r.body["input"]) for r in sent) == [50, 100, 100]
    assert sorted(t for r in sent for t in r.body["input"]) == sorted(texts)
    assert {r.body["dimensions"] for r in sent} == {DIMENSIONS}
    assert {r.body["model"] for r in sent} == {"text-embedding-3-small"}
    assert vectors[137] == (await HashingEmbedder(DIMENSIONS).embed([texts[137]]))[0]


async def test_openai_sends_no_dimensions_to_models_that_cannot_shorten(
    openai_stub: OpenAIStub,
) -> None:
    embedder = OpenAIEmbedder(
        model="nomic-embed-text", dimensions=DIMENSIONS, api_key=None,
        base_url=openai_stub.base_url, batch_size=10, timeout=10, max_retries=0,
    )  # fmt: skip
    openai_stub.set_embedding_size(DIMENSIONS)  # the server's native size
    try:
        await embedder.embed(["hello"])
    finally:
        await embedder.aclose()

    [sent] = openai_stub.requests_to("/v1/embeddings")
    assert "dimensions" not in sent.body
