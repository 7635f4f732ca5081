//! The change feed behind every subscription: each server instance reads the event log itself,
//! in the same never-skipping global order as the projections (`projections::log`), but only up
//! to where *every* projection has applied it — so what a subscriber receives agrees with what a
//! query returns right after. Since every instance reads the shared log, a change made through
//! instance A reaches subscribers on instance B without any broker. `NOTIFY events` wakes the
//! feed (payloads stay empty: readers fetch the rest); an event that the projections have not
//! applied yet is looked at again when a projection of this process commits a batch, else
//! after [`HELD_BACK_RETRY`], doubling up to [`HELD_BACK_MAX_RETRY`] (commits meanwhile do not
//! hasten it), so the last event of a burst is not left waiting for the poll. (A `NOTIFY` per
//! projection commit would wake it exactly, also for other processes' projections, but
//! notifying commits serialize in PostgreSQL, and the write path paid for it.)
//!
//! A change's cursor is its event's place in the log, so a client that reconnects with the last
//! cursor it saw gets every change it missed, in order ([`Feed::replay`]), within
//! [`REPLAY_HORIZON`]; past it, one RESYNC tells it to re-query.
//!
//! # Fan-out
//! Each subscriber registers the [`Topic`]s it may care about (one attendance, an agent, a
//! service's queue, or everything) and gets its own bounded queue. The feed hands each item
//! only to the subscribers of its topics, so a change costs nothing to the thousands of
//! sockets it does not concern. What every interested subscriber would otherwise compute
//! itself is computed once per event and shared ([`Live`]): the attendance's state just before
//! and after the event (folded with the domain's own `apply`), its read-model row, the message
//! it added, an agent's pending count and counters.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use projections::log::{read_after, Checkpoint, StoredEvent};
use sqlx::postgres::PgListener;
use sqlx::{PgPool, Row};
use tokio::sync::{mpsc, watch, OnceCell};
use uuid::Uuid;

use crate::presence::{Connections, PRESENCE_CHANNEL};

/// Every aggregate type the feed follows.
const AGGREGATE_TYPES: &[&str] = &["Contact", "Attendance", "Agent"];

/// Events read per round.
const FEED_BATCH: i64 = 500;

/// How many missed events a reconnecting client may be replayed; older cursors get RESYNC.
pub const REPLAY_HORIZON: i64 = 10_000;

/// Buffered items per subscriber before a slow one starts missing live items (it then gets a
/// RESYNC). The queue grows on demand: an idle subscriber holds no buffer of this size.
const CHANNEL_CAPACITY: usize = 4_096;

/// Attendances whose folded state the feed keeps (cleared when exceeded).
const FOLD_CACHE: usize = 50_000;

/// The longest the feed sleeps without a wake-up.
const POLL: Duration = Duration::from_millis(500);

/// The first wait before looking again at an event the projections had not applied yet.
const HELD_BACK_RETRY: Duration = Duration::from_millis(5);

/// The longest such wait: the lanes apply a commit nobody waits for within their gathering
/// time (`projections::runner::GATHER`, 20 ms), so the feed looks at about that pace.
const HELD_BACK_MAX_RETRY: Duration = Duration::from_millis(20);

/// One thing subscribers may care about.
#[derive(Debug, Clone)]
pub enum FeedItem {
    /// An event, once every read model includes it.
    Event(Arc<Live>),
    /// An agent's websocket connection opened or closed (on any instance).
    Connection(Uuid),
}

/// What a subscriber listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Every item.
    All,
    /// One attendance's events.
    Attendance(Uuid),
    /// Attendance events of an attendance assigned to the agent just before or after the
    /// event, and the agent's own events.
    Agent(Uuid),
    /// Attendance events of an attendance WAITING in the service just before or after.
    Service(Uuid),
}

/// An attendance's (status, assigned agent, service) — what routing and visibility use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub status: domain::kinds::AttendanceStatus,
    pub agent_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
}

/// An attendance's facts just before and just after an event (None: it did not exist).
pub type Around = (Option<Facts>, Option<Facts>);

/// One agent's figure after an event, computed by the first of its subscribers.
type SharedFigure = Arc<OnceCell<Option<Figure>>>;

