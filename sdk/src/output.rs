//! What a tool returns.

use serde::Serialize;

use crate::bindings::chatai::extension::types as wit;

/// An image part of a result (the API shows it base64-encoded with its MIME type).
///
/// ```
/// use chatai_sdk::{Image, Output};
///
/// let png = Image {
///     mime_type: "image/png".into(),
///     data: vec![0x89, b'P', b'N', b'G'],
/// };
/// let output = Output::text("a chart").and_image(png);
/// ```
#[derive(Debug, Clone)]
pub struct Image {
    /// E.g. `image/png`.
    pub mime_type: String,
    /// The image's bytes.
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Json(String),
    Image(Image),
}

/// A tool's result: text, JSON and image parts, and optional structured data. The API's
/// `result` is the text parts joined; `structured` is what a program (or an MCP client) reads.
///
/// ```
/// use chatai_sdk::Output;
///
/// let output = Output::text("3 words")
///     .and_text("(counted)")
///     .with_structured(&serde_json::json!({ "words": 3 }));
/// let plain: Output = "just text".into();
/// ```
#[derive(Debug, Clone, Default)]
pub struct Output {
    parts: Vec<Part>,
    structured: Option<String>,
}

impl Output {
    /// A text result.
    ///
    /// ```
    /// let output = chatai_sdk::Output::text(format!("{} + {} = {}", 1, 2, 3));
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Self::default().and_text(text)
    }

    /// A JSON result: a `json` part and the same value as `structured`.
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Forecast {
    ///     city: String,
    ///     celsius: f32,
    /// }
    ///
    /// let output = chatai_sdk::Output::json(&Forecast { city: "Oslo".into(), celsius: -3.5 });
    /// ```
    pub fn json<T: Serialize>(value: &T) -> Self {
        let json = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
        Self {
            parts: vec![Part::Json(json.clone())],
            structured: Some(json),
        }
    }

    /// Adds a text part.
    ///
    /// ```
    /// let output = chatai_sdk::Output::text("line one").and_text("line two");
    /// ```
    pub fn and_text(mut self, text: impl Into<String>) -> Self {
        self.parts.push(Part::Text(text.into()));
        self
    }

    /// Adds an image part.
    ///
    /// ```
    /// use chatai_sdk::{Image, Output};
    ///
    /// let svg = Image { mime_type: "image/svg+xml".into(), data: b"<svg/>".to_vec() };
    /// let output = Output::text("the logo").and_image(svg);
    /// ```
    pub fn and_image(mut self, image: Image) -> Self {
        self.parts.push(Part::Image(image));
        self
    }

    /// Sets the structured result (validated against nothing: describe it in the tool's
    /// description if a program should rely on it).
    ///
    /// ```
    /// let output = chatai_sdk::Output::text("It is 21 °C in Oslo")
    ///     .with_structured(&serde_json::json!({ "city": "Oslo", "celsius": 21 }));
    /// ```
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
