-- Clients, characters and snippets (SPEC §7). Every table is soft-deleted through deleted_at;
-- uniqueness that only concerns live rows is a partial unique index.
-- {{EMBEDDING_DIM}} is replaced by the migration runner with the validated EMBEDDING_DIM integer.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE clients (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    email         text        NOT NULL,
    password_hash text        NOT NULL,
    key_digest    text        NOT NULL,
    is_admin      boolean     NOT NULL DEFAULT false,
    is_active     boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    CONSTRAINT clients_pkey PRIMARY KEY (id),
    -- Unique over every row: a digest is never reused, even after its client is deleted.
    -- Its index also serves authentication, which looks clients up by digest.
    CONSTRAINT clients_key_digest_key UNIQUE (key_digest),
    CONSTRAINT clients_email_length CHECK (char_length(email) BETWEEN 3 AND 254)
);
CREATE UNIQUE INDEX clients_email_live_key ON clients (lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX clients_live_order_idx ON clients (created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE characters (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    client_id  uuid        NOT NULL,
    name       text,
    agent_role text        NOT NULL,
    ttl        integer,
    knowledge  jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT characters_pkey PRIMARY KEY (id),
    CONSTRAINT characters_client_fkey FOREIGN KEY (client_id) REFERENCES clients (id),
    CONSTRAINT characters_name_length CHECK (name IS NULL OR char_length(name) <= 100),
    CONSTRAINT characters_agent_role_length CHECK (char_length(agent_role) BETWEEN 1 AND 20000),
    CONSTRAINT characters_ttl_range CHECK (ttl IS NULL OR ttl BETWEEN 1 AND 604800)
);
CREATE INDEX characters_live_order_idx ON characters (client_id, created_at, id)
    WHERE deleted_at IS NULL;

CREATE TABLE embeddings (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    client_id   uuid        NOT NULL,
    entity_type text        NOT NULL,
    entity_id   text        NOT NULL,
    content     text        NOT NULL,
    metadata    jsonb       NOT NULL DEFAULT '{}',
    embedding   vector({{EMBEDDING_DIM}}) NOT NULL,
    model       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    CONSTRAINT embeddings_pkey PRIMARY KEY (id),
    CONSTRAINT embeddings_client_fkey FOREIGN KEY (client_id) REFERENCES clients (id),
    CONSTRAINT embeddings_entity_type_length CHECK (char_length(entity_type) BETWEEN 1 AND 64),
    CONSTRAINT embeddings_entity_id_length CHECK (char_length(entity_id) BETWEEN 1 AND 128),
    CONSTRAINT embeddings_content_length CHECK (char_length(content) BETWEEN 1 AND 32000),
    CONSTRAINT embeddings_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);
-- The upsert key, among live rows only (ON CONFLICT names these columns and this predicate).
CREATE UNIQUE INDEX embeddings_entity_live_key ON embeddings (client_id, entity_type, entity_id)
    WHERE deleted_at IS NULL;
-- Lets the planner find a small tenant's rows directly, and serves the exact-scan fallback.
CREATE INDEX embeddings_tenant_model_idx ON embeddings (client_id, model) WHERE deleted_at IS NULL;
