//! The aggregate cache is always correct: two server processes (two caches) acting on one
//! aggregate each see the other's events, and a failed commit leaves nothing stale behind.

use chrono::Utc;
use commands::store::execute;
use commands::{Clock, CommandContext, CommandError, CommandSettings, Commands};
use domain::agent::{AgentCommand, RegisterAgent, UpdateAgent};
use domain::kinds::Role;
use uuid::Uuid;

use crate::helpers::db::test_database;

fn rename(name: &str) -> AgentCommand {
    AgentCommand::Update(UpdateAgent {
        name: Some(name.to_string()),
        at: Utc::now(),
        ..Default::default()
    })
}

async fn events_of(pool: &sqlx::PgPool, id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1")
        .bind(id.to_string())
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn two_processes_with_their_own_caches_see_each_others_events() {
    let db = test_database().await;
    let one = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let two = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let ctx = CommandContext::system(Utc::now());
    let id = Uuid::new_v4();
    let register = AgentCommand::Register(RegisterAgent {
        agent_id: id,
        name: "A".into(),
        email: "cache@example.com".into(),
        email_taken_by: None,
        password_hash: "$argon2id$x".into(),
        role: Role::Agent,
        service_ids: vec![],
        max_concurrent: 2,
        at: Utc::now(),
    });
    execute(&one.agents, id, register, &ctx).await.unwrap();
    // Both caches hold the agent once they have acted on it.
    execute(&two.agents, id, rename("B"), &ctx).await.unwrap();
    // The first process's cache says "A": it must catch up to "B", or renaming to "A" would
    // wrongly change nothing.
    execute(&one.agents, id, rename("A"), &ctx).await.unwrap();
    assert_eq!(events_of(&db.pool, id).await, 3);
    // And the second must see the first's change in turn.
    execute(&two.agents, id, rename("A"), &ctx).await.unwrap();
    assert_eq!(
        events_of(&db.pool, id).await,
        3,
        "renaming to the current name changes nothing"
    );
    execute(&two.agents, id, rename("C"), &ctx).await.unwrap();
    assert_eq!(events_of(&db.pool, id).await, 4);
}

#[tokio::test]
async fn a_conflicting_commit_leaves_no_stale_state_behind() {
    let db = test_database().await;
    let one = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let ctx = CommandContext::system(Utc::now());
    let id = Uuid::new_v4();
    let register = AgentCommand::Register(RegisterAgent {
        agent_id: id,
        name: "A".into(),
        email: "race@example.com".into(),
        email_taken_by: None,
        password_hash: "$argon2id$x".into(),
        role: Role::Agent,
        service_ids: vec![],
        max_concurrent: 2,
        at: Utc::now(),
    });
    execute(&one.agents, id, register, &ctx).await.unwrap();
    // Many concurrent renames through one process: some lose the optimistic-lock race.
    let attempts = (0..8).map(|i| {
        let one = &one;
        let ctx = ctx.clone();
        async move { execute(&one.agents, id, rename(&format!("N{i}")), &ctx).await }
    });
    let results = futures::future::join_all(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert!(won >= 1);
    assert!(results
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(CommandError::Conflict { .. }))));
    assert_eq!(events_of(&db.pool, id).await, 1 + won as i64);
    // Whatever the cache holds now, the next command decides on the true state.
    let last: serde_json::Value = sqlx::query_scalar(
        "SELECT payload FROM events WHERE aggregate_id = $1 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(id.to_string())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let current = last["AgentUpdated"]["changes"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    execute(&one.agents, id, rename(&current), &ctx)
        .await
        .unwrap();
    assert_eq!(
        events_of(&db.pool, id).await,
        1 + won as i64,
        "the cached state is the true one"
    );
}

#[tokio::test]
async fn the_cached_state_counts_each_event_once() {
    use domain::contact::{ContactCommand, ContactInput, ContactPatch, ReferenceCheck};
    use domain::values::Patch;
    let db = test_database().await;
    let one = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let ctx = CommandContext::system(Utc::now());
    let id = Uuid::new_v4();
    let today = Utc::now().date_naive();
    let register = ContactCommand::RegisterContact {
        contact_id: id,
        account_id: Uuid::new_v4(),
        input: ContactInput {
            name: "Ana".into(),
            ..Default::default()
        },
        refs: ReferenceCheck::found(),
        phone_taken_by: None,
        today,
        at: Utc::now(),
    };
    execute(&one.contacts, id, register, &ctx).await.unwrap();
    for (expected, name) in [(1, "Bia"), (2, "Cris"), (3, "Duda")] {
        let update = ContactCommand::UpdateContact {
            patch: ContactPatch {
                name: Patch::Set(name.into()),
                ..Default::default()
            },
            refs: ReferenceCheck::found(),
            phone_taken_by: None,
            expected_version: Some(expected),
            today,
            at: Utc::now(),
        };
        execute(&one.contacts, id, update, &ctx)
            .await
            .unwrap_or_else(|e| panic!("version {expected}: {e}"));
    }
}

/// Opens a WAITING inbound attendance through `c` and returns its id.
async fn open_waiting(c: &Commands, ctx: &CommandContext) -> Uuid {
    use domain::attendance::{AttendanceCommand, Destination, InboundMessage, OpenInbound};
    let id = Uuid::new_v4();
    let open = AttendanceCommand::OpenInbound(OpenInbound {
        attendance_id: id,
        protocol: format!("C{}", &id.simple().to_string()[..12]),
        account_id: Uuid::new_v4(),
        contact_id: Uuid::new_v4(),
        channel: domain::kinds::ChannelType::Webchat,
        destination: Destination::Service(Uuid::new_v4()),
        first_message: InboundMessage {
            message_id: Uuid::new_v4(),
            text: Some("Olá".into()),
            attachments: vec![],
            external_id: None,
            at: ctx.now,
        },
        at: ctx.now,
    });
    execute(&c.attendances, id, open, ctx).await.unwrap();
    id
}

fn assign(agent_id: Uuid) -> domain::attendance::AttendanceCommand {
    domain::attendance::AttendanceCommand::Assign(domain::attendance::Assign {
        agent_id,
        at: Utc::now(),
    })
}

#[tokio::test]
async fn a_bulk_commit_writes_all_of_its_streams_or_none_and_keeps_the_cache_true() {
    use domain::attendance::Attendance;
    let db = test_database().await;
    let one = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let two = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let ctx = CommandContext::system(Utc::now());
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(open_waiting(&one, &ctx).await);
    }
    let agent = Uuid::new_v4();
    let keys: Vec<String> = ids.iter().map(Uuid::to_string).collect();

    // Decided on what `one` loaded; meanwhile another process assigns the second attendance.
    let opened = events_of(&db.pool, ids[0]).await;
    let loaded = one.attendance_store.load_many(&keys).await.unwrap();
    assert!(loaded.iter().all(|c| c.current_sequence as i64 == opened));
    execute(&two.attendances, ids[1], assign(Uuid::new_v4()), &ctx)
        .await
        .unwrap();
    let decided = loaded
        .into_iter()
        .map(|c| {
            let events = c.aggregate.decide(assign(agent)).unwrap();
            (c, events)
        })
        .collect();
    let result = one
        .attendance_store
        .commit_many(decided, &ctx.metadata())
        .await;
    let refused = commands::error::from_aggregate(result.unwrap_err());
    assert!(
        matches!(refused, CommandError::Conflict { .. }),
        "{refused}"
    );
    for (id, expected) in ids.iter().zip([opened, opened + 1, opened]) {
        assert_eq!(
            events_of(&db.pool, *id).await,
            expected,
            "nothing half-written"
        );
    }

    // Run as a bulk action: each id decided on its true state, in the order given.
    let commands = ids.iter().map(|id| (*id, assign(agent))).collect();
    let outcomes = commands::store::execute_each(
        &one.attendances,
        &one.attendance_store,
        commands,
        Attendance::decide,
        &ctx,
    )
    .await;
    assert!(outcomes[0].is_ok());
    assert!(matches!(outcomes[1], Err(CommandError::InvalidState(_))));
    assert!(outcomes[2].is_ok());
    for id in &ids {
        assert_eq!(events_of(&db.pool, *id).await, opened + 1);
    }
    // The cache holds the committed states: assigning again is refused, not written.
    let again = execute(&one.attendances, ids[0], assign(agent), &ctx).await;
    assert!(matches!(again, Err(CommandError::InvalidState(_))));
    assert_eq!(events_of(&db.pool, ids[0]).await, opened + 1);
}

