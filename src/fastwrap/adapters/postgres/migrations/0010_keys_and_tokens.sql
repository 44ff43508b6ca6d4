-- Named, scoped API keys and end-user tokens (SPEC §13). Both are stored only as the SHA-256
-- digest of the secret, unique over every row (a digest is never reused), whose index serves
-- authentication. A revoked key, like a deleted tenant's keys and tokens, is soft-deleted.
-- The primary key of a client stays on clients.key_digest.
CREATE TABLE api_keys (
    id           uuid        NOT NULL,
    client_id    uuid        NOT NULL,
    name         text        NOT NULL,
    prefix       text        NOT NULL,
    digest       text        NOT NULL,
    scopes       text[]      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    deleted_at   timestamptz,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_client_fkey FOREIGN KEY (client_id) REFERENCES clients (id),
    CONSTRAINT api_keys_digest_key UNIQUE (digest),
    CONSTRAINT api_keys_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT api_keys_prefix_length CHECK (char_length(prefix) BETWEEN 1 AND 16),
    CONSTRAINT api_keys_scopes_known CHECK (
        cardinality(scopes) >= 1 AND scopes <@ ARRAY['chat', 'read', 'write', 'account']
    )
);
CREATE INDEX api_keys_live_client_idx ON api_keys (client_id, created_at, id)
    WHERE deleted_at IS NULL;

CREATE TABLE end_user_tokens (
    id              uuid        NOT NULL,
    client_id       uuid        NOT NULL,
    digest          text        NOT NULL,
    character_id    uuid        NOT NULL,
    end_user        text        NOT NULL,
    conversation_id text,
    key_id          uuid,
    issuer_digest   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    deleted_at      timestamptz,
    CONSTRAINT end_user_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT end_user_tokens_client_fkey FOREIGN KEY (client_id) REFERENCES clients (id),
    CONSTRAINT end_user_tokens_character_fkey FOREIGN KEY (character_id)
        REFERENCES characters (id),
    CONSTRAINT end_user_tokens_key_fkey FOREIGN KEY (key_id) REFERENCES api_keys (id),
    CONSTRAINT end_user_tokens_digest_key UNIQUE (digest),
    -- Issued by a named key (key_id), or by the primary key whose digest it then remembers.
    CONSTRAINT end_user_tokens_issuer CHECK ((key_id IS NULL) <> (issuer_digest IS NULL)),
    CONSTRAINT end_user_tokens_end_user_length CHECK (char_length(end_user) BETWEEN 1 AND 128),
    CONSTRAINT end_user_tokens_conversation_length
        CHECK (conversation_id IS NULL OR char_length(conversation_id) BETWEEN 1 AND 128)
);

-- A revoked key (and what a token lookup joins to it) must leave every replica's cache at
-- once: announce it like a client change. `last_used_at` is written about once a minute and
-- revokes nothing, so it announces nothing (UPDATE OF names the columns that do).
CREATE TRIGGER api_keys_changed AFTER UPDATE OF deleted_at, scopes, expires_at, digest
    OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION fastwrap_announce_change();
CREATE TRIGGER api_keys_truncated AFTER TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION fastwrap_announce_change();
CREATE TRIGGER end_user_tokens_changed AFTER UPDATE OR DELETE ON end_user_tokens
    FOR EACH ROW EXECUTE FUNCTION fastwrap_announce_change();
CREATE TRIGGER end_user_tokens_truncated AFTER TRUNCATE ON end_user_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION fastwrap_announce_change();
