//! The `attendances` read model: one row per attendance, its messages, and each contact's
//! WhatsApp window. Each event is folded into the stored domain state with the domain's own
//! `apply` (every variant, one implementation of what an event does); the list columns are
//! derived from the result, and message events add a message row. A batch of events is folded
//! in memory and each table written with one statement ([`crate::fold`], [`crate::rows`]).
//!
//! The command that appends to an attendance writes these rows in the same statement, from the
//! state it holds ([`commands::inline`]), so a mutation answers from them without waiting for the
//! lane.
//! The lane applies every event in the checkpoint's transaction too, and skips those the row's
//! `version` already holds, so an event is applied exactly once whichever comes first; the
//! inserts still tolerate a repeat (`ON CONFLICT`), which costs nothing and keeps a manual
//! replay safe.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use domain::attendance::{Attendance, AttendanceEvent, AttendanceState, MessageContent};
use domain::kinds::MessageAuthor;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use commands::inline::{Appending, InlineProjection};

use crate::fold::{fold_streams, refuse_gaps, Folded};
use crate::log::StoredEvent;
use crate::projection::{ApplyFuture, Projection};
use crate::rows::{
    copy_rows, insert_rows, ts, ts_opt, write_rows, CopyLine, TableRow, COPY_MIN_ROWS,
};

pub struct AttendancesProjection;

impl Projection for AttendancesProjection {
    fn name(&self) -> &'static str {
        "attendances"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &["Attendance"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["attendances", "attendance_messages", "contact_windows"]
    }

    fn reads_own_rows_by_key_only(&self) -> bool {
        true
    }

    /// Rows are per attendance, except each contact's window, whose upsert keeps the latest
    /// time (it commutes) and is written in key order.
    fn replays_streams_independently(&self) -> bool {
        true
    }

    fn apply<'a>(&'a self, tx: &'a mut PgConnection, event: &'a StoredEvent) -> ApplyFuture<'a> {
        self.apply_batch(tx, std::slice::from_ref(event))
    }

    fn apply_batch<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> ApplyFuture<'a> {
        Box::pin(async move {
            let folded = fold_streams::<Attendance>(&mut *tx, "attendances", events).await?;
            refuse_gaps(&folded)?;
            write_folded(tx, &folded).await
        })
    }
}

/// The command appending to attendances writes their rows in the same statement
/// ([`commands::inline`]), from the states it holds; the lane then skips those events.
impl InlineProjection<Attendance> for AttendancesProjection {
    fn name(&self) -> &'static str {
        Projection::name(self)
    }

    fn ctes(&self) -> &str {
        &INLINE_CTES
    }

    /// `$8` the rows (in key order, the order every writer locks them in), `$9` each stream's
    /// sequence before the commit, `$10` the messages, `$11` the windows' times.
    fn parameters(&self, streams: &[Appending<'_, Attendance>]) -> anyhow::Result<Vec<String>> {
        let mut rows = Vec::with_capacity(streams.len());
        let mut before = serde_json::Map::new();
        let mut messages = Vec::new();
        let mut windows = Vec::new();
        for stream in streams {
            let Some(s) = stream.state.state() else {
                continue;
            };
            rows.push(AttendanceRecord::of(stream.state, s));
            before.insert(s.id.to_string(), stream.before.into());
            for (sequence, ev) in &stream.events {
                if let Some(m) = message_of(s.id, *sequence, ev) {
                    messages.push(m);
                }
                if let AttendanceEvent::CustomerMessageReceived { at, .. } = ev {
                    windows.push(serde_json::json!({
                        "attendance_id": s.id,
                        "account_id": s.account_id,
                        "contact_id": s.contact_id,
                        "channel": s.channel.as_str(),
                        "last_inbound_at": ts(*at),
                    }));
                }
            }
        }
        rows.sort_unstable_by_key(|r| r.id);
        let messages: Vec<MessageRecord> = messages.iter().map(MessageRecord::of).collect();
        Ok(vec![
            serde_json::to_string(&rows)?,
            serde_json::to_string(&before)?,
            serde_json::to_string(&messages)?,
            serde_json::to_string(&windows)?,
        ])
    }
}

