-- The event log: postgres-es's `events` table (it names the columns it inserts, so we may add
-- more), plus what catch-up projections need to read it in a global order without skipping an
-- event whose transaction commits late:
--   position    a global sequence, assigned at insert (not commit) time;
--   tx_id       the writing transaction; every transaction that can still commit has
--               tx_id >= pg_snapshot_xmin(pg_current_snapshot()), so readers order by
--               (tx_id, position) and read only below that horizon (see projections/src/log.rs);
--   recorded_at when it was written (the domain's own time is in the payload and metadata).
CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    position       bigserial                    NOT NULL,
    tx_id          xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at    timestamptz                  NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

-- The order catch-up readers scan in.
CREATE UNIQUE INDEX events_global_order ON events (tx_id, position);

-- postgres-es's snapshot table; unused while we load from events (its snapshot store applies
-- events twice), kept so the crate's expectations hold.
CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          json                                 NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);

-- A wake-up for projectors in every server process: the payload is empty on purpose (readers
-- fetch from their checkpoint), and one notification per statement keeps it cheap.
CREATE FUNCTION notify_events() RETURNS trigger LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('events', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION notify_events();

-- The log is append-only: history that audits replay must never change. Schema changes to
-- events are handled by new event versions and upcasters, never by rewriting rows.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- How far each projection has applied the log, in the (tx_id, position) order above.
-- last_error/failed_event make a stuck projection visible in /ready.
CREATE TABLE projection_checkpoints
(
    name          text PRIMARY KEY,
    tx_id         xid8        NOT NULL DEFAULT '0',
    position      bigint      NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_error    text,
    failed_event  text,
    failing_since timestamptz
);
