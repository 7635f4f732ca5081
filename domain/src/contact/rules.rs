//! The Contact's business rules, one named constant or function each, so that every rule can be
//! found from the index in the crate docs and is checked in exactly one place.
//!
//! Field errors produced here carry paths relative to the contact input (`name`, `phone.number`,
//! `street`); the aggregate puts address errors under `addresses.N` when registering.

use chrono::NaiveDate;
use uuid::Uuid;

use super::command::{AddressInput, ContactInput, PhoneInput, ReferenceCheck};
use super::error::ContactError;
use super::event::{Address, ContactProfile, ImageRef};
use crate::kinds::ChannelType;
use crate::validation::{FieldError, ValidationErrors};
use crate::values::{
    optional_text, required_text, BirthDate, Cep, Document, Email, GeoPoint, Phone, LONG_TEXT_MAX,
    NAME_MAX, SHORT_TEXT_MAX,
};

/// Most addresses one contact may have: a person or company has a handful; the bound keeps one
/// registration event and the read model's rows small.
pub const ADDRESSES_MAX: usize = 20;
/// Most tags on one contact: tags are for filtering, and beyond a few dozen they stop meaning
/// anything while every contact row carries them.
pub const TAGS_MAX: usize = 50;
/// Largest contact image, the same limit the contract sets for agent images.
pub const IMAGE_MAX_BYTES: i64 = 5 * 1024 * 1024;
/// Image formats every browser shows, the same set the contract allows for agent images.
pub const IMAGE_CONTENT_TYPES: [&str; 3] = ["image/png", "image/jpeg", "image/webp"];
/// Longest channel identifier: room for the longest e-mail address (254) and any social id.
pub const CHANNEL_IDENTIFIER_MAX: usize = 255;
/// The fields an address must have once any of its fields is given (contract, `AddressInput`).
pub const REQUIRED_ADDRESS_FIELDS: [&str; 7] = [
    "type",
    "cep",
    "street",
    "number",
    "neighborhood",
    "city",
    "uf",
];

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// An address with no field given (blank text counts as not given): skipped when registering, so
/// a form's empty address block is harmless; refused by `AddAddress` as missing every required
/// field.
pub fn address_is_empty(a: &AddressInput) -> bool {
    a.address_type.is_none()
        && blank(&a.cep)
        && blank(&a.street)
        && blank(&a.number)
        && blank(&a.complement)
        && blank(&a.neighborhood)
        && blank(&a.city)
        && blank(&a.reference_point)
        && blank(&a.reference)
        && a.location.is_none()
        && a.house_type.is_none()
        && a.uf.is_none()
}

/// The address-completeness rule: type, CEP, street, number, neighbourhood, city and UF
/// ([`REQUIRED_ADDRESS_FIELDS`]) are required; the rest is optional. Every bad field is reported.
pub fn parse_address(id: Uuid, a: &AddressInput) -> Result<Address, ValidationErrors> {
    let mut e = ValidationErrors::default();
    let mut required = |field: &str, given: bool| {
        if !given {
            e.push(FieldError::new(field, "is required"));
        }
    };
    required("type", a.address_type.is_some());
    required("uf", a.uf.is_some());
    let cep = match a.cep.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => e.check("cep", Cep::parse(s)),
        None => e.check("cep", Err(FieldError::new("", "is required"))),
    };
    let text = |s: &Option<String>| s.as_deref().unwrap_or("").to_string();
    let street = e.check("street", required_text(&text(&a.street), LONG_TEXT_MAX));
    let number = e.check("number", required_text(&text(&a.number), SHORT_TEXT_MAX));
    let neighborhood = e.check(
        "neighborhood",
        required_text(&text(&a.neighborhood), SHORT_TEXT_MAX),
    );
    let city = e.check("city", required_text(&text(&a.city), SHORT_TEXT_MAX));
    let complement = e.check(
        "complement",
        optional_text(a.complement.as_deref(), SHORT_TEXT_MAX),
    );
    let reference_point = e.check(
        "referencePoint",
        optional_text(a.reference_point.as_deref(), LONG_TEXT_MAX),
    );
    let reference = e.check(
        "reference",
        optional_text(a.reference.as_deref(), LONG_TEXT_MAX),
    );
    let location = e.check(
        "location",
        a.location
            .map(|(lat, lon)| GeoPoint::parse(lat, lon))
            .transpose(),
    );
    match (
        a.address_type,
        a.uf,
        cep,
        street,
        number,
        neighborhood,
        city,
        complement,
        reference_point,
        reference,
        location,
    ) {
        (
            Some(address_type),
            Some(uf),
            Some(cep),
            Some(street),
            Some(number),
            Some(neighborhood),
            Some(city),
            Some(complement),
            Some(reference_point),
            Some(reference),
            Some(location),
        ) if e.is_empty() => Ok(Address {
            id,
            address_type,
            cep,
            street,
            number,
            complement,
            neighborhood,
            city,
            reference_point,
            reference,
            location,
            house_type: a.house_type,
            uf,
        }),
        _ => Err(e),
    }
}