fn agent_actor(agent_id: Uuid) -> domain::attendance::Actor {
    domain::attendance::Actor {
        agent_id,
        role: Role::Agent,
    }
}

#[tokio::test]
async fn a_command_accepted_on_a_cached_state_that_moved_on_is_decided_again() {
    let db = test_database().await;
    let one = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let two = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let ctx = CommandContext::system(Utc::now());
    // `one` caches the attendance WAITING; `two` assigns it meanwhile.
    let id = open_waiting(&one, &ctx).await;
    let opened = events_of(&db.pool, id).await;
    let first = Uuid::new_v4();
    execute(&two.attendances, id, assign(first), &ctx)
        .await
        .unwrap();
    // On `one`'s cached state the assignment would be accepted; the log holds the other one.
    let again = execute(&one.attendances, id, assign(Uuid::new_v4()), &ctx).await;
    assert!(
        matches!(again, Err(CommandError::InvalidState(_))),
        "{again:?}"
    );
    assert_eq!(
        events_of(&db.pool, id).await,
        opened + 1,
        "nothing written twice"
    );
    let agent: Option<String> = sqlx::query_scalar(
        "SELECT payload -> 'AttendanceAssigned' ->> 'agent_id' FROM events
          WHERE aggregate_id = $1 AND sequence = $2",
    )
    .bind(id.to_string())
    .bind(opened + 1)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(agent, Some(first.to_string()));
}

