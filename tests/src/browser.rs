//! A real browser for the panel's tests: Debian's `chromium`, headless, driven over the DevTools
//! protocol (chromiumoxide). Every tab records what a user would call broken: JavaScript
//! exceptions, `console.error`, the browser's own error log (failed loads, CSP refusals) and
//! HTTP responses ≥ 400 or requests that failed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::dom::SetFileInputFilesParams;
use chromiumoxide::cdp::browser_protocol::emulation::{
    MediaFeature, SetDeviceMetricsOverrideParams,
};
use chromiumoxide::cdp::browser_protocol::log::{EventEntryAdded, LogEntryLevel};
use chromiumoxide::cdp::browser_protocol::network::{
    ClearBrowserCacheParams, EventLoadingFailed, EventRequestWillBeSent, EventResponseReceived,
};
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, SetBypassCspParams, Viewport,
};
use chromiumoxide::cdp::js_protocol::runtime::{
    ConsoleApiCalledType, EvaluateParams, EventConsoleApiCalled, EventExceptionThrown,
};
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser as Cdp, BrowserConfig, Page};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::task::JoinHandle;

/// The chromium binary: `CHROMIUM` or Debian's `/usr/bin/chromium` (installed by `.ci/run`).
fn chromium() -> PathBuf {
    let path =
        std::env::var_os("CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: install Debian's chromium (bash scripts/test-deps.sh does)",
        path.display()
    );
    path
}

