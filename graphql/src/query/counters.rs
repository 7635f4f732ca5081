//! `counters` (items 9–11): the caller's waiting, in-progress and today counters, once the
//! routing projection has applied the caller's own attendance mutations (which answer without
//! waiting for it: [`projections::owed`]).
//!
//! Agents (role AGENT) see them only while the admin setting `showStatistics` is on;
//! supervisors and admins always. "Today" is the day the clock's now falls on in the zone of the
//! account of the agent's first service (America/Sao_Paulo without one): an agent who spans
//! accounts in several zones sees the first one's day (see
//! [`projections::counters::read::agent_zone`]).

use async_graphql::{Context, Object};
use commands::admin::settings;
use commands::CommandError;
use domain::kinds::Role;
use projections::counters::{local_day, read};

use crate::auth;
use crate::error::{gql, internal, ApiResult, IntoGql};
use crate::state::ApiState;
use crate::types::counters::AgentCounters;

#[derive(Default)]
pub struct CountersQuery;

#[Object]
impl CountersQuery {
    /// Items 9-11. FORBIDDEN while settings.showStatistics is false (for role AGENT).
    async fn counters(&self, ctx: &Context<'_>) -> ApiResult<AgentCounters> {
        let (id, role, _) = auth::agent(ctx)?;
        let state = ctx.data_unchecked::<ApiState>();
        if role == Role::Agent && !settings::get(state.pool()).await.gql()?.show_statistics {
            return Err(gql(CommandError::forbidden(
                "statistics are hidden from agents by the administrator",
            )));
        }
        // The caller's own attendance mutations answered before the routing projection applied
        // them: their counters show them once it has.
        let owner = auth::actor(ctx)?.audit_name();
        state
            .projector()
            .wait_owed(&owner, &[projections::routing::NAME])
            .await;
        let zone = read::agent_zone(state.pool(), id).await.map_err(internal)?;
        let day = local_day(zone, state.clock().now());
        Ok(read::for_agent(state.pool(), id, day)
            .await
            .map_err(internal)?
            .into())
    }
}
