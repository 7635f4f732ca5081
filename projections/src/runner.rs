//! Runs every projection as a crash-safe catch-up consumer of the event log.
//!
//! Each projection has its own task and checkpoint (`projection_checkpoints`), so one that fails
//! on an event stalls alone: the failure is recorded with the event's identity (visible in
//! `/ready`), retried with a growing delay, and the other projections and the commands go on.
//! A batch of events and the checkpoint move in one transaction that first takes the
//! projection's advisory lock, so several server processes can run the same projections
//! without applying anything twice. Tasks wake on `NOTIFY events` naming a type they read (any
//! process wrote; after gathering further commits for [`GATHER`]), at once on a local kick (a
//! mutation waiting for its writes), and at least every [`POLL_INTERVAL`] (a lost notification
//! costs latency, not data).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{PgPool, Row};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use commands::inline::Committed;

use crate::lane_tx::LaneTx;
use crate::log::{read_batch, settled_head, streams_head, Checkpoint, StoredEvent};
use crate::owed::Owed;
use crate::projection::Projection;

/// Events applied per transaction: large enough to amortise the commit, small enough to keep
/// the checkpoint lock short.
pub const BATCH_SIZE: i64 = 500;

/// The longest a projection sleeps without a wake-up.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How long a mutation waits for its own events to reach the read models before answering.
pub const READ_YOUR_WRITES_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a waiting mutation wakes the projections again.
const WAIT_KICK_INTERVAL: Duration = Duration::from_millis(10);

/// How long a lane woken by a commit notification gathers further commits before reading, when
/// no mutation waits for it: under load one transaction then applies the events of many
/// commands instead of one each (the commands' own rows are already written inline, and a
/// waiting mutation still wakes the lane at once). This is the most a subscription or a counter
/// lags behind a commit nobody waits for.
pub const GATHER: Duration = Duration::from_millis(20);

/// The longest delay between retries of a failing event.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// A projection's health, for `/ready` and the status query.
#[derive(Debug, Clone, Default)]
pub struct ProjectionStatus {
    pub name: String,
    pub checkpoint: Checkpoint,
    pub last_error: Option<String>,
    pub failed_event: Option<String>,
}

