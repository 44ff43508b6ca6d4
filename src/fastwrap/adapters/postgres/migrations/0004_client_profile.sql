-- The original FastWrap's optional client fields, set by admins (SPEC §5). Nullable columns
-- without a default: adding them rewrites nothing. The bounds repeat the domain's checks, as a
-- last line for writes made in plain SQL.
-- Emails need no change here: they are now stored as given (the domain lower-cases only the
-- part after the @), and clients_email_live_key is already on lower(email), so uniqueness and
-- look-ups stay case-insensitive; rows stored fully lower-cased before stay as they are.
ALTER TABLE clients
    ADD COLUMN subscription text,
    ADD COLUMN store_name   text,
    ADD COLUMN phone        text,
    ADD CONSTRAINT clients_subscription_length
        CHECK (subscription IS NULL OR char_length(subscription) BETWEEN 1 AND 64),
    ADD CONSTRAINT clients_store_name_length
        CHECK (store_name IS NULL OR char_length(store_name) BETWEEN 1 AND 200),
    ADD CONSTRAINT clients_phone_length
        CHECK (phone IS NULL OR char_length(phone) BETWEEN 1 AND 32);
