//! `chatai login-link`: a fresh login link whether or not a server runs on this data dir, without
//! any unauthenticated network path.
//!
//! A running server listens on a Unix socket `control.sock` in its data dir, mode 0600 inside
//! a 0700 dir: only the user who runs the server can talk to it. `login-link` asks that socket
//! first; when nothing answers (no server, or a stale socket after a crash) it opens the
//! database itself and stores the token there.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::task::JoinHandle;

use crate::auth::AuthService;
use crate::config::{ConfigLoader, Overlay};
use crate::state::AppState;

const SOCKET: &str = "control.sock";

#[derive(Serialize, Deserialize)]
struct Request {
    permanent: bool,
    label: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Reply {
    url: Option<String>,
    error: Option<String>,
}

fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// Serves login-link requests on the control socket.
pub fn serve(
    data_dir: &Path,
    state: Arc<AppState>,
    base_url: String,
) -> anyhow::Result<JoinHandle<()>> {
    let path = socket_path(data_dir);
    if path.exists() {
        std::fs::remove_file(&path)
            .with_context(|| format!("removing stale {}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(&path)
        .with_context(|| format!("binding the control socket {}", path.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            let base_url = base_url.clone();
            tokio::spawn(async move {
                if let Err(err) = answer(stream, &state, &base_url).await {
                    tracing::warn!(error = %err, "control socket request failed");
                }
            });
        }
    }))
}

async fn answer(
    stream: tokio::net::UnixStream,
    state: &AppState,
    base_url: &str,
) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(4096));
    tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line)).await??;
    let request: Request = serde_json::from_str(&line)?;
    let config = state.config.current();
    let reply = match state
        .auth
        .create_login_token(request.permanent, request.label.as_deref(), &config.auth)
        .await
    {
        Ok(issued) => Reply {
            url: Some(crate::api::login_url_with_base(base_url, &issued.token)),
            error: None,
        },
        Err(err) => Reply {
            url: None,
            error: Some(err.to_string()),
        },
    };
    tracing::info!(
        permanent = request.permanent,
        "login link issued through the control socket"
    );
    let mut out = serde_json::to_vec(&reply)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    Ok(())
}

/// A new login link: from the running server if there is one, else straight from the database.
pub async fn login_link(
    loader: ConfigLoader,
    permanent: bool,
    label: Option<String>,
) -> anyhow::Result<String> {
    let config = loader.load(&Overlay::new())?;
    let path = socket_path(&config.data_dir);
    if let Ok(Ok(stream)) = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::UnixStream::connect(&path),
    )
    .await
    {
        return ask_server(stream, permanent, label).await;
    }
    let store = crate::server::open_store(&config).await?;
    let overlay = store.config_overlay().await?;
    let config = loader.load(&overlay)?;
    let auth = AuthService::load(store, &config.auth).await?;
    let issued = auth
        .create_login_token(permanent, label.as_deref(), &config.auth)
        .await?;
    Ok(crate::api::login_url_with_base(
        &config.public_base_url(),
        &issued.token,
    ))
}

async fn ask_server(
    stream: tokio::net::UnixStream,
    permanent: bool,
    label: Option<String>,
) -> anyhow::Result<String> {
    let (read, mut write) = stream.into_split();
    let mut request = serde_json::to_vec(&Request { permanent, label })?;
    request.push(b'\n');
    write.write_all(&request).await?;
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        BufReader::new(read).read_line(&mut line),
    )
    .await
    .context("the server did not answer on the control socket")??;
    let reply: Reply = serde_json::from_str(&line).context("malformed answer from the server")?;
    match (reply.url, reply.error) {
        (Some(url), _) => Ok(url),
        (None, error) => anyhow::bail!("the server refused: {}", error.unwrap_or_default()),
    }
}
