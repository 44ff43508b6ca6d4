-- Keyword search over a narrow copy of the live snippets' words (SPEC §15, hybrid search).
--
-- A snippet row holds its vector in line (0002: 6 KB at 1536 dimensions), so a heap page holds
-- one row, and ranking the rows an OR of words matches read one page per match: at 100k rows,
-- ~1,800 pages for three words, most of a hybrid search's time. This table holds only what a
-- keyword search filters and ranks on (~30 rows a page); the snippet's other columns are read
-- for the hits it returns. Its rows are kept by triggers, so no writer can forget them: one per
-- live snippet (a soft delete removes it, a hard delete cascades), its words the snippet's
-- generated content_tsv (0006). A metadata filter is still checked on the snippet row.
--
-- The backfill runs after the triggers exist, in this file's transaction: writes to embeddings
-- wait for it (seconds per 100k rows), and none can slip between the copy and the triggers.
CREATE TABLE embedding_terms (
    id          uuid     NOT NULL,
    client_id   uuid     NOT NULL,
    model       text     NOT NULL,
    entity_type text     NOT NULL,
    content_tsv tsvector NOT NULL,
    CONSTRAINT embedding_terms_pkey PRIMARY KEY (id),
    CONSTRAINT embedding_terms_snippet_fkey FOREIGN KEY (id)
        REFERENCES embeddings (id) ON DELETE CASCADE
);

CREATE FUNCTION embedding_terms_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted_at IS NULL THEN
        INSERT INTO embedding_terms (id, client_id, model, entity_type, content_tsv)
        VALUES (NEW.id, NEW.client_id, NEW.model, NEW.entity_type, NEW.content_tsv)
        ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, model = excluded.model,
            entity_type = excluded.entity_type, content_tsv = excluded.content_tsv;
    ELSE
        DELETE FROM embedding_terms WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER embedding_terms_insert AFTER INSERT ON embeddings
    FOR EACH ROW EXECUTE FUNCTION embedding_terms_sync();
-- Only when something the copy holds changed (an upsert that changes metadata alone, or the
-- vector, leaves it be).
CREATE TRIGGER embedding_terms_update AFTER UPDATE ON embeddings
    FOR EACH ROW
    WHEN (OLD.content IS DISTINCT FROM NEW.content OR OLD.model IS DISTINCT FROM NEW.model
          OR OLD.entity_type IS DISTINCT FROM NEW.entity_type
          OR OLD.client_id IS DISTINCT FROM NEW.client_id
          OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
    EXECUTE FUNCTION embedding_terms_sync();

INSERT INTO embedding_terms (id, client_id, model, entity_type, content_tsv)
SELECT id, client_id, model, entity_type, content_tsv FROM embeddings WHERE deleted_at IS NULL;

-- Built on the filled table (faster than growing it row by row); nobody reads it before commit.
-- Without fastupdate: a new row's words go straight into the index instead of a pending list
-- that every search scans whole until a vacuum merges it (up to 4 MB; measured: 16 ms a search
-- at 10k rows just loaded, against 1 ms). A snippet write pays an HNSW insert of milliseconds;
-- a dozen GIN entries more is noise beside it.
CREATE INDEX embedding_terms_tsv_idx ON embedding_terms USING gin (content_tsv)
    WITH (fastupdate = off);
-- Statistics now, not at autovacuum's next pass: without them the planner takes the new table
-- for empty and scans it whole instead of using the index (measured: 36 ms instead of 2).
ANALYZE embedding_terms;
-- Keyword searches no longer read the snippets' own word index; writes stop paying for it.
DROP INDEX embeddings_content_tsv_idx;
