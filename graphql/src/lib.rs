//! The GraphQL API of the Agent Panel: the contract's schema (`../shared/spec/schema.graphql`),
//! authentication, error codes, limits, and the HTTP/websocket routes serving it.
//!
//! # Layout
//! - [`schema`]: Query, Mutation and Subscription assembled from [`query`] and [`mutation`].
//! - [`types`]: the contract's object types, built from read-model rows.
//! - [`error`]: the one mapping from failures to `extensions.code`; [`error_codes`] gives one
//!   to the errors async-graphql makes itself ([`input_path`] names their input field).
//! - [`auth`]: who is calling, and the role guards.
//! - [`routes`]: the axum router; [`files`]: signed file URLs; [`client_address`]: who is
//!   calling, behind trusted proxies or not.
//! - [`limits`]: every size and shape limit, named; [`loaders`]: batch loaders for lists.
//! - [`parse_cache`]: each query text parsed once.
#![deny(rustdoc::broken_intra_doc_links)]

pub mod attachments;
pub mod auth;
pub mod client_address;
pub mod error;
pub mod error_codes;
pub mod feed;
pub mod files;
pub mod input_path;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod parse_cache;
pub mod presence;
pub mod query;
pub mod routes;
pub mod scalars;
pub mod schema;
pub mod state;
pub mod subscription;
pub mod types;
pub mod uploads;
pub mod ws;

pub use client_address::TrustedProxy;
pub use routes::router;
pub use schema::{build_schema, sdl, AppSchema};
pub use state::{ApiSettings, ApiState};
