//! Access declared on routes, decided on the route that matched.
//!
//! A router subtree declares its rule with [`RouterAccess::access`] (a hoop); a deeper
//! declaration overrides a shallower one. [`seal`] then wraps every route's goal in a guard
//! that admits the request under the rule the matched chain declared, or refuses it when the
//! chain declared none: a route nobody thought about is closed, not open. Nothing here looks
//! at the request path.

use std::any::TypeId;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use salvo::prelude::*;
use salvo::{Handler, async_trait};

use super::gate;
use crate::auth::policy::RouteRule;

/// Declares who may call the routes of a router.
pub trait RouterAccess {
    fn access(self, rule: impl Into<RouteRule>) -> Router;
}

impl RouterAccess for Router {
    fn access(self, rule: impl Into<RouteRule>) -> Router {
        self.hoop(Declared(rule.into()))
    }
}

/// The declaration hoop: records its rule for the guard (deeper hoops run later and win).
struct Declared(RouteRule);

#[async_trait]
impl Handler for Declared {
    async fn handle(
        &self,
        _req: &mut Request,
        depot: &mut Depot,
        _res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        depot.insert_typed(self.0);
    }
}

/// Runs in place of a route's goal: admission first, the goal only if admitted.
struct Guarded {
    goal: Arc<dyn Handler>,
}

#[async_trait]
impl Handler for Guarded {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        let rule = depot.get_typed::<RouteRule>().ok().copied();
        if gate::admit(req, depot, res, rule).await {
            self.goal.handle(req, depot, res, ctrl).await;
        } else {
            ctrl.skip_rest();
        }
    }
}

/// One served route and what it declared.
#[derive(Debug, Clone)]
pub struct RouteEntry {
    /// `GET`, `POST` …; `None`: any method.
    pub method: Option<String>,
    /// The pattern, e.g. `/api/tools/{name}/execute`.
    pub path: String,
    /// `None`: nothing declared, so every request is refused.
    pub rule: Option<RouteRule>,
}

/// Wraps every goal in the guard; returns the routes with their rules (for tests, docs and a
/// start-up warning about undeclared routes).
pub fn seal(router: &mut Router) -> Vec<RouteEntry> {
    let mut table = Vec::new();
    walk(router, &mut Vec::new(), None, None, &mut table);
    table
}

fn walk(
    router: &mut Router,
    path: &mut Vec<String>,
    method: Option<String>,
    inherited: Option<RouteRule>,
    table: &mut Vec<RouteEntry>,
) {
    let depth = path.len();
    let mut method = method;
    for filter in router.filters() {
        let text = format!("{filter:?}");
        if let Some(part) = text.strip_prefix("path:") {
            path.extend(part.split('/').filter(|p| !p.is_empty()).map(str::to_owned));
        } else if let Some(m) = text.strip_prefix("method:") {
            method = Some(m.to_owned());
        }
    }
    let rule = router
        .hoops()
        .iter()
        .filter_map(|hoop| declared_rule(hoop.as_ref()))
        .next_back()
        .or(inherited);
    if let Some(goal) = router.goal.take() {
        if goal.type_id() == TypeId::of::<Guarded>() {
            router.goal = Some(goal);
        } else {
            router.goal = Some(Arc::new(Guarded { goal }));
            table.push(RouteEntry {
                method: method.clone(),
                path: format!("/{}", path.join("/")),
                rule,
            });
        }
    }
    for child in router.routers_mut() {
        walk(child, path, method.clone(), rule, table);
    }
    path.truncate(depth);
}

/// The rule a [`Declared`] hoop records, read by running it once on a scratch depot (its
/// handler never waits); `None` for any other hoop.
fn declared_rule(hoop: &dyn Handler) -> Option<RouteRule> {
    if hoop.type_id() != TypeId::of::<Declared>() {
        return None;
    }
    let mut req = Request::new();
    let mut depot = Depot::new();
    let mut res = Response::new();
    let mut ctrl = FlowCtrl::new(Vec::new());
    let mut run = hoop.handle(&mut req, &mut depot, &mut res, &mut ctrl);
    match run.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(()) => {}
        Poll::Pending => return None,
    }
    drop(run);
    depot.get_typed::<RouteRule>().ok().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::policy::Access;

    #[handler]
    async fn ok(res: &mut Response) {
        res.render("ok");
    }

    #[test]
    fn deeper_declarations_win_and_undeclared_routes_are_listed() {
        let mut router = Router::new()
            .push(
                Router::with_path("a")
                    .access(Access::ADMIN)
                    .get(ok)
                    .push(Router::with_path("open").access(Access::Public).get(ok)),
            )
            .push(Router::with_path("b").post(ok));
        let table = seal(&mut router);
        let find = |path: &str| table.iter().find(|e| e.path == path).map(|e| e.rule);
        assert_eq!(find("/a"), Some(Some(RouteRule::new(Access::ADMIN))));
        assert_eq!(find("/a/open"), Some(Some(RouteRule::new(Access::Public))));
        assert_eq!(find("/b"), Some(None));
        assert!(
            table
                .iter()
                .any(|e| e.path == "/b" && e.method.as_deref() == Some("POST"))
        );
        // Sealing twice wraps nothing twice.
        assert!(seal(&mut router).is_empty());
    }
}
