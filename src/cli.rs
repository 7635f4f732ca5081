//! The command line: `serve` (the main job), `migrate`, `print-schema`, `create-admin`.
//! Every option also reads an environment variable, documented in `--help` and the README.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use commands::{Actor, Clock, CommandContext, CommandSettings, Commands};
use domain::kinds::Role;
use graphql::ApiSettings;

use crate::app::{connect, migrate, App, AppConfig, DEFAULT_POOL_SIZE};
use crate::postgres::{resolve_database, ManagedPostgres};

#[derive(Parser, Debug)]
#[command(
    name = "agent-panel",
    version,
    about = "Event-sourced backend of the Agent Panel"
)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// PostgreSQL URL. When unset, a PostgreSQL cluster managed by agent-panel is used.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Where the managed PostgreSQL keeps its data (only without DATABASE_URL).
    #[arg(long, env = "AGENT_PANEL_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the GraphQL API (applies pending migrations first).
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) to stdout.
    PrintSchema,
    /// Create the first administrator.
    CreateAdmin(CreateAdminArgs),
    /// Rebuild read models from the events and swap them in while servers keep serving; with
    /// --verify, rebuild beside the live tables and report every row that differs.
    Replay(ReplayArgs),
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Only this projection (default: all).
    #[arg(long)]
    pub projection: Option<String>,
    /// Compare instead of swapping; exits non-zero when any row differs.
    #[arg(long)]
    pub verify: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AGENT_PANEL_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Database connections of this process.
    #[arg(long, env = "AGENT_PANEL_POOL_SIZE", default_value_t = DEFAULT_POOL_SIZE)]
    pub pool_size: u32,
    /// How long a login session lasts, in hours.
    #[arg(long, env = "AGENT_PANEL_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: i64,
    /// Secret signing file URLs; set the same value on every instance behind a load balancer
    /// (default: random per process, so links die with the process).
    #[arg(long, env = "AGENT_PANEL_SIGNING_KEY", hide_env_values = true)]
    pub signing_key: Option<String>,
    /// Largest attachment, in MiB.
    #[arg(long, env = "AGENT_PANEL_MAX_ATTACHMENT_MIB", default_value_t = 20)]
    pub max_attachment_mib: usize,
    /// Proxies (addresses or networks, comma-separated, e.g. 10.0.0.0/8,192.168.1.7) whose
    /// X-Forwarded-For is believed: the client is the right-most hop not in this list. Unset:
    /// X-Forwarded-For is ignored and the connection's peer is the client (login throttling
    /// counts per client address).
    #[arg(long, env = "AGENT_PANEL_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<graphql::TrustedProxy>,
}

#[derive(Args, Debug)]
pub struct CreateAdminArgs {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub password: String,
    #[arg(long, default_value = "Administrator")]
    pub name: String,
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::PrintSchema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Serve(args) => serve(cli.db, args).await,
        Command::Migrate => {
            with_database(cli.db, |url| async move {
                let pool = connect(&url, 2).await?;
                migrate(&pool).await?;
                println!("migrations applied");
                Ok(())
            })
            .await
        }
        Command::CreateAdmin(args) => {
            with_database(cli.db, |url| async move { create_admin(&url, args).await }).await
        }
        Command::Replay(args) => {
            with_database(cli.db, |url| async move { replay(&url, args).await }).await
        }
    }
}

async fn replay(url: &str, args: ReplayArgs) -> anyhow::Result<()> {
    let pool = connect(url, 6).await?;
    migrate(&pool).await?;
    let all = crate::wiring::projections();
    let chosen: Vec<_> = match &args.projection {
        Some(name) => {
            let p = all.iter().find(|p| p.name() == name).cloned();
            vec![p.with_context(|| {
                let names: Vec<_> = all.iter().map(|p| p.name()).collect();
                format!("no projection named {name:?}; there are {names:?}")
            })?]
        }
        None => all,
    };
    let mode = if args.verify {
        projections::replay::Mode::Verify
    } else {
        projections::replay::Mode::Swap
    };
    let mut differing = 0;
    for p in chosen {
        let report = projections::replay::rebuild(&pool, p, mode).await?;
        let rate = report.events as f64 / report.seconds.max(1e-9);
        println!(
            "{}: {} events in {:.2} s ({rate:.0} events/s)",
            report.projection, report.events, report.seconds
        );
        for d in &report.differences {
            println!("  differs: {d}");
        }
        differing += report.differences.len();
    }
    if differing > 0 {
        anyhow::bail!("{differing} rows differ between the read models and a replay of the events");
    }
    if args.verify {
        println!("read models equal a replay of the events");
    }
    Ok(())
}

