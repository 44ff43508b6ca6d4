-- Every change to a client or a character row is announced on the `fastwrap_changes` channel,
-- with the id of the tenant it concerns ('*' for a TRUNCATE), whoever makes it: an API replica,
-- the CLI or plain SQL. Each FastWrap process listens and drops what it has cached about that
-- tenant (its key lookup, its characters), so a revoked key or a changed prompt is seen by
-- every replica as the change commits. PostgreSQL sends notices on commit only, and folds
-- identical ones in one transaction (deleting a tenant's 10,000 characters sends one).
CREATE FUNCTION fastwrap_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('fastwrap_changes', '*');
    ELSIF TG_TABLE_NAME = 'clients' THEN
        PERFORM pg_notify('fastwrap_changes', OLD.id::text);
    ELSE
        PERFORM pg_notify('fastwrap_changes', OLD.client_id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER clients_changed AFTER UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION fastwrap_announce_change();
CREATE TRIGGER clients_truncated AFTER TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION fastwrap_announce_change();
CREATE TRIGGER characters_changed AFTER UPDATE OR DELETE ON characters
    FOR EACH ROW EXECUTE FUNCTION fastwrap_announce_change();
CREATE TRIGGER characters_truncated AFTER TRUNCATE ON characters
    FOR EACH STATEMENT EXECUTE FUNCTION fastwrap_announce_change();
