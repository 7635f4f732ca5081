//! Contacts as the contract shows them, rendered from the domain's own folded state (the read
//! model stores it), so a live contact and one rebuilt as of an instant render identically.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::contact::{Address as DomainAddress, Contact as DomainContact, LinkedChannel};
use domain::values::{Document as DomainDocument, Phone as DomainPhone};
use uuid::Uuid;

use crate::error::{gql, ApiResult};
use crate::loaders::{ChannelKey, ContactLoader};
use crate::scalars::Date;
use crate::state::ApiState;
use crate::types::agent::AgentSummary;
use crate::types::catalogue::{Account, ChannelType, Classification, Tag};

macro_rules! mirror_enum {
    ($name:ident, $domain:path, [$($v:ident),+]) => {
        #[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
        pub enum $name { $($v),+ }

        impl From<$domain> for $name {
            fn from(d: $domain) -> Self {
                use $domain as D;
                match d { $(D::$v => Self::$v),+ }
            }
        }

        impl From<$name> for $domain {
            fn from(d: $name) -> Self {
                use $domain as D;
                match d { $($name::$v => D::$v),+ }
            }
        }
    };
}

mirror_enum!(DocumentKind, domain::values::DocumentKind, [Cpf, Cnpj]);
mirror_enum!(
    AddressType,
    domain::kinds::AddressType,
    [Residential, Commercial, Billing, Delivery, Other]
);
mirror_enum!(
    HouseType,
    domain::kinds::HouseType,
    [House, Apartment, Condominium, Commercial, Rural, Other]
);
mirror_enum!(
    Uf,
    domain::values::Uf,
    [
        Ac, Al, Ap, Am, Ba, Ce, Df, Es, Go, Ma, Mt, Ms, Mg, Pa, Pb, Pr, Pe, Pi, Rj, Rn, Rs, Ro, Rr,
        Sc, Sp, Se, To
    ]
);

/// Which field `contacts` searches.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ContactSearchField {
    Any,
    Name,
    Document,
    Phone,
    Email,
    RegistrationNumber,
}

#[derive(SimpleObject, Clone)]
pub struct Phone {
    pub e164: String,
    pub ddi: String,
    pub number: String,
    pub formatted: String,
}

