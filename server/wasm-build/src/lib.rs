//! Used by the build scripts of `chatai-server` (builtin tools) and `chatai-tests` (fixtures):
//! builds a separate Cargo workspace of components for `wasm32-wasip2`.
//!
//! The nested cargo gets its own target dir (`<target>/<name>`), so it never waits on the
//! outer build's lock, and it does not inherit the outer build's wrappers or flags (clippy's
//! driver, host `RUSTFLAGS`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `workspace` (a directory with a `Cargo.toml`) in release mode for `wasm32-wasip2`
/// and returns the directory holding the `.wasm` files. Call from a build script only.
///
/// # Panics
/// When cargo cannot run or the build fails; the message says how to add the target.
#[allow(clippy::print_stdout)] // Cargo reads build-script directives from stdout.
pub fn build_components(workspace: &Path, name: &str) -> PathBuf {
    println!("cargo:rerun-if-changed={}", workspace.display());
    // Every component here is built against the SDK and the WIT contract. The root is found
    // from the calling package (`server/` or `tests/`, one level down) at run time: this
    // crate's own `CARGO_MANIFEST_DIR` is fixed when it is compiled, and cargo shares its
    // compiled code between checkouts that use one target dir (a CI clone and the working
    // copy), so it could name another checkout's SDK.
    let caller = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = caller.join("..");
    for shared in ["sdk/src", "sdk/Cargo.toml", "sdk/macros", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(shared).display());
    }
    let out_dir =
        PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR is set for build scripts"));
    // OUT_DIR = <target>/<profile>/build/<pkg>/out
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .map(|target| target.join(name))
        .unwrap_or_else(|| out_dir.join(name));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(var);
    }
    let status = command
        .status()
        .unwrap_or_else(|err| panic!("running cargo for {}: {err}", workspace.display()));
    assert!(
        status.success(),
        "building {} for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)",
        workspace.display()
    );
    target_dir.join("wasm32-wasip2/release")
}
