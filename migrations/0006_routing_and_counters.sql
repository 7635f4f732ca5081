-- The routing projection's tables (projections/src/routing, projections/src/counters.rs): what
-- the router, the logout reactor and the agent's counters read. Built from Attendance and Agent
-- events only, by one projection with one checkpoint, so that the counters always agree with
-- the statuses they are derived from (both are changed in the same transaction).

-- Where each attendance is for routing: its status, queue and agent.
CREATE TABLE routing_attendances
(
    attendance_id uuid PRIMARY KEY,
    account_id    uuid        NOT NULL,
    service_id    uuid,
    contact_id    uuid        NOT NULL,
    status        text        NOT NULL,
    agent_id      uuid,
    opened_at     timestamptz NOT NULL,
    -- The account-local calendar day it opened on, fixed at opening: item 11 counts by it, and
    -- a later change of the account's time zone must not move history between days.
    opened_day    date        NOT NULL,
    -- When it last entered a queue: the oldest waiting goes first.
    waiting_since timestamptz
);
-- The router's queue scan and the logout reactor's "in progress with this agent".
CREATE INDEX routing_attendances_waiting ON routing_attendances (waiting_since, attendance_id)
    WHERE status = 'WAITING';
CREATE INDEX routing_attendances_in_progress ON routing_attendances (agent_id)
    WHERE status = 'IN_PROGRESS';

-- What the router knows of an agent besides the agents read model: whether their last session
-- ended (as of this projection's position in the log, so a park is never missed for an
-- assignment that raced a logout) and when they last received an attendance (ties go to the
-- longest idle).
CREATE TABLE routing_agents
(
    agent_id         uuid PRIMARY KEY,
    online           boolean NOT NULL DEFAULT false,
    last_assigned_at timestamptz
);

-- Item 9: attendances WAITING per service, kept as events arrive (never counted at query time).
CREATE TABLE service_waiting_counts
(
    service_id uuid PRIMARY KEY,
    waiting    int NOT NULL CHECK (waiting >= 0)
);

-- Item 10 and the router's concurrent limit: attendances IN_PROGRESS per agent.
CREATE TABLE agent_in_progress_counts
(
    agent_id    uuid PRIMARY KEY,
    in_progress int NOT NULL CHECK (in_progress >= 0)
);

-- Item 11: attendances handled by an agent per account-local opening day.
CREATE TABLE agent_daily_counters
(
    agent_id   uuid NOT NULL,
    account_id uuid NOT NULL,
    day        date NOT NULL,
    today      int  NOT NULL CHECK (today >= 0),
    PRIMARY KEY (agent_id, day, account_id)
);

-- An attendance counts once per agent, however often it comes back to them (rescue, transfer).
CREATE TABLE agent_daily_attendances
(
    agent_id      uuid NOT NULL,
    attendance_id uuid NOT NULL,
    PRIMARY KEY (agent_id, attendance_id)
);

-- The logout reactor's to-do list: attendances to park because their agent went offline.
-- Written in the projection's transaction (with its checkpoint), so a reaction is never lost
-- to a crash; deleted once the park was done or found unnecessary.
CREATE TABLE routing_park_todo
(
    attendance_id uuid        NOT NULL,
    agent_id      uuid        NOT NULL,
    -- The event that asked for it, stored as the causation of the park.
    caused_by     text        NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (attendance_id, agent_id)
);
