-- Keyword search beside the vectors (SPEC §15, hybrid search): a full-text vector of every
-- snippet's content, kept by PostgreSQL itself (a generated column: no writer can forget it),
-- with a GIN index over live rows.
--
-- The 'simple' configuration lower-cases words and keeps them all: no stemming, no stop words.
-- A tenant's snippets may be in any language (or several), and 'english' would stem French or
-- German words into nonsense and drop English stop words that are words elsewhere ("die",
-- "war"); 'simple' treats every language the same way, and exact terms (product codes, names,
-- error numbers) are what a keyword search is for, the vectors already match by meaning.
-- Adding the column rewrites the table once, under an exclusive lock.
ALTER TABLE embeddings ADD COLUMN content_tsv tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content)) STORED;
CREATE INDEX embeddings_content_tsv_idx ON embeddings USING gin (content_tsv)
    WHERE deleted_at IS NULL;
