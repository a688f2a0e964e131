-- Staff sign-in for the web app (ui/auth.py): one row per person, argon2 password hashes.
CREATE TABLE IF NOT EXISTS staff_users (
    username      text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{1,39}$'),
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    role          text NOT NULL CHECK (role IN ('specialist', 'engineer', 'logistics', 'supervisor',
                                                'senior_supervisor', 'department_head', 'admin')),
    department    text,
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);

CREATE INDEX IF NOT EXISTS staff_users_department ON staff_users (department) WHERE active;
