//! How a request to an upstream failed, classified for failover and channel health.

use std::time::Duration;

/// One failed attempt. Messages never carry the API key (requests are built with it in a
/// header, and upstream bodies are cut to [`MESSAGE_LIMIT`] characters).
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot connect: {0}")]
    Connect(String),
    /// No answer (or no next chunk) within the channel's time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("upstream answered {status}: {message}")]
    Status {
        status: u16,
        message: String,
        /// From a `Retry-After` header.
        retry_after: Option<Duration>,
    },
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// The stream ended (or broke) before the upstream said it was done.
    #[error("the stream ended early: {0}")]
    Cut(String),
}

/// Upstream error bodies are cut to this many characters in messages.
pub const MESSAGE_LIMIT: usize = 300;

impl UpstreamError {
    /// The HTTP status the upstream answered, if it answered one.
    pub fn status(&self) -> Option<u16> {
        match self {
            UpstreamError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// 401/403: the key is refused; no point retrying it until someone changes it.
    pub fn key_refused(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            UpstreamError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A 4xx other than 401/403/408/429 says the request itself is wrong (a bad model name, a
    /// context too long): another channel may take it, but this one is not unhealthy.
    pub fn blames_request(&self) -> bool {
        matches!(self.status(), Some(status) if (400..500).contains(&status)
            && !matches!(status, 401 | 403 | 408 | 429))
    }

    /// Builds a `Status` error from an upstream's error answer, taking the message out of the
    /// usual JSON error shapes (`{error: {message}}`, `{error: "…"}`, `{message}`).
    pub fn from_answer(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let message = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|json| {
                let error = json.get("error").unwrap_or(&json);
                error
                    .get("message")
                    .and_then(|m| m.as_str())
                    .or_else(|| error.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
        UpstreamError::Status {
            status,
            message: cut(message.trim()),
            retry_after,
        }
    }
}

/// At most [`MESSAGE_LIMIT`] characters.
pub fn cut(text: &str) -> String {
    match text.char_indices().nth(MESSAGE_LIMIT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// `Retry-After` in seconds or as an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(wait.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_come_out_of_the_usual_shapes_and_are_cut() {
        let openai = UpstreamError::from_answer(
            429,
            br#"{"error":{"message":"slow down","type":"rate_limit"}}"#,
            Some(Duration::from_secs(2)),
        );
        assert_eq!(openai.to_string(), "upstream answered 429: slow down");
        assert_eq!(openai.retry_after(), Some(Duration::from_secs(2)));
        let plain = UpstreamError::from_answer(500, "x".repeat(1000).as_bytes(), None);
        assert!(plain.to_string().chars().count() < MESSAGE_LIMIT + 40);
        assert!(UpstreamError::from_answer(401, b"{}", None).key_refused());
        assert!(UpstreamError::from_answer(400, b"{}", None).blames_request());
        assert!(!UpstreamError::from_answer(429, b"{}", None).blames_request());
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
