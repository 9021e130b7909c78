//! Start-up and shutdown: storage, config, auth, routes, listener, background tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use salvo::catcher::Catcher;
use salvo::conn::tcp::TcpAcceptor;
use salvo::prelude::*;
use salvo::server::ServerHandle;
use tokio::task::JoinHandle;

use crate::api;
use crate::auth::AuthService;
use crate::channels::ChannelService;
use crate::chat::ChatService;
use crate::config::{Config, ConfigLoader, ConfigService, Overlay};
use crate::control;
use crate::data_dir;
use crate::events::EventBus;
use crate::extensions::custom::CustomExtensions;
use crate::extensions::{ExtensionHost, KvBackend, KvQuota, builtins};
use crate::http::{Gatekeeper, RateLimiter, envelope_catcher, guard_request, observe_request};
use crate::llm::LlmClient;
use crate::mcp::McpManager;
use crate::mcp::endpoint::McpEndpoint;
use crate::skills::SkillRuntime;
use crate::state::{AppState, Services};
use crate::store::{EmbeddedOptions, HEARTBEAT, InstanceRow, Store, StoreOptions};
use crate::telemetry;
use crate::tools::{self, ToolExecutor, ToolHub, ToolLogQueue, ToolRegistry};

/// A started server.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// A fresh temporary login link, printed at start.
    pub login_url: String,
    pub state: Arc<AppState>,
    handle: ServerHandle,
    serve: JoinHandle<()>,
    background: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish (up to 5 s), stops background tasks.
    pub async fn shutdown(self) {
        self.state.mcp_endpoint.stop();
        self.handle.stop_graceful(Some(Duration::from_secs(5)));
        if let Err(err) = self.serve.await {
            tracing::warn!(error = %err, "server task ended abnormally");
        }
        // MCP servers we started are stopped and reaped before we go.
        self.state.mcp.shutdown().await;
        for task in self.background {
            task.abort();
        }
        // The other instances stop listing this one at once, not after its heartbeat ages.
        if let Err(err) = self
            .state
            .store
            .forget_instance(&self.state.instance_id)
            .await
        {
            tracing::debug!(error = %err, "could not remove this instance's heartbeat row");
        }
    }

    /// Runs until the server stops on its own (it does not, unless stopped).
    pub async fn wait(&mut self) {
        if let Err(err) = (&mut self.serve).await {
            tracing::warn!(error = %err, "server task ended abnormally");
        }
    }
}

/// Opens the database of this configuration (static layers only: the overlay lives in it).
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    data_dir::prepare(&config.data_dir, "data dir")?;
    let url = config.database_url();
    let credentials = match (&config.database.username, &config.database.password) {
        (Some(user), Some(password)) => Some((user.as_str(), password.expose())),
        _ => None,
    };
    Store::connect(StoreOptions {
        url: &url,
        namespace: &config.database.namespace,
        database: &config.database.database,
        credentials,
        embedded: EmbeddedOptions {
            memtable_bytes: u64::from(config.database.memtable_mib) << 20,
            block_cache_bytes: u64::from(config.database.block_cache_mib) << 20,
            sync_ms: config.database.sync_ms,
        },
        deadline: std::time::Duration::from_millis(config.database.timeout_ms),
    })
    .await
    .with_context(|| format!("opening the database at {}", redact_url(&url)))
}