/// The rows an append writes ([`InlineProjection::parameters`] gives `$8`–`$11`): a stream's row
/// is inserted when the stream is new, or updated when it stands at the stream's sequence before
/// the commit; anything else (a row behind) is left to the lane. Messages and windows follow
/// the rows written. The sequences before are decoded once (`befores`): a parameter cast in a
/// per-row expression is decoded again for every row, which cost a bulk finalize of 50 about
/// 100 parses of its JSON.
static INLINE_CTES: LazyLock<String> = LazyLock::new(|| {
    let columns = AttendanceRecord::COLUMNS.join(", ");
    let updates: Vec<String> = AttendanceRecord::COLUMNS
        .iter()
        .filter(|c| **c != "id")
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    let message_columns = MessageRecord::COLUMNS.join(", ");
    format!(
        "befores AS (
            SELECT key::uuid AS id, value::bigint AS before FROM jsonb_each_text($9::text::jsonb)),
         written AS (
            INSERT INTO attendances ({columns})
            SELECT {columns} FROM jsonb_populate_recordset(NULL::attendances, $8::text::jsonb) r
             WHERE (SELECT b.before FROM befores b WHERE b.id = r.id) = 0
                OR EXISTS (SELECT 1 FROM attendances a WHERE a.id = r.id)
            ON CONFLICT (id) DO UPDATE SET {updates}
             WHERE attendances.version = (SELECT b.before FROM befores b WHERE b.id = attendances.id)
            RETURNING id),
         written_messages AS (
            INSERT INTO attendance_messages ({message_columns})
            SELECT {message_columns}
              FROM jsonb_populate_recordset(NULL::attendance_messages, $10::text::jsonb) m
             WHERE m.attendance_id IN (SELECT id FROM written)
            ON CONFLICT (id) DO NOTHING),
         written_windows AS (
            INSERT INTO contact_windows (account_id, contact_id, channel, last_inbound_at)
            SELECT w.account_id, w.contact_id, w.channel, max(w.last_inbound_at)
              FROM jsonb_to_recordset($11::text::jsonb)
                   AS w(attendance_id uuid, account_id uuid, contact_id uuid, channel text,
                        last_inbound_at timestamptz)
             WHERE w.attendance_id IN (SELECT id FROM written)
             GROUP BY w.account_id, w.contact_id, w.channel
             ORDER BY w.account_id, w.contact_id, w.channel
            ON CONFLICT (account_id, contact_id, channel) DO UPDATE
               SET last_inbound_at = GREATEST(contact_windows.last_inbound_at, EXCLUDED.last_inbound_at)),
         applied AS (SELECT id::text AS id FROM written)",
        updates = updates.join(", ")
    )
});

/// Writes what a fold changed: each changed attendance's row, the messages its applied events
/// add, and the WhatsApp windows they move.
async fn write_folded(
    tx: &mut PgConnection,
    folded: &[Folded<'_, Attendance>],
) -> anyhow::Result<()> {
    let mut rows = Vec::with_capacity(folded.len());
    let mut messages = Vec::new();
    let mut windows: HashMap<(Uuid, Uuid, &str), DateTime<Utc>> = HashMap::new();
    for f in folded.iter().filter(|f| f.changed()) {
        let Some(s) = f.state.state() else { continue };
        rows.push((f.existed, AttendanceRecord::of(&f.state, s)));
        for (e, ev) in &f.events {
            if let Some(m) = message_of(f.id, e.sequence, ev) {
                messages.push(m);
            }
            if let AttendanceEvent::CustomerMessageReceived { at, .. } = ev {
                let last = windows
                    .entry((s.account_id, s.contact_id, s.channel.as_str()))
                    .or_insert(*at);
                *last = (*last).max(*at);
            }
        }
    }
    write_rows(&mut *tx, "attendances", &["id"], rows).await?;
    let messages: Vec<MessageRecord> = messages.iter().map(MessageRecord::of).collect();
    if messages.len() >= COPY_MIN_ROWS {
        // Only its own event adds a message, and each event is applied once.
        copy_rows(&mut *tx, "attendance_messages", &messages).await?;
    } else {
        let conflict = "ON CONFLICT (id) DO NOTHING";
        insert_rows(&mut *tx, "attendance_messages", &messages, conflict).await?;
    }
    // In key order: concurrent writers (rebuild writers, commands) lock shared rows in one order.
    let mut windows: Vec<_> = windows.into_iter().collect();
    windows.sort_unstable_by_key(|(key, _)| *key);
    let windows: Vec<WindowRecord> = windows
        .into_iter()
        .map(|((account_id, contact_id, channel), at)| WindowRecord {
            account_id,
            contact_id,
            channel,
            last_inbound_at: ts(at),
        })
        .collect();
    let conflict = "ON CONFLICT (account_id, contact_id, channel) DO UPDATE
        SET last_inbound_at = GREATEST(contact_windows.last_inbound_at, EXCLUDED.last_inbound_at)";
    insert_rows(tx, "contact_windows", &windows, conflict).await
}

/// The whole row of one opened attendance, derived from its folded state.
#[derive(Serialize)]
struct AttendanceRecord<'a> {
    id: Uuid,
    version: u64,
    protocol: &'a str,
    account_id: Uuid,
    contact_id: Uuid,
    channel: &'static str,
    direction: &'static str,
    status: &'static str,
    destination_type: &'static str,
    service_id: Option<Uuid>,
    flow_id: Option<&'a str>,
    agent_id: Option<Uuid>,
    opened_by: Option<Uuid>,
    opened_at: String,
    last_interaction_at: String,
    last_inbound_at: Option<String>,
    last_message_preview: Option<&'a str>,
    finalized_at: Option<String>,
    finalize_reason: Option<&'a str>,
    survey_requested: bool,
    message_count: u64,
    state: &'a Attendance,
}

