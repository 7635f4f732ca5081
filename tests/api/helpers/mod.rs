//! Shared set-up for the integration tests.

pub mod app;
pub mod db;
pub mod rebuild;
pub mod ws;
