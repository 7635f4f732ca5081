//! Subscription fields, one object per area, merged in [`crate::schema::Subscription`].

pub mod attendances;
pub mod chat;
pub mod realtime;
