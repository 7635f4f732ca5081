//! Use cases: each turns API input into domain commands, fetches what the decision needs, and
//! runs it on the event store through cqrs-es with the request's metadata.
//!
//! # Layout
//! - [`context`], [`clock`], [`error`]: who, when, and what can go wrong.
//! - [`store`]: cqrs-es wired to postgres-es; [`cache`]: the aggregates kept in memory, as many
//!   as [`recent`] keeps ([`trusted_load`]: deciding on them unchecked, the append checking);
//!   [`inline`]: read models applied in the command's transaction; [`stored_event`]: the log's rows.
//! - [`auth`]: sessions, tokens, throttling, login and logout.
//! - [`admin`]: the catalogue the Admin Panel configures.
//! - [`contacts`], [`agents`]: one file per use case.
#![deny(rustdoc::broken_intra_doc_links)]

pub mod admin;
pub mod agents;
pub mod attendances;
pub mod auth;
pub mod cache;
pub mod chat;
pub mod clock;
pub mod contacts;
pub mod context;
pub mod db;
pub mod error;
pub mod files;
pub mod inline;
pub mod passwords;
pub mod recent;
pub mod services;
pub mod store;
pub mod stored_event;
pub mod tokens;
pub mod trusted_load;

pub use clock::Clock;
pub use context::{Actor, CommandContext};
pub use error::{CommandError, CommandResult};
pub use services::{CommandSettings, Commands};
