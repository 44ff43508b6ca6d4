-- fastwrap:no-transaction
-- fastwrap:max-dim 4000
-- The HNSW graph's shape (SPEC §15): m = 8 links a node (pgvector's default is 16) and
-- ef_construction = 128 candidates weighed while inserting (the default is 64). Most of an
-- insert's time goes to repairing its new neighbours' link lists, work that grows with m
-- squared; the wider search while inserting keeps the graph as good. Measured at 100k rows of
-- 1536 dimensions (docs/benchmarks.md, session 14): inserts 1.5-2.0x faster, recall@10 within
-- build-to-build noise (0.982-0.991 against 0.980-0.995), search p50 lower, the same size.
--
-- REINDEX CONCURRENTLY rebuilds the index under the new options while the table keeps taking
-- reads and writes (a build at 100k rows takes about half a minute). A crash mid-way leaves an
-- invalid copy behind, named ..._ccnew or ..._ccold: the first two statements drop it on the
-- next run, which then rebuilds from the start.
DROP INDEX CONCURRENTLY IF EXISTS embeddings_embedding_hnsw_half_ccnew;
DROP INDEX CONCURRENTLY IF EXISTS embeddings_embedding_hnsw_half_ccold;
ALTER INDEX embeddings_embedding_hnsw_half SET (m = 8, ef_construction = 128);
REINDEX INDEX CONCURRENTLY embeddings_embedding_hnsw_half;
