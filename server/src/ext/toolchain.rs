//! `chatai ext build`: the language's toolchain, run in the project directory, with a message
//! that names the install command when a piece is missing. Every language's component ends up
//! at `target/chatai/<name>.wasm`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;

use super::{Lang, Project};

/// The componentize-py release the Python template and the tests are pinned to (PyPI).
pub const COMPONENTIZE_PY: &str = "0.25.1";
/// The componentize-js release the JavaScript template pins (npm,
/// `@bytecodealliance/componentize-js`).
pub const COMPONENTIZE_JS: &str = "0.23.0";

/// The world every tool component implements.
pub const TOOL_WORLD: &str = "tool-extension";
/// The world of a Python project made with `--http` (`wit/world.wit`): the tool world plus
/// `wasi:http/outgoing-handler`.
pub const HTTP_WORLD: &str = "tool-extension-http";

/// The world a Python project builds: the one its `wit/world.wit` declares, else the tool
/// world of `wit/extension.wit`.
pub fn python_world(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("wit/world.wit"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.trim().strip_prefix("world "))
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| TOOL_WORLD.to_owned())
}

/// Where the built component goes.
pub fn output(project: &Project) -> PathBuf {
    project
        .dir
        .join("target/chatai")
        .join(format!("{}.wasm", project.name))
}

/// The component, built now unless `no_build` (then it must exist).
pub fn built(project: &Project, no_build: bool) -> anyhow::Result<PathBuf> {
    if !no_build {
        return build(project);
    }
    let wasm = output(project);
    anyhow::ensure!(
        wasm.exists(),
        "{} is not built yet: run `chatai ext build`",
        wasm.display()
    );
    Ok(wasm)
}

/// Builds the component and returns its path. Progress goes to stderr, so that stdout holds
/// only what a command answers.
pub fn build(project: &Project) -> anyhow::Result<PathBuf> {
    let wasm = output(project);
    if let Some(parent) = wasm.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    match project.lang {
        Lang::Rust => build_rust(project, &wasm)?,
        Lang::Python => build_python(project, &wasm)?,
        Lang::Js => build_js(project, &wasm)?,
    }
    let size = std::fs::metadata(&wasm)
        .with_context(|| format!("the build wrote no {}", wasm.display()))?
        .len();
    eprintln!("built {} ({} KiB)", wasm.display(), size.div_ceil(1024));
    Ok(wasm)
}

fn build_rust(project: &Project, wasm: &Path) -> anyhow::Result<()> {
    if !rust_target_installed() {
        anyhow::bail!(
            "the Rust target wasm32-wasip2 is not installed: `rustup target add wasm32-wasip2`"
        );
    }
    let output = Command::new(cargo())
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(&project.dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo (is Rust installed? https://rustup.rs)")?;
    anyhow::ensure!(output.status.success(), "cargo build failed (see above)");
    // The cdylib's `.wasm`, wherever the target dir is (CARGO_TARGET_DIR included).
    let artifact = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .flat_map(|message| message["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|file| file.as_str().map(PathBuf::from))
        .rfind(|file| file.extension().is_some_and(|e| e == "wasm"))
        .context("cargo built no .wasm: is `crate-type = [\"cdylib\"]` in Cargo.toml's [lib]?")?;
    std::fs::copy(&artifact, wasm)
        .with_context(|| format!("copying {} to {}", artifact.display(), wasm.display()))?;
    Ok(())
}

/// `$CARGO` when run by cargo, else `cargo`.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

/// Whether the sysroot has the wasm32-wasip2 standard library.
fn rust_target_installed() -> bool {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .stderr(Stdio::null())
        .output();
    match sysroot {
        Ok(out) if out.status.success() => {
            let root = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            Path::new(&root).join("lib/rustlib/wasm32-wasip2").exists()
        }
        // No rustc to ask: let cargo say what is wrong.
        _ => true,
    }
}

/// `CHATAI_COMPONENTIZE_PY`, else `componentize-py` on the `PATH`.
pub fn componentize_py() -> PathBuf {
    std::env::var_os("CHATAI_COMPONENTIZE_PY").map_or_else(|| "componentize-py".into(), Into::into)
}

fn build_python(project: &Project, wasm: &Path) -> anyhow::Result<()> {
    let tool = componentize_py();
    let install = format!(
        "`pip install componentize-py=={COMPONENTIZE_PY}` (in a venv: `python3 -m venv .venv && \
         .venv/bin/pip install componentize-py=={COMPONENTIZE_PY}`, then put .venv/bin on PATH \
         or set CHATAI_COMPONENTIZE_PY)"
    );
    let version = Command::new(&tool)
        .arg("--version")
        .output()
        .with_context(|| format!("componentize-py is not installed: {install}"))?;
    let version = String::from_utf8_lossy(&version.stdout);
    if !version.contains(COMPONENTIZE_PY) {
        tracing::warn!(
            found = %version.trim(),
            "this project is tested with componentize-py {COMPONENTIZE_PY}"
        );
    }
    let world = python_world(&project.dir);
    let args: [&OsStr; 10] = [
        "-d".as_ref(),
        "wit".as_ref(),
        "-w".as_ref(),
        world.as_ref(),
        "componentize".as_ref(),
        "-p".as_ref(),
        ".".as_ref(),
        "app".as_ref(),
        "-o".as_ref(),
        wasm.as_ref(),
    ];
    componentize(&tool, &args, project, || install)
}

/// The project's `node_modules/.bin/componentize-js`, else `CHATAI_COMPONENTIZE_JS`, else
/// `componentize-js` on the `PATH`.
fn componentize_js(project: &Project) -> PathBuf {
    let local = project.dir.join("node_modules/.bin/componentize-js");
    if local.exists() {
        return local;
    }
    std::env::var_os("CHATAI_COMPONENTIZE_JS").map_or_else(|| "componentize-js".into(), Into::into)
}

fn build_js(project: &Project, wasm: &Path) -> anyhow::Result<()> {
    let tool = componentize_js(project);
    // componentize-js reads paths through a WASI sandbox of the working directory: relative
    // paths only.
    let relative = wasm.strip_prefix(&project.dir).unwrap_or(wasm);
    let args: [&OsStr; 7] = [
        "app.js".as_ref(),
        "--wit".as_ref(),
        "wit".as_ref(),
        "--world-name".as_ref(),
        TOOL_WORLD.as_ref(),
        "-o".as_ref(),
        relative.as_os_str(),
    ];
    componentize(&tool, &args, project, || {
        format!(
            "run `npm install` in {} (it installs the pinned @bytecodealliance/componentize-js \
             {COMPONENTIZE_JS}; Node.js 20 or later)",
            project.dir.display()
        )
    })
}

/// Runs a componentize tool in the project directory. Its chatter goes where ours goes
/// (stderr): stdout is the command's answer. `install`: how to get the tool when it cannot
/// be started.
fn componentize(
    tool: &Path,
    args: &[&OsStr],
    project: &Project,
    install: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    let name = tool
        .file_name()
        .unwrap_or(tool.as_os_str())
        .to_string_lossy();
    let status = Command::new(tool)
        .args(args)
        .current_dir(&project.dir)
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("{name} is not installed: {}", install()))?;
    anyhow::ensure!(status.success(), "{name} failed (see above)");
    Ok(())
}
