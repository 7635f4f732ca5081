//! The pure domain of the Agent Panel: aggregates, their commands and events, and every business
//! rule. No IO lives here: whatever a decision needs from the outside world (the clock, whether a
//! phone is taken, a service's survey flag) is fetched by the `commands` crate and put into the
//! command.
//!
//! # Layout
//! - [`validation`]: field errors shared by every aggregate.
//! - [`kinds`]: closed sets (roles, channels, states) shared with the API.
//! - [`values`]: value types that cannot hold an invalid value (CPF/CNPJ, phone, CEP, UF, ...).
//! - [`contact`]: the Contact aggregate.
//! - [`agent`]: the Agent aggregate (registration, credentials, presence).
//! - [`attendance`]: the Attendance aggregate.
//!
//! # Business rules: contacts and values
//! - A CPF or CNPJ (alphanumeric CNPJ included) has valid check digits: [`values::Document::parse`].
//! - Phones are stored in E.164 with Brazil's numbering rules: [`values::Phone::parse`].
//! - A contact is routed by its phone's routing key, which ignores a Brazilian mobile's ninth
//!   digit: [`values::Phone::routing_key`]; one routing phone per contact in an account:
//!   [`contact::rules::check_phone_free`].
//! - Text limits: [`values::NAME_MAX`], [`values::SHORT_TEXT_MAX`], [`values::LONG_TEXT_MAX`].
//! - Birth dates are not in the future nor before [`values::birth_date::BIRTH_DATE_MIN`].
//! - Once any address field is given, type, CEP, street, number, neighbourhood, city and UF are
//!   required: [`contact::rules::address_is_empty`], [`contact::rules::parse_address`].
//! - At most [`contact::rules::ADDRESSES_MAX`] addresses and [`contact::rules::TAGS_MAX`] tags.
//! - Every referenced id exists: [`contact::rules::check_references`].
//! - Contact images: [`contact::rules::IMAGE_CONTENT_TYPES`], [`contact::rules::IMAGE_MAX_BYTES`].
//! - Template bodies number their placeholders `{{1}}`..`{{N}}` without gaps, and a send fills
//!   each one: [`values::TemplateBody::parse`], [`values::TemplateBody::render`].
//!
//! # Business rules: agents and attendances
//! - Agent names, roles and limits: [`agent::rules::parse_name`], [`agent::rules::check_role`]
//!   (no INTEGRATION agents), [`agent::rules::MAX_CONCURRENT_LIMIT`],
//!   [`agent::rules::MAX_SERVICES_PER_AGENT`].
//! - Password policy, checked before hashing: [`agent::rules::check_password_policy`].
//! - Agent images: [`agent::rules::IMAGE_CONTENT_TYPES`], [`agent::rules::IMAGE_MAX_BYTES`].
//! - Inactive agents cannot log in; pauses only while logged in; the last logout ends the pause;
//!   a password change ends the other sessions; deactivating ends them all: [`agent::Agent::decide`].
//! - Logged time and routability: [`agent::Agent::logged_seconds`], [`agent::Agent::is_available`].
//! - The WhatsApp Business API window: [`attendance::rules::WINDOW`],
//!   [`attendance::rules::window_open`] (closed at exactly 24 h), [`attendance::rules::check_window`].
//! - Who may act on an attendance: [`attendance::rules`] (table), [`attendance::rules::check_holder`],
//!   [`attendance::rules::check_holder_or_supervisor`].
//! - Bulk actions take 1 to [`attendance::rules::MAX_BULK`] distinct ids:
//!   [`attendance::rules::check_bulk`].
//! - A bulk finalize never requests the survey: [`attendance::AttendanceEvent::AttendanceFinalized`].
//! - Protocol numbers: [`attendance::rules::protocol_number`].
//! - Message limits: [`attendance::rules::MESSAGE_MAX_CHARS`],
//!   [`attendance::rules::INBOUND_TEXT_MAX_CHARS`], [`attendance::rules::MAX_ATTACHMENTS`],
//!   [`attendance::rules::PREVIEW_MAX_CHARS`], [`attendance::rules::FINALIZE_REASON_MAX_CHARS`].
//! - Chat between agents: [`chat`] (recipient, text, attachment count, size, name and type).
#![deny(rustdoc::broken_intra_doc_links)]

pub mod agent;
pub mod attendance;
pub mod catalogue;
pub mod chat;
pub mod contact;
pub mod files;
pub mod kinds;
pub mod upcasting;
pub mod validation;
pub mod values;
