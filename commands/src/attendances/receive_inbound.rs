//! `receiveInboundMessage` (channel gateways, integration token): a customer wrote.
//!
//! 1. A repeated `externalMessageId` returns the attendance the first delivery went to and
//!    changes nothing.
//! 2. The contact is found by its routing key — (account, primary phone in E.164) on phone
//!    channels, (account, channel, identifier) in `contact_channel_ids` on the others — or
//!    created (named after `contactName`, else the identifier). A phone claimed by a
//!    registration that has not committed is handled by [`by_phone`]: taken over once stale,
//!    waited on briefly while fresh. The channel identity is linked to the contact (a no-op
//!    once linked).
//! 3. The contact's open attendance on this account and channel takes the message (a PENDING
//!    one stays pending and moves to the top); without one, a new attendance opens to the given
//!    service or flow, else the account's default service.
//!
//! The usual case, a known contact writing again to their open attendance, costs the look-up
//! statement ([`inbound_lookup`](super::inbound_lookup)), which also takes the message id's
//! claim for that attendance, and the append; plus one read of the contact's and the
//! attendance's streams together when this process has not cached them. The holder of a key is
//! trusted only once their events show they route by it: read from the log, or from the cache
//! when the look-up found the cached state at the stream's last sequence. The look-up's claim
//! is given back when the message goes to another attendance or is refused.

use chrono::{DateTime, Utc};
use domain::attendance::{
    AttachmentRef, AttendanceCommand, Destination, InboundMessage, OpenInbound,
    ReceiveCustomerMessage,
};
use domain::contact::{
    rules::parse_channel_identifier, Contact, ContactCommand, ContactInput, PhoneInput,
};
use domain::kinds::ChannelType;
use domain::values::{Phone, NAME_MAX};
use sqlx::PgPool;
use uuid::Uuid;

use super::inbound_lookup::{lookup, InboundLookup, Sender};
use super::open_keys::{self, STALE_CLAIM};
use super::{idempotency, support};
use crate::admin::services;
use crate::contacts::{by_phone, register::register_contact, stream};
use crate::context::{Actor, CommandContext};
use crate::error::{CommandError, CommandResult};
use crate::store::execute;
use crate::Commands;

/// How many times a message is retried when the attendance it was going to was finalized or
/// opened concurrently: once is enough for one race; a bound keeps a bug from looping.
const MAX_ATTEMPTS: usize = 3;

/// The contract's `InboundMessageInput`, with stored attachments.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub account_id: Uuid,
    pub channel: ChannelType,
    pub from: String,
    pub contact_name: Option<String>,
    pub text: Option<String>,
    pub external_message_id: Option<String>,
    pub at: Option<DateTime<Utc>>,
    pub service_id: Option<Uuid>,
    pub flow_id: Option<String>,
    pub attachments: Vec<AttachmentRef>,
}

/// Where the message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub attendance_id: Uuid,
    pub contact_id: Uuid,
}

/// Receives one customer message.
pub async fn receive_inbound(
    c: &Commands,
    ctx: &CommandContext,
    input: Inbound,
) -> CommandResult<Received> {
    if !matches!(ctx.actor, Actor::Integration { .. } | Actor::System) {
        return Err(CommandError::forbidden(
            "this operation needs an integration token",
        ));
    }
    let channel = input.channel;
    let parsed = parse_channel_identifier(channel, &input.from)
        .map_err(|e| CommandError::field("from", &e.message));
    let phone = match &parsed {
        Ok(identifier) if channel.is_phone_channel() => {
            Some(Phone::parse_e164(identifier).map_err(|e| CommandError::field("from", &e.message)))
        }
        _ => None,
    };
    let routing_key = routing_key(&phone);
    let sender = match (&parsed, &routing_key, &phone) {
        (_, Some(key), _) => Sender::Phone { routing_key: key },
        (Ok(identifier), None, None) => Sender::Identity { identifier },
        _ => Sender::Unknown,
    };
    let external_id = external_id(&input);
    let found = lookup(
        &c.pool,
        input.account_id,
        channel,
        external_id,
        sender,
        ctx.now,
    )
    .await?;
    // From here on, an early return gives the look-up's claim back.
    let mut claim = Claim {
        pool: &c.pool,
        account_id: input.account_id,
        channel,
        external_id: external_id.filter(|_| found.claimed),
        attendance_id: found.open,
    };
    let received = receive(c, ctx, &input, &found, parsed, phone, &mut claim).await;
    if received.is_err() {
        claim.release().await?;
    }
    received
}

