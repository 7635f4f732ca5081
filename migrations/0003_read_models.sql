-- Read models built by the projections from the event log (projections/src). They can always
-- be rebuilt by `agent-panel replay`; never write them from anywhere else.

-- Agents as the API and the auth layer read them.
CREATE TABLE agents
(
    id              uuid PRIMARY KEY,
    version         bigint      NOT NULL,
    name            text        NOT NULL,
    name_search     text        NOT NULL,
    email           text        NOT NULL,
    role            text        NOT NULL,
    password_hash   text        NOT NULL,
    service_ids     uuid[]      NOT NULL DEFAULT '{}',
    max_concurrent  int         NOT NULL,
    active          boolean     NOT NULL,
    image_sha256    text,
    presence        text        NOT NULL DEFAULT 'OFFLINE',
    logged_in_since timestamptz,
    pause_reason_id uuid,
    pause_since     timestamptz,
    idle_since      timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX agents_by_email ON agents (email);
CREATE INDEX agents_by_service ON agents USING gin (service_ids);

-- Contacts, with normalised columns for the panel's searches.
CREATE TABLE contacts
(
    id                  uuid PRIMARY KEY,
    account_id          uuid        NOT NULL,
    version             bigint      NOT NULL,
    name                text        NOT NULL,
    name_search         text        NOT NULL,
    mother_name         text,
    phone_e164          text,
    phone_digits        text,
    phone_key           text,
    phone2_e164         text,
    phone2_digits       text,
    active              boolean     NOT NULL,
    classification_id   uuid,
    tag_ids             uuid[]      NOT NULL DEFAULT '{}',
    document_kind       text,
    document_value      text,
    rg                  text,
    registration_number text,
    registration_search text,
    email               text,
    birth_date          date,
    portfolio_agent_id  uuid,
    extra1              text,
    extra2              text,
    extra3              text,
    image_sha256        text,
    image_content_type  text,
    addresses           jsonb       NOT NULL DEFAULT '[]',
    channels            jsonb       NOT NULL DEFAULT '[]',
    -- The whole contact as the domain folds it (domain::contact::Contact), so the API renders
    -- exactly what the events say with the same code that rebuilds a contact as of an instant.
    state               jsonb       NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX contacts_by_account_name ON contacts (account_id, name_search, id);
CREATE INDEX contacts_by_document ON contacts (document_value);
CREATE INDEX contacts_by_phone ON contacts (phone_digits);
CREATE INDEX contacts_by_phone_key ON contacts (account_id, phone_key);
CREATE INDEX contacts_by_email ON contacts (lower(email));

-- The contact routing key (account, primary phone) is unique. Claimed by the use case before
-- the contact's event is written, so two concurrent registrations cannot both win; a claim
-- left behind by a crash is taken over by a later claim once it is old and the contacts read
-- model shows no contact holding the phone (see commands/src/contacts/phone_keys.rs).
CREATE TABLE contact_phone_keys
(
    account_id  uuid        NOT NULL,
    routing_key text        NOT NULL,
    contact_id  uuid        NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, routing_key)
);
CREATE INDEX contact_phone_keys_by_contact ON contact_phone_keys (contact_id);
