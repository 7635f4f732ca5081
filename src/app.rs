//! Building and running the server: connect (or start a managed PostgreSQL), migrate, start the
//! projections and background jobs, serve the router until a shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use commands::{Clock, CommandSettings, Commands};
use graphql::{ApiSettings, ApiState, AppSchema};
use projections::Projector;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Connections per server process. More connections than PostgreSQL has cores to run them only
/// queue the work inside PostgreSQL, where waits are longer and less fair than in the pool's
/// queue: on the benchmark's 2-core machine, 16 clients sending inbound messages got 24 ms p99
/// with 20 connections, 16 ms with 8 and 24–31 ms with 4, which left the projections too few
/// (docs/benchmarks.md, session 11). A server whose PostgreSQL has more cores wants more
/// (`--pool-size`).
pub const DEFAULT_POOL_SIZE: u32 = 8;

/// What `App::build` needs.
#[derive(Clone)]
pub struct AppConfig {
    pub database_url: String,
    pub bind: SocketAddr,
    pub pool_size: u32,
    pub clock: Clock,
    pub commands: CommandSettings,
    pub api: ApiSettings,
}

/// A built server: bound, migrated, projections running.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    pub state: ApiState,
    pub schema: AppSchema,
    background: Vec<JoinHandle<()>>,
}

/// Connects a pool to `url`.
pub async fn connect(url: &str, size: u32) -> anyhow::Result<PgPool> {
    let options = commands::db::connect_options(url).context("DATABASE_URL is not a valid URL")?;
    commands::db::pool_options()
        .max_connections(size)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(options)
        .await
        .with_context(|| "cannot connect to PostgreSQL (check DATABASE_URL)".to_string())
}

/// Applies pending migrations.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    commands::db::MIGRATOR
        .run(pool)
        .await
        .context("applying migrations")?;
    Ok(())
}

impl App {
    pub async fn build(config: AppConfig) -> anyhow::Result<App> {
        let pool = connect(&config.database_url, config.pool_size).await?;
        migrate(&pool).await?;
        let commands = Arc::new(Commands::new(
            pool.clone(),
            config.clock.clone(),
            config.commands.clone(),
        ));
        crate::wiring::apply_inline(&commands);
        let projector = Projector::new(pool.clone(), crate::wiring::projections())
            .with_after_batch(crate::wiring::after_projection_batch(&commands));
        let mut background = projector.start().await?;
        let state = ApiState::new(commands.clone(), projector.clone(), config.api.clone());
        background.extend(crate::wiring::background_jobs(&state));
        background.extend(state.start_realtime());
        let schema = graphql::build_schema(state.clone());
        let router = graphql::router(schema.clone(), state.clone())
            .layer(tower_http::trace::TraceLayer::new_for_http());
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot bind {}", config.bind))?;
        Ok(App {
            listener,
            router,
            state,
            schema,
            background,
        })
    }

    /// The address actually bound (port 0 picks a free one).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` resolves; in-flight requests finish first.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await?;
        for task in self.background {
            task.abort();
        }
        Ok(())
    }
}
