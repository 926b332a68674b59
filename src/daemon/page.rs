//! The status page at `/` of the daemon's listener: one server-rendered HTML page (no
//! script) with the config in force, the last and next run, and a table of directories
//! and one of sources, each with its mode in the words operators use, its health, its
//! last successful sync, the next run, its last error and, for a blocked plan, the
//! exact approval to give.
//!
//! The page is rendered with [minijinja] from `page/page.html` (embedded), with
//! auto-escaping: every id, reason and error from the config or a run is escaped. It
//! reads the same [`Record`] as `/status` and shows what `/status` shows minus the
//! per-item errors: ids, counts, statuses, plan ids and reasons of whole directories and
//! sources — never a row of a person. Its form asks `/explain` about one person, whose
//! page (`render_explain`, from `page/explain.html`) shows the answer of
//! [`crate::explain`] under the reports' personal data policy.
//!
//! Who may read it: [`Guard`], from `status_page.auth` of the config in force, applies
//! to `/` and `/status`.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::endpoints::Record;
use crate::config::{Config, Mode, PageAuth, PiiSpec, Secret, StatusPage};
use crate::model::{DirectoryId, SourceId};
use crate::plan::PlanStatus;
use crate::report::{DirectoryResult, JobStatus, SourceResult, Sources};

/// The page's template.
const TEMPLATE: &str = include_str!("page/page.html");

/// What the page knows of the config in force, taken when a config has loaded.
#[derive(Debug)]
pub struct Configured {
    /// The commit the config was read from.
    pub revision: String,
    /// The workspace's name.
    pub workspace: String,
    /// The workspace time zone, for local times beside UTC.
    pub timezone: TimeZone,
    /// The reports branch.
    pub reports_branch: String,
    /// The reports folder in that branch.
    pub reports_path: String,
    /// The personal data policy of reports.
    pub pii: PiiSpec,
    /// `status_page` of `hrsync.yaml`.
    pub status_page: StatusPage,
    /// Who may read the page.
    pub guard: Guard,
    /// The directories: id, kind, mode.
    pub directories: Vec<(DirectoryId, &'static str, Mode)>,
    /// The sources: id, kind, whether enabled.
    pub sources: Vec<(SourceId, &'static str, bool)>,
}

/// Who may read the page and `/status`.
#[derive(Debug)]
pub enum Guard {
    /// Anyone who reaches the listener.
    Open,
    /// The bearer token of `POST /runs` (`HRSYNC_RUNS_TOKEN`).
    Bearer,
    /// HTTP basic authentication; `None`: the password reference did not resolve, and
    /// nobody is let in.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Option<Secret>,
    },
}

impl Configured {
    /// What the page needs of `config`, read at `revision`. The basic-auth password is
    /// resolved now; one that does not resolve locks the page (and says so in the log,
    /// naming the reference, never a value).
    pub fn new(config: &Config, revision: &str) -> Configured {
        let ws = &config.workspace;
        let guard = match &ws.status_page.auth {
            None => Guard::Open,
            Some(PageAuth::Bearer) => Guard::Bearer,
            Some(PageAuth::Basic { username, password }) => {
                let password = match password.resolve() {
                    Ok(p) => Some(p),
                    Err(e) => {
                        tracing::warn!(error = %e, "the status page's password cannot be read: the page refuses everyone");
                        None
                    }
                };
                Guard::Basic { username: username.clone(), password }
            }
        };
        Configured {
            revision: revision.to_owned(),
            workspace: ws.name.clone(),
            timezone: ws.timezone.clone(),
            reports_branch: ws.reports.branch.clone(),
            reports_path: ws.reports.path.clone(),
            pii: ws.reports.pii,
            status_page: ws.status_page.clone(),
            guard,
            directories: config
                .directories
                .iter()
                .map(|d| (d.id.clone(), d.kind.type_name(), d.mode))
                .collect(),
            sources: config.sources.iter().map(|s| (s.id.clone(), s.kind.type_name(), s.enabled)).collect(),
        }
    }
}

/// A time in UTC (ISO 8601) and in the workspace time zone, when that is not UTC.
#[derive(Debug, Serialize)]
struct Time {
    utc: String,
    local: Option<String>,
}

impl Time {
    fn new(t: Timestamp, tz: Option<&TimeZone>) -> Time {
        let utc = t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let local = tz
            .filter(|tz| tz.iana_name() != Some("UTC"))
            .map(|tz| t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M %Z").to_string());
        Time { utc, local }
    }
}

/// The page's data.
#[derive(Debug, Serialize)]
struct View {
    starting: bool,
    overall: &'static str,
    workspace: Option<String>,
    branch: String,
    revision: Option<String>,
    revision_read: Option<String>,
    timezone: Option<String>,
    last_run: Option<LastRun>,
    next_run: Option<Time>,
    last_error: Option<String>,
    standby: Option<StandBy>,
    reports_branch: Option<String>,
    history: Option<String>,
    pii_note: Option<&'static str>,
    directories: Vec<DirectoryRow>,
    sources: Vec<SourceRow>,
}

/// Another daemon holds the run lease: who, and until when.
#[derive(Debug, Serialize)]
struct StandBy {
    host: String,
    pid: u32,
    until: Option<Time>,
}

#[derive(Debug, Serialize)]
struct LastRun {
    started_at: Time,
    status: &'static str,
}

#[derive(Debug, Serialize)]
struct DirectoryRow {
    id: String,
    kind: &'static str,
    mode: &'static str,
    mode_words: &'static str,
    health: &'static str,
    plan_id: Option<String>,
    plan_status: Option<&'static str>,
    applied: bool,
    counts: Option<Counts>,
    last_sync: Option<Time>,
    next_run: Option<Time>,
    reason: Option<String>,
    /// The plan id to approve, for a blocked plan.
    approval: Option<String>,
    /// Which limits a blocked plan is above, when its reason says.
    limits: Option<String>,
    history: Option<String>,
}

#[derive(Debug, Serialize)]
struct Counts {
    create: usize,
    update: usize,
    disable: usize,
    delete: usize,
    failed: usize,
    skipped_rows: usize,
}

#[derive(Debug, Serialize)]
struct SourceRow {
    id: String,
    kind: &'static str,
    health: &'static str,
    people: Option<crate::report::Bucket>,
    last_sync: Option<Time>,
    error: Option<String>,
}

/// The limits a blocked plan's reason names: the guard's refusal says "… is blocked by
/// the safety limits (LIMITS); if the changes are intended, …".
fn limits_of(reason: &str) -> Option<String> {
    let (_, rest) = reason.split_once("is blocked by the safety limits (")?;
    let (limits, _) = rest.rsplit_once("); if the changes are intended")?;
    Some(limits.to_owned())
}

/// A mode as operators say it.
pub fn mode_words(mode: Mode) -> &'static str {
    match mode {
        Mode::Plan => "simulation",
        Mode::Apply => "active",
        Mode::Off => "deactivated",
    }
}

/// A directory's health: `off`, `blocked`, `failed`, `warning`, `healthy`, or `unknown`
/// before its first result.
fn directory_health(mode: Mode, result: Option<&DirectoryResult>) -> &'static str {
    match result {
        _ if mode == Mode::Off => "off",
        None => "unknown",
        Some(d) if d.skipped => "off",
        Some(d) if d.plan_status == Some(PlanStatus::Blocked) => "blocked",
        Some(d) => status_health(d.status),
    }
}

