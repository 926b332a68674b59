//! The daemon's HTTP endpoints (axum): the status page at `/` (see [`page`](super::page))
//! and its `/explain?person=…`, `/healthz`, `/readyz`, `/metrics` (Prometheus text), `/status` (JSON), and two triggers: `POST /runs` (bearer token) and
//! `POST /hooks/git` (a GitHub `X-Hub-Signature-256` HMAC or a GitLab `X-Gitlab-Token`).
//!
//! The daemon records every run here; the endpoints only read. Tokens are compared in
//! constant time and never logged. `/`, `/explain` and `/status` ask for the credentials of
//! `status_page.auth` when the config in force has them; the probes and `/metrics` stay
//! open. A listen address of a port alone binds to loopback ([`listen_address`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde_json::{Value as Json, json};

use super::page::{self, Configured, Guard};
use crate::config::{Config, Secret};
use crate::report::{JobResult, JobStatus, Sources};

/// What the endpoints share with the daemon.
pub struct Shared {
    record: Mutex<Record>,
    /// What `/explain` reads: the sync repository of the config in force.
    basis: Mutex<Option<Arc<Basis>>>,
    /// One `/explain` at a time: each reads every source and directory.
    explaining: tokio::sync::Mutex<()>,
    trigger: tokio::sync::mpsc::UnboundedSender<&'static str>,
    runs_token: Option<Secret>,
    webhook_secret: Option<Secret>,
}

/// What `/explain` answers from.
pub struct Basis {
    /// The sync repository at the revision of the config in force.
    pub files: Arc<dyn crate::config::files::RepoFiles>,
    /// `--state-dir`.
    pub state_dir: Option<std::path::PathBuf>,
    /// `--now`, for replays and tests; `None`: the time of the request.
    pub now: Option<jiff::Timestamp>,
}

/// What the daemon recorded of its runs, for the endpoints.
#[derive(Default)]
pub(super) struct Record {
    pub(super) ready: bool,
    /// The tracked branch.
    pub(super) branch: String,
    /// The revision the last run read (its config may not have been valid).
    pub(super) revision: Option<String>,
    /// The last job result.
    pub(super) result: Option<JobResult>,
    /// Why the last run failed as a whole.
    pub(super) last_error: Option<String>,
    /// When the next run is due.
    pub(super) next_run_at: Option<jiff::Timestamp>,
    /// The config in force (the last one that loaded).
    pub(super) configured: Option<Configured>,
    pub(super) runs: BTreeMap<&'static str, u64>,
    pub(super) actions: BTreeMap<(String, &'static str), u64>,
    pub(super) duration_sum: f64,
    /// Start of the last successful run, per (`source` | `directory`, id), in seconds.
    pub(super) last_success: BTreeMap<(String, String), i64>,
    /// Per directory: whether its last plan was blocked by the safety limits.
    pub(super) blocked: BTreeMap<String, bool>,
    /// Per directory: items that failed, over all runs.
    pub(super) failed_items: BTreeMap<String, u64>,
    /// While another daemon holds the run lease: who, and until when.
    pub(super) standby: Option<crate::git::lease::Holder>,
    /// The refs hrsync itself pushes (the reports branch and the run lease): a push
    /// webhook for one of them starts no run.
    pub(super) own_refs: Vec<String>,
}

impl Shared {
    /// Endpoints for a daemon tracking `branch`, sending triggers to `trigger`.
    pub fn new(
        branch: &str,
        trigger: tokio::sync::mpsc::UnboundedSender<&'static str>,
        runs_token: Option<Secret>,
        webhook_secret: Option<Secret>,
    ) -> Arc<Shared> {
        let record = Record { branch: branch.to_owned(), ..Record::default() };
        Arc::new(Shared {
            record: Mutex::new(record),
            basis: Mutex::new(None),
            explaining: tokio::sync::Mutex::new(()),
            trigger,
            runs_token,
            webhook_secret,
        })
    }

    /// Records what `/explain` reads from now on: the files of the config in force, the
    /// state directory and the daemon's clock (`--now`, else the time of each request).
    pub fn explain_from(&self, basis: Basis) {
        *self.basis.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(basis));
    }

    fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Names the branches hrsync itself pushes (from the config in force), whose push
    /// webhooks start no run: a run would push them again, and so on.
    pub fn own_branches(&self, branches: &[&str]) {
        self.record().own_refs = branches.iter().map(|b| format!("refs/heads/{b}")).collect();
    }

