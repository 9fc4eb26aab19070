-- mmgov's own state, in its own schema; created idempotently by mmgov.state.ensure_mmgov_schema.
CREATE SCHEMA IF NOT EXISTS mmgov;

-- Append-only audit trail: who did what, when, with what payload (before/after for changes).
CREATE TABLE IF NOT EXISTS mmgov.audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    event text NOT NULL,
    actor text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS audit_log_event_at ON mmgov.audit_log (event, at);

CREATE OR REPLACE FUNCTION mmgov.audit_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'mmgov.audit_log is append-only (% refused)', TG_OP;
END $$;

DO $$ BEGIN
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON mmgov.audit_log
        FOR EACH ROW EXECUTE FUNCTION mmgov.audit_log_is_append_only();
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON mmgov.audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION mmgov.audit_log_is_append_only();
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