/// axe-core's browser script, vendored in `tests/vendor/` (`AXE_CORE_JS` points elsewhere).
pub fn axe_source() -> String {
    let path = std::env::var_os("AXE_CORE_JS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("vendor/axe.min.js"),
        PathBuf::from,
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{}: {err} (axe-core is vendored there)", path.display()))
}

/// A headless chromium with its own empty profile.
pub struct Browser {
    cdp: Cdp,
    handler: JoinHandle<()>,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn launch() -> Self {
        let profile = tempfile::tempdir().expect("profile dir");
        // The flags keep chromium off the network it cannot reach here (updates, sync, …).
        let config = BrowserConfig::builder()
            .chrome_executable(chromium())
            .user_data_dir(profile.path())
            .no_sandbox()
            .new_headless_mode()
            .launch_timeout(Duration::from_secs(30))
            .request_timeout(Duration::from_secs(30))
            .args([
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--lang=en-US",
            ])
            .build()
            .expect("browser config");
        let (cdp, mut events) = Cdp::launch(config).await.expect("chromium starts");
        let handler = tokio::spawn(async move { while events.next().await.is_some() {} });
        Self {
            cdp,
            handler,
            _profile: profile,
        }
    }

    /// A new tab at `about:blank`, recording problems from now on.
    pub async fn tab(&self) -> Tab {
        let page = self.cdp.new_page("about:blank").await.expect("new tab");
        Tab::watch(page).await
    }

    pub async fn close(mut self) {
        self.cdp.close().await.ok();
        self.cdp.wait().await.ok();
        self.handler.abort();
    }
}

/// One tab and the problems it has seen.
pub struct Tab {
    pub page: Page,
    problems: Arc<Mutex<Vec<String>>>,
    watchers: Vec<JoinHandle<()>>,
}

/// Runs `f` over a JSON-encoded argument: `js!("(s) => …", arg)`.
fn call(function: &str, arg: &Value) -> String {
    format!("({function})({arg})")
}

impl Tab {
    async fn watch(page: Page) -> Self {
        let problems = Arc::new(Mutex::new(Vec::new()));
        let urls: Arc<Mutex<std::collections::HashMap<String, String>>> = Arc::default();
        let mut watchers = Vec::new();
        let push = |problems: &Arc<Mutex<Vec<String>>>, line: String| {
            problems.lock().expect("problems").push(line);
        };

        let mut exceptions = page
            .event_listener::<EventExceptionThrown>()
            .await
            .expect("listen");
        let sink = problems.clone();
        watchers.push(tokio::spawn(async move {
            while let Some(e) = exceptions.next().await {
                let details = &e.exception_details;
                let description = details
                    .exception
                    .as_ref()
                    .and_then(|x| x.description.clone())
                    .unwrap_or_default();
                push(&sink, format!("exception: {} {description}", details.text));
            }
        }));

        let mut console = page
            .event_listener::<EventConsoleApiCalled>()
            .await
            .expect("listen");
        let sink = problems.clone();
        watchers.push(tokio::spawn(async move {
            while let Some(e) = console.next().await {
                if matches!(
                    e.r#type,
                    ConsoleApiCalledType::Error | ConsoleApiCalledType::Assert
                ) {
                    let args: Vec<String> = e
                        .args
                        .iter()
                        .map(|a| {
                            a.value
                                .as_ref()
                                .map(|v| v.to_string())
                                .or_else(|| a.description.clone())
                                .unwrap_or_default()
                        })
                        .collect();
                    push(&sink, format!("console.error: {}", args.join(" ")));
                }
            }
        }));

        let mut log = page
            .event_listener::<EventEntryAdded>()
            .await
            .expect("listen");
        let sink = problems.clone();
        watchers.push(tokio::spawn(async move {
            while let Some(e) = log.next().await {
                if e.entry.level == LogEntryLevel::Error {
                    push(
                        &sink,
                        format!(
                            "browser log: {} {}",
                            e.entry.text,
                            e.entry.url.clone().unwrap_or_default()
                        ),
                    );
                }
            }
        }));

        let mut sent = page
            .event_listener::<EventRequestWillBeSent>()
            .await
            .expect("listen");
        let seen = urls.clone();
        watchers.push(tokio::spawn(async move {
            while let Some(e) = sent.next().await {
                seen.lock()
                    .expect("urls")
                    .insert(e.request_id.inner().clone(), e.request.url.clone());
            }
        }));

        let mut responses = page
            .event_listener::<EventResponseReceived>()
            .await
            .expect("listen");
        let sink = problems.clone();
        watchers.push(tokio::spawn(async move {
            while let Some(e) = responses.next().await {
                if e.response.status >= 400 {
                    push(
                        &sink,
                        format!("HTTP {} {}", e.response.status, e.response.url),
                    );
                }
            }
        }));

        let mut failed = page
            .event_listener::<EventLoadingFailed>()
            .await
            .expect("listen");
        let sink = problems.clone();
        let seen = urls;
        watchers.push(tokio::spawn(async move {
            while let Some(e) = failed.next().await {
                // A request the page itself gave up (a closed EventSource, an aborted fetch,
                // navigating away) is not a failure.
                if e.canceled == Some(true) {
                    continue;
                }
                let url = seen
                    .lock()
                    .expect("urls")
                    .get(e.request_id.inner())
                    .cloned()
                    .unwrap_or_default();
                push(
                    &sink,
                    format!(
                        "request failed: {} {url} {:?}",
                        e.error_text, e.blocked_reason
                    ),
                );
            }
        }));

        Self {
            page,
            problems,
            watchers,
        }
    }

    /// What went wrong so far (and forget it).
    pub fn take_problems(&self) -> Vec<String> {
        std::mem::take(&mut *self.problems.lock().expect("problems"))
    }

    pub async fn goto(&self, url: &str) {
        self.page
            .goto(url)
            .await
            .unwrap_or_else(|err| panic!("open {url}: {err}"));
    }

    /// Evaluates `expression` (awaiting a promise) and decodes its value.
    pub async fn eval<T: DeserializeOwned>(&self, expression: &str) -> T {
        let params = EvaluateParams::builder()
            .expression(expression)
            .await_promise(true)
            .return_by_value(true)
            .build()
            .expect("evaluate params");
        let result = self
            .page
            .evaluate_expression(params)
            .await
            .unwrap_or_else(|err| panic!("evaluate {expression}: {err}"));
        // `undefined` and `null` come back without a value.
        let value = result.value().cloned().unwrap_or(Value::Null);
        serde_json::from_value(value).unwrap_or_else(|err| panic!("value of {expression}: {err}"))
    }

    /// Polls `condition` (a JS expression) until it is truthy; panics with `what` and the
    /// page's main text after `within`.
    pub async fn wait(&self, condition: &str, what: &str, within: Duration) {
        let deadline = Instant::now() + within;
        let probe = format!(
            "!!(() => {{ try {{ return ({condition}); }} catch (e) {{ return false; }} }})()"
        );
        loop {
            if self.eval::<bool>(&probe).await {
                return;
            }
            if Instant::now() > deadline {
                let text: String = self
                    .eval("document.body ? document.body.innerText.slice(0, 3000) : ''")
                    .await;
                panic!(
                    "waited {within:?} for {what} ({condition}); the page shows:\n{text}\nproblems: {:?}",
                    self.take_problems()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until an element matching `selector` contains `text`.
    pub async fn wait_text(&self, selector: &str, text: &str, within: Duration) {
        let condition = call(
            "([s, t]) => [...document.querySelectorAll(s)].some((e) => e.textContent.includes(t))",
            &serde_json::json!([selector, text]),
        );
        self.wait(&condition, &format!("{selector} to show {text:?}"), within)
            .await;
    }

    /// The text of the first element matching `selector` (empty when none).
    pub async fn text(&self, selector: &str) -> String {
        self.eval(&call(
            "(s) => { const e = document.querySelector(s); return e ? e.textContent.trim() : ''; }",
            &Value::from(selector),
        ))
        .await
    }

    /// Clicks the first visible button or link whose text contains `label` (or whose
    /// accessible name, `aria-label`, equals it), inside `scope` (a selector).
    pub async fn click_in(&self, scope: &str, label: &str) {
        let found: bool = self
            .eval(&call(
                "([scope, label]) => {
                   const root = document.querySelector(scope) || document;
                   const all = [...root.querySelectorAll('button, a, [role=tab], summary')];
                   const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
                   const hit = all.find((e) => visible(e) && !e.disabled &&
                     (e.getAttribute('aria-label') === label || e.textContent.trim() === label))
                     || all.find((e) => visible(e) && !e.disabled && e.textContent.includes(label));
                   if (!hit) return false;
                   hit.click();
                   return true;
                 }",
                &serde_json::json!([scope, label]),
            ))
            .await;
        assert!(found, "no enabled button or link {label:?} in {scope}");
    }

    pub async fn click(&self, label: &str) {
        self.click_in("body", label).await;
    }

    /// Sets the value of the control labelled `label` (its `<label>` text) inside `scope`, as
    /// typing or choosing would: `input` and `change` events fire.
    pub async fn fill_in(&self, scope: &str, label: &str, value: &str) {
        let found: bool = self
            .eval(&call(
                "([scope, label, value]) => {
                   const root = document.querySelector(scope) || document;
                   const labels = [...root.querySelectorAll('label')];
                   const named = (l) => (l.querySelector('.label') || l).textContent.replace('*', '').trim();
                   const l = labels.find((l) => named(l) === label) || labels.find((l) => named(l).startsWith(label));
                   const el = l && (l.control || l.querySelector('input, select, textarea'));
                   if (!el) return false;
                   if (el.type === 'checkbox') {
                     if (el.checked !== (value === 'true')) el.click();
                     return true;
                   }
                   const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype
                     : el instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
                   Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, value);
                   el.dispatchEvent(new Event('input', { bubbles: true }));
                   el.dispatchEvent(new Event('change', { bubbles: true }));
                   return true;
                 }",
                &serde_json::json!([scope, label, value]),
            ))
            .await;
        assert!(found, "no control labelled {label:?} in {scope}");
    }

    pub async fn fill(&self, label: &str, value: &str) {
        self.fill_in("body", label, value).await;
    }

    /// Chooses `file` in the file input matching `selector`.
    pub async fn set_file(&self, selector: &str, file: &Path) {
        let element = self
            .page
            .find_element(selector)
            .await
            .unwrap_or_else(|err| panic!("{selector}: {err}"));
        let params = SetFileInputFilesParams::builder()
            .files(vec![file.display().to_string()])
            .backend_node_id(element.backend_node_id)
            .build()
            .expect("file params");
        self.page.execute(params).await.expect("set file");
    }

    /// The viewport: `(width, height)`; `mobile` also makes it a touch phone.
    pub async fn viewport(&self, width: i64, height: i64, mobile: bool) {
        self.page
            .execute(SetDeviceMetricsOverrideParams::new(
                width,
                height,
                if mobile { 2.0 } else { 1.0 },
                mobile,
            ))
            .await
            .expect("viewport");
    }

    /// Empties the browser's HTTP cache (a first visit).
    pub async fn clear_cache(&self) {
        self.page
            .execute(ClearBrowserCacheParams::default())
            .await
            .expect("clear cache");
    }

    /// `prefers-color-scheme`: dark or light.
    pub async fn color_scheme(&self, dark: bool) {
        let value = if dark { "dark" } else { "light" };
        self.page
            .emulate_media_features(vec![MediaFeature::new("prefers-color-scheme", value)])
            .await
            .expect("color scheme");
    }

    /// A full-page PNG at `path`, at the emulated viewport's width. (chromiumoxide's own
    /// `full_page` replaces the viewport with a desktop one, so the page is clipped here.)
    pub async fn screenshot(&self, path: &Path) {
        let (width, height): (f64, f64) = self
            .eval(
                "window.scrollTo(0, 0); new Promise((done) => requestAnimationFrame(() => \
                 done([document.documentElement.clientWidth, document.documentElement.scrollHeight])))",
            )
            .await;
        let clip = Viewport {
            x: 0.0,
            y: 0.0,
            width,
            height,
            scale: 1.0,
        };
        let params = ScreenshotParams::builder()
            .format(CaptureScreenshotFormat::Png)
            .clip(clip)
            .capture_beyond_viewport(true)
            .build();
        self.page
            .save_screenshot(params, path)
            .await
            .unwrap_or_else(|err| panic!("screenshot {}: {err}", path.display()));
    }

    /// axe-core's serious and critical violations on the current page, one line each.
    pub async fn accessibility_violations(&self, axe: &str) -> Vec<String> {
        // Our CSP allows only our own scripts: let the test inject axe for this check.
        self.page
            .execute(SetBypassCspParams::new(true))
            .await
            .expect("bypass CSP");
        let _: Value = self.eval(&format!("{axe};true")).await;
        let report: Value = self
            .eval(
                "axe.run(document).then((r) => ({ rules: r.passes.length + r.violations.length,
                   violations: r.violations
                     .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                     .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' — ' + n.failureSummary) })) }))",
            )
            .await;
        // axe really looked: dozens of rules apply to any page of ours.
        assert!(
            report["rules"].as_u64().unwrap_or(0) > 10,
            "axe did not run: {report}"
        );
        let violations = report["violations"].as_array().cloned().unwrap_or_default();
        self.page
            .execute(SetBypassCspParams::new(false))
            .await
            .expect("restore CSP");
        violations
            .into_iter()
            .map(|v| {
                format!(
                    "{} ({}): {} {}",
                    v["id"], v["impact"], v["help"], v["nodes"]
                )
            })
            .collect()
    }
}

impl Drop for Tab {
    fn drop(&mut self) {
        for watcher in &self.watchers {
            watcher.abort();
        }
    }
}
