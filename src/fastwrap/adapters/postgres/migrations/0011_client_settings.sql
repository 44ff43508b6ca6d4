-- A tenant's own settings (SPEC §13), on the client row that every request already looks up
-- (and the lookup cache keeps), so reading them costs no query. Adding a column with a
-- constant default rewrites nothing.
-- allowed_origins: exact browser origins (validated by the domain: scheme://host[:port]).
-- end_user_daily_tokens: each end user's daily token budget; NULL is no budget.
ALTER TABLE clients
    ADD COLUMN allowed_origins       text[] NOT NULL DEFAULT '{}',
    ADD COLUMN end_user_daily_tokens bigint,
    ADD CONSTRAINT clients_allowed_origins_count CHECK (cardinality(allowed_origins) <= 50),
    ADD CONSTRAINT clients_end_user_daily_tokens_range
        CHECK (end_user_daily_tokens IS NULL OR end_user_daily_tokens >= 0);
-- A CORS preflight carries no key: it is answered when any live tenant allows its origin.
CREATE INDEX clients_allowed_origins_idx ON clients USING gin (allowed_origins)
    WHERE deleted_at IS NULL;
