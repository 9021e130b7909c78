//! The `chatai` command line: parse, load config, init tracing, run. The binary's `main` only
//! calls [`run`]; it lives in the library so that tests can build the same binary under
//! another name. This is the one module that prints to stdout.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{ConfigLoader, Overlay};
use clap::{Parser, Subcommand};

/// ChatAI Edge: the AI brain behind chat bots and admin panels.
#[derive(Parser)]
#[command(name = "chatai", version, about)]
struct Cli {
    /// Config file (default: ./chatai.toml when present).
    #[arg(long, env = "CHATAI_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Print a new login link for the admin panel.
    LoginLink {
        /// A link that works until revoked, instead of once within 5 minutes.
        #[arg(long)]
        permanent: bool,
        /// A name for the link, shown in the token list.
        #[arg(long)]
        label: Option<String>,
    },
    /// Write, build, try and deploy an extension (`chatai ext new demo`).
    Ext {
        #[command(subcommand)]
        command: crate::ext::ExtCommand,
    },
}

/// Runs the command line and returns the process exit code.
#[allow(clippy::print_stdout)]
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: starting the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let loader = || ConfigLoader::new(cli.config.clone(), Some("CHATAI_"));
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(loader()?).await,
            Command::LoginLink { permanent, label } => {
                let url = crate::control::login_link(loader()?, permanent, label).await?;
                println!("{url}");
                Ok(())
            }
            // The author's commands read no server config (their `CHATAI_*` variables are
            // their own, not config keys).
            Command::Ext { command } => {
                // The scratch database of `ext test` is nobody's concern.
                crate::telemetry::init_logging(&crate::config::LogConfig {
                    level: "warn,surrealdb=off,surrealdb_core=off".into(),
                    ..Default::default()
                });
                crate::ext::run(command).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)]
async fn serve(loader: ConfigLoader) -> anyhow::Result<()> {
    let boot = loader.load(&Overlay::new())?;
    crate::telemetry::init_logging(&boot.log);
    let running = crate::start(loader).await?;
    println!(
        "ChatAI Edge {} listening on http://{}",
        env!("CARGO_PKG_VERSION"),
        running.addr
    );
    println!(
        "data: {} (database {})",
        std::fs::canonicalize(&boot.data_dir)
            .unwrap_or(boot.data_dir.clone())
            .display(),
        running.state.store.engine()
    );
    println!("a new login link any time: chatai login-link [--permanent]");
    // Last and set apart, so it is what the eye lands on.
    println!();
    println!("  ➜  login (one use, 5 minutes): {}", running.login_url);
    println!();
    // Start-up is over: its code pages go back to the kernel, and again whenever the server
    // rests (see [`crate::footprint`]).
    let footprint = tokio::spawn(crate::footprint::release_code_when_idle());
    shutdown_signal().await;
    footprint.abort();
    // Whoever read our banner may be gone; a closed stdout must not turn shutdown into a panic.
    if writeln!(std::io::stdout(), "shutting down").is_err() {
        tracing::info!("shutting down (stdout closed)");
    }
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