#[tokio::test]
async fn a_command_refused_on_a_cached_state_that_moved_on_is_decided_again() {
    use domain::attendance::{AttendanceCommand, MarkPending, Rescue};
    let db = test_database().await;
    let one = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let two = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let ctx = CommandContext::system(Utc::now());
    let agent = Uuid::new_v4();
    let id = open_waiting(&one, &ctx).await;
    let opened = events_of(&db.pool, id).await;
    execute(&one.attendances, id, assign(agent), &ctx)
        .await
        .unwrap();
    // `one` caches it IN_PROGRESS; `two` parks it as pending.
    let pending = AttendanceCommand::MarkPending(MarkPending {
        actor: agent_actor(agent),
        at: Utc::now(),
    });
    execute(&two.attendances, id, pending, &ctx).await.unwrap();
    // Rescuing would be refused on `one`'s cached state (not pending); on the log's it is due.
    let rescue = AttendanceCommand::Rescue(Rescue {
        actor: agent_actor(agent),
        at: Utc::now(),
    });
    execute(&one.attendances, id, rescue, &ctx)
        .await
        .unwrap_or_else(|e| panic!("refused on a stale state: {e}"));
    assert_eq!(events_of(&db.pool, id).await, opened + 3);
    // And `one`'s cache now holds the rescued state: parking it again is accepted at once.
    let pending = AttendanceCommand::MarkPending(MarkPending {
        actor: agent_actor(agent),
        at: Utc::now(),
    });
    execute(&one.attendances, id, pending, &ctx).await.unwrap();
    assert_eq!(events_of(&db.pool, id).await, opened + 4);
}

/// Registers contact `id` named `name` on `account` (the references all exist).
fn register_contact(id: Uuid, account: Uuid, name: &str) -> domain::contact::ContactCommand {
    use domain::contact::{ContactCommand, ContactInput, ReferenceCheck};
    ContactCommand::RegisterContact {
        contact_id: id,
        account_id: account,
        input: ContactInput {
            name: name.into(),
            ..ContactInput::default()
        },
        refs: ReferenceCheck {
            account_exists: true,
            unknown_tag_ids: vec![],
            classification_exists: None,
            portfolio_agent_exists: None,
        },
        phone_taken_by: None,
        today: Utc::now().date_naive(),
        at: Utc::now(),
    }
}

