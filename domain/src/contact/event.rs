//! The events of a Contact's stream, and the normalised values they carry.
//!
//! Payloads are stored as JSON with camelCase keys, like the API, so an audit reader sees the
//! contract's field names. `event_type()` names are fixed literals: a stored name never changes.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::kinds::{AddressType, ChannelType, HouseType};
use crate::values::{BirthDate, Cep, Document, Email, GeoPoint, Phone, Uf};

/// One address of a contact, every required field present and valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub address_type: AddressType,
    pub cep: Cep,
    pub street: String,
    pub number: String,
    pub complement: Option<String>,
    pub neighborhood: String,
    pub city: String,
    pub reference_point: Option<String>,
    pub reference: Option<String>,
    pub location: Option<GeoPoint>,
    pub house_type: Option<HouseType>,
    pub uf: Uf,
}

/// A stored image: the blob store keys it by content hash; the API signs a URL for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRef {
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    pub content_type: String,
    /// Bytes.
    pub size: i64,
}

/// A channel identity the contact wrote in from (the Social tab): read-only for agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkedChannel {
    pub channel: ChannelType,
    /// E.164 for phone channels, else the channel's own id.
    pub identifier: String,
    pub account_id: Uuid,
    pub first_seen_at: DateTime<Utc>,
}

/// The contact's own fields (everything of `RegisterContactInput` but the account and the
/// addresses), normalised.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactProfile {
    pub name: String,
    pub mother_name: Option<String>,
    /// The routing phone: see [`Phone::routing_key`].
    pub phone: Option<Phone>,
    /// Informational only: never used to route.
    pub phone2: Option<Phone>,
    pub active: bool,
    pub classification_id: Option<Uuid>,
    pub tag_ids: Vec<Uuid>,
    pub document: Option<Document>,
    pub rg: Option<String>,
    pub registration_number: Option<String>,
    pub email: Option<Email>,
    pub birth_date: Option<BirthDate>,
    pub portfolio_agent_id: Option<Uuid>,
    pub extra1: Option<String>,
    pub extra2: Option<String>,
    pub extra3: Option<String>,
}

/// Reads a present field (even `null`) as `Some`, so that with `#[serde(default)]` an absent key
/// stays `None` (unchanged) while `null` becomes `Some(None)` (cleared).
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The fields an update changed; a field left out did not change. For a nullable field,
/// `Some(None)` means it was cleared, stored as an explicit `null`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub mother_name: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub phone: Option<Option<Phone>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub phone2: Option<Option<Phone>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub classification_id: Option<Option<Uuid>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_ids: Option<Vec<Uuid>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub document: Option<Option<Document>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub rg: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub registration_number: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub email: Option<Option<Email>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub birth_date: Option<Option<BirthDate>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub portfolio_agent_id: Option<Option<Uuid>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub extra1: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub extra2: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub extra3: Option<Option<String>>,
}

impl ContactChanges {
    /// Nothing changed: no event is emitted.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl ContactProfile {
    /// Applies the changed fields, leaving the others as they are.
    pub fn apply(&mut self, c: ContactChanges) {
        fn set<T>(field: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *field = v;
            }
        }
        set(&mut self.name, c.name);
        set(&mut self.mother_name, c.mother_name);
        set(&mut self.phone, c.phone);
        set(&mut self.phone2, c.phone2);
        set(&mut self.active, c.active);
        set(&mut self.classification_id, c.classification_id);
        set(&mut self.tag_ids, c.tag_ids);
        set(&mut self.document, c.document);
        set(&mut self.rg, c.rg);
        set(&mut self.registration_number, c.registration_number);
        set(&mut self.email, c.email);
        set(&mut self.birth_date, c.birth_date);
        set(&mut self.portfolio_agent_id, c.portfolio_agent_id);
        set(&mut self.extra1, c.extra1);
        set(&mut self.extra2, c.extra2);
        set(&mut self.extra3, c.extra3);
    }
}

/// Everything that happened to a contact, oldest first in its stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all_fields = "camelCase")]
pub enum ContactEvent {
    ContactRegistered {
        contact_id: Uuid,
        account_id: Uuid,
        #[serde(flatten)]
        profile: ContactProfile,
        addresses: Vec<Address>,
        at: DateTime<Utc>,
    },
    ContactUpdated {
        changes: ContactChanges,
        at: DateTime<Utc>,
    },
    AddressAdded {
        address: Address,
        at: DateTime<Utc>,
    },
    /// The whole address as it now stands (full replacement).
    AddressUpdated {
        address: Address,
        at: DateTime<Utc>,
    },
    AddressRemoved {
        address_id: Uuid,
        at: DateTime<Utc>,
    },
    ContactImageSet {
        image: ImageRef,
        at: DateTime<Utc>,
    },
    ContactImageCleared {
        at: DateTime<Utc>,
    },
    ChannelLinked {
        channel: ChannelType,
        identifier: String,
        account_id: Uuid,
        at: DateTime<Utc>,
    },
}

impl ContactEvent {
    /// When it happened (the command's injected clock).
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::ContactRegistered { at, .. }
            | Self::ContactUpdated { at, .. }
            | Self::AddressAdded { at, .. }
            | Self::AddressUpdated { at, .. }
            | Self::AddressRemoved { at, .. }
            | Self::ContactImageSet { at, .. }
            | Self::ContactImageCleared { at }
            | Self::ChannelLinked { at, .. } => *at,
        }
    }
}

impl DomainEvent for ContactEvent {
    fn event_type(&self) -> String {
        let name = match self {
            Self::ContactRegistered { .. } => "ContactRegistered",
            Self::ContactUpdated { .. } => "ContactUpdated",
            Self::AddressAdded { .. } => "AddressAdded",
            Self::AddressUpdated { .. } => "AddressUpdated",
            Self::AddressRemoved { .. } => "AddressRemoved",
            Self::ContactImageSet { .. } => "ContactImageSet",
            Self::ContactImageCleared { .. } => "ContactImageCleared",
            Self::ChannelLinked { .. } => "ChannelLinked",
        };
        name.to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}
