//! Who may see which attendance — the one place this rule lives:
//! - an AGENT sees the attendances assigned to them (in any state, so their own history stays
//!   reachable) and those WAITING in the queues of their services;
//! - a SUPERVISOR sees every attendance of the accounts of their services; an ADMIN all;
//! - integrations and the system see all.
//!
//! Everything else is NOT_FOUND, never FORBIDDEN: an id a caller may not see names nothing.
//! The check reads the attendances read model (what the caller is shown); what the caller may
//! *do* to a visible attendance is the aggregate's rule ([`domain::attendance::rules`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::attendance::WindowState;
use domain::kinds::{AttendanceStatus, ChannelType, Role};
use sqlx::PgPool;
use uuid::Uuid;

use crate::contacts::references;
use crate::context::Actor;
use crate::error::{CommandError, CommandResult};

/// What a caller may see, as list queries filter by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Administrators, integrations, the system.
    All,
    /// Supervisors: every attendance of these accounts.
    Accounts(Vec<Uuid>),
    /// Agents: their own attendances and those WAITING in these services.
    Agent {
        agent_id: Uuid,
        service_ids: Vec<Uuid>,
    },
}

/// The facts of an attendance visibility depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub account_id: Uuid,
    pub contact_id: Uuid,
    pub channel: ChannelType,
    pub status: AttendanceStatus,
    pub service_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
}

impl Scope {
    /// Whether this scope includes an attendance with these facts.
    pub fn includes(&self, a: &Seen) -> bool {
        match self {
            Scope::All => true,
            Scope::Accounts(ids) => ids.contains(&a.account_id),
            Scope::Agent {
                agent_id,
                service_ids,
            } => {
                a.agent_id == Some(*agent_id)
                    || (a.status == AttendanceStatus::Waiting
                        && a.service_id.is_some_and(|s| service_ids.contains(&s)))
            }
        }
    }
}

