//! What a projection is: a named consumer of some aggregate types' events that changes SQL rows.
//! It is applied inside the transaction that also moves its checkpoint, so a crash leaves either
//! both or neither, and an event is never applied twice.

use std::future::Future;
use std::pin::Pin;

use sqlx::PgConnection;

use crate::log::StoredEvent;

/// The future a projection returns for one event.
pub type ApplyFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// A read model built from the event log.
pub trait Projection: Send + Sync + 'static {
    /// Its stable name: the key of its checkpoint and of `replay --projection`.
    fn name(&self) -> &'static str;

    /// The aggregate types (`Contact`, `Agent`, `Attendance`) whose events it reads.
    fn aggregate_types(&self) -> &'static [&'static str];

    /// Whether events of this type change its rows (a mutation that wrote only events it
    /// ignores does not wait for it). All of its aggregate types' events, unless it says less.
    fn reads_event(&self, aggregate_type: &str, event_type: &str) -> bool {
        let _ = event_type;
        self.aggregate_types().contains(&aggregate_type)
    }

    /// Applies one event inside the caller's transaction.
    fn apply<'a>(&'a self, tx: &'a mut PgConnection, event: &'a StoredEvent) -> ApplyFuture<'a>;

    /// Applies a run of events, in log order, inside the caller's transaction; the result must
    /// equal applying them one by one. The default does exactly that; a projection whose rows
    /// are folds of streams overrides it to read each row once, fold in memory and write each
    /// row once (a batch costs a few statements instead of a few per event).
    fn apply_batch<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> ApplyFuture<'a> {
        Box::pin(async move {
            for event in events {
                self.apply(&mut *tx, event).await?;
            }
            Ok(())
        })
    }

    /// The tables it owns, emptied by a full rebuild.
    fn tables(&self) -> &'static [&'static str];

    /// True when applying reads its own tables by primary key only (and writes with conflicts on
    /// unique keys only): a rebuild may then load the tables with their unique indexes alone and
    /// build the others once at the end, which is much faster than maintaining them row by row.
    fn reads_own_rows_by_key_only(&self) -> bool {
        false
    }

    /// True when the events of different streams touch different rows, or touch shared rows
    /// only with writes that commute and take their locks in key order: a rebuild may then apply
    /// disjoint sets of streams in concurrent transactions and end with the same tables.
    fn replays_streams_independently(&self) -> bool {
        false
    }
}
