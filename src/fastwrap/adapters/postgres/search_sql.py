"""The SQL of vector, keyword and hybrid searches, for any table of searchable rows.

A searchable table has `id`, `content`, `content_tsv` (a generated `to_tsvector('simple',
content)`), `embedding vector(D)` and an HNSW index on `embedding` or on
`embedding::halfvec(D)`. The caller gives its columns and its scope (a WHERE condition over
parameters $1..$n: tenant, model, filters); each statement appends its own parameters after
those, so a snippet search and, say, a search of a character's memory items share this code
with their own tables and filters.

Every search is one statement, one round trip. The scope is applied inside each part of a
hybrid search, so neither part can be starved by rows the caller may not see. The HNSW session
settings (iterative scans, `ef_search`) are set once per pooled connection (pool.py).

A table whose rows are wide (a vector in line is a heap page per row) can have its words in a
narrow table of their own (`Terms`): keyword matching and ranking then read that one, and the
wide rows only for the hits returned. Same matches, same ranks, same order.
"""

from __future__ import annotations

from dataclasses import dataclass

# Reciprocal rank fusion's k: a hit at rank r in one list scores 1 / (RRF_K + r) from it.
RRF_K = 60
# Keyword relevance is PostgreSQL's ts_rank, normalised by rank / (rank + 1) (flag 32).
RELEVANCE = "ts_rank(t.content_tsv, keyword.query, 32)"
# The query's words, OR-ed: a search for "refund policy for orders" finds a snippet that has
# any of them, the ones with more of them first. The lexemes come from the same parser and
# configuration as the stored column and are quoted for tsquery (quotes and backslashes
# doubled), so no input can be a tsquery syntax error. A query with no word matches nothing.
KEYWORD_QUERY = """
keyword AS (
    SELECT string_agg(
        '''' || replace(replace(lexeme, '\\', '\\\\'), '''', '''''') || '''', ' | '
    )::tsquery AS query
    FROM unnest(tsvector_to_array(to_tsvector('simple'::regconfig, {text}::text))) AS lexeme
)"""


@dataclass(frozen=True, slots=True)
class VectorIndexShape:
    """Which expression the table's HNSW index is on; searches must order by the same one to
    use it. `half`: the index is on `embedding::halfvec(dim)` (half the size, see migration
    0009); distances returned are always computed at full precision."""

    dim: int
    half: bool
    # A boolean column of rows the index leaves out until a worker clears it (migrations 0017,
    # 0018: bulk loads defer their HNSW inserts); None when the index holds every row in scope.
    pending: str | None = None

    def order_by(self, vector: str) -> str:
        if self.half:
            return f"(t.embedding::halfvec({self.dim})) <=> ({vector}::halfvec({self.dim}))"
        return f"t.embedding <=> {vector}"

    def nearest(self, table: str, columns: str, scope: str, vector: str, limit: str) -> str:
        """A subquery (no alias) of the `limit` rows in `scope` nearest to `vector` that the
        index finds, with `columns` (over alias t) and their exact `distance`. With `pending`,
        the rows not in the index yet are ranked exactly beside them (a probe of an empty
        partial index once the workers have caught up), and the best `limit` of both are kept.
        """

        def part(condition: str, order: str) -> str:
            return f"""
    SELECT {columns}, t.embedding <=> {vector} AS distance
    FROM {table} AS t
    WHERE {scope}{condition}
    ORDER BY {order}
    LIMIT {limit}"""

        if self.pending is None:
            return f"({part('', self.order_by(vector))}\n)"
        indexed = part(f" AND NOT t.{self.pending}", self.order_by(vector))
        waiting = part(f" AND t.{self.pending}", "distance")
        return f"""(
    SELECT * FROM (({indexed}
    ) UNION ALL ({waiting}
    )) AS both_parts
    ORDER BY distance, id
    LIMIT {limit}
)"""


@dataclass(frozen=True, slots=True)
class Terms:
    """A narrow table of the searchable rows' words: `id` (the row's), `content_tsv`, and what
    `scope` names. `scope` is the caller's scope over it (alias `t`, the same parameters): it
    must select exactly the ids the table's own scope does (a filter on a column the narrow
    table lacks can look the row up: `EXISTS (SELECT FROM table AS s WHERE s.id = t.id ...)`)."""

    table: str
    scope: str


@dataclass(frozen=True, slots=True)
class SearchStatements:
    """The three statements for one table, scope and index shape.

    Parameters: the scope's $1..$n, then
    - vector:  query vector, top_k, candidates;
    - keyword: query text, top_k;
    - hybrid:  query vector, query text, top_k, candidates per part.
    Every row has the caller's columns, then `distance` (None in keyword mode), `vector_rank`,
    `keyword_rank` and `score` (None in vector mode, where it is 1 - distance).
    """

    vector: str
    keyword: str
    hybrid: str


def _columns(columns: tuple[str, ...]) -> str:
    return ", ".join(f"t.{column}" for column in columns)


