//! projections crate.
