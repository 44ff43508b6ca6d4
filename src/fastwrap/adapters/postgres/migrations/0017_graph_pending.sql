-- Bulk loads leave the HNSW insert to a background worker (SPEC §15, bulk import). Inserting a
-- row into the graph costs milliseconds (docs/benchmarks.md: 250-450 rows/s on one backend at
-- 1536 dimensions), most of a bulk load's time, and an all-or-nothing load is one transaction
-- on one backend. So an import or a document publishes its rows with graph_pending set: they
-- are live and searchable at once, by an exact scan of the pending rows that every vector
-- search adds to its index scan (search_sql.py), and the workers then put them into the graph
-- a batch at a time, on several backends, clearing the flag (0018 leaves pending rows out of
-- the index). Every other write stores its rows with the flag clear and pays its own insert.
--
-- Adding a column with a constant default rewrites nothing; the partial index holds only the
-- pending rows, so it is empty (and a search's probe of it costs next to nothing) once the
-- workers have caught up.
ALTER TABLE embeddings ADD COLUMN graph_pending boolean NOT NULL DEFAULT false;
CREATE INDEX embeddings_graph_pending_idx ON embeddings (client_id, model)
    WHERE deleted_at IS NULL AND graph_pending;
