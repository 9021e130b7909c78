//! The panel's entry page. The full web panel comes later; this page tells a person who just
//! opened a login link that it worked and where to go next.

use salvo::oapi::endpoint;
use salvo::prelude::*;

use crate::auth::policy::Access;
use crate::http::RouterAccess;

pub fn router() -> Router {
    Router::new().access(Access::Public).get(index)
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
