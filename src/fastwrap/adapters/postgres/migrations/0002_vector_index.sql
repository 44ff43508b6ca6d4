-- Approximate nearest-neighbour search by cosine distance over live rows (pgvector HNSW).
-- Searches enable iterative index scans, so tenant, type and metadata filters never starve the
-- result. pgvector's HNSW takes at most 2,000 dimensions for `vector`; with a larger
-- EMBEDDING_DIM there is no index and every search is an exact scan of the tenant's rows.
DO $$
BEGIN
    IF {{EMBEDDING_DIM}} <= 2000 THEN
        CREATE INDEX embeddings_embedding_hnsw ON embeddings
            USING hnsw (embedding vector_cosine_ops) WHERE deleted_at IS NULL;
    END IF;
END
$$;

-- Keep vectors in the row instead of the TOAST table (pgvector's default for a 6 KB vector).
-- Out of line, the heap looks tiny, so the planner prices an exact scan of 100k vectors like
-- one of 12 MB and prefers it to the index (measured: 430 ms instead of ~2 ms). In line, the
-- costs are true. A vector too big for a page is still moved out of line, as a last resort.
ALTER TABLE embeddings ALTER COLUMN embedding SET STORAGE MAIN;
