//! Chat rows as the API shows them. Every query names the calling agent: one can only ever read
//! conversations one is part of. Deleted messages are left out everywhere.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// A message with its attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessageRow {
    pub id: Uuid,
    pub from_agent_id: Uuid,
    pub to_agent_id: Uuid,
    pub text: Option<String>,
    pub at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub attachments: Vec<ChatAttachmentRow>,
}

/// One file of a message.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChatAttachmentRow {
    pub id: Uuid,
    pub message_id: Uuid,
    pub sha256: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
}

/// The sort key of messages: (at, id); ids are UUIDv7, so ties at one instant keep send order.
pub type MessageKey = (DateTime<Utc>, Uuid);

/// One entry of the chat list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSummary {
    pub with_agent_id: Uuid,
    pub last_message: ChatMessageRow,
    pub unread_count: i64,
}

#[derive(sqlx::FromRow)]
struct MessageRecord {
    id: Uuid,
    from_agent_id: Uuid,
    to_agent_id: Uuid,
    text: Option<String>,
    at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
    deleted_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, from_agent_id, to_agent_id, text, at, read_at, deleted_at";

/// Attaches each message's files (one query for the whole page).
async fn with_attachments(
    pool: &PgPool,
    records: Vec<MessageRecord>,
) -> sqlx::Result<Vec<ChatMessageRow>> {
    let ids: Vec<Uuid> = records.iter().map(|r| r.id).collect();
    let mut files: HashMap<Uuid, Vec<ChatAttachmentRow>> = HashMap::new();
    if !ids.is_empty() {
        let rows: Vec<ChatAttachmentRow> = sqlx::query_as(
            "SELECT id, message_id, sha256, file_name, content_type, size FROM agent_chat_attachments \
             WHERE message_id = ANY($1) ORDER BY message_id, position",
        )
        .bind(&ids)
        .fetch_all(pool)
        .await?;
        for row in rows {
            files.entry(row.message_id).or_default().push(row);
        }
    }
    Ok(records
        .into_iter()
        .map(|r| ChatMessageRow {
            attachments: files.remove(&r.id).unwrap_or_default(),
            id: r.id,
            from_agent_id: r.from_agent_id,
            to_agent_id: r.to_agent_id,
            text: r.text,
            at: r.at,
            read_at: r.read_at,
            deleted_at: r.deleted_at,
        })
        .collect())
}

/// A message by id, deleted or not, whoever it is between: for the server's own use (the
/// notification listener). Never hand it to a caller without checking they are part of it.
pub async fn get_unscoped(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<ChatMessageRow>> {
    let record: Option<MessageRecord> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM agent_chat_messages WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(with_attachments(pool, record.into_iter().collect())
        .await?
        .pop())
}

/// A message `me` sent or received (deleted ones too), or None.
pub async fn get(pool: &PgPool, me: Uuid, id: Uuid) -> sqlx::Result<Option<ChatMessageRow>> {
    Ok(get_unscoped(pool, id)
        .await?
        .filter(|m| m.from_agent_id == me || m.to_agent_id == me))
}

/// One page of the conversation between `me` and `other`, newest first, older than `before`;
/// `limit` rows (ask one more to learn whether older ones exist).
pub async fn conversation(
    pool: &PgPool,
    me: Uuid,
    other: Uuid,
    before: Option<MessageKey>,
    limit: i64,
) -> sqlx::Result<Vec<ChatMessageRow>> {
    let (low, high) = if me < other { (me, other) } else { (other, me) };
    let records: Vec<MessageRecord> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM agent_chat_messages \
         WHERE agent_low = $1 AND agent_high = $2 AND deleted_at IS NULL \
           AND ($3::timestamptz IS NULL OR (at, id) < ($3, $4)) \
         ORDER BY at DESC, id DESC LIMIT $5"
    ))
    .bind(low)
    .bind(high)
    .bind(before.map(|b| b.0))
    .bind(before.map(|b| b.1))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    with_attachments(pool, records).await
}

/// How many messages the conversation between `me` and `other` holds.
pub async fn conversation_count(pool: &PgPool, me: Uuid, other: Uuid) -> sqlx::Result<i64> {
    let (low, high) = if me < other { (me, other) } else { (other, me) };
    sqlx::query_scalar(
        "SELECT count(*) FROM agent_chat_messages WHERE agent_low = $1 AND agent_high = $2 AND deleted_at IS NULL",
    )
    .bind(low)
    .bind(high)
    .fetch_one(pool)
    .await
}

/// One entry per agent `me` has messages with: the last message and how many of theirs are
/// unread; the most recent conversation first.
pub async fn chats(pool: &PgPool, me: Uuid) -> sqlx::Result<Vec<ChatSummary>> {
    let last: Vec<MessageRecord> = sqlx::query_as(&format!(
        "SELECT DISTINCT ON (agent_low, agent_high) {COLUMNS} FROM agent_chat_messages \
         WHERE (from_agent_id = $1 OR to_agent_id = $1) AND deleted_at IS NULL \
         ORDER BY agent_low, agent_high, at DESC, id DESC"
    ))
    .bind(me)
    .fetch_all(pool)
    .await?;
    let unread: HashMap<Uuid, i64> = sqlx::query_as::<_, (Uuid, i64)>(
        "SELECT from_agent_id, count(*) FROM agent_chat_messages \
         WHERE to_agent_id = $1 AND read_at IS NULL AND deleted_at IS NULL GROUP BY from_agent_id",
    )
    .bind(me)
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    let mut out: Vec<ChatSummary> = with_attachments(pool, last)
        .await?
        .into_iter()
        .map(|m| {
            let with = if m.from_agent_id == me {
                m.to_agent_id
            } else {
                m.from_agent_id
            };
            ChatSummary {
                with_agent_id: with,
                unread_count: unread.get(&with).copied().unwrap_or(0),
                last_message: m,
            }
        })
        .collect();
    out.sort_by_key(|c| std::cmp::Reverse((c.last_message.at, c.last_message.id)));
    Ok(out)
}

/// Messages to `me` after `since`, oldest first, at most `limit`: what a subscriber missed.
pub async fn received_after(
    pool: &PgPool,
    me: Uuid,
    since: MessageKey,
    limit: i64,
) -> sqlx::Result<Vec<ChatMessageRow>> {
    let records: Vec<MessageRecord> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM agent_chat_messages \
         WHERE to_agent_id = $1 AND (at, id) > ($2, $3) AND deleted_at IS NULL \
         ORDER BY at, id LIMIT $4"
    ))
    .bind(me)
    .bind(since.0)
    .bind(since.1)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    with_attachments(pool, records).await
}

/// What the download of an attachment needs: the file, and whether its message is deleted.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentDownload {
    pub content_type: String,
    pub file_name: String,
    pub data: Vec<u8>,
    pub message_deleted: bool,
}

/// The bytes of an attachment by id, or None.
pub async fn attachment_download(
    pool: &PgPool,
    id: Uuid,
) -> sqlx::Result<Option<AttachmentDownload>> {
    sqlx::query_as(
        "SELECT a.content_type, a.file_name, b.data, m.deleted_at IS NOT NULL AS message_deleted \
         FROM agent_chat_attachments a \
         JOIN agent_chat_messages m ON m.id = a.message_id \
         JOIN blobs b ON b.sha256 = a.sha256 \
         WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}