impl From<&DomainPhone> for Phone {
    fn from(p: &DomainPhone) -> Self {
        Self {
            e164: p.e164().to_string(),
            ddi: p.ddi().to_string(),
            number: p.number().to_string(),
            formatted: p.formatted(),
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct Document {
    pub kind: DocumentKind,
    pub value: String,
    pub formatted: String,
}

impl From<&DomainDocument> for Document {
    fn from(d: &DomainDocument) -> Self {
        Self {
            kind: d.kind().into(),
            value: d.value().to_string(),
            formatted: d.formatted(),
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct GeoPoint {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(SimpleObject, Clone)]
pub struct Address {
    pub id: Uuid,
    #[graphql(name = "type")]
    pub address_type: AddressType,
    pub cep: String,
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

impl From<&DomainAddress> for Address {
    fn from(a: &DomainAddress) -> Self {
        Self {
            id: a.id,
            address_type: a.address_type.into(),
            cep: a.cep.as_str().to_string(),
            street: a.street.clone(),
            number: a.number.clone(),
            complement: a.complement.clone(),
            neighborhood: a.neighborhood.clone(),
            city: a.city.clone(),
            reference_point: a.reference_point.clone(),
            reference: a.reference.clone(),
            location: a.location.map(|g| GeoPoint {
                latitude: g.latitude(),
                longitude: g.longitude(),
            }),
            house_type: a.house_type.map(Into::into),
            uf: a.uf.into(),
        }
    }
}

/// One channel identity linked to a contact (the Social tab), with the contact's id.
#[derive(Clone)]
pub struct ContactChannel {
    pub contact_id: Uuid,
    pub link: LinkedChannel,
}

#[Object]
impl ContactChannel {
    async fn channel(&self) -> ChannelType {
        self.link.channel.into()
    }
    async fn identifier(&self) -> &str {
        &self.link.identifier
    }
    async fn account(&self, ctx: &Context<'_>) -> ApiResult<Account> {
        Account::load(ctx, self.link.account_id).await
    }
    async fn first_seen_at(&self) -> DateTime<Utc> {
        self.link.first_seen_at
    }
    /// When the contact last wrote on this channel in this account (its latest inbound message
    /// there), never before firstSeenAt. contactAsOf shows today's value.
    async fn last_seen_at(&self, ctx: &Context<'_>) -> ApiResult<DateTime<Utc>> {
        let key = ChannelKey {
            account_id: self.link.account_id,
            contact_id: self.contact_id,
            channel: self.link.channel,
        };
        let last_inbound = ctx
            .data_unchecked::<DataLoader<ContactLoader>>()
            .load_one(key)
            .await
            .map_err(|e| crate::error::internal(anyhow::anyhow!("{e:#}")))?;
        Ok(last_inbound.map_or(self.link.first_seen_at, |at| {
            at.max(self.link.first_seen_at)
        }))
    }
}

/// A contact.
#[derive(Clone)]
pub struct Contact(pub DomainContact);

impl Contact {
    /// The contact by id from the read model (None when unknown).
    pub async fn load(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Contact>> {
        let loader = ctx.data_unchecked::<DataLoader<ContactLoader>>();
        Ok(loader
            .load_one(id)
            .await
            .map_err(|e| crate::error::internal(anyhow::anyhow!("{e:#}")))?
            .map(Contact))
    }
}

#[Object]
impl Contact {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn account(&self, ctx: &Context<'_>) -> ApiResult<Account> {
        Account::load(ctx, self.0.account_id).await
    }
    async fn name(&self) -> &str {
        &self.0.profile.name
    }
    async fn mother_name(&self) -> Option<&str> {
        self.0.profile.mother_name.as_deref()
    }
    async fn phone(&self) -> Option<Phone> {
        self.0.profile.phone.as_ref().map(Into::into)
    }
    async fn phone2(&self) -> Option<Phone> {
        self.0.profile.phone2.as_ref().map(Into::into)
    }
    async fn active(&self) -> bool {
        self.0.profile.active
    }
    async fn classification(&self, ctx: &Context<'_>) -> ApiResult<Option<Classification>> {
        let Some(id) = self.0.profile.classification_id else {
            return Ok(None);
        };
        let pool = ctx.data_unchecked::<ApiState>().pool();
        Ok(commands::admin::classifications::get(pool, id)
            .await
            .map_err(gql)?
            .map(Into::into))
    }
    async fn tags(&self, ctx: &Context<'_>) -> ApiResult<Vec<Tag>> {
        if self.0.profile.tag_ids.is_empty() {
            return Ok(Vec::new());
        }
        let pool = ctx.data_unchecked::<ApiState>().pool();
        let rows = commands::admin::tags::get_many(pool, &self.0.profile.tag_ids)
            .await
            .map_err(gql)?;
        // Keep the contact's own order.
        Ok(self
            .0
            .profile
            .tag_ids
            .iter()
            .filter_map(|id| rows.iter().find(|r| r.id == *id).cloned().map(Into::into))
            .collect())
    }
    async fn document(&self) -> Option<Document> {
        self.0.profile.document.as_ref().map(Into::into)
    }
    async fn rg(&self) -> Option<&str> {
        self.0.profile.rg.as_deref()
    }
    async fn registration_number(&self) -> Option<&str> {
        self.0.profile.registration_number.as_deref()
    }
    async fn email(&self) -> Option<&str> {
        self.0.profile.email.as_ref().map(|e| e.as_str())
    }
    async fn birth_date(&self) -> Option<Date> {
        self.0.profile.birth_date.map(|b| Date(b.date()))
    }
    async fn portfolio_agent(&self, ctx: &Context<'_>) -> ApiResult<Option<AgentSummary>> {
        match self.0.profile.portfolio_agent_id {
            Some(id) => AgentSummary::load(ctx, id).await,
            None => Ok(None),
        }
    }
    async fn extra1(&self) -> Option<&str> {
        self.0.profile.extra1.as_deref()
    }
    async fn extra2(&self) -> Option<&str> {
        self.0.profile.extra2.as_deref()
    }
    async fn extra3(&self) -> Option<&str> {
        self.0.profile.extra3.as_deref()
    }
    async fn image_url(&self, ctx: &Context<'_>) -> Option<String> {
        let state = ctx.data_unchecked::<ApiState>();
        self.0
            .image
            .as_ref()
            .map(|i| crate::files::signed_url(state, &i.sha256))
    }
    async fn addresses(&self) -> Vec<Address> {
        self.0.addresses.iter().map(Into::into).collect()
    }
    /// Item 2's Social tab: read-only.
    async fn channels(&self) -> Vec<ContactChannel> {
        self.0
            .channels
            .iter()
            .map(|link| ContactChannel {
                contact_id: self.0.id,
                link: link.clone(),
            })
            .collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Number of events in the contact's stream.
    async fn version(&self) -> i32 {
        i32::try_from(self.0.version).unwrap_or(i32::MAX)
    }
}

crate::types::connection::connection!(ContactConnection, ContactEdge, Contact);
