-- Long-term memory (SPEC §15): a character's `memory` settings, and one row per stored turn.
--
-- `memory_items` is also the outbox: a turn's row is written, unembedded, before the turn is
-- acknowledged (so a restart loses no acknowledged turn's memory); the memory worker then
-- embeds it (`embedding` set) off the response path. A row is recalled only once embedded.
-- `lease_until` keeps two workers from embedding the same rows at once; a worker that dies
-- leaves its lease to run out, and the next one takes the rows again. `attempts` counts the
-- embedding tries, so a row the embedder always refuses is given up on (it stays listed).
-- No foreign keys: rows are written on the chat path, which should not lock the client's or
-- the character's row. Erasure (DELETE /api/end-users/{id}) and retention delete rows for good.
ALTER TABLE characters ADD COLUMN memory jsonb;

CREATE TABLE memory_items (
    id              uuid        NOT NULL,
    client_id       uuid        NOT NULL,
    character_id    uuid        NOT NULL,
    end_user        text,
    conversation_id text        NOT NULL,
    seq             integer     NOT NULL,
    content         text        NOT NULL,
    embedding       vector({{EMBEDDING_DIM}}),
    -- The vector's signs (1 bit a dimension, inline in the row where the vector is TOASTed):
    -- recall ranks a scope's items by Hamming distance first, then re-ranks the nearest.
    embedding_bits  bit({{EMBEDDING_DIM}})
        GENERATED ALWAYS AS (binary_quantize(embedding)::bit({{EMBEDDING_DIM}})) STORED,
    model           text,
    attempts        integer     NOT NULL DEFAULT 0,
    lease_until     timestamptz,
    created_at      timestamptz NOT NULL,
    CONSTRAINT memory_items_pkey PRIMARY KEY (id),
    CONSTRAINT memory_items_end_user_length
        CHECK (end_user IS NULL OR char_length(end_user) BETWEEN 1 AND 128),
    CONSTRAINT memory_items_embedded_with_model CHECK ((embedding IS NULL) = (model IS NULL))
);
-- Recall reads one character's items of one end user (or of none) by this index: the scope's
-- rows by Hamming distance of their bits, the nearest re-ranked by exact cosine distance.
CREATE INDEX memory_items_scope_idx ON memory_items (client_id, character_id, end_user);
-- An end user's items across characters, oldest first: their listing and their erasure.
CREATE INDEX memory_items_end_user_idx ON memory_items (client_id, end_user, created_at, id);
-- The worker's queue: rows still to embed, oldest first.
CREATE INDEX memory_items_pending_idx ON memory_items (created_at) WHERE embedding IS NULL;
-- Retention deletes by age.
CREATE INDEX memory_items_time_brin ON memory_items USING brin (created_at);
