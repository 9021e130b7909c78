//! Which failure of which capability becomes which status and code: the one place.

use salvo::http::StatusCode;
use serde_json::json;

pub use crate::http::error::{ApiError, ErrorBody, ErrorCode, code, from_status};

use crate::auth::AuthError;
use crate::config::ConfigUpdateError;
use crate::extensions::LoadError;
use crate::extensions::custom::CustomError;
use crate::store::StoreError;
use crate::tools::{ExecError, ToolError};

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
            AuthError::Store(err) => err.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            tracing::warn!(error = %err, "database unavailable");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code::DATABASE_UNAVAILABLE,
                "the database is unavailable; retry later",
            );
        }
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
            ConfigUpdateError::Store(err) => err.into(),
        }
    }
}

impl From<CustomError> for ApiError {
    fn from(err: CustomError) -> Self {
        let message = err.to_string();
        let invalid = |reason: &str| {
            ApiError::new(StatusCode::BAD_REQUEST, code::INVALID_COMPONENT, &message)
                .with_details(json!({ "reason": reason }))
        };
        match err {
            CustomError::TooLarge { limit, .. } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::PAYLOAD_TOO_LARGE,
                message,
            )
            .with_details(json!({ "limitBytes": limit })),
            CustomError::Manifest(_) => invalid("invalid_manifest"),
            CustomError::Name(_) => invalid("invalid_name"),
            CustomError::Load(load) => invalid(match load {
                LoadError::NotAComponent(_) => "not_a_component",
                LoadError::Unlinkable(_) => "unsatisfied_import",
                LoadError::WrongWorld(_) => "wrong_world",
                LoadError::ListTools(_) => "list_tools_failed",
                LoadError::InvalidSpec(_) => "invalid_tool_spec",
                LoadError::CompileTimeout(_) => "compile_timeout",
            }),
            CustomError::ToolNameTaken { tool, owner } => {
                ApiError::new(StatusCode::CONFLICT, code::CONFLICT, message)
                    .with_details(json!({ "tool": tool, "owner": owner }))
            }
            CustomError::NotFound(_) => ApiError::not_found(message),
            CustomError::Grants(_) | CustomError::ConfigKey(_) => ApiError::validation(message),
            CustomError::Store(err) => err.into(),
            CustomError::Registry(cause) => ApiError::internal(cause),
        }
    }
}

impl From<ExecError> for ApiError {
    fn from(err: ExecError) -> Self {
        let code = exec_code(&err);
        let message = err.to_string();
        match err {
            ExecError::NotFound(name) => Self::new(
                StatusCode::NOT_FOUND,
                code,
                format!("no tool named `{name}`"),
            ),
            ExecError::Disabled(_) | ExecError::Dangerous(_) | ExecError::AdminOnly(_) => {
                Self::new(StatusCode::FORBIDDEN, code, message)
            }
            ExecError::ArgsNotObject => Self::new(StatusCode::BAD_REQUEST, code, message),
            ExecError::InvalidArguments { errors, .. } => {
                Self::new(StatusCode::BAD_REQUEST, code, message)
                    .with_details(json!({ "errors": errors }))
            }
            ExecError::Tool(tool) => match tool {
                ToolError::InvalidArgs(m) => Self::new(StatusCode::BAD_REQUEST, code, m),
                ToolError::Failed(m) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, m),
                ToolError::Timeout(_) => Self::new(StatusCode::GATEWAY_TIMEOUT, code, message),
                ToolError::Trapped { reason, .. } => Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
                    format!("the tool crashed: {reason}"),
                )
                .with_details(json!({ "reason": reason })),
                ToolError::ResultTooLarge { .. } | ToolError::InvalidOutput(_) => {
                    Self::new(StatusCode::BAD_GATEWAY, code, message)
                }
                ToolError::Busy(_) => {
                    Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message).with_retry_after(1)
                }
                ToolError::Unavailable(_) => {
                    Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message).with_retry_after(1)
                }
                ToolError::LimitExceeded { limit, .. } => {
                    Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
                        .with_details(json!({ "limit": limit }))
                }
            },
        }
    }
}

/// The code of a failed tool call (also its log record's prefix and its metrics `outcome`).
pub fn exec_code(err: &ExecError) -> ErrorCode {
    match err {
        ExecError::NotFound(_) => code::TOOL_NOT_FOUND,
        ExecError::Disabled(_) => code::TOOL_DISABLED,
        ExecError::Dangerous(_) => code::TOOL_DANGEROUS,
        ExecError::AdminOnly(_) => code::FORBIDDEN,
        ExecError::ArgsNotObject | ExecError::InvalidArguments { .. } => code::INVALID_ARGUMENTS,
        ExecError::Tool(tool) => match tool {
            ToolError::InvalidArgs(_) => code::INVALID_ARGUMENTS,
            ToolError::Failed(_) => code::TOOL_ERROR,
            ToolError::Timeout(_) => code::TOOL_TIMEOUT,
            ToolError::Trapped { .. } => code::TOOL_TRAPPED,
            ToolError::ResultTooLarge { .. } => code::TOOL_RESULT_TOO_LARGE,
            ToolError::InvalidOutput(_) => code::TOOL_INVALID_OUTPUT,
            ToolError::Busy(_) => code::TOOL_BUSY,
            ToolError::Unavailable(_) => code::TOOL_UNAVAILABLE,
            ToolError::LimitExceeded { .. } => code::SKILL_LIMIT_EXCEEDED,
        },
    }
}

/// [`exec_code`] as the executor takes it.
pub fn exec_error_code(err: &ExecError) -> &'static str {
    exec_code(err).as_str()
}

impl From<crate::chat::ChatError> for ApiError {
    fn from(err: crate::chat::ChatError) -> Self {
        use crate::channels::NoChannel;
        use crate::chat::ChatError;
        let message = err.to_string();
        match err {
            ChatError::Invalid(_) => Self::validation(message),
            ChatError::UnknownPreset(_) => Self::not_found(message),
            ChatError::NoChannel(reason) => {
                let retry = match &reason {
                    NoChannel::AllCoolingDown { retry_in_ms, .. } => {
                        retry_in_ms.div_ceil(1000).max(1)
                    }
                    _ => 0,
                };
                let err = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code::CHANNEL_UNAVAILABLE,
                    message,
                );
                if retry > 0 {
                    err.with_retry_after(retry)
                } else {
                    err
                }
            }
            ChatError::AllFailed(attempts) => {
                let last = attempts.last();
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    code::API_ERROR,
                    format!(
                        "every channel failed ({} attempts); last: {}",
                        attempts.len(),
                        last.map_or("", |a| a.message.as_str())
                    ),
                )
                .with_details(json!({
                    "status": last.and_then(|a| a.status),
                    "message": last.map(|a| a.message.clone()),
                    "attempts": attempts,
                }))
            }
            ChatError::AfterContent(upstream) => {
                Self::new(StatusCode::BAD_GATEWAY, code::API_ERROR, message).with_details(
                    json!({ "status": upstream.status(), "message": upstream.to_string() }),
                )
            }
            ChatError::TurnTimeout(_) => {
                Self::new(StatusCode::GATEWAY_TIMEOUT, code::API_ERROR, message)
            }
            ChatError::Blocked(_) => Self::new(StatusCode::FORBIDDEN, code::USER_BLOCKED, message),
            ChatError::UsageLimit { limit, .. } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                code::USAGE_LIMIT_EXCEEDED,
                &message,
            )
            .with_details(json!({ "limitMessage": message, "limit": limit })),
            ChatError::Store(err) => err.into(),
        }
    }
}
