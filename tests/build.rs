//! Builds the fixture components in `fixtures/` for `wasm32-wasip2`; tests find them under
//! `env!("CHATAI_FIXTURES")`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    for watched in ["fixtures", "../sdk/src", "../sdk/Cargo.toml", "../wit"] {
        println!("cargo:rerun-if-changed={watched}");
    }
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .map(|target| target.join("wasm-fixtures"))
        .unwrap_or_else(|| out_dir.join("wasm-fixtures"));
    build(&manifest_dir.join("fixtures"), &target_dir);
    println!(
        "cargo:rustc-env=CHATAI_FIXTURES={}",
        target_dir.join("wasm32-wasip2/release").display()
    );
}

fn build(workspace: &Path, target_dir: &Path) {
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
        .arg(target_dir);
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
        .expect("running cargo for the test fixtures");
    assert!(
        status.success(),
        "building the test fixtures failed (is the target installed? `rustup target add wasm32-wasip2`)"
    );
}
