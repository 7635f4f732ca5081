//! commands crate.
