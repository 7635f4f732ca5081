-- Attendances (items 4-7, 13): the read models the attendances projection builds from the
-- Attendance events (projections/src/attendances.rs), and the tables the attendance use cases
-- write themselves to keep uniqueness and idempotency rules that one aggregate cannot see
-- (commands/src/attendances/).

-- ---------------------------------------------------------------- read models (projection)

-- One row per attendance. The list columns are plain columns so the panel's lists filter and
-- page on indexes; `state` is the aggregate as the domain folds it, so the projection applies
-- each event with the domain's own `apply` (one implementation of "what an event does").
--
-- Searching by the contact (pending search, item 13) joins `contacts` at query time instead of
-- copying the contact's name, document and phone here: the contacts projection runs on its own
-- checkpoint, so at the moment an attendance opens its contact (created by the same inbound
-- message) may not be projected yet, and a copy would also go stale when the contact is edited.
-- The join is on the contacts primary key, per attendance row already narrowed by these indexes.
CREATE TABLE attendances
(
    id                   uuid PRIMARY KEY,
    version              bigint      NOT NULL,
    protocol             text        NOT NULL,
    account_id           uuid        NOT NULL,
    contact_id           uuid        NOT NULL,
    channel              text        NOT NULL,
    direction            text        NOT NULL,
    status               text        NOT NULL,
    destination_type     text        NOT NULL,
    service_id           uuid,
    flow_id              text,
    agent_id             uuid,
    opened_by            uuid,
    opened_at            timestamptz NOT NULL,
    last_interaction_at  timestamptz NOT NULL,
    last_inbound_at      timestamptz,
    last_message_preview text,
    finalized_at         timestamptz,
    finalize_reason      text,
    survey_requested     boolean     NOT NULL,
    message_count        bigint      NOT NULL,
    state                jsonb       NOT NULL
);
-- Uniqueness of protocols comes from protocol_counters; a plain index here, so a bad row can
-- never stall the projection.
CREATE INDEX attendances_by_protocol ON attendances (protocol);
-- Item 6/7 (PENDING with me) and myAttendances (IN_PROGRESS with me), last interaction first.
CREATE INDEX attendances_by_agent_status ON attendances (agent_id, status, last_interaction_at DESC, id DESC);
-- Item 4: a contact's history, newest first.
CREATE INDEX attendances_by_contact ON attendances (contact_id, opened_at DESC, id DESC);
-- Visibility of WAITING attendances to the agents of a service, and supervisors' accounts.
CREATE INDEX attendances_by_service_status ON attendances (service_id, status);
CREATE INDEX attendances_by_account ON attendances (account_id, last_interaction_at DESC);

-- Messages of attendances, oldest first. `seq` is the event's sequence in the attendance's
-- stream: it breaks ties between messages of the same instant in the order they arrived.
CREATE TABLE attendance_messages
(
    id                 uuid PRIMARY KEY,
    attendance_id      uuid        NOT NULL,
    seq                bigint      NOT NULL,
    author             text        NOT NULL,
    agent_id           uuid,
    text               text,
    template_id        uuid,
    template_variables jsonb,
    attachments        jsonb       NOT NULL DEFAULT '[]',
    external_id        text,
    at                 timestamptz NOT NULL
);
CREATE INDEX attendance_messages_by_attendance ON attendance_messages (attendance_id, at, seq);

-- The contact's last inbound message per account and channel, across attendances: the WhatsApp
-- Business API window (item 5) is one primary-key read instead of a scan of messages.
CREATE TABLE contact_windows
(
    account_id      uuid        NOT NULL,
    contact_id      uuid        NOT NULL,
    channel         text        NOT NULL,
    last_inbound_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, contact_id, channel)
);

-- ---------------------------------------------------------------- use-case tables (commands)

-- One open attendance per (account, contact, channel). Claimed before OpenInbound/OpenOutbound
-- is written, released when the attendance is finalized; the primary key makes two concurrent
-- openings impossible. A claim whose attendance never got written (a crash in between) or was
-- finalized without the release is taken over (see commands/src/attendances/open_keys.rs).
CREATE TABLE attendance_open_keys
(
    account_id    uuid        NOT NULL,
    contact_id    uuid        NOT NULL,
    channel       text        NOT NULL,
    attendance_id uuid        NOT NULL,
    claimed_at    timestamptz NOT NULL,
    PRIMARY KEY (account_id, contact_id, channel)
);
-- Finalizing releases by attendance.
CREATE INDEX attendance_open_keys_by_attendance ON attendance_open_keys (attendance_id);

-- Gateways redeliver: a repeated externalMessageId returns the attendance it went to and
-- changes nothing. The aggregate keeps no list of ids (its state stays small), hence a table.
CREATE TABLE inbound_message_ids
(
    account_id    uuid        NOT NULL,
    channel       text        NOT NULL,
    external_id   text        NOT NULL,
    attendance_id uuid        NOT NULL,
    claimed_at    timestamptz NOT NULL,
    PRIMARY KEY (account_id, channel, external_id)
);

-- openOutboundAttendance's idempotencyKey, per agent: a retry returns the first attendance.
CREATE TABLE outbound_idempotency
(
    agent_id      uuid        NOT NULL,
    key           text        NOT NULL,
    attendance_id uuid        NOT NULL,
    claimed_at    timestamptz NOT NULL,
    PRIMARY KEY (agent_id, key)
);

-- sendMessage's idempotencyKey, per agent: a retry returns the first message.
CREATE TABLE message_idempotency
(
    agent_id      uuid        NOT NULL,
    key           text        NOT NULL,
    message_id    uuid        NOT NULL,
    attendance_id uuid        NOT NULL,
    claimed_at    timestamptz NOT NULL,
    PRIMARY KEY (agent_id, key)
);

-- The daily sequence of protocol numbers (`20261127-000042`), keyed by the account-local day:
-- one counter per date for every account, so a protocol is unique across accounts too.
CREATE TABLE protocol_counters
(
    day  date PRIMARY KEY,
    last int NOT NULL
);

-- Contacts of non-phone channels (e-mail, webchat, social networks) by the channel's own
-- identifier; phone channels route by contact_phone_keys. Claimed like a phone key, so two
-- first messages from one identity create one contact.
CREATE TABLE contact_channel_ids
(
    account_id uuid        NOT NULL,
    channel    text        NOT NULL,
    identifier text        NOT NULL,
    contact_id uuid        NOT NULL,
    claimed_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, channel, identifier)
);

-- Files attached to attendance messages: the events name an attachment by id, this says which
-- stored blob it is, so the API can sign a URL for it.
CREATE TABLE attendance_attachments
(
    id           uuid PRIMARY KEY,
    sha256       text        NOT NULL REFERENCES blobs (sha256),
    file_name    text        NOT NULL,
    content_type text        NOT NULL,
    size         bigint      NOT NULL,
    created_at   timestamptz NOT NULL
);
