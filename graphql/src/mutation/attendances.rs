//! Attendance mutations: open outbound (item 5), messages, pending and rescue (items 6, 7),
//! finalize (one or in bulk), transfer, and the integrations' inbound messages and hand-offs.
//! Each answers with the read models once the projections have applied its own events.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Upload};
use chrono::{DateTime, Utc};
use commands::attendances::open_outbound::{open_outbound, OpenOutboundInput};
use commands::attendances::receive_inbound::{receive_inbound, Inbound};
use commands::attendances::support::{record_attachment, MessageInput};
use commands::attendances::{
    bulk, finalize, hand_off, mark_pending, rescue, send_message, transfer,
};
use commands::inline::Written;
use commands::{CommandContext, CommandError};
use domain::attendance::AttachmentRef;
use projections::attendances::read::{AttendanceRow, MessageRow};
use uuid::Uuid;

use crate::auth::{self, command_context};
use crate::error::{gql, internal, ApiResult, IntoGql};
use crate::state::ApiState;
use crate::types::attendance::{Attendance, BulkResult, DestinationType, Message};
use crate::types::catalogue::ChannelType;
use crate::uploads::read_limited;

/// Content type of an attachment whose client named none.
const UNKNOWN_CONTENT_TYPE: &str = "application/octet-stream";

/// Exactly one of text or templateId.
#[derive(InputObject)]
pub struct OutboundMessageInput {
    pub text: Option<String>,
    pub template_id: Option<Uuid>,
    /// Values for {{1}}, {{2}}...: exactly variableCount, each non-empty, with no newline or tab.
    pub template_variables: Option<Vec<String>>,
    pub attachments: Option<Vec<Upload>>,
}

#[derive(InputObject)]
pub struct OpenOutboundAttendanceInput {
    pub account_id: Uuid,
    pub contact_id: Uuid,
    pub channel: ChannelType,
    pub destination_type: DestinationType,
    /// Required for SERVICE.
    pub service_id: Option<Uuid>,
    /// Required for FLOW.
    pub flow_id: Option<String>,
    /// SERVICE only: take it myself (IN_PROGRESS) instead of queueing it (WAITING). I must
    /// belong to the service.
    #[graphql(default_with = "Some(true)")]
    pub assign_to_me: Option<bool>,
    /// Required for SERVICE; optional for FLOW.
    pub message: Option<OutboundMessageInput>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct InboundMessageInput {
    pub account_id: Uuid,
    pub channel: ChannelType,
    /// E.164 phone for phone channels, else the channel's own identifier.
    pub from: String,
    pub contact_name: Option<String>,
    pub text: Option<String>,
    pub external_message_id: Option<String>,
    pub at: Option<DateTime<Utc>>,
    /// Where a new attendance goes; default: the account's default service.
    pub service_id: Option<Uuid>,
    pub flow_id: Option<String>,
}

/// Stores the uploads of a message (each within the attachment size limit) as attachments.
async fn store_attachments(
    ctx: &Context<'_>,
    uploads: Option<Vec<Upload>>,
    field: &str,
) -> ApiResult<Vec<AttachmentRef>> {
    let state = ctx.data_unchecked::<ApiState>();
    let uploads = uploads.unwrap_or_default();
    let max_files = state.settings().max_files;
    if uploads.len() > max_files {
        return Err(gql(CommandError::LimitExceeded(format!(
            "at most {max_files} attachments per message"
        ))));
    }
    let mut refs = Vec::with_capacity(uploads.len());
    for (i, upload) in uploads.iter().enumerate() {
        let path = format!("{field}.{i}");
        let (name, bytes) =
            read_limited(ctx, upload, &path, state.settings().max_attachment_bytes)?;
        let content_type = upload
            .value(ctx)
            .ok()
            .and_then(|v| v.content_type)
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| UNKNOWN_CONTENT_TYPE.to_string());
        let file = commands::files::store(state.pool(), &bytes, &content_type)
            .await
            .gql()?;
        refs.push(
            record_attachment(state.pool(), &name, &file, state.clock().now())
                .await
                .gql()?,
        );
    }
    Ok(refs)
}

