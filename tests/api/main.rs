//! The integration tests: one binary, so that they share one build and one test database server.

mod admin;
mod audit;
mod contacts;
mod db_smoke;
mod helpers;
