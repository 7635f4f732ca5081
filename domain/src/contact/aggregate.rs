//! The Contact aggregate: its state rebuilt from events, and `decide`, the pure function from a
//! command to the events it causes.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::command::{AddressInput, ContactCommand, ContactInput, ContactPatch, ReferenceCheck};
use super::error::ContactError;
use super::event::{
    Address, ContactChanges, ContactEvent, ContactProfile, ImageRef, LinkedChannel,
};
use super::rules;
use crate::kinds::ChannelType;
use crate::validation::{FieldError, ValidationErrors};
use crate::values::{BirthDate, Patch};

/// A contact as its events left it. Public so that other layers can render a contact rebuilt
/// from its events as of any instant (`contactAsOf`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Contact {
    /// False until `ContactRegistered`: every other command is then `NotFound`.
    pub registered: bool,
    pub id: Uuid,
    pub account_id: Uuid,
    pub profile: ContactProfile,
    pub addresses: Vec<Address>,
    pub image: Option<ImageRef>,
    pub channels: Vec<LinkedChannel>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Events applied so far: the contract's `Contact.version`.
    pub version: i64,
}

/// One nullable field of an update: the new value when it differs from the current one.
fn changed<R, T: PartialEq>(
    e: &mut ValidationErrors,
    field: &str,
    patch: Patch<R>,
    current: &Option<T>,
    parse: impl FnOnce(R) -> Result<Option<T>, FieldError>,
) -> Option<Option<T>> {
    let new = match patch {
        Patch::Absent => return None,
        Patch::Clear => None,
        Patch::Set(raw) => e.check(field, parse(raw))?,
    };
    (new != *current).then_some(new)
}

impl Contact {
    /// Decides what a command causes, without changing anything: the events to append, or why
    /// the command is refused.
    pub fn decide(&self, cmd: ContactCommand) -> Result<Vec<ContactEvent>, ContactError> {
        if let ContactCommand::RegisterContact {
            contact_id,
            account_id,
            input,
            refs,
            phone_taken_by,
            today,
            at,
        } = cmd
        {
            return self.register(
                contact_id,
                account_id,
                input,
                &refs,
                phone_taken_by,
                today,
                at,
            );
        }
        if !self.registered {
            return Err(ContactError::NotFound);
        }
        match cmd {
            ContactCommand::RegisterContact { .. } => unreachable!("handled above"),
            ContactCommand::UpdateContact {
                patch,
                refs,
                phone_taken_by,
                expected_version,
                today,
                at,
            } => self.update(patch, &refs, phone_taken_by, expected_version, today, at),
            ContactCommand::AddAddress {
                address_id,
                input,
                at,
            } => self.add_address(address_id, &input, at),
            ContactCommand::UpdateAddress {
                address_id,
                input,
                at,
            } => self.update_address(address_id, &input, at),
            ContactCommand::RemoveAddress { address_id, at } => {
                self.address(address_id)
                    .ok_or(ContactError::AddressNotFound)?;
                Ok(vec![ContactEvent::AddressRemoved { address_id, at }])
            }
            ContactCommand::SetImage { image, at } => self.set_image(image, at),
            ContactCommand::LinkChannel {
                channel,
                identifier,
                account_id,
                at,
            } => self.link_channel(channel, &identifier, account_id, at),
        }
    }

    /// The routing key of its primary phone ([`crate::values::Phone::routing_key`]); None
    /// before registration or without a phone.
    pub fn routing_key(&self) -> Option<String> {
        self.profile
            .phone
            .as_ref()
            .filter(|_| self.registered)
            .map(|p| p.routing_key())
    }

    /// Whether it routes by `key` in `account_id`: a claim of that key held for it must stand.
    pub fn holds_routing_key(&self, account_id: Uuid, key: &str) -> bool {
        self.account_id == account_id && self.routing_key().as_deref() == Some(key)
    }

    /// The address with this id, if the contact has it.
    pub fn address(&self, id: Uuid) -> Option<&Address> {
        self.addresses.iter().find(|a| a.id == id)
    }

