//! Routing: the `routing` read model, the router that gives WAITING attendances to agents, and
//! the logout reactor that parks an offline agent's attendances.
//!
//! # Layout
//! - [`place`]: pure; how each Attendance event moves an attendance and its counters.
//! - [`projection`]: the `routing` projection (`routing_attendances`, `routing_agents`, the
//!   counters of [`crate::counters`], the logout to-do list), from Attendance and Agent events;
//!   [`batch`] applies runs of Attendance events a few statements at a time.
//! - [`router`]: the decision round ([`router::route_once`]) and its loop.
//! - [`logout`]: the logout reactor.
//!
//! # The rule (spec, "Rules the source implies")
//! An attendance WAITING in a service goes to an available agent of that service: active,
//! ONLINE (logged in, not paused), with fewer attendances IN_PROGRESS than `max_concurrent`.
//! The contact's portfolio agent first when they are such an agent *of that service*; else the
//! fewest in progress, ties to the longest idle (the later of login and last assignment), then
//! the lowest id. Nobody available: it waits. The queue is served oldest first, so when an agent
//! becomes available (login, pause ends, an attendance leaves them) the oldest waiting
//! attendances of their services go to them, up to their limit.
//!
//! # How two routers stay correct
//! Every server process runs a router; a round is one decision pass:
//! 1. take the PostgreSQL advisory lock [`router::ROUTER_LOCK_KEY`] in a transaction that
//!    writes nothing: one round at a time across the deployment;
//! 2. catch the `routing` and `agents` projections up with the log (in a server, by waiting
//!    for its own lanes to apply everything settled: [`router::CatchUp`]);
//! 3. read the available agents with their in-progress counts and the oldest waiting
//!    attendances of their services; assign greedily, counting each assignment in memory;
//! 4. wait until the `routing` projection has applied the round's own assignments, then
//!    release the lock.
//!
//! Guarantees: an attendance is never assigned twice (the aggregate refuses Assign unless it is
//! WAITING, and two writes to one stream conflict); a router never takes an agent over their
//! limit, because the next round, in whatever process, starts from counts that include every
//! earlier round's assignments (step 4 holds the lock until they are projected). Transfers to an
//! agent, rescues and outbound "assign to me" are people's choices and may exceed the limit (the
//! domain says so); the router only counts them. An assignment that raced a logout is parked by
//! the logout reactor, because the projection sees both in log order.
//!
//! Rounds are woken when the `routing` checkpoint moves (checked every [`router::TICK`]), and
//! at least every [`router::FULL_ROUND_EVERY`], which also retries assignments that lost a
//! concurrent-write race.
//!
//! # Logout → pending
//! When an agent's *last* session ends (`AgentLoggedOut { went_offline: true }`: manual logout,
//! expiry, deactivation; closing one of two tabs does not count), the projection writes a to-do
//! row per attendance IN_PROGRESS with them, in the same transaction as its checkpoint; the
//! [`logout`] reactor executes `ParkOnLogout` for each and deletes the row. See [`logout`] for
//! why this is crash-safe and idempotent.

mod batch;
pub mod logout;
pub mod place;
pub mod projection;
pub mod router;
mod steps;

pub use projection::{RoutingProjection, NAME};
