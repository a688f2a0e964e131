-- The robot relay (activities/notifications/robot_relay.py) claims a robot's waiting rows, oldest first.
CREATE INDEX notifications_waiting ON notifications (channel, created_at)
    WHERE status IN ('queued', 'sending', 'failed');
