//! Who is calling, and what they may do.

use serde::{Deserialize, Serialize};

/// An API-key permission. The admin holds every scope.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, salvo::oapi::ToSchema,
)]
pub enum Scope {
    /// Every `GET` under `/api` except credential listings.
    #[serde(rename = "read")]
    Read,
    /// `/api/chat…`.
    #[serde(rename = "chat")]
    Chat,
    /// Calling tools and skills: `POST /api/tools/call`, `/api/tools/:name/execute`,
    /// `/api/skills/:name/run`, `/mcp`.
    #[serde(rename = "tools:call")]
    ToolsCall,
    /// Everything.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Chat, Scope::ToolsCall, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Chat => "chat",
            Scope::ToolsCall => "tools:call",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == value)
    }
}

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A panel session (JWT), from the `Authorization` header, the cookie or `?token=`.
    Session {
        jti: String,
        exp: i64,
        via_cookie: bool,
    },
    /// An API key.
    ApiKey { id: String },
}

/// The authenticated caller of a request, put in the depot by the auth hoop.
#[derive(Debug, Clone)]
pub struct Principal {
    /// `admin` for panel sessions, `key:<id>` for API keys.
    pub id: String,
    pub username: String,
    pub scopes: Vec<Scope>,
    pub credential: Credential,
    /// Overrides `rate_limit.per_minute` for this principal.
    pub rate_limit_per_minute: Option<u32>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.is_admin() || self.scopes.contains(&scope)
    }

    /// The key the rate limiter counts under.
    pub fn rate_key(&self) -> String {
        match &self.credential {
            Credential::Session { jti, .. } => format!("session:{jti}"),
            Credential::ApiKey { id } => format!("key:{id}"),
        }
    }
}
