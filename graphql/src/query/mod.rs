//! Query fields, one object per area, merged in [`crate::schema::Query`].

pub mod attendances;
pub mod audit;
pub mod catalogue;
pub mod chat;
pub mod contacts;
pub mod counters;
pub mod me;
