-- Chain of custody (mmgov.custody): the signed retention attestations, one row per version.
-- Version 1 is written when a purge run reports (dry run, completed, rejected); each restore of the
-- run appends a version with the restored counts. body holds the exact signed bytes of the JSON
-- document (the file under <export root>/retention-attestations/ is a copy); rows are never changed.
CREATE TABLE IF NOT EXISTS mmgov.retention_attestations (
    run_id varchar(26) NOT NULL,
    version integer NOT NULL,
    reason text NOT NULL CHECK (reason IN ('report', 'restore')),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    body bytea NOT NULL,
    sha256 text NOT NULL,
    signature bytea,
    key_id text,
    location text NOT NULL,
    PRIMARY KEY (run_id, version)
);
CREATE INDEX IF NOT EXISTS retention_attestations_created_at ON mmgov.retention_attestations (created_at);

CREATE OR REPLACE FUNCTION mmgov.retention_attestations_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'mmgov.retention_attestations is append-only (% refused)', TG_OP;
END $$;

DO $$ BEGIN
    CREATE TRIGGER retention_attestations_append_only BEFORE UPDATE OR DELETE ON mmgov.retention_attestations
        FOR EACH ROW EXECUTE FUNCTION mmgov.retention_attestations_are_append_only();
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
