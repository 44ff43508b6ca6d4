"""Keyword relevance and rank fusion for the in-memory indexes, shaped like PostgreSQL's.

Words are what PostgreSQL's 'simple' configuration keeps of a text, near enough: runs of word
characters, lower-cased, none dropped. A row matches a keyword query when it shares a word with
it; relevance grows with the query words it holds, normalised into [0, 1) as `ts_rank(..., 32)`
is. Hybrid results fuse the two rankings by reciprocal rank (k = 60), normalised so that first
in both lists scores 1.0, as search_sql.py does.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

RRF_K = 60
HYBRID_DEPTH = 40
TERM_WEIGHT = 0.1  # ts_rank's weight of an unlabelled lexeme
_WORD = re.compile(r"\w+")


def words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold()))


def relevance(query_words: set[str], content: str) -> float:
    """0 when no query word is in `content`; else in (0, 1), more with more occurrences."""
    counts = Counter(_WORD.findall(content.casefold()))
    rank = TERM_WEIGHT * sum(counts[word] for word in query_words)
    return rank / (rank + 1.0)


@dataclass(frozen=True, slots=True)
class Fused[K]:
    key: K
    score: float
    vector_rank: int | None
    keyword_rank: int | None


def fuse[K](vector_order: Sequence[K], keyword_order: Sequence[K], top_k: int) -> list[Fused[K]]:
    """Reciprocal rank fusion of two best-first lists of keys (ties by key order)."""
    vector_ranks = {key: rank for rank, key in enumerate(vector_order[:HYBRID_DEPTH], start=1)}
    keyword_ranks = {key: rank for rank, key in enumerate(keyword_order[:HYBRID_DEPTH], start=1)}
    best = 2.0 / (RRF_K + 1)
    fused = []
    for key in {**vector_ranks, **keyword_ranks}:
        v, k = vector_ranks.get(key), keyword_ranks.get(key)
        total = (1.0 / (RRF_K + v) if v else 0.0) + (1.0 / (RRF_K + k) if k else 0.0)
        fused.append(Fused(key, total / best, v, k))
    fused.sort(key=lambda item: (-item.score, str(item.key)))
    return fused[:top_k]
