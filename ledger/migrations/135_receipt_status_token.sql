-- The status link works from the moment intake answers: until the worker's first step writes the complaint
-- to the ledger, its receipt's token lets the status page say "received, being registered" instead of 404.
ALTER TABLE intake_receipts ADD COLUMN status_token text;
CREATE INDEX intake_receipts_status_token ON intake_receipts (status_token) WHERE status_token IS NOT NULL;
