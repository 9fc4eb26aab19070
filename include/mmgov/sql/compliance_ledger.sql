-- Compliance export completeness (mmgov.compliance.ledger). One row per export run: its window, its
-- folder, the window's post count at export and when it was delivered (NULL: staged only, or failed).
CREATE TABLE IF NOT EXISTS mmgov.compliance_export_runs (
    id bigserial PRIMARY KEY,
    run_key text NOT NULL UNIQUE,
    run_folder text NOT NULL,
    start_ms bigint NOT NULL,
    end_ms bigint NOT NULL,
    db_posts bigint,
    staged_at bigint NOT NULL,
    delivered_at bigint
);
CREATE INDEX IF NOT EXISTS compliance_export_runs_end ON mmgov.compliance_export_runs (end_ms);
-- One row per post version (posts.updateat, posts.id) a run exported, in its window or its late batches.
-- Only rows of delivered runs count. Rows older than Mmgov.LateArrivalLookbackHours are pruned.
CREATE TABLE IF NOT EXISTS mmgov.compliance_ledger (
    run bigint NOT NULL,
    update_at bigint NOT NULL,
    post_id varchar(26) NOT NULL
);
CREATE INDEX IF NOT EXISTS compliance_ledger_version ON mmgov.compliance_ledger (update_at, post_id);