impl<'a> AttendanceRecord<'a> {
    fn of(a: &'a Attendance, s: &'a AttendanceState) -> Self {
        Self {
            id: s.id,
            version: a.version(),
            protocol: &s.protocol,
            account_id: s.account_id,
            contact_id: s.contact_id,
            channel: s.channel.as_str(),
            direction: s.direction.as_str(),
            status: s.status.as_str(),
            destination_type: s.destination_type.as_str(),
            service_id: s.service_id,
            flow_id: s.flow_id.as_deref(),
            agent_id: s.agent_id,
            opened_by: s.opened_by,
            opened_at: ts(s.opened_at),
            last_interaction_at: ts(s.last_interaction_at),
            last_inbound_at: ts_opt(s.last_inbound_at),
            last_message_preview: s.last_message_preview.as_deref(),
            finalized_at: ts_opt(s.finalized_at),
            finalize_reason: s.finalize_reason.as_deref(),
            survey_requested: s.survey_requested,
            message_count: s.message_count,
            state: a,
        }
    }
}

impl TableRow for AttendanceRecord<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "version",
        "protocol",
        "account_id",
        "contact_id",
        "channel",
        "direction",
        "status",
        "destination_type",
        "service_id",
        "flow_id",
        "agent_id",
        "opened_by",
        "opened_at",
        "last_interaction_at",
        "last_inbound_at",
        "last_message_preview",
        "finalized_at",
        "finalize_reason",
        "survey_requested",
        "message_count",
        "state",
    ];

    fn copy_fields(&self, l: &mut CopyLine) -> anyhow::Result<()> {
        l.uuid(Some(self.id));
        l.plain(Some(self.version));
        l.text(Some(self.protocol));
        l.uuid(Some(self.account_id));
        l.uuid(Some(self.contact_id));
        l.text(Some(self.channel));
        l.text(Some(self.direction));
        l.text(Some(self.status));
        l.text(Some(self.destination_type));
        l.uuid(self.service_id);
        l.text(self.flow_id);
        l.uuid(self.agent_id);
        l.uuid(self.opened_by);
        l.text(Some(&self.opened_at));
        l.text(Some(&self.last_interaction_at));
        l.text(self.last_inbound_at.as_deref());
        l.text(self.last_message_preview);
        l.text(self.finalized_at.as_deref());
        l.text(self.finalize_reason);
        l.bool(self.survey_requested);
        l.plain(Some(self.message_count));
        l.json(self.state)
    }
}

/// A contact's WhatsApp window row.
#[derive(Serialize)]
struct WindowRecord<'a> {
    account_id: Uuid,
    contact_id: Uuid,
    channel: &'a str,
    last_inbound_at: String,
}

impl TableRow for WindowRecord<'_> {
    const COLUMNS: &'static [&'static str] =
        &["account_id", "contact_id", "channel", "last_inbound_at"];

    fn copy_fields(&self, l: &mut CopyLine) -> anyhow::Result<()> {
        l.uuid(Some(self.account_id));
        l.uuid(Some(self.contact_id));
        l.text(Some(self.channel));
        l.text(Some(&self.last_inbound_at));
        Ok(())
    }
}

/// A message row as an event describes it (pure: unit-tested below).
#[derive(Debug, Clone, PartialEq)]
struct NewMessage {
    id: Uuid,
    attendance_id: Uuid,
    seq: i64,
    author: MessageAuthor,
    agent_id: Option<Uuid>,
    text: Option<String>,
    template_id: Option<Uuid>,
    template_variables: Option<Vec<String>>,
    attachments: serde_json::Value,
    external_id: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
}

