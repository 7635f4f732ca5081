//! `openOutboundAttendance` (item 5): an agent opens an attendance toward a contact of an
//! account they see, to a bot flow or a service queue (taking it themselves requires belonging
//! to the service). On the WhatsApp Business API with the window closed the first message must
//! be a template (the aggregate's rule; the window is looked up here). One open attendance per
//! contact, account and channel: a second is a CONFLICT naming the open one. A repeated
//! idempotencyKey returns the first attendance and changes nothing.

use domain::attendance::{AttendanceCommand, Destination, OpenOutbound, OutboundMessage};
use domain::kinds::{ChannelType, DestinationType};
use uuid::Uuid;

use super::support::{next_protocol, outbound_content, person, window, MessageInput};
use super::visibility::agent_services;
use super::{idempotency, open_keys};
use crate::admin::services;
use crate::contacts::references;
use crate::context::CommandContext;
use crate::error::{CommandError, CommandResult};
use crate::store::execute;
use crate::Commands;

/// The contract's `OpenOutboundAttendanceInput`.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenOutboundInput {
    pub account_id: Uuid,
    pub contact_id: Uuid,
    pub channel: ChannelType,
    pub destination_type: DestinationType,
    pub service_id: Option<Uuid>,
    pub flow_id: Option<String>,
    pub assign_to_me: bool,
    pub message: Option<MessageInput>,
    pub idempotency_key: Option<String>,
}

/// Opens the attendance; returns its id (the first one's, for a repeated idempotency key).
pub async fn open_outbound(
    c: &Commands,
    ctx: &CommandContext,
    input: OpenOutboundInput,
) -> CommandResult<Uuid> {
    let actor = person(ctx)?;
    references::require_account_visible(&c.pool, &ctx.actor, input.account_id).await?;
    let contact_account =
        references::visible_contact_account(&c.pool, &ctx.actor, input.contact_id).await?;
    if contact_account != input.account_id {
        return Err(CommandError::field(
            "contactId",
            "is not a contact of this account",
        ));
    }
    let destination = match input.destination_type {
        DestinationType::Service => {
            let id = input
                .service_id
                .ok_or_else(|| CommandError::field("serviceId", "is required for SERVICE"))?;
            services::get(&c.pool, id)
                .await?
                .filter(|s| s.account_id == input.account_id)
                .ok_or_else(|| {
                    CommandError::field("serviceId", "is not a service of this account")
                })?;
            Destination::Service(id)
        }
        DestinationType::Flow => Destination::Flow(
            input
                .flow_id
                .clone()
                .ok_or_else(|| CommandError::field("flowId", "is required for FLOW"))?,
        ),
    };
    let actor_in_service = match &destination {
        Destination::Service(id) => agent_services(&c.pool, actor.agent_id).await?.contains(id),
        Destination::Flow(_) => false,
    };
    let content = match &input.message {
        Some(m) => {
            Some(outbound_content(&c.pool, input.account_id, input.channel, m, "message").await?)
        }
        None => None,
    };
    let attendance_id = Uuid::new_v4();
    let key = input
        .idempotency_key
        .as_deref()
        .map(idempotency::parse_key)
        .transpose()?;
    if let Some(key) = &key {
        if let Some(first) =
            idempotency::claim_outbound(&c.pool, actor.agent_id, key, attendance_id, ctx.now)
                .await?
        {
            return Ok(first);
        }
    }
    let result = open(
        c,
        ctx,
        &input,
        attendance_id,
        destination,
        actor_in_service,
        content,
    )
    .await;
    if let (Err(_), Some(key)) = (&result, &key) {
        idempotency::release_outbound(&c.pool, actor.agent_id, key, attendance_id).await?;
    }
    result.map(|()| attendance_id)
}

/// Claims the contact's open key and writes the opening; the claim is released when refused.
async fn open(
    c: &Commands,
    ctx: &CommandContext,
    input: &OpenOutboundInput,
    attendance_id: Uuid,
    destination: Destination,
    actor_in_service: bool,
    content: Option<domain::attendance::OutboundContent>,
) -> CommandResult<()> {
    let actor = person(ctx)?;
    // Looked up before claiming, so a failure here leaves no claim behind.
    let protocol = next_protocol(&c.pool, input.account_id, ctx.now).await?;
    let window = window(&c.pool, input.account_id, input.contact_id, input.channel).await?;
    let existing = open_keys::claim(
        &c.pool,
        input.account_id,
        input.contact_id,
        input.channel,
        attendance_id,
        ctx.now,
    )
    .await?;
    if let Some(existing) = existing {
        return Err(CommandError::Conflict {
            message: format!("the contact already has an open attendance on this account and channel: {existing}"),
            existing_id: Some(existing),
        });
    }
    let message = content.map(|content| OutboundMessage {
        message_id: Uuid::new_v4(),
        content,
        attachments: input
            .message
            .as_ref()
            .map(|m| m.attachments.clone())
            .unwrap_or_default(),
    });
    let command = AttendanceCommand::OpenOutbound(OpenOutbound {
        attendance_id,
        protocol,
        account_id: input.account_id,
        contact_id: input.contact_id,
        channel: input.channel,
        destination,
        actor,
        assign_to_me: input.assign_to_me,
        actor_in_service,
        message,
        window,
        at: ctx.now,
    });
    let result = execute(&c.attendances, attendance_id, command, ctx).await;
    if result.is_err() {
        open_keys::release(&c.pool, attendance_id).await?;
    }
    result
}
