-- The analysts' SQL surface: the `analytics` schema, views whose columns are documented in
-- projections/README.md and kept stable (a change adds a column or a view, never renames one).
-- They read the read models (built from the events) and, for timings no read model keeps, the
-- event log itself (append-only, so the figures never change behind the analysts' backs).
CREATE SCHEMA IF NOT EXISTS analytics;

-- The domain's own time of an event (what the clock said when it was decided).
CREATE FUNCTION analytics.event_at(metadata json, recorded_at timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE AS
$$ SELECT COALESCE((metadata ->> 'at')::timestamptz, recorded_at) $$;

-- Attendance transitions, one row per event, in stream order.
CREATE VIEW analytics.attendance_events AS
SELECT e.aggregate_id::uuid                         AS attendance_id,
       e.sequence,
       e.event_type,
       analytics.event_at(e.metadata, e.recorded_at) AS at,
       e.metadata ->> 'actor'                       AS actor,
       e.payload -> e.event_type                    AS body
  FROM events e
 WHERE e.aggregate_type = 'Attendance';

-- Time spent PENDING: each MarkedPending until the next transition out of it.
CREATE VIEW analytics.pending_intervals AS
SELECT attendance_id, (body ->> 'agent_id')::uuid AS agent_id, at AS started_at, ended_at,
       (body ->> 'by_logout')::boolean AS by_logout
  FROM (SELECT *, lead(at) OVER (PARTITION BY attendance_id ORDER BY sequence) AS ended_at
          FROM analytics.attendance_events
         WHERE event_type IN ('AttendanceMarkedPending', 'AttendanceRescued', 'AttendanceFinalized',
                              'AttendanceTransferred')) t
 WHERE event_type = 'AttendanceMarkedPending';

-- One row per attendance.
CREATE VIEW analytics.attendances AS
SELECT a.id                 AS attendance_id,
       a.protocol,
       a.account_id,
       a.service_id,
       a.channel,
       a.direction,
       a.contact_id,
       a.agent_id,
       a.status,
       a.opened_at,
       (SELECT min(ev.at) FROM analytics.attendance_events ev
         WHERE ev.attendance_id = a.id
           AND (ev.event_type IN ('AttendanceAssigned', 'AttendanceRescued')
                OR (ev.event_type = 'AttendanceOpened' AND ev.body ->> 'agent_id' IS NOT NULL)
                OR (ev.event_type = 'AttendanceTransferred' AND ev.body -> 'to' ->> 'type' = 'AGENT'))
       )                    AS first_assigned_at,
       (SELECT min(ev.at) FROM analytics.attendance_events ev
         WHERE ev.attendance_id = a.id AND ev.event_type = 'AgentMessageSent'
       )                    AS first_agent_reply_at,
       COALESCE((SELECT sum(extract(epoch FROM (COALESCE(p.ended_at, now()) - p.started_at)))
                   FROM analytics.pending_intervals p WHERE p.attendance_id = a.id), 0)::bigint
                            AS pending_seconds,
       a.finalized_at,
       a.finalize_reason,
       a.survey_requested,
       COALESCE((SELECT (ev.body ->> 'bulk')::boolean FROM analytics.attendance_events ev
                  WHERE ev.attendance_id = a.id AND ev.event_type = 'AttendanceFinalized'), false)
                            AS finalized_in_bulk,
       a.message_count
  FROM attendances a;

-- Agent presence: logged-in sessions and pauses, as intervals (ended_at NULL while running).
CREATE VIEW analytics.agent_presence_intervals AS
WITH agent_events AS (
    SELECT e.aggregate_id::uuid AS agent_id, e.sequence, e.event_type,
           analytics.event_at(e.metadata, e.recorded_at) AS at, e.payload -> e.event_type AS body
      FROM events e
     WHERE e.aggregate_type = 'Agent'
       AND e.event_type IN ('AgentLoggedIn', 'AgentLoggedOut', 'PauseStarted', 'PauseReasonChanged', 'PauseEnded')
),
logins AS (
    SELECT *, lag(event_type) OVER w AS prev_type, lag(body) OVER w AS prev_body
      FROM agent_events
     WHERE event_type IN ('AgentLoggedIn', 'AgentLoggedOut')
    WINDOW w AS (PARTITION BY agent_id ORDER BY sequence)
),
-- A login session starts with the first session of an offline agent and ends when the last
-- session closes (went_offline); a second device in between does not start another.
logged AS (
    SELECT agent_id, 'LOGGED_IN'::text AS kind, NULL::uuid AS pause_reason_id, at AS started_at,
           (SELECT min(o.at) FROM logins o
             WHERE o.agent_id = i.agent_id AND o.sequence > i.sequence
               AND o.event_type = 'AgentLoggedOut' AND (o.body ->> 'went_offline')::boolean) AS ended_at
      FROM logins i
     WHERE event_type = 'AgentLoggedIn'
       AND (prev_type IS NULL OR (prev_type = 'AgentLoggedOut' AND (prev_body ->> 'went_offline')::boolean))
),
paused AS (
    SELECT agent_id, 'PAUSED'::text AS kind, (body ->> 'reason_id')::uuid AS pause_reason_id, at AS started_at,
           lead(at) OVER (PARTITION BY agent_id ORDER BY sequence) AS ended_at, event_type
      FROM agent_events
     WHERE event_type IN ('PauseStarted', 'PauseReasonChanged', 'PauseEnded')
)
SELECT agent_id, kind, pause_reason_id, started_at, ended_at FROM logged
UNION ALL
SELECT agent_id, kind, pause_reason_id, started_at, ended_at FROM paused WHERE event_type <> 'PauseEnded';

-- Daily figures per agent and per service, on each account's local calendar day.
CREATE VIEW analytics.daily_agent_figures AS
SELECT a.agent_id,
       a.account_id,
       (a.opened_at AT TIME ZONE COALESCE(acc.timezone, 'America/Sao_Paulo'))::date AS day,
       count(*)                                                        AS attendances,
       count(*) FILTER (WHERE a.finalized_at IS NOT NULL)              AS finalized,
       count(*) FILTER (WHERE a.finalized_in_bulk)                     AS finalized_in_bulk,
       count(*) FILTER (WHERE a.survey_requested)                      AS surveys_requested,
       avg(extract(epoch FROM (a.first_agent_reply_at - a.opened_at))) AS avg_first_response_seconds,
       avg(a.pending_seconds)                                          AS avg_pending_seconds
  FROM analytics.attendances a
  LEFT JOIN accounts acc ON acc.id = a.account_id
 WHERE a.agent_id IS NOT NULL
 GROUP BY 1, 2, 3;

CREATE VIEW analytics.daily_service_figures AS
SELECT a.service_id,
       a.account_id,
       (a.opened_at AT TIME ZONE COALESCE(acc.timezone, 'America/Sao_Paulo'))::date AS day,
       count(*)                                                          AS attendances,
       count(*) FILTER (WHERE a.direction = 'INBOUND')                   AS inbound,
       count(*) FILTER (WHERE a.direction = 'OUTBOUND')                  AS outbound,
       count(*) FILTER (WHERE a.finalized_at IS NOT NULL)                AS finalized,
       avg(extract(epoch FROM (a.first_assigned_at - a.opened_at)))      AS avg_wait_seconds,
       avg(extract(epoch FROM (a.first_agent_reply_at - a.opened_at)))   AS avg_first_response_seconds
  FROM analytics.attendances a
  LEFT JOIN accounts acc ON acc.id = a.account_id
 WHERE a.service_id IS NOT NULL
 GROUP BY 1, 2, 3;