fn status_health(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Completed => "healthy",
        JobStatus::Warning => "warning",
        JobStatus::Failed => "failed",
    }
}

fn source_health(enabled: bool, result: Option<&SourceResult>) -> &'static str {
    match result {
        _ if !enabled => "off",
        Some(s) if s.skipped => "off",
        Some(SourceResult { status: Some(status), .. }) => status_health(*status),
        _ => "unknown",
    }
}

/// How bad a health is, to find the worst.
fn rank(health: &str) -> u8 {
    match health {
        "failed" => 4,
        "blocked" => 3,
        "warning" => 2,
        "unknown" => 1,
        _ => 0,
    }
}

fn view(r: &Record) -> View {
    let Some(c) = &r.configured else {
        return View {
            starting: true,
            overall: if r.last_error.is_some() { "failed" } else { "starting" },
            workspace: None,
            branch: r.branch.clone(),
            revision: None,
            revision_read: r.revision.clone(),
            timezone: None,
            last_run: None,
            next_run: r.next_run_at.map(|t| Time::new(t, None)),
            last_error: r.last_error.clone(),
            standby: standby(r, None),
            reports_branch: None,
            history: None,
            pii_note: None,
            directories: Vec::new(),
            sources: Vec::new(),
        };
    };
    let tz = Some(&c.timezone);
    let time = |t: Timestamp| Time::new(t, tz);
    let result = r.result.as_ref();
    let next_run = r.next_run_at;
    let directories: Vec<DirectoryRow> = c
        .directories
        .iter()
        .map(|(id, kind, mode)| {
            let d = result.and_then(|res| res.directories.get(id));
            let health = directory_health(*mode, d);
            let blocked = health == "blocked";
            DirectoryRow {
                id: id.to_string(),
                kind,
                mode: mode.as_str(),
                mode_words: mode_words(*mode),
                health,
                plan_id: d.and_then(|d| d.plan.as_ref()).map(|p| p.to_string()),
                plan_status: d.and_then(|d| d.plan_status).map(PlanStatus::as_str),
                applied: d.is_some_and(|d| d.applied),
                counts: d.filter(|d| d.plan.is_some()).map(|d| Counts {
                    create: d.created,
                    update: d.updated,
                    disable: d.disabled,
                    delete: d.deleted,
                    failed: d.failed,
                    skipped_rows: d.skipped_rows,
                }),
                last_sync: r
                    .last_success
                    .get(&("directory".to_owned(), id.to_string()))
                    .and_then(|s| Timestamp::from_second(*s).ok().map(time)),
                next_run: next_run.filter(|_| *mode != Mode::Off).map(time),
                // A blocked plan's reason is the approval, said below in full.
                reason: d.and_then(|d| d.reason.clone()).filter(|_| !blocked),
                approval: d.and_then(|d| d.plan.as_ref()).filter(|_| blocked).map(|p| p.to_string()),
                limits: d.and_then(|d| d.reason.as_deref()).filter(|_| blocked).and_then(limits_of),
                history: c.status_page.history_link(&c.reports_branch, &format!("{}/{id}", c.reports_path)),
            }
        })
        .collect();
    let source_results = match result.map(|r| &r.sources) {
        Some(Sources::All { sources }) => Some(sources),
        _ => None,
    };
    let sources: Vec<SourceRow> = c
        .sources
        .iter()
        .map(|(id, kind, enabled)| {
            let s = source_results.and_then(|all| all.get(id));
            let last = s.and_then(|s| s.last_sync_at).or_else(|| {
                r.last_success
                    .get(&("source".to_owned(), id.to_string()))
                    .and_then(|s| Timestamp::from_second(*s).ok())
            });
            SourceRow {
                id: id.to_string(),
                kind,
                health: source_health(*enabled, s),
                people: s.and_then(|s| s.employees),
                last_sync: last.map(time),
                error: s.filter(|s| !s.errors.is_empty()).map(|s| s.errors.join("; ")),
            }
        })
        .collect();
    let worst = directories.iter().map(|d| d.health).chain(sources.iter().map(|s| s.health));
    let mut overall =
        worst.max_by_key(|h| rank(h)).map_or("healthy", |h| if rank(h) == 0 { "healthy" } else { h });
    if r.last_error.is_some() {
        overall = "failed";
    }
    View {
        starting: false,
        overall,
        workspace: Some(c.workspace.clone()),
        branch: r.branch.clone(),
        revision: Some(c.revision.clone()),
        revision_read: r.revision.clone(),
        timezone: c.timezone.iana_name().filter(|n| *n != "UTC").map(str::to_owned),
        last_run: result.map(|res| LastRun { started_at: time(res.started_at), status: res.status.as_str() }),
        next_run: next_run.map(time),
        last_error: r.last_error.clone(),
        standby: standby(r, tz),
        reports_branch: Some(c.reports_branch.clone()),
        history: c.status_page.history_link(&c.reports_branch, &c.reports_path),
        pii_note: (c.pii != PiiSpec::Full)
            .then_some("it shows ids, counts, statuses and reasons, never a row of a person"),
        directories,
        sources,
    }
}

