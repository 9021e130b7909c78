//! The panel's entry page. The full web panel comes later; this page tells a person who just
//! opened a login link that it worked and where to go next.

use salvo::oapi::endpoint;
use salvo::prelude::*;

use crate::auth::policy::Access;
use crate::http::RouterAccess;

pub fn router() -> Router {
    Router::new().access(Access::Public).get(index)
}

/// `/login`: where a refused login link lands.
pub fn login_router() -> Router {
    Router::with_path("login")
        .access(Access::Public)
        .get(login_page)
}

const LOGIN: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ChatAI Edge: login</title></head>
<body>
<h1>ChatAI Edge</h1>
<p>This login link is invalid, expired or already used. Login links work once and for a few
minutes.</p>
<p>Get a new one on the server: <code>chatai login-link</code> (or the link printed at start).</p>
</body></html>"#;

/// Login page
///
/// Where `/login/token` sends a browser whose link was refused (`?error=invalid_token`): it says
/// why and how to get a new link.
#[endpoint(tags("panel"), responses((status_code = 200, description = "The page (HTML)", body = String, content_type = "text/html")))]
async fn login_page(res: &mut Response) {
    res.render(Text::Html(LOGIN));
}

const INDEX: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ChatAI Edge</title></head>
<body>
<h1>ChatAI Edge</h1>
<p id="state">Checking your session…</p>
<p>API reference: <a href="/api/docs">/api/docs</a></p>
<script>
fetch('/api/auth/verify', {credentials: 'same-origin'})
  .then(r => r.json())
  .then(b => { document.getElementById('state').textContent =
    b.success ? 'Logged in as ' + b.data.username + '.' : 'Not logged in: open a login link.'; });
</script>
</body></html>"#;

/// The panel's entry page
#[endpoint(tags("panel"), responses((status_code = 200, description = "The panel page (HTML)", body = String, content_type = "text/html")))]
async fn index(res: &mut Response) {
    res.render(Text::Html(INDEX));
}
