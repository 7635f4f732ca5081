//! Audit queries (SUPERVISOR and ADMIN): the events of one stream with their metadata, and a
//! contact as it stood at an instant, rebuilt from its events.

use async_graphql::{Context, Json, Object};
use chrono::{DateTime, Utc};
use commands::contacts::references;
use commands::{Actor, CommandError};
use domain::attendance::Attendance as DomainAttendance;
use domain::contact::Contact as DomainContact;
use projections::attendances::read::AttendanceRow;
use projections::audit;
use uuid::Uuid;

use crate::auth;
use crate::error::{gql, internal, ApiResult, IntoGql};
use crate::state::ApiState;
use crate::types::attendance::Attendance;
use crate::types::audit::{AggregateType, RecordedEvent, RecordedEventConnection};
use crate::types::connection::{decode_cursor, encode_cursor, page_size};
use crate::types::contact::Contact;

#[derive(Default)]
pub struct AuditQuery;

/// NOT_FOUND unless a supervisor may see the stream (admins see everything).
async fn require_stream_visible(
    ctx: &Context<'_>,
    actor: &Actor,
    kind: AggregateType,
    id: Uuid,
) -> ApiResult<()> {
    let pool = ctx.data_unchecked::<ApiState>().pool();
    let account: Option<Uuid> = match kind {
        AggregateType::Contact => {
            sqlx::query_scalar("SELECT account_id FROM contacts WHERE id = $1")
        }
        AggregateType::Attendance => sqlx::query_scalar(
            "SELECT (payload->'AttendanceOpened'->>'account_id')::uuid FROM events
              WHERE aggregate_type = 'Attendance' AND aggregate_id = $1::text AND sequence = 1",
        ),
        AggregateType::Agent => return Ok(()),
    }
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(internal)?
    .flatten();
    match account {
        Some(a) => references::require_account_visible(pool, actor, a)
            .await
            .gql(),
        None => Err(gql(CommandError::not_found("stream"))),
    }
}

#[Object]
impl AuditQuery {
    /// Audit (SUPERVISOR, ADMIN): the events of one aggregate, oldest first.
    async fn history(
        &self,
        ctx: &Context<'_>,
        aggregate_type: AggregateType,
        aggregate_id: Uuid,
        #[graphql(default = 100)] first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<RecordedEventConnection> {
        let actor = auth::supervisor(ctx)?;
        let first = page_size(first.unwrap_or(100))?;
        require_stream_visible(ctx, &actor, aggregate_type, aggregate_id).await?;
        let after_seq: i64 = after
            .as_deref()
            .map(|c| decode_cursor("after", c))
            .transpose()?
            .unwrap_or(0);
        let pool = ctx.data_unchecked::<ApiState>().pool();
        let (events, total) = audit::stream_page(
            pool,
            aggregate_type.stored(),
            &aggregate_id.to_string(),
            after_seq,
            first + 1,
        )
        .await
        .map_err(internal)?;
        let rows = events
            .into_iter()
            .map(|e| {
                let at = e
                    .meta("at")
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or(e.recorded_at);
                let node = RecordedEvent {
                    aggregate_type,
                    aggregate_id,
                    sequence: i32::try_from(e.sequence).unwrap_or(i32::MAX),
                    event_type: e.event_type.clone(),
                    event_version: e.event_version.clone(),
                    actor: e.meta("actor").unwrap_or_else(|| "system".to_string()),
                    correlation_id: e.meta("correlation_id"),
                    payload: Json(audit::redact(e.payload.value().unwrap_or_default())),
                    at,
                };
                (encode_cursor(&e.sequence), node)
            })
            .collect();
        Ok(RecordedEventConnection::from_rows(
            rows,
            first,
            after_seq > 0,
            total,
        ))
    }

    /// Audit (SUPERVISOR, ADMIN): the attendance as it stood at that instant, rebuilt from its
    /// events (an addition to the contract). Its `messages` are those of today's read model.
    async fn attendance_as_of(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> ApiResult<Option<Attendance>> {
        let actor = auth::supervisor(ctx)?;
        require_stream_visible(ctx, &actor, AggregateType::Attendance, id).await?;
        let pool = ctx.data_unchecked::<ApiState>().pool();
        let folded = audit::as_of::<DomainAttendance>(pool, &id.to_string(), at)
            .await
            .map_err(internal)?;
        Ok(folded
            .and_then(|a| a.state().cloned().map(|s| (a.version(), s)))
            .map(|(version, s)| {
                Attendance::of(AttendanceRow {
                    id: s.id,
                    version: i64::try_from(version).unwrap_or(i64::MAX),
                    protocol: s.protocol,
                    account_id: s.account_id,
                    contact_id: s.contact_id,
                    channel: s.channel,
                    direction: s.direction,
                    status: s.status,
                    destination_type: s.destination_type,
                    service_id: s.service_id,
                    flow_id: s.flow_id,
                    agent_id: s.agent_id,
                    opened_by: s.opened_by,
                    opened_at: s.opened_at,
                    last_interaction_at: s.last_interaction_at,
                    last_inbound_at: s.last_inbound_at,
                    last_message_preview: s.last_message_preview,
                    finalized_at: s.finalized_at,
                    finalize_reason: s.finalize_reason,
                    survey_requested: s.survey_requested,
                })
            }))
    }

    /// Audit (SUPERVISOR, ADMIN): the contact as it stood at that instant, rebuilt from its events.
    async fn contact_as_of(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> ApiResult<Option<Contact>> {
        let actor = auth::supervisor(ctx)?;
        require_stream_visible(ctx, &actor, AggregateType::Contact, id).await?;
        let pool = ctx.data_unchecked::<ApiState>().pool();
        let contact = audit::as_of::<DomainContact>(pool, &id.to_string(), at)
            .await
            .map_err(internal)?;
        Ok(contact.map(Contact))
    }
}
