-- The robot relay (activities/notifications/robot_relay.py) claims a robot's waiting rows, oldest first.
CREATE INDEX notifications_waiting ON notifications (channel, created_at)
    WHERE status IN ('queued', 'sending', 'failed');

-- Each robot's send budget, shared by every worker process's relay: a token bucket (tokens as of `at`) and
-- a pause after the robot said it is over its limit.
CREATE TABLE robot_pace (
    channel      text PRIMARY KEY,
    tokens       double precision NOT NULL,
    at           timestamptz NOT NULL,
    paused_until timestamptz NOT NULL DEFAULT '-infinity'
);
