-- Archived complaint records (workflows/retention.py, activities/retention.py): a closed complaint past the
-- retention period leaves the live ledger as one JSON record holding its ledger row and every row of every
-- table keyed by its complaint_id (timeline, obligations, ratings, notifications, tracking, intake …), so the
-- archive keeps working when those tables change. Purge mode deletes these too once past the period.
CREATE TABLE ledger_archive (
    complaint_id text PRIMARY KEY,
    closed_at    timestamptz NOT NULL,
    archived_at  timestamptz NOT NULL DEFAULT now(),
    record       jsonb NOT NULL              -- {"complaints": {...}, "<table>": [{...}, ...], ...}
);
CREATE INDEX ledger_archive_closed ON ledger_archive (closed_at);
