//! Attendances as the contract shows them — `Attendance`, `Message`, `SentTemplate`,
//! `Attachment`, `WhatsappWindow`, `BulkResult`, their enums and connections — built from the
//! rows of [`projections::attendances::read`].

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};
use commands::attendances::bulk::BulkOutcome;
use commands::CommandError;
use projections::attendances::read::{self, AttendanceRow, ListedAttendance, MessageRow};
use uuid::Uuid;

use crate::error::{gql, internal, ApiResult, IntoGql};
use crate::state::ApiState;
use crate::types::agent::AgentSummary;
use crate::types::catalogue::{Account, ChannelType, Service, Template};
use crate::types::connection::{decode_cursor, encode_cursor, page_size};
use crate::types::contact::Contact;

/// Default page of `Attendance.messages` (the contract's default).
pub const DEFAULT_MESSAGES_PAGE: i32 = 50;

/// Declares a GraphQL enum with the same variants as a domain closed set, and the conversion.
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

mirror_enum!(Direction, domain::kinds::Direction, [Inbound, Outbound]);
mirror_enum!(
    DestinationType,
    domain::kinds::DestinationType,
    [Flow, Service]
);
mirror_enum!(
    AttendanceStatus,
    domain::kinds::AttendanceStatus,
    [InFlow, Waiting, InProgress, Pending, Finalized]
);
mirror_enum!(
    MessageAuthor,
    domain::kinds::MessageAuthor,
    [Contact, Agent, Flow, System]
);

fn state<'a>(ctx: &'a Context<'_>) -> &'a ApiState {
    ctx.data_unchecked::<ApiState>()
}

/// One attendance, and its contact when the query that read the row brought it along (lists).
#[derive(Clone)]
pub struct Attendance(pub AttendanceRow, pub Option<Contact>);

impl Attendance {
    /// The attendance of `row`; its contact is loaded when asked for.
    pub fn of(row: AttendanceRow) -> Self {
        Self(row, None)
    }

    /// The attendance by id from the read model (None when unknown); visibility is the caller's.
    pub async fn load(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Attendance>> {
        Ok(read::get(state(ctx).pool(), id)
            .await
            .map_err(internal)?
            .map(Attendance::of))
    }
}

#[Object]
impl Attendance {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    /// Human-readable protocol number, unique.
    async fn protocol(&self) -> &str {
        &self.0.protocol
    }
    async fn account(&self, ctx: &Context<'_>) -> ApiResult<Account> {
        Account::load(ctx, self.0.account_id).await
    }
    async fn contact(&self, ctx: &Context<'_>) -> ApiResult<Contact> {
        if let Some(contact) = &self.1 {
            return Ok(contact.clone());
        }
        if let Some(contact) = Contact::load(ctx, self.0.contact_id).await? {
            return Ok(contact);
        }
        // An attendance opens only for a registered contact: one missing from the read model
        // was registered a moment ago (e.g. by an inbound message) and is on its way.
        ctx.data_unchecked::<ApiState>()
            .projector()
            .wait_for_stream("Contact", &self.0.contact_id.to_string())
            .await
            .map_err(internal)?;
        Contact::load(ctx, self.0.contact_id)
            .await?
            .ok_or_else(|| gql(CommandError::not_found("contact")))
    }
    async fn channel(&self) -> ChannelType {
        self.0.channel.into()
    }
    async fn direction(&self) -> Direction {
        self.0.direction.into()
    }
    async fn status(&self) -> AttendanceStatus {
        self.0.status.into()
    }
    async fn destination_type(&self) -> DestinationType {
        self.0.destination_type.into()
    }
    async fn service(&self, ctx: &Context<'_>) -> ApiResult<Option<Service>> {
        match self.0.service_id {
            Some(id) => Service::find(ctx, id).await,
            None => Ok(None),
        }
    }
    async fn flow_id(&self) -> Option<&str> {
        self.0.flow_id.as_deref()
    }
    async fn agent(&self, ctx: &Context<'_>) -> ApiResult<Option<AgentSummary>> {
        match self.0.agent_id {
            Some(id) => AgentSummary::load(ctx, id).await,
            None => Ok(None),
        }
    }
    async fn opened_by(&self, ctx: &Context<'_>) -> ApiResult<Option<AgentSummary>> {
        match self.0.opened_by {
            Some(id) => AgentSummary::load(ctx, id).await,
            None => Ok(None),
        }
    }
    async fn opened_at(&self) -> DateTime<Utc> {
        self.0.opened_at
    }
    async fn last_interaction_at(&self) -> DateTime<Utc> {
        self.0.last_interaction_at
    }
    async fn last_message_preview(&self) -> Option<&str> {
        self.0.last_message_preview.as_deref()
    }
    async fn finalized_at(&self) -> Option<DateTime<Utc>> {
        self.0.finalized_at
    }
    async fn finalize_reason(&self) -> Option<&str> {
        self.0.finalize_reason.as_deref()
    }
    async fn survey_requested(&self) -> bool {
        self.0.survey_requested
    }
    /// Oldest first.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<MessageConnection> {
        let first = page_size(first.unwrap_or(DEFAULT_MESSAGES_PAGE))?;
        let after: Option<(DateTime<Utc>, i64)> = after
            .as_deref()
            .map(|c| decode_cursor("after", c))
            .transpose()?;
        let (rows, total) = read::messages(state(ctx).pool(), self.0.id, first, after)
            .await
            .map_err(internal)?;
        let rows = rows
            .into_iter()
            .map(|m| (encode_cursor(&(m.at, m.seq)), Message(m)))
            .collect();
        Ok(MessageConnection::from_rows(
            rows,
            first,
            after.is_some(),
            total,
        ))
    }
}