/// The gateway message id as the look-up claimed it, until a delivery takes it over.
struct Claim<'a> {
    pool: &'a PgPool,
    account_id: Uuid,
    channel: ChannelType,
    /// The claimed id, while the claim is the look-up's own and not yet used.
    external_id: Option<&'a str>,
    /// The attendance it was claimed for.
    attendance_id: Option<Uuid>,
}

impl Claim<'_> {
    /// Whether the look-up's claim was for `attendance_id`'s message (then the delivery's claim
    /// is taken: it is the delivery's now).
    fn take_for(&mut self, attendance_id: Uuid) -> bool {
        self.external_id.is_some() && self.attendance_id == Some(attendance_id) && {
            self.external_id = None;
            true
        }
    }

    /// Gives the look-up's claim back, if it was not taken.
    async fn release(&mut self) -> CommandResult<()> {
        if let Some(ext) = self.external_id.take() {
            idempotency::release_inbound(self.pool, self.account_id, self.channel, ext).await?;
        }
        Ok(())
    }
}

/// The gateway's message id, trimmed; `None` when blank.
fn external_id(input: &Inbound) -> Option<&str> {
    input
        .external_message_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The routing key of the sender's phone, when it parsed.
fn routing_key(phone: &Option<CommandResult<Phone>>) -> Option<String> {
    match phone {
        Some(Ok(phone)) => Some(phone.routing_key()),
        _ => None,
    }
}

/// The message's delivery once looked up; `claim` is the look-up's claim.
async fn receive(
    c: &Commands,
    ctx: &CommandContext,
    input: &Inbound,
    found: &InboundLookup,
    parsed: CommandResult<String>,
    phone: Option<CommandResult<Phone>>,
    claim: &mut Claim<'_>,
) -> CommandResult<Received> {
    let channel = input.channel;
    let external_id = external_id(input);
    let routing_key = routing_key(&phone);
    if !found.account_exists {
        return Err(CommandError::field("accountId", "does not exist"));
    }
    let identifier = parsed?;
    let phone = phone.transpose()?;
    if let Some(first) = found.delivered {
        return Ok(first);
    }
    let destination = destination(&c.pool, input, found.default_service).await?;
    let link = ContactCommand::LinkChannel {
        channel,
        identifier: identifier.clone(),
        account_id: input.account_id,
        at: ctx.now,
    };
    let known = match found.holder {
        Some(holder) => {
            let open = found.open.map(|id| (id, found.open_sequence));
            let contact = stream::load_at(c, holder, found.holder_sequence, open).await?;
            known_contact(contact, input.account_id, routing_key.as_deref())
        }
        None => None,
    };
    let contact_id = match known {
        // Linked already (decided on the state just read from the log): nothing to write.
        Some(contact) if contact.decide(link.clone()).is_ok_and(|e| e.is_empty()) => contact.id,
        Some(contact) => {
            execute(&c.contacts, contact.id, link, ctx).await?;
            contact.id
        }
        None => {
            let id =
                find_or_create_contact(c, ctx, input, channel, &identifier, phone.as_ref()).await?;
            execute(&c.contacts, id, link, ctx).await?;
            id
        }
    };
    // The look-up's open attendance is the contact's when the holder was taken as is.
    let mut looked_up = (found.holder == Some(contact_id)).then_some(found.open);
    if looked_up.is_none() {
        claim.release().await?;
    }
    let message = |message_id| InboundMessage {
        message_id,
        text: input.text.clone(),
        attachments: input.attachments.clone(),
        external_id: external_id.map(str::to_string),
        at: input.at.unwrap_or(ctx.now),
    };
    for _ in 0..MAX_ATTEMPTS {
        let open = match looked_up.take() {
            Some(open) => open,
            None => {
                open_keys::open_attendance(&c.pool, input.account_id, contact_id, channel).await?
            }
        };
        let attendance_id = open.unwrap_or_else(Uuid::new_v4);
        let claimed = claim.take_for(attendance_id);
        if let Some(ext) = external_id.filter(|_| !claimed) {
            let first = idempotency::claim_inbound(
                &c.pool,
                input.account_id,
                channel,
                ext,
                attendance_id,
                ctx.now,
            )
            .await?;
            if let Some(first) = first {
                return Ok(Received {
                    attendance_id: first,
                    contact_id,
                });
            }
        }
        let result = match open {
            Some(id) => {
                let command = AttendanceCommand::ReceiveCustomerMessage(ReceiveCustomerMessage {
                    message: message(Uuid::new_v4()),
                    at: ctx.now,
                });
                execute(&c.attendances, id, command, ctx)
                    .await
                    .map(|()| true)
            }
            None => {
                let opening = OpenInbound {
                    attendance_id,
                    protocol: String::new(),
                    account_id: input.account_id,
                    contact_id,
                    channel,
                    destination: destination.clone(),
                    first_message: message(Uuid::new_v4()),
                    at: ctx.now,
                };
                open_new(c, ctx, opening).await
            }
        };
        match result {
            Ok(true) => {
                return Ok(Received {
                    attendance_id,
                    contact_id,
                })
            }
            // Lost a race (finalized or opened meanwhile): release and look again.
            Ok(false) | Err(CommandError::InvalidState(_)) => {
                if let Some(ext) = external_id {
                    idempotency::release_inbound(&c.pool, input.account_id, channel, ext).await?;
                }
            }
            Err(e) => {
                if let Some(ext) = external_id {
                    idempotency::release_inbound(&c.pool, input.account_id, channel, ext).await?;
                }
                return Err(e);
            }
        }
    }
    Err(CommandError::Conflict {
        message: "the contact's attendance changed concurrently; retry".into(),
        existing_id: None,
    })
}

/// Opens a new attendance; `Ok(false)` when another opened one for the contact meanwhile.
async fn open_new(
    c: &Commands,
    ctx: &CommandContext,
    mut opening: OpenInbound,
) -> CommandResult<bool> {
    opening.protocol = support::next_protocol(&c.pool, opening.account_id, ctx.now).await?;
    let id = opening.attendance_id;
    let other = open_keys::claim(
        &c.pool,
        opening.account_id,
        opening.contact_id,
        opening.channel,
        id,
        ctx.now,
    )
    .await?;
    if other.is_some() {
        return Ok(false);
    }
    match execute(
        &c.attendances,
        id,
        AttendanceCommand::OpenInbound(opening),
        ctx,
    )
    .await
    {
        Ok(()) => Ok(true),
        Err(e) => {
            open_keys::release(&c.pool, id).await?;
            Err(e)
        }
    }
}

/// Where a new attendance goes: the given service (of this account) or flow, else the account's
/// default service.
async fn destination(
    pool: &PgPool,
    input: &Inbound,
    default_service: Option<Uuid>,
) -> CommandResult<Destination> {
    match (input.service_id, &input.flow_id) {
        (Some(_), Some(_)) => Err(CommandError::field(
            "serviceId",
            "give at most one of serviceId or flowId",
        )),
        (Some(id), None) => {
            services::get(pool, id)
                .await?
                .filter(|s| s.account_id == input.account_id)
                .ok_or_else(|| {
                    CommandError::field("serviceId", "is not a service of this account")
                })?;
            Ok(Destination::Service(id))
        }
        (None, Some(flow)) => Ok(Destination::Flow(flow.clone())),
        (None, None) => default_service.map(Destination::Service).ok_or_else(|| {
            CommandError::field(
                "serviceId",
                "is required: the account has no default service",
            )
        }),
    }
}

/// The holder of the sender's routing key or identity, as its events leave it, when it may take
/// the message as is: registered, and (phone channels) routing by the key. Otherwise the
/// holder's claim is settled by [`find_or_create_contact`].
fn known_contact(contact: Contact, account_id: Uuid, routing_key: Option<&str>) -> Option<Contact> {
    let routes = match routing_key {
        Some(key) => contact.holds_routing_key(account_id, key),
        None => contact.registered,
    };
    routes.then_some(contact)
}

/// The contact this identity routes to, created when there is none; `phone` is the identity
/// parsed, on phone channels.
async fn find_or_create_contact(
    c: &Commands,
    ctx: &CommandContext,
    input: &Inbound,
    channel: ChannelType,
    identifier: &str,
    phone: Option<&Phone>,
) -> CommandResult<Uuid> {
    let name = input
        .contact_name
        .as_deref()
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control())
                .take(NAME_MAX)
                .collect::<String>()
        })
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| identifier.to_string());
    let mut contact = ContactInput {
        name,
        ..ContactInput::default()
    };
    if let Some(phone) = phone {
        contact.phone = Some(PhoneInput {
            ddi: phone.ddi().to_string(),
            number: phone.number().to_string(),
        });
        let key = phone.routing_key();
        return by_phone::find_or_register(c, ctx, input.account_id, &key, contact).await;
    }
    let candidate = Uuid::new_v4();
    if let Some(holder) = claim_channel_id(
        &c.pool,
        input.account_id,
        channel,
        identifier,
        candidate,
        ctx.now,
    )
    .await?
    {
        return Ok(holder);
    }
    let registered = register_contact(c, ctx, input.account_id, contact, Vec::new()).await;
    let id = match registered {
        Ok(id) => id,
        Err(e) => {
            release_channel_id(&c.pool, input.account_id, channel, identifier, candidate).await?;
            return Err(e);
        }
    };
    // register_contact chooses the contact's id: point the claim at it.
    sqlx::query(
        "UPDATE contact_channel_ids SET contact_id = $5
          WHERE account_id = $1 AND channel = $2 AND identifier = $3 AND contact_id = $4",
    )
    .bind(input.account_id)
    .bind(channel.as_str())
    .bind(identifier)
    .bind(candidate)
    .bind(id)
    .execute(&c.pool)
    .await?;
    Ok(id)
}

