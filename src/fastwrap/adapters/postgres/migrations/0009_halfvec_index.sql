-- fastwrap:no-transaction
-- fastwrap:max-dim 4000
-- A lighter HNSW index (SPEC §15): on the vectors cast to half precision, an expression index
-- (pgvector >= 0.7), the stored column unchanged. Searches order by the same expression to
-- use it and compute the returned distance at full precision. Measured at 1536 dimensions
-- (docs/benchmarks.md): half the size of the full-precision index, faster to insert into and
-- to search, recall unchanged. halfvec indexes take up to 4,000 dimensions, so it also gives
-- EMBEDDING_DIM 2,001-4,000 an index; above 4,000 the runner skips this file (max-dim) and
-- searches stay exact scans of the tenant's rows.
--
-- Built CONCURRENTLY, so a live table keeps taking writes while it builds: the runner runs
-- each statement of this file on its own, outside a transaction (no-transaction). A build
-- cut short leaves an invalid index behind; the first statement clears it on the next run.
DROP INDEX CONCURRENTLY IF EXISTS embeddings_embedding_hnsw_half;
CREATE INDEX CONCURRENTLY embeddings_embedding_hnsw_half ON embeddings
    USING hnsw ((embedding::halfvec({{EMBEDDING_DIM}})) halfvec_cosine_ops)
    WHERE deleted_at IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS embeddings_embedding_hnsw;
