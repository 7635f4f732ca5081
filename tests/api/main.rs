//! The integration tests: one binary, so that they share one build and one test database server.

mod admin;
mod attendances;
mod audit;
mod cache;
mod chat;
mod cli;
mod contacts;
mod counters;
mod crash;
mod db_smoke;
mod errors;
mod helpers;
mod login;
mod realtime;
mod routing;
