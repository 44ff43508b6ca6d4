-- Token budgets (SPEC §13): a client's per UTC day and month, set by admins; a character's
-- per end user per UTC day. NULL: no budget. On the clients row, so the key lookup that
-- authenticates a turn already carries them (and the change notices drop cached copies).
ALTER TABLE clients
    ADD COLUMN token_budget_daily   bigint,
    ADD COLUMN token_budget_monthly bigint,
    ADD CONSTRAINT clients_token_budget_daily_positive
        CHECK (token_budget_daily IS NULL OR token_budget_daily > 0),
    ADD CONSTRAINT clients_token_budget_monthly_positive
        CHECK (token_budget_monthly IS NULL OR token_budget_monthly > 0);

-- A character's model (from the operator's MODELS allow-list; NULL: the MODEL setting), its
-- sampling temperature and reply length, and its end users' daily token budget.
ALTER TABLE characters
    ADD COLUMN model                 text,
    ADD COLUMN temperature           double precision,
    ADD COLUMN max_output_tokens     integer,
    ADD COLUMN end_user_daily_tokens bigint,
    ADD CONSTRAINT characters_model_length
        CHECK (model IS NULL OR char_length(model) BETWEEN 1 AND 200),
    ADD CONSTRAINT characters_temperature_range
        CHECK (temperature IS NULL OR temperature BETWEEN 0 AND 2),
    ADD CONSTRAINT characters_max_output_tokens_positive
        CHECK (max_output_tokens IS NULL OR max_output_tokens > 0),
    ADD CONSTRAINT characters_end_user_daily_tokens_positive
        CHECK (end_user_daily_tokens IS NULL OR end_user_daily_tokens > 0);
