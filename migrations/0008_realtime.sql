-- Open websockets, per server instance, so that `connected` is true while any websocket of an
-- agent is open on any instance. Each instance refreshes heartbeat_at of its rows; rows of an
-- instance that died stop being refreshed and count as closed after the staleness window
-- (graphql/src/presence.rs), so a crashed instance cannot leave agents "connected" forever.
CREATE TABLE ws_connections
(
    id           uuid PRIMARY KEY,
    instance_id  uuid        NOT NULL,
    agent_id     uuid        NOT NULL,
    session_id   uuid,
    opened_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ws_connections_by_agent ON ws_connections (agent_id, heartbeat_at);
CREATE INDEX ws_connections_by_instance ON ws_connections (instance_id);
