//! Subscription fields, one object per area, merged in [`crate::schema::Subscription`].

pub mod realtime;
