-- The local notification sink (standins/sink.py): what the embedded default "sends" lands here, so the staff
-- UI can show what customers and staff would have received. Not used when real providers are configured.
CREATE TABLE sink_messages (
    id               bigserial PRIMARY KEY,
    channel          text NOT NULL,           -- email, sms, sms-twilio, push, wecom, dingtalk
    dedupe_key       text,                    -- Idempotency-Key / Message-ID+recipient; NULL: protocol has none
    complaint_id     text,
    recipient        text NOT NULL DEFAULT '',
    subject          text NOT NULL DEFAULT '',
    body             text NOT NULL,
    payload          jsonb NOT NULL,          -- the request as received
    deliveries       integer NOT NULL DEFAULT 1,  -- > 1: the same message arrived again and was collapsed
    received_at      timestamptz NOT NULL DEFAULT now(),
    last_received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel, dedupe_key)
);
CREATE INDEX sink_messages_complaint ON sink_messages (complaint_id, received_at);
CREATE INDEX sink_messages_received ON sink_messages (received_at DESC);