/// The services an agent belongs to (agents read model).
pub async fn agent_services(pool: &PgPool, agent_id: Uuid) -> CommandResult<Vec<Uuid>> {
    let ids: Option<Vec<Uuid>> = sqlx::query_scalar("SELECT service_ids FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_optional(pool)
        .await?;
    Ok(ids.unwrap_or_default())
}

/// The scope of `actor`.
pub async fn scope(pool: &PgPool, actor: &Actor) -> CommandResult<Scope> {
    match actor {
        Actor::Agent {
            id,
            role: Role::Agent,
            ..
        } => Ok(Scope::Agent {
            agent_id: *id,
            service_ids: agent_services(pool, *id).await?,
        }),
        Actor::Agent { .. } => Ok(match references::visible_accounts(pool, actor).await? {
            Some(ids) => Scope::Accounts(ids),
            None => Scope::All,
        }),
        Actor::Integration { .. } | Actor::System => Ok(Scope::All),
    }
}

/// The facts of attendance `id` as the read model shows them (None: unknown).
pub async fn seen(pool: &PgPool, id: Uuid) -> CommandResult<Option<Seen>> {
    Ok(seen_many(pool, &[id]).await?.remove(&id))
}

/// The columns [`seen_of`] reads, in its order.
type SeenRow = (Uuid, Uuid, Uuid, String, String, Option<Uuid>, Option<Uuid>);

fn seen_of(
    (id, account_id, contact_id, channel, status, service_id, agent_id): SeenRow,
) -> Option<(Uuid, Seen)> {
    Some((
        id,
        Seen {
            account_id,
            contact_id,
            channel: ChannelType::parse(&channel)?,
            status: AttendanceStatus::parse(&status)?,
            service_id,
            agent_id,
        },
    ))
}

/// The facts of each known attendance among `ids`, in one query.
pub async fn seen_many(pool: &PgPool, ids: &[Uuid]) -> CommandResult<HashMap<Uuid, Seen>> {
    let rows: Vec<SeenRow> = sqlx::query_as(
        "SELECT id, account_id, contact_id, channel, status, service_id, agent_id
           FROM attendances WHERE id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(seen_of).collect())
}

/// [`require_visible`], with the contact's WhatsApp window on the attendance's account and
/// channel read in the same query (what an agent's message needs to be decided).
pub async fn require_visible_with_window(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
) -> CommandResult<(Seen, WindowState)> {
    type Row = (
        Uuid,
        Uuid,
        Uuid,
        String,
        String,
        Option<Uuid>,
        Option<Uuid>,
        Option<DateTime<Utc>>,
    );
    let row: Option<Row> =
        sqlx::query_as(
            "SELECT a.id, a.account_id, a.contact_id, a.channel, a.status, a.service_id, a.agent_id,
                    w.last_inbound_at
               FROM attendances a
               LEFT JOIN contact_windows w
                 ON w.account_id = a.account_id AND w.contact_id = a.contact_id AND w.channel = a.channel
              WHERE a.id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let (seen, last_inbound_at) = row
        .and_then(|(id, acc, con, ch, st, sv, ag, last)| {
            seen_of((id, acc, con, ch, st, sv, ag)).map(|(_, s)| (s, last))
        })
        .ok_or_else(|| CommandError::not_found("attendance"))?;
    if is_own(actor, &seen) || scope(pool, actor).await?.includes(&seen) {
        Ok((seen, WindowState { last_inbound_at }))
    } else {
        Err(CommandError::not_found("attendance"))
    }
}

/// The attendance's facts if `actor` may see it; NOT_FOUND otherwise (unknown ids too).
pub async fn require_visible(pool: &PgPool, actor: &Actor, id: Uuid) -> CommandResult<Seen> {
    let seen = seen(pool, id)
        .await?
        .ok_or_else(|| CommandError::not_found("attendance"))?;
    if is_own(actor, &seen) || scope(pool, actor).await?.includes(&seen) {
        Ok(seen)
    } else {
        Err(CommandError::not_found("attendance"))
    }
}

/// [`require_visible`] for each of `ids` with two queries in all: the facts of the attendances
/// `actor` may see (those missing from the map are NOT_FOUND).
pub async fn visible_many(
    pool: &PgPool,
    actor: &Actor,
    ids: &[Uuid],
) -> CommandResult<HashMap<Uuid, Seen>> {
    let mut seen = seen_many(pool, ids).await?;
    if !seen.values().all(|s| is_own(actor, s)) {
        let scope = scope(pool, actor).await?;
        seen.retain(|_, s| scope.includes(s));
    }
    Ok(seen)
}

/// Whether `actor` is an agent (role AGENT) and the attendance is with them: their scope
/// includes it whatever their services, so the scope need not be read.
fn is_own(actor: &Actor, seen: &Seen) -> bool {
    match actor {
        Actor::Agent {
            id,
            role: Role::Agent,
            ..
        } => seen.agent_id == Some(*id),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting_in(service: u128) -> Seen {
        Seen {
            account_id: Uuid::from_u128(100),
            contact_id: Uuid::from_u128(200),
            channel: ChannelType::Whatsapp,
            status: AttendanceStatus::Waiting,
            service_id: Some(Uuid::from_u128(service)),
            agent_id: None,
        }
    }

    #[test]
    fn an_agent_sees_their_own_and_the_waiting_of_their_services_only() {
        let me = Uuid::from_u128(1);
        let scope = Scope::Agent {
            agent_id: me,
            service_ids: vec![Uuid::from_u128(10)],
        };
        assert!(scope.includes(&waiting_in(10)));
        assert!(!scope.includes(&waiting_in(11)));
        let mine = Seen {
            status: AttendanceStatus::Pending,
            agent_id: Some(me),
            ..waiting_in(11)
        };
        assert!(scope.includes(&mine));
        let others = Seen {
            status: AttendanceStatus::InProgress,
            agent_id: Some(Uuid::from_u128(2)),
            ..waiting_in(10)
        };
        assert!(!scope.includes(&others));
    }

    #[test]
    fn a_supervisor_sees_their_accounts() {
        let scope = Scope::Accounts(vec![Uuid::from_u128(100)]);
        assert!(scope.includes(&waiting_in(10)));
        assert!(!scope.includes(&Seen {
            account_id: Uuid::from_u128(101),
            ..waiting_in(10)
        }));
    }
}