    /// Records a cycle that stood by because another daemon holds the run lease: this
    /// daemon is ready (it works, the other one runs), its last run stays as it was.
    pub fn standing_by(
        &self,
        revision: Option<String>,
        holder: crate::git::lease::Holder,
        next_run_at: jiff::Timestamp,
    ) {
        let mut r = self.record();
        r.ready = true;
        r.revision = revision.or(r.revision.take());
        r.next_run_at = Some(next_run_at);
        r.standby = Some(holder);
    }

    /// Records the config in force, read at `revision`, as soon as it has loaded: the
    /// page shows its directories and sources, and asks for its credentials.
    pub fn configured(&self, config: &Config, revision: &str) {
        let configured = Configured::new(config, revision);
        self.record().configured = Some(configured);
    }

    /// Records a finished run: its result, or why it failed as a whole.
    pub fn finished(
        &self,
        revision: Option<String>,
        outcome: Result<&JobResult, String>,
        seconds: f64,
        next_run_at: jiff::Timestamp,
    ) {
        let mut r = self.record();
        r.ready = true;
        r.revision = revision;
        r.standby = None;
        r.duration_sum += seconds;
        r.next_run_at = Some(next_run_at);
        match outcome {
            Err(e) => {
                *r.runs.entry("error").or_default() += 1;
                r.last_error = Some(e);
            }
            Ok(result) => {
                let status = match result.status {
                    JobStatus::Completed => "completed",
                    JobStatus::Warning => "warning",
                    JobStatus::Failed => "failed",
                };
                *r.runs.entry(status).or_default() += 1;
                r.last_error = None;
                let when = result.started_at.as_second();
                for (id, d) in &result.directories {
                    if d.applied {
                        for (kind, n) in [
                            ("created", d.created),
                            ("updated", d.updated),
                            ("disabled", d.disabled),
                            ("deleted", d.deleted),
                            ("failed", d.failed),
                        ] {
                            *r.actions.entry((id.to_string(), kind)).or_default() += n as u64;
                        }
                    }
                    if d.status != JobStatus::Failed {
                        r.last_success.insert(("directory".into(), id.to_string()), when);
                    }
                    let blocked = d.plan_status == Some(crate::plan::PlanStatus::Blocked);
                    r.blocked.insert(id.to_string(), blocked);
                    *r.failed_items.entry(id.to_string()).or_default() += d.failed as u64;
                }
                if let Sources::All { sources } = &result.sources {
                    for (id, s) in sources {
                        if let Some(at) = s.last_sync_at {
                            r.last_success.insert(("source".into(), id.to_string()), at.as_second());
                        }
                    }
                }
                r.result = Some(result.clone());
            }
        }
    }
}

/// The router of the endpoints.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/explain", get(explain))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/runs", post(runs))
        .route("/hooks/git", post(hook))
        .with_state(shared)
}

async fn readyz(State(s): State<Arc<Shared>>) -> Response {
    if s.record().ready {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "the first run has not finished\n").into_response()
    }
}

