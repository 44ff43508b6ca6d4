"""The local hashing embedder: lexical similarity, unit length, the same vectors everywhere."""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
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


# hashing-v1's vectors, as stored: sha256 of each vector packed as little-endian doubles (first
# 16 hex digits). A vector that changes by one bit no longer matches those stored before it.
HASHING_V1 = {
    ("", 32): "c1a74f7ec02417de",
    ("", 1536): "f74b23be6ebee22f",
    ("How do I reset my password?", 32): "bbb720f033c9e6dd",
    ("How do I reset my password?", 1536): "751302fd1784ea00",
    ('Ünïcödé, "quotes" and\nnew lines — 91 is 7 × 13.', 32): "ec2f6c94e221e50c",
    ('Ünïcödé, "quotes" and\nnew lines — 91 is 7 × 13.', 1536): "b90e3ebcfd8418fe",
    ("lorem ipsum dolor sit amet " * 200, 32): "ace57c0352e877e8",  # every slot taken
    ("lorem ipsum dolor sit amet " * 200, 1536): "3073db6dea568470",
}


def test_the_vectors_are_hashing_v1s_to_the_bit() -> None:
    for (text, dimensions), digest in HASHING_V1.items():
        vector = feature_vector(text, dimensions)
        packed = struct.pack(f"<{dimensions}d", *vector)
        assert hashlib.sha256(packed).hexdigest()[:16] == digest, (text[:20], dimensions)
        assert all(type(x) is float for x in vector)
