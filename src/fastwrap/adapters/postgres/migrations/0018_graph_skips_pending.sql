-- fastwrap:no-transaction
-- fastwrap:max-dim 4000
-- The HNSW index without the rows still waiting for their insert (0017): a pending row enters
-- the graph when a worker clears its flag, and only then (its new version is the one indexed).
-- The index's options stay 0016's. The predicate of an index cannot be altered, so a second
-- index is built concurrently beside the first, which then gives way and its name: reads and
-- writes go on throughout. A crash mid-way leaves the new index invalid (the first statement
-- drops it on the next run) or already built with the old one gone (it is built again: slower,
-- never wrong; searches scan exactly until then).
DROP INDEX CONCURRENTLY IF EXISTS embeddings_embedding_hnsw_next;
CREATE INDEX CONCURRENTLY embeddings_embedding_hnsw_next ON embeddings
    USING hnsw ((embedding::halfvec({{EMBEDDING_DIM}})) halfvec_cosine_ops)
    WITH (m = 8, ef_construction = 128)
    WHERE deleted_at IS NULL AND NOT graph_pending;
DROP INDEX CONCURRENTLY IF EXISTS embeddings_embedding_hnsw_half;
ALTER INDEX embeddings_embedding_hnsw_next RENAME TO embeddings_embedding_hnsw_half;