/// The message an event adds, if it is a message event.
fn message_of(attendance_id: Uuid, seq: i64, ev: &AttendanceEvent) -> Option<NewMessage> {
    match ev {
        AttendanceEvent::CustomerMessageReceived {
            message_id,
            text,
            attachments,
            external_id,
            at,
        } => Some(NewMessage {
            id: *message_id,
            attendance_id,
            seq,
            author: MessageAuthor::Contact,
            agent_id: None,
            text: text.clone(),
            template_id: None,
            template_variables: None,
            attachments: serde_json::to_value(attachments).unwrap_or_default(),
            external_id: external_id.clone(),
            at: *at,
        }),
        AttendanceEvent::AgentMessageSent {
            message_id,
            agent_id,
            content,
            attachments,
            at,
        } => {
            let (template_id, template_variables) = match content {
                MessageContent::Text { .. } => (None, None),
                MessageContent::Template {
                    template_id,
                    variables,
                    ..
                } => (Some(*template_id), Some(variables.clone())),
            };
            Some(NewMessage {
                id: *message_id,
                attendance_id,
                seq,
                author: MessageAuthor::Agent,
                agent_id: Some(*agent_id),
                // What the customer read: the rendered template included.
                text: Some(content.text().to_string()),
                template_id,
                template_variables,
                attachments: serde_json::to_value(attachments).unwrap_or_default(),
                external_id: None,
                at: *at,
            })
        }
        _ => None,
    }
}

/// A message's row.
#[derive(Serialize)]
struct MessageRecord<'a> {
    id: Uuid,
    attendance_id: Uuid,
    seq: i64,
    author: &'static str,
    agent_id: Option<Uuid>,
    text: Option<&'a str>,
    template_id: Option<Uuid>,
    template_variables: Option<&'a [String]>,
    attachments: &'a serde_json::Value,
    external_id: Option<&'a str>,
    at: String,
}

impl<'a> MessageRecord<'a> {
    fn of(m: &'a NewMessage) -> Self {
        Self {
            id: m.id,
            attendance_id: m.attendance_id,
            seq: m.seq,
            author: m.author.as_str(),
            agent_id: m.agent_id,
            text: m.text.as_deref(),
            template_id: m.template_id,
            template_variables: m.template_variables.as_deref(),
            attachments: &m.attachments,
            external_id: m.external_id.as_deref(),
            at: ts(m.at),
        }
    }
}

impl TableRow for MessageRecord<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "attendance_id",
        "seq",
        "author",
        "agent_id",
        "text",
        "template_id",
        "template_variables",
        "attachments",
        "external_id",
        "at",
    ];

    fn copy_fields(&self, l: &mut CopyLine) -> anyhow::Result<()> {
        l.uuid(Some(self.id));
        l.uuid(Some(self.attendance_id));
        l.plain(Some(self.seq));
        l.text(Some(self.author));
        l.uuid(self.agent_id);
        l.text(self.text);
        l.uuid(self.template_id);
        match self.template_variables {
            Some(v) => l.json(&v)?,
            None => l.text(None),
        }
        l.json(self.attachments)?;
        l.text(self.external_id);
        l.text(Some(&self.at));
        Ok(())
    }
}

/// Reads of the attendances read model, for the GraphQL layer.
pub mod read {
    use chrono::{DateTime, Utc};
    use commands::attendances::visibility::Scope;
    use domain::attendance::AttachmentRef;
    use domain::contact::Contact;
    use domain::kinds::{AttendanceStatus, ChannelType, DestinationType, Direction, MessageAuthor};
    use domain::values::search::{digits, fold};
    use sqlx::postgres::PgRow;
    use sqlx::types::Json;
    use sqlx::{FromRow, PgPool, Postgres, QueryBuilder, Row};
    use uuid::Uuid;

    use crate::like;

    const COLUMNS: &str = "a.id, a.version, a.protocol, a.account_id, a.contact_id, a.channel, a.direction,
        a.status, a.destination_type, a.service_id, a.flow_id, a.agent_id, a.opened_by, a.opened_at,
        a.last_interaction_at, a.last_inbound_at, a.last_message_preview, a.finalized_at, a.finalize_reason,
        a.survey_requested";

