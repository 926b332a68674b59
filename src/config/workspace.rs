//! The validated workspace of `hrsync.yaml`: time zones, schedule, safety defaults,
//! reports and approvals.
//!
//! Runtime types only, every value already checked and defaulted; they are built by
//! `config::compile` and read by the rest of hrsync. Nothing here parses YAML or reports
//! problems. The notification settings also serialize: the daemon keeps the last ones
//! that loaded in its state directory (references, never secret values).

use std::collections::{BTreeMap, BTreeSet};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::secret::SecretRef;
use super::spec::{NotifyEvent, PiiSpec, SafetySpec, SmtpTls};
use crate::model::PlanId;

/// The workspace settings of `hrsync.yaml`.
#[derive(Debug)]
pub struct Workspace {
    /// Its name.
    pub name: String,
    /// The default time zone for effective dates.
    pub timezone: TimeZone,
    /// Time zones by legal entity.
    pub legal_entity_zones: BTreeMap<String, TimeZone>,
    /// Time zones by work location.
    pub location_zones: BTreeMap<String, TimeZone>,
    /// The daemon's schedule.
    pub schedule: Option<Schedule>,
    /// Default safety limits.
    pub safety: SafetySpec,
    /// Report settings.
    pub reports: Reports,
    /// The daemon's status page.
    pub status_page: StatusPage,
    /// Approved plan ids.
    pub approvals: BTreeSet<PlanId>,
    /// Allowances for mass changes, in file order.
    pub allowances: Vec<Allowance>,
    /// Notifications of changes of state; `None` without `notify`.
    pub notify: Option<Notify>,
}

/// The notifications of `hrsync.yaml` (`notify`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notify {
    /// A directory with more failed items than this in a run is in `item_failures`.
    pub item_failures: u64,
    /// A link for every message.
    pub link: Option<String>,
    /// The channels, in file order, each named uniquely.
    pub channels: Vec<Channel>,
}

/// One notification channel.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Channel {
    /// Its name (default: its kind), unique among the channels.
    pub name: String,
    /// Where and how it sends.
    pub kind: ChannelKind,
    /// What it is told about.
    pub events: BTreeSet<NotifyEvent>,
}

/// Where a channel sends.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A generic webhook, HMAC-signed.
    Webhook {
        /// The URL (not secret).
        url: String,
        /// The HMAC key.
        secret: SecretRef,
    },
    /// A Slack incoming webhook, whose URL is secret.
    Slack {
        /// The URL.
        url: SecretRef,
    },
    /// A Microsoft Teams workflow webhook, whose URL is secret.
    Teams {
        /// The URL.
        url: SecretRef,
    },
    /// E-mail over SMTP.
    Email(EmailChannel),
}

impl ChannelKind {
    /// The kind's name, as in `hrsync.yaml`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChannelKind::Webhook { .. } => "webhook",
            ChannelKind::Slack { .. } => "slack",
            ChannelKind::Teams { .. } => "teams",
            ChannelKind::Email(_) => "email",
        }
    }
}

/// Whether `host` (a URL's host, `[::1]` included, or a host name) is a loopback
/// address or `localhost`, where nothing crosses a network: the one place plain HTTP
/// and SMTP without TLS are accepted.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An e-mail channel: the server and the addresses, every one checked.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmailChannel {
    /// The server's host name.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is protected.
    pub tls: SmtpTls,
    /// CA certificates to trust instead of the system's.
    pub ca_file: Option<std::path::PathBuf>,
    /// User name and password, when the server wants a login.
    pub login: Option<(String, SecretRef)>,
    /// The sender.
    pub from: String,
    /// The recipients (at least one).
    pub to: Vec<String>,
}

/// A bounded, expiring permission for a mass change (`allowances` in `hrsync.yaml`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowance {
    /// Its place in `allowances` (0-based).
    pub index: usize,
    /// The line of `hrsync.yaml` it starts on, to find the commit that added it.
    pub line: usize,
    /// The directory.
    pub directory: crate::model::DirectoryId,
    /// The most disables plus deletes; `None`: the directory's limits apply.
    pub max_disables: Option<u64>,
    /// The most updates; `None`: the directory's limits apply.
    pub max_updates: Option<u64>,
    /// The last day it holds, in the workspace time zone.
    pub until: jiff::civil::Date,
    /// Why.
    pub reason: String,
}

