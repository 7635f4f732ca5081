//! Mutation fields, one object per area, merged in [`crate::schema::Mutation`].

pub mod admin;
pub mod agents;
pub mod attendances;
pub mod auth;
pub mod chat;
pub mod contacts;
