//! Builds the builtin tools in `../extensions` for `wasm32-wasip2` and embeds them.
//!
//! The nested cargo gets its own target dir (`<target>/wasm-extensions`), so it never waits on
//! the outer build's lock and survives `cargo clean -p chatai-server`.

use std::path::{Path, PathBuf};
use std::process::Command;

const BUILTINS: &[&str] = &[
    "get_current_time",
    "calculator",
    "text_tools",
    "random",
    "unit_convert",
];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let extensions = manifest_dir.join("../extensions");
    for watched in ["../extensions", "../sdk/src", "../sdk/Cargo.toml", "../wit"] {
        println!("cargo:rerun-if-changed={watched}");
    }
    let target_dir = wasm_target_dir(&out_dir);
    build_extensions(&extensions, &target_dir);

    let mut generated = String::from(
        "/// The builtin components: `(crate name, component bytes)`.\npub const BUILTINS: &[(&str, &[u8])] = &[\n",
    );
    for name in BUILTINS {
        let wasm = target_dir.join(format!("wasm32-wasip2/release/{name}.wasm"));
        assert!(wasm.exists(), "{} was not built", wasm.display());
        generated.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            wasm.display().to_string()
        ));
    }
    generated.push_str("];\n");
    std::fs::write(out_dir.join("builtins.rs"), generated).expect("write builtins.rs");
}

/// `<target>/wasm-extensions`, from `OUT_DIR` = `<target>/<profile>/build/<pkg>/out`.
fn wasm_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .nth(4)
        .map(|target| target.join("wasm-extensions"))
        .unwrap_or_else(|| out_dir.join("wasm-extensions"))
}

fn build_extensions(extensions: &Path, target_dir: &Path) {
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
        .arg(extensions.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    // The outer build's settings are not the wasm build's (clippy's wrapper, host rustflags).
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
        .expect("running cargo for the builtin extensions");
    assert!(
        status.success(),
        "building the builtin extensions failed (is the target installed? `rustup target add wasm32-wasip2`)"
    );
}
