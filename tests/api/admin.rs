//! The catalogue's administration: accounts, services (and the account's default), settings,
//! pause reasons, tags, classifications, templates, integration tokens, and their audit trail.
//!
//! These drive the use cases in `commands::admin` on a fresh database each.

use chrono::Utc;
use commands::admin::{
    accounts, audit, classifications, integration_tokens, pause_reasons, services, settings, tags,
    templates,
};
use commands::{Actor, CommandContext, CommandError};
use domain::kinds::{ChannelType, Role};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::db::test_database;

fn as_role(role: Role) -> CommandContext {
    let actor = Actor::Agent {
        id: Uuid::new_v4(),
        role,
        session_id: None,
    };
    CommandContext::new(actor, Uuid::new_v4().to_string(), Utc::now())
}

fn admin() -> CommandContext {
    as_role(Role::Admin)
}

/// The fields a VALIDATION error names, or a panic showing what came instead.
fn invalid_fields<T: std::fmt::Debug>(r: Result<T, CommandError>) -> Vec<String> {
    match r {
        Err(CommandError::Validation(e)) => e.0.into_iter().map(|f| f.field).collect(),
        other => panic!("expected VALIDATION, got {other:?}"),
    }
}

async fn account(pool: &PgPool, ctx: &CommandContext, name: &str) -> accounts::AccountRow {
    accounts::create(
        pool,
        ctx,
        accounts::NewAccount {
            name: name.into(),
            timezone: None,
        },
    )
    .await
    .unwrap()
}

fn service(account_id: Uuid, name: &str, default: bool) -> services::NewService {
    services::NewService {
        account_id,
        name: name.into(),
        survey_enabled: true,
        default,
    }
}

fn template(account_id: Uuid, name: &str, body: &str) -> templates::NewTemplate {
    templates::NewTemplate {
        account_id,
        channel: ChannelType::WhatsappBusinessApi,
        name: name.into(),
        language: "pt_BR".into(),
        body: body.into(),
    }
}

#[tokio::test]
async fn an_account_gets_sao_paulo_time_unless_it_names_a_zone() {
    let db = test_database().await;
    let ctx = admin();
    let sp = account(&db.pool, &ctx, "  Acme  ").await;
    assert_eq!(sp.name, "Acme");
    assert_eq!(sp.timezone, "America/Sao_Paulo");
    assert_eq!(sp.default_service_id, None);

    let lisbon = accounts::create(
        &db.pool,
        &ctx,
        accounts::NewAccount {
            name: "Lisboa".into(),
            timezone: Some("Europe/Lisbon".into()),
        },
    )
    .await
    .unwrap();
    assert_eq!(lisbon.tz().name(), "Europe/Lisbon");
    let names: Vec<String> = accounts::list(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["Acme", "Lisboa"]);
    assert_eq!(accounts::get(&db.pool, sp.id).await.unwrap(), Some(sp));
}

#[tokio::test]
async fn an_account_with_an_unknown_time_zone_or_a_blank_name_is_rejected() {
    let db = test_database().await;
    let r = accounts::create(
        &db.pool,
        &admin(),
        accounts::NewAccount {
            name: " ".into(),
            timezone: Some("Mars/Olympus".into()),
        },
    )
    .await;
    assert_eq!(invalid_fields(r), ["name", "timezone"]);
    assert!(accounts::list(&db.pool).await.unwrap().is_empty());
}

