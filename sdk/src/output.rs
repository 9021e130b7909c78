//! What a tool returns.

use serde::Serialize;

use crate::bindings::chatai::extension::types as wit;

/// An image part of a result.
#[derive(Debug, Clone)]
pub struct Image {
    pub mime_type: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Json(String),
    Image(Image),
}

/// A tool's result: text, JSON and image parts, and optional structured data.
#[derive(Debug, Clone, Default)]
pub struct Output {
    parts: Vec<Part>,
    structured: Option<String>,
}

impl Output {
    /// A text result.
    pub fn text(text: impl Into<String>) -> Self {
        Self::default().and_text(text)
    }

    /// A JSON result: a `json` part and the same value as `structured`.
    pub fn json<T: Serialize>(value: &T) -> Self {
        let json = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
        Self {
            parts: vec![Part::Json(json.clone())],
            structured: Some(json),
        }
    }

    /// Adds a text part.
    pub fn and_text(mut self, text: impl Into<String>) -> Self {
        self.parts.push(Part::Text(text.into()));
        self
    }

    /// Adds an image part.
    pub fn and_image(mut self, image: Image) -> Self {
        self.parts.push(Part::Image(image));
        self
    }

    /// Sets the structured result.
    pub fn with_structured<T: Serialize>(mut self, value: &T) -> Self {
        self.structured = serde_json::to_string(value).ok();
        self
    }
}

impl From<String> for Output {
    fn from(text: String) -> Self {
        Output::text(text)
    }
}

impl From<&str> for Output {
    fn from(text: &str) -> Self {
        Output::text(text)
    }
}

pub(crate) fn into_wit(output: Output) -> wit::CallResult {
    wit::CallResult {
        content: output
            .parts
            .into_iter()
            .map(|part| match part {
                Part::Text(text) => wit::Content::Text(text),
                Part::Json(json) => wit::Content::Json(json),
                Part::Image(image) => wit::Content::Image(wit::Image {
                    mime_type: image.mime_type,
                    data: image.data,
                }),
            })
            .collect(),
        structured: output.structured,
    }
}
