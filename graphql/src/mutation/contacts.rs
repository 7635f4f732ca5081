//! Contact mutations (items 2 and 3): register, partial update, addresses, image.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Upload};
use commands::contacts::{addresses, image, register, update};
use domain::contact::{
    AddressInput as DomainAddressInput, ContactInput, ContactPatch, PhoneInput as DomainPhoneInput,
};
use domain::values::Patch;
use uuid::Uuid;

use crate::auth::{self, command_context};
use crate::error::{gql, internal, ApiResult, IntoGql};
use crate::scalars::Date;
use crate::state::ApiState;
use crate::types::contact::{AddressType, Contact, HouseType, Uf};
use commands::CommandError;

#[derive(InputObject, Clone)]
pub struct PhoneInput {
    pub ddi: String,
    pub number: String,
}

impl From<PhoneInput> for DomainPhoneInput {
    fn from(p: PhoneInput) -> Self {
        Self {
            ddi: p.ddi,
            number: p.number,
        }
    }
}

#[derive(InputObject, Clone)]
pub struct GeoPointInput {
    pub latitude: f64,
    pub longitude: f64,
}

/// type, cep, street, number, neighborhood, city and uf are required once an address is given.
#[derive(InputObject, Clone, Default)]
pub struct AddressInput {
    #[graphql(name = "type")]
    pub address_type: Option<AddressType>,
    pub cep: Option<String>,
    pub street: Option<String>,
    pub number: Option<String>,
    pub complement: Option<String>,
    pub neighborhood: Option<String>,
    pub city: Option<String>,
    pub reference_point: Option<String>,
    pub reference: Option<String>,
    pub location: Option<GeoPointInput>,
    pub house_type: Option<HouseType>,
    pub uf: Option<Uf>,
}

impl From<AddressInput> for DomainAddressInput {
    fn from(a: AddressInput) -> Self {
        Self {
            address_type: a.address_type.map(Into::into),
            cep: a.cep,
            street: a.street,
            number: a.number,
            complement: a.complement,
            neighborhood: a.neighborhood,
            city: a.city,
            reference_point: a.reference_point,
            reference: a.reference,
            location: a.location.map(|g| (g.latitude, g.longitude)),
            house_type: a.house_type.map(Into::into),
            uf: a.uf.map(Into::into),
        }
    }
}

#[derive(InputObject)]
pub struct RegisterContactInput {
    pub account_id: Uuid,
    pub name: String,
    pub mother_name: Option<String>,
    pub phone: Option<PhoneInput>,
    pub phone2: Option<PhoneInput>,
    #[graphql(default_with = "Some(true)")]
    pub active: Option<bool>,
    pub classification_id: Option<Uuid>,
    #[graphql(default_with = "Some(Vec::new())")]
    pub tag_ids: Option<Vec<Uuid>>,
    /// CPF or CNPJ, with or without punctuation.
    pub document: Option<String>,
    pub rg: Option<String>,
    pub registration_number: Option<String>,
    pub email: Option<String>,
    pub birth_date: Option<Date>,
    pub portfolio_agent_id: Option<Uuid>,
    pub extra1: Option<String>,
    pub extra2: Option<String>,
    pub extra3: Option<String>,
    #[graphql(default_with = "Some(Vec::new())")]
    pub addresses: Option<Vec<AddressInput>>,
}

#[derive(InputObject, Default)]
pub struct UpdateContactInput {
    pub name: MaybeUndefined<String>,
    pub mother_name: MaybeUndefined<String>,
    pub phone: MaybeUndefined<PhoneInput>,
    pub phone2: MaybeUndefined<PhoneInput>,
    pub active: MaybeUndefined<bool>,
    pub classification_id: MaybeUndefined<Uuid>,
    pub tag_ids: MaybeUndefined<Vec<Uuid>>,
    pub document: MaybeUndefined<String>,
    pub rg: MaybeUndefined<String>,
    pub registration_number: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
    pub birth_date: MaybeUndefined<Date>,
    pub portfolio_agent_id: MaybeUndefined<Uuid>,
    pub extra1: MaybeUndefined<String>,
    pub extra2: MaybeUndefined<String>,
    pub extra3: MaybeUndefined<String>,
}

/// Absent stays, null clears, a value sets.
fn patch<T, U>(v: MaybeUndefined<T>, f: impl FnOnce(T) -> U) -> Patch<U> {
    match v {
        MaybeUndefined::Undefined => Patch::Absent,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(x) => Patch::Set(f(x)),
    }
}

