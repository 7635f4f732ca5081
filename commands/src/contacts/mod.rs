//! Contact use cases (items 2 and 3): register, update, addresses, image, channel links.

pub mod addresses;
pub mod by_phone;
pub mod image;
pub mod phone_keys;
pub mod references;
pub mod register;
pub mod stream;
pub mod update;

use domain::contact::ContactError;

use crate::error::CommandError;

impl From<ContactError> for CommandError {
    fn from(e: ContactError) -> Self {
        match e {
            ContactError::Validation(v) => CommandError::Validation(v),
            ContactError::PhoneInUse { existing_id } => CommandError::Conflict {
                message: format!("the phone is already used by contact {existing_id}"),
                existing_id: Some(existing_id),
            },
            e @ ContactError::VersionMismatch { .. } => CommandError::Conflict {
                message: e.to_string(),
                existing_id: None,
            },
            ContactError::NotFound => CommandError::not_found("contact"),
            ContactError::AlreadyRegistered => CommandError::Conflict {
                message: "contact already registered".into(),
                existing_id: None,
            },
            ContactError::AddressNotFound => CommandError::not_found("address"),
        }
    }
}
