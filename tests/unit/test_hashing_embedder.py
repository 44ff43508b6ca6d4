"""The local hashing embedder: lexical similarity, unit length, the same vectors everywhere."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from fastwrap.adapters.langchain.hashing import INLINE_CHARS, HashingEmbedder, feature_vector


def _cosine(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_similar_texts_score_higher_than_dissimilar_ones() -> None:
    query, near, typo, far = await HashingEmbedder(256).embed(
        [
            "How do I reset my password?",
            "Resetting your password: open settings",
            "how do i rest my pasword",
            "Our office is closed on public holidays",
        ]
    )

    assert _cosine(query, near) > _cosine(query, far)
    assert _cosine(query, typo) > _cosine(query, far)  # trigrams forgive typos


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=300), dimensions=st.integers(min_value=1, max_value=512))
def test_every_vector_has_unit_length_and_the_asked_size(text: str, dimensions: int) -> None:
    vector = feature_vector(text, dimensions)

    assert len(vector) == dimensions
    assert math.isclose(math.sqrt(_cosine(vector, vector)), 1.0, rel_tol=1e-9)


def test_case_and_punctuation_do_not_change_the_vector() -> None:
    assert feature_vector("Hello, World!", 128) == feature_vector("hello world", 128)


def test_vectors_are_the_same_in_another_process_with_another_hash_seed() -> None:
    texts = ["the same text", "on every replica", ""]
    script = (
        "import json, sys\n"
        "from fastwrap.adapters.langchain.hashing import feature_vector\n"
        "print(json.dumps([feature_vector(t, 32) for t in json.loads(sys.argv[1])]))\n"
    )
    env = os.environ | {"PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(texts)],
        capture_output=True, text=True, env=env, check=True, timeout=60,
    )  # fmt: skip

    there = [tuple(v) for v in json.loads(result.stdout)]
    assert there == [feature_vector(t, 32) for t in texts]


async def test_a_large_batch_gives_the_same_vectors_as_small_ones() -> None:
    embedder = HashingEmbedder(64)
    texts = [f"paragraph {i} " + "lorem ipsum dolor " * 100 for i in range(INLINE_CHARS // 1000)]

    large = await embedder.embed(texts)  # over the inline limit: hashed in a worker thread

    assert large == [feature_vector(t, 64) for t in texts]
    assert embedder.model == "hashing-v1"
    assert embedder.dimensions == 64