def vector_statement(
    table: str, columns: tuple[str, ...], scope: str, n: int, shape: VectorIndexShape
) -> str:
    vector, top_k, candidates = f"${n + 1}::vector", f"${n + 2}", f"${n + 3}"
    # The index hands over `candidates` rows in (approximately) its order; they are re-ranked
    # by their exact distance. More candidates than top_k is what keeps recall up when the
    # scope is selective: the iterative scan then walks on until that many rows pass it.
    nearest = shape.nearest(table, _columns(columns), scope, vector, candidates)
    return f"""
SELECT {_columns(columns)}, t.distance, NULL::bigint AS vector_rank,
       NULL::bigint AS keyword_rank, NULL::float8 AS score
FROM {nearest} AS t
ORDER BY t.distance, t.id
LIMIT {top_k}
"""


def _keyword_matches(source: str, scope: str, order: str, limit: str) -> str:
    """The rows of `source` (alias t) in `scope` that have a query word, best first."""
    return f"""
    FROM {source} AS t, keyword
    WHERE t.content_tsv @@ keyword.query AND {scope}
    ORDER BY {order}
    LIMIT {limit}"""


def keyword_statement(
    table: str, columns: tuple[str, ...], scope: str, n: int, terms: Terms | None = None
) -> str:
    text, top_k = f"${n + 1}", f"${n + 2}"
    head = f"""
WITH {KEYWORD_QUERY.format(text=text).strip()}"""
    if terms is None:
        return f"""{head}
SELECT {_columns(columns)}, NULL::float8 AS distance, NULL::bigint AS vector_rank,
       NULL::bigint AS keyword_rank, {RELEVANCE} AS score
{_keyword_matches(table, scope, "score DESC, t.id", top_k).strip()}
"""
    # Ranked on the narrow table; the wide rows read for the top_k only (scope checked again:
    # a hit is never a row the caller may not see, whatever the narrow table holds).
    matches = _keyword_matches(terms.table, terms.scope, "score DESC, t.id", top_k)
    return f"""{head},
matched AS (
    SELECT t.id, {RELEVANCE} AS score{matches}
)
SELECT {_columns(columns)}, NULL::float8 AS distance, NULL::bigint AS vector_rank,
       NULL::bigint AS keyword_rank, matched.score
FROM matched JOIN {table} AS t ON t.id = matched.id
WHERE {scope}
ORDER BY matched.score DESC, t.id
"""


def hybrid_statement(
    table: str,
    columns: tuple[str, ...],
    scope: str,
    n: int,
    shape: VectorIndexShape,
    terms: Terms | None = None,
) -> str:
    vector, text = f"${n + 1}::vector", f"${n + 2}"
    top_k, candidates = f"${n + 3}", f"${n + 4}"
    words, words_scope = (table, scope) if terms is None else (terms.table, terms.scope)
    # The part's best `candidates` first (a top-N sort), then ranked: the same ranks as
    # numbering every match, without sorting and numbering them all (a common word in a large
    # tenant matches thousands).
    matches = _keyword_matches(words, words_scope, "relevance DESC, t.id", candidates)
    # Normalised so that a hit ranked first by both parts scores 1.0.
    best = 2.0 / (RRF_K + 1)
    return f"""
WITH {KEYWORD_QUERY.format(text=text).strip()},
vector_part AS (
    SELECT id, row_number() OVER (ORDER BY distance, id) AS vector_rank
    FROM {shape.nearest(table, "t.id", scope, vector, candidates)} AS candidate
),
keyword_part AS (
    SELECT id, row_number() OVER (ORDER BY relevance DESC, id) AS keyword_rank
    FROM (
        SELECT t.id, {RELEVANCE} AS relevance{matches}
    ) AS matched
),
fused AS (
    SELECT id, vector_rank, keyword_rank,
           coalesce(1.0 / ({RRF_K} + vector_rank), 0)
           + coalesce(1.0 / ({RRF_K} + keyword_rank), 0) AS fused
    FROM vector_part FULL JOIN keyword_part USING (id)
    ORDER BY fused DESC, id
    LIMIT {top_k}
)
SELECT {_columns(columns)}, t.embedding <=> {vector} AS distance, fused.vector_rank,
       fused.keyword_rank, (fused.fused / {best!r})::float8 AS score
FROM fused JOIN {table} AS t ON t.id = fused.id
{"" if terms is None else f"WHERE {scope}"}
ORDER BY fused.fused DESC, t.id
"""


def search_statements(
    table: str,
    columns: tuple[str, ...],
    scope: str,
    n: int,
    shape: VectorIndexShape,
    terms: Terms | None = None,
) -> SearchStatements:
    """The statements for `table`, whose `scope` uses parameters $1..$n; with `terms`, keyword
    matching and ranking read that narrow table instead of `table`'s own content_tsv."""
    return SearchStatements(
        vector=vector_statement(table, columns, scope, n, shape),
        keyword=keyword_statement(table, columns, scope, n, terms),
        hybrid=hybrid_statement(table, columns, scope, n, shape, terms),
    )
