-- The `events` wake-up names the aggregate types the statement wrote (comma-separated), so a
-- server process wakes only the projections that read them: the others would each run an empty
-- transaction for nothing. Readers still fetch from their checkpoint; the payload only routes
-- the wake-up. One notification per statement, as before.
CREATE OR REPLACE FUNCTION notify_events() RETURNS trigger LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('events', (SELECT string_agg(DISTINCT aggregate_type, ',') FROM written));
    RETURN NULL;
END
$$;
DROP TRIGGER events_notify ON events;
CREATE TRIGGER events_notify AFTER INSERT ON events REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION notify_events();
