//! The web panel: a single-page app in `server/panel/` (plain ES modules and CSS, vendored
//! libraries under `vendor/`), embedded in the binary at build time. It talks only to the
//! public REST API, like any other client.
//!
//! - `GET /` and `GET /login` answer `index.html` (never cached); the app reads the path and
//!   shows the panel or the "this link did not work" page.
//! - `GET /assets/{version}/…` answers the files, where `version` is a digest of every file:
//!   a new build gets new URLs, so the files are cached for a year as immutable. A request for
//!   another version (a page open across an upgrade) gets today's file, not cached.

use std::sync::OnceLock;

use rust_embed::RustEmbed;
use salvo::http::header::{self, HeaderValue};
use salvo::oapi::endpoint;
use salvo::oapi::extract::PathParam;
use salvo::prelude::*;
use sha2::{Digest, Sha256};

use crate::auth::policy::{Access, RateClass, RouteRule};
use crate::http::RouterAccess;

#[derive(RustEmbed)]
#[folder = "panel/"]
struct Files;

/// What the browser may load: our own origin only, no inline scripts, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'";

pub fn router() -> Router {
    Router::new().access(Access::Public).get(index).push(
        // Static and immutable: a page load fetches a dozen of them, so they do not count
        // against the per-IP limit (the page itself does).
        Router::with_path("assets/{version}/{**path}")
            .access(RouteRule::new(Access::Public).rate(RateClass::Exempt))
            .get(asset),
    )
}

/// `/login`: where a refused login link lands (`?error=invalid_token`); the app explains.
pub fn login_router() -> Router {
    Router::with_path("login")
        .access(Access::Public)
        .get(login_page)
}

/// The digest of every embedded file (path and content), 12 hex digits.
fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut names: Vec<_> = Files::iter().collect();
        names.sort();
        let mut digest = Sha256::new();
        for name in names {
            if let Some(file) = Files::get(&name) {
                digest.update(name.as_bytes());
                digest.update(file.metadata.sha256_hash());
            }
        }
        hex::encode(&digest.finalize()[..6])
    })
}

/// `index.html` with its asset base filled in.
fn index_html() -> &'static str {
    static HTML: OnceLock<String> = OnceLock::new();
    HTML.get_or_init(|| {
        let base = format!("/assets/{}", version());
        Files::get("index.html")
            .map(|file| String::from_utf8_lossy(&file.data).replace("{{ASSETS}}", &base))
            .unwrap_or_else(|| "<!doctype html><title>ChatAI Edge</title><p>The panel is missing from this build.</p>".into())
    })
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt" | "md" | "tsv") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn page(res: &mut Response) {
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res.render(Text::Html(index_html()));
}

/// The panel
///
/// The single-page app (HTML); its scripts and styles are under `/assets/{version}/`.
#[endpoint(tags("panel"), responses((status_code = 200, description = "The panel page (HTML)", body = String, content_type = "text/html")))]
async fn index(res: &mut Response) {
    page(res);
}

/// Login page
///
/// Where `/login/token` sends a browser whose link was refused (`?error=invalid_token`): the
/// panel says why and how to get a new link.
#[endpoint(tags("panel"), responses((status_code = 200, description = "The page (HTML)", body = String, content_type = "text/html")))]
async fn login_page(res: &mut Response) {
    page(res);
}

/// A panel file
///
/// Scripts, styles and images of the panel. Immutable under the current version.
#[endpoint(tags("panel"), responses((status_code = 200, description = "The file"), (status_code = 404, description = "No such file")))]
async fn asset(version: PathParam<String>, req: &mut Request, res: &mut Response) {
    // The rest of the path (`{**path}`): salvo-oapi cannot describe a wildcard parameter.
    let path = req.param::<String>("path").unwrap_or_default();
    let current = version.into_inner() == self::version();
    let Some(file) = Files::get(&path).filter(|_| path != "index.html") else {
        res.status_code(StatusCode::NOT_FOUND);
        res.render(Text::Plain("no such file"));
        return;
    };
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if current {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res.write_body(file.data.into_owned()).ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_panel_file_has_a_known_type_and_the_index_points_at_the_versioned_assets() {
        for name in Files::iter() {
            assert_ne!(
                content_type(&name),
                "application/octet-stream",
                "{name} would be served without a type"
            );
        }
        let html = index_html();
        assert!(
            html.contains(&format!("/assets/{}/app.js", version())),
            "{html}"
        );
        assert!(!html.contains("{{ASSETS}}"));
    }
}
