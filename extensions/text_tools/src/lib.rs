//! `text_tools`: several text tools in one component: statistics, case, base64, hashes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chatai_sdk::schemars::{self, JsonSchema};
use chatai_sdk::{Context, Output, Tool, ToolError, export_tools};
use serde::Deserialize;
use sha2::Digest;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextArgs {
    /// The text to work on.
    text: String,
}

/// Counts characters, words and lines.
pub struct TextStats;

impl Tool for TextStats {
    const NAME: &'static str = "text_stats";
    const DESCRIPTION: &'static str = "Counts the characters, words, lines and bytes of a text.";
    const CATEGORY: Option<&'static str> = Some("text");
    type Args = TextArgs;

    fn call(args: TextArgs, _ctx: &Context) -> Result<Output, ToolError> {
        let text = &args.text;
        let stats = serde_json::json!({
            "characters": text.chars().count(),
            "words": text.split_whitespace().count(),
            "lines": if text.is_empty() { 0 } else { text.lines().count() },
            "bytes": text.len(),
        });
        Ok(Output::json(&stats))
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Case {
    Upper,
    Lower,
    Title,
    Snake,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseArgs {
    text: String,
    /// The case to convert to.
    case: Case,
}

/// Changes the case of a text.
pub struct TextCase;

impl Tool for TextCase {
    const NAME: &'static str = "text_case";
    const DESCRIPTION: &'static str = "Converts a text to upper, lower, title or snake case.";
    const CATEGORY: Option<&'static str> = Some("text");
    type Args = CaseArgs;

    fn call(args: CaseArgs, _ctx: &Context) -> Result<Output, ToolError> {
        let text = args.text;
        let converted = match args.case {
            Case::Upper => text.to_uppercase(),
            Case::Lower => text.to_lowercase(),
            Case::Title => text
                .split(' ')
                .map(|word| {
                    let mut chars = word.chars();
                    match chars.next() {
                        Some(first) => first
                            .to_uppercase()
                            .chain(chars.flat_map(char::to_lowercase))
                            .collect(),
                        None => String::new(),
                    }
                })
                .collect::<Vec<String>>()
                .join(" "),
            Case::Snake => text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join("_"),
        };
        Ok(Output::text(converted))
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Encode,
    Decode,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Base64Args {
    text: String,
    direction: Direction,
}

/// Base64 encoding and decoding.
pub struct Base64;

impl Tool for Base64 {
    const NAME: &'static str = "base64";
    const DESCRIPTION: &'static str = "Encodes a text to base64 or decodes base64 to text.";
    const CATEGORY: Option<&'static str> = Some("text");
    type Args = Base64Args;

    fn call(args: Base64Args, _ctx: &Context) -> Result<Output, ToolError> {
        match args.direction {
            Direction::Encode => Ok(Output::text(STANDARD.encode(args.text.as_bytes()))),
            Direction::Decode => {
                let bytes = STANDARD
                    .decode(args.text.trim())
                    .map_err(|err| ToolError::InvalidArgs(format!("not base64: {err}")))?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    ToolError::InvalidArgs("decoded bytes are not UTF-8 text".into())
                })?;
                Ok(Output::text(text))
            }
        }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Md5,
    Sha256,
    Sha512,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HashArgs {
    text: String,
    algorithm: Algorithm,
}

/// Hex digest of a text.
pub struct Hash;

impl Tool for Hash {
    const NAME: &'static str = "hash";
    const DESCRIPTION: &'static str = "Hex digest (md5, sha256 or sha512) of a text's UTF-8 bytes.";
    const CATEGORY: Option<&'static str> = Some("text");
    type Args = HashArgs;

    fn call(args: HashArgs, _ctx: &Context) -> Result<Output, ToolError> {
        let bytes = args.text.as_bytes();
        let digest = match args.algorithm {
            Algorithm::Md5 => hex::encode(md5::Md5::digest(bytes)),
            Algorithm::Sha256 => hex::encode(sha2::Sha256::digest(bytes)),
            Algorithm::Sha512 => hex::encode(sha2::Sha512::digest(bytes)),
        };
        Ok(Output::text(digest))
    }
}

export_tools!(TextStats, TextCase, Base64, Hash);
