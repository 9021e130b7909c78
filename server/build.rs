//! Builds the builtin tools and skills in `../extensions` for `wasm32-wasip2` and embeds them.

use std::path::PathBuf;

const BUILTINS: &[&str] = &[
    "get_current_time",
    "calculator",
    "text_tools",
    "random",
    "unit_convert",
    "web_fetch",
    "summarize_page",
    "step_by_step",
];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let wasm_dir =
        chatai_wasm_build::build_components(&manifest_dir.join("../extensions"), "wasm-extensions");
    let mut generated = String::from(
        "/// The builtin components: `(crate name, component bytes)`.\npub const BUILTINS: &[(&str, &[u8])] = &[\n",
    );
    for name in BUILTINS {
        let wasm = wasm_dir.join(format!("{name}.wasm"));
        assert!(wasm.exists(), "{} was not built", wasm.display());
        generated.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            wasm.display().to_string()
        ));
    }
    generated.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out_dir.join("builtins.rs"), generated).expect("write builtins.rs");
}
