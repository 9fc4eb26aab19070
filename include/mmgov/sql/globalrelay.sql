-- Global Relay delivery ledger: one row per email the SMTP server accepted (written right after its 250
-- reply). A retried or re-run delivery skips every (delivery_key, email_index, sha256) found here, so an
-- email is never mailed twice. delivery_key = <run folder>/<batch zip name>. To mail a batch again on
-- purpose, delete its rows: DELETE FROM mmgov.globalrelay_delivery WHERE delivery_key = '...';
CREATE TABLE IF NOT EXISTS mmgov.globalrelay_delivery (
    delivery_key text NOT NULL,
    email_index integer NOT NULL,
    sha256 text NOT NULL,
    email_name text NOT NULL,
    size_bytes bigint NOT NULL,
    mail_from text NOT NULL,
    rcpt_to text NOT NULL,
    smtp_server text NOT NULL,
    smtp_reply text NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (delivery_key, email_index, sha256)
);
CREATE INDEX IF NOT EXISTS globalrelay_delivery_sent_at ON mmgov.globalrelay_delivery (sent_at);
-- The email's Message-ID header (mmgov.custody lists it in the run's manifest).
ALTER TABLE mmgov.globalrelay_delivery ADD COLUMN IF NOT EXISTS message_id text NOT NULL DEFAULT '';
