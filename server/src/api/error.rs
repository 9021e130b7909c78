//! The one error type at the HTTP edge: every failure becomes a status, a code and the envelope.

use salvo::http::StatusCode;
use salvo::http::header::{HeaderValue, RETRY_AFTER};
use salvo::oapi::{self, Components, EndpointOutRegister, Operation, ToSchema};
use salvo::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::auth::AuthError;
use crate::config::ConfigUpdateError;
use crate::http::RequestId;
use crate::store::StoreError;

/// Every error code the API returns (listed in the OpenAPI document as `ErrorCode`).
pub mod code {
    pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";
    pub const AUTH_REQUIRED: &str = "AUTH_REQUIRED";
    pub const TOKEN_EXPIRED: &str = "TOKEN_EXPIRED";
    pub const INVALID_TOKEN: &str = "INVALID_TOKEN";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    pub const CONFLICT: &str = "CONFLICT";
    pub const CONFIG_PINNED: &str = "CONFIG_PINNED";
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    pub const INVALID_ARGUMENTS: &str = "INVALID_ARGUMENTS";
    pub const TOOL_NOT_FOUND: &str = "TOOL_NOT_FOUND";
    pub const TOOL_DISABLED: &str = "TOOL_DISABLED";
    pub const TOOL_DANGEROUS: &str = "TOOL_DANGEROUS";
    pub const TOOL_ERROR: &str = "TOOL_ERROR";
    pub const TOOL_TRAPPED: &str = "TOOL_TRAPPED";
    pub const TOOL_TIMEOUT: &str = "TOOL_TIMEOUT";
    pub const TOOL_BUSY: &str = "TOOL_BUSY";
    pub const TOOL_RESULT_TOO_LARGE: &str = "TOOL_RESULT_TOO_LARGE";
    pub const TOOL_INVALID_OUTPUT: &str = "TOOL_INVALID_OUTPUT";
    pub const INVALID_COMPONENT: &str = "INVALID_COMPONENT";
    /// 421: the `Host` is not one of this server's names (DNS-rebinding defence).
    pub const HOST_NOT_ALLOWED: &str = "HOST_NOT_ALLOWED";

    /// All of the above, for the OpenAPI document.
    pub const ALL: &[&str] = &[
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
        INVALID_COMPONENT,
        HOST_NOT_ALLOWED,
    ];
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
    pub code: &'static str,
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
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
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
                tracing::error!(request_id, code = self.code, %cause, "request failed");
            } else {
                // Upstream and tool failures: the server itself is fine.
                tracing::warn!(request_id, code = self.code, %cause, "request failed");
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
            code: self.code.to_owned(),
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

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Required => Self::new(
                StatusCode::UNAUTHORIZED,
                code::AUTH_REQUIRED,
                "authentication required",
            ),
            AuthError::Expired => Self::new(
                StatusCode::UNAUTHORIZED,
                code::TOKEN_EXPIRED,
                "session token expired",
            ),
            AuthError::Invalid(message) => {
                Self::new(StatusCode::UNAUTHORIZED, code::INVALID_TOKEN, message)
            }
            AuthError::Forbidden(message) => Self::forbidden(message),
            AuthError::Internal(cause) => Self::internal(cause),
            AuthError::Store(err) => Self::internal(err),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self::internal(err)
    }
}

impl From<ConfigUpdateError> for ApiError {
    fn from(err: ConfigUpdateError) -> Self {
        let message = err.to_string();
        match err {
            ConfigUpdateError::UnknownKey(_)
            | ConfigUpdateError::Secret(_)
            | ConfigUpdateError::Bootstrap(_)
            | ConfigUpdateError::Invalid { .. } => Self::validation(message),
            ConfigUpdateError::Pinned(_) => {
                Self::new(StatusCode::CONFLICT, code::CONFIG_PINNED, message)
            }
            ConfigUpdateError::Store(err) => Self::internal(err),
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