/// A live event, with what its subscribers share: computed once, by the first that needs it.
#[derive(Debug)]
pub struct Live {
    pub event: StoredEvent,
    /// For an attendance event, its facts around the event (None when the fold failed).
    pub around: Option<Around>,
    row: OnceCell<Option<projections::attendances::read::AttendanceRow>>,
    message: OnceCell<Option<projections::attendances::read::MessageRow>>,
    per_agent: Mutex<HashMap<(Uuid, FigureKind), SharedFigure>>,
}

impl Deref for Live {
    type Target = StoredEvent;
    fn deref(&self) -> &StoredEvent {
        &self.event
    }
}

impl Live {
    pub fn new(event: StoredEvent, around: Option<Around>) -> Self {
        Self {
            event,
            around,
            row: OnceCell::new(),
            message: OnceCell::new(),
            per_agent: Mutex::default(),
        }
    }

    /// The attendance's read-model row, read once for all subscribers.
    pub async fn attendance_row(
        &self,
        pool: &PgPool,
    ) -> Option<projections::attendances::read::AttendanceRow> {
        self.row
            .get_or_init(|| async {
                let id: Uuid = self.event.aggregate_id.parse().ok()?;
                projections::attendances::read::get(pool, id)
                    .await
                    .ok()
                    .flatten()
            })
            .await
            .clone()
    }

    /// The message `message_id` (this event's), read once for all subscribers.
    pub async fn message_row(
        &self,
        pool: &PgPool,
        message_id: Uuid,
    ) -> Option<projections::attendances::read::MessageRow> {
        self.message
            .get_or_init(|| async {
                projections::attendances::read::message(pool, message_id)
                    .await
                    .ok()
                    .flatten()
            })
            .await
            .clone()
    }

    /// A figure of one agent after this event, computed once by `compute` for all of the
    /// agent's subscribers.
    pub async fn per_agent<F, Fut>(
        &self,
        agent: Uuid,
        kind: FigureKind,
        compute: F,
    ) -> Option<Figure>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Option<Figure>>,
    {
        let cell = self
            .per_agent
            .lock()
            .ok()?
            .entry((agent, kind))
            .or_default()
            .clone();
        cell.get_or_init(compute).await.clone()
    }
}

/// Which per-agent figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FigureKind {
    PendingCount,
    Counters,
}

/// A per-agent figure shared by the agent's subscribers.
#[derive(Debug, Clone)]
pub enum Figure {
    PendingCount(i32),
    Counters(projections::counters::read::AgentCounters),
}

struct Sub {
    tx: mpsc::Sender<FeedItem>,
    lagged: Arc<AtomicBool>,
    topics: Vec<Topic>,
}

/// The subscribers of this instance, by topic.
#[derive(Default)]
struct Registry {
    next: u64,
    subs: HashMap<u64, Sub>,
    by_topic: HashMap<Topic, Vec<u64>>,
    /// Subscribers with a topic other than one attendance (they need the fold).
    folding: usize,
}

impl Registry {
    fn remove(&mut self, id: u64) {
        let Some(sub) = self.subs.remove(&id) else {
            return;
        };
        if sub
            .topics
            .iter()
            .any(|t| !matches!(t, Topic::Attendance(_)))
        {
            self.folding -= 1;
        }
        for t in sub.topics {
            if let Some(ids) = self.by_topic.get_mut(&t) {
                ids.retain(|i| *i != id);
                if ids.is_empty() {
                    self.by_topic.remove(&t);
                }
            }
        }
    }

