//! The SDK documents every public item with an example (`cargo doc -p chatai-sdk`), and the
//! examples are doc tests (run natively by `cargo test`, and for wasm32-wasip2 by `.ci/run`).
//! This reads `sdk/src/` and names each public item whose doc comment has no code block.

use std::path::Path;

/// Items declared in one file without an example, and how many items were looked at.
fn items_without_examples(file: &str, text: &str) -> (Vec<String>, usize) {
    const ITEMS: [&str; 8] = [
        "pub fn ",
        "pub struct ",
        "pub enum ",
        "pub trait ",
        "pub const ",
        "pub mod ",
        "macro_rules! ",
        "pub use chatai_sdk_macros",
    ];
    let lines: Vec<&str> = text.lines().collect();
    let mut missing = Vec::new();
    let mut checked = 0;
    // Inside a `#[doc(hidden)]` module: the closing line that ends it.
    let mut hidden_until: Option<String> = None;
    for (index, line) in lines.iter().enumerate() {
        if let Some(end) = &hidden_until {
            if line == end {
                hidden_until = None;
            }
            continue;
        }
        let item = line.trim_start();
        if !ITEMS.iter().any(|start| item.starts_with(start)) {
            continue;
        }
        let above: Vec<&str> = lines[..index]
            .iter()
            .rev()
            .map(|l| l.trim_start())
            .take_while(|l| l.starts_with("///") || l.starts_with("#["))
            .collect();
        if above.iter().any(|l| l.starts_with("#[doc(hidden)]")) {
            if item.ends_with('{') {
                let indent = line.len() - item.len();
                hidden_until = Some(format!("{}}}", " ".repeat(indent)));
            }
            continue;
        }
        checked += 1;
        let has_example = if item.starts_with("pub mod ") && item.ends_with(';') {
            // A module in its own file: its `//!` comment.
            let name = item["pub mod ".len()..].trim_end_matches(';');
            let module =
                std::fs::read_to_string(sdk_src().join(format!("{name}.rs"))).expect("module file");
            module
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .any(|l| l.contains("```"))
        } else {
            above.iter().any(|l| l.contains("```"))
        };
        if !has_example {
            missing.push(format!("{file}:{}: {item}", index + 1));
        }
    }
    (missing, checked)
}

fn sdk_src() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/src")
}

#[test]
fn every_public_item_of_the_sdk_has_an_example() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(sdk_src()).expect("sdk/src") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let (file_missing, file_checked) = items_without_examples(name, &text);
        missing.extend(file_missing);
        checked += file_checked;
        if name == "lib.rs" {
            assert!(
                text.lines()
                    .take_while(|l| l.starts_with("//!") || l.is_empty())
                    .any(|l| l.contains("```")),
                "the crate's own documentation has no example"
            );
        }
    }
    assert!(
        checked >= 30,
        "only {checked} items found: is the scan still right?"
    );
    assert!(
        missing.is_empty(),
        "public items without an example:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_scan_notices_an_item_without_an_example() {
    let text = "/// Documented, no example.\npub fn bare() {}\n\n/// With one.\n///\n/// ```\n/// bare();\n/// ```\npub fn shown() {}\n\n#[doc(hidden)]\npub mod glue {\n    pub fn inner() {}\n}\n";
    let (missing, checked) = items_without_examples("x.rs", text);
    assert_eq!(checked, 2);
    assert_eq!(missing, vec!["x.rs:2: pub fn bare() {}".to_owned()]);
}
