-- Who may call the API, and what the Admin Panel configures. Agents themselves are an
-- event-sourced aggregate (their read model is in 0003); the catalogue is plain tables, each
-- change recorded in admin_audit with who made it and when.

-- Opaque bearer tokens: only a SHA-256 of the token is stored, so a database leak leaks no token.
CREATE TABLE sessions
(
    id          uuid PRIMARY KEY,
    token_hash  bytea UNIQUE NOT NULL,
    agent_id    uuid        NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    end_reason  text,
    address     text
);
CREATE INDEX sessions_open_by_agent ON sessions (agent_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_expiring ON sessions (expires_at) WHERE ended_at IS NULL;

CREATE TABLE integration_tokens
(
    id          uuid PRIMARY KEY,
    name        text UNIQUE NOT NULL,
    token_hash  bytea UNIQUE NOT NULL,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

-- Failed logins, for rate limiting per e-mail and per address across server instances.
CREATE TABLE login_failures
(
    id      bigserial PRIMARY KEY,
    email   text        NOT NULL,
    address text        NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (email, at);
CREATE INDEX login_failures_by_address ON login_failures (address, at);

-- E-mail uniqueness of agents, reserved before the AgentRegistered event is written: the
-- primary key makes two concurrent registrations of one e-mail impossible.
CREATE TABLE agent_emails
(
    email    text PRIMARY KEY,
    agent_id uuid UNIQUE NOT NULL
);

CREATE TABLE accounts
(
    id                 uuid PRIMARY KEY,
    name               text        NOT NULL,
    timezone           text        NOT NULL,
    default_service_id uuid,
    created_at         timestamptz NOT NULL,
    created_by         text        NOT NULL
);

CREATE TABLE services
(
    id             uuid PRIMARY KEY,
    account_id     uuid        NOT NULL REFERENCES accounts (id),
    name           text        NOT NULL,
    survey_enabled boolean     NOT NULL,
    created_at     timestamptz NOT NULL,
    created_by     text        NOT NULL,
    UNIQUE (account_id, name)
);
ALTER TABLE accounts ADD FOREIGN KEY (default_service_id) REFERENCES services (id);

-- The panel settings of the deployment: one row.
CREATE TABLE panel_settings
(
    id                    boolean PRIMARY KEY DEFAULT true CHECK (id),
    show_statistics       boolean     NOT NULL DEFAULT true,
    allow_image_change    boolean     NOT NULL DEFAULT true,
    allow_password_change boolean     NOT NULL DEFAULT true,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    updated_by            text        NOT NULL DEFAULT 'system'
);
INSERT INTO panel_settings DEFAULT VALUES;

CREATE TABLE pause_reasons
(
    id         uuid PRIMARY KEY,
    name       text UNIQUE NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL
);

CREATE TABLE tags
(
    id         uuid PRIMARY KEY,
    account_id uuid        NOT NULL REFERENCES accounts (id),
    name       text        NOT NULL,
    color      text,
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE classifications
(
    id         uuid PRIMARY KEY,
    account_id uuid        NOT NULL REFERENCES accounts (id),
    name       text        NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE templates
(
    id             uuid PRIMARY KEY,
    account_id     uuid        NOT NULL REFERENCES accounts (id),
    channel        text        NOT NULL,
    name           text        NOT NULL,
    language       text        NOT NULL,
    body           text        NOT NULL,
    variable_count int         NOT NULL,
    created_at     timestamptz NOT NULL,
    created_by     text        NOT NULL,
    UNIQUE (account_id, channel, name, language)
);

-- Every administrative change, for the audit of what is not event-sourced.
CREATE TABLE admin_audit
(
    id        bigserial PRIMARY KEY,
    actor     text        NOT NULL,
    action    text        NOT NULL,
    entity_id uuid,
    payload   jsonb       NOT NULL,
    at        timestamptz NOT NULL
);

-- Uploaded files (contact and agent images, attachments), stored once per content hash.
CREATE TABLE blobs
(
    sha256       text PRIMARY KEY,
    content_type text        NOT NULL,
    size         bigint      NOT NULL,
    data         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
