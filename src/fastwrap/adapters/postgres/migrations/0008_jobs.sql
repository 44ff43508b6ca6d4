-- Background jobs (large documents): durable, so a restart loses none. A worker claims a job
-- with FOR UPDATE SKIP LOCKED and holds it by a lease it renews while it works; a job whose
-- lease ran out (its worker was killed) is claimed again by the next worker that looks.
-- `data` holds the uploaded bytes until the job ends.
CREATE TABLE jobs (
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    client_id        uuid        NOT NULL,
    kind             text        NOT NULL,
    status           text        NOT NULL DEFAULT 'queued',
    payload          jsonb       NOT NULL DEFAULT '{}',
    data             bytea,
    progress_done    integer     NOT NULL DEFAULT 0,
    progress_total   integer     NOT NULL DEFAULT 0,
    error            text,
    result           jsonb,
    attempts         integer     NOT NULL DEFAULT 0,
    lease_owner      text,
    lease_expires_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    deleted_at       timestamptz,
    CONSTRAINT jobs_pkey PRIMARY KEY (id),
    CONSTRAINT jobs_client_fkey FOREIGN KEY (client_id) REFERENCES clients (id),
    CONSTRAINT jobs_status_known
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    CONSTRAINT jobs_kind_length CHECK (char_length(kind) BETWEEN 1 AND 64)
);
-- What a worker looks through: the unfinished jobs, oldest first.
CREATE INDEX jobs_unfinished_idx ON jobs (created_at, id)
    WHERE status IN ('queued', 'running') AND deleted_at IS NULL;