/// The API's message input as the use cases take it, its files stored.
async fn message_input(
    ctx: &Context<'_>,
    m: OutboundMessageInput,
    field: &str,
) -> ApiResult<MessageInput> {
    let path = if field.is_empty() {
        "attachments".to_string()
    } else {
        format!("{field}.attachments")
    };
    Ok(MessageInput {
        text: m.text,
        template_id: m.template_id,
        template_variables: m.template_variables,
        attachments: store_attachments(ctx, m.attachments, &path).await?,
    })
}

/// What the request's last commit to attendance `id` wrote its inline rows from, if it wrote
/// them ([`commands::inline::Journal::written`]).
fn written(c: &CommandContext, id: Uuid) -> Option<Arc<Written<domain::attendance::Attendance>>> {
    c.journal.written(&id.to_string())
}

/// The attendance as its read model shows it once the request's own writes are applied. When
/// the request's last commit to it wrote its row inline, that row is the answer, built from the
/// state it was written from (`AttendanceRow::written`), without reading it back.
pub async fn projected_attendance(
    ctx: &Context<'_>,
    c: &CommandContext,
    id: Uuid,
) -> ApiResult<Attendance> {
    wait_for_own_writes(ctx, c, &[id]).await?;
    let written = written(c, id).and_then(|w| AttendanceRow::written(&w.state));
    if let Some(row) = written {
        return Ok(Attendance::of(row));
    }
    Attendance::load(ctx, id)
        .await?
        .ok_or_else(|| gql(CommandError::not_found("attendance")))
}

#[derive(Default)]
pub struct AttendancesMutation;