async fn status(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let r = s.record();
    if let Some(refused) = s.refuse(&r, &headers) {
        return refused;
    }
    let last = r.result.as_ref().and_then(|result| match serde_json::to_value(result) {
        Ok(json) => Some(json),
        Err(e) => {
            tracing::warn!(error = %e, "the job result cannot be shown on /status");
            None
        }
    });
    let last = last.as_ref();
    let body = json!({
        "ready": r.ready,
        "branch": r.branch,
        "revision": r.revision,
        "last_error": r.last_error,
        "standby": r.standby.as_ref().map(|h| json!({
            "host": h.host,
            "pid": h.pid,
            "until": jiff::Timestamp::from_second(h.until).map(|t| t.to_string()).ok(),
        })),
        "next_run_at": r.next_run_at.map(|t| t.to_string()),
        "last_run": last.map(|l| json!({ "started_at": l["started_at"], "status": l["status"] })),
        "directories": last.map(|l| l["directories"].clone()),
        "sources": last.map(|l| l["sources"].clone()),
    });
    axum::Json(body).into_response()
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    let r = s.record();
    let mut out = String::new();
    let runs: u64 = r.runs.values().sum();
    out.push_str("# HELP hrsync_runs_total Runs finished, by status (`error`: the run failed as a whole).\n");
    out.push_str("# TYPE hrsync_runs_total counter\n");
    for status in ["completed", "warning", "failed", "error"] {
        writeln!(out, "hrsync_runs_total{{status=\"{status}\"}} {}", r.runs.get(status).unwrap_or(&0)).ok();
    }
    out.push_str("# HELP hrsync_actions_total Items applied to directories, by kind.\n");
    out.push_str("# TYPE hrsync_actions_total counter\n");
    for ((dir, kind), n) in &r.actions {
        writeln!(out, "hrsync_actions_total{{directory=\"{}\",kind=\"{kind}\"}} {n}", label(dir)).ok();
    }
    out.push_str("# HELP hrsync_run_duration_seconds Time spent in runs.\n");
    out.push_str("# TYPE hrsync_run_duration_seconds summary\n");
    writeln!(out, "hrsync_run_duration_seconds_sum {:.3}", r.duration_sum).ok();
    writeln!(out, "hrsync_run_duration_seconds_count {runs}").ok();
    out.push_str("# HELP hrsync_last_success_timestamp_seconds Start of the last successful run, per source and directory.\n");
    out.push_str("# TYPE hrsync_last_success_timestamp_seconds gauge\n");
    for ((kind, id), at) in &r.last_success {
        writeln!(out, "hrsync_last_success_timestamp_seconds{{{kind}=\"{}\"}} {at}", label(id)).ok();
    }
    out.push_str("# HELP hrsync_plan_blocked Whether the directory's last plan was blocked by the safety limits (1) and waits for an approval.\n");
    out.push_str("# TYPE hrsync_plan_blocked gauge\n");
    for (dir, blocked) in &r.blocked {
        writeln!(out, "hrsync_plan_blocked{{directory=\"{}\"}} {}", label(dir), u8::from(*blocked)).ok();
    }
    out.push_str("# HELP hrsync_items_failed_total Items a directory refused or that could not be written, over all runs.\n");
    out.push_str("# TYPE hrsync_items_failed_total counter\n");
    for (dir, n) in &r.failed_items {
        writeln!(out, "hrsync_items_failed_total{{directory=\"{}\"}} {n}", label(dir)).ok();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// The headers of the pages: never cached, nothing but their inline style and their
/// own form allowed.
const PAGE_HEADERS: [(header::HeaderName, &str); 4] = [
    (header::CACHE_CONTROL, "no-store"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
];

async fn status_page(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let r = s.record();
    if let Some(refused) = s.refuse(&r, &headers) {
        return refused;
    }
    let page = page::render(&r);
    drop(r);
    let security = PAGE_HEADERS;
    match page {
        Ok(html) => (security, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the status page cannot be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, security, "the status page cannot be rendered\n")
                .into_response()
        }
    }
}

/// The query of `/explain`.
#[derive(serde::Deserialize)]
struct ExplainQuery {
    #[serde(default)]
    person: String,
    #[serde(default)]
    format: Option<String>,
}

/// `/explain?person=…`: the answer `hrsync explain` gives, as a page (or JSON with
/// `format=json`), under the reports' personal data policy, behind the page's
/// credentials. One at a time: each reads every source and directory.
async fn explain(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ExplainQuery>,
) -> Response {
    let workspace = {
        let r = s.record();
        if let Some(refused) = s.refuse(&r, &headers) {
            return refused;
        }
        r.configured.as_ref().map(|c| c.workspace.clone())
    };
    let json = q.format.as_deref() == Some("json");
    let basis = s.basis.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let person = q.person.trim();
    let security = PAGE_HEADERS;
    let outcome: Result<(crate::explain::Explanation, String), (StatusCode, String)> = match basis {
        _ if person.is_empty() => {
            Err((StatusCode::BAD_REQUEST, "ask about someone: `person` is empty".into()))
        }
        None => Err((StatusCode::SERVICE_UNAVAILABLE, "no configuration has been read yet".into())),
        Some(basis) => {
            let _one = s.explaining.lock().await;
            answer(&basis, person).await.map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))
        }
    };
    if json {
        return match outcome {
            Ok((answer, _)) => (security, axum::Json(answer)).into_response(),
            Err((status, e)) => (status, security, axum::Json(json!({ "error": e }))).into_response(),
        };
    }
    let (status, page) = match &outcome {
        Ok((answer, pii)) => {
            (StatusCode::OK, page::render_explain(workspace.as_deref(), pii, Some(answer), None))
        }
        Err((status, e)) => (*status, page::render_explain(workspace.as_deref(), "", None, Some(e))),
    };
    match page {
        Ok(html) => {
            (status, security, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "the explain page cannot be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, security, "the explain page cannot be rendered\n")
                .into_response()
        }
    }
}

/// The answer about `person` from `basis`, with the name of its personal data policy.
async fn answer(basis: &Basis, person: &str) -> Result<(crate::explain::Explanation, String), String> {
    let chain = |e: &dyn std::error::Error| crate::model::error_chain(e);
    let config = crate::config::load(basis.files.as_ref()).map_err(|e| chain(&e))?;
    let pii_name = match config.workspace.reports.pii {
        crate::config::PiiSpec::Full => "full",
        crate::config::PiiSpec::Masked => "masked",
        crate::config::PiiSpec::Hashed => "hashed",
    }
    .to_owned();
    let now = basis.now.unwrap_or_else(super::host::wall_clock);
    let run = crate::run::Run::open(
        basis.files.clone(),
        config,
        basis.state_dir.clone(),
        now,
        crate::run::ShowProgress::Log,
    )
    .map_err(|e| chain(&e))?;
    let pii = run.pii(None).map_err(|e| chain(&e))?;
    let answer = crate::explain::answer(&run, person, None, false, &pii).await.map_err(|e| chain(&e))?;
    Ok((answer, pii_name))
}

impl Shared {
    /// `None` when the request may read `/` and `/status` (it has the credentials of
    /// `status_page.auth` of the config in force, or that asks for none); else a 401
    /// asking for them.
    fn refuse(&self, r: &Record, headers: &HeaderMap) -> Option<Response> {
        let guard = r.configured.as_ref().map_or(&Guard::Open, |c| &c.guard);
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let (challenge, admitted) = match guard {
            Guard::Open => return None,
            Guard::Bearer => {
                let token = self.runs_token.as_ref();
                let given = given.and_then(|v| credentials(v, "Bearer"));
                let ok =
                    matches!((given, token), (Some(g), Some(t)) if same(g.as_bytes(), t.expose().as_bytes()));
                ("Bearer realm=\"hrsync\"", ok)
            }
            Guard::Basic { username, password } => {
                let ok = given
                    .and_then(|v| credentials(v, "Basic"))
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
                    .zip(password.as_ref())
                    .is_some_and(|(pair, password)| {
                        let (user, pass) = match pair.iter().position(|&b| b == b':') {
                            Some(i) => (&pair[..i], &pair[i + 1..]),
                            None => (&pair[..], &[][..]),
                        };
                        // Both compared, whichever is wrong.
                        let user_ok = same(user, username.as_bytes());
                        let pass_ok = same(pass, password.expose().as_bytes());
                        user_ok & pass_ok
                    });
                ("Basic realm=\"hrsync\", charset=\"UTF-8\"", ok)
            }
        };
        if admitted {
            return None;
        }
        Some(
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, challenge), (header::CACHE_CONTROL, "no-store")],
                "the status page needs the credentials of `status_page.auth` in hrsync.yaml\n",
            )
                .into_response(),
        )
    }
}