    #[allow(clippy::too_many_arguments)] // the command's fields, destructured
    fn register(
        &self,
        contact_id: Uuid,
        account_id: Uuid,
        input: ContactInput,
        refs: &ReferenceCheck,
        phone_taken_by: Option<Uuid>,
        today: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<Vec<ContactEvent>, ContactError> {
        if self.registered {
            return Err(ContactError::AlreadyRegistered);
        }
        let mut e = ValidationErrors::default();
        if !refs.account_exists {
            e.push(FieldError::new("accountId", "does not exist"));
        }
        let profile = rules::parse_profile(&input, today, &mut e);
        let mut addresses = Vec::new();
        for (i, (id, a)) in input.addresses.iter().enumerate() {
            if rules::address_is_empty(a) {
                continue;
            }
            match rules::parse_address(*id, a) {
                Ok(address) => addresses.push(address),
                Err(errors) => errors
                    .0
                    .into_iter()
                    .for_each(|fe| e.push(fe.under(&format!("addresses.{i}")))),
            }
        }
        let given = input
            .addresses
            .iter()
            .filter(|(_, a)| !rules::address_is_empty(a))
            .count();
        if given > rules::ADDRESSES_MAX {
            e.push(FieldError::new(
                "addresses",
                format!("must have at most {} addresses", rules::ADDRESSES_MAX),
            ));
        }
        rules::check_references(refs, &mut e);
        e.into_result()?;
        let profile = profile.expect("no validation error, so the profile parsed");
        if profile.phone.is_some() {
            rules::check_phone_free(contact_id, phone_taken_by)?;
        }
        Ok(vec![ContactEvent::ContactRegistered {
            contact_id,
            account_id,
            profile,
            addresses,
            at,
        }])
    }

    fn update(
        &self,
        patch: ContactPatch,
        refs: &ReferenceCheck,
        phone_taken_by: Option<Uuid>,
        expected_version: Option<i64>,
        today: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<Vec<ContactEvent>, ContactError> {
        if let Some(expected) = expected_version {
            if expected != self.version {
                return Err(ContactError::VersionMismatch {
                    expected,
                    actual: self.version,
                });
            }
        }
        let p = &self.profile;
        let mut e = ValidationErrors::default();
        let cannot_clear = |e: &mut ValidationErrors, field: &str| {
            e.push(FieldError::new(field, "cannot be cleared"))
        };
        let name = match patch.name {
            Patch::Absent => None,
            Patch::Clear => {
                e.push(FieldError::new("name", "is required"));
                None
            }
            Patch::Set(s) => e
                .check("name", rules::parse_name(&s))
                .filter(|n| *n != p.name),
        };
        let active = match patch.active {
            Patch::Absent => None,
            Patch::Clear => {
                cannot_clear(&mut e, "active");
                None
            }
            Patch::Set(b) => (b != p.active).then_some(b),
        };
        let tag_ids = match patch.tag_ids {
            Patch::Absent => None,
            Patch::Clear => Some(Vec::new()),
            Patch::Set(ids) => e.check("tagIds", rules::parse_tag_ids(ids)),
        }
        .filter(|ids| !rules::same_tags(ids, &p.tag_ids));
        let text =
            |parse: fn(&str) -> Result<Option<String>, FieldError>| move |s: String| parse(&s);
        let changes = ContactChanges {
            name,
            mother_name: changed(
                &mut e,
                "motherName",
                patch.mother_name,
                &p.mother_name,
                text(rules::parse_mother_name),
            ),
            phone: changed(&mut e, "phone", patch.phone, &p.phone, |i| {
                rules::parse_phone(&i)
            }),
            phone2: changed(&mut e, "phone2", patch.phone2, &p.phone2, |i| {
                rules::parse_phone(&i)
            }),
            active,
            classification_id: changed(
                &mut e,
                "classificationId",
                patch.classification_id,
                &p.classification_id,
                |id| Ok(Some(id)),
            ),
            tag_ids,
            document: changed(&mut e, "document", patch.document, &p.document, |s| {
                rules::parse_document(&s)
            }),
            rg: changed(&mut e, "rg", patch.rg, &p.rg, text(rules::parse_short_text)),
            registration_number: changed(
                &mut e,
                "registrationNumber",
                patch.registration_number,
                &p.registration_number,
                text(rules::parse_short_text),
            ),
            email: changed(&mut e, "email", patch.email, &p.email, |s| {
                rules::parse_email(&s)
            }),
            birth_date: changed(&mut e, "birthDate", patch.birth_date, &p.birth_date, |d| {
                BirthDate::parse(d, today).map(Some)
            }),
            portfolio_agent_id: changed(
                &mut e,
                "portfolioAgentId",
                patch.portfolio_agent_id,
                &p.portfolio_agent_id,
                |id| Ok(Some(id)),
            ),
            extra1: changed(
                &mut e,
                "extra1",
                patch.extra1,
                &p.extra1,
                text(rules::parse_extra),
            ),
            extra2: changed(
                &mut e,
                "extra2",
                patch.extra2,
                &p.extra2,
                text(rules::parse_extra),
            ),
            extra3: changed(
                &mut e,
                "extra3",
                patch.extra3,
                &p.extra3,
                text(rules::parse_extra),
            ),
        };
        rules::check_references(refs, &mut e);
        e.into_result()?;
        if let Some(Some(_)) = changes.phone {
            rules::check_phone_free(self.id, phone_taken_by)?;
        }
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![ContactEvent::ContactUpdated { changes, at }])
    }

    fn add_address(
        &self,
        address_id: Uuid,
        input: &AddressInput,
        at: DateTime<Utc>,
    ) -> Result<Vec<ContactEvent>, ContactError> {
        let mut e = ValidationErrors::default();
        if self.address(address_id).is_some() {
            e.push(FieldError::new("addressId", "already exists"));
        }
        if self.addresses.len() >= rules::ADDRESSES_MAX {
            e.push(FieldError::new(
                "",
                format!("the contact already has {} addresses", rules::ADDRESSES_MAX),
            ));
        }
        let address = rules::parse_address(address_id, input);
        if let Err(errors) = &address {
            e.0.extend(errors.0.iter().cloned());
        }
        e.into_result()?;
        let address = address.expect("no validation error, so the address parsed");
        Ok(vec![ContactEvent::AddressAdded { address, at }])
    }

    fn update_address(
        &self,
        address_id: Uuid,
        input: &AddressInput,
        at: DateTime<Utc>,
    ) -> Result<Vec<ContactEvent>, ContactError> {
        let current = self
            .address(address_id)
            .ok_or(ContactError::AddressNotFound)?;
        let address = rules::parse_address(address_id, input)?;
        if address == *current {
            return Ok(Vec::new());
        }
        Ok(vec![ContactEvent::AddressUpdated { address, at }])
    }

    fn set_image(
        &self,
        image: Option<ImageRef>,
        at: DateTime<Utc>,
    ) -> Result<Vec<ContactEvent>, ContactError> {
        let Some(image) = image else {
            return Ok(match self.image {
                Some(_) => vec![ContactEvent::ContactImageCleared { at }],
                None => Vec::new(),
            });
        };
        let image = rules::parse_image(image).map_err(ValidationErrors::from)?;
        if self.image.as_ref() == Some(&image) {
            return Ok(Vec::new());
        }
        Ok(vec![ContactEvent::ContactImageSet { image, at }])
    }

    fn link_channel(
        &self,
        channel: ChannelType,
        identifier: &str,
        account_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Vec<ContactEvent>, ContactError> {
        let identifier =
            rules::parse_channel_identifier(channel, identifier).map_err(ValidationErrors::from)?;
        if self
            .channels
            .iter()
            .any(|c| c.channel == channel && c.identifier == identifier)
        {
            return Ok(Vec::new());
        }
        Ok(vec![ContactEvent::ChannelLinked {
            channel,
            identifier,
            account_id,
            at,
        }])
    }
}

impl Aggregate for Contact {
    const TYPE: &'static str = "Contact";
    type Command = ContactCommand;
    type Event = ContactEvent;
    type Error = ContactError;
    type Services = ();

    /// Only writes what [`Contact::decide`] returns: decisions stay pure and synchronous.
    async fn handle(
        &mut self,
        command: ContactCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), ContactError> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: ContactEvent) {
        self.version += 1;
        self.updated_at = event.at();
        match event {
            ContactEvent::ContactRegistered {
                contact_id,
                account_id,
                profile,
                addresses,
                at,
            } => {
                self.registered = true;
                self.id = contact_id;
                self.account_id = account_id;
                self.profile = profile;
                self.addresses = addresses;
                self.created_at = at;
            }
            ContactEvent::ContactUpdated { changes, .. } => self.profile.apply(changes),
            ContactEvent::AddressAdded { address, .. } => self.addresses.push(address),
            ContactEvent::AddressUpdated { address, .. } => {
                if let Some(slot) = self.addresses.iter_mut().find(|a| a.id == address.id) {
                    *slot = address;
                }
            }
            ContactEvent::AddressRemoved { address_id, .. } => {
                self.addresses.retain(|a| a.id != address_id)
            }
            ContactEvent::ContactImageSet { image, .. } => self.image = Some(image),
            ContactEvent::ContactImageCleared { .. } => self.image = None,
            ContactEvent::ChannelLinked {
                channel,
                identifier,
                account_id,
                at,
            } => {
                self.channels.push(LinkedChannel {
                    channel,
                    identifier,
                    account_id,
                    first_seen_at: at,
                });
            }
        }
    }
}
