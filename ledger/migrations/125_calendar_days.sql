-- Admins' corrections to the business calendar (domain/calendar_edits.py): one row per calendar and day.
-- `calendar` is a calendar name of the policy (warehouse) or a holiday region (CN: every calendar using it).
CREATE TABLE IF NOT EXISTS calendar_days (
    calendar   text NOT NULL CHECK (length(calendar) BETWEEN 1 AND 50),
    day        date NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('holiday', 'workday', 'ordinary')),
    note       text NOT NULL DEFAULT '' CHECK (length(note) <= 200),
    source     text NOT NULL,              -- admin:<username>, ics:<file>, cli
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (calendar, day)
);

-- A year whose announced schedule an admin has entered in full: its "not yet confirmed" warning stops.
CREATE TABLE IF NOT EXISTS calendar_years_confirmed (
    calendar   text NOT NULL CHECK (length(calendar) BETWEEN 1 AND 50),
    year       integer NOT NULL CHECK (year BETWEEN 2004 AND 2100),
    note       text NOT NULL DEFAULT '' CHECK (length(note) <= 200),
    source     text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (calendar, year)
);
