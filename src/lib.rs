//! The agent-panel server: settings, start-up, and the managed PostgreSQL. `main.rs` only parses
//! the command line and calls in here.
//!
//! # Layout
//! - [`app`]: build and run the server (`App::build`, `App::run_until`).
//! - [`wiring`]: which projections and background jobs run.
//! - [`cli`]: the command line (`serve`, `migrate`, `print-schema`, `create-admin`).
//! - [`postgres`]: a PostgreSQL cluster managed by the server when no DATABASE_URL is given.
#![deny(rustdoc::broken_intra_doc_links)]

pub mod app;
pub mod cli;
pub mod postgres;
pub mod wiring;

pub use app::{App, AppConfig};
