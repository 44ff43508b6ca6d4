-- The usage ledger (SPEC §13): one row per model call, ok or failed. `id` is chosen by the
-- process that made the call, so writing a row twice (a batch retried after a lost answer)
-- stores it once. No foreign keys: a row is history, and an insert should not lock the
-- client's row on the chat path. `estimated`: the provider reported no counts and they were
-- estimated from the text. `deleted_at` as on every table; reports ignore deleted rows.
CREATE TABLE usage_records (
    id            uuid        NOT NULL,
    client_id     uuid        NOT NULL,
    key_id        uuid,
    character_id  uuid,
    end_user      text,
    model         text        NOT NULL,
    input_tokens  integer     NOT NULL,
    output_tokens integer     NOT NULL,
    estimated     boolean     NOT NULL DEFAULT false,
    latency_ms    integer     NOT NULL,
    outcome       text        NOT NULL,
    created_at    timestamptz NOT NULL,
    deleted_at    timestamptz,
    CONSTRAINT usage_records_pkey PRIMARY KEY (id),
    CONSTRAINT usage_records_outcome_known
        CHECK (outcome IN ('ok', 'provider_error', 'timeout', 'cancelled')),
    CONSTRAINT usage_records_tokens_counted CHECK (input_tokens >= 0 AND output_tokens >= 0),
    CONSTRAINT usage_records_end_user_length
        CHECK (end_user IS NULL OR char_length(end_user) BETWEEN 1 AND 128)
);
-- A tenant's report reads its rows in a time range; an admin's, every tenant's.
CREATE INDEX usage_records_client_time_idx ON usage_records (client_id, created_at);
CREATE INDEX usage_records_time_brin ON usage_records USING brin (created_at);
