//! The daemon's HTTP endpoints (axum): `/healthz`, `/readyz`, `/metrics` (Prometheus
//! text), `/status` (JSON), and two triggers: `POST /runs` (bearer token) and
//! `POST /hooks/git` (a GitHub `X-Hub-Signature-256` HMAC or a GitLab `X-Gitlab-Token`).
//!
//! The daemon records every run here; the endpoints only read. Tokens are compared in
//! constant time and never logged.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{KeyInit, Mac};
use serde_json::{Value as Json, json};

use crate::config::Secret;
use crate::report::{JobResult, JobStatus, Sources};

/// What the endpoints share with the daemon.
pub struct Shared {
    record: Mutex<Record>,
    trigger: tokio::sync::mpsc::UnboundedSender<&'static str>,
    runs_token: Option<Secret>,
    webhook_secret: Option<Secret>,
}

#[derive(Default)]
struct Record {
    ready: bool,
    branch: String,
    revision: Option<String>,
    last: Option<Json>,
    last_error: Option<String>,
    next_run_at: Option<jiff::Timestamp>,
    runs: BTreeMap<&'static str, u64>,
    actions: BTreeMap<(String, &'static str), u64>,
    duration_sum: f64,
    last_success: BTreeMap<(String, String), i64>,
    /// Per directory: whether its last plan was blocked by the safety limits.
    blocked: BTreeMap<String, bool>,
    /// Per directory: items that failed, over all runs.
    failed_items: BTreeMap<String, u64>,
    /// While another daemon holds the run lease: who, and until when.
    standby: Option<crate::git::lease::Holder>,
    /// The refs hrsync itself pushes (the reports branch and the run lease): a push
    /// webhook for one of them starts no run.
    own_refs: Vec<String>,
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
        Arc::new(Shared { record: Mutex::new(record), trigger, runs_token, webhook_secret })
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
                r.last = match serde_json::to_value(result) {
                    Ok(json) => Some(json),
                    Err(e) => {
                        tracing::warn!(error = %e, "the job result cannot be shown on /status");
                        None
                    }
                };
            }
        }
    }
}

/// The router of the endpoints.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
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

async fn status(State(s): State<Arc<Shared>>) -> Response {
    let r = s.record();
    let last = r.last.as_ref();
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

/// A Prometheus label value.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
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
        .and_then(|v| v.strip_prefix("Bearer "));
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
