-- Server-side staff sessions and sign-in throttling for the web app (ui/sessions.py, ui/throttle.py).
-- The cookie holds a random id; only its SHA-256 is stored, so a copy of this table opens no session.
CREATE TABLE IF NOT EXISTS staff_sessions (
    id_hash      text PRIMARY KEY,
    username     text NOT NULL REFERENCES staff_users (username) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    client       text NOT NULL DEFAULT ''
);

CREATE INDEX IF NOT EXISTS staff_sessions_username ON staff_sessions (username);
CREATE INDEX IF NOT EXISTS staff_sessions_expires ON staff_sessions (expires_at);

-- A new password or a deactivation ends every session of that user, whoever changed it (UI, CLI, SQL).
CREATE OR REPLACE FUNCTION end_staff_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.password_hash IS DISTINCT FROM OLD.password_hash OR NOT NEW.active THEN
        DELETE FROM staff_sessions WHERE username = OLD.username;
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS staff_users_end_sessions ON staff_users;
CREATE TRIGGER staff_users_end_sessions AFTER UPDATE OF password_hash, active ON staff_users
    FOR EACH ROW EXECUTE FUNCTION end_staff_sessions();

-- Failed sign-ins per account ('user:<name>') and per client address ('addr:<ip>').
CREATE TABLE IF NOT EXISTS login_throttle (
    key             text PRIMARY KEY,
    failures        integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,
    locked_by       text  -- the attempt that set the lock: the one try allowed when a lock starts
);
