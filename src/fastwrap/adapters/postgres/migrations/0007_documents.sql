-- Documents (SPEC §15): a text, markdown, HTML or PDF file split into snippets whose entity_id
-- is `document_id#n`. The document row is what `GET /api/documents` lists; its chunks are
-- ordinary rows of `embeddings`, searched like any snippet. Re-uploading a document replaces
-- the row and its chunks in one transaction that starts by locking this row.
CREATE TABLE documents (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    client_id     uuid        NOT NULL,
    entity_type   text        NOT NULL,
    document_id   text        NOT NULL,
    format        text        NOT NULL,
    source        text,
    metadata      jsonb       NOT NULL DEFAULT '{}',
    chunks        integer     NOT NULL,
    characters    integer     NOT NULL,
    chunk_size    integer     NOT NULL,
    chunk_overlap integer     NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    CONSTRAINT documents_pkey PRIMARY KEY (id),
    CONSTRAINT documents_client_fkey FOREIGN KEY (client_id) REFERENCES clients (id),
    CONSTRAINT documents_entity_type_length CHECK (char_length(entity_type) BETWEEN 1 AND 64),
    CONSTRAINT documents_document_id_length CHECK (char_length(document_id) BETWEEN 1 AND 120),
    CONSTRAINT documents_format_known CHECK (format IN ('text', 'markdown', 'html', 'pdf')),
    CONSTRAINT documents_source_length CHECK (source IS NULL OR char_length(source) <= 255),
    CONSTRAINT documents_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    CONSTRAINT documents_counts CHECK (chunks >= 0 AND characters >= 0)
);
CREATE UNIQUE INDEX documents_live_key ON documents (client_id, entity_type, document_id)
    WHERE deleted_at IS NULL;
CREATE INDEX documents_live_order_idx ON documents (client_id, created_at, id)
    WHERE deleted_at IS NULL;
