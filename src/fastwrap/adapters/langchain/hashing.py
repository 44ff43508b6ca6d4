"""The no-key default embedder: local, deterministic feature hashing (lexical similarity only).

Each text becomes a bag of (lightly stemmed) word unigrams and character trigrams; every feature
is hashed with BLAKE2b (never Python's salted `hash()`, so vectors are the same in every process
and replica) into one of `dimensions` signed slots, and the sum is L2-normalised. Texts that
share words or word pieces get a higher cosine similarity; meaning is not captured. Collisions
add noise that shrinks as `dimensions` grows: below about 256 close candidates may swap places.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from fastwrap.ports.embeddings import Embedder

HASHING_MODEL = "hashing-v1"  # bump when the features or weights change: old vectors stop matching
WORD_WEIGHT = 1.0
TRIGRAM_WEIGHT = 0.5
# Below this many characters per call the hashing is cheaper than a hop to a worker thread.
INLINE_CHARS = 20_000
# Up to one slot in this many taken, a vector is built from its taken slots alone.
SPARSE_SHARE = 4

_WORD = re.compile(r"\w+")
# A crude English stemmer: "orders"/"order" and "ships"/"shipped" share features, which roughly
# doubles the similarity of a question and the snippet that answers it.
_SUFFIXES = ("ing", "ed", "es", "s")
_EMPTY_FEATURE = "\x00empty"  # a zero vector has no cosine similarity; an empty text gets one slot


@lru_cache(maxsize=131_072)
def _feature_hash(feature: str) -> int:
    return int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _features(text: str) -> list[tuple[str, float]]:
    words = [_stem(word) for word in _WORD.findall(text.casefold())]
    features = [("w:" + word, WORD_WEIGHT) for word in words]
    for word in words:
        padded = f" {word} "
        features += [("t:" + padded[i : i + 3], TRIGRAM_WEIGHT) for i in range(len(padded) - 2)]
    return features or [(_EMPTY_FEATURE, WORD_WEIGHT)]


def feature_vector(text: str, dimensions: int) -> tuple[float, ...]:
    """The hashing embedding of one text: `dimensions` floats with an L2 norm of 1."""
    features = _features(text)
    hashes = np.fromiter(
        (_feature_hash(f) for f, _ in features), dtype=np.uint64, count=len(features)
    )
    weights = np.fromiter((w for _, w in features), dtype=np.float64, count=len(features))
    slots = (hashes % np.uint64(dimensions)).astype(np.intp)
    # The top bit picks the sign so that colliding features cancel out on average.
    signs = np.where(hashes >> np.uint64(63), -1.0, 1.0)
    vector = np.bincount(slots, weights=weights * signs, minlength=dimensions)
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:  # every feature cancelled out: fall back to the first slot's direction
        vector[int(slots[0])] = 1.0
        norm = 1.0
    taken = np.flatnonzero(vector)
    if len(taken) * SPARSE_SHARE > dimensions:
        return tuple((vector / norm).tolist())
    # A short text takes few slots: the same floats, without a float object for every zero
    # (a 12-word query at 1536 dimensions hashes in 57 µs instead of 70).
    values = [0.0] * dimensions
    for slot, value in zip(taken.tolist(), (vector[taken] / norm).tolist(), strict=True):
        values[slot] = value
    return tuple(values)


class HashingEmbedder(Embedder):
    """Local lexical embeddings: no key, no network, the same vectors on every machine."""

    def __init__(self, dimensions: int) -> None:
        if dimensions < 1:
            raise ValueError("dimensions must be positive")
        self._dimensions = dimensions

    @property
    def model(self) -> str:
        return HASHING_MODEL

    @property
    def dimensions(self) -> int:
        return self._dimensions

    async def embed(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        if sum(len(text) for text in texts) <= INLINE_CHARS:
            return self._embed_all(texts)
        return await asyncio.to_thread(self._embed_all, list(texts))

    async def aclose(self) -> None:
        """Nothing to release; present so every embedder can be closed the same way."""

    def _embed_all(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        return [feature_vector(text, self._dimensions) for text in texts]