#[tokio::test]
async fn only_administrators_change_the_catalogue() {
    let db = test_database().await;
    let acme = account(&db.pool, &admin(), "Acme").await;
    for role in [Role::Agent, Role::Supervisor, Role::Integration] {
        let ctx = as_role(role);
        let r = accounts::create(
            &db.pool,
            &ctx,
            accounts::NewAccount {
                name: "X".into(),
                timezone: None,
            },
        )
        .await;
        assert!(
            matches!(r, Err(CommandError::Forbidden(_))),
            "{role}: {r:?}"
        );
        let r = tags::create(
            &db.pool,
            &ctx,
            tags::NewTag {
                account_id: acme.id,
                name: "x".into(),
                color: None,
            },
        )
        .await;
        assert!(
            matches!(r, Err(CommandError::Forbidden(_))),
            "{role}: {r:?}"
        );
        let r = settings::update(&db.pool, &ctx, settings::SettingsPatch::default()).await;
        assert!(
            matches!(r, Err(CommandError::Forbidden(_))),
            "{role}: {r:?}"
        );
        let r = integration_tokens::create(&db.pool, &ctx, "gw").await;
        assert!(
            matches!(r, Err(CommandError::Forbidden(_))),
            "{role}: {r:?}"
        );
    }
    let system = CommandContext::system(Utc::now());
    account(&db.pool, &system, "By the server").await;
}

#[tokio::test]
async fn a_default_service_replaces_the_previous_default() {
    let db = test_database().await;
    let ctx = admin();
    let acme = account(&db.pool, &ctx, "Acme").await;

    let plain = services::create(&db.pool, &ctx, service(acme.id, "Vendas", false))
        .await
        .unwrap();
    assert!(plain.survey_enabled);
    assert_eq!(
        accounts::get(&db.pool, acme.id)
            .await
            .unwrap()
            .unwrap()
            .default_service_id,
        None
    );

    let first = services::create(&db.pool, &ctx, service(acme.id, "Suporte", true))
        .await
        .unwrap();
    assert_eq!(
        accounts::get(&db.pool, acme.id)
            .await
            .unwrap()
            .unwrap()
            .default_service_id,
        Some(first.id)
    );

    let second = services::create(&db.pool, &ctx, service(acme.id, "Atendimento", true))
        .await
        .unwrap();
    assert_eq!(
        accounts::get(&db.pool, acme.id)
            .await
            .unwrap()
            .unwrap()
            .default_service_id,
        Some(second.id)
    );
    assert_eq!(
        services::default_of(&db.pool, acme.id)
            .await
            .unwrap()
            .map(|s| s.id),
        Some(second.id)
    );

    let names: Vec<String> = services::list(&db.pool, Some(acme.id))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["Atendimento", "Suporte", "Vendas"]);

    let switches: Vec<serde_json::Value> = audit::for_entity(&db.pool, acme.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == audit::action::ACCOUNT_DEFAULT_SERVICE_CHANGED)
        .map(|a| a.payload["previousDefaultServiceId"].clone())
        .collect();
    assert_eq!(
        switches,
        [serde_json::Value::Null, serde_json::json!(first.id)]
    );
}

#[tokio::test]
async fn a_service_of_an_unknown_account_names_the_account_field() {
    let db = test_database().await;
    let r = services::create(&db.pool, &admin(), service(Uuid::new_v4(), "Vendas", true)).await;
    assert_eq!(invalid_fields(r), ["accountId"]);
}