/// The address to listen on for `--listen`: a port alone (`9090` or `:9090`) is on
/// loopback (`127.0.0.1:9090`); anything else (`0.0.0.0:9090`, `[::1]:9090`) as given.
pub fn listen_address(listen: &str) -> String {
    let port = listen.strip_prefix(':').unwrap_or(listen);
    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
        format!("127.0.0.1:{port}")
    } else {
        listen.to_owned()
    }
}

/// A Prometheus label value.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The credentials of an `Authorization` value of `scheme` (whose name is not case
/// sensitive, RFC 9110 §11.1), or `None` for another scheme.
fn credentials<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then(|| rest.trim_start())
}

/// Constant-time equality.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn runs(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(token) = &s.runs_token else {
        return (StatusCode::NOT_FOUND, "POST /runs is off: set HRSYNC_RUNS_TOKEN to turn it on\n")
            .into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| credentials(v, "Bearer"));
    if !given.is_some_and(|g| same(g.as_bytes(), token.expose().as_bytes())) {
        return (StatusCode::UNAUTHORIZED, "a valid bearer token is needed\n").into_response();
    }
    let _ = s.trigger.send("POST /runs");
    (StatusCode::ACCEPTED, "a run starts now\n").into_response()
}

async fn hook(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &s.webhook_secret else {
        return (StatusCode::NOT_FOUND, "POST /hooks/git is off: set HRSYNC_WEBHOOK_SECRET to turn it on\n")
            .into_response();
    };
    let github = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="));
    let valid = match (github, headers.get("x-gitlab-token").and_then(|v| v.to_str().ok())) {
        (Some(signature), _) => {
            let Ok(expected) = hex::decode(signature) else {
                return (StatusCode::UNAUTHORIZED, "malformed signature\n").into_response();
            };
            let Ok(mut mac) =
                <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.expose().as_bytes())
            else {
                return (StatusCode::INTERNAL_SERVER_ERROR, "cannot check signatures\n").into_response();
            };
            mac.update(&body);
            mac.verify_slice(&expected).is_ok()
        }
        (None, Some(token)) => same(token.as_bytes(), secret.expose().as_bytes()),
        (None, None) => false,
    };
    if !valid {
        return (StatusCode::UNAUTHORIZED, "the signature or token does not match\n").into_response();
    }
    // GitHub and GitLab push events name the ref pushed; hrsync's own pushes start no run.
    let pushed =
        serde_json::from_slice::<Json>(&body).ok().and_then(|b| b["ref"].as_str().map(str::to_owned));
    if let Some(pushed) = pushed
        && s.record().own_refs.contains(&pushed)
    {
        return (StatusCode::OK, "a push of hrsync's own branch: no run\n").into_response();
    }
    let _ = s.trigger.send("POST /hooks/git");
    (StatusCode::ACCEPTED, "a run starts now\n").into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_authorization_scheme_is_not_case_sensitive() {
        assert_eq!(credentials("Bearer tok", "Bearer"), Some("tok"));
        assert_eq!(credentials("bearer tok", "Bearer"), Some("tok"));
        assert_eq!(credentials("BASIC  b64", "Basic"), Some("b64"));
        assert_eq!(credentials("Basic b64", "Bearer"), None);
        assert_eq!(credentials("Bearertok", "Bearer"), None);
    }

    use base64::Engine as _;

    use super::*;
    use crate::daemon::page::tests::configured;

    #[test]
    fn a_port_alone_listens_on_loopback_and_other_addresses_stay_as_given() {
        assert_eq!(listen_address("9090"), "127.0.0.1:9090");
        assert_eq!(listen_address(":9090"), "127.0.0.1:9090");
        assert_eq!(listen_address("0.0.0.0:9090"), "0.0.0.0:9090");
        assert_eq!(listen_address("[::1]:9090"), "[::1]:9090");
        assert_eq!(listen_address("localhost:9090"), "localhost:9090");
    }

    fn shared(token: Option<&str>, guard: Option<Guard>) -> Arc<Shared> {
        let (trigger, _) = tokio::sync::mpsc::unbounded_channel();
        let s = Shared::new("refs/heads/main", trigger, token.map(Secret::new), None);
        s.record().configured = guard.map(|g| configured(g, None));
        s
    }

    /// The status of a request with `authorization`, and the challenge of a refusal.
    fn ask(s: &Shared, authorization: Option<&str>) -> (u16, String) {
        let mut headers = HeaderMap::new();
        if let Some(a) = authorization {
            headers.insert(header::AUTHORIZATION, a.parse().unwrap());
        }
        match s.refuse(&s.record(), &headers) {
            None => (200, String::new()),
            Some(r) => {
                let challenge =
                    r.headers().get(header::WWW_AUTHENTICATE).unwrap().to_str().unwrap().to_owned();
                (r.status().as_u16(), challenge)
            }
        }
    }

    fn basic(pair: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
    }

    #[test]
    fn the_page_asks_for_the_configured_credentials_and_nothing_before_a_config() {
        assert_eq!(ask(&shared(None, None), None).0, 200, "starting: nothing to show, nothing asked");
        assert_eq!(ask(&shared(None, Some(Guard::Open)), None).0, 200);

        let bearer = shared(Some("t0ken"), Some(Guard::Bearer));
        assert_eq!(ask(&bearer, None), (401, "Bearer realm=\"hrsync\"".into()));
        assert_eq!(ask(&bearer, Some("Bearer t0ke")).0, 401);
        assert_eq!(ask(&bearer, Some("Bearer t0ken")).0, 200);
        let no_token = shared(None, Some(Guard::Bearer));
        assert_eq!(ask(&no_token, Some("Bearer ")).0, 401, "no token set: nobody");

        let guard = || Guard::Basic { username: "ops".into(), password: Some(Secret::new("pw:1")) };
        let basic_page = shared(None, Some(guard()));
        assert!(ask(&basic_page, None).1.starts_with("Basic realm=\"hrsync\""));
        assert_eq!(ask(&basic_page, Some(&basic("ops:pw:1"))).0, 200, "a colon in the password");
        for wrong in ["ops:pw", "op:pw:1", "ops", ":pw:1", "opsx:pw:1"] {
            assert_eq!(ask(&basic_page, Some(&basic(wrong))).0, 401, "{wrong}");
        }
        assert_eq!(ask(&basic_page, Some("Basic !!!")).0, 401, "not base64");
        let unresolved = shared(None, Some(Guard::Basic { username: "ops".into(), password: None }));
        assert_eq!(ask(&unresolved, Some(&basic("ops:"))).0, 401, "an unresolved password lets nobody in");
    }
}
