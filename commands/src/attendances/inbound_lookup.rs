//! What `receiveInboundMessage` needs to know before it acts, read in one query: whether the
//! account exists and its default service, where an earlier delivery of the gateway message went,
//! the contact holding the sender's routing key with the sequence of its last event, and that
//! contact's open attendance on the channel with the sequence of its last event. The same
//! statement takes the gateway message id's idempotency claim for that attendance, the usual
//! destination of the message (released by the use case when it goes elsewhere). Each answer
//! is what the separate look-ups of [`super::receive_inbound`] would read (the same tables, the
//! event log for the attendances' states); the use case still checks the holder against its
//! events before trusting it.

use chrono::{DateTime, Utc};
use domain::kinds::ChannelType;
use sqlx::PgPool;
use uuid::Uuid;

use super::receive_inbound::Received;
use crate::error::CommandResult;

/// The answers; `None` where there is nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundLookup {
    pub account_exists: bool,
    /// The account's default service, if it names one that exists.
    pub default_service: Option<Uuid>,
    /// An earlier delivery of the same gateway message.
    pub delivered: Option<Received>,
    /// The contact holding the sender's routing key (phone channels) or channel identity.
    pub holder: Option<Uuid>,
    /// The sequence of the holder's last event (`None` when it has none yet).
    pub holder_sequence: Option<i64>,
    /// The holder's attendance on this account and channel, when its stream is open.
    pub open: Option<Uuid>,
    /// The sequence of that attendance's last event.
    pub open_sequence: Option<i64>,
    /// Whether the gateway message id was claimed for `open` (a message id given, no earlier
    /// delivery): the claim [`claim_inbound`](super::idempotency::claim_inbound) would take.
    pub claimed: bool,
}

/// Who sent the message: a phone's routing key, or another channel's identifier.
#[derive(Debug, Clone, Copy)]
pub enum Sender<'a> {
    Phone {
        routing_key: &'a str,
    },
    Identity {
        identifier: &'a str,
    },
    /// The sender's address did not parse: only the account is looked up.
    Unknown,
}

/// `$1` account, `$2` channel, `$3` gateway message id, `$4` routing key, `$5` identifier, `$6`
/// the request's time. `found` is materialized (named twice): the claim and the answer read
/// the same snapshot.
///
/// The statement commits without waiting for its WAL to reach the disk (`synchronous_commit`
/// off for its own transaction only): one disk flush per message instead of two. The claim is
/// visible to other deliveries as soon as it commits, as any commit is. Its durability comes
/// with the message: the append commits durably after it, which flushes the WAL up to there,
/// claim included. A crash in between can lose the claim, but then no message was appended
/// and nothing was answered, so the gateway's redelivery acts as the first would have; a
/// claim that did survive such a crash would instead have made it answer as delivered.
const LOOKUP: &str = "
WITH found AS (
SELECT a.id IS NOT NULL AS account_exists,
       s.id AS default_service,
       d.attendance_id AS delivered,
       (SELECT e.payload::jsonb -> 'AttendanceOpened' ->> 'contact_id' FROM events e
         WHERE e.aggregate_type = 'Attendance' AND e.aggregate_id = d.attendance_id::text
           AND e.sequence = 1) AS delivered_contact,
       h.contact_id AS holder,
       (SELECT max(e.sequence) FROM events e
         WHERE e.aggregate_type = 'Contact' AND e.aggregate_id = h.contact_id::text) AS holder_sequence,
       o.attendance_id AS open,
       l.event_type AS open_last_type,
       l.sequence AS open_sequence
  FROM (SELECT $1::uuid AS account_id) k
  LEFT JOIN accounts a ON a.id = k.account_id
  LEFT JOIN services s ON s.id = a.default_service_id
  LEFT JOIN inbound_message_ids d
         ON d.account_id = k.account_id AND d.channel = $2 AND d.external_id = $3
  LEFT JOIN LATERAL (
        SELECT p.contact_id FROM contact_phone_keys p
         WHERE $4::text IS NOT NULL AND p.account_id = k.account_id AND p.routing_key = $4
        UNION ALL
        SELECT i.contact_id FROM contact_channel_ids i
         WHERE $5::text IS NOT NULL AND i.account_id = k.account_id AND i.channel = $2
           AND i.identifier = $5
        LIMIT 1) h ON true
  LEFT JOIN attendance_open_keys o
         ON o.account_id = k.account_id AND o.contact_id = h.contact_id AND o.channel = $2
  LEFT JOIN LATERAL (
        SELECT e.event_type, e.sequence FROM events e
         WHERE e.aggregate_type = 'Attendance' AND e.aggregate_id = o.attendance_id::text
         ORDER BY e.sequence DESC LIMIT 1) l ON true),
claimed AS (
  INSERT INTO inbound_message_ids (account_id, channel, external_id, attendance_id, claimed_at)
  SELECT $1, $2, $3, f.open, $6 FROM found f
   WHERE $3::text IS NOT NULL AND f.account_exists AND f.delivered IS NULL
     AND f.open_last_type <> 'AttendanceFinalized'
  ON CONFLICT DO NOTHING
  RETURNING attendance_id)
SELECT f.account_exists, f.default_service, f.delivered, f.delivered_contact, f.holder,
       f.holder_sequence, f.open, f.open_last_type, f.open_sequence,
       EXISTS (SELECT 1 FROM claimed), set_config('synchronous_commit', 'off', true)
  FROM found f";

type Row = (
    bool,
    Option<Uuid>,
    Option<Uuid>,
    Option<String>,
    Option<Uuid>,
    Option<i64>,
    Option<Uuid>,
    Option<String>,
    Option<i64>,
    bool,
    String,
);

/// Looks everything up for a message on `channel` of `account_id` from `sender` received at
/// `now`, and claims `external_id` for the holder's open attendance when it finds one.
pub async fn lookup(
    pool: &PgPool,
    account_id: Uuid,
    channel: ChannelType,
    external_id: Option<&str>,
    sender: Sender<'_>,
    now: DateTime<Utc>,
) -> CommandResult<InboundLookup> {
    let (key, identifier) = match sender {
        Sender::Phone { routing_key } => (Some(routing_key), None),
        Sender::Identity { identifier } => (None, Some(identifier)),
        Sender::Unknown => (None, None),
    };
    let (
        account_exists,
        default_service,
        delivered,
        delivered_contact,
        holder,
        holder_sequence,
        open,
        last,
        open_sequence,
        claimed,
        _,
    ): Row = sqlx::query_as(LOOKUP)
        .bind(account_id)
        .bind(channel.as_str())
        .bind(external_id)
        .bind(key)
        .bind(identifier)
        .bind(now)
        .fetch_one(pool)
        .await?;
    // The contact from the log (the read model may lag behind the first delivery).
    let delivered = delivered.zip(delivered_contact.and_then(|c| c.parse().ok()));
    Ok(InboundLookup {
        account_exists,
        default_service,
        delivered: delivered.map(|(attendance_id, contact_id)| Received {
            attendance_id,
            contact_id,
        }),
        holder,
        holder_sequence,
        open: open.filter(|_| last.is_some_and(|t| t != "AttendanceFinalized")),
        open_sequence,
        claimed,
    })
}