/// Links e-mail address `identifier` to a contact of `account`.
fn link_email(account: Uuid, identifier: &str) -> domain::contact::ContactCommand {
    domain::contact::ContactCommand::LinkChannel {
        channel: domain::kinds::ChannelType::Email,
        identifier: identifier.into(),
        account_id: account,
        at: Utc::now(),
    }
}

/// Inbound takes a cached contact as is only when a look-up of the log found its stream at the
/// cached sequence (`contacts::stream::load_at`); a contact another process moved on is read
/// from the log.
#[tokio::test]
async fn a_cached_contact_is_taken_as_is_only_at_the_streams_last_sequence() {
    let db = test_database().await;
    let one = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let two = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let ctx = CommandContext::system(Utc::now());
    let (id, account) = (Uuid::new_v4(), Uuid::new_v4());
    execute(
        &one.contacts,
        id,
        register_contact(id, account, "Ana"),
        &ctx,
    )
    .await
    .unwrap();
    assert!(one.contact_store.cached_at(&id.to_string(), 1).is_some());

    let link = link_email(account, "ana@example.com");
    execute(&two.contacts, id, link.clone(), &ctx)
        .await
        .unwrap();
    assert!(
        one.contact_store.cached_at(&id.to_string(), 2).is_none(),
        "the first process's cache stands at 1"
    );
    let contact = commands::contacts::stream::load_at(&one, id, Some(2), None)
        .await
        .unwrap();
    assert_eq!(
        contact.decide(link).map(|e| e.len()),
        Ok(0),
        "the link the other process wrote is seen"
    );
    assert!(one.contact_store.cached_at(&id.to_string(), 2).is_some());
}

/// An inbound message reads its contact and the contact's open attendance with one query
/// (`cache::load_two`): each comes back caught up from where the cache held it, and both are
/// cached at their streams' last sequences afterwards.
#[tokio::test]
async fn two_streams_read_together_are_each_caught_up_and_cached() {
    let db = test_database().await;
    let one = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let two = Commands::new(db.pool.clone(), Clock::system(), CommandSettings::default());
    let ctx = CommandContext::system(Utc::now());
    let account = Uuid::new_v4();
    let register = |id: Uuid, name: &str| register_contact(id, account, name);
    let link = |identifier: &str| link_email(account, identifier);
    // `ana`: cached by `one` at 1, moved to 2 by `two`. `bia`: written by `two` only (2 events).
    let (ana, bia) = (Uuid::new_v4(), Uuid::new_v4());
    execute(&one.contacts, ana, register(ana, "Ana"), &ctx)
        .await
        .unwrap();
    execute(&two.contacts, ana, link("ana@example.com"), &ctx)
        .await
        .unwrap();
    execute(&two.contacts, bia, register(bia, "Bia"), &ctx)
        .await
        .unwrap();
    execute(&two.contacts, bia, link("bia@example.com"), &ctx)
        .await
        .unwrap();
    assert!(one.contact_store.cached_at(&ana.to_string(), 1).is_some());
    assert!(!one.contact_store.holds_at(&bia.to_string(), 2));

    let loaded = commands::cache::load_two(
        &one.contact_store,
        &ana.to_string(),
        &one.contact_store,
        &bia.to_string(),
    )
    .await
    .unwrap();
    assert_eq!(
        loaded.decide(link("ana@example.com")).map(|e| e.len()),
        Ok(0)
    );
    assert_eq!((loaded.id, loaded.version), (ana, 2));
    assert!(one.contact_store.holds_at(&ana.to_string(), 2));
    let bia_state = one.contact_store.cached_at(&bia.to_string(), 2).unwrap();
    assert_eq!((bia_state.id, bia_state.version), (bia, 2));
    assert_eq!(
        bia_state.decide(link("bia@example.com")).map(|e| e.len()),
        Ok(0)
    );
}
