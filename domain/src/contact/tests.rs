//! Given/when/then tests of the Contact aggregate: every rule accepted and refused.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use uuid::Uuid;

use super::rules::{ADDRESSES_MAX, IMAGE_MAX_BYTES, TAGS_MAX};
use super::*;
use crate::kinds::{AddressType, ChannelType, HouseType};
use crate::validation::{FieldError, ValidationErrors};
use crate::values::{BirthDate, Cep, Document, Email, GeoPoint, Patch, Phone, Uf};

type Fw = TestFramework<Contact>;

const CONTACT: Uuid = Uuid::from_u128(1);
const ACCOUNT: Uuid = Uuid::from_u128(2);
const OTHER_CONTACT: Uuid = Uuid::from_u128(3);
const ADDRESS: Uuid = Uuid::from_u128(10);
const ADDRESS2: Uuid = Uuid::from_u128(11);
const TAG_A: Uuid = Uuid::from_u128(20);
const TAG_B: Uuid = Uuid::from_u128(21);
const CLASSIFICATION: Uuid = Uuid::from_u128(30);
const AGENT: Uuid = Uuid::from_u128(40);

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, minute, 0).unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
}

fn phone_input(ddi: &str, number: &str) -> PhoneInput {
    PhoneInput {
        ddi: ddi.into(),
        number: number.into(),
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn address_input() -> AddressInput {
    AddressInput {
        address_type: Some(AddressType::Residential),
        cep: s("01310-100"),
        street: s(" Avenida Paulista "),
        number: s("1578"),
        complement: s("apto 12"),
        neighborhood: s("Bela Vista"),
        city: s("São Paulo"),
        reference_point: None,
        reference: s(""),
        location: Some((-23.5614, -46.6559)),
        house_type: Some(HouseType::Apartment),
        uf: Some(Uf::Sp),
    }
}

fn address(id: Uuid) -> Address {
    Address {
        id,
        address_type: AddressType::Residential,
        cep: Cep::parse("01310100").unwrap(),
        street: "Avenida Paulista".into(),
        number: "1578".into(),
        complement: s("apto 12"),
        neighborhood: "Bela Vista".into(),
        city: "São Paulo".into(),
        reference_point: None,
        reference: None,
        location: Some(GeoPoint::parse(-23.5614, -46.6559).unwrap()),
        house_type: Some(HouseType::Apartment),
        uf: Uf::Sp,
    }
}

fn minimal_input() -> ContactInput {
    ContactInput {
        name: "Maria".into(),
        ..ContactInput::default()
    }
}

fn register(input: ContactInput) -> ContactCommand {
    register_with(input, ReferenceCheck::found(), None)
}

fn register_with(
    input: ContactInput,
    refs: ReferenceCheck,
    phone_taken_by: Option<Uuid>,
) -> ContactCommand {
    ContactCommand::RegisterContact {
        contact_id: CONTACT,
        account_id: ACCOUNT,
        input,
        refs,
        phone_taken_by,
        today: today(),
        at: at(0),
    }
}

fn registered_profile() -> ContactProfile {
    ContactProfile {
        name: "Maria".into(),
        phone: Some(Phone::parse_e164("+5511987654321").unwrap()),
        active: true,
        ..ContactProfile::default()
    }
}

fn registered() -> ContactEvent {
    ContactEvent::ContactRegistered {
        contact_id: CONTACT,
        account_id: ACCOUNT,
        profile: registered_profile(),
        addresses: vec![address(ADDRESS)],
        at: at(0),
    }
}

fn update(patch: ContactPatch) -> ContactCommand {
    update_with(patch, ReferenceCheck::found(), None, None)
}

fn update_with(
    patch: ContactPatch,
    refs: ReferenceCheck,
    phone_taken_by: Option<Uuid>,
    expected_version: Option<i64>,
) -> ContactCommand {
    ContactCommand::UpdateContact {
        patch,
        refs,
        phone_taken_by,
        expected_version,
        today: today(),
        at: at(5),
    }
}

fn updated(changes: ContactChanges) -> ContactEvent {
    ContactEvent::ContactUpdated { changes, at: at(5) }
}

/// The contact after these events, as cqrs-es rebuilds it.
fn state(events: Vec<ContactEvent>) -> Contact {
    let mut c = Contact::default();
    events.into_iter().for_each(|e| c.apply(e));
    c
}

/// The fields named by a validation error, in order.
fn invalid_fields(events: Vec<ContactEvent>, cmd: ContactCommand) -> Vec<String> {
    match state(events).decide(cmd) {
        Err(ContactError::Validation(ValidationErrors(errors))) => {
            errors.into_iter().map(|e| e.field).collect()
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn image(sha: char) -> ImageRef {
    ImageRef {
        sha256: sha.to_string().repeat(64),
        content_type: "image/png".into(),
        size: 1024,
    }
}

// ---------------------------------------------------------------- register

#[test]
fn registering_a_full_contact_records_every_field_normalised() {
    let input = ContactInput {
        name: "  Maria da Silva ".into(),
        mother_name: s("Ana"),
        phone: Some(phone_input("+55", "(11) 98765-4321")),
        phone2: Some(phone_input("55", "11 3456-7890")),
        active: false,
        classification_id: Some(CLASSIFICATION),
        tag_ids: vec![TAG_A, TAG_B, TAG_A],
        document: s("529.982.247-25"),
        rg: s(" 12.345.678-9 "),
        registration_number: s("M-001"),
        email: s(" Maria@Example.com "),
        birth_date: NaiveDate::from_ymd_opt(1990, 2, 3),
        portfolio_agent_id: Some(AGENT),
        extra1: s("x"),
        extra2: s(" "),
        extra3: None,
        addresses: vec![(ADDRESS, address_input())],
    };
    let refs = ReferenceCheck {
        classification_exists: Some(true),
        portfolio_agent_exists: Some(true),
        ..ReferenceCheck::found()
    };
    let profile = ContactProfile {
        name: "Maria da Silva".into(),
        mother_name: s("Ana"),
        phone: Some(Phone::parse_e164("+5511987654321").unwrap()),
        phone2: Some(Phone::parse_e164("+551134567890").unwrap()),
        active: false,
        classification_id: Some(CLASSIFICATION),
        tag_ids: vec![TAG_A, TAG_B],
        document: Some(Document::parse("52998224725").unwrap()),
        rg: s("12.345.678-9"),
        registration_number: s("M-001"),
        email: Some(Email::parse("maria@example.com").unwrap()),
        birth_date: Some(
            BirthDate::parse(NaiveDate::from_ymd_opt(1990, 2, 3).unwrap(), today()).unwrap(),
        ),
        portfolio_agent_id: Some(AGENT),
        extra1: s("x"),
        extra2: None,
        extra3: None,
    };
    Fw::with(())
        .given_no_previous_events()
        .when(register_with(input, refs, None))
        .then_expect_events(vec![ContactEvent::ContactRegistered {
            contact_id: CONTACT,
            account_id: ACCOUNT,
            profile,
            addresses: vec![address(ADDRESS)],
            at: at(0),
        }]);
}

#[test]
fn registering_with_only_a_name_is_enough() {
    Fw::with(())
        .given_no_previous_events()
        .when(register(minimal_input()))
        .then_expect_events(vec![ContactEvent::ContactRegistered {
            contact_id: CONTACT,
            account_id: ACCOUNT,
            profile: ContactProfile {
                name: "Maria".into(),
                active: true,
                ..ContactProfile::default()
            },
            addresses: vec![],
            at: at(0),
        }]);
}

#[test]
fn registering_reports_every_bad_field_at_once_with_its_contract_path() {
    let input = ContactInput {
        name: "  ".into(),
        mother_name: s(&"a".repeat(201)),
        phone: Some(phone_input("55", "11 1234")),
        phone2: Some(phone_input("1234", "999")),
        document: s("529.982.247-26"),
        rg: s(&"9".repeat(101)),
        email: s("maria@"),
        birth_date: NaiveDate::from_ymd_opt(2025, 6, 2),
        extra3: s("line\nbreak"),
        addresses: vec![
            (
                ADDRESS,
                AddressInput {
                    cep: s("123"),
                    ..address_input()
                },
            ),
            (
                ADDRESS2,
                AddressInput {
                    street: None,
                    uf: None,
                    location: Some((91.0, 0.0)),
                    ..address_input()
                },
            ),
        ],
        ..ContactInput::default()
    };
    assert_eq!(
        invalid_fields(vec![], register(input)),
        [
            "name",
            "motherName",
            "phone.number",
            "phone2.ddi",
            "document",
            "rg",
            "email",
            "birthDate",
            "extra3",
            "addresses.0.cep",
            "addresses.1.uf",
            "addresses.1.street",
            "addresses.1.location.latitude",
        ]
    );
}

#[test]
fn registering_with_a_blank_phone_number_registers_no_phone() {
    let input = ContactInput {
        phone: Some(phone_input("55", " ")),
        ..minimal_input()
    };
    let events = state(vec![]).decide(register(input)).unwrap();
    let c = state(events);
    assert_eq!(c.profile.phone, None);
}

#[test]
fn registering_with_a_cnpj_and_a_mobile_without_ninth_digit_is_accepted() {
    let input = ContactInput {
        document: s("12.abc.345/01de-35"),
        phone: Some(phone_input("55", "11 8765-4321")),
        ..minimal_input()
    };
    let c = state(state(vec![]).decide(register(input)).unwrap());
    assert_eq!(
        c.profile.document.unwrap().formatted(),
        "12.ABC.345/01DE-35"
    );
    assert!(c.profile.phone.unwrap().lacks_ninth_digit());
}

#[test]
fn an_entirely_empty_address_is_skipped_on_register() {
    let input = ContactInput {
        addresses: vec![
            (
                ADDRESS2,
                AddressInput {
                    street: s("  "),
                    ..AddressInput::default()
                },
            ),
            (ADDRESS, address_input()),
        ],
        ..minimal_input()
    };
    let c = state(state(vec![]).decide(register(input)).unwrap());
    assert_eq!(c.addresses, vec![address(ADDRESS)]);
}

#[test]
fn an_address_with_any_field_requires_type_cep_street_number_neighborhood_city_and_uf() {
    let input = ContactInput {
        addresses: vec![(
            ADDRESS,
            AddressInput {
                complement: s("fundos"),
                ..AddressInput::default()
            },
        )],
        ..minimal_input()
    };
    assert_eq!(
        invalid_fields(vec![], register(input)),
        [
            "addresses.0.type",
            "addresses.0.uf",
            "addresses.0.cep",
            "addresses.0.street",
            "addresses.0.number",
            "addresses.0.neighborhood",
            "addresses.0.city",
        ]
    );
}

#[test]
fn registering_more_than_the_maximum_of_addresses_is_refused() {
    let many = |n: usize| {
        (0..n)
            .map(|i| (Uuid::from_u128(100 + i as u128), address_input()))
            .collect()
    };
    assert!(state(vec![])
        .decide(register(ContactInput {
            addresses: many(ADDRESSES_MAX),
            ..minimal_input()
        }))
        .is_ok());
    let fields = invalid_fields(
        vec![],
        register(ContactInput {
            addresses: many(ADDRESSES_MAX + 1),
            ..minimal_input()
        }),
    );
    assert_eq!(fields, ["addresses"]);
}

#[test]
fn registering_more_than_the_maximum_of_tags_is_refused() {
    let tags = |n: usize| (0..n).map(|i| Uuid::from_u128(1000 + i as u128)).collect();
    assert!(state(vec![])
        .decide(register(ContactInput {
            tag_ids: tags(TAGS_MAX),
            ..minimal_input()
        }))
        .is_ok());
    let fields = invalid_fields(
        vec![],
        register(ContactInput {
            tag_ids: tags(TAGS_MAX + 1),
            ..minimal_input()
        }),
    );
    assert_eq!(fields, ["tagIds"]);
}

#[test]
fn registering_with_references_that_do_not_exist_is_refused_on_each_field() {
    let refs = ReferenceCheck {
        account_exists: false,
        unknown_tag_ids: vec![TAG_B],
        classification_exists: Some(false),
        portfolio_agent_exists: Some(false),
    };
    let input = ContactInput {
        tag_ids: vec![TAG_A, TAG_B],
        classification_id: Some(CLASSIFICATION),
        portfolio_agent_id: Some(AGENT),
        ..minimal_input()
    };
    let fields = invalid_fields(vec![], register_with(input, refs, None));
    assert_eq!(
        fields,
        [
            "accountId",
            "tagIds",
            "classificationId",
            "portfolioAgentId"
        ]
    );
}

#[test]
fn registering_a_phone_another_contact_routes_by_is_a_conflict() {
    let input = ContactInput {
        phone: Some(phone_input("55", "11987654321")),
        ..minimal_input()
    };
    Fw::with(())
        .given_no_previous_events()
        .when(register_with(
            input,
            ReferenceCheck::found(),
            Some(OTHER_CONTACT),
        ))
        .then_expect_error(ContactError::PhoneInUse {
            existing_id: OTHER_CONTACT,
        });
}

#[test]
fn validation_errors_are_reported_before_a_phone_conflict() {
    let input = ContactInput {
        name: String::new(),
        phone: Some(phone_input("55", "11987654321")),
        ..minimal_input()
    };
    let fields = invalid_fields(
        vec![],
        register_with(input, ReferenceCheck::found(), Some(OTHER_CONTACT)),
    );
    assert_eq!(fields, ["name"]);
}

#[test]
fn registering_twice_is_refused() {
    Fw::with(())
        .given(vec![registered()])
        .when(register(minimal_input()))
        .then_expect_error(ContactError::AlreadyRegistered);
}

#[test]
fn every_other_command_on_an_unregistered_contact_is_not_found() {
    let commands = vec![
        update(ContactPatch::default()),
        ContactCommand::AddAddress {
            address_id: ADDRESS,
            input: address_input(),
            at: at(1),
        },
        ContactCommand::UpdateAddress {
            address_id: ADDRESS,
            input: address_input(),
            at: at(1),
        },
        ContactCommand::RemoveAddress {
            address_id: ADDRESS,
            at: at(1),
        },
        ContactCommand::SetImage {
            image: None,
            at: at(1),
        },
        ContactCommand::LinkChannel {
            channel: ChannelType::Whatsapp,
            identifier: "+5511987654321".into(),
            account_id: ACCOUNT,
            at: at(1),
        },
    ];
    for cmd in commands {
        Fw::with(())
            .given_no_previous_events()
            .when(cmd)
            .then_expect_error(ContactError::NotFound);
    }
}

// ---------------------------------------------------------------- update

#[test]
fn updating_only_the_name_records_only_the_name() {
    let patch = ContactPatch {
        name: Patch::Set(" Maria Souza ".into()),
        ..ContactPatch::default()
    };
    Fw::with(())
        .given(vec![registered()])
        .when(update(patch))
        .then_expect_events(vec![updated(ContactChanges {
            name: s("Maria Souza"),
            ..ContactChanges::default()
        })]);
}

#[test]
fn clearing_the_name_is_refused() {
    let patch = ContactPatch {
        name: Patch::Clear,
        ..ContactPatch::default()
    };
    assert_eq!(invalid_fields(vec![registered()], update(patch)), ["name"]);
}

#[test]
fn clearing_active_is_refused() {
    let patch = ContactPatch {
        active: Patch::Clear,
        ..ContactPatch::default()
    };
    assert_eq!(
        invalid_fields(vec![registered()], update(patch)),
        ["active"]
    );
}

#[test]
fn clearing_a_field_records_an_explicit_null_and_absent_fields_stay() {
    let patch = ContactPatch {
        phone: Patch::Clear,
        email: Patch::Absent,
        ..ContactPatch::default()
    };
    let events = state(vec![registered()]).decide(update(patch)).unwrap();
    assert_eq!(
        events,
        vec![updated(ContactChanges {
            phone: Some(None),
            ..ContactChanges::default()
        })]
    );
    let c = state(vec![registered(), events[0].clone()]);
    assert_eq!(c.profile.phone, None);
    assert_eq!(c.profile.name, "Maria");
}

#[test]
fn clearing_a_field_that_is_already_empty_changes_nothing() {
    let patch = ContactPatch {
        mother_name: Patch::Clear,
        document: Patch::Set("  ".into()),
        ..ContactPatch::default()
    };
    Fw::with(())
        .given(vec![registered()])
        .when(update(patch))
        .then_expect_events(vec![]);
}

#[test]
fn setting_the_values_a_contact_already_has_emits_no_event() {
    let patch = ContactPatch {
        name: Patch::Set("Maria".into()),
        phone: Patch::Set(phone_input("55", "(11) 98765-4321")),
        active: Patch::Set(true),
        tag_ids: Patch::Clear,
        ..ContactPatch::default()
    };
    Fw::with(())
        .given(vec![registered()])
        .when(update(patch))
        .then_expect_events(vec![]);
}

#[test]
fn an_empty_update_emits_no_event() {
    Fw::with(())
        .given(vec![registered()])
        .when(update(ContactPatch::default()))
        .then_expect_events(vec![]);
}

#[test]
fn updating_every_nullable_field_records_each_new_value() {
    let patch = ContactPatch {
        mother_name: Patch::Set("Ana".into()),
        phone2: Patch::Set(phone_input("1", "202 555 0123")),
        active: Patch::Set(false),
        classification_id: Patch::Set(CLASSIFICATION),
        document: Patch::Set("11.222.333/0001-81".into()),
        rg: Patch::Set("123".into()),
        registration_number: Patch::Set("R1".into()),
        email: Patch::Set("A@B.CO".into()),
        birth_date: Patch::Set(NaiveDate::from_ymd_opt(1950, 1, 1).unwrap()),
        portfolio_agent_id: Patch::Set(AGENT),
        extra1: Patch::Set("e1".into()),
        extra2: Patch::Set("e2".into()),
        extra3: Patch::Set("e3".into()),
        ..ContactPatch::default()
    };
    let events = state(vec![registered()]).decide(update(patch)).unwrap();
    let c = state([vec![registered()], events].concat());
    let p = &c.profile;
    assert_eq!(p.mother_name, s("Ana"));
    assert_eq!(p.phone2.as_ref().unwrap().e164(), "+12025550123");
    assert!(!p.active);
    assert_eq!(p.classification_id, Some(CLASSIFICATION));
    assert_eq!(p.document.as_ref().unwrap().value(), "11222333000181");
    assert_eq!(
        (p.rg.as_deref(), p.registration_number.as_deref()),
        (Some("123"), Some("R1"))
    );
    assert_eq!(p.email.as_ref().unwrap().as_str(), "a@b.co");
    assert_eq!(
        p.birth_date.unwrap().date(),
        NaiveDate::from_ymd_opt(1950, 1, 1).unwrap()
    );
    assert_eq!(p.portfolio_agent_id, Some(AGENT));
    assert_eq!(
        (
            p.extra1.as_deref(),
            p.extra2.as_deref(),
            p.extra3.as_deref()
        ),
        (Some("e1"), Some("e2"), Some("e3"))
    );
    assert_eq!(c.version, 2);
    assert_eq!(c.updated_at, at(5));
    assert_eq!(c.created_at, at(0));
}

#[test]
fn an_update_reports_every_bad_field() {
    let patch = ContactPatch {
        name: Patch::Set(" ".into()),
        phone: Patch::Set(phone_input("55", "0000")),
        document: Patch::Set("123".into()),
        email: Patch::Set("nope".into()),
        birth_date: Patch::Set(NaiveDate::from_ymd_opt(1899, 1, 1).unwrap()),
        tag_ids: Patch::Set((0..=TAGS_MAX as u128).map(Uuid::from_u128).collect()),
        ..ContactPatch::default()
    };
    assert_eq!(
        invalid_fields(vec![registered()], update(patch)),
        [
            "name",
            "tagIds",
            "phone.number",
            "document",
            "email",
            "birthDate"
        ]
    );
}

#[test]
fn tags_are_compared_as_a_set_and_cleared_to_none() {
    let with_tags = vec![
        registered(),
        updated(ContactChanges {
            tag_ids: Some(vec![TAG_A, TAG_B]),
            ..ContactChanges::default()
        }),
    ];
    let reorder = ContactPatch {
        tag_ids: Patch::Set(vec![TAG_B, TAG_A, TAG_B]),
        ..ContactPatch::default()
    };
    Fw::with(())
        .given(with_tags.clone())
        .when(update(reorder))
        .then_expect_events(vec![]);
    let clear = ContactPatch {
        tag_ids: Patch::Clear,
        ..ContactPatch::default()
    };
    Fw::with(())
        .given(with_tags)
        .when(update(clear))
        .then_expect_events(vec![updated(ContactChanges {
            tag_ids: Some(vec![]),
            ..ContactChanges::default()
        })]);
}

#[test]
fn updating_with_references_that_do_not_exist_is_refused() {
    let refs = ReferenceCheck {
        unknown_tag_ids: vec![TAG_A],
        classification_exists: Some(false),
        portfolio_agent_exists: Some(false),
        ..ReferenceCheck::found()
    };
    let patch = ContactPatch {
        tag_ids: Patch::Set(vec![TAG_A]),
        classification_id: Patch::Set(CLASSIFICATION),
        portfolio_agent_id: Patch::Set(AGENT),
        ..ContactPatch::default()
    };
    assert_eq!(
        invalid_fields(vec![registered()], update_with(patch, refs, None, None)),
        ["tagIds", "classificationId", "portfolioAgentId"]
    );
}

#[test]
fn updating_to_a_phone_another_contact_routes_by_is_a_conflict() {
    let patch = ContactPatch {
        phone: Patch::Set(phone_input("55", "21 99999-8888")),
        ..ContactPatch::default()
    };
    Fw::with(())
        .given(vec![registered()])
        .when(update_with(
            patch,
            ReferenceCheck::found(),
            Some(OTHER_CONTACT),
            None,
        ))
        .then_expect_error(ContactError::PhoneInUse {
            existing_id: OTHER_CONTACT,
        });
}

#[test]
fn adding_the_ninth_digit_to_the_own_phone_is_not_a_conflict() {
    let given = vec![
        registered(),
        updated(ContactChanges {
            phone: Some(Some(Phone::parse_e164("+551187654321").unwrap())),
            ..ContactChanges::default()
        }),
    ];
    let patch = ContactPatch {
        phone: Patch::Set(phone_input("55", "11987654321")),
        ..ContactPatch::default()
    };
    Fw::with(())
        .given(given)
        .when(update_with(
            patch,
            ReferenceCheck::found(),
            Some(CONTACT),
            None,
        ))
        .then_expect_events(vec![updated(ContactChanges {
            phone: Some(Some(Phone::parse_e164("+5511987654321").unwrap())),
            ..ContactChanges::default()
        })]);
}

#[test]
fn a_registered_contact_holds_the_routing_key_of_its_phone_in_its_account() {
    let contact = state(vec![registered()]);
    let key = Phone::parse_e164("+5511987654321").unwrap().routing_key();
    assert_eq!(contact.routing_key(), Some(key.clone()));
    assert!(contact.holds_routing_key(ACCOUNT, &key));
    assert!(!contact.holds_routing_key(Uuid::from_u128(99), &key));
    assert!(!contact.holds_routing_key(ACCOUNT, "551134567890"));
}

#[test]
fn no_routing_key_is_held_before_registration_or_after_the_phone_changed_or_was_cleared() {
    let key = Phone::parse_e164("+5511987654321").unwrap().routing_key();
    assert!(!Contact::default().holds_routing_key(Uuid::nil(), &key));
    assert_eq!(Contact::default().routing_key(), None);
    let changed = state(vec![
        registered(),
        updated(ContactChanges {
            phone: Some(Some(Phone::parse_e164("+551134567890").unwrap())),
            ..ContactChanges::default()
        }),
    ]);
    assert!(!changed.holds_routing_key(ACCOUNT, &key));
    assert!(changed.holds_routing_key(ACCOUNT, "551134567890"));
    let cleared = state(vec![
        registered(),
        updated(ContactChanges {
            phone: Some(None),
            ..ContactChanges::default()
        }),
    ]);
    assert_eq!(cleared.routing_key(), None);
    assert!(!cleared.holds_routing_key(ACCOUNT, &key));
}

#[test]
fn a_phone_taken_elsewhere_does_not_block_an_update_that_leaves_the_phone() {
    let patch = ContactPatch {
        name: Patch::Set("Mara".into()),
        ..ContactPatch::default()
    };
    let events = state(vec![registered()])
        .decide(update_with(
            patch,
            ReferenceCheck::found(),
            Some(OTHER_CONTACT),
            None,
        ))
        .unwrap();
    assert_eq!(events.len(), 1);
}

#[test]
fn update_with_the_current_expected_version_is_accepted() {
    let patch = ContactPatch {
        name: Patch::Set("Mara".into()),
        ..ContactPatch::default()
    };
    let events = state(vec![registered()])
        .decide(update_with(patch, ReferenceCheck::found(), None, Some(1)))
        .unwrap();
    assert_eq!(events.len(), 1);
}

#[test]
fn update_with_a_stale_expected_version_is_a_conflict() {
    let patch = ContactPatch {
        name: Patch::Set("Mara".into()),
        ..ContactPatch::default()
    };
    Fw::with(())
        .given(vec![
            registered(),
            ContactEvent::ContactImageCleared { at: at(1) },
        ])
        .when(update_with(patch, ReferenceCheck::found(), None, Some(1)))
        .then_expect_error(ContactError::VersionMismatch {
            expected: 1,
            actual: 2,
        });
}

// ---------------------------------------------------------------- addresses

#[test]
fn adding_a_complete_address_records_it() {
    Fw::with(())
        .given(vec![registered()])
        .when(ContactCommand::AddAddress {
            address_id: ADDRESS2,
            input: address_input(),
            at: at(2),
        })
        .then_expect_events(vec![ContactEvent::AddressAdded {
            address: address(ADDRESS2),
            at: at(2),
        }]);
}

#[test]
fn adding_an_empty_address_reports_each_required_field_without_a_prefix() {
    let cmd = ContactCommand::AddAddress {
        address_id: ADDRESS2,
        input: AddressInput::default(),
        at: at(2),
    };
    assert_eq!(
        invalid_fields(vec![registered()], cmd),
        [
            "type",
            "uf",
            "cep",
            "street",
            "number",
            "neighborhood",
            "city"
        ]
    );
}

#[test]
fn adding_an_address_with_bad_optional_fields_is_refused() {
    let input = AddressInput {
        complement: s(&"c".repeat(101)),
        reference: s(&"r".repeat(501)),
        location: Some((0.0, 200.0)),
        ..address_input()
    };
    let cmd = ContactCommand::AddAddress {
        address_id: ADDRESS2,
        input,
        at: at(2),
    };
    assert_eq!(
        invalid_fields(vec![registered()], cmd),
        ["complement", "reference", "location.longitude"]
    );
}

#[test]
fn adding_an_address_with_an_id_already_used_is_refused() {
    let cmd = ContactCommand::AddAddress {
        address_id: ADDRESS,
        input: address_input(),
        at: at(2),
    };
    assert_eq!(invalid_fields(vec![registered()], cmd), ["addressId"]);
}

#[test]
fn adding_an_address_beyond_the_maximum_is_refused() {
    let mut given = vec![registered()];
    given.extend((1..ADDRESSES_MAX).map(|i| ContactEvent::AddressAdded {
        address: address(Uuid::from_u128(500 + i as u128)),
        at: at(1),
    }));
    let cmd = ContactCommand::AddAddress {
        address_id: ADDRESS2,
        input: address_input(),
        at: at(2),
    };
    assert_eq!(invalid_fields(given, cmd), [""]);
}

#[test]
fn updating_an_address_replaces_it_whole() {
    let input = AddressInput {
        complement: None,
        uf: Some(Uf::Rj),
        ..address_input()
    };
    let expected = Address {
        complement: None,
        uf: Uf::Rj,
        ..address(ADDRESS)
    };
    let events = state(vec![registered()])
        .decide(ContactCommand::UpdateAddress {
            address_id: ADDRESS,
            input,
            at: at(3),
        })
        .unwrap();
    assert_eq!(
        events,
        vec![ContactEvent::AddressUpdated {
            address: expected.clone(),
            at: at(3)
        }]
    );
    assert_eq!(
        state([vec![registered()], events].concat()).addresses,
        vec![expected]
    );
}

#[test]
fn updating_an_address_to_what_it_already_is_emits_no_event() {
    Fw::with(())
        .given(vec![registered()])
        .when(ContactCommand::UpdateAddress {
            address_id: ADDRESS,
            input: address_input(),
            at: at(3),
        })
        .then_expect_events(vec![]);
}

#[test]
fn updating_an_address_with_missing_required_fields_is_refused() {
    let input = AddressInput {
        city: s(" "),
        ..address_input()
    };
    let cmd = ContactCommand::UpdateAddress {
        address_id: ADDRESS,
        input,
        at: at(3),
    };
    assert_eq!(invalid_fields(vec![registered()], cmd), ["city"]);
}

#[test]
fn updating_or_removing_an_unknown_address_is_not_found() {
    Fw::with(())
        .given(vec![registered()])
        .when(ContactCommand::UpdateAddress {
            address_id: ADDRESS2,
            input: address_input(),
            at: at(3),
        })
        .then_expect_error(ContactError::AddressNotFound);
    Fw::with(())
        .given(vec![registered()])
        .when(ContactCommand::RemoveAddress {
            address_id: ADDRESS2,
            at: at(3),
        })
        .then_expect_error(ContactError::AddressNotFound);
}

#[test]
fn removing_an_address_drops_it() {
    let events = state(vec![registered()])
        .decide(ContactCommand::RemoveAddress {
            address_id: ADDRESS,
            at: at(4),
        })
        .unwrap();
    assert_eq!(
        events,
        vec![ContactEvent::AddressRemoved {
            address_id: ADDRESS,
            at: at(4)
        }]
    );
    assert!(state([vec![registered()], events].concat())
        .addresses
        .is_empty());
}

// ---------------------------------------------------------------- image

#[test]
fn setting_an_image_records_it_with_a_lowercase_hash() {
    let given = ImageRef {
        sha256: "A".repeat(64),
        ..image('a')
    };
    Fw::with(())
        .given(vec![registered()])
        .when(ContactCommand::SetImage {
            image: Some(given),
            at: at(6),
        })
        .then_expect_events(vec![ContactEvent::ContactImageSet {
            image: image('a'),
            at: at(6),
        }]);
}

#[test]
fn setting_the_same_image_again_emits_no_event() {
    Fw::with(())
        .given(vec![
            registered(),
            ContactEvent::ContactImageSet {
                image: image('a'),
                at: at(6),
            },
        ])
        .when(ContactCommand::SetImage {
            image: Some(image('a')),
            at: at(7),
        })
        .then_expect_events(vec![]);
}

#[test]
fn clearing_the_image_records_it_only_when_there_is_one() {
    Fw::with(())
        .given(vec![
            registered(),
            ContactEvent::ContactImageSet {
                image: image('a'),
                at: at(6),
            },
        ])
        .when(ContactCommand::SetImage {
            image: None,
            at: at(7),
        })
        .then_expect_events(vec![ContactEvent::ContactImageCleared { at: at(7) }]);
    Fw::with(())
        .given(vec![registered()])
        .when(ContactCommand::SetImage {
            image: None,
            at: at(7),
        })
        .then_expect_events(vec![]);
}

#[test]
fn an_image_with_a_bad_hash_type_or_size_is_refused() {
    let bad = [
        ImageRef {
            sha256: "xyz".into(),
            ..image('a')
        },
        ImageRef {
            content_type: "image/gif".into(),
            ..image('a')
        },
        ImageRef {
            size: 0,
            ..image('a')
        },
        ImageRef {
            size: IMAGE_MAX_BYTES + 1,
            ..image('a')
        },
    ];
    for img in bad {
        let cmd = ContactCommand::SetImage {
            image: Some(img),
            at: at(7),
        };
        assert_eq!(invalid_fields(vec![registered()], cmd), ["image"]);
    }
    let at_limit = ImageRef {
        size: IMAGE_MAX_BYTES,
        ..image('a')
    };
    assert!(state(vec![registered()])
        .decide(ContactCommand::SetImage {
            image: Some(at_limit),
            at: at(7)
        })
        .is_ok());
}

// ---------------------------------------------------------------- channels

fn link(channel: ChannelType, identifier: &str) -> ContactCommand {
    ContactCommand::LinkChannel {
        channel,
        identifier: identifier.into(),
        account_id: ACCOUNT,
        at: at(8),
    }
}

#[test]
fn linking_a_phone_channel_stores_the_e164_identifier() {
    Fw::with(())
        .given(vec![registered()])
        .when(link(ChannelType::Whatsapp, " +55 11 98765-4321 "))
        .then_expect_events(vec![ContactEvent::ChannelLinked {
            channel: ChannelType::Whatsapp,
            identifier: "+5511987654321".into(),
            account_id: ACCOUNT,
            at: at(8),
        }]);
}

#[test]
fn linking_a_channel_already_linked_emits_no_event() {
    let given = vec![
        registered(),
        ContactEvent::ChannelLinked {
            channel: ChannelType::Telegram,
            identifier: "maria_tg".into(),
            account_id: ACCOUNT,
            at: at(8),
        },
    ];
    Fw::with(())
        .given(given.clone())
        .when(link(ChannelType::Telegram, "maria_tg"))
        .then_expect_events(vec![]);
    let c = state(given);
    assert_eq!(c.channels[0].first_seen_at, at(8));
}

#[test]
fn linking_the_same_identifier_on_another_channel_is_recorded() {
    let given = vec![
        registered(),
        ContactEvent::ChannelLinked {
            channel: ChannelType::Whatsapp,
            identifier: "+5511987654321".into(),
            account_id: ACCOUNT,
            at: at(8),
        },
    ];
    let events = state(given)
        .decide(link(ChannelType::Sms, "+5511987654321"))
        .unwrap();
    assert_eq!(events.len(), 1);
}

#[test]
fn linking_a_bad_identifier_is_refused() {
    assert_eq!(
        invalid_fields(vec![registered()], link(ChannelType::Sms, "5511987654321")),
        ["identifier"]
    );
    assert_eq!(
        invalid_fields(vec![registered()], link(ChannelType::Webchat, "  ")),
        ["identifier"]
    );
}

// ---------------------------------------------------------------- events and state

#[test]
fn contact_changes_keep_absent_apart_from_null_through_serde() {
    let changes = ContactChanges {
        name: s("Mara"),
        phone: Some(None),
        email: None,
        ..ContactChanges::default()
    };
    let json = serde_json::to_value(&changes).unwrap();
    assert_eq!(json, serde_json::json!({ "name": "Mara", "phone": null }));
    let back: ContactChanges = serde_json::from_value(json).unwrap();
    assert_eq!(back, changes);
    let set: ContactChanges = serde_json::from_str(r#"{"extra1":"x"}"#).unwrap();
    assert_eq!(set.extra1, Some(s("x")));
    assert_eq!(set.phone, None);
}

#[test]
fn every_event_round_trips_through_serde_with_camel_case_fields() {
    let events = vec![
        ContactEvent::ContactRegistered {
            contact_id: CONTACT,
            account_id: ACCOUNT,
            profile: ContactProfile {
                document: Some(Document::parse("52998224725").unwrap()),
                birth_date: Some(
                    BirthDate::parse(NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(), today())
                        .unwrap(),
                ),
                ..registered_profile()
            },
            addresses: vec![address(ADDRESS)],
            at: at(0),
        },
        updated(ContactChanges {
            mother_name: Some(None),
            tag_ids: Some(vec![TAG_A]),
            ..ContactChanges::default()
        }),
        ContactEvent::AddressAdded {
            address: address(ADDRESS2),
            at: at(1),
        },
        ContactEvent::AddressUpdated {
            address: address(ADDRESS2),
            at: at(1),
        },
        ContactEvent::AddressRemoved {
            address_id: ADDRESS2,
            at: at(1),
        },
        ContactEvent::ContactImageSet {
            image: image('b'),
            at: at(1),
        },
        ContactEvent::ContactImageCleared { at: at(1) },
        ContactEvent::ChannelLinked {
            channel: ChannelType::Email,
            identifier: "m@x.io".into(),
            account_id: ACCOUNT,
            at: at(1),
        },
    ];
    for e in events {
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(serde_json::from_value::<ContactEvent>(json).unwrap(), e);
    }
    let json = serde_json::to_value(registered()).unwrap();
    let body = &json["ContactRegistered"];
    assert_eq!(body["contactId"], CONTACT.to_string());
    assert_eq!(body["name"], "Maria");
    assert_eq!(body["phone"], "+5511987654321");
    assert_eq!(body["addresses"][0]["type"], "RESIDENTIAL");
    assert_eq!(body["addresses"][0]["houseType"], "APARTMENT");
}

#[test]
fn event_types_are_fixed_names_at_version_1_0() {
    let names: Vec<String> = [
        registered(),
        updated(ContactChanges::default()),
        ContactEvent::AddressAdded {
            address: address(ADDRESS),
            at: at(1),
        },
        ContactEvent::AddressUpdated {
            address: address(ADDRESS),
            at: at(1),
        },
        ContactEvent::AddressRemoved {
            address_id: ADDRESS,
            at: at(1),
        },
        ContactEvent::ContactImageSet {
            image: image('a'),
            at: at(1),
        },
        ContactEvent::ContactImageCleared { at: at(1) },
        ContactEvent::ChannelLinked {
            channel: ChannelType::Sms,
            identifier: "+12025550123".into(),
            account_id: ACCOUNT,
            at: at(1),
        },
    ]
    .iter()
    .map(|e| {
        assert_eq!(e.event_version(), "1.0");
        e.event_type()
    })
    .collect();
    assert_eq!(
        names,
        [
            "ContactRegistered",
            "ContactUpdated",
            "AddressAdded",
            "AddressUpdated",
            "AddressRemoved",
            "ContactImageSet",
            "ContactImageCleared",
            "ChannelLinked"
        ]
    );
    assert_eq!(Contact::TYPE, "Contact");
}

#[test]
fn replaying_a_prefix_of_the_stream_gives_the_contact_as_it_stood_then() {
    let stream = vec![
        registered(),
        updated(ContactChanges {
            name: s("Mara"),
            ..ContactChanges::default()
        }),
        ContactEvent::AddressRemoved {
            address_id: ADDRESS,
            at: at(9),
        },
    ];
    let then = state(stream[..2].to_vec());
    assert_eq!(
        (
            then.profile.name.as_str(),
            then.addresses.len(),
            then.version
        ),
        ("Mara", 1, 2)
    );
    assert_eq!(then.updated_at, at(5));
    let now = state(stream);
    assert_eq!(
        (now.addresses.len(), now.version, now.updated_at),
        (0, 3, at(9))
    );
    assert!(now.registered);
    assert_eq!((now.id, now.account_id), (CONTACT, ACCOUNT));
}

#[test]
fn field_errors_name_the_contract_path_in_the_error_message() {
    let err = state(vec![])
        .decide(register(ContactInput {
            name: String::new(),
            ..minimal_input()
        }))
        .unwrap_err();
    assert_eq!(
        err,
        ContactError::Validation(FieldError::new("name", "is required").into())
    );
    assert_eq!(err.to_string(), "invalid input: name: is required");
}
