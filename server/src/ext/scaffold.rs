//! `chatai ext new`: a working project from the templates in `templates/` (rendered with
//! minijinja), the WIT contract for Python and JavaScript, and an `extension.toml` requesting
//! exactly what was asked.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::Lang;
use super::toolchain::{COMPONENTIZE_JS, COMPONENTIZE_PY, HTTP_WORLD, TOOL_WORLD};

/// What `chatai ext new` was asked for.
pub struct Request {
    pub name: String,
    pub lang: Lang,
    pub kv: bool,
    pub http: Option<String>,
    pub sdk: Option<PathBuf>,
}

/// The contract, written into Python and JavaScript projects (their toolchains bind it).
const WIT: &str = include_str!("../../../wit/v0.1.0/extension.wit");

const MANIFEST: &str = include_str!("templates/manifest.toml");
const RUST_CARGO: &str = include_str!("templates/rust/Cargo.toml");
const RUST_LIB: &str = include_str!("templates/rust/lib.rs");
const PYTHON_APP: &str = include_str!("templates/python/app.py");
const JS_APP: &str = include_str!("templates/js/app.js");
const JS_PACKAGE: &str = include_str!("templates/js/package.json");
/// A Python project with `--http`: its own world (the tool world plus
/// `wasi:http/outgoing-handler`) and the WASI packages it needs (see `templates/python/wasi/`).
const PYTHON_HTTP_WORLD: &str = include_str!("templates/python/world.wit");
const WASI: [(&str, &str); 7] = [
    ("cli.wit", include_str!("templates/python/wasi/cli.wit")),
    (
        "clocks.wit",
        include_str!("templates/python/wasi/clocks.wit"),
    ),
    (
        "filesystem.wit",
        include_str!("templates/python/wasi/filesystem.wit"),
    ),
    ("http.wit", include_str!("templates/python/wasi/http.wit")),
    ("io.wit", include_str!("templates/python/wasi/io.wit")),
    (
        "random.wit",
        include_str!("templates/python/wasi/random.wit"),
    ),
    (
        "sockets.wit",
        include_str!("templates/python/wasi/sockets.wit"),
    ),
];

/// Writes the project into `./<name>` (which must not exist yet) and says what to do next.
#[allow(clippy::print_stdout)]
pub fn new_project(request: &Request) -> anyhow::Result<()> {
    crate::manifest::valid_name(&request.name).map_err(anyhow::Error::msg)?;
    if let Some(origin) = &request.http {
        crate::manifest::valid_origin(origin).map_err(anyhow::Error::msg)?;
    }
    let dir = PathBuf::from(&request.name);
    if dir.exists() {
        anyhow::bail!("{} already exists", dir.display());
    }
    let files = files(request)?;
    for (path, text) in &files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if request.lang == Lang::Python {
        python_bindings(&dir);
    }
    let tool = tool_name(&request.name);
    let grant = if request.kv || request.http.is_some() {
        " --grant"
    } else {
        ""
    };
    println!("created {} ({:?}):", dir.display(), request.lang);
    for (path, _) in &files {
        println!("  {}", path.display());
    }
    println!();
    println!("next:");
    println!("  cd {}", dir.display());
    if request.lang == Lang::Js {
        println!("  npm install                 # the pinned componentize-js");
    }
    println!("  chatai ext build");
    println!("  chatai ext test {tool} '{{\"name\": \"Ada\"}}'");
    println!("  CHATAI_API_KEY=cak_… chatai ext deploy{grant}");
    Ok(())
}

/// `demo` → `demo_tool` (tool names allow no `-`).
pub fn tool_name(extension: &str) -> String {
    format!("{}_tool", extension.replace('-', "_"))
}