#[tokio::test]
async fn services_missing_lists_the_unknown_ids_in_order() {
    let db = test_database().await;
    let ctx = admin();
    let acme = account(&db.pool, &ctx, "Acme").await;
    let s = services::create(&db.pool, &ctx, service(acme.id, "Vendas", false))
        .await
        .unwrap();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(
        services::missing(&db.pool, &[a, s.id, b]).await.unwrap(),
        [a, b]
    );
    assert!(services::missing(&db.pool, &[s.id])
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_duplicate_tag_name_in_one_account_is_a_conflict_naming_the_existing_tag() {
    let db = test_database().await;
    let ctx = admin();
    let acme = account(&db.pool, &ctx, "Acme").await;
    let other = account(&db.pool, &ctx, "Other").await;
    let vip = tags::create(
        &db.pool,
        &ctx,
        tags::NewTag {
            account_id: acme.id,
            name: "VIP".into(),
            color: Some("#FFD700".into()),
        },
    )
    .await
    .unwrap();
    assert_eq!(vip.color.as_deref(), Some("#FFD700"));

    let again = tags::create(
        &db.pool,
        &ctx,
        tags::NewTag {
            account_id: acme.id,
            name: " vip ".into(),
            color: None,
        },
    )
    .await;
    match again {
        Err(CommandError::Conflict { existing_id, .. }) => assert_eq!(existing_id, Some(vip.id)),
        other => panic!("expected CONFLICT, got {other:?}"),
    }
    // The same name in another account is another tag.
    tags::create(
        &db.pool,
        &ctx,
        tags::NewTag {
            account_id: other.id,
            name: "VIP".into(),
            color: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(tags::list(&db.pool, acme.id).await.unwrap(), [vip]);
}

#[tokio::test]
async fn a_tag_colour_must_be_hash_and_six_hex_digits() {
    let db = test_database().await;
    let ctx = admin();
    let acme = account(&db.pool, &ctx, "Acme").await;
    let r = tags::create(
        &db.pool,
        &ctx,
        tags::NewTag {
            account_id: acme.id,
            name: "VIP".into(),
            color: Some("gold".into()),
        },
    )
    .await;
    assert_eq!(invalid_fields(r), ["color"]);
    let none = tags::create(
        &db.pool,
        &ctx,
        tags::NewTag {
            account_id: acme.id,
            name: "VIP".into(),
            color: Some("".into()),
        },
    )
    .await
    .unwrap();
    assert_eq!(none.color, None);
}

#[tokio::test]
async fn a_template_counts_its_placeholders_and_rejects_gaps() {
    let db = test_database().await;
    let ctx = admin();
    let acme = account(&db.pool, &ctx, "Acme").await;

    let r = templates::create(
        &db.pool,
        &ctx,
        template(acme.id, "pedido", "Olá {{1}}, pedido {{3}}"),
    )
    .await;
    assert_eq!(invalid_fields(r), ["body"]);
    let r = templates::create(&db.pool, &ctx, template(acme.id, "pedido", "Olá {{ 1 }}")).await;
    assert_eq!(invalid_fields(r), ["body"]);

    let t = templates::create(
        &db.pool,
        &ctx,
        template(acme.id, "pedido", "Olá {{1}}, pedido {{2}}"),
    )
    .await
    .unwrap();
    assert_eq!(t.variable_count, 2);
    assert_eq!(t.template_body().unwrap().variable_count(), 2);
    assert_eq!(
        templates::list(&db.pool, acme.id, ChannelType::WhatsappBusinessApi)
            .await
            .unwrap(),
        [t.clone()]
    );
    assert!(templates::list(&db.pool, acme.id, ChannelType::Sms)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(templates::get(&db.pool, t.id).await.unwrap(), Some(t));

    let dup = templates::create(&db.pool, &ctx, template(acme.id, "PEDIDO", "Oi")).await;
    assert!(matches!(dup, Err(CommandError::Conflict { .. })), "{dup:?}");
}

#[tokio::test]
async fn settings_changes_only_what_is_given() {
    let db = test_database().await;
    let ctx = admin();
    let before = settings::get(&db.pool).await.unwrap();
    assert!(before.show_statistics && before.allow_image_change && before.allow_password_change);

    let patch = settings::SettingsPatch {
        show_statistics: Some(false),
        ..Default::default()
    };
    let after = settings::update(&db.pool, &ctx, patch).await.unwrap();
    assert!(!after.show_statistics && after.allow_image_change && after.allow_password_change);
    assert_eq!(after.updated_by, ctx.actor.audit_name());
    assert_eq!(settings::get(&db.pool).await.unwrap(), after);

    let patch = settings::SettingsPatch {
        allow_password_change: Some(false),
        ..Default::default()
    };
    let after = settings::update(&db.pool, &ctx, patch).await.unwrap();
    assert!(!after.show_statistics && after.allow_image_change && !after.allow_password_change);
}

#[tokio::test]
async fn pause_reasons_and_classifications_are_listed_by_name_and_unique() {
    let db = test_database().await;
    let ctx = admin();
    let acme = account(&db.pool, &ctx, "Acme").await;
    for name in ["Treinamento", "almoço", "Banheiro"] {
        pause_reasons::create(&db.pool, &ctx, name).await.unwrap();
    }
    let names: Vec<String> = pause_reasons::list(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["almoço", "Banheiro", "Treinamento"]);
    assert!(matches!(
        pause_reasons::create(&db.pool, &ctx, "ALMOÇO").await,
        Err(CommandError::Conflict { .. })
    ));

    let c = classifications::create(&db.pool, &ctx, acme.id, "Cliente")
        .await
        .unwrap();
    assert_eq!(
        classifications::list(&db.pool, acme.id).await.unwrap(),
        [c.clone()]
    );
    assert!(matches!(
        classifications::create(&db.pool, &ctx, acme.id, "cliente").await,
        Err(CommandError::Conflict { existing_id: Some(id), .. }) if id == c.id
    ));
    assert_eq!(
        invalid_fields(classifications::create(&db.pool, &ctx, Uuid::new_v4(), "X").await),
        ["accountId"]
    );
    assert_eq!(
        invalid_fields(classifications::create(&db.pool, &ctx, acme.id, &"x".repeat(101)).await),
        ["name"]
    );
}

#[tokio::test]
async fn an_integration_token_is_returned_once_and_resolves_to_its_name() {
    let db = test_database().await;
    let ctx = admin();
    let token = integration_tokens::create(&db.pool, &ctx, "whatsapp-gateway")
        .await
        .unwrap();
    let actor = commands::auth::sessions::resolve_token(&db.pool, &token, Utc::now())
        .await
        .unwrap();
    assert!(
        matches!(actor, Some(Actor::Integration { ref name, .. }) if name == "whatsapp-gateway"),
        "{actor:?}"
    );
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM integration_tokens WHERE token_hash = $1")
            .bind(token.as_bytes())
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0, "the token itself is never stored");
    let again = integration_tokens::create(&db.pool, &ctx, "whatsapp-gateway").await;
    assert!(
        matches!(again, Err(CommandError::Conflict { .. })),
        "{again:?}"
    );
}

#[tokio::test]
async fn every_change_is_audited_with_its_actor_and_time() {
    let db = test_database().await;
    let ctx = admin();
    let acme = account(&db.pool, &ctx, "Acme").await;
    let s = services::create(&db.pool, &ctx, service(acme.id, "Vendas", true))
        .await
        .unwrap();
    let t = tags::create(
        &db.pool,
        &ctx,
        tags::NewTag {
            account_id: acme.id,
            name: "VIP".into(),
            color: None,
        },
    )
    .await
    .unwrap();
    settings::update(
        &db.pool,
        &ctx,
        settings::SettingsPatch {
            allow_image_change: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // A rejected change leaves no trace.
    tags::create(
        &db.pool,
        &ctx,
        tags::NewTag {
            account_id: acme.id,
            name: "VIP".into(),
            color: None,
        },
    )
    .await
    .unwrap_err();

    let mut rows = audit::recent(&db.pool, 100).await.unwrap();
    rows.reverse();
    let actions: Vec<(&str, Option<Uuid>)> = rows
        .iter()
        .map(|r| (r.action.as_str(), r.entity_id))
        .collect();
    assert_eq!(
        actions,
        [
            ("account.created", Some(acme.id)),
            ("service.created", Some(s.id)),
            ("account.default_service_changed", Some(acme.id)),
            ("tag.created", Some(t.id)),
            ("settings.updated", None),
        ]
    );
    for r in &rows {
        assert_eq!(r.actor, ctx.actor.audit_name());
        assert_eq!(r.at.timestamp_micros(), ctx.now.timestamp_micros());
        assert_eq!(
            r.payload["correlationId"],
            serde_json::json!(ctx.correlation_id)
        );
    }
    assert_eq!(rows[0].payload["name"], "Acme");
    assert_eq!(rows[0].payload["timezone"], "America/Sao_Paulo");
    assert_eq!(rows[4].payload["changes"]["allowImageChange"], false);
}
