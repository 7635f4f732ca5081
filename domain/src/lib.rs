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
#![deny(rustdoc::broken_intra_doc_links)]

pub mod agent;
pub mod kinds;
pub mod validation;
pub mod values;
