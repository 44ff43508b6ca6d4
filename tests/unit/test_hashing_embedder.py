"""The local hashing embedder: lexical similarity, unit length, the same vectors everywhere."""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastwrap.adapters.langchain import hashing
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


# hashing-v1's vector of one text at 1536 dimensions: its taken slots (the rest are 0.0), to 15
# significant digits. A change of the features, weights or hashing moves them: vectors stored
# before it would no longer match new ones (bump HASHING_MODEL instead).
HASHING_V1_1536 = {
    55: -0.285714285714286,
    131: 0.142857142857143,
    138: -0.428571428571429,
    204: 0.142857142857143,
    230: 0.142857142857143,
    241: -0.142857142857143,
    253: 0.142857142857143,
    369: -0.142857142857143,
    380: 0.142857142857143,
    434: 0.142857142857143,
    448: -0.142857142857143,
    489: 0.142857142857143,
    574: 0.142857142857143,
    629: 0.142857142857143,
    654: -0.285714285714286,
    750: 0.142857142857143,
    753: -0.285714285714286,
    761: -0.285714285714286,
    841: 0.142857142857143,
    1003: 0.142857142857143,
    1059: -0.285714285714286,
    1356: 0.142857142857143,
    1428: 0.142857142857143,
    1431: 0.142857142857143,
    1435: 0.142857142857143,
    1483: 0.142857142857143,
}


def test_the_vectors_are_hashing_v1s() -> None:
    vector = feature_vector("How do I reset my password?", 1536)

    taken = {slot: value for slot, value in enumerate(vector) if value != 0.0}
    assert taken.keys() == HASHING_V1_1536.keys()
    for slot, value in HASHING_V1_1536.items():
        assert math.isclose(taken[slot], value, rel_tol=1e-13), slot
    assert all(type(x) is float for x in vector)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=2000), dimensions=st.sampled_from([1, 7, 64, 1536]))
def test_a_vector_built_from_its_taken_slots_is_the_dense_one_to_the_bit(
    text: str, dimensions: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    sparse_or_not = feature_vector(text, dimensions)
    with monkeypatch.context() as patched:
        patched.setattr(hashing, "SPARSE_SHARE", 10**9)  # every vector takes the dense path
        dense = feature_vector(text, dimensions)

    assert struct.pack(f"<{dimensions}d", *sparse_or_not) == struct.pack(f"<{dimensions}d", *dense)