/// The project's files, relative to its directory.
fn files(request: &Request) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let snake = request.name.replace('-', "_");
    let context = minijinja::context! {
        name => request.name,
        tool => tool_name(&request.name),
        fetch_tool => format!("{snake}_fetch"),
        kv => request.kv,
        http => request.http,
        description => format!("{} (made with chatai ext new)", request.name),
        sdk => sdk_dependency(request.sdk.as_deref())?,
        componentize_py => COMPONENTIZE_PY,
        world => if request.http.is_some() { HTTP_WORLD } else { TOOL_WORLD },
        componentize_js => COMPONENTIZE_JS,
    };
    let render = |template: &str| -> anyhow::Result<String> {
        let env = minijinja::Environment::new();
        env.render_str(template, &context)
            .context("rendering a template")
    };
    let mut files = vec![(PathBuf::from("extension.toml"), render(MANIFEST)?)];
    let (ignore, specific): (&str, Vec<(&str, &str)>) = match request.lang {
        Lang::Rust => (
            "/target\n/Cargo.lock\n",
            vec![("Cargo.toml", RUST_CARGO), ("src/lib.rs", RUST_LIB)],
        ),
        // The bindings componentize-py generates for the editor are not sources.
        Lang::Python => (
            "/target\n/wit_world\n/componentize_py_*\n/poll_loop.py\n__pycache__/\n",
            vec![("app.py", PYTHON_APP)],
        ),
        Lang::Js => (
            "/target\n/node_modules\n",
            vec![("app.js", JS_APP), ("package.json", JS_PACKAGE)],
        ),
    };
    for (path, template) in specific {
        files.push((PathBuf::from(path), render(template)?));
    }
    match request.lang {
        Lang::Rust => {}
        Lang::Python if request.http.is_some() => {
            files.push((PathBuf::from("wit/world.wit"), PYTHON_HTTP_WORLD.to_owned()));
            files.push((PathBuf::from("wit/deps/extension.wit"), WIT.to_owned()));
            for (name, text) in WASI {
                files.push((Path::new("wit/deps").join(name), text.to_owned()));
            }
        }
        // JavaScript's `fetch` needs no WIT of ours: componentize-js adds wasi:http itself.
        Lang::Python | Lang::Js => {
            files.push((PathBuf::from("wit/extension.wit"), WIT.to_owned()));
        }
    }
    files.push((PathBuf::from(".gitignore"), ignore.to_owned()));
    Ok(files)
}

/// The `chatai-sdk` line of a Rust project: a path to the SDK checkout given, else to the one
/// this binary was built from, else the crates.io version.
fn sdk_dependency(given: Option<&Path>) -> anyhow::Result<String> {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
    let dir = match given {
        Some(dir) => Some(dir.to_owned()),
        None => built_from.exists().then_some(built_from),
    };
    Ok(match dir {
        Some(dir) => {
            let dir = std::fs::canonicalize(&dir)
                .with_context(|| format!("the SDK directory {}", dir.display()))?;
            anyhow::ensure!(
                dir.join("Cargo.toml").exists(),
                "{} is not the chatai-sdk crate (no Cargo.toml)",
                dir.display()
            );
            let path = dir.display().to_string().replace('\\', "/");
            format!("chatai-sdk = {{ path = \"{path}\" }}")
        }
        None => format!(
            "chatai-sdk = \"{}\"  # or {{ path = \"…/chatai-edge/sdk\" }}",
            env!("CARGO_PKG_VERSION")
        ),
    })
}

/// Generates `wit_world/` for the editor when componentize-py is at hand (the build makes its
/// own bindings, so a missing tool only costs completion).
#[allow(clippy::print_stdout)]
fn python_bindings(dir: &Path) {
    let tool = super::toolchain::componentize_py();
    let generated = std::process::Command::new(&tool)
        .args([
            "-d",
            "wit",
            "-w",
            &super::toolchain::python_world(dir),
            "bindings",
            ".",
        ])
        .current_dir(dir)
        .output();
    match generated {
        Ok(out) if out.status.success() => {}
        _ => println!(
            "(bindings for your editor not generated: componentize-py {COMPONENTIZE_PY} is \
             not installed; `pip install componentize-py=={COMPONENTIZE_PY}`)"
        ),
    }
}