    /// One attendance as lists and the `Attendance` type show it.
    #[derive(Debug, Clone, PartialEq)]
    pub struct AttendanceRow {
        pub id: Uuid,
        pub version: i64,
        pub protocol: String,
        pub account_id: Uuid,
        pub contact_id: Uuid,
        pub channel: ChannelType,
        pub direction: Direction,
        pub status: AttendanceStatus,
        pub destination_type: DestinationType,
        pub service_id: Option<Uuid>,
        pub flow_id: Option<String>,
        pub agent_id: Option<Uuid>,
        pub opened_by: Option<Uuid>,
        pub opened_at: DateTime<Utc>,
        pub last_interaction_at: DateTime<Utc>,
        pub last_inbound_at: Option<DateTime<Utc>>,
        pub last_message_preview: Option<String>,
        pub finalized_at: Option<DateTime<Utc>>,
        pub finalize_reason: Option<String>,
        pub survey_requested: bool,
    }

    fn decode<T>(
        column: &str,
        raw: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, sqlx::Error> {
        parse(raw).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: column.into(),
            source: format!("unknown value {raw:?}").into(),
        })
    }

    impl AttendanceRow {
        /// The row an inline write stores for `a` ([`super::AttendanceRecord`], the one
        /// mapping of a state to its row), as [`get`] reads it back right after: times at the
        /// column's microsecond precision. `None` before the attendance opens.
        pub fn written(a: &domain::attendance::Attendance) -> Option<Self> {
            let s = a.state()?;
            let r = super::AttendanceRecord::of(a, s);
            let time = |t: &str| {
                DateTime::parse_from_rfc3339(t)
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            };
            let time_opt = |t: &Option<String>| match t {
                Some(t) => time(t).map(Some),
                None => Some(None),
            };
            Some(Self {
                id: r.id,
                version: i64::try_from(r.version).ok()?,
                protocol: r.protocol.to_string(),
                account_id: r.account_id,
                contact_id: r.contact_id,
                channel: ChannelType::parse(r.channel)?,
                direction: Direction::parse(r.direction)?,
                status: AttendanceStatus::parse(r.status)?,
                destination_type: DestinationType::parse(r.destination_type)?,
                service_id: r.service_id,
                flow_id: r.flow_id.map(str::to_string),
                agent_id: r.agent_id,
                opened_by: r.opened_by,
                opened_at: time(&r.opened_at)?,
                last_interaction_at: time(&r.last_interaction_at)?,
                last_inbound_at: time_opt(&r.last_inbound_at)?,
                last_message_preview: r.last_message_preview.map(str::to_string),
                finalized_at: time_opt(&r.finalized_at)?,
                finalize_reason: r.finalize_reason.map(str::to_string),
                survey_requested: r.survey_requested,
            })
        }
    }

    impl<'r> FromRow<'r, PgRow> for AttendanceRow {
        fn from_row(r: &'r PgRow) -> Result<Self, sqlx::Error> {
            Ok(Self {
                id: r.try_get("id")?,
                version: r.try_get("version")?,
                protocol: r.try_get("protocol")?,
                account_id: r.try_get("account_id")?,
                contact_id: r.try_get("contact_id")?,
                channel: decode("channel", r.try_get("channel")?, ChannelType::parse)?,
                direction: decode("direction", r.try_get("direction")?, Direction::parse)?,
                status: decode("status", r.try_get("status")?, AttendanceStatus::parse)?,
                destination_type: decode(
                    "destination_type",
                    r.try_get("destination_type")?,
                    DestinationType::parse,
                )?,
                service_id: r.try_get("service_id")?,
                flow_id: r.try_get("flow_id")?,
                agent_id: r.try_get("agent_id")?,
                opened_by: r.try_get("opened_by")?,
                opened_at: r.try_get("opened_at")?,
                last_interaction_at: r.try_get("last_interaction_at")?,
                last_inbound_at: r.try_get("last_inbound_at")?,
                last_message_preview: r.try_get("last_message_preview")?,
                finalized_at: r.try_get("finalized_at")?,
                finalize_reason: r.try_get("finalize_reason")?,
                survey_requested: r.try_get("survey_requested")?,
            })
        }
    }

    /// One message of an attendance.
    #[derive(Debug, Clone, PartialEq)]
    pub struct MessageRow {
        pub id: Uuid,
        pub attendance_id: Uuid,
        pub seq: i64,
        pub author: MessageAuthor,
        pub agent_id: Option<Uuid>,
        pub text: Option<String>,
        pub template_id: Option<Uuid>,
        pub template_variables: Option<Vec<String>>,
        pub attachments: Vec<AttachmentRef>,
        pub at: DateTime<Utc>,
    }

    impl MessageRow {
        /// The row an inline write stores for the message event `ev` (the `seq`-th of
        /// attendance `attendance_id`), as [`message`] reads it back right after; `None` for
        /// an event that adds no message.
        pub fn written(
            attendance_id: Uuid,
            seq: i64,
            ev: &domain::attendance::AttendanceEvent,
        ) -> Option<Self> {
            let m = super::message_of(attendance_id, seq, ev)?;
            let r = super::MessageRecord::of(&m);
            Some(Self {
                id: r.id,
                attendance_id: r.attendance_id,
                seq: r.seq,
                author: MessageAuthor::parse(r.author)?,
                agent_id: r.agent_id,
                text: r.text.map(str::to_string),
                template_id: r.template_id,
                template_variables: r.template_variables.map(<[String]>::to_vec),
                attachments: serde_json::from_value(r.attachments.clone()).ok()?,
                at: DateTime::parse_from_rfc3339(&r.at)
                    .ok()?
                    .with_timezone(&Utc),
            })
        }
    }

    fn json<T: serde::de::DeserializeOwned>(
        column: &str,
        v: Option<serde_json::Value>,
    ) -> Result<Option<T>, sqlx::Error> {
        v.map(serde_json::from_value)
            .transpose()
            .map_err(|e| sqlx::Error::ColumnDecode {
                index: column.into(),
                source: Box::new(e),
            })
    }

    impl<'r> FromRow<'r, PgRow> for MessageRow {
        fn from_row(r: &'r PgRow) -> Result<Self, sqlx::Error> {
            let variables = json("template_variables", r.try_get("template_variables")?)?;
            let attachments = json("attachments", r.try_get("attachments")?)?.unwrap_or_default();
            Ok(Self {
                id: r.try_get("id")?,
                attendance_id: r.try_get("attendance_id")?,
                seq: r.try_get("seq")?,
                author: decode("author", r.try_get("author")?, MessageAuthor::parse)?,
                agent_id: r.try_get("agent_id")?,
                text: r.try_get("text")?,
                template_id: r.try_get("template_id")?,
                template_variables: variables,
                attachments,
                at: r.try_get("at")?,
            })
        }
    }

    /// A page request on a list ordered by a time, newest first, ties by id: `after` is the
    /// last row's (time, id) of the previous page.
    #[derive(Debug, Clone, Default)]
    pub struct Page {
        pub first: i64,
        pub after: Option<(DateTime<Utc>, Uuid)>,
    }

    /// One attendance by id.
    pub async fn get(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<AttendanceRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM attendances a WHERE a.id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await?)
    }

    /// Narrows to attendances whose contact matches `term`: folded name (accent- and
    /// case-insensitive), or the digits of the document or the phone.
    fn push_contact_search(q: &mut QueryBuilder<'_, Postgres>, term: Option<&str>) {
        let Some(term) = term.map(str::trim).filter(|t| !t.is_empty()) else {
            return;
        };
        q.push(" AND (c.name_search LIKE ")
            .push_bind(like::contains(&fold(term)));
        let doc: String = term
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_uppercase();
        // A document search needs at least a few characters; one digit would match everyone.
        if doc.len() >= 3 {
            q.push(" OR c.document_value LIKE ")
                .push_bind(format!("%{doc}%"));
        }
        let d = digits(term);
        if d.len() >= 3 {
            q.push(" OR c.phone_digits LIKE ")
                .push_bind(format!("%{d}%"));
            q.push(" OR c.phone_key LIKE ").push_bind(format!("%{d}%"));
        }
        q.push(")");
    }

    /// Restricts to what `scope` may see.
    fn push_scope(q: &mut QueryBuilder<'_, Postgres>, scope: &Scope) {
        match scope {
            Scope::All => {}
            Scope::Accounts(ids) => {
                q.push(" AND a.account_id = ANY(")
                    .push_bind(ids.clone())
                    .push(")");
            }
            Scope::Agent {
                agent_id,
                service_ids,
            } => {
                q.push(" AND (a.agent_id = ").push_bind(*agent_id);
                q.push(" OR (a.status = 'WAITING' AND a.service_id = ANY(")
                    .push_bind(service_ids.clone())
                    .push(")))");
            }
        }
    }

    /// An attendance of a list with its contact, read in the same query: a page that shows
    /// each row's contact needs no second round trip (nor a batch loader's wait) for them.
    #[derive(Debug, Clone, PartialEq)]
    pub struct ListedAttendance {
        pub attendance: AttendanceRow,
        /// None only while a contact registered a moment ago is still on its way to the read model.
        pub contact: Option<Contact>,
    }

    impl<'r> FromRow<'r, PgRow> for ListedAttendance {
        fn from_row(r: &'r PgRow) -> Result<Self, sqlx::Error> {
            let contact: Option<Json<Contact>> = r.try_get("contact_state")?;
            Ok(Self {
                attendance: AttendanceRow::from_row(r)?,
                contact: contact.map(|c| c.0),
            })
        }
    }

    /// Runs a list: `filter` adds the WHERE conditions (after `WHERE true`), rows are ordered by
    /// `order_column` then id, both descending; returns the page (one extra row) and the total.
    async fn list(
        pool: &PgPool,
        order_column: &str,
        page: &Page,
        filter: impl Fn(&mut QueryBuilder<'_, Postgres>),
    ) -> anyhow::Result<(Vec<ListedAttendance>, i64)> {
        let from = " FROM attendances a LEFT JOIN contacts c ON c.id = a.contact_id WHERE true";
        // The total rides along with the page (an uncorrelated subquery, counted once): one round
        // trip for both whenever the page has a row.
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {COLUMNS}, c.state AS contact_state, (SELECT count(*){from}"
        ));
        filter(&mut q);
        q.push(format!(") AS total_count{from}"));
        filter(&mut q);
        if let Some((t, id)) = page.after {
            q.push(format!(" AND (a.{order_column}, a.id) < ("))
                .push_bind(t)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        q.push(format!(" ORDER BY a.{order_column} DESC, a.id DESC LIMIT "))
            .push_bind(page.first + 1);
        let found = q.build().fetch_all(pool).await?;
        if let Some(first) = found.first() {
            let total: i64 = first.try_get("total_count")?;
            let rows = found
                .iter()
                .map(ListedAttendance::from_row)
                .collect::<Result<Vec<_>, _>>()?;
            return Ok((rows, total));
        }
        // An empty page (past the end, or nothing at all) still has a total.
        let mut c = QueryBuilder::<Postgres>::new(format!("SELECT count(*){from}"));
        filter(&mut c);
        let total: i64 = c.build_query_scalar().fetch_one(pool).await?;
        Ok((Vec::new(), total))
    }

    /// Items 6 and 7: PENDING with `agent_id`, last interaction first, optionally narrowed by a
    /// contact search; the total is the shortcut's number (for that search).
    pub async fn pending(
        pool: &PgPool,
        agent_id: Uuid,
        search: Option<&str>,
        page: &Page,
    ) -> anyhow::Result<(Vec<ListedAttendance>, i64)> {
        list(pool, "last_interaction_at", page, |q| {
            q.push(" AND a.agent_id = ")
                .push_bind(agent_id)
                .push(" AND a.status = 'PENDING'");
            push_contact_search(q, search);
        })
        .await
    }

    /// IN_PROGRESS with `agent_id`, last interaction first.
    pub async fn in_progress(
        pool: &PgPool,
        agent_id: Uuid,
        page: &Page,
    ) -> anyhow::Result<(Vec<ListedAttendance>, i64)> {
        list(pool, "last_interaction_at", page, |q| {
            q.push(" AND a.agent_id = ")
                .push_bind(agent_id)
                .push(" AND a.status = 'IN_PROGRESS'");
        })
        .await
    }

    /// Item 4: every attendance of a contact, newest opened first.
    pub async fn contact_history(
        pool: &PgPool,
        contact_id: Uuid,
        page: &Page,
    ) -> anyhow::Result<(Vec<ListedAttendance>, i64)> {
        list(pool, "opened_at", page, |q| {
            q.push(" AND a.contact_id = ").push_bind(contact_id);
        })
        .await
    }

    /// Item 13: attendances whose contact matches `search` among those `scope` may see, last
    /// interaction first; finalized ones only when asked.
    pub async fn find(
        pool: &PgPool,
        scope: &Scope,
        search: &str,
        include_finalized: bool,
        page: &Page,
    ) -> anyhow::Result<(Vec<ListedAttendance>, i64)> {
        list(pool, "last_interaction_at", page, |q| {
            push_scope(q, scope);
            if !include_finalized {
                q.push(" AND a.status <> 'FINALIZED'");
            }
            push_contact_search(q, Some(search));
        })
        .await
    }

    const MESSAGE_COLUMNS: &str =
        "id, attendance_id, seq, author, agent_id, text, template_id, template_variables, attachments, at";

    /// One message by id.
    pub async fn message(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<MessageRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM attendance_messages WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await?)
    }

    /// A page of an attendance's messages, oldest first; `after` is the last (at, seq) seen.
    /// Returns one extra row (to know whether more follow) and the total.
    pub async fn messages(
        pool: &PgPool,
        attendance_id: Uuid,
        first: i64,
        after: Option<(DateTime<Utc>, i64)>,
    ) -> anyhow::Result<(Vec<MessageRow>, i64)> {
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {MESSAGE_COLUMNS} FROM attendance_messages WHERE attendance_id = "
        ));
        q.push_bind(attendance_id);
        if let Some((at, seq)) = after {
            q.push(" AND (at, seq) > (")
                .push_bind(at)
                .push(", ")
                .push_bind(seq)
                .push(")");
        }
        q.push(" ORDER BY at, seq LIMIT ").push_bind(first + 1);
        let rows = q.build_query_as().fetch_all(pool).await?;
        let total: i64 =
            sqlx::query_scalar("SELECT count(*) FROM attendance_messages WHERE attendance_id = $1")
                .bind(attendance_id)
                .fetch_one(pool)
                .await?;
        Ok((rows, total))
    }

    /// The contact's last inbound message on this account and channel, in any attendance.
    pub async fn last_inbound(
        pool: &PgPool,
        account_id: Uuid,
        contact_id: Uuid,
        channel: ChannelType,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        Ok(sqlx::query_scalar(
            "SELECT last_inbound_at FROM contact_windows WHERE account_id = $1 AND contact_id = $2 AND channel = $3",
        )
        .bind(account_id)
        .bind(contact_id)
        .bind(channel.as_str())
        .fetch_optional(pool)
        .await?)
    }

    /// The last inbound message of each (account, contact, channel) asked for that has one.
    pub async fn last_inbound_many(
        pool: &PgPool,
        keys: &[(Uuid, Uuid, ChannelType)],
    ) -> anyhow::Result<Vec<((Uuid, Uuid, ChannelType), DateTime<Utc>)>> {
        let accounts: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let contacts: Vec<Uuid> = keys.iter().map(|k| k.1).collect();
        let channels: Vec<&str> = keys.iter().map(|k| k.2.as_str()).collect();
        let rows: Vec<(Uuid, Uuid, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT w.account_id, w.contact_id, w.channel, w.last_inbound_at
               FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS k(account_id, contact_id, channel)
               JOIN contact_windows w USING (account_id, contact_id, channel)",
        )
        .bind(&accounts)
        .bind(&contacts)
        .bind(&channels)
        .fetch_all(pool)
        .await?;
        rows.into_iter()
            .map(|(account, contact, channel, at)| {
                let channel = decode("channel", &channel, ChannelType::parse)?;
                Ok(((account, contact, channel), at))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use domain::attendance::AttachmentRef;

    #[test]
    fn a_customer_message_becomes_a_contact_message_with_its_files() {
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let file = AttachmentRef {
            attachment_id: Uuid::from_u128(9),
            file_name: "a.pdf".into(),
            content_type: "application/pdf".into(),
            size: 3,
        };
        let ev = AttendanceEvent::CustomerMessageReceived {
            message_id: Uuid::from_u128(1),
            text: Some("oi".into()),
            attachments: vec![file],
            external_id: Some("wamid.1".into()),
            at,
        };
        let m = message_of(Uuid::from_u128(7), 2, &ev).unwrap();
        assert_eq!(m.author, MessageAuthor::Contact);
        assert_eq!(m.text.as_deref(), Some("oi"));
        assert_eq!(m.seq, 2);
        assert_eq!(m.attachments[0]["file_name"], "a.pdf");
    }

    #[test]
    fn a_template_message_keeps_the_rendered_text_and_its_values() {
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let ev = AttendanceEvent::AgentMessageSent {
            message_id: Uuid::from_u128(1),
            agent_id: Uuid::from_u128(2),
            content: MessageContent::Template {
                template_id: Uuid::from_u128(3),
                variables: vec!["Ana".into()],
                rendered: "Olá Ana".into(),
            },
            attachments: vec![],
            at,
        };
        let m = message_of(Uuid::from_u128(7), 1, &ev).unwrap();
        assert_eq!(m.author, MessageAuthor::Agent);
        assert_eq!(m.text.as_deref(), Some("Olá Ana"));
        assert_eq!(m.template_id, Some(Uuid::from_u128(3)));
        assert_eq!(m.template_variables, Some(vec!["Ana".to_string()]));
    }

    #[test]
    fn state_changes_add_no_message() {
        let ev = AttendanceEvent::AttendanceRescued {
            agent_id: Uuid::nil(),
            at: Utc::now(),
        };
        assert!(message_of(Uuid::nil(), 1, &ev).is_none());
    }
}
