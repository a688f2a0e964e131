-- The complaint ledger: the durable record of every complaint for people and reports (rules A §3.4, B §3.1).
-- Written only by activities (record_ledger, notify, lookup_tracking); every write is idempotent.
-- Times are timestamptz (UTC inside); the UI shows them in the viewer's zone.

-- One row per complaint: the ComplaintView's columns the queue and the reports filter on, plus the whole view.
CREATE TABLE complaints (
    complaint_id      text PRIMARY KEY,
    workflow_id       text NOT NULL,
    status_token      text NOT NULL UNIQUE,
    policy            text NOT NULL,
    state             text NOT NULL,
    is_open           boolean GENERATED ALWAYS AS (state NOT IN ('closed', 'merged', 'cancelled')) STORED,
    tier              text NOT NULL,
    complaint_type    text NOT NULL,
    category          text NOT NULL,
    channel           text NOT NULL,
    customer_type     text NOT NULL,
    region            text,
    order_number      text,
    departments       text[] NOT NULL DEFAULT '{}',
    assignees         text[] NOT NULL DEFAULT '{}',
    holder_id         text,
    holder_role       text,
    received_at       timestamptz NOT NULL,
    next_due          text,
    next_due_at       timestamptz,
    breach_count      integer NOT NULL DEFAULT 0,
    reopen_count      integer NOT NULL DEFAULT 0,
    last_breach_at    timestamptz,
    first_response_at timestamptz,
    resolved_at       timestamptz,
    closed_at         timestamptz,
    satisfaction      smallint,              -- the latest rating's score
    view              jsonb NOT NULL,        -- ComplaintView.model_dump(mode="json")
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Staff queue: open complaints, most urgent deadline first.
CREATE INDEX complaints_queue ON complaints (next_due_at NULLS LAST) WHERE is_open;
CREATE INDEX complaints_holder_open ON complaints (holder_id, next_due_at) WHERE is_open;
-- Reports and search: by time, customer type, issue type, region, department, tier, channel.
CREATE INDEX complaints_received ON complaints (received_at);
CREATE INDEX complaints_customer_type ON complaints (customer_type, received_at);
CREATE INDEX complaints_type ON complaints (complaint_type, category, received_at);
CREATE INDEX complaints_category ON complaints (category, received_at);
CREATE INDEX complaints_region ON complaints (region, received_at);
CREATE INDEX complaints_tier ON complaints (tier, received_at);
CREATE INDEX complaints_channel ON complaints (channel, received_at);
CREATE INDEX complaints_departments ON complaints USING gin (departments);
CREATE INDEX complaints_assignees ON complaints USING gin (assignees);
CREATE INDEX complaints_order ON complaints (order_number) WHERE order_number IS NOT NULL;

-- Every step: who did what, when, for which obligation, and whether it was met or breached.
CREATE TABLE timeline_events (
    event_id     text PRIMARY KEY,           -- deterministic in the workflow, so a retried write is a no-op
    complaint_id text NOT NULL REFERENCES complaints ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    kind         text NOT NULL,
    actor_id     text NOT NULL,
    actor_role   text NOT NULL,
    actor_name   text,
    text         text NOT NULL DEFAULT '',
    obligation   text,
    due_at       timestamptz,
    outcome      text,                       -- met / met_late / warned / breached / … for obligation events
    data         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX timeline_complaint ON timeline_events (complaint_id, at);
CREATE INDEX timeline_actor ON timeline_events (actor_id, at);
CREATE INDEX timeline_kind ON timeline_events (kind, at);
CREATE INDEX timeline_obligation ON timeline_events (obligation, outcome, at) WHERE obligation IS NOT NULL;

-- Every obligation occurrence with its clock: deadline compliance per tier / obligation / department / person.
CREATE TABLE obligations (
    complaint_id     text NOT NULL REFERENCES complaints ON DELETE CASCADE,
    name             text NOT NULL,
    occurrence       integer NOT NULL,
    department       text NOT NULL DEFAULT '',  -- department_report only; '' otherwise (part of the key)
    status           text NOT NULL,
    tier             text NOT NULL,
    holder_id        text,                      -- who held the complaint when the clock was settled
    started_at       timestamptz NOT NULL,
    due_at           timestamptz NOT NULL,
    warn_at          timestamptz,
    met_at           timestamptz,
    breached_at      timestamptz,
    escalation_level integer NOT NULL DEFAULT 0,
    PRIMARY KEY (complaint_id, name, occurrence, department)
);
CREATE INDEX obligations_report ON obligations (name, status, due_at);
CREATE INDEX obligations_holder ON obligations (holder_id, due_at);

-- Satisfaction (rules "After the result"): one row per rating the customer gave.
CREATE TABLE ratings (
    complaint_id text NOT NULL REFERENCES complaints ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    round        integer NOT NULL,          -- 1 for the first rating, 2 after the first reopen, …
    score        smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment      text NOT NULL DEFAULT '',
    demand       text NOT NULL DEFAULT '',
    PRIMARY KEY (complaint_id, at)
);
CREATE INDEX ratings_at ON ratings (at);

-- The notification outbox: one row per delivery (notification × channel × recipient). The row is reserved
-- before anything is sent; its key goes to the provider, so a retried activity never sends twice.
-- No foreign key: the intake confirmation may go out before the complaint's first ledger write.
CREATE TABLE notifications (
    id                  bigserial PRIMARY KEY,
    idempotency_key     text NOT NULL UNIQUE,   -- <notification key>/<channel>/<recipient>
    notification_key    text NOT NULL,          -- Notification.idempotency_key
    complaint_id        text NOT NULL,
    template            text NOT NULL,
    audience            text NOT NULL,
    locale              text NOT NULL,
    channel             text NOT NULL,
    recipient           text NOT NULL,
    status              text NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'rejected')),
    attempts            integer NOT NULL DEFAULT 0,
    provider_message_id text,
    subject             text NOT NULL DEFAULT '',
    body                text NOT NULL DEFAULT '',
    error               text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz
);
CREATE INDEX notifications_complaint ON notifications (complaint_id, created_at);
CREATE INDEX notifications_key ON notifications (notification_key);
CREATE INDEX notifications_problems ON notifications (status, updated_at) WHERE status IN ('failed', 'rejected');

-- Logistics trails looked up for a complaint. The same trail seen again only moves fetched_at.
CREATE TABLE tracking_snapshots (
    id            bigserial PRIMARY KEY,
    complaint_id  text NOT NULL,
    waybill       text NOT NULL,
    digest        text NOT NULL,              -- sha256 of the snapshot without its fetch time
    found         boolean NOT NULL,
    carrier       text,
    status        text,
    anomalies     text[] NOT NULL DEFAULT '{}',
    snapshot      jsonb NOT NULL,             -- TrackingSnapshot
    raw           jsonb,                      -- the carrier's answer (e-waybill data, planned route …)
    first_seen_at timestamptz NOT NULL,
    fetched_at    timestamptz NOT NULL,
    UNIQUE (complaint_id, waybill, digest)
);
CREATE INDEX tracking_complaint ON tracking_snapshots (complaint_id, fetched_at DESC);
CREATE INDEX tracking_anomalies ON tracking_snapshots USING gin (anomalies);
