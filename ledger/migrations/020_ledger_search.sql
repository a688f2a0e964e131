-- Search over every complaint, open or closed (activities/ledger_search.py). One narrow row per complaint
-- holds what a person may type to find it, lower-cased, kept in step by triggers, so a search never scans
-- the wide ledger rows. Trigram GIN indexes serve substrings of three characters or more (Chinese included:
-- a substring needs no word splitting). A two-character Chinese word has no trigram of its own, so every
-- pair of adjacent Chinese characters is also kept as a word (`pairs`), whose padded trigrams are indexed.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE complaint_search (
    complaint_id text PRIMARY KEY REFERENCES complaints ON DELETE CASCADE,
    received_at  timestamptz NOT NULL,      -- ranked results are ordered here before the ledger is read
    who          text NOT NULL DEFAULT '',  -- number, waybill/order number, customer name, e-mail, phone digits
    what         text NOT NULL DEFAULT '',  -- product, subject, description
    words        text NOT NULL DEFAULT '',  -- what people wrote on the timeline: notes, messages, customer reports
    pairs        text NOT NULL DEFAULT '',  -- 'ab bc cd' for the Chinese text 'abcd' of the three above
    order_number text,                      -- lower case
    phone        text,                      -- digits only: +86 138-0013-8000 → 8613800138000
    email        text                       -- lower case
);
CREATE INDEX complaint_search_doc ON complaint_search USING gin ((who || ' ' || what || ' ' || words) gin_trgm_ops);
CREATE INDEX complaint_search_pairs ON complaint_search USING gin ((' ' || pairs || ' ') gin_trgm_ops);
CREATE INDEX complaint_search_received ON complaint_search (received_at);
-- The customer panel: the same customer's other complaints, by the phone's last 11 digits or the e-mail.
CREATE INDEX complaint_search_phone ON complaint_search (right(phone, 11)) WHERE phone IS NOT NULL;
CREATE INDEX complaint_search_email ON complaint_search (email) WHERE email IS NOT NULL;
CREATE INDEX complaints_closed_at ON complaints (closed_at) WHERE closed_at IS NOT NULL;

-- Every distinct pair of adjacent CJK ideographs in t, space-separated.
CREATE FUNCTION cjk_pairs(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(DISTINCT g, ' '), '')
    FROM (SELECT substr(t, i, 2) AS g FROM generate_series(1, length(t) - 1) AS i) AS x
    WHERE g ~ '^[一-鿿]{2}$'
$$;

-- One complaint's search row from its ledger row; rewritten only when its text changed.
CREATE FUNCTION complaint_search_fill(c complaints) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ph text := nullif(regexp_replace(coalesce(c.view->'customer'->>'phone', ''), '[^0-9]', '', 'g'), '');
    em text := lower(c.view->'customer'->>'email');
    w  text := lower(concat_ws(' ', c.complaint_id, c.order_number, c.view->'customer'->>'name', em, ph));
    x  text := lower(concat_ws(' ', c.view->>'product', c.view->>'subject', c.view->>'description'));
BEGIN
    INSERT INTO complaint_search AS s (complaint_id, received_at, who, what, pairs, order_number, phone, email)
    VALUES (c.complaint_id, c.received_at, w, x, cjk_pairs(w || ' ' || x), lower(c.order_number), ph, em)
    ON CONFLICT (complaint_id) DO UPDATE
        SET received_at = EXCLUDED.received_at, who = EXCLUDED.who, what = EXCLUDED.what,
            pairs = cjk_pairs(EXCLUDED.who || ' ' || EXCLUDED.what || ' ' || s.words),
            order_number = EXCLUDED.order_number, phone = EXCLUDED.phone, email = EXCLUDED.email
        WHERE (s.received_at, s.who, s.what) IS DISTINCT FROM (EXCLUDED.received_at, EXCLUDED.who, EXCLUDED.what);
END $$;

CREATE FUNCTION complaint_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM complaint_search_fill(NEW);
    RETURN NULL;
END $$;

-- The ledger upserts a complaint's row on every write.
CREATE TRIGGER complaints_search AFTER INSERT OR UPDATE OF view, order_number, received_at ON complaints
    FOR EACH ROW EXECUTE FUNCTION complaint_search_sync();

CREATE FUNCTION complaint_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE complaint_search SET words = words || ' ' || lower(NEW.text),
                                pairs = cjk_pairs(who || ' ' || what || ' ' || words || ' ' || lower(NEW.text))
    WHERE complaint_id = NEW.complaint_id;
    RETURN NULL;
END $$;

-- Timeline events are insert-only (a repeated write is ON CONFLICT DO NOTHING, which fires no trigger).
CREATE TRIGGER timeline_search AFTER INSERT ON timeline_events
    FOR EACH ROW WHEN (NEW.actor_role <> 'system' AND NEW.text <> '') EXECUTE FUNCTION complaint_search_words();

-- Complaints already in the ledger.
SELECT complaint_search_fill(c) FROM complaints c;
UPDATE complaint_search s SET words = w.words, pairs = cjk_pairs(s.who || ' ' || s.what || ' ' || w.words)
FROM (SELECT complaint_id, string_agg(lower(text), ' ' ORDER BY at, event_id) AS words FROM timeline_events
      WHERE actor_role <> 'system' AND text <> '' GROUP BY complaint_id) w
WHERE w.complaint_id = s.complaint_id;
