//! `/mcp` (not under `/api`): the MCP streamable-HTTP endpoint, for API keys of scope
//! `tools:call` and the admin. The guard admits the request on this route's rule before
//! anything of MCP runs; the endpoint then serves it as that caller.

use salvo::oapi::endpoint;
use salvo::prelude::*;

use super::AppDepot;
use super::error::ApiError;
use crate::auth::policy::Access;
use crate::http::{DepotExt, RouterAccess};
use crate::mcp::endpoint::McpCaller;

pub fn router() -> Router {
    Router::with_path("mcp")
        .access(Access::TOOLS_CALL)
        .get(mcp_stream)
        .post(mcp_message)
        .delete(mcp_end_session)
}

/// MCP: a JSON-RPC message
///
/// MCP streamable HTTP (revisions 2026-07-28, stateless, and 2025-11-25, 2025-06-18 with
/// sessions): `initialize`, `server/discover`, `tools/list`, `tools/call`, … Every enabled tool
/// is offered (MCP-imported ones unless `mcp.reexport` is off); a tool's failure is a result
/// with `isError`, a protocol error a JSON-RPC error. Needs an API key of scope `tools:call`.
#[endpoint(tags("mcp"), responses((status_code = 200, description = "application/json or text/event-stream", body = String)))]
async fn mcp_message(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    serve(req, depot, res, ctrl).await;
}

/// MCP: the session's event stream
///
/// Server-to-client messages of a session (e.g. `notifications/tools/list_changed`).
#[endpoint(tags("mcp"), responses((status_code = 200, description = "text/event-stream", content_type = "text/event-stream", body = String)))]
async fn mcp_stream(req: &mut Request, depot: &mut Depot, res: &mut Response, ctrl: &mut FlowCtrl) {
    serve(req, depot, res, ctrl).await;
}

/// MCP: end a session
#[endpoint(tags("mcp"), responses((status_code = 200, description = "the session ended", body = String)))]
async fn mcp_end_session(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    serve(req, depot, res, ctrl).await;
}

/// Hands the request to the MCP endpoint as the admitted caller.
async fn serve(req: &mut Request, depot: &mut Depot, res: &mut Response, ctrl: &mut FlowCtrl) {
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