/// Who holds the run lease while this daemon stands by.
fn standby(r: &Record, tz: Option<&TimeZone>) -> Option<StandBy> {
    r.standby.as_ref().map(|h| StandBy {
        host: h.host.clone(),
        pid: h.pid,
        until: Timestamp::from_second(h.until).ok().map(|t| Time::new(t, tz)),
    })
}

/// The page of `/explain`, from `page/explain.html` (embedded).
const EXPLAIN_TEMPLATE: &str = include_str!("page/explain.html");

/// The `/explain` page: the form, and the answer or why there is none. Everything
/// shown is escaped; personal values are as the answer's policy left them.
pub(super) fn render_explain(
    workspace: Option<&str>,
    pii: &str,
    answer: Option<&crate::explain::Explanation>,
    error: Option<&str>,
) -> Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.add_filter("code", code_spans);
    env.add_template("explain.html", EXPLAIN_TEMPLATE)?;
    env.get_template("explain.html")?.render(minijinja::context! { workspace, pii, answer, error })
}

/// The answer's text, escaped, with each `` `…` `` span as `<code>…</code>` (the answer
/// is Markdown for the command line). A last backtick without its pair stays as it is.
fn code_spans(text: &str) -> minijinja::Value {
    let escaped = minijinja::HtmlEscape(text).to_string();
    let pieces: Vec<&str> = escaped.split('`').collect();
    // n pieces are cut by n - 1 backticks; the first ones, two by two, are spans.
    let paired = (pieces.len() - 1) / 2 * 2;
    let mut out = String::with_capacity(escaped.len() + pieces.len() * 6);
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            let tick = i - 1;
            out.push_str(match (tick < paired, tick % 2) {
                (true, 0) => "<code>",
                (true, _) => "</code>",
                (false, _) => "`",
            });
        }
        out.push_str(piece);
    }
    minijinja::Value::from_safe_string(out)
}