/// Claims a non-phone identity for `contact_id`; returns the contact already holding it. A claim
/// whose contact never got registered (a crash in between) is taken over once stale.
async fn claim_channel_id(
    pool: &PgPool,
    account_id: Uuid,
    channel: ChannelType,
    identifier: &str,
    contact_id: Uuid,
    now: DateTime<Utc>,
) -> CommandResult<Option<Uuid>> {
    let (holder, claimed_at): (Uuid, DateTime<Utc>) = sqlx::query_as(
        "INSERT INTO contact_channel_ids (account_id, channel, identifier, contact_id, claimed_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (account_id, channel, identifier) DO UPDATE SET identifier = EXCLUDED.identifier
         RETURNING contact_id, claimed_at",
    )
    .bind(account_id)
    .bind(channel.as_str())
    .bind(identifier)
    .bind(contact_id)
    .bind(now)
    .fetch_one(pool)
    .await?;
    if holder == contact_id {
        return Ok(None);
    }
    if claimed_at < now - STALE_CLAIM {
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM events WHERE aggregate_type = 'Contact' AND aggregate_id = $1)",
        )
        .bind(holder.to_string())
        .fetch_one(pool)
        .await?;
        if !exists {
            let taken = sqlx::query(
                "UPDATE contact_channel_ids SET contact_id = $5, claimed_at = $6
                  WHERE account_id = $1 AND channel = $2 AND identifier = $3 AND contact_id = $4",
            )
            .bind(account_id)
            .bind(channel.as_str())
            .bind(identifier)
            .bind(holder)
            .bind(contact_id)
            .bind(now)
            .execute(pool)
            .await?;
            if taken.rows_affected() == 1 {
                return Ok(None);
            }
        }
    }
    Ok(Some(holder))
}

async fn release_channel_id(
    pool: &PgPool,
    account_id: Uuid,
    channel: ChannelType,
    identifier: &str,
    contact_id: Uuid,
) -> CommandResult<()> {
    sqlx::query(
        "DELETE FROM contact_channel_ids WHERE account_id = $1 AND channel = $2 AND identifier = $3 AND contact_id = $4",
    )
    .bind(account_id)
    .bind(channel.as_str())
    .bind(identifier)
    .bind(contact_id)
    .execute(pool)
    .await?;
    Ok(())
}