/// Runs `f` on the database, starting and stopping a managed cluster around it when needed.
async fn with_database<F, Fut>(db: DbArgs, f: F) -> anyhow::Result<()>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let (url, managed) = database(db).await?;
    let result = f(url).await;
    stop_managed(managed).await;
    result
}

/// The database to use, announcing on stdout where a managed cluster keeps its data.
async fn database(db: DbArgs) -> anyhow::Result<(String, Option<ManagedPostgres>)> {
    let (url, managed) = resolve_database(db.database_url, db.data_dir).await?;
    if let Some(pg) = &managed {
        println!(
            "agent-panel: managed PostgreSQL data in {}",
            pg.data_dir().display()
        );
    }
    Ok((url, managed))
}

async fn stop_managed(managed: Option<ManagedPostgres>) {
    if let Some(pg) = managed {
        if let Err(e) = pg.stop().await {
            tracing::error!(error = %format!("{e:#}"), "stopping the managed PostgreSQL failed");
        }
    }
}

async fn serve(db: DbArgs, args: ServeArgs) -> anyhow::Result<()> {
    let shutdown = shutdown_signal();
    let (url, managed) = database(db).await?;
    let mut api = ApiSettings::default();
    if let Some(key) = args.signing_key {
        api.signing_key = key.into_bytes();
    }
    api.max_attachment_bytes = args.max_attachment_mib * 1024 * 1024;
    api.trusted_proxies = args.trusted_proxies;
    let config = AppConfig {
        database_url: url,
        bind: args.bind,
        pool_size: args.pool_size,
        clock: Clock::system(),
        commands: CommandSettings {
            session_ttl: chrono::Duration::hours(args.session_hours),
        },
        api,
    };
    let result = async {
        let app = App::build(config).await?;
        tracing::info!(address = %app.local_addr(), "serving GraphQL on http://{}/graphql", app.local_addr());
        println!("agent-panel listening on http://{}/graphql", app.local_addr());
        app.run_until(shutdown).await
    }
    .await;
    stop_managed(managed).await;
    result
}

async fn create_admin(url: &str, args: CreateAdminArgs) -> anyhow::Result<()> {
    let pool = connect(url, 4).await?;
    migrate(&pool).await?;
    let commands = Commands::new(pool.clone(), Clock::system(), CommandSettings::default());
    let ctx = CommandContext::new(
        Actor::System,
        uuid::Uuid::new_v4().to_string(),
        commands.clock.now(),
    );
    let input = commands::agents::register::NewAgent {
        name: args.name,
        email: args.email.clone(),
        password: args.password,
        role: Role::Admin,
        service_ids: Vec::new(),
        max_concurrent: 5,
    };
    let id = commands::agents::register::register_agent(&commands, &ctx, input)
        .await
        .map_err(|e| match e {
            commands::CommandError::Conflict { .. } => {
                anyhow::anyhow!("an agent with e-mail {} already exists", args.email)
            }
            other => anyhow::anyhow!("{other}"),
        })?;
    // Bring the agents read model up to date so the admin can log in at once. The projections
    // run until the new agent's event is applied: a single catch-up pass could come too early,
    // while transactions elsewhere on the server keep the event from counting as settled.
    let projector = projections::Projector::new(pool, crate::wiring::projections());
    let running = projector.start().await.context("starting projections")?;
    let caught_up = projector.wait_for_stream("Agent", &id.to_string()).await;
    running.into_iter().for_each(|h| h.abort());
    caught_up?;
    println!("administrator {} created with id {id}", args.email);
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled (the server polls it from a task of its own, a moment after it starts
/// accepting connections): a signal during start-up is then kept and answered with a clean
/// shutdown instead of killing the process with a managed PostgreSQL left running.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (mut terminate, mut interrupt) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                _ = received(terminate.as_mut()) => {},
                _ = received(interrupt.as_mut()) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}