    /// Hands `item` to the subscribers of `topics`, each once, without waiting: a full queue
    /// marks its subscriber lagged.
    fn dispatch(&self, topics: &[Topic], item: &FeedItem) {
        let mut sent: Vec<u64> = Vec::new();
        for t in topics.iter().chain(std::iter::once(&Topic::All)) {
            for id in self.by_topic.get(t).into_iter().flatten() {
                if sent.contains(id) {
                    continue;
                }
                sent.push(*id);
                if let Some(sub) = self.subs.get(id) {
                    if let Err(mpsc::error::TrySendError::Full(_)) = sub.tx.try_send(item.clone()) {
                        sub.lagged.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

/// The live items of one subscriber; unregisters when dropped.
pub struct Subscription {
    id: u64,
    rx: mpsc::Receiver<FeedItem>,
    lagged: Arc<AtomicBool>,
    registry: Arc<Mutex<Registry>>,
}

/// Why [`Subscription::recv`] returned no item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// Items were dropped because this subscriber was too slow: re-sync.
    Lagged,
    Closed,
}

impl Subscription {
    /// The next item, in the feed's order.
    pub async fn recv(&mut self) -> Result<FeedItem, RecvError> {
        if self.lagged.swap(false, Ordering::Relaxed) {
            // Drop what is queued: the subscriber re-syncs from the current state.
            while self.rx.try_recv().is_ok() {}
            return Err(RecvError::Lagged);
        }
        self.rx.recv().await.ok_or(RecvError::Closed)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Ok(mut r) = self.registry.lock() {
            r.remove(self.id);
        }
    }
}

/// The feed of this instance.
#[derive(Clone)]
pub struct Feed {
    registry: Arc<Mutex<Registry>>,
    head: watch::Sender<Checkpoint>,
}

impl Default for Feed {
    fn default() -> Self {
        Self {
            registry: Arc::default(),
            head: watch::channel(Checkpoint::default()).0,
        }
    }
}

/// A cursor as clients see it.
pub fn encode_cursor(c: Checkpoint) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", c.tx_id, c.position))
}

/// A cursor from a client; None when it is not one of ours.
pub fn decode_cursor(s: &str) -> Option<Checkpoint> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
    let (tx, pos) = raw.split_once(':')?;
    Some(Checkpoint {
        tx_id: tx.parse().ok()?,
        position: pos.parse().ok()?,
    })
}

/// What a reconnecting client gets before the live items.
pub enum Replay {
    Events(Vec<Arc<StoredEvent>>),
    /// Too old (or not a cursor): re-query.
    Resync,
}

impl Feed {
    /// A subscriber of `topics` (items of [`Topic::All`] only with `Topic::All` itself).
    pub fn subscribe(&self, topics: Vec<Topic>) -> Subscription {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let lagged = Arc::new(AtomicBool::new(false));
        let mut r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        let id = r.next;
        r.next += 1;
        if topics.iter().any(|t| !matches!(t, Topic::Attendance(_))) {
            r.folding += 1;
        }
        for t in &topics {
            let ids = r.by_topic.entry(*t).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        r.subs.insert(
            id,
            Sub {
                tx,
                lagged: lagged.clone(),
                topics,
            },
        );
        Subscription {
            id,
            rx,
            lagged,
            registry: self.registry.clone(),
        }
    }

    fn dispatch(&self, topics: &[Topic], item: FeedItem) {
        if let Ok(r) = self.registry.lock() {
            r.dispatch(topics, &item);
        }
    }

    fn folding(&self) -> bool {
        self.registry.lock().map(|r| r.folding > 0).unwrap_or(true)
    }

    /// The last event delivered live.
    pub fn head(&self) -> Checkpoint {
        *self.head.borrow()
    }

    /// The events after `since` up to the live head, for one subscriber to filter (and fold).
    pub async fn replay(&self, pool: &PgPool, since: &str) -> Replay {
        let Some(from) = decode_cursor(since) else {
            return Replay::Resync;
        };
        let head = self.head();
        let mut conn = match pool.acquire().await {
            Ok(c) => c,
            Err(_) => return Replay::Resync,
        };
        match read_after(&mut conn, from, AGGREGATE_TYPES, REPLAY_HORIZON + 1).await {
            Ok(events) => {
                let events: Vec<_> = events
                    .into_iter()
                    .filter(|e| e.checkpoint <= head)
                    .map(Arc::new)
                    .collect();
                if events.len() as i64 > REPLAY_HORIZON {
                    Replay::Resync
                } else {
                    Replay::Events(events)
                }
            }
            Err(_) => Replay::Resync,
        }
    }

    /// Reads the log and broadcasts, forever (a background task of each instance).
    /// `applied` is told when this process's projections commit a batch (events of other
    /// processes' projections are found by looking again).
    pub async fn run(
        self,
        pool: PgPool,
        connections: Connections,
        readers: Readers,
        applied: Arc<tokio::sync::Notify>,
    ) {
        let mut folds = Folds::default();
        let mut cursor = match checkpoints(&pool)
            .await
            .map(|c| c.values().copied().min().unwrap_or_default())
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "the change feed cannot start");
                return;
            }
        };
        self.head.send_replace(cursor);
        let (wake_tx, mut wake_rx) = tokio::sync::mpsc::channel::<()>(1);
        let listener_pool = pool.clone();
        let items = self.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(mut l) = PgListener::connect_with(&listener_pool).await {
                    if l.listen_all(["events", PRESENCE_CHANNEL]).await.is_ok() {
                        while let Ok(n) = l.recv().await {
                            if n.channel() == PRESENCE_CHANNEL {
                                if let Ok(agent) = n.payload().parse() {
                                    items.dispatch(&[], FeedItem::Connection(agent));
                                }
                            }
                            let _ = wake_tx.try_send(());
                        }
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        });
        let mut retry = HELD_BACK_RETRY;
        loop {
            // Registered before the read: a batch applied while reading still wakes the wait.
            let projected = applied.notified();
            tokio::pin!(projected);
            projected.as_mut().enable();
            match self
                .advance(&pool, &connections, &readers, &mut folds, cursor)
                .await
            {
                Ok((next, held_back)) => {
                    let moved = next != cursor;
                    cursor = next;
                    if held_back {
                        // Waiting for the projections: a commit cannot make that event ready
                        // sooner (under load one woke the feed every millisecond, two
                        // statements each time), a batch this process applies may; another
                        // process's is found by looking again after `retry`.
                        if moved {
                            retry = HELD_BACK_RETRY;
                        }
                        tokio::select! {
                            _ = &mut projected => {}
                            _ = tokio::time::sleep(retry) => {}
                        }
                        retry = (retry * 2).min(HELD_BACK_MAX_RETRY);
                        let _ = wake_rx.try_recv();
                        continue;
                    }
                    retry = HELD_BACK_RETRY;
                    if moved {
                        continue;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "change feed read failed"),
            }
            let _ = tokio::time::timeout(POLL, wake_rx.recv()).await;
        }
    }

    async fn advance(
        &self,
        pool: &PgPool,
        connections: &Connections,
        readers: &Readers,
        folds: &mut Folds,
        cursor: Checkpoint,
    ) -> anyhow::Result<(Checkpoint, bool)> {
        let done = checkpoints(pool).await?;
        // An event is ready once every projection reading its aggregate type has applied it.
        let ready = |e: &StoredEvent| {
            readers
                .iter()
                .filter(|(_, types)| types.contains(&e.aggregate_type.as_str()))
                .all(|(name, _)| done.get(*name).is_some_and(|cp| *cp >= e.checkpoint))
        };
        let mut conn = pool.acquire().await?;
        let mut at = cursor;
        let mut held_back = false;
        for e in read_after(&mut conn, cursor, AGGREGATE_TYPES, FEED_BATCH).await? {
            if !ready(&e) {
                held_back = true;
                break;
            }
            at = e.checkpoint;
            if e.event_type == "AgentLoggedOut" {
                let payload = e.payload.value().unwrap_or_default();
                if let Some(session) = payload
                    .pointer("/AgentLoggedOut/session_id")
                    .and_then(|v| v.as_str())
                {
                    if let Ok(id) = session.parse() {
                        connections.end_session(id);
                    }
                }
            }
            let (topics, around) = match e.aggregate_type.as_str() {
                "Attendance" => {
                    let around = if self.folding() {
                        folds.around(pool, &e).await
                    } else {
                        folds.forget(&e);
                        None
                    };
                    (
                        attendance_topics(&e, around.as_ref(), &self.registry),
                        around,
                    )
                }
                "Agent" => (
                    e.aggregate_id
                        .parse()
                        .map(|id| vec![Topic::Agent(id)])
                        .unwrap_or_default(),
                    None,
                ),
                _ => (vec![], None),
            };
            self.dispatch(&topics, FeedItem::Event(Arc::new(Live::new(e, around))));
        }
        self.head.send_replace(at);
        Ok((at, held_back))
    }
}

/// The topics of an attendance event: the attendance, the agents it was or is assigned to, the
/// services it was or is waiting in; every agent and service topic when its facts are unknown.
fn attendance_topics(
    e: &StoredEvent,
    around: Option<&Around>,
    registry: &Mutex<Registry>,
) -> Vec<Topic> {
    let mut topics = Vec::with_capacity(5);
    if let Ok(id) = e.aggregate_id.parse() {
        topics.push(Topic::Attendance(id));
    }
    match around {
        Some((before, after)) => {
            for f in [before, after].into_iter().flatten() {
                if let Some(a) = f.agent_id {
                    topics.push(Topic::Agent(a));
                }
                if f.status == domain::kinds::AttendanceStatus::Waiting {
                    if let Some(s) = f.service_id {
                        topics.push(Topic::Service(s));
                    }
                }
            }
        }
        None => {
            if let Ok(r) = registry.lock() {
                topics.extend(
                    r.by_topic
                        .keys()
                        .filter(|t| matches!(t, Topic::Agent(_) | Topic::Service(_))),
                );
            }
        }
    }
    topics
}

/// The attendances' states as of the last event the feed folded, shared by every subscriber.
#[derive(Default)]
struct Folds(HashMap<Uuid, (domain::attendance::Attendance, i64)>);

impl Folds {
    fn forget(&mut self, e: &StoredEvent) {
        if let Ok(id) = e.aggregate_id.parse::<Uuid>() {
            self.0.remove(&id);
        }
    }

    async fn around(&mut self, pool: &PgPool, e: &StoredEvent) -> Option<Around> {
        let id: Uuid = e.aggregate_id.parse().ok()?;
        let folded = fold_around(pool, self.0.remove(&id), e).await;
        if self.0.len() >= FOLD_CACHE {
            self.0.clear();
        }
        let (around, state) = folded?;
        self.0.insert(id, (state, e.sequence));
        Some(around)
    }
}

fn facts(a: &domain::attendance::Attendance) -> Option<Facts> {
    a.state().map(|s| Facts {
        status: s.status,
        agent_id: s.agent_id,
        service_id: s.service_id,
    })
}

/// An attendance's facts around `e`, from `cached` (its state and last sequence) when that is
/// the state just before `e`, else from its stream in the log; with the state after `e`.
pub async fn fold_around(
    pool: &PgPool,
    cached: Option<(domain::attendance::Attendance, i64)>,
    e: &StoredEvent,
) -> Option<(Around, domain::attendance::Attendance)> {
    use cqrs_es::Aggregate;
    let mut state = match cached.filter(|(_, seq)| *seq == e.sequence - 1) {
        Some((a, _)) => a,
        None => {
            let mut a = domain::attendance::Attendance::default();
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT event_type, event_version, payload::text FROM events
                  WHERE aggregate_type = 'Attendance' AND aggregate_id = $1 AND sequence < $2 ORDER BY sequence",
            )
            .bind(&e.aggregate_id)
            .bind(e.sequence)
            .fetch_all(pool)
            .await
            .ok()?;
            for (t, v, p) in rows {
                a.apply(domain::upcasting::decode(&t, &v, &p).ok()?);
            }
            a
        }
    };
    let before = facts(&state);
    let event = e.decode().ok()?;
    state.apply(event);
    let after = facts(&state);
    Some(((before, after), state))
}

/// Each projection's name and the aggregate types it reads.
pub type Readers = Vec<(&'static str, &'static [&'static str])>;

/// Where each projection has got to (the feed never runs ahead of a read model).
async fn checkpoints(pool: &PgPool) -> anyhow::Result<HashMap<String, Checkpoint>> {
    let rows =
        sqlx::query("SELECT name, tx_id::text::bigint AS tx, position FROM projection_checkpoints")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("name")?,
                Checkpoint {
                    tx_id: r.try_get("tx")?,
                    position: r.try_get("position")?,
                },
            ))
        })
        .collect()
}