/// `name`: required, at most [`NAME_MAX`] characters.
pub fn parse_name(s: &str) -> Result<String, FieldError> {
    required_text(s, NAME_MAX)
}

/// A phone input; a blank number means no phone. Errors are on `ddi` or `number`.
pub fn parse_phone(p: &PhoneInput) -> Result<Option<Phone>, FieldError> {
    if p.number.trim().is_empty() {
        return Ok(None);
    }
    Phone::parse(&p.ddi, &p.number).map(Some)
}

/// `document`: a CPF or CNPJ with valid check digits; blank means none.
pub fn parse_document(s: &str) -> Result<Option<Document>, FieldError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    Document::parse(s).map(Some)
}

/// `email`: blank means none.
pub fn parse_email(s: &str) -> Result<Option<Email>, FieldError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    Email::parse(s).map(Some)
}

/// `motherName`: optional, at most [`NAME_MAX`] characters.
pub fn parse_mother_name(s: &str) -> Result<Option<String>, FieldError> {
    optional_text(Some(s), NAME_MAX)
}

/// `rg`, `registrationNumber`: free text up to [`SHORT_TEXT_MAX`].
pub fn parse_short_text(s: &str) -> Result<Option<String>, FieldError> {
    optional_text(Some(s), SHORT_TEXT_MAX)
}

/// `extra1`..`extra3`: free text up to [`LONG_TEXT_MAX`].
pub fn parse_extra(s: &str) -> Result<Option<String>, FieldError> {
    optional_text(Some(s), LONG_TEXT_MAX)
}

