//! Outgoing HTTP over `wasi:http/outgoing-handler` (needs the `http` grant for the origin).
//!
//! The host checks every request, redirects included: the origin must be granted, and names
//! that resolve to loopback, private, link-local or metadata addresses are refused. The
//! response body and the number of requests per call are capped by the host.
//!
//! ```no_run
//! let page = chatai_sdk::http::get("https://api.example.com/v1/status")?;
//! assert_eq!(page.status, 200);
//! let text = page.text();
//! # Ok::<(), String>(())
//! ```

use wasip2::http::outgoing_handler;
use wasip2::http::types::{ErrorCode, Fields, Method, OutgoingRequest, Scheme};
use wasip2::io::streams::StreamError;

/// Redirects [`get`] follows before giving up.
///
/// ```
/// assert_eq!(chatai_sdk::http::MAX_REDIRECTS, 5);
/// ```
pub const MAX_REDIRECTS: usize = 5;

/// A response, body read in full.
///
/// ```
/// use chatai_sdk::http::Response;
///
/// let response = Response {
///     status: 200,
///     headers: vec![("content-type".into(), "text/plain".into())],
///     body: b"sunny".to_vec(),
///     url: "https://api.example.com/weather".into(),
/// };
/// assert_eq!(response.header("Content-Type"), Some("text/plain"));
/// assert_eq!(response.text(), "sunny");
/// ```
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body (capped by the host's `extensions.http.max_response_bytes`).
    pub body: Vec<u8>,
    /// The URL that answered (after redirects).
    pub url: String,
}

impl Response {
    /// The body as text (invalid UTF-8 replaced).
    ///
    /// ```no_run
    /// let page = chatai_sdk::http::get("https://api.example.com/motd")?;
    /// let motd = page.text();
    /// # Ok::<(), String>(())
    /// ```
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first header of that name (case-insensitive).
    ///
    /// ```no_run
    /// let page = chatai_sdk::http::get("https://api.example.com/data")?;
    /// let is_json = page.header("Content-Type").is_some_and(|t| t.starts_with("application/json"));
    /// # Ok::<(), String>(())
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `GET url`, following up to [`MAX_REDIRECTS`] redirects (each one checked by the host like
/// the first request). Errors are the host's refusal or a transport failure, as text.
///
/// ```no_run
/// use chatai_sdk::{Output, ToolError};
///
/// fn status_of(url: &str) -> Result<Output, ToolError> {
///     let page = chatai_sdk::http::get(url).map_err(ToolError::Failed)?;
///     Ok(Output::text(format!("{} answered {}", page.url, page.status)))
/// }
/// ```
pub fn get(url: &str) -> Result<Response, String> {
    let mut url = url.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        let response = get_once(&url)?;
        let redirect = matches!(response.status, 301 | 302 | 303 | 307 | 308);
        match response.header("location") {
            Some(location) if redirect => url = resolve(&url, location)?,
            _ => return Ok(response),
        }
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// One `GET`, redirects not followed (a 3xx comes back as it is).
///
/// ```no_run
/// let first = chatai_sdk::http::get_once("https://example.com/old-page")?;
/// let moved_to = first.header("location");
/// # Ok::<(), String>(())
/// ```
pub fn get_once(url: &str) -> Result<Response, String> {
    let parts = Url::parse(url)?;
    let request = OutgoingRequest::new(Fields::new());
    request
        .set_method(&Method::Get)
        .map_err(|()| "invalid method".to_owned())?;
    request
        .set_scheme(Some(&parts.scheme))
        .map_err(|()| format!("invalid scheme in {url}"))?;
    request
        .set_authority(Some(&parts.authority))
        .map_err(|()| format!("invalid authority in {url}"))?;
    request
        .set_path_with_query(Some(&parts.path))
        .map_err(|()| format!("invalid path in {url}"))?;
    let pending = outgoing_handler::handle(request, None).map_err(|code| refused(url, &code))?;
    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(refused(url, &code)),
        Some(Err(())) | None => return Err("the response was already taken".into()),
    };
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| {
            (
                name.to_ascii_lowercase(),
                String::from_utf8_lossy(&value).into_owned(),
            )
        })
        .collect();
    let incoming = response
        .consume()
        .map_err(|()| "the body was already taken".to_owned())?;
    let stream = incoming
        .stream()
        .map_err(|()| "the body stream was already taken".to_owned())?;
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(err)) => return Err(err.to_debug_string()),
        }
    }
    drop(stream);
    Ok(Response {
        status,
        headers,
        body,
        url: url.to_owned(),
    })
}

/// Why the host refused or failed a request, with the way out when there is one.
fn refused(url: &str, code: &ErrorCode) -> String {
    let origin = Url::parse(url).map_or_else(
        |_| url.to_owned(),
        |parts| {
            let scheme = if matches!(parts.scheme, Scheme::Https) {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}", parts.authority)
        },
    );
    match code {
        ErrorCode::HttpRequestDenied => format!(
            "{url}: refused by the host (HttpRequestDenied): the origin must be requested in \
             extension.toml (`[capabilities] http = [\"{origin}\"]`) and granted by an admin \
             (PUT /api/tools/custom/<name> {{\"grants\": {{\"http\": [\"{origin}\"]}}}}), and a call \
             makes at most extensions.http.max_requests_per_call requests"
        ),
        ErrorCode::DestinationIpProhibited => format!(
            "{url}: refused by the host (DestinationIpProhibited): the name resolves to a \
             loopback, private or link-local address (allowed only with \
             extensions.http.allow_private)"
        ),
        other => format!("{url}: {other:?}"),
    }
}

struct Url {
    scheme: Scheme,
    authority: String,
    path: String,
}

impl Url {
    fn parse(url: &str) -> Result<Url, String> {
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else {
            return Err(format!("only http:// and https:// URLs: {url}"));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("invalid host in {url}"));
        }
        let mut path = rest[end..].split('#').next().unwrap_or("").to_owned();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        Ok(Url {
            scheme,
            authority: authority.to_owned(),
            path,
        })
    }
}

/// A `Location` relative to the URL that sent it.
fn resolve(base: &str, location: &str) -> Result<String, String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return Ok(location.to_owned());
    }
    let parts = Url::parse(base)?;
    let scheme = match parts.scheme {
        Scheme::Https => "https",
        _ => "http",
    };
    if let Some(path) = location.strip_prefix('/') {
        return Ok(format!("{scheme}://{}/{path}", parts.authority));
    }
    let dir = parts.path.rsplit_once('/').map_or("", |(dir, _)| dir);
    Ok(format!("{scheme}://{}{dir}/{location}", parts.authority))
}
