//! The contract's object types, each built from a read-model row.

pub mod agent;
pub mod attendance;
pub mod audit;
pub mod catalogue;
pub mod changes;
pub mod chat;
pub mod connection;
pub mod contact;
pub mod counters;