/// The page for what `r` holds.
pub(super) fn render(r: &Record) -> Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.add_template("page.html", TEMPLATE)?;
    env.get_template("page.html")?.render(view(r))
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::PlanId;
    use crate::report::JobResult;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    /// A config in force with four directories and one source, guarded by `auth`.
    pub(in crate::daemon) fn configured(auth: Guard, history_url: Option<&str>) -> Configured {
        Configured {
            revision: "c0ffee".repeat(7).chars().take(40).collect(),
            workspace: "acme <b>".into(),
            timezone: TimeZone::get("Europe/Berlin").unwrap(),
            reports_branch: "hrsync/reports".into(),
            reports_path: "reports".into(),
            pii: PiiSpec::Masked,
            status_page: StatusPage { history_url: history_url.map(str::to_owned), auth: None },
            guard: auth,
            directories: vec![
                (DirectoryId::new("corp").unwrap(), "file", Mode::Apply),
                (DirectoryId::new("hold").unwrap(), "ldap", Mode::Apply),
                (DirectoryId::new("sim").unwrap(), "scim", Mode::Plan),
                (DirectoryId::new("old").unwrap(), "entraid", Mode::Off),
            ],
            sources: vec![(SourceId::new("germany").unwrap(), "csv", true)],
        }
    }

    #[test]
    fn code_spans_are_escaped_and_paired() {
        let html = code_spans("in `corp` <b>&</b> `x` and a lone ` tick").to_string();
        assert_eq!(
            html,
            "in <code>corp</code> &lt;b&gt;&amp;&lt;&#x2f;b&gt; <code>x</code> and a lone ` tick"
        );
        assert_eq!(code_spans("none").to_string(), "none");
    }

    fn record() -> Record {
        let t: Timestamp = "2026-11-22T09:00:00Z".parse().unwrap();
        let mut hold = DirectoryResult::failed(
            Mode::Apply,
            format!(
                "plan {ID} for `hold` is blocked by the safety limits (31 disables and deletes are above max_disable_count 2); if the changes are intended, approve this exact plan with `hrsync apply --approve {ID}` or add it to `approvals` in hrsync.yaml"
            ),
        );
        hold.plan = Some(PlanId::new(ID).unwrap());
        hold.plan_status = Some(PlanStatus::Blocked);
        hold.disabled = 31;
        let mut sim = DirectoryResult::failed(Mode::Plan, "<script>alert('x')</script> & more");
        sim.errors = vec!["person Günther Böhm: refused".into()];
        let directories =
            [("corp", DirectoryResult::skipped(Mode::Apply, "fine")), ("hold", hold), ("sim", sim)]
                .into_iter()
                .map(|(id, mut d)| {
                    if id == "corp" {
                        d.skipped = false;
                        d.status = JobStatus::Completed;
                        d.reason = None;
                        d.plan = Some(PlanId::new(&ID.replace('0', "f")).unwrap());
                        d.plan_status = Some(PlanStatus::Ready);
                        d.applied = true;
                        d.created = 3;
                    }
                    (DirectoryId::new(id).unwrap(), d)
                })
                .collect();
        let source = SourceResult {
            status: Some(JobStatus::Failed),
            errors: vec!["<img src=x onerror=alert(1)>".into()],
            last_sync_at: Some(t),
            ..SourceResult::default()
        };
        let result = JobResult {
            status: JobStatus::Failed,
            dry_run: false,
            started_at: t,
            sources: Sources::All { sources: BTreeMap::from([(SourceId::new("germany").unwrap(), source)]) },
            directories,
        };
        let mut r = Record {
            branch: "refs/heads/main".into(),
            revision: Some("c0ffee".into()),
            result: Some(result),
            next_run_at: Some("2026-11-22T10:00:00Z".parse().unwrap()),
            configured: Some(configured(Guard::Open, Some("https://git.example/h/{branch}/{path}"))),
            ..Record::default()
        };
        r.last_success.insert(("directory".into(), "corp".into()), t.as_second());
        r
    }

    #[test]
    fn hostile_text_from_config_and_runs_comes_out_escaped() {
        let html = render(&record()).unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt; &amp; more"), "{html}");
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "{html}");
        assert!(html.contains("acme &lt;b&gt;") && !html.contains("acme <b>"), "{html}");
        assert!(!html.contains("<script"), "the page has no script");
    }

    #[test]
    fn each_directory_shows_its_mode_health_and_what_to_do() {
        let view = view(&record());
        let row = |id: &str| view.directories.iter().find(|d| d.id == id).unwrap();
        let words = |id| (row(id).mode_words, row(id).mode, row(id).health);
        assert_eq!(words("corp"), ("active", "apply", "healthy"));
        assert_eq!(words("hold"), ("active", "apply", "blocked"));
        assert_eq!(words("sim"), ("simulation", "plan", "failed"));
        assert_eq!(words("old"), ("deactivated", "off", "off"));
        assert_eq!(row("hold").approval.as_deref(), Some(ID));
        assert_eq!(row("hold").reason, None, "the approval says it in full");
        assert_eq!(
            row("hold").limits.as_deref(),
            Some("31 disables and deletes are above max_disable_count 2")
        );
        assert_eq!(row("corp").last_sync.as_ref().unwrap().utc, "2026-11-22T09:00:00Z");
        assert_eq!(row("corp").last_sync.as_ref().unwrap().local.as_deref(), Some("2026-11-22 10:00 CET"));
        assert!(row("old").next_run.is_none() && row("sim").next_run.is_some());
        assert_eq!(row("hold").history.as_deref(), Some("https://git.example/h/hrsync/reports/reports/hold"));
        assert_eq!(view.overall, "failed");
        assert_eq!(view.sources[0].health, "failed");
        let html = render(&record()).unwrap();
        assert!(
            html.contains(&format!(
                "<code>hrsync apply --approve {ID}</code>, or add <code>{ID}</code> to <code>approvals</code>"
            )),
            "{html}"
        );
        // No per-person rows: the item errors are not on the page.
        assert!(!html.contains("Günther"), "{html}");
    }

    #[test]
    fn a_daemon_standing_by_names_the_holder_of_the_run_lease() {
        let mut r = record();
        assert!(!render(&r).unwrap().contains("id=\"standby\""));
        r.standby = Some(crate::git::lease::Holder {
            owner: "0f".repeat(16),
            host: "node-<b>".into(),
            pid: 4242,
            since: 1_795_000_000,
            until: 1_795_000_030,
            released: false,
        });
        let html = render(&r).unwrap();
        assert!(html.contains("id=\"standby\""), "{html}");
        assert!(html.contains("node-&lt;b&gt;, process 4242"), "{html}");
        assert!(html.contains("2026-11-18T"), "the lease's end: {html}");
        assert!(!html.contains(&"0f".repeat(16)), "the owner's id is not shown");
    }

    #[test]
    fn a_run_that_failed_as_a_whole_shows_its_error_and_the_config_still_in_force() {
        let mut r = record();
        r.revision = Some("badc0de".into());
        r.last_error = Some("the config at badc0de is not valid (2 problems)".into());
        let html = render(&r).unwrap();
        assert!(html.contains("id=\"last-error\""), "{html}");
        assert!(html.contains("the config at badc0de is not valid (2 problems)"), "{html}");
        assert!(html.contains("<code title=\"badc0de\">badc0de</code>, was not used"), "{html}");
        assert_eq!(view(&r).overall, "failed");
    }

    #[test]
    fn before_the_first_config_the_page_says_starting_and_shows_no_data() {
        let r = Record { branch: "refs/heads/main".into(), ..Record::default() };
        let html = render(&r).unwrap();
        assert!(html.contains("id=\"starting\""), "{html}");
        assert!(!html.contains("<table"), "{html}");
    }
}