/// Called after each committed batch with the events it applied (feeds subscriptions).
pub type AfterBatch = Arc<dyn Fn(&'static str, &[StoredEvent]) + Send + Sync>;

struct Lane {
    projection: Arc<dyn Projection>,
    /// Wakes this lane's task at once (a waiting mutation).
    wake: Notify,
    /// Wakes it after [`GATHER`] (a notification of a commit of its types).
    nudge: Notify,
    progress: watch::Sender<Checkpoint>,
    /// Where this process may start its next read, past the checkpoint: the settled head seen
    /// by the last read that was not full (only other types' events lie in between). Kept in
    /// memory only: after a restart the first read walks from the checkpoint again.
    floor: std::sync::Mutex<Checkpoint>,
    /// The checkpoint as this projector last saw it stored: a batch is read from here (or the
    /// floor) with the stored one in the same statement, and read again only when another
    /// process (or the router's own catch-up) moved it meanwhile.
    stored: std::sync::Mutex<Checkpoint>,
}

/// The running projections of this process.
#[derive(Clone)]
pub struct Projector {
    pool: PgPool,
    lanes: Arc<Vec<Lane>>,
    after_batch: Option<AfterBatch>,
    /// Told after every batch any lane of this process commits.
    applied: Arc<Notify>,
    /// What lanes owe callers whose mutations did not wait for them.
    owed: Arc<Owed>,
}

impl Projector {
    pub fn new(pool: PgPool, projections: Vec<Arc<dyn Projection>>) -> Self {
        let lanes = projections
            .into_iter()
            .map(|projection| Lane {
                projection,
                wake: Notify::new(),
                nudge: Notify::new(),
                progress: watch::channel(Checkpoint::default()).0,
                floor: std::sync::Mutex::new(Checkpoint::default()),
                stored: std::sync::Mutex::new(Checkpoint::default()),
            })
            .collect();
        Self {
            pool,
            lanes: Arc::new(lanes),
            after_batch: None,
            applied: Arc::default(),
            owed: Arc::default(),
        }
    }

    /// Registers a callback run after every committed batch, before the mutations waiting for
    /// it are told; also (with no events) when a lane finds that someone else moved its
    /// checkpoint: another process, or the router's own catch-up.
    pub fn with_after_batch(mut self, f: AfterBatch) -> Self {
        self.after_batch = Some(f);
        self
    }

    /// Each projection's name and the aggregate types it reads.
    pub fn readers(&self) -> Vec<(&'static str, &'static [&'static str])> {
        self.lanes
            .iter()
            .map(|l| (l.projection.name(), l.projection.aggregate_types()))
            .collect()
    }

    /// Told (`notify_waiters`) after every batch a lane of this process commits: for a reader
    /// of the log that waits for the projections (the change feed).
    pub fn applied(&self) -> Arc<Notify> {
        Arc::clone(&self.applied)
    }

    /// The pool it reads and writes through.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.lanes.iter().map(|l| l.projection.name()).collect()
    }

    /// Creates missing checkpoint rows and starts one task per projection plus the listener.
    pub async fn start(&self) -> anyhow::Result<Vec<JoinHandle<()>>> {
        for lane in self.lanes.iter() {
            sqlx::query(
                "INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING",
            )
            .bind(lane.projection.name())
            .execute(&self.pool)
            .await?;
        }
        let mut handles = Vec::new();
        for i in 0..self.lanes.len() {
            let me = self.clone();
            handles.push(tokio::spawn(async move { me.run_lane(i).await }));
        }
        let me = self.clone();
        handles.push(tokio::spawn(async move { me.listen().await }));
        Ok(handles)
    }

    /// Wakes every projection of this process now.
    pub fn kick(&self) {
        self.lanes.iter().for_each(|l| l.wake.notify_waiters());
    }

    /// Wakes, after [`GATHER`], the projections of this process that read `aggregate_type` (the
    /// others have nothing new to read: waking them would cost each an empty transaction).
    fn nudge_readers_of(&self, aggregate_type: &str) {
        self.lanes
            .iter()
            .filter(|l| l.projection.aggregate_types().contains(&aggregate_type))
            .for_each(|l| l.nudge.notify_waiters());
    }

    /// Applies everything settled so far, in the calling task; for tools and tests.
    pub async fn catch_up_all(&self) -> anyhow::Result<()> {
        for i in 0..self.lanes.len() {
            while self.run_batch(i).await? > 0 {}
        }
        Ok(())
    }

    /// Waits until every projection that reads `aggregate_type` has applied the stream's last
    /// event (read-your-writes for mutations). Gives up quietly after
    /// [`READ_YOUR_WRITES_TIMEOUT`]: the answer may then be a little stale, never wrong.
    pub async fn wait_for_stream(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> anyhow::Result<()> {
        self.wait_for_streams(aggregate_type, &[aggregate_id.to_string()])
            .await
    }

    /// [`Self::wait_for_stream`] for several streams at once (a bulk action): one query for
    /// the latest of their last events, one wait.
    pub async fn wait_for_streams(
        &self,
        aggregate_type: &str,
        aggregate_ids: &[String],
    ) -> anyhow::Result<()> {
        if aggregate_ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        let Some(target) = streams_head(&mut conn, aggregate_type, aggregate_ids).await? else {
            return Ok(());
        };
        drop(conn);
        self.wait_for(aggregate_type, target).await;
        Ok(())
    }

    /// Read-your-writes for what a request committed: waits until every projection that reads
    /// one of a commit's event types, and did not apply it inline, has passed the commit. A
    /// request that committed nothing (a repeated idempotency key, a no-op) waits for the last
    /// events of `streams` instead, which may have been written by its first attempt.
    ///
    /// The projections named `later` are not waited for: what they still have to apply is owed
    /// to `owner` ([`crate::owed`]), whose reads of their tables wait for it
    /// ([`Self::wait_owed`]).
    pub async fn wait_for_commits_owing(
        &self,
        commits: &[Committed],
        streams: (&str, &[String]),
        later: &[&str],
        owner: &str,
    ) -> anyhow::Result<()> {
        if commits.is_empty() {
            return self.wait_for_streams(streams.0, streams.1).await;
        }
        let mut waits = Vec::new();
        for c in commits {
            for (i, lane) in self.lanes.iter().enumerate() {
                let p = &lane.projection;
                let behind = !c.applied_inline.contains(&p.name())
                    && c.event_types
                        .iter()
                        .any(|t| p.reads_event(c.aggregate_type, t));
                if !behind {
                    continue;
                }
                if later.contains(&p.name()) {
                    // Not waited for, but woken now as if it were: it stays as prompt for the
                    // caller's next read, the router and the subscriptions.
                    self.owed.owe(owner, i, c.head, |l, cp| self.reached(l, cp));
                    lane.wake.notify_waiters();
                } else {
                    waits.push((i, c.head));
                }
            }
        }
        self.wait_lanes(&waits).await;
        Ok(())
    }

    /// Waits until the projections named `names` have passed what they owe `owner` (see
    /// [`Self::wait_for_commits_owing`]); at once when they owe nothing.
    pub async fn wait_owed(&self, owner: &str, names: &[&str]) {
        let lanes: Vec<usize> = self
            .lanes
            .iter()
            .enumerate()
            .filter(|(_, l)| names.contains(&l.projection.name()))
            .map(|(i, _)| i)
            .collect();
        let waits = self
            .owed
            .owed_to(owner, &lanes, |l, cp| self.reached(l, cp));
        self.wait_lanes(&waits).await;
    }

    /// Whether lane `i` has applied everything up to `target`.
    fn reached(&self, i: usize, target: Checkpoint) -> bool {
        *self.lanes[i].progress.borrow() >= target
    }

    /// Waits until the projections of `aggregate_type` have passed `target`.
    pub async fn wait_for(&self, aggregate_type: &str, target: Checkpoint) {
        let waits: Vec<(usize, Checkpoint)> = self
            .lanes
            .iter()
            .enumerate()
            .filter(|(_, l)| l.projection.aggregate_types().contains(&aggregate_type))
            .map(|(i, _)| (i, target))
            .collect();
        self.wait_lanes(&waits).await;
    }

    /// Waits, however long it takes, until the projections named `names` have applied `target`,
    /// or with `None` everything settled now, warning each [`READ_YOUR_WRITES_TIMEOUT`] it goes
    /// on. For a job of this process that must decide on up-to-date read models (the router):
    /// the lanes apply the events, the job does not contend with them for the projections'
    /// locks.
    pub async fn wait_until(
        &self,
        names: &[&str],
        target: Option<Checkpoint>,
    ) -> anyhow::Result<()> {
        let target = match target {
            Some(t) => t,
            None => {
                let mut conn = self.pool.acquire().await?;
                match settled_head(&mut conn).await? {
                    Some(head) => head,
                    None => return Ok(()),
                }
            }
        };
        let waits: Vec<(usize, Checkpoint)> = self
            .lanes
            .iter()
            .enumerate()
            .filter(|(_, l)| names.contains(&l.projection.name()))
            .map(|(i, _)| (i, target))
            .collect();
        anyhow::ensure!(
            waits.len() == names.len(),
            "this process does not run every projection of {names:?}"
        );
        loop {
            self.wait_lanes(&waits).await;
            if waits.iter().all(|&(i, t)| self.reached(i, t)) {
                return Ok(());
            }
        }
    }

    /// Waits until each lane `i` has passed its target, waking them meanwhile.
    async fn wait_lanes(&self, targets: &[(usize, Checkpoint)]) {
        if targets.is_empty() {
            return;
        }
        let kick = || {
            targets
                .iter()
                .for_each(|(i, _)| self.lanes[*i].wake.notify_waiters())
        };
        kick();
        let waits = targets
            .iter()
            .map(|&(i, target)| (&self.lanes[i], target))
            .map(|(l, target)| {
                let mut rx = l.progress.subscribe();
                async move {
                    let _ = rx.wait_for(|cp| *cp >= target).await;
                }
            });
        let all = futures::future::join_all(waits);
        // Keep waking the projections while waiting: an event held back by another open
        // transaction becomes readable when that transaction ends, which nothing announces.
        let kicking = async {
            loop {
                tokio::time::sleep(WAIT_KICK_INTERVAL).await;
                kick();
            }
        };
        let waited = async {
            tokio::select! {
                _ = all => {},
                _ = kicking => {},
            }
        };
        if tokio::time::timeout(READ_YOUR_WRITES_TIMEOUT, waited)
            .await
            .is_err()
        {
            tracing::warn!(?targets, "read models did not catch up in time");
        }
    }

    /// The health of every projection.
    pub async fn status(&self) -> anyhow::Result<Vec<ProjectionStatus>> {
        let rows = sqlx::query(
            "SELECT name, tx_id::text::bigint AS tx, position, last_error, failed_event
               FROM projection_checkpoints ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ProjectionStatus {
                    name: r.try_get("name")?,
                    checkpoint: Checkpoint {
                        tx_id: r.try_get("tx")?,
                        position: r.try_get("position")?,
                    },
                    last_error: r.try_get("last_error")?,
                    failed_event: r.try_get("failed_event")?,
                })
            })
            .collect()
    }

    async fn listen(&self) {
        loop {
            match PgListener::connect_with(&self.pool).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen("events").await {
                        tracing::warn!(error = %e, "LISTEN events failed");
                    } else {
                        // The payload names the types written (migration 0011); an empty
                        // one (an older writer) wakes every projection.
                        while let Ok(n) = listener.recv().await {
                            match n.payload() {
                                "" => self.lanes.iter().for_each(|l| l.nudge.notify_waiters()),
                                types => types.split(',').for_each(|t| self.nudge_readers_of(t)),
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot open the events listener"),
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn run_lane(&self, i: usize) {
        let lane = &self.lanes[i];
        let name = lane.projection.name();
        let mut delay = Duration::from_millis(100);
        loop {
            // Registered before reading: a wake-up during the read is not lost, nor one during
            // the gathering after a nudge (the same `woken` is awaited there).
            let woken = lane.wake.notified();
            let nudged = lane.nudge.notified();
            tokio::pin!(woken, nudged);
            match self.run_batch(i).await {
                Ok(n) if n as i64 >= BATCH_SIZE => {
                    delay = Duration::from_millis(100);
                    continue;
                }
                // Caught up with what was settled: wait for news.
                Ok(_) => {
                    delay = Duration::from_millis(100);
                    tokio::select! {
                        _ = &mut woken => {}
                        _ = &mut nudged => {
                            let _ = tokio::time::timeout(GATHER, &mut woken).await;
                        }
                        _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    }
                }
                Err(e) => {
                    tracing::error!(projection = name, error = %format!("{e:#}"), "projection failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
            }
        }
    }

    /// Applies one batch; returns how many events it applied.
    async fn run_batch(&self, i: usize) -> anyhow::Result<usize> {
        let lane = &self.lanes[i];
        let p = &lane.projection;
        let mut tx = LaneTx::begin(&self.pool, p.name()).await?;
        let floor = *lane.floor.lock().unwrap_or_else(|e| e.into_inner());
        let mut known = *lane.stored.lock().unwrap_or_else(|e| e.into_inner());
        if known == Checkpoint::default() {
            // Nothing seen yet (a new projector): a read from the start of the log would be
            // thrown away, so ask where the checkpoint stands first.
            known = stored_checkpoint(&mut tx, p.name()).await?;
            *lane.stored.lock().unwrap_or_else(|e| e.into_inner()) = known;
        }
        let types = p.aggregate_types();
        let mut batch = read_batch(&mut tx, known.max(floor), types, BATCH_SIZE, p.name()).await?;
        if batch.stored != known {
            // Moved by another process (or first read here): read from where it stands.
            *lane.stored.lock().unwrap_or_else(|e| e.into_inner()) = batch.stored;
            // Whoever applied those events did not run this process's after-batch work.
            if let Some(f) = &self.after_batch {
                f(p.name(), &[]);
            }
            if batch.stored.max(floor) != known.max(floor) {
                let from = batch.stored.max(floor);
                batch = read_batch(&mut tx, from, types, BATCH_SIZE, p.name()).await?;
            }
        }
        let from = batch.stored;
        let events = batch.events;
        let head = batch
            .settled_head
            .filter(|_| (events.len() as i64) < BATCH_SIZE);
        let raise_floor = |head: Option<Checkpoint>| {
            if let Some(h) = head {
                replace_if_newer(&mut lane.floor.lock().unwrap_or_else(|e| e.into_inner()), h);
                lane.progress.send_if_modified(|cp| replace_if_newer(cp, h));
            }
        };
        if events.is_empty() {
            tx.rollback().await?;
            lane.progress
                .send_if_modified(|cp| replace_if_newer(cp, from));
            raise_floor(head);
            return Ok(0);
        }
        if p.apply_batch(&mut tx, &events).await.is_err() {
            tx.rollback().await?;
            return self.isolate_failure(i, &events).await;
        }
        self.finish(i, tx, &events).await?;
        raise_floor(head);
        Ok(events.len())
    }

    /// Moves the checkpoint past `applied` in the transaction that applied them and commits, in
    /// one round trip ([`LaneTx::commit_at`]), and tells whoever waits.
    async fn finish(&self, i: usize, tx: LaneTx, applied: &[StoredEvent]) -> anyhow::Result<()> {
        let lane = &self.lanes[i];
        let Some(last) = applied.last().map(|e| e.checkpoint) else {
            tx.rollback().await?;
            return Ok(());
        };
        tx.commit_at(lane.projection.name(), last).await?;
        *lane.stored.lock().unwrap_or_else(|e| e.into_inner()) = last;
        // Before the waiters hear of it: what it does (e.g. forgetting cached sessions) must be
        // done when a mutation waiting for this batch answers.
        if let Some(f) = &self.after_batch {
            f(lane.projection.name(), applied);
        }
        lane.progress
            .send_if_modified(|cp| replace_if_newer(cp, last));
        self.applied.notify_waiters();
        Ok(())
    }

    /// Takes the projection's lock and returns the events of `events` it has not applied yet.
    async fn pending_of(
        &self,
        i: usize,
        events: &[StoredEvent],
    ) -> anyhow::Result<(LaneTx, Vec<StoredEvent>)> {
        let name = self.lanes[i].projection.name();
        let mut tx = LaneTx::begin(&self.pool, name).await?;
        let from = stored_checkpoint(&mut tx, name).await?;
        let todo = events
            .iter()
            .filter(|e| e.checkpoint > from)
            .cloned()
            .collect();
        Ok((tx, todo))
    }

    /// After a batch failed: applies its events one by one to find the one that fails, applies
    /// what came before it, and records the failure against that event. If none fails alone
    /// (the failure was transient), the one-by-one result stands: it equals the batch's.
    async fn isolate_failure(&self, i: usize, events: &[StoredEvent]) -> anyhow::Result<usize> {
        let p = &self.lanes[i].projection;
        let (mut tx, todo) = self.pending_of(i, events).await?;
        for (n, event) in todo.iter().enumerate() {
            if let Err(e) = p.apply(&mut tx, event).await {
                tx.rollback().await?;
                if n > 0 {
                    self.apply_exactly(i, &todo[..n]).await?;
                }
                self.record_failure(p.name(), event, &e).await?;
                return Err(e.context(format!(
                    "projection {} failed on event {}",
                    p.name(),
                    event.identity()
                )));
            }
        }
        tracing::warn!(
            projection = p.name(),
            events = todo.len(),
            "a batch failed as a whole but applied event by event"
        );
        self.finish(i, tx, &todo).await?;
        Ok(todo.len())
    }

    /// Applies a known-good prefix of a batch (before a poisoned event), event by event, and
    /// moves the checkpoint.
    async fn apply_exactly(&self, i: usize, events: &[StoredEvent]) -> anyhow::Result<()> {
        let p = &self.lanes[i].projection;
        let (mut tx, todo) = self.pending_of(i, events).await?;
        for event in &todo {
            p.apply(&mut tx, event).await?;
        }
        self.finish(i, tx, &todo).await
    }

    async fn record_failure(
        &self,
        name: &str,
        event: &StoredEvent,
        e: &anyhow::Error,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE projection_checkpoints
                SET last_error = $2, failed_event = $3, failing_since = COALESCE(failing_since, now())
              WHERE name = $1",
        )
        .bind(name)
        .bind(format!("{e:#}"))
        .bind(event.identity())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// The checkpoint of projection `name` as stored, read once its lock is held.
async fn stored_checkpoint(
    tx: &mut sqlx::PgConnection,
    name: &str,
) -> Result<Checkpoint, sqlx::Error> {
    let row = sqlx::query(
        "SELECT tx_id::text::bigint AS tx, position FROM projection_checkpoints WHERE name = $1",
    )
    .bind(name)
    .fetch_one(&mut *tx)
    .await?;
    Ok(Checkpoint {
        tx_id: row.try_get("tx")?,
        position: row.try_get("position")?,
    })
}

fn replace_if_newer(cp: &mut Checkpoint, new: Checkpoint) -> bool {
    if new > *cp {
        *cp = new;
        true
    } else {
        false
    }
}

/// Projections keyed by name, for `replay --projection NAME`.
pub fn by_name(projections: &[Arc<dyn Projection>]) -> HashMap<&'static str, Arc<dyn Projection>> {
    projections.iter().map(|p| (p.name(), p.clone())).collect()
}
