//! Value types that cannot hold an invalid value: each `parse` either returns a normalised value
//! or a [`FieldError`](crate::validation::FieldError) whose `field` is relative (usually empty), so
//! the caller can put it under the input's path with
//! [`ValidationErrors::check`](crate::validation::ValidationErrors::check).
//!
//! # Layout
//! - [`document`]: CPF and CNPJ (alphanumeric CNPJ included).
//! - [`phone`]: E.164 phones, Brazilian numbering rules and the routing key.
//! - [`cep`], [`uf`]: Brazilian postal code and state.
//! - [`email`], [`birth_date`], [`geo`]: the remaining contact fields with a syntax.
//! - [`text`]: trimmed free text with named maximum lengths.
//! - [`search`]: folding used by read models for accent- and punctuation-insensitive search.
//! - [`template`]: WhatsApp template bodies with `{{n}}` placeholders.
//! - [`patch`]: absent / clear / set, for partial updates.

pub mod birth_date;
pub mod cep;
pub mod document;
pub mod email;
pub mod geo;
pub mod patch;
pub mod phone;
pub mod search;
pub mod template;
pub mod text;
pub mod uf;

pub use birth_date::BirthDate;
pub use cep::Cep;
pub use document::{Document, DocumentKind};
pub use email::Email;
pub use geo::GeoPoint;
pub use patch::Patch;
pub use phone::Phone;
pub use search::{digits, fold};
pub use template::TemplateBody;
pub use text::{optional_text, required_text, LONG_TEXT_MAX, NAME_MAX, SHORT_TEXT_MAX};
pub use uf::Uf;

/// Drops the separators people type inside codes (`.`, `-`, `/`, spaces), keeping everything
/// else so that a stray letter is still reported rather than silently removed.
pub(crate) fn strip_separators(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '.' | '-' | '/') && !c.is_whitespace())
        .collect()
}
