//! The agent's counters (items 9–11), kept by the routing projection as events arrive, never
//! counted by scanning at query time.
//!
//! - waiting (item 9): `service_waiting_counts`, +1/-1 as attendances enter and leave a queue;
//!   the agent's figure is the sum over their services.
//! - in progress (item 10): `agent_in_progress_counts`, +1/-1 as attendances reach and leave
//!   IN_PROGRESS with the agent (also the router's concurrent limit).
//! - today (item 11): `agent_daily_counters`, per agent and account-local *opening* day, +1 the
//!   first time an agent takes an attendance (`agent_daily_attendances` dedupes rescues and
//!   transfers back). Keyed by the day it opened, so one opened yesterday and still running
//!   counts for yesterday, and "today" rolls over at local midnight with no job: the query asks
//!   for the day the clock's now falls on.
//!
//! The deltas come from [`crate::routing::place::deltas`], computed against the previous row of
//! `routing_attendances` and written in the same transaction (by the routing projection's runs),
//! so a counter never drifts from the statuses.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// The zone of a day when nothing names one (an agent without services, an unknown account).
pub const DEFAULT_TZ: Tz = chrono_tz::America::Sao_Paulo;

/// The calendar day `at` falls on in `tz`.
pub fn local_day(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// Reads of the counters.
pub mod read {
    use chrono::NaiveDate;
    use chrono_tz::Tz;
    use sqlx::{PgPool, Row};
    use uuid::Uuid;

    use super::DEFAULT_TZ;

    /// One agent's counters for one account-local day.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct AgentCounters {
        pub day: NaiveDate,
        pub waiting: i64,
        pub in_progress: i64,
        pub today: i64,
    }

    /// The zone an agent's "today" is taken in: the account of their first service (agents
    /// normally serve one account; one who spans accounts with different zones sees the first
    /// one's day), else [`DEFAULT_TZ`].
    pub async fn agent_zone(pool: &PgPool, agent_id: Uuid) -> sqlx::Result<Tz> {
        let name: Option<String> = sqlx::query_scalar(
            "SELECT acc.timezone
               FROM agents a
               CROSS JOIN LATERAL unnest(a.service_ids) WITH ORDINALITY AS s(id, n)
               JOIN services sv ON sv.id = s.id
               JOIN accounts acc ON acc.id = sv.account_id
              WHERE a.id = $1
              ORDER BY s.n LIMIT 1",
        )
        .bind(agent_id)
        .fetch_optional(pool)
        .await?;
        Ok(name.and_then(|n| n.parse().ok()).unwrap_or(DEFAULT_TZ))
    }

    /// The counters of `agent_id` for `day`: three primary-key lookups (waiting sums one row per
    /// service of the agent).
    pub async fn for_agent(
        pool: &PgPool,
        agent_id: Uuid,
        day: NaiveDate,
    ) -> sqlx::Result<AgentCounters> {
        let row = sqlx::query(
            "SELECT
                (SELECT COALESCE(sum(w.waiting), 0) FROM service_waiting_counts w
                  WHERE w.service_id = ANY(COALESCE((SELECT service_ids FROM agents WHERE id = $1), '{}'))) AS waiting,
                (SELECT COALESCE(sum(p.in_progress), 0) FROM agent_in_progress_counts p WHERE p.agent_id = $1) AS in_progress,
                (SELECT COALESCE(sum(d.today), 0) FROM agent_daily_counters d WHERE d.agent_id = $1 AND d.day = $2) AS today",
        )
        .bind(agent_id)
        .bind(day)
        .fetch_one(pool)
        .await?;
        Ok(AgentCounters {
            day,
            waiting: row.try_get("waiting")?,
            in_progress: row.try_get("in_progress")?,
            today: row.try_get("today")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn one_minute_before_local_midnight_is_still_that_day_in_sao_paulo() {
        // 23:59 on 27 November in São Paulo (UTC-3) is 02:59 UTC on the 28th.
        let at = Utc.with_ymd_and_hms(2026, 11, 28, 2, 59, 0).unwrap();
        assert_eq!(
            local_day(DEFAULT_TZ, at),
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
        );
        let after = Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 0).unwrap();
        assert_eq!(
            local_day(DEFAULT_TZ, after),
            NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
        );
    }
}
