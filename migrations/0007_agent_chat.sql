-- Chat between agents (item 8). These tables are the record itself, not a read model: a chat
-- message has no life cycle an audit replays (sent, read, deleted by its sender), so it is
-- written directly by commands/src/chat and never rebuilt by `agent-panel replay`.
-- No foreign keys to `agents`: that is a read model which replay swaps out.

CREATE TABLE agent_chat_messages
(
    id            uuid PRIMARY KEY,
    from_agent_id uuid        NOT NULL,
    to_agent_id   uuid        NOT NULL,
    -- NULL when the message is attachments only.
    text          text,
    at            timestamptz NOT NULL,
    -- When the recipient marked it read.
    read_at       timestamptz,
    -- Deleted by its sender: hidden everywhere, and its attachments' signed URLs stop working.
    deleted_at    timestamptz,
    -- The conversation regardless of direction, so one index serves both sides of it.
    agent_low     uuid GENERATED ALWAYS AS (LEAST(from_agent_id, to_agent_id)) STORED,
    agent_high    uuid GENERATED ALWAYS AS (GREATEST(from_agent_id, to_agent_id)) STORED,
    CONSTRAINT agent_chat_messages_not_to_self CHECK (from_agent_id <> to_agent_id),
    CONSTRAINT agent_chat_messages_say_something CHECK (text IS NULL OR text <> '')
);
-- One conversation, newest first, paged back in time by (at, id).
CREATE INDEX agent_chat_messages_conversation
    ON agent_chat_messages (agent_low, agent_high, at DESC, id DESC) WHERE deleted_at IS NULL;
-- Messages to me in order: the subscription's replay after `since`, and the chat list.
CREATE INDEX agent_chat_messages_to ON agent_chat_messages (to_agent_id, at, id);
-- Messages from me: the chat list's other half.
CREATE INDEX agent_chat_messages_from ON agent_chat_messages (from_agent_id, at, id);
-- Unread counts per sender.
CREATE INDEX agent_chat_messages_unread ON agent_chat_messages (to_agent_id, from_agent_id)
    WHERE read_at IS NULL AND deleted_at IS NULL;

-- The files of a message, in the order sent. The signed URL names the attachment (not the
-- blob), so the download can refuse it once the message is deleted even though the same
-- content may still be attached elsewhere.
CREATE TABLE agent_chat_attachments
(
    id           uuid PRIMARY KEY,
    message_id   uuid   NOT NULL REFERENCES agent_chat_messages (id),
    position     int    NOT NULL,
    sha256       text   NOT NULL REFERENCES blobs (sha256),
    file_name    text   NOT NULL,
    content_type text   NOT NULL,
    size         bigint NOT NULL,
    UNIQUE (message_id, position)
);

-- Every server instance LISTENs on `agent_chat` and pushes the message to its websocket
-- subscribers. NOTIFY is delivered at commit, so listeners never see a message (or its
-- attachments, inserted in the same transaction) before it is readable.
CREATE FUNCTION agent_chat_notify() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('agent_chat', NEW.id::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER agent_chat_messages_notify
    AFTER INSERT ON agent_chat_messages
    FOR EACH ROW EXECUTE FUNCTION agent_chat_notify();
