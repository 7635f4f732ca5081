//! What may be asked of a Contact. Commands carry the raw input as the API gives it (the domain
//! parses it once and reports every bad field) plus whatever the use case looked up: references,
//! phone uniqueness, today's date and the clock.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::event::ImageRef;
use crate::kinds::{AddressType, ChannelType, HouseType};
use crate::values::{Patch, Uf};

/// The contract's `PhoneInput`. A blank `number` means no phone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhoneInput {
    pub ddi: String,
    pub number: String,
}

/// The contract's `AddressInput`: every field optional, see
/// [`address_is_empty`](super::rules::address_is_empty) and
/// [`parse_address`](super::rules::parse_address) for the completeness rule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AddressInput {
    pub address_type: Option<AddressType>,
    pub cep: Option<String>,
    pub street: Option<String>,
    pub number: Option<String>,
    pub complement: Option<String>,
    pub neighborhood: Option<String>,
    pub city: Option<String>,
    pub reference_point: Option<String>,
    pub reference: Option<String>,
    /// (latitude, longitude).
    pub location: Option<(f64, f64)>,
    pub house_type: Option<HouseType>,
    pub uf: Option<Uf>,
}

/// The contract's `RegisterContactInput` without `accountId` (on the command), each address with
/// the id the use case chose for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactInput {
    pub name: String,
    pub mother_name: Option<String>,
    pub phone: Option<PhoneInput>,
    pub phone2: Option<PhoneInput>,
    pub active: bool,
    pub classification_id: Option<Uuid>,
    pub tag_ids: Vec<Uuid>,
    /// CPF or CNPJ, with or without punctuation.
    pub document: Option<String>,
    pub rg: Option<String>,
    pub registration_number: Option<String>,
    pub email: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub portfolio_agent_id: Option<Uuid>,
    pub extra1: Option<String>,
    pub extra2: Option<String>,
    pub extra3: Option<String>,
    pub addresses: Vec<(Uuid, AddressInput)>,
}

/// Empty, with the contract's defaults (`active: true`).
impl Default for ContactInput {
    fn default() -> Self {
        Self {
            name: String::new(),
            mother_name: None,
            phone: None,
            phone2: None,
            active: true,
            classification_id: None,
            tag_ids: Vec::new(),
            document: None,
            rg: None,
            registration_number: None,
            email: None,
            birth_date: None,
            portfolio_agent_id: None,
            extra1: None,
            extra2: None,
            extra3: None,
            addresses: Vec::new(),
        }
    }
}

/// The contract's `UpdateContactInput`: absent fields stay, `Clear` (null) clears. `name` and
/// `active` cannot be cleared; clearing `tagIds` leaves no tags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactPatch {
    pub name: Patch<String>,
    pub mother_name: Patch<String>,
    pub phone: Patch<PhoneInput>,
    pub phone2: Patch<PhoneInput>,
    pub active: Patch<bool>,
    pub classification_id: Patch<Uuid>,
    pub tag_ids: Patch<Vec<Uuid>>,
    pub document: Patch<String>,
    pub rg: Patch<String>,
    pub registration_number: Patch<String>,
    pub email: Patch<String>,
    pub birth_date: Patch<NaiveDate>,
    pub portfolio_agent_id: Patch<Uuid>,
    pub extra1: Patch<String>,
    pub extra2: Patch<String>,
    pub extra3: Patch<String>,
}

/// What the use case found when it looked up the ids the input names. `None` means "not looked
/// up" because the input named no such id; `Some(false)` is reported as "does not exist".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceCheck {
    /// Only read by `RegisterContact`: an existing contact's account cannot change.
    pub account_exists: bool,
    /// The given tag ids that name no tag of the account.
    pub unknown_tag_ids: Vec<Uuid>,
    pub classification_exists: Option<bool>,
    pub portfolio_agent_exists: Option<bool>,
}

impl ReferenceCheck {
    /// Every id the input named was found (or it named none).
    pub fn found() -> Self {
        Self {
            account_exists: true,
            unknown_tag_ids: Vec::new(),
            classification_exists: None,
            portfolio_agent_exists: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ContactCommand {
    RegisterContact {
        contact_id: Uuid,
        account_id: Uuid,
        input: ContactInput,
        refs: ReferenceCheck,
        /// Another contact of the account whose phone has the same
        /// [`routing_key`](crate::values::Phone::routing_key).
        phone_taken_by: Option<Uuid>,
        /// The account's local date, for "birth date not in the future".
        today: NaiveDate,
        at: DateTime<Utc>,
    },
    UpdateContact {
        patch: ContactPatch,
        refs: ReferenceCheck,
        phone_taken_by: Option<Uuid>,
        /// When given, must equal the contact's version (events so far).
        expected_version: Option<i64>,
        today: NaiveDate,
        at: DateTime<Utc>,
    },
    AddAddress {
        address_id: Uuid,
        input: AddressInput,
        at: DateTime<Utc>,
    },
    /// Full replacement of one address.
    UpdateAddress {
        address_id: Uuid,
        input: AddressInput,
        at: DateTime<Utc>,
    },
    RemoveAddress {
        address_id: Uuid,
        at: DateTime<Utc>,
    },
    /// `None` removes the image.
    SetImage {
        image: Option<ImageRef>,
        at: DateTime<Utc>,
    },
    /// Records a channel identity the contact wrote in from; nothing happens if already linked.
    LinkChannel {
        channel: ChannelType,
        identifier: String,
        account_id: Uuid,
        at: DateTime<Utc>,
    },
}