impl Allowance {
    /// Whether it has expired on `today`.
    pub fn expired(&self, today: jiff::civil::Date) -> bool {
        today > self.until
    }
}

/// When the daemon re-plans.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Time between runs.
    pub interval: SignedDuration,
    /// The first run.
    pub start: Option<Timestamp>,
}

/// Report settings.
#[derive(Clone, Debug)]
pub struct Reports {
    /// Branch for report commits.
    pub branch: String,
    /// Folder inside that branch.
    pub path: String,
    /// Personal data policy.
    pub pii: PiiSpec,
    /// Key of the keyed hash for `pii: hashed`.
    pub pii_key: Option<SecretRef>,
    /// How long the branch's history is kept; `None`: forever.
    pub retention: Option<Retention>,
}

/// The daemon's status page (`status_page` in `hrsync.yaml`).
#[derive(Clone, Debug, Default)]
pub struct StatusPage {
    /// The URL of the reports' history, with `{branch}` and `{path}` in it; `None`: no
    /// links.
    pub history_url: Option<String>,
    /// The credentials the page asks for; `None`: none.
    pub auth: Option<PageAuth>,
}

/// How the status page is protected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageAuth {
    /// The bearer token of `POST /runs`.
    Bearer,
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: SecretRef,
    },
}

impl StatusPage {
    /// The placeholders `history_url` may hold.
    pub const PLACEHOLDERS: [&'static str; 2] = ["branch", "path"];

    /// The history link for the reports at `path` of `branch`, when a URL is configured:
    /// each placeholder replaced by its value, URL-encoded segment by segment (slashes
    /// kept).
    pub fn history_link(&self, branch: &str, path: &str) -> Option<String> {
        let url = self.history_url.as_ref()?;
        Some(url.replace("{branch}", &encode_segments(branch)).replace("{path}", &encode_segments(path)))
    }
}

/// `text` percent-encoded as URL path segments: everything but unreserved characters
/// and `/`.
fn encode_segments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// How long the reports branch keeps its history (`reports.retention`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Days of history to keep, 1 to 36500.
    pub days: u32,
}

