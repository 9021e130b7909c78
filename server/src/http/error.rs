//! The error envelope at the HTTP edge: every failure becomes a status, a code and
//! `{"success": false, "error", "code", "details"?}`. Which failure gets which status and code
//! is decided in one place, `api/error.rs`.

use salvo::http::StatusCode;
use salvo::http::header::{HeaderValue, RETRY_AFTER};
use salvo::oapi::{self, Components, EndpointOutRegister, Operation, ToSchema};
use salvo::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::RequestId;

/// Declares [`ErrorCode`] from one list: its variants, [`ErrorCode::ALL`] and the strings.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Every error code the API returns: the `code` of the error envelope, and the
        /// `ErrorCode` schema of the OpenAPI document (generated from [`ErrorCode::ALL`]).
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $name,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => stringify!($name),)*
                }
            }
        }
    };
}

error_codes! {
    VALIDATION_ERROR,
    AUTH_REQUIRED,
    TOKEN_EXPIRED,
    INVALID_TOKEN,
    FORBIDDEN,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    CONFLICT,
    CONFIG_PINNED,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    RATE_LIMITED,
    INTERNAL_ERROR,
    SERVICE_UNAVAILABLE,
    /// 503: the database did not answer within `database.timeout_ms` or cannot be reached;
    /// nothing was half-written. Retry later (`GET /api/system/health` says when it is back).
    DATABASE_UNAVAILABLE,
    INVALID_ARGUMENTS,
    TOOL_NOT_FOUND,
    TOOL_DISABLED,
    TOOL_DANGEROUS,
    TOOL_ERROR,
    TOOL_TRAPPED,
    TOOL_TIMEOUT,
    TOOL_BUSY,
    TOOL_RESULT_TOO_LARGE,
    TOOL_INVALID_OUTPUT,
    /// 503: the tool's provider (an MCP server, …) is not connected now.
    TOOL_UNAVAILABLE,
    INVALID_COMPONENT,
    /// 421: the `Host` is not one of this server's names (DNS-rebinding defence).
    HOST_NOT_ALLOWED,
    /// 502: the upstream LLM failed (details: each attempt's channel, status and message).
    API_ERROR,
    /// 503: no channel can take the request now.
    CHANNEL_UNAVAILABLE,
    /// 502: an MCP server refused or failed a request (reading a resource, …).
    MCP_SERVER_ERROR,
    /// 422: a skill passed one of its caps (tool calls, LLM calls, tokens, nesting depth) and
    /// was stopped (details: `limit`).
    SKILL_LIMIT_EXCEEDED,
    /// 403: the user is on the group's blacklist, or not on its whitelist.
    USER_BLOCKED,
    /// 429: a daily usage limit of the group or of the member is reached (details:
    /// `limitMessage`, `limit`).
    USAGE_LIMIT_EXCEEDED,
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The codes by name, as constants (`code::NOT_FOUND`).
pub mod code {
    pub use super::ErrorCode::*;
}

/// The failure envelope: `{"success": false, "error", "code", "details"?}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// A human-readable message.
    pub error: String,
    /// A stable SCREAMING_SNAKE_CASE code.
    pub code: String,
    /// More about the failure (which field, which schema rule…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// An API failure. Small (the rarely used parts are boxed) so `Result`s stay cheap.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    extra: Option<Box<Extra>>,
}

#[derive(Debug, Default)]
struct Extra {
    details: Option<Value>,
    retry_after: Option<u64>,
    /// What went wrong inside, for the log only: never sent to the client.
    cause: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }

    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code::VALIDATION_ERROR, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code::NOT_FOUND, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code::FORBIDDEN, message)
    }

    /// A server fault: the cause is logged, the client sees a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL_ERROR,
            "internal server error",
        );
        err.extra().cause = Some(cause.to_string());
        err
    }

    /// The details sent with it, if any.
    pub fn details(&self) -> Option<&Value> {
        self.extra.as_ref().and_then(|extra| extra.details.as_ref())
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.extra().details = Some(details);
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.extra().retry_after = Some(seconds);
        self
    }

    /// Writes the envelope.
    pub fn render(self, request_id: Option<&str>, res: &mut Response) {
        let extra = self.extra.map(|extra| *extra).unwrap_or_default();
        if self.status.is_server_error() {
            let cause = extra.cause.as_deref().unwrap_or(&self.message);
            let request_id = request_id.unwrap_or("-");
            if self.code == code::INTERNAL_ERROR {
                tracing::error!(request_id, code = self.code.as_str(), %cause, "request failed");
            } else {
                // Upstream and tool failures: the server itself is fine.
                tracing::warn!(request_id, code = self.code.as_str(), %cause, "request failed");
            }
        }
        res.status_code(self.status);
        if let Some(seconds) = extra.retry_after {
            res.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        res.render(Json(ErrorBody {
            success: false,
            error: self.message,
            code: self.code.as_str().to_owned(),
            details: extra.details,
        }));
    }
}

#[async_trait]
impl Writer for ApiError {
    async fn write(self, _req: &mut Request, depot: &mut Depot, res: &mut Response) {
        let request_id = depot.get_typed::<RequestId>().ok().map(|id| id.0.clone());
        self.render(request_id.as_deref(), res);
    }
}

impl EndpointOutRegister for ApiError {
    fn register(components: &mut Components, operation: &mut Operation) {
        let schema = ErrorBody::to_schema(components);
        for (status, text) in [
            ("400", "Invalid request (VALIDATION_ERROR)"),
            (
                "401",
                "Not authenticated (AUTH_REQUIRED, TOKEN_EXPIRED, INVALID_TOKEN)",
            ),
            ("403", "Not allowed (FORBIDDEN)"),
            ("429", "Too many requests (RATE_LIMITED)"),
            ("500", "Server fault (INTERNAL_ERROR)"),
        ] {
            operation.responses.insert(
                status,
                oapi::Response::new(text)
                    .add_content("application/json", oapi::Content::new(schema.clone())),
            );
        }
    }
}

/// Maps salvo's own errors (unmatched route, body parse failures, panics, limits) to the envelope.
pub fn from_status(status: StatusCode, brief: &str, detail: Option<&str>) -> ApiError {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (code::NOT_FOUND, "no such route".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (
            code::METHOD_NOT_ALLOWED,
            "method not allowed on this route".to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            (code::PAYLOAD_TOO_LARGE, "request body too large".to_owned())
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            code::UNSUPPORTED_MEDIA_TYPE,
            "unsupported content type".to_owned(),
        ),
        StatusCode::TOO_MANY_REQUESTS => (code::RATE_LIMITED, "too many requests".to_owned()),
        StatusCode::UNAUTHORIZED => (code::AUTH_REQUIRED, "authentication required".to_owned()),
        StatusCode::FORBIDDEN => (code::FORBIDDEN, "forbidden".to_owned()),
        StatusCode::SERVICE_UNAVAILABLE => {
            (code::SERVICE_UNAVAILABLE, "service unavailable".to_owned())
        }
        s if s.is_client_error() => {
            let message = match detail {
                Some(detail) if !detail.is_empty() => format!("{brief}: {detail}"),
                _ => brief.to_owned(),
            };
            (code::VALIDATION_ERROR, message)
        }
        _ => (code::INTERNAL_ERROR, "internal server error".to_owned()),
    };
    if status.is_server_error() {
        let mut err = ApiError::internal(format!("{brief} {}", detail.unwrap_or("")));
        err.status = status;
        err.code = code;
        err.message = message;
        err
    } else {
        ApiError::new(status, code, message)
    }
}
