-- mmgov retention state (schema mmgov); applied idempotently by mmgov.state.ensure_mmgov_schema.
-- Mattermost's own tables are never altered: policies live in Mattermost's retentionpolicies* tables.

-- Legal holds: content of a user, channel or team (optionally within [start_ms, end_ms) on
-- posts.createat) that retention never soft- or hard-deletes while the hold is active.
CREATE TABLE IF NOT EXISTS mmgov.legal_holds (
    id varchar(26) PRIMARY KEY,
    name varchar(128) NOT NULL,
    scope text NOT NULL CHECK (scope IN ('user', 'channel', 'team')),
    target_id varchar(26) NOT NULL,
    start_ms bigint,
    end_ms bigint,
    reason text NOT NULL DEFAULT '',
    created_at bigint NOT NULL,
    created_by text NOT NULL,
    released_at bigint,
    released_by text,
    CHECK (start_ms IS NULL OR end_ms IS NULL OR start_ms < end_ms)
);
CREATE INDEX IF NOT EXISTS legal_holds_target ON mmgov.legal_holds (scope, target_id);

-- One row per purge (soft delete) or removal (physical) run: plan, approval, progress, totals.
CREATE TABLE IF NOT EXISTS mmgov.purge_runs (
    id varchar(26) PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('purge', 'removal')),
    dag_run_id text,
    status text NOT NULL,
    dry_run boolean NOT NULL DEFAULT false,
    created_at bigint NOT NULL,
    now_ms bigint NOT NULL,
    file_cutoff_ms bigint,
    fingerprint text NOT NULL,
    plan_hash text NOT NULL,
    plan_doc jsonb NOT NULL,
    export_watermark_ms bigint,
    export_guard text NOT NULL DEFAULT 'off',
    approval_mode text NOT NULL,
    needs_approval boolean NOT NULL DEFAULT true,
    approval_reasons jsonb NOT NULL DEFAULT '[]'::jsonb,
    approval text,
    approved_by text,
    approved_at bigint,
    summary jsonb NOT NULL DEFAULT '{}'::jsonb,
    posts_planned bigint NOT NULL DEFAULT 0,
    files_planned bigint NOT NULL DEFAULT 0,
    cursor_phase text NOT NULL DEFAULT 'posts',
    cursor_at bigint NOT NULL DEFAULT -1,
    cursor_id varchar(26) NOT NULL DEFAULT '',
    messages_deleted bigint NOT NULL DEFAULT 0,
    files_deleted bigint NOT NULL DEFAULT 0,
    history_rows bigint NOT NULL DEFAULT 0,
    batches integer NOT NULL DEFAULT 0,
    started_at bigint,
    finished_at bigint,
    work_ms bigint NOT NULL DEFAULT 0,
    sleep_ms bigint NOT NULL DEFAULT 0,
    messages_restored bigint NOT NULL DEFAULT 0,
    files_restored bigint NOT NULL DEFAULT 0
);
ALTER TABLE mmgov.purge_runs ADD COLUMN IF NOT EXISTS cursor_at bigint NOT NULL DEFAULT -1;
CREATE UNIQUE INDEX IF NOT EXISTS purge_runs_dag_run ON mmgov.purge_runs (kind, dag_run_id)
    WHERE dag_run_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS purge_runs_kind_created ON mmgov.purge_runs (kind, created_at);

-- The run's plan and preview, per channel: which policy decides, the cutoff, and the counts.
CREATE TABLE IF NOT EXISTS mmgov.purge_channels (
    run_id varchar(26) NOT NULL REFERENCES mmgov.purge_runs (id) ON DELETE CASCADE,
    channelid varchar(26) NOT NULL,
    teamid varchar(26) NOT NULL DEFAULT '',
    channel_type text NOT NULL DEFAULT '',
    policy_id varchar(26),
    source text NOT NULL CHECK (source IN ('channel', 'team', 'global', 'none')),
    post_cutoff_ms bigint,
    keep_forever boolean NOT NULL DEFAULT false,
    posts_to_delete bigint NOT NULL DEFAULT 0,
    files_to_delete bigint NOT NULL DEFAULT 0,
    spared_pinned bigint NOT NULL DEFAULT 0,
    spared_held bigint NOT NULL DEFAULT 0,
    spared_unexported bigint NOT NULL DEFAULT 0,
    files_spared bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, channelid)
);

-- What the approved run may delete (kind 'p' post, 'f' file), walked by (createat, id) (keyset: the
-- order rows were written in, so a batch touches few heap and index pages); dropped at the end of
-- the run. Each row is re-checked when deleted (alive, not held, not pinned, exported).
DO $$ BEGIN
    -- an earlier layout (keyed by id only): the table is a run's transient working set, recreate it
    IF EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = 'mmgov' AND table_name = 'purge_candidates')
       AND NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'mmgov'
                       AND table_name = 'purge_candidates' AND column_name = 'createat') THEN
        DROP TABLE mmgov.purge_candidates;
    END IF;
END $$;
CREATE TABLE IF NOT EXISTS mmgov.purge_candidates (
    run_id varchar(26) NOT NULL,
    kind "char" NOT NULL,
    createat bigint NOT NULL,
    id varchar(26) NOT NULL,
    PRIMARY KEY (run_id, kind, createat, id)
);

-- Rows retention currently holds soft-deleted: what restore brings back and physical removal
-- removes. kind: 'post', 'file', or 'post_history' (edit history of a purged post, already
-- deleted by Mattermost, only removed with its post). A row leaves on restore or removal.
CREATE TABLE IF NOT EXISTS mmgov.purge_log (
    run_id varchar(26) NOT NULL,
    kind text NOT NULL CHECK (kind IN ('post', 'file', 'post_history')),
    id varchar(26) NOT NULL,
    channelid varchar(26) NOT NULL DEFAULT '',
    deleted_at bigint NOT NULL,
    PRIMARY KEY (run_id, kind, id)
);
-- One index only (the soft delete writes a row per post); physical removal walks it run by run.
DROP INDEX IF EXISTS mmgov.purge_log_deleted_at;

-- Outbox of file objects to remove from the store: written in the transaction that deletes the
-- fileinfo rows, cleared once the object is gone, so a crash never leaves an object behind.
CREATE TABLE IF NOT EXISTS mmgov.purge_file_objects (
    id bigserial PRIMARY KEY,
    run_id varchar(26) NOT NULL,
    path text NOT NULL,
    queued_at bigint NOT NULL
);