impl Retention {
    /// The oldest time a commit of the branch may have on `now`: the start of the day
    /// `days` before today, both read in `timezone`. `None` only for a `now` so near the
    /// end of time that the day cannot be named.
    pub fn cutoff(&self, now: Timestamp, timezone: &TimeZone) -> Option<Timestamp> {
        let today = now.to_zoned(timezone.clone()).date();
        let day = today.checked_sub(jiff::Span::new().try_days(i64::from(self.days)).ok()?).ok()?;
        Some(day.to_zoned(timezone.clone()).ok()?.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::files::MemFiles;
    use crate::config::{ConfigError, load};

    fn with_reports(reports: &str) -> MemFiles {
        MemFiles::default().with("hrsync.yaml", &format!("version: 1\nworkspace: t\nreports: {reports}\n"))
    }

    #[test]
    fn retention_is_off_by_default_and_a_bounded_positive_number_of_days() {
        let config = load(&MemFiles::default().with("hrsync.yaml", "version: 1\nworkspace: t\n")).unwrap();
        assert_eq!(config.workspace.reports.retention, None);
        let config = load(&with_reports("{ retention: { days: 365 } }")).unwrap();
        assert_eq!(config.workspace.reports.retention, Some(Retention { days: 365 }));
        for (days, message) in [
            ("0", "must be at least 1"),
            ("-3", "must be at least 1"),
            ("36501", "must be at most 36500"),
            ("1.5", "expected an integer"),
        ] {
            let Err(ConfigError::Invalid(problems)) =
                load(&with_reports(&format!("{{ retention: {{ days: {days} }} }}")))
            else {
                panic!("days: {days} is refused");
            };
            let p: Vec<_> = problems.iter().map(|d| (d.file.as_str(), d.line, d.message.as_str())).collect();
            assert_eq!(p.len(), 1, "{p:?}");
            assert_eq!((p[0].0, p[0].1), ("hrsync.yaml", 3), "{p:?}");
            assert!(p[0].2.contains(message), "{days}: {p:?}");
        }
        let Err(ConfigError::Invalid(problems)) = load(&with_reports("{ retention: {} }")) else {
            panic!("days is required");
        };
        assert!(problems.iter().any(|d| d.message.contains("days")), "{problems}");
    }

    fn with_page(page: &str) -> Result<crate::config::Config, ConfigError> {
        load(
            &MemFiles::default()
                .with("hrsync.yaml", &format!("version: 1\nworkspace: t\nstatus_page:\n{page}\n")),
        )
    }

    #[test]
    fn the_status_page_takes_a_history_url_with_known_placeholders_and_bearer_or_basic_auth() {
        let config = load(&MemFiles::default().with("hrsync.yaml", "version: 1\nworkspace: t\n")).unwrap();
        assert_eq!(config.workspace.status_page.history_url, None);
        assert_eq!(config.workspace.status_page.history_link("b", "p"), None, "no URL, no links");
        let config = with_page(
            "  history_url: \"https://git.acme.example/idm/commits/{branch}/{path}\"\n  auth: bearer",
        )
        .unwrap();
        let page = &config.workspace.status_page;
        assert_eq!(page.auth, Some(PageAuth::Bearer));
        assert_eq!(
            page.history_link("hrsync/reports", "reports/corp näh").as_deref(),
            Some("https://git.acme.example/idm/commits/hrsync/reports/reports/corp%20n%C3%A4h")
        );
        let config =
            with_page("  auth: { basic: { username: ops, password: \"${env:HRSYNC_PAGE_PASSWORD}\" } }")
                .unwrap();
        assert_eq!(
            config.workspace.status_page.auth,
            Some(PageAuth::Basic {
                username: "ops".into(),
                password: SecretRef::Env("HRSYNC_PAGE_PASSWORD".into())
            })
        );
    }

    #[test]
    fn a_bad_history_url_or_auth_is_refused_at_its_line_with_a_hint() {
        for (page, line, message) in [
            ("  history_url: \"ftp://x/{path}\"", 4, "is not an https:// or http:// URL"),
            ("  history_url: \"https:///{path}\"", 4, "is not a URL with a host"),
            ("  history_url: \"https://x/{commit}/{path}\"", 4, "unknown placeholder `{commit}`"),
            ("  history_url: \"https://x/{path\"", 4, "without its `}`"),
            ("  auth: bearer\n  history_url: \"https://x/}\"", 5, "without its `{`"),
            ("  auth: { basic: { username: \"a:b\", password: \"${env:P}\" } }", 4, "must not be empty"),
            // A literal password, or an unknown kind, is refused by the schema.
            ("  auth: { basic: { username: ops, password: hunter2 } }", 4, "must be a reference"),
            ("  auth: token", 4, "expected \"bearer\""),
        ] {
            let Err(ConfigError::Invalid(problems)) = with_page(page) else { panic!("{page} is refused") };
            let p: Vec<_> = problems.iter().map(|d| (d.line, d.message.as_str(), d.hint.is_some())).collect();
            assert_eq!(p.len(), 1, "{page}: {p:?}");
            assert_eq!(p[0].0, line, "{page}: {p:?}");
            assert!(p[0].1.contains(message), "{page}: {p:?}");
            assert!(p[0].2, "{page}: a hint: {p:?}");
            assert!(!p[0].1.contains("hunter2"), "no secret in messages: {p:?}");
        }
        let Err(ConfigError::Invalid(problems)) = with_page("  auth: token") else { panic!() };
        let hint = problems.iter().next().and_then(|d| d.hint.clone()).unwrap_or_default();
        assert_eq!(hint, "write `bearer` or `{ basic: … }`");
    }

    #[test]
    fn the_cutoff_is_the_start_of_the_day_so_many_days_ago_in_the_time_zone() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let cutoff = |days, now: &str| Retention { days }.cutoff(now.parse().unwrap(), &berlin).unwrap();
        // Late on 30 June in UTC is already 1 July in Berlin (summer time, UTC+2).
        assert_eq!(cutoff(30, "2026-06-30T23:30:00Z").to_string(), "2026-05-31T22:00:00Z");
        // Across the change to winter time: midnight is at UTC+1 then.
        assert_eq!(cutoff(365, "2026-11-22T09:00:00Z").to_string(), "2025-11-21T23:00:00Z");
        assert_eq!(cutoff(1, "2026-01-01T12:00:00Z").to_string(), "2025-12-30T23:00:00Z");
        // The end of time is no panic.
        assert!(Retention { days: 36500 }.cutoff(Timestamp::MIN, &berlin).is_none());
    }
}
