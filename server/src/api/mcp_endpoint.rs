//! `/mcp` (not under `/api`): the MCP streamable-HTTP endpoint, for API keys of scope
//! `tools:call` and the admin. The guard admits the request on this route's rule before
//! anything of MCP runs; the endpoint then serves it as that caller.

use salvo::prelude::*;
use salvo::{Handler, async_trait};

use super::AppDepot;
use super::error::ApiError;
use crate::auth::policy::Access;
use crate::http::{DepotExt, RouterAccess};
use crate::mcp::endpoint::McpCaller;

pub fn router() -> Router {
    Router::with_path("mcp")
        .access(Access::TOOLS_CALL)
        .get(Endpoint)
        .post(Endpoint)
        .delete(Endpoint)
}

/// Hands the request to the MCP endpoint as the admitted caller.
struct Endpoint;

#[async_trait]
impl Handler for Endpoint {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        let Some(principal) = depot.principal() else {
            // The guard admits no anonymous caller here; refuse rather than trust.
            ApiError::from(crate::auth::AuthError::Required).render(None, res);
            return;
        };
        let caller = McpCaller {
            id: principal.id.clone(),
            admin: principal.is_admin(),
        };
        let endpoint = depot.app().mcp_endpoint.clone();
        endpoint.serve(caller, req, depot, res, ctrl).await;
    }
}