crate::types::connection::connection!(AttendanceConnection, AttendanceEdge, Attendance);
crate::types::connection::connection!(MessageConnection, MessageEdge, Message);

impl AttendanceConnection {
    /// A page of rows ordered by `key` (newest first), as the read functions return them.
    pub fn from_page(
        rows: Vec<ListedAttendance>,
        total: i64,
        first: i64,
        had_cursor: bool,
        key: impl Fn(&AttendanceRow) -> DateTime<Utc>,
    ) -> Self {
        let rows = rows
            .into_iter()
            .map(|l| {
                let cursor = encode_cursor(&(key(&l.attendance), l.attendance.id));
                (cursor, Attendance(l.attendance, l.contact.map(Contact)))
            })
            .collect();
        Self::from_rows(rows, first, had_cursor, total)
    }
}

/// A file attached to a message.
#[derive(Clone)]
pub struct Attachment {
    pub id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    /// The stored blob, when known.
    pub sha256: Option<String>,
    /// A URL its owner signed (chat attachments, refused once their message is deleted); else
    /// the blob's `/files/...` URL.
    pub signed_url: Option<String>,
}

#[Object]
impl Attachment {
    async fn id(&self) -> Uuid {
        self.id
    }
    async fn file_name(&self) -> &str {
        &self.file_name
    }
    async fn content_type(&self) -> &str {
        &self.content_type
    }
    async fn size(&self) -> i32 {
        i32::try_from(self.size).unwrap_or(i32::MAX)
    }
    /// Signed, expiring; loadable without a header.
    async fn url(&self, ctx: &Context<'_>) -> ApiResult<String> {
        if let Some(url) = &self.signed_url {
            return Ok(url.clone());
        }
        let sha = self
            .sha256
            .as_deref()
            .ok_or_else(|| gql(CommandError::not_found("attachment")))?;
        Ok(crate::files::signed_url(state(ctx), sha))
    }
}

/// A template as sent: the template and the values used.
#[derive(Clone)]
pub struct SentTemplate {
    pub template_id: Uuid,
    pub variables: Vec<String>,
}

#[Object]
impl SentTemplate {
    async fn template(&self, ctx: &Context<'_>) -> ApiResult<Template> {
        Template::load(ctx, self.template_id).await
    }
    async fn variables(&self) -> &[String] {
        &self.variables
    }
}

/// One message of an attendance.
#[derive(Clone)]
pub struct Message(pub MessageRow);

