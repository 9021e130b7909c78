//! Request id, a tracing span per request, and request metrics.

use std::time::Instant;

use salvo::http::header::HeaderValue;
use salvo::prelude::*;
use tracing::Instrument;

use super::RequestId;

const REQUEST_ID: &str = "x-request-id";

/// Assigns the request id (a caller's `X-Request-Id` is kept when it is short and printable),
/// echoes it on the response, and records route, status and latency.
#[handler]
pub async fn observe_request(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    crate::footprint::note_request();
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    depot.insert_typed(RequestId(id.clone()));
    let started = Instant::now();
    let method = method_label(req.method());
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    ctrl.call_next(req, depot, res)
        .instrument(span.clone())
        .await;

    let status = res.status_code.unwrap_or(StatusCode::OK).as_u16();
    let matched = req.matched_path();
    let route = if matched.is_empty() {
        "unmatched".to_owned()
    } else {
        format!("/{matched}")
    };
    let elapsed = started.elapsed();
    metrics::counter!("chatai_http_requests_total", "method" => method, "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("chatai_http_request_duration_seconds", "method" => method, "route" => route.clone()).record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(%route, status, latency_us = elapsed.as_micros() as u64, "request");
    });
}

/// The method as a metric label: the standard ones by name, anything invented as `other`, so
/// a client cannot create series at will. (Routes are labelled by their pattern, `unmatched`
/// when none matched, never by the raw path.)
fn method_label(method: &salvo::http::Method) -> &'static str {
    use salvo::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}