/// `tagIds`: duplicates dropped (first occurrence kept), at most [`TAGS_MAX`].
pub fn parse_tag_ids(ids: Vec<Uuid>) -> Result<Vec<Uuid>, FieldError> {
    let mut unique: Vec<Uuid> = Vec::with_capacity(ids.len());
    for id in ids {
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    if unique.len() > TAGS_MAX {
        return Err(FieldError::new(
            "",
            format!("must have at most {TAGS_MAX} tags"),
        ));
    }
    Ok(unique)
}

/// Two tag lists are the same change-wise when they hold the same tags, in any order.
pub fn same_tags(a: &[Uuid], b: &[Uuid]) -> bool {
    a.len() == b.len() && a.iter().all(|t| b.contains(t))
}

fn check<T>(
    e: &mut ValidationErrors,
    field: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Result<Option<T>, FieldError>,
) -> Option<T> {
    raw.and_then(|s| e.check(field, parse(s)).flatten())
}

/// Parses every field of a registration but the account and the addresses, collecting each bad
/// field under its contract name. `today` is the account's local date.
pub fn parse_profile(
    input: &ContactInput,
    today: NaiveDate,
    e: &mut ValidationErrors,
) -> Option<ContactProfile> {
    let before = e.0.len();
    let name = e.check("name", parse_name(&input.name));
    let profile = ContactProfile {
        name: String::new(),
        mother_name: check(
            e,
            "motherName",
            input.mother_name.as_deref(),
            parse_mother_name,
        ),
        phone: input
            .phone
            .as_ref()
            .and_then(|p| e.check("phone", parse_phone(p)).flatten()),
        phone2: input
            .phone2
            .as_ref()
            .and_then(|p| e.check("phone2", parse_phone(p)).flatten()),
        active: input.active,
        classification_id: input.classification_id,
        tag_ids: e
            .check("tagIds", parse_tag_ids(input.tag_ids.clone()))
            .unwrap_or_default(),
        document: check(e, "document", input.document.as_deref(), parse_document),
        rg: check(e, "rg", input.rg.as_deref(), parse_short_text),
        registration_number: check(
            e,
            "registrationNumber",
            input.registration_number.as_deref(),
            parse_short_text,
        ),
        email: check(e, "email", input.email.as_deref(), parse_email),
        birth_date: input
            .birth_date
            .and_then(|d| e.check("birthDate", BirthDate::parse(d, today))),
        portfolio_agent_id: input.portfolio_agent_id,
        extra1: check(e, "extra1", input.extra1.as_deref(), parse_extra),
        extra2: check(e, "extra2", input.extra2.as_deref(), parse_extra),
        extra3: check(e, "extra3", input.extra3.as_deref(), parse_extra),
    };
    match name {
        Some(name) if e.0.len() == before => Some(ContactProfile { name, ..profile }),
        _ => None,
    }
}

/// Every id the input names must exist: reported as "does not exist" on `tagIds`,
/// `classificationId` and `portfolioAgentId`. (`accountId` is checked by registration only.)
pub fn check_references(refs: &ReferenceCheck, e: &mut ValidationErrors) {
    if !refs.unknown_tag_ids.is_empty() {
        let ids: Vec<String> = refs.unknown_tag_ids.iter().map(Uuid::to_string).collect();
        e.push(FieldError::new(
            "tagIds",
            format!("does not exist: {}", ids.join(", ")),
        ));
    }
    if refs.classification_exists == Some(false) {
        e.push(FieldError::new("classificationId", "does not exist"));
    }
    if refs.portfolio_agent_exists == Some(false) {
        e.push(FieldError::new("portfolioAgentId", "does not exist"));
    }
}

/// One routing phone per contact within an account: another contact (not this one) already
/// using the phone's routing key makes the change a conflict.
pub fn check_phone_free(own_id: Uuid, phone_taken_by: Option<Uuid>) -> Result<(), ContactError> {
    match phone_taken_by {
        Some(existing_id) if existing_id != own_id => Err(ContactError::PhoneInUse { existing_id }),
        _ => Ok(()),
    }
}

/// An image reference must name a SHA-256 (64 hex digits, stored lowercase), one of
/// [`IMAGE_CONTENT_TYPES`] and a size from 1 to [`IMAGE_MAX_BYTES`]. Errors are on `image`.
pub fn parse_image(image: ImageRef) -> Result<ImageRef, FieldError> {
    let sha256 = image.sha256.to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FieldError::new(
            "image",
            "must name a SHA-256 of 64 hex digits",
        ));
    }
    if !IMAGE_CONTENT_TYPES.contains(&image.content_type.as_str()) {
        return Err(FieldError::new("image", "must be PNG, JPEG or WebP"));
    }
    if image.size < 1 || image.size > IMAGE_MAX_BYTES {
        return Err(FieldError::new(
            "image",
            format!("must have 1 to {IMAGE_MAX_BYTES} bytes"),
        ));
    }
    Ok(ImageRef { sha256, ..image })
}

/// A phone channel's identifier is an E.164 phone (stored normalised); any other channel's is a
/// non-blank text of at most [`CHANNEL_IDENTIFIER_MAX`] characters. Errors are on `identifier`.
pub fn parse_channel_identifier(channel: ChannelType, s: &str) -> Result<String, FieldError> {
    let r = if channel.is_phone_channel() {
        Phone::parse_e164(s).map(|p| p.e164().to_string())
    } else {
        required_text(s, CHANNEL_IDENTIFIER_MAX)
    };
    r.map_err(|e| e.under("identifier"))
}
