-- One heartbeat per server instance instead of one per socket: refreshing 10,000 socket rows
-- every 10 s cost a 10,000-row UPDATE (and as many dead tuples) per instance and interval.
-- A socket counts while its instance's heartbeat is fresh (graphql/src/presence.rs), so the
-- sockets of an instance that died still stop counting on their own.
CREATE TABLE ws_instances
(
    instance_id  uuid PRIMARY KEY,
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO ws_instances (instance_id, heartbeat_at)
SELECT instance_id, max(heartbeat_at) FROM ws_connections GROUP BY instance_id;
DROP INDEX ws_connections_by_agent;
ALTER TABLE ws_connections DROP COLUMN heartbeat_at;
CREATE INDEX ws_connections_by_agent ON ws_connections (agent_id);
