//! graphql crate.
