//! Builds the fixture components in `fixtures/` for `wasm32-wasip2`; tests find them under
//! `env!("CHATAI_FIXTURES")`.

use std::path::PathBuf;

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let wasm_dir =
        chatai_wasm_build::build_components(&manifest_dir.join("fixtures"), "wasm-fixtures");
    println!("cargo:rustc-env=CHATAI_FIXTURES={}", wasm_dir.display());
}