impl From<UpdateContactInput> for ContactPatch {
    fn from(i: UpdateContactInput) -> Self {
        let id = |x| x;
        Self {
            name: patch(i.name, id),
            mother_name: patch(i.mother_name, id),
            phone: patch(i.phone, Into::into),
            phone2: patch(i.phone2, Into::into),
            active: patch(i.active, |x| x),
            classification_id: patch(i.classification_id, |x| x),
            tag_ids: patch(i.tag_ids, |x| x),
            document: patch(i.document, id),
            rg: patch(i.rg, id),
            registration_number: patch(i.registration_number, id),
            email: patch(i.email, id),
            birth_date: patch(i.birth_date, |d| d.0),
            portfolio_agent_id: patch(i.portfolio_agent_id, |x| x),
            extra1: patch(i.extra1, id),
            extra2: patch(i.extra2, id),
            extra3: patch(i.extra3, id),
        }
    }
}

/// The contact as its read model shows it once its own events are applied.
pub async fn projected_contact(ctx: &Context<'_>, id: Uuid) -> ApiResult<Contact> {
    let state = ctx.data_unchecked::<ApiState>();
    state
        .projector()
        .wait_for_stream("Contact", &id.to_string())
        .await
        .map_err(internal)?;
    Contact::load(ctx, id)
        .await?
        .ok_or_else(|| gql(CommandError::not_found("contact")))
}

#[derive(Default)]
pub struct ContactsMutation;

#[Object]
impl ContactsMutation {
    async fn register_contact(
        &self,
        ctx: &Context<'_>,
        input: RegisterContactInput,
    ) -> ApiResult<Contact> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        let addresses = input
            .addresses
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let contact = ContactInput {
            name: input.name,
            mother_name: input.mother_name,
            phone: input.phone.map(Into::into),
            phone2: input.phone2.map(Into::into),
            active: input.active.unwrap_or(true),
            classification_id: input.classification_id,
            tag_ids: input.tag_ids.unwrap_or_default(),
            document: input.document,
            rg: input.rg,
            registration_number: input.registration_number,
            email: input.email,
            birth_date: input.birth_date.map(|d| d.0),
            portfolio_agent_id: input.portfolio_agent_id,
            extra1: input.extra1,
            extra2: input.extra2,
            extra3: input.extra3,
            addresses: Vec::new(),
        };
        let id =
            register::register_contact(state.commands(), &c, input.account_id, contact, addresses)
                .await
                .gql()?;
        projected_contact(ctx, id).await
    }

    /// Absent fields stay; null clears. expectedVersion, when given, must equal Contact.version.
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateContactInput,
        expected_version: Option<i32>,
    ) -> ApiResult<Contact> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        update::update_contact(
            state.commands(),
            &c,
            id,
            input.into(),
            expected_version.map(i64::from),
        )
        .await
        .gql()?;
        projected_contact(ctx, id).await
    }

    /// null removes the image.
    async fn set_contact_image(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        image: Option<Upload>,
    ) -> ApiResult<Contact> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        let file = image
            .map(|upload| crate::uploads::read_image(ctx, upload))
            .transpose()?;
        image::set_contact_image(state.commands(), &c, id, file)
            .await
            .gql()?;
        projected_contact(ctx, id).await
    }

    async fn add_contact_address(
        &self,
        ctx: &Context<'_>,
        contact_id: Uuid,
        input: AddressInput,
    ) -> ApiResult<Contact> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        addresses::add_address(state.commands(), &c, contact_id, input.into())
            .await
            .gql()?;
        projected_contact(ctx, contact_id).await
    }

    async fn update_contact_address(
        &self,
        ctx: &Context<'_>,
        contact_id: Uuid,
        address_id: Uuid,
        input: AddressInput,
    ) -> ApiResult<Contact> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        addresses::update_address(state.commands(), &c, contact_id, address_id, input.into())
            .await
            .gql()?;
        projected_contact(ctx, contact_id).await
    }

    async fn remove_contact_address(
        &self,
        ctx: &Context<'_>,
        contact_id: Uuid,
        address_id: Uuid,
    ) -> ApiResult<Contact> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        addresses::remove_address(state.commands(), &c, contact_id, address_id)
            .await
            .gql()?;
        projected_contact(ctx, contact_id).await
    }
}
