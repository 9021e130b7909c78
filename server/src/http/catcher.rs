//! Turns every error salvo produces on its own (no route, wrong method, body limits, parse
//! failures, caught panics) into the JSON envelope.

use salvo::http::ResBody;
use salvo::prelude::*;

use super::RequestId;
use super::error::from_status;

#[handler]
pub async fn envelope_catcher(depot: &mut Depot, res: &mut Response, ctrl: &mut FlowCtrl) {
    let status = res.status_code.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (brief, detail) = match res.take_body() {
        ResBody::Error(err) => (err.brief, err.detail),
        _ => (String::new(), None),
    };
    let request_id = depot.get_typed::<RequestId>().ok().map(|id| id.0.clone());
    from_status(status, &brief, detail.as_deref()).render(request_id.as_deref(), res);
    ctrl.skip_rest();
}
