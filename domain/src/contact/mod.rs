//! The Contact aggregate: a customer of an account, with its profile, addresses, image and the
//! channel identities it wrote in from.
//!
//! # Layout
//! - [`command`]: what may be asked, as raw input plus what the use case looked up.
//! - [`event`]: what happened, and the normalised values it carries.
//! - [`error`]: why a command is refused.
//! - [`aggregate`]: the state and `decide`.
//! - [`rules`]: every contact rule, by name.

pub mod aggregate;
pub mod command;
pub mod error;
pub mod event;
pub mod rules;
#[cfg(test)]
mod tests;

pub use aggregate::Contact;
pub use command::{
    AddressInput, ContactCommand, ContactInput, ContactPatch, PhoneInput, ReferenceCheck,
};
pub use error::ContactError;
pub use event::{Address, ContactChanges, ContactEvent, ContactProfile, ImageRef, LinkedChannel};
