-- Intake (starters/): API keys per intake system, idempotent retries, webhook sources, uploaded evidence,
-- and a receipt per submission (which intake system filed which complaint, and where its workflow runs).

-- One row per intake system. Only the SHA-256 of the key is kept: keys are 32 random bytes, so a fast hash
-- is enough (no dictionary to attack) and lets each request find its key with one index lookup.
CREATE TABLE intake_api_keys (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    key_hash        bytea NOT NULL UNIQUE,
    key_prefix      text NOT NULL,          -- first characters, to tell keys apart in listings
    rate_per_minute integer NOT NULL DEFAULT 120 CHECK (rate_per_minute > 0),
    burst           integer NOT NULL DEFAULT 30 CHECK (burst > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);

-- Idempotency-Key: the first request stores the complaint it is about to start (so a retry after a crash
-- restarts the very same complaint, never a second one), then the response it gave.
CREATE TABLE intake_idempotency (
    scope         text NOT NULL,            -- 'key:<api key id>' or 'webhook:<source>'
    idem_key      text NOT NULL,
    request_hash  text NOT NULL,
    complaint     jsonb NOT NULL,           -- the prepared ComplaintInput
    status_code   integer,                  -- null while in flight
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX intake_idempotency_created ON intake_idempotency (created_at);

-- Signed webhooks (e-commerce and social platforms): HMAC needs the shared secret itself, not a hash.
CREATE TABLE intake_webhook_sources (
    source      text PRIMARY KEY,           -- path segment: /api/v1/webhooks/<source>
    secret      text NOT NULL,
    channel     text NOT NULL DEFAULT 'ecommerce' CHECK (channel IN ('ecommerce', 'social', 'app', 'web')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Uploaded evidence; served back under an unguessable id.
CREATE TABLE intake_attachments (
    id            text PRIMARY KEY,
    complaint_id  text NOT NULL,
    name          text NOT NULL,
    content_type  text NOT NULL,
    size          integer NOT NULL CHECK (size >= 0),
    sha256        text NOT NULL,
    data          bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX intake_attachments_complaint ON intake_attachments (complaint_id);

-- Every accepted submission: the complaint it filed or joined, and the workflow that holds it.
CREATE TABLE intake_receipts (
    id              bigserial PRIMARY KEY,
    complaint_id    text NOT NULL,          -- the complaint number given to the customer
    submitted_id    text NOT NULL,          -- the number prepared for this submission (differs when joined)
    workflow_id     text NOT NULL,
    joined          boolean NOT NULL,
    channel         text NOT NULL,
    source          text NOT NULL,          -- 'api:<key name>', 'webhook:<source>', 'form', 'staff:<id>', 'email', 'csv', 'cli'
    api_key_id      bigint REFERENCES intake_api_keys(id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (submitted_id)
);
CREATE INDEX intake_receipts_complaint ON intake_receipts (complaint_id);
