//! Shared set-up for the integration tests.

pub mod db;