/// Builds everything and starts listening on `server.host:server.port` (port 0: any free port).
pub async fn start(loader: ConfigLoader) -> anyhow::Result<Running> {
    data_dir::restrict_umask();
    let boot = loader.load(&Overlay::new())?;
    let store = open_store(&boot).await?;
    let events = Arc::new(EventBus::new());
    let config_service = ConfigService::load(loader, store.clone(), events.clone()).await?;
    let config = config_service.current();
    let auth = AuthService::load(store.clone(), &config.auth)
        .await
        .context("loading credentials")?;
    let cache_dir = config
        .extensions
        .compile_cache
        .then(|| config.data_dir.join("cache").join("wasm"));
    if let Some(dir) = &cache_dir {
        data_dir::prepare(dir, "compile cache dir")?;
    }
    let cache_secret = store
        .server_secret_or_insert("cache", &crate::auth::random_hex_secret())
        .await
        .context("loading the compile cache key")?;
    let host = Arc::new(
        ExtensionHost::new(&config.extensions, cache_dir, cache_secret.as_bytes())
            .context("starting the WASM engine")?,
    );
    host.set_kv_backend(KvBackend {
        store: store.clone(),
        quota: KvQuota::of(&config.extensions),
    });
    let registry = Arc::new(ToolRegistry::new(events.clone()));
    let (log_queue, log_writer) = ToolLogQueue::start(
        store.clone(),
        tools::logs::LogLimits {
            queue_bytes: config.tools.log_queue_bytes,
            rows_per_second: config.tools.log_rows_per_second,
        },
    );
    let tools = Arc::new(ToolHub {
        executor: ToolExecutor::new(
            registry.clone(),
            log_queue,
            events.clone(),
            api::error::exec_error_code,
        ),
        registry: registry.clone(),
    });
    let llm = LlmClient::new(std::time::Duration::from_millis(
        config.llm.connect_timeout_ms.max(1),
    ))
    .context("starting the HTTP client of LLM upstreams")?;
    let channels = Arc::new(
        ChannelService::load(store.clone(), llm)
            .await
            .context("loading channels")?,
    );
    let config_service = Arc::new(config_service);
    let chat = Arc::new(
        ChatService::new(
            store.clone(),
            config_service.clone(),
            channels.clone(),
            tools.clone(),
        )
        .await
        .context("loading presets")?,
    );
    // Skills run through the hub and the chat service built above; extensions load after.
    let skills = SkillRuntime::new(&tools, &chat, config_service.clone(), events.clone());
    let builtins = builtins::load(&host, &registry, &config.extensions, &skills).await?;
    let custom = Arc::new(CustomExtensions::new(
        host.clone(),
        registry.clone(),
        store.clone(),
        events.clone(),
        Arc::new(skills),
        &builtins,
    ));
    let reloaded = custom
        .load_all(&config.extensions)
        .await
        .context("loading custom extensions")?;
    let mcp = Arc::new(McpManager::new(
        store.clone(),
        tools.registry.clone(),
        events.clone(),
        config_service.clone(),
    ));
    let mcp_servers = mcp.start().await.context("loading MCP servers")?;
    let mcp_endpoint = McpEndpoint::new(tools.clone(), config_service.clone(), &events);
    let builtins = builtins.len();
    tracing::info!(
        builtins,
        custom = reloaded.loaded,
        custom_failed = reloaded.failed,
        from_cache = reloaded.from_cache,
        mcp_servers,
        allocation = host.allocation,
        "extensions loaded"
    );
    let state = Arc::new(AppState::new(
        Services {
            config: config_service,
            store,
            auth: Arc::new(auth),
            tools,
            custom,
            events,
            channels,
            chat,
            mcp,
            mcp_endpoint,
        },
        telemetry::metrics_handle(),
    ));

    let routes = api::routes();
    if state.openapi.set(routes.openapi).is_err() {
        tracing::warn!("OpenAPI document was already set");
    }
    let service = Service::new(routes.router)
        .hoop(observe_request)
        .hoop(salvo::catch_panic::CatchPanic::new())
        .hoop(salvo::affix_state::inject(state.clone()))
        .hoop(salvo::affix_state::inject(Arc::new(Gatekeeper {
            config: state.config.clone(),
            auth: state.auth.clone(),
            limiter: RateLimiter::default(),
        })))
        .hoop(guard_request)
        .catcher(Catcher::new(envelope_catcher));

    let listener = tokio::net::TcpListener::bind((config.server.host.as_str(), config.server.port))
        .await
        .with_context(|| format!("binding {}:{}", config.server.host, config.server.port))?;
    // Accepted sockets inherit TCP_NODELAY from the listener (Linux): without it a streamed
    // answer's second small write waits for the client's delayed ACK (~40 ms per event).
    rustix::net::sockopt::set_tcp_nodelay(&listener, true).context("TCP_NODELAY")?;
    let addr = listener.local_addr()?;
    let acceptor = TcpAcceptor::try_from(listener)?;
    let server = Server::new(acceptor);
    let handle = server.handle();
    let serve = tokio::spawn(async move { server.serve(service).await });

    let base_url = match &config.server.public_url {
        Some(_) => config.public_base_url(),
        None => format!("http://{addr}"),
    };
    if state.base_url.set(base_url.clone()).is_err() {
        tracing::warn!("base URL was already set");
    }
    let mut background = vec![
        spawn_db_probe(state.clone()),
        start_heartbeat(state.clone(), base_url.clone()).await?,
        spawn_pruner(state.clone()),
        telemetry::spawn_metrics_upkeep(state.metrics.clone()),
        log_writer,
    ];
    // Changes other instances on this database make reach this one's caches.
    background.extend(crate::sync::spawn(state.clone()));
    if let Some(dir) = config.extensions.dir.clone() {
        background.push(crate::extensions::watch::spawn(
            state.custom.clone(),
            state.config.clone(),
            dir,
            Duration::from_millis(config.extensions.dir_poll_ms),
        ));
    }
    background.push(control::serve(
        &config.data_dir,
        state.clone(),
        base_url.clone(),
    )?);
    let issued = state
        .auth
        .create_login_token(false, Some("start-up"), &config.auth)
        .await?;
    let login_url = api::login_url_with_base(&base_url, &issued.token);
    tracing::info!(%addr, data_dir = %config.data_dir.display(), db = state.store.engine(), "ChatAI Edge listening");
    Ok(Running {
        addr,
        login_url,
        state,
        handle,
        serve,
        background,
    })
}

fn spawn_db_probe(state: Arc<AppState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            state.probe_db().await;
        }
    })
}

/// Writes this instance's first heartbeat (so it is listed once start-up returns), then one
/// every [`HEARTBEAT`].
async fn start_heartbeat(state: Arc<AppState>, address: String) -> anyhow::Result<JoinHandle<()>> {
    let row = InstanceRow {
        id: state.instance_id.clone(),
        address,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at: state.started_at_ms,
        seen_at: state.started_at_ms,
    };
    state
        .store
        .heartbeat(&row, 60_000)
        .await
        .context("writing this instance's heartbeat")?;
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(err) = state.store.heartbeat(&row, 60_000).await {
                tracing::debug!(error = %err, "heartbeat not written");
            }
        }
    }))
}

fn spawn_pruner(state: Arc<AppState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(err) = state.store.prune_expired().await {
                tracing::warn!(error = %err, "pruning expired credentials failed");
            }
            // Usage counts are read for today only; a week is kept for a look back.
            let week_ago = (chrono::Utc::now() - chrono::Duration::days(7))
                .format("%Y-%m-%d")
                .to_string();
            if let Err(err) = state.store.prune_usage(&week_ago).await {
                tracing::warn!(error = %err, "pruning old usage counts failed");
            }
            let days = state.config.current().tools.log_retention_days;
            if days > 0 {
                let cutoff = crate::store::now_ms() - i64::from(days) * 86_400_000;
                match state.store.prune_tool_logs(cutoff).await {
                    Ok(()) => {}
                    Err(err) => tracing::warn!(error = %err, "pruning old tool logs failed"),
                }
            }
        }
    })
}

/// A database URL without credentials, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}
