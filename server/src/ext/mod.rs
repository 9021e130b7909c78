//! `chatai ext`: the extension author's commands. From an empty directory to a deployed tool:
//! `new` writes a working project (Rust, Python or JavaScript), `build` runs the language's
//! toolchain, `test` runs a tool here in the server's own sandbox (no server needed), and
//! `deploy` uploads it to a server, grants what it requests and prints a `curl` per tool.
//!
//! A project is a directory with an `extension.toml`; its language is told by its files
//! (`Cargo.toml`, `app.py`, `app.js`).

mod deploy;
mod local;
mod scaffold;
mod toolchain;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};

use crate::manifest::Manifest;

/// The author's commands.
#[derive(Subcommand)]
pub enum ExtCommand {
    /// Create a working extension project in a new directory `<name>`.
    New {
        /// The extension's name (a-z, 0-9, `_`, `-`); its tool is `<name>_tool`.
        name: String,
        #[arg(long, value_enum, default_value_t = Lang::Rust)]
        lang: Lang,
        /// Request a private key-value bucket (the tool counts its calls in it).
        #[arg(long)]
        kv: bool,
        /// Request outgoing HTTP to this origin (`https://host[:port]`), and add a tool that
        /// fetches from it.
        #[arg(long, value_name = "ORIGIN")]
        http: Option<String>,
        /// The chatai-sdk checkout a Rust project depends on (default: the one this binary
        /// was built from).
        #[arg(long, env = "CHATAI_SDK_PATH", value_name = "DIR")]
        sdk: Option<PathBuf>,
    },
    /// Build the component (`cargo`, `componentize-py` or `componentize-js`).
    Build,
    /// Run one tool of the built component here, in the server's sandbox.
    Test {
        /// The tool to run.
        tool: String,
        /// Its arguments, as a JSON object.
        #[arg(default_value = "{}")]
        args: String,
        /// A config value for the extension (`key=value`; the key must be in the manifest).
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// Let HTTP reach loopback and private addresses (a local test server), as a server
        /// with `extensions.http.allow_private` does.
        #[arg(long)]
        allow_private: bool,
        /// Do not build first.
        #[arg(long)]
        no_build: bool,
    },
    /// Build, upload (an upgrade when installed), optionally grant, print a curl per tool.
    Deploy {
        #[arg(
            long,
            env = "CHATAI_SERVER",
            default_value = "http://127.0.0.1:3000",
            value_name = "URL"
        )]
        server: String,
        /// An admin API key (`cak_…`); read from the environment rather than typed.
        #[arg(long, env = "CHATAI_API_KEY", hide_env_values = true)]
        api_key: String,
        /// Grant everything the manifest requests (kv, http origins, config keys).
        #[arg(long)]
        grant: bool,
        /// Do not build first.
        #[arg(long)]
        no_build: bool,
    },
}

/// The languages `chatai ext new` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Js,
}

/// Runs an `ext` command in the current directory.
pub async fn run(command: ExtCommand) -> anyhow::Result<()> {
    match command {
        ExtCommand::New {
            name,
            lang,
            kv,
            http,
            sdk,
        } => scaffold::new_project(&scaffold::Request {
            name,
            lang,
            kv,
            http,
            sdk,
        }),
        ExtCommand::Build => {
            let project = Project::here()?;
            toolchain::build(&project).map(drop)
        }
        ExtCommand::Test {
            tool,
            args,
            config,
            allow_private,
            no_build,
        } => {
            let project = Project::here()?;
            let wasm = toolchain::built(&project, no_build)?;
            let call = local::Call {
                tool: &tool,
                args: &args,
                config: &config,
                allow_private,
            };
            local::run(&project, &wasm, &call).await
        }
        ExtCommand::Deploy {
            server,
            api_key,
            grant,
            no_build,
        } => {
            let project = Project::here()?;
            let wasm = toolchain::built(&project, no_build)?;
            deploy::deploy(&project, &wasm, &server, &api_key, grant).await
        }
    }
}

/// An extension project on disk.
pub struct Project {
    pub dir: PathBuf,
    pub lang: Lang,
    pub manifest: Manifest,
    /// `extension.toml` as written (uploaded with the component).
    pub manifest_text: String,
    /// The extension's name: the manifest's, else the directory's.
    pub name: String,
}

impl Project {
    /// The project in the current directory.
    fn here() -> anyhow::Result<Self> {
        Self::at(&std::env::current_dir().context("reading the current directory")?)
    }

    fn at(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("extension.toml");
        let manifest_text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "no extension.toml in {}: run this in an extension project (`chatai ext new <name>` \
                 makes one)",
                dir.display()
            )
        })?;
        let manifest = Manifest::parse(&manifest_text)
            .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
        let lang = if dir.join("Cargo.toml").exists() {
            Lang::Rust
        } else if dir.join("app.py").exists() {
            Lang::Python
        } else if dir.join("app.js").exists() {
            Lang::Js
        } else {
            anyhow::bail!(
                "{} has none of Cargo.toml (Rust), app.py (Python), app.js (JavaScript)",
                dir.display()
            );
        };
        let name = match &manifest.name {
            Some(name) => name.clone(),
            None => dir
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_owned)
                .context("the project directory has no name; set `name` in extension.toml")?,
        };
        Ok(Self {
            dir: dir.to_owned(),
            lang,
            manifest,
            manifest_text,
            name,
        })
    }
}