impl Message {
    /// The message by id from the read model.
    pub async fn load(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Message>> {
        Ok(read::message(state(ctx).pool(), id)
            .await
            .map_err(internal)?
            .map(Message))
    }
}

#[Object]
impl Message {
    async fn id(&self) -> Uuid {
        self.0.id
    }
    async fn attendance_id(&self) -> Uuid {
        self.0.attendance_id
    }
    async fn author(&self) -> MessageAuthor {
        self.0.author.into()
    }
    async fn agent(&self, ctx: &Context<'_>) -> ApiResult<Option<AgentSummary>> {
        match self.0.agent_id {
            Some(id) => AgentSummary::load(ctx, id).await,
            None => Ok(None),
        }
    }
    async fn text(&self) -> Option<&str> {
        self.0.text.as_deref()
    }
    async fn template(&self) -> Option<SentTemplate> {
        self.0.template_id.map(|template_id| SentTemplate {
            template_id,
            variables: self.0.template_variables.clone().unwrap_or_default(),
        })
    }
    async fn attachments(&self, ctx: &Context<'_>) -> ApiResult<Vec<Attachment>> {
        if self.0.attachments.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = self.0.attachments.iter().map(|a| a.attachment_id).collect();
        let blobs = commands::attendances::support::attachment_blobs(state(ctx).pool(), &ids)
            .await
            .gql()?;
        Ok(self
            .0
            .attachments
            .iter()
            .map(|a| Attachment {
                id: a.attachment_id,
                file_name: a.file_name.clone(),
                content_type: a.content_type.clone(),
                size: a.size,
                sha256: blobs
                    .iter()
                    .find(|(id, _)| *id == a.attachment_id)
                    .map(|(_, sha)| sha.clone()),
                signed_url: None,
            })
            .collect())
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// Whether free text may open a WhatsApp Business API attendance now (item 5).
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct WhatsappWindow {
    pub open: bool,
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
}

impl WhatsappWindow {
    /// The window of a contact whose last inbound message was at `last_inbound`, seen at `now`.
    pub fn at(last_inbound: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        use domain::attendance::rules::{window_closes_at, window_open};
        Self {
            open: window_open(last_inbound, now),
            last_inbound_at: last_inbound,
            closes_at: last_inbound.map(window_closes_at),
        }
    }
}

/// Why one id of a bulk action failed.
#[derive(SimpleObject, Clone, Debug)]
pub struct BulkFailure {
    pub attendance_id: Uuid,
    pub code: String,
    pub message: String,
}

/// Each id's outcome of a bulk action (item 6).
#[derive(SimpleObject, Clone, Debug)]
pub struct BulkResult {
    pub succeeded: Vec<Uuid>,
    pub failed: Vec<BulkFailure>,
}

impl From<BulkOutcome> for BulkResult {
    fn from(o: BulkOutcome) -> Self {
        Self {
            succeeded: o.succeeded,
            failed: o
                .failed
                .into_iter()
                .map(|f| BulkFailure {
                    attendance_id: f.attendance_id,
                    code: f.code.to_string(),
                    message: f.message,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn statuses_convert_both_ways_for_every_value() {
        for &k in domain::kinds::AttendanceStatus::ALL {
            assert_eq!(
                domain::kinds::AttendanceStatus::from(AttendanceStatus::from(k)),
                k
            );
        }
        for &k in domain::kinds::MessageAuthor::ALL {
            assert_eq!(
                domain::kinds::MessageAuthor::from(MessageAuthor::from(k)),
                k
            );
        }
    }

    #[test]
    fn the_window_closes_24_hours_after_the_last_inbound_message() {
        let last = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let w = WhatsappWindow::at(Some(last), last + Duration::hours(1));
        assert!(w.open);
        assert_eq!(w.closes_at, Some(last + Duration::hours(24)));
        assert!(!WhatsappWindow::at(Some(last), last + Duration::hours(25)).open);
        assert_eq!(
            WhatsappWindow::at(None, last),
            WhatsappWindow {
                open: false,
                last_inbound_at: None,
                closes_at: None
            }
        );
    }
}
