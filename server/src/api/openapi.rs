//! The OpenAPI 3.1 document (generated from the handlers) and the docs page.

use salvo::oapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme};
use salvo::oapi::swagger_ui::SwaggerUi;
use salvo::oapi::{BasicType, Object, OpenApi, SecurityRequirement, SecurityScheme, endpoint};
use salvo::prelude::*;

use super::AppDepot;
use super::error::ErrorCode;
use crate::auth::policy::{Access, RouteRule};
use crate::http::RouterAccess;

pub fn router() -> Router {
    Router::new()
        .push(
            Router::with_path("openapi.json")
                .access(Access::Public)
                .get(openapi_json),
        )
        .push(
            SwaggerUi::new("/api/openapi.json")
                .into_router("docs")
                .access(RouteRule::new(Access::Public).directory()),
        )
}

/// The OpenAPI document of every route in `router`.
pub fn document(router: &Router) -> serde_json::Value {
    let mut doc = OpenApi::new("ChatAI Edge API", env!("CARGO_PKG_VERSION"))
        .add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer).bearer_format("JWT")),
        )
        .add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("auth_token"))),
        )
        .add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        )
        .security([
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("cookie", Vec::<String>::new()),
            SecurityRequirement::new("apiKey", Vec::<String>::new()),
        ])
        .merge_router(router);
    doc.components.schemas.insert(
        "ErrorCode",
        Object::with_type(BasicType::String)
            .description("Every value of the `code` field of an error envelope.")
            .enum_values(ErrorCode::ALL.iter().map(|c| c.as_str())),
    );
    serde_json::to_value(&doc).unwrap_or_default()
}

/// This document
///
/// Served as is (not in the envelope), so that OpenAPI tools read it directly.
#[endpoint(tags("system"), responses((status_code = 200, description = "The OpenAPI 3.1 document", body = serde_json::Value)))]
async fn openapi_json(depot: &mut Depot, res: &mut Response) {
    match depot.app().openapi.get() {
        Some(doc) => res.render(Json(doc)),
        None => res.render(StatusError::service_unavailable()),
    }
}
