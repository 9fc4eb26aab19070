-- GDPR export jobs (gdpr_export DAG): one row per run, its status and per-entity progress.
-- Status follows the seed: pending -> running -> completed | failed. Progress holds Mattermost's
-- counters (teams_exported, ..., num_warnings) and is updated while the export runs.
CREATE TABLE IF NOT EXISTS mmgov.gdpr_export_jobs (
    job_id text PRIMARY KEY,
    status text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    actor text NOT NULL,
    params jsonb NOT NULL DEFAULT '{}'::jsonb,
    progress jsonb NOT NULL DEFAULT '{}'::jsonb,
    output_path text,
    error text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS gdpr_export_jobs_created_at ON mmgov.gdpr_export_jobs (created_at);