#[Object]
impl AttendancesMutation {
    /// Item 5. A repeated idempotencyKey returns the first result and changes nothing.
    async fn open_outbound_attendance(
        &self,
        ctx: &Context<'_>,
        input: OpenOutboundAttendanceInput,
    ) -> ApiResult<Attendance> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        let message = match input.message {
            Some(m) => Some(message_input(ctx, m, "message").await?),
            None => None,
        };
        let open = OpenOutboundInput {
            account_id: input.account_id,
            contact_id: input.contact_id,
            channel: input.channel.into(),
            destination_type: input.destination_type.into(),
            service_id: input.service_id,
            flow_id: input.flow_id,
            assign_to_me: input.assign_to_me.unwrap_or(true),
            message,
            idempotency_key: input.idempotency_key,
        };
        let id = open_outbound(state.commands(), &c, open).await.gql()?;
        projected_attendance(ctx, &c, id).await
    }

    async fn send_message(
        &self,
        ctx: &Context<'_>,
        attendance_id: Uuid,
        input: OutboundMessageInput,
        idempotency_key: Option<String>,
    ) -> ApiResult<Message> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        let message = message_input(ctx, input, "").await?;
        let id = send_message::send_message(
            state.commands(),
            &c,
            attendance_id,
            message,
            idempotency_key.as_deref(),
        )
        .await
        .gql()?;
        wait_for_own_writes(ctx, &c, &[attendance_id]).await?;
        // The message row this request's commit wrote inline, as written (as for attendances).
        let written = written(&c, attendance_id).and_then(|w| {
            w.events
                .iter()
                .filter_map(|(seq, e)| MessageRow::written(attendance_id, *seq, e))
                .find(|m| m.id == id)
        });
        if let Some(row) = written {
            return Ok(Message(row));
        }
        Message::load(ctx, id)
            .await?
            .ok_or_else(|| gql(CommandError::not_found("message")))
    }

    async fn mark_pending(&self, ctx: &Context<'_>, attendance_id: Uuid) -> ApiResult<Attendance> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        mark_pending::mark_pending(state.commands(), &c, attendance_id)
            .await
            .gql()?;
        projected_attendance(ctx, &c, attendance_id).await
    }

    async fn rescue_attendance(
        &self,
        ctx: &Context<'_>,
        attendance_id: Uuid,
    ) -> ApiResult<Attendance> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        rescue::rescue(state.commands(), &c, attendance_id)
            .await
            .gql()?;
        projected_attendance(ctx, &c, attendance_id).await
    }

    /// Requests the survey when the service has one.
    async fn finalize_attendance(
        &self,
        ctx: &Context<'_>,
        attendance_id: Uuid,
        reason: Option<String>,
    ) -> ApiResult<Attendance> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        finalize::finalize(state.commands(), &c, attendance_id, reason, false)
            .await
            .gql()?;
        projected_attendance(ctx, &c, attendance_id).await
    }

    /// Exactly one of toServiceId (back to WAITING there) or toAgentId.
    async fn transfer_attendance(
        &self,
        ctx: &Context<'_>,
        attendance_id: Uuid,
        to_service_id: Option<Uuid>,
        to_agent_id: Option<Uuid>,
    ) -> ApiResult<Attendance> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        transfer::transfer(
            state.commands(),
            &c,
            attendance_id,
            to_service_id,
            to_agent_id,
        )
        .await
        .gql()?;
        projected_attendance(ctx, &c, attendance_id).await
    }

    /// Item 6: 1 to 50 distinct ids, else LIMIT_EXCEEDED before anything changes.
    async fn rescue_attendances(
        &self,
        ctx: &Context<'_>,
        attendance_ids: Vec<Uuid>,
    ) -> ApiResult<BulkResult> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        let outcome = bulk::rescue_many(state.commands(), &c, &attendance_ids)
            .await
            .gql()?;
        wait_for_all(ctx, &c, &outcome.succeeded).await?;
        Ok(outcome.into())
    }

    /// Item 6: never requests the survey.
    async fn finalize_attendances(
        &self,
        ctx: &Context<'_>,
        attendance_ids: Vec<Uuid>,
        reason: Option<String>,
    ) -> ApiResult<BulkResult> {
        let actor = auth::actor(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        let outcome = bulk::finalize_many(state.commands(), &c, &attendance_ids, reason)
            .await
            .gql()?;
        wait_for_all(ctx, &c, &outcome.succeeded).await?;
        Ok(outcome.into())
    }

    /// Channel gateways (role INTEGRATION token). Finds or creates the contact by (account,
    /// phone), opens or continues its attendance. A repeated externalMessageId changes nothing.
    async fn receive_inbound_message(
        &self,
        ctx: &Context<'_>,
        input: InboundMessageInput,
    ) -> ApiResult<Attendance> {
        let actor = auth::integration(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        let inbound = Inbound {
            account_id: input.account_id,
            channel: input.channel.into(),
            from: input.from,
            contact_name: input.contact_name,
            text: input.text,
            external_message_id: input.external_message_id,
            at: input.at,
            service_id: input.service_id,
            flow_id: input.flow_id,
            attachments: Vec::new(),
        };
        let received = receive_inbound(state.commands(), &c, inbound).await.gql()?;
        // A contact created by another request may still be on its way to the read model:
        // `Attendance.contact` waits for it when asked.
        projected_attendance(ctx, &c, received.attendance_id).await
    }

    /// Flow engines (role INTEGRATION token): hand an IN_FLOW attendance to a service queue.
    async fn hand_off_to_service(
        &self,
        ctx: &Context<'_>,
        attendance_id: Uuid,
        service_id: Uuid,
    ) -> ApiResult<Attendance> {
        let actor = auth::integration(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        let c = command_context(ctx, actor);
        hand_off::hand_off(state.commands(), &c, attendance_id, service_id)
            .await
            .gql()?;
        projected_attendance(ctx, &c, attendance_id).await
    }
}

/// Read-your-writes for bulk actions: the lists the panel re-queries show every change.
async fn wait_for_all(ctx: &Context<'_>, c: &CommandContext, ids: &[Uuid]) -> ApiResult<()> {
    wait_for_own_writes(ctx, c, ids).await
}

/// Waits until the read models hold what the request committed (its journal): only the
/// projections that read those events and did not apply them in the command's transaction. A
/// request that committed nothing waits for the attendances' last events instead.
///
/// The routing projection is not waited for: nothing an attendance mutation answers is read
/// from its tables. What it still has to apply is owed to the caller
/// ([`projections::owed`]), and the caller's next `counters` waits for it.
async fn wait_for_own_writes(
    ctx: &Context<'_>,
    c: &CommandContext,
    attendance_ids: &[Uuid],
) -> ApiResult<()> {
    let state = ctx.data_unchecked::<ApiState>();
    let ids: Vec<String> = attendance_ids.iter().map(Uuid::to_string).collect();
    state
        .projector()
        .wait_for_commits_owing(
            &c.journal.commits(),
            ("Attendance", &ids),
            &[projections::routing::NAME],
            &c.actor.audit_name(),
        )
        .await
        .map_err(internal)
}
