//! Contract types: contact.
