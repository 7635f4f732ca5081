-- A wake-up for change feeds in every server process: a projection moved its checkpoint, so
-- events it was holding back may now be delivered. Without it a feed learns of the move only
-- with the next event or its poll. Empty payload, one notification per statement, as for events.
CREATE FUNCTION notify_projections() RETURNS trigger LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('projections', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER projection_checkpoints_notify AFTER UPDATE ON projection_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION notify_projections();
