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
#![deny(rustdoc::broken_intra_doc_links)]

pub mod agent;
pub mod contact;
pub mod kinds;
pub mod validation;
pub mod values;
