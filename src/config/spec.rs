//! The YAML-facing types of the sync repository: one per document kind.
//!
//! These types mirror what users write, nothing more. Their doc comments become the
//! descriptions of the generated JSON Schema in `schema/`, so they are written for the
//! people editing the YAML. Checks that need more than one document (a filter id that
//! must exist, a template that must name a known field) happen in `config::compile`,
//! which turns these specs into the validated runtime types.
//!
//! Shared fields of sources and directories are flattened into each kind's struct. Serde
//! cannot deny unknown keys through `flatten`, so unknown keys are refused by the JSON
//! Schema validation that every document passes before it is deserialized (`load`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::secret::SecretRef;
use crate::model::Compare;

/// The document format version. Only `1` exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Version;

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(1)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u32::deserialize(d)? {
            1 => Ok(Version),
            other => Err(serde::de::Error::custom(format!(
                "unsupported version {other}: this hrsync reads version 1"
            ))),
        }
    }
}

impl JsonSchema for Version {
    fn schema_name() -> Cow<'static, str> {
        "Version".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The document format version. Always 1.",
            "const": 1
        })
    }
}

// ---------------------------------------------------------------------------------
// hrsync.yaml

/// `hrsync.yaml`: the workspace, with its time zone, schedule, safety limits, reports
/// and approvals.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSpec {
    /// Document format version: `1`.
    pub version: Version,
    /// Name of the workspace, used in reports and commit messages.
    pub workspace: String,
    /// Default IANA time zone for effective dates (start and end dates), for example
    /// `Europe/Berlin`.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Time zones by legal entity or work location. A person's effective dates are read
    /// in the zone of their work location, else of their legal entity, else of their
    /// source, else the workspace's.
    #[serde(default, skip_serializing_if = "TimezonesSpec::is_empty")]
    pub timezones: TimezonesSpec,
    /// When the daemon re-plans on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleSpec>,
    /// Limits that block a plan before it writes anything.
    #[serde(default)]
    pub safety: SafetySpec,
    /// Where plans and results are committed, and how personal data appears in them.
    #[serde(default)]
    pub reports: ReportsSpec,
    /// The daemon's status page at `/` of its listener: links to the reports' history
    /// and who may read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_page: Option<StatusPageSpec>,
    /// Plan ids approved through a reviewed commit. A plan blocked by a safety limit is
    /// applied once its exact id is listed here (or passed to `hrsync apply --approve`).
    #[serde(default)]
    pub approvals: Vec<String>,
    /// Bounded, expiring permissions for a mass change, committed through review (so
    /// that an approval survives the night and the next HR export, unlike a plan id):
    /// a plan of `directory` beyond the safety limits applies while its figures stay
    /// within the allowance, until the end of `until`. Expired ones are ignored, and
    /// `hrsync validate` names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowances: Vec<AllowanceSpec>,
    /// Notifications the daemon sends when something changes state: a plan blocked
    /// (with the approval to give), a run or directory failed, a source unhealthy, items
    /// failing above a threshold, and back to normal. One message per change, not one
    /// per run; a notification that cannot be delivered is logged and tried again, and
    /// never fails the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifySpec>,
}

/// `notify`: where the daemon says that something changed state.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifySpec {
    /// A directory with more than this many failed items in a run is in the state
    /// `item_failures` (default 0: any failed item).
    #[serde(default)]
    pub item_failures: u64,
    /// A link put in every message, for example the reports branch on your git host or
    /// the daemon's status page (`https://…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The channels, each of one kind: `webhook`, `slack`, `teams` or `email`.
    pub channels: Vec<ChannelSpec>,
}

/// One notification channel: exactly one of `webhook`, `slack`, `teams` or `email`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    /// The channel's name, which keys what it was last told (in the state directory's
    /// `notify.json`). Default: its kind; two channels of one kind need names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A generic webhook: a JSON body, signed with HMAC-SHA256 in
    /// `X-Hrsync-Signature-256: sha256=<hex>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookSpec>,
    /// A Slack incoming webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SecretUrlSpec>,
    /// A Microsoft Teams "Workflows" webhook (Power Automate), posted an Adaptive Card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<SecretUrlSpec>,
    /// E-mail over SMTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailSpec>,
    /// The events this channel gets (default: all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<NotifyEvent>>,
}

/// A generic webhook.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// The URL posted to: `https://…` (`http://` only to a loopback address).
    pub url: String,
    /// The key of the HMAC-SHA256 signature of each body (a secret reference).
    pub secret: SecretRef,
}

/// A webhook whose URL is itself the credential (Slack, Teams): a secret reference.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretUrlSpec {
    /// The webhook's URL, which lets anyone who has it post: a secret reference such as
    /// `${env:SLACK_WEBHOOK_URL}`, never the URL itself.
    pub url: SecretRef,
}

/// E-mail over SMTP.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSpec {
    /// The SMTP server.
    pub smtp: SmtpSpec,
    /// The sender, for example `hrsync@acme.example`.
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
}

/// An SMTP server.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpSpec {
    /// Its host name (the name its certificate holds).
    pub host: String,
    /// Its port; default 587 with `starttls`, 465 with `tls`, 25 with `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// How the connection is protected.
    #[serde(default)]
    pub tls: SmtpTls,
    /// A PEM file of CA certificates to trust for the server, instead of the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The user name to log in with (with `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password (a secret reference; with `username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
}

/// How an SMTP connection is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "TLS mode")]
pub enum SmtpTls {
    /// STARTTLS, required: nothing is sent to a server that does not offer it.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// No TLS at all: only to a server on a loopback address (a local relay).
    None,
}

/// What a channel is told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "notification event")]
pub enum NotifyEvent {
    /// A directory's plan is blocked by the safety limits, with the approval to give.
    Blocked,
    /// The run failed as a whole, or a directory failed.
    RunFailed,
    /// A source is unhealthy.
    SourceUnhealthy,
    /// A directory had more failed items than `item_failures`.
    ItemFailures,
    /// What was blocked, failed or unhealthy is back to normal.
    Recovered,
}

impl NotifyEvent {
    /// Every event, in order.
    pub const ALL: [NotifyEvent; 5] = [
        NotifyEvent::Blocked,
        NotifyEvent::RunFailed,
        NotifyEvent::SourceUnhealthy,
        NotifyEvent::ItemFailures,
        NotifyEvent::Recovered,
    ];

    /// The spelling in `hrsync.yaml` and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::Blocked => "blocked",
            NotifyEvent::RunFailed => "run_failed",
            NotifyEvent::SourceUnhealthy => "source_unhealthy",
            NotifyEvent::ItemFailures => "item_failures",
            NotifyEvent::Recovered => "recovered",
        }
    }
}

/// One allowance: "allow up to 300 disables in `corp` until 2026-12-05, reason: closing
/// the Lyon office".
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowanceSpec {
    /// The directory it is for.
    pub directory: String,
    /// The most disables plus deletes a plan may have (a shrunk source's plan
    /// included). Absent: the directory's own limits on disables still apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_disables: Option<u64>,
    /// The most updates a plan may have. Absent: the directory's own limits on updates
    /// still apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_updates: Option<u64>,
    /// The last day it holds, `YYYY-MM-DD` in the workspace time zone.
    pub until: String,
    /// Why, as reviewers agreed: shown in plans, reviews and job results.
    pub reason: String,
}

fn default_timezone() -> String {
    "UTC".to_owned()
}

/// Time zones by legal entity and work location.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimezonesSpec {
    /// Legal entity → IANA time zone.
    #[serde(default)]
    pub legal_entities: BTreeMap<String, String>,
    /// Work location → IANA time zone.
    #[serde(default)]
    pub work_locations: BTreeMap<String, String>,
}

impl TimezonesSpec {
    fn is_empty(&self) -> bool {
        self.legal_entities.is_empty() && self.work_locations.is_empty()
    }
}

/// The daemon's schedule.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// How often to re-plan, for example `1h`, `30m` or `1d`.
    pub interval: String,
    /// When the first scheduled run happens, as an RFC 3339 time; later runs follow at
    /// the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
}

/// Safety limits. A plan that exceeds any of them is blocked until approved by its id.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SafetySpec {
    /// Disables plus deletes, as a percentage of the entries hrsync manages in a directory.
    #[serde(default = "default_max_disable_percent")]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_disable_percent: f64,
    /// Updates, as a percentage of the managed entries.
    #[serde(default = "default_max_update_percent")]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_update_percent: f64,
    /// Disables plus deletes, as a count. No count limit when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_disable_count: Option<u64>,
    /// Updates, as a count. No count limit when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_update_count: Option<u64>,
    /// A source that returns fewer people than this share of its last good read is
    /// unhealthy, and nothing is written for it.
    #[serde(default = "default_min_source_share")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_source_share: f64,
    /// A source read that skips more than this share of its rows (people, employments
    /// and org units: malformed dates, wrong column counts …) is unhealthy, and nothing is written for it, on a
    /// first run too.
    #[serde(default = "default_max_skipped_share", skip_serializing_if = "is_default_max_skipped_share")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub max_skipped_share: f64,
    /// While a source's read skips rows of people, nobody of that source's directory
    /// becomes a leaver by being absent in this run: a skipped row may hide people who
    /// are still there. Leavers with an end date or a terminated status still leave.
    /// Set `false` to disable entries no person matches all the same.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub hold_leavers_on_skipped_rows: bool,
    /// Members removed from one group, as a percentage of its members; removals of up
    /// to `group_member_removals_allowed` never count.
    #[serde(
        default = "default_max_group_member_removal_percent",
        skip_serializing_if = "is_default_max_group_member_removal_percent"
    )]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_group_member_removal_percent: f64,
    /// Removals from one group that never block, however small the group.
    #[serde(
        default = "default_group_member_removals_allowed",
        skip_serializing_if = "is_default_group_member_removals_allowed"
    )]
    pub group_member_removals_allowed: u64,
    /// Groups deleted, as a percentage of the groups hrsync owns in the directory; one
    /// deletion never counts.
    #[serde(
        default = "default_max_group_delete_percent",
        skip_serializing_if = "is_default_max_group_delete_percent"
    )]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_group_delete_percent: f64,
}

fn default_max_group_member_removal_percent() -> f64 {
    30.0
}
#[allow(clippy::trivially_copy_pass_by_ref, clippy::float_cmp)] // serde's signature; the default is exact
fn is_default_max_group_member_removal_percent(v: &f64) -> bool {
    *v == default_max_group_member_removal_percent()
}
fn default_group_member_removals_allowed() -> u64 {
    2
}
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn is_default_group_member_removals_allowed(v: &u64) -> bool {
    *v == default_group_member_removals_allowed()
}
fn default_max_group_delete_percent() -> f64 {
    20.0
}
#[allow(clippy::trivially_copy_pass_by_ref, clippy::float_cmp)] // serde's signature; the default is exact
fn is_default_max_group_delete_percent(v: &f64) -> bool {
    *v == default_max_group_delete_percent()
}

fn default_max_skipped_share() -> f64 {
    0.05
}
#[allow(clippy::trivially_copy_pass_by_ref, clippy::float_cmp)] // serde's signature; the default is exact
fn is_default_max_skipped_share(share: &f64) -> bool {
    *share == default_max_skipped_share()
}
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn is_true(b: &bool) -> bool {
    *b
}

fn default_max_disable_percent() -> f64 {
    20.0
}
fn default_max_update_percent() -> f64 {
    50.0
}
fn default_min_source_share() -> f64 {
    0.8
}

impl Default for SafetySpec {
    fn default() -> Self {
        SafetySpec {
            max_disable_percent: default_max_disable_percent(),
            max_update_percent: default_max_update_percent(),
            max_disable_count: None,
            max_update_count: None,
            min_source_share: default_min_source_share(),
            max_skipped_share: default_max_skipped_share(),
            hold_leavers_on_skipped_rows: true,
            max_group_member_removal_percent: default_max_group_member_removal_percent(),
            group_member_removals_allowed: default_group_member_removals_allowed(),
            max_group_delete_percent: default_max_group_delete_percent(),
        }
    }
}

/// Where reports go and how they show personal data.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportsSpec {
    /// The git branch reports are committed to.
    #[serde(default = "default_reports_branch")]
    pub branch: String,
    /// The folder inside that branch.
    #[serde(default = "default_reports_path")]
    pub path: String,
    /// How personal data appears in reports: `full`, `masked` (default) or `hashed`.
    #[serde(default)]
    pub pii: PiiSpec,
    /// The key of the keyed hash used by `pii: hashed`. Required for that mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii_key: Option<SecretRef>,
    /// How long reports are kept in the branch's history. Off by default: git history
    /// is kept forever. With it, `hrsync validate` and the daemon warn when the branch
    /// holds older commits, and `hrsync reports prune` (run from cron or CI; the daemon
    /// never rewrites history) removes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionSpec>,
}

/// The daemon's status page (`GET /` of `--listen`, and `/status`, which shows the same).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusPageSpec {
    /// Where the history of the reports can be browsed, for links from the page: an
    /// `https://` (or `http://`) URL in which `{branch}` is replaced by the reports
    /// branch and `{path}` by the folder of a directory's reports (`reports/corp`), each
    /// URL-encoded as path segments; for example
    /// `https://github.com/acme/idm-sync/commits/{branch}/{path}`. Without it the page
    /// has no links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_url: Option<String>,
    /// Credentials the page (and `/status`) asks for: `bearer` (the token of `POST
    /// /runs`, `HRSYNC_RUNS_TOKEN`) or `{ basic: { username, password } }`. Without it
    /// the page is open to whoever reaches the listener (loopback by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<PageAuthSpec>,
}

/// How the status page is protected.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PageAuthSpec {
    /// `Authorization: Bearer` with the token of `POST /runs` (`HRSYNC_RUNS_TOKEN`);
    /// without that variable the page refuses everyone.
    Bearer,
    /// HTTP basic authentication.
    Basic(BasicAuthSpec),
}

/// A user name and a password reference for HTTP basic authentication.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthSpec {
    /// The user name.
    pub username: String,
    /// The password: a reference such as `${env:HRSYNC_PAGE_PASSWORD}`.
    pub password: SecretRef,
}

/// How long the reports branch keeps its history.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionSpec {
    /// Days of history to keep: `hrsync reports prune` removes the commits made before
    /// today (in the workspace time zone) minus this many days. At most 36500.
    #[schemars(range(min = 1, max = 36500))]
    pub days: u32,
}

fn default_reports_branch() -> String {
    "hrsync/reports".to_owned()
}
fn default_reports_path() -> String {
    "reports".to_owned()
}

impl Default for ReportsSpec {
    fn default() -> Self {
        ReportsSpec {
            branch: default_reports_branch(),
            path: default_reports_path(),
            pii: PiiSpec::default(),
            pii_key: None,
            retention: None,
        }
    }
}

/// How personal data appears in reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "personal data policy")]
pub enum PiiSpec {
    /// Values as they are. Only for reports that never leave a trusted place.
    Full,
    /// Personal values shortened to a first letter (and an email's domain); safe to push.
    #[default]
    Masked,
    /// Personal values replaced by a keyed hash, so equal values can be recognised but
    /// not guessed back.
    Hashed,
}

// ---------------------------------------------------------------------------------
// sources/*.yaml

/// `sources/<id>.yaml`: one HR source.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SourceSpec {
    /// A CSV export.
    Csv(CsvSourceSpec),
    /// A JSON export.
    Json(JsonSourceSpec),
    /// A JSON API over HTTP, declared: URL, authentication, pagination, field keys.
    Rest(Box<RestSourceSpec>),
    /// BambooHR: a custom report of every employee, and `/employees/changed` for deltas.
    Bamboohr(Box<HrSourceSpec>),
    /// Personio: API v2 persons and employments (client credentials).
    Personio(Box<HrSourceSpec>),
    /// HiBob: `people/search` as a service user, inactive people included.
    Hibob(Box<HrSourceSpec>),
    /// AFAS Profit: a GetConnector read with an `AfasToken`.
    Afas(Box<HrSourceSpec>),
    /// Kombo's unified HRIS API (`/hris/employees`).
    Kombo(Box<HrSourceSpec>),
    /// Merge's unified HRIS API (`/hris/v1/employees`).
    Merge(Box<HrSourceSpec>),
    /// Microsoft Entra ID users through Microsoft Graph `/users/delta`.
    Entraid(Box<HrSourceSpec>),
    /// A Workday report as a service (RaaS) in JSON.
    Workday(Box<HrSourceSpec>),
}

impl SourceSpec {
    /// The fields every kind of source has.
    pub fn common(&self) -> &SourceCommonSpec {
        match self {
            SourceSpec::Csv(spec) => &spec.common,
            SourceSpec::Json(spec) => &spec.common,
            SourceSpec::Rest(spec) => &spec.common,
            SourceSpec::Bamboohr(spec)
            | SourceSpec::Personio(spec)
            | SourceSpec::Hibob(spec)
            | SourceSpec::Afas(spec)
            | SourceSpec::Kombo(spec)
            | SourceSpec::Merge(spec)
            | SourceSpec::Entraid(spec)
            | SourceSpec::Workday(spec) => &spec.common,
        }
    }

    /// The `type` value of this kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            SourceSpec::Csv(_) => "csv",
            SourceSpec::Json(_) => "json",
            SourceSpec::Rest(_) => "rest",
            other => other.hr().map_or("rest", |(vendor, _)| vendor.type_name()),
        }
    }

    /// The vendor and settings of an HR connector.
    pub fn hr(&self) -> Option<(Vendor, &HrSourceSpec)> {
        Some(match self {
            SourceSpec::Csv(_) | SourceSpec::Json(_) | SourceSpec::Rest(_) => return None,
            SourceSpec::Bamboohr(spec) => (Vendor::Bamboohr, spec),
            SourceSpec::Personio(spec) => (Vendor::Personio, spec),
            SourceSpec::Hibob(spec) => (Vendor::Hibob, spec),
            SourceSpec::Afas(spec) => (Vendor::Afas, spec),
            SourceSpec::Kombo(spec) => (Vendor::Kombo, spec),
            SourceSpec::Merge(spec) => (Vendor::Merge, spec),
            SourceSpec::Entraid(spec) => (Vendor::Entraid, spec),
            SourceSpec::Workday(spec) => (Vendor::Workday, spec),
        })
    }
}

/// Fields every source has.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SourceCommonSpec {
    /// Document format version: `1`.
    pub version: Version,
    /// The source id. Defaults to the file name without `.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What this source is, for people reading the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A disabled source is skipped with the reason `disabled`; it is never an error.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// When two sources describe the same person, each field comes from the source with
    /// the highest priority that has a value for it.
    #[serde(default)]
    pub priority: i32,
    /// IANA time zone of this source's dates, when it differs from the workspace's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Fields that identify the same person in another source, tried in order.
    #[serde(default = "default_match_key")]
    pub match_key: Vec<String>,
    /// Named filters (`filters/<id>.yaml`) deciding which of this source's people are
    /// synced. All of them must include a person.
    #[serde(default)]
    pub filters: Vec<String>,
    /// Ask the source only for what changed since the last successful sync, where it
    /// supports that. File sources always read everything.
    #[serde(default)]
    pub delta: bool,
    /// Maps values of a field to the values hrsync uses, for example
    /// `employment_status: { Aktiv: active, Ausgetreten: terminated }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// How dates are written, as a strftime pattern. Default `%Y-%m-%d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
}

fn yes() -> bool {
    true
}

fn default_match_key() -> Vec<String> {
    vec!["employee_number".to_owned()]
}

/// A CSV source.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CsvSourceSpec {
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub common: SourceCommonSpec,
    /// The people file, relative to the sync repository (or absolute).
    pub path: String,
    /// Column separator. Default `,`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// Person field → column header, where the header is not the field's own name.
    /// Custom attributes are `custom.<name>`.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// A CSV file of employments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employments: Option<CsvTableSpec>,
    /// A CSV file of org units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_units: Option<CsvTableSpec>,
}

/// A further CSV file of a source (employments or org units).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvTableSpec {
    /// The file, relative to the sync repository (or absolute).
    pub path: String,
    /// Field → column header, where the header is not the field's own name.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
}

/// A JSON source: a file holding an array of people, or an object whose arrays hold
/// people, employments and org units.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct JsonSourceSpec {
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub common: SourceCommonSpec,
    /// The file, relative to the sync repository (or absolute).
    pub path: String,
    /// Where the people are: a JSON pointer such as `/employees`. Default: the document
    /// itself when it is an array, else `/people`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people: Option<String>,
    /// Person field → key in each item, where the key is not the field's own name.
    /// Nested keys are written with dots: `contact.email`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Where the employments are, and their keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employments: Option<JsonTableSpec>,
    /// Where the org units are, and their keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_units: Option<JsonTableSpec>,
}

/// A JSON API of people, read page by page over HTTP (GET only).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RestSourceSpec {
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub common: SourceCommonSpec,
    /// The people endpoint (`url`, the full URL), its authentication, timeouts, retries
    /// and `page_size` (records asked per page).
    pub connection: HttpConnectionSpec,
    /// Query parameters sent with every page, for example `{ status: all }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// Headers sent with every request, for example `{ X-Integration-Id: acme-hris }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Headers whose values are secrets, as secret references, for example
    /// `{ X-Account-Token: "${env:MERGE_ACCOUNT_TOKEN}" }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_headers: BTreeMap<String, SecretRef>,
    /// Where the people are in each page: a JSON pointer such as `/data`. Default: the
    /// page itself when it is an array, else `/data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<String>,
    /// How the API pages. Default: everything in one answer.
    #[serde(default)]
    pub pagination: PaginationSpec,
    /// A JSON pointer to the total number of people in the first page (`/meta/total`).
    /// A read that ends with another count is incomplete, and the source unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
    /// With `delta: true`: the query parameter that asks for people changed since the
    /// last successful sync (sent as an RFC 3339 time), for example `updated_since`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_param: Option<String>,
    /// Person field → key in each record, where the key is not the field's own name.
    /// Nested keys are written with dots: `work.email`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The employments endpoint, read with the same connection (and `since_param`, on
    /// a delta read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employments: Option<RestTableSpec>,
    /// The org units endpoint, read in full on every run with the same connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_units: Option<RestTableSpec>,
}

/// An HR system hrsync has a connector for (`type: bamboohr`, `personio`, …): the
/// vendor's own authentication, paging, deltas and deletion markers are built in, and
/// `fields` overrides the default mapping field by field.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct HrSourceSpec {
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub common: SourceCommonSpec,
    /// How to reach the vendor's API and the credentials to use; which keys a vendor
    /// takes is in `examples/sources/<type>.yaml`.
    pub connection: HrConnectionSpec,
    /// Person field → key in the vendor's record (dots for nested keys), overriding the
    /// default mapping; custom attributes are `custom.<name>`. An empty key unmaps a
    /// default.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// With `delta: true`, how often a full read runs anyway: only full reads see who
    /// is gone. A jiff span such as `24h` or `7d`. Default `24h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_every: Option<String>,
    /// AFAS: the GetConnector to read. Workday: the report's path after
    /// `customreport2/`, `<tenant>/<owner>/<report>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// AFAS: the field the GetConnector is ordered by (pages are stable only when
    /// ordered). Default `EmployeeId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
    /// AFAS and Workday: the field (AFAS) or report prompt (Workday) that asks for
    /// records changed since a time, for delta reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_since: Option<String>,
    /// Query parameters added to every people request (vendor filters), for example
    /// Kombo's `{ legal_entity_ids: "…" }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
}

/// How to reach an HR vendor's API. Each vendor takes the keys it needs and refuses the
/// others.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HrConnectionSpec {
    /// The API's base URL, when not the vendor's default (a region, a sandbox, a proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// BambooHR: the company's subdomain (`acme` of `acme.bamboohr.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_domain: Option<String>,
    /// AFAS: the environment number (`12345` of `12345.rest.afas.online`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Entra ID: the tenant id or a verified domain. Workday: the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// BambooHR, Kombo, Merge: the API key, as a secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<SecretRef>,
    /// Personio, Entra ID, Workday (OAuth): the client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Personio, Entra ID, Workday (OAuth): the client secret, as a secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretRef>,
    /// The token endpoint, when not the vendor's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// HiBob: the service user's id. Workday: the integration system user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// HiBob: the service user's token. AFAS: the XML token (`<token>…</token>`).
    /// Workday: the integration system user's password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretRef>,
    /// Kombo: the integration id (`X-Integration-Id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<String>,
    /// Merge: the linked account's token (`X-Account-Token`), as a secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_token: Option<SecretRef>,
    /// A PEM file of certificate authorities to trust besides the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Seconds before a request is given up. Default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u64>,
    /// Retries of a request that failed for a passing reason (429, 503, a dropped
    /// connection). Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 20))]
    pub retries: Option<u32>,
    /// Records asked per page, when the API pages; default and maximum per vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub page_size: Option<u32>,
    /// Requests in flight at once, where the connector reads in parallel (Personio's
    /// employments, AFAS). Default and maximum per vendor (AFAS allows 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 16))]
    pub concurrency: Option<usize>,
}

/// HR systems with a built-in connector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Vendor {
    /// BambooHR.
    Bamboohr,
    /// Personio.
    Personio,
    /// HiBob.
    Hibob,
    /// AFAS Profit.
    Afas,
    /// Kombo.
    Kombo,
    /// Merge.
    Merge,
    /// Microsoft Entra ID.
    Entraid,
    /// Workday.
    Workday,
}

impl Vendor {
    /// Every vendor.
    pub const ALL: [Vendor; 8] = [
        Vendor::Bamboohr,
        Vendor::Personio,
        Vendor::Hibob,
        Vendor::Afas,
        Vendor::Kombo,
        Vendor::Merge,
        Vendor::Entraid,
        Vendor::Workday,
    ];

    /// The `type` value.
    pub fn type_name(self) -> &'static str {
        match self {
            Vendor::Bamboohr => "bamboohr",
            Vendor::Personio => "personio",
            Vendor::Hibob => "hibob",
            Vendor::Afas => "afas",
            Vendor::Kombo => "kombo",
            Vendor::Merge => "merge",
            Vendor::Entraid => "entraid",
            Vendor::Workday => "workday",
        }
    }

    /// The vendor's name, as people write it.
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Bamboohr => "BambooHR",
            Vendor::Personio => "Personio",
            Vendor::Hibob => "HiBob",
            Vendor::Afas => "AFAS",
            Vendor::Kombo => "Kombo",
            Vendor::Merge => "Merge",
            Vendor::Entraid => "Microsoft Entra ID",
            Vendor::Workday => "Workday",
        }
    }
}

/// A further endpoint of a REST source, read with the source's connection.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestTableSpec {
    /// The endpoint's full URL.
    pub url: String,
    /// Query parameters sent with every page.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// Where the records are in each page, as for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<String>,
    /// How this endpoint pages. Default: everything in one answer.
    #[serde(default)]
    pub pagination: PaginationSpec,
    /// Field → key, where the key is not the field's own name (org units: `id`, `name`,
    /// `parent`; employments: `id`, `person`, `employment_type`, `legal_entity`,
    /// `job_title`, `start_date`, `end_date`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// How a REST source pages.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaginationSpec {
    /// `none` (one answer holds everyone, the default); `page` (`?page=1&per_page=100`,
    /// …); `offset` (`?offset=0&limit=100`, …); `cursor` (each page gives the next
    /// page's cursor at `next`); `link` (each page links the next: a URL at `next`, or
    /// the `Link: <…>; rel="next"` header when `next` is not given). Numbered pages and
    /// offsets end at an empty page or one shorter than the longest before it.
    #[serde(default)]
    pub style: PageStyle,
    /// The page number, offset or cursor parameter. Default `page`, `offset`, `cursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// The page size parameter. Default `per_page` (page), `limit` (offset); none for
    /// cursors and links unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_param: Option<String>,
    /// The number of the first page (`page`). Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    /// JSON pointer to the next cursor (`cursor`, required) or next URL (`link`) in
    /// each page, for example `/meta/next_cursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Paging styles of a REST source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "paging style")]
pub enum PageStyle {
    /// One answer holds everyone.
    #[default]
    None,
    /// Numbered pages.
    Page,
    /// Offsets.
    Offset,
    /// A cursor in each page.
    Cursor,
    /// A link to the next page.
    Link,
}

impl PageStyle {
    /// The name written in the source file.
    pub fn name(self) -> &'static str {
        match self {
            PageStyle::None => "none",
            PageStyle::Page => "page",
            PageStyle::Offset => "offset",
            PageStyle::Cursor => "cursor",
            PageStyle::Link => "link",
        }
    }
}

/// A further array of a JSON source.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonTableSpec {
    /// JSON pointer to the array, for example `/employments`.
    pub pointer: String,
    /// Field → key, where the key is not the field's own name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

// ---------------------------------------------------------------------------------
// directories/*.yaml

/// `directories/<id>.yaml`: one target directory.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DirectorySpec {
    /// The embedded directory: entries kept as JSON files under the state directory.
    File(Box<FileDirectorySpec>),
    /// An LDAP directory: OpenLDAP (inetOrgPerson) or Active Directory.
    Ldap(Box<LdapDirectorySpec>),
    /// An application speaking SCIM 2.0 (RFC 7643/7644): Users and the enterprise
    /// extension.
    Scim(Box<ScimDirectorySpec>),
    /// Microsoft Entra ID, through Microsoft Graph v1.0 users.
    Entraid(Box<EntraDirectorySpec>),
}

impl DirectorySpec {
    /// The fields every kind of directory has.
    pub fn common(&self) -> &DirectoryCommonSpec {
        match self {
            DirectorySpec::File(spec) => &spec.common,
            DirectorySpec::Ldap(spec) => &spec.common,
            DirectorySpec::Scim(spec) => &spec.common,
            DirectorySpec::Entraid(spec) => &spec.common,
        }
    }

    /// The `type` value of this kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            DirectorySpec::File(_) => "file",
            DirectorySpec::Ldap(_) => "ldap",
            DirectorySpec::Scim(_) => "scim",
            DirectorySpec::Entraid(_) => "entraid",
        }
    }
}

/// What hrsync does with a directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "directory mode")]
pub enum Mode {
    /// Simulation: plans and reports, never writes. The default, so a new directory is
    /// safe until someone turns it on.
    #[default]
    Plan,
    /// Active: plans, then applies what the safety limits allow.
    Apply,
    /// Deactivated: skipped with a reason.
    Off,
}

impl Mode {
    /// The spelling used in config and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Plan => "plan",
            Mode::Apply => "apply",
            Mode::Off => "off",
        }
    }
}

/// Fields every directory has.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DirectoryCommonSpec {
    /// Document format version: `1`.
    pub version: Version,
    /// The directory id. Defaults to the file name without `.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What this directory is, for people reading the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `plan` (simulation, the default), `apply` (active) or `off` (deactivated).
    #[serde(default)]
    pub mode: Mode,
    /// Named filters that further restrict who gets an entry in this directory.
    #[serde(default)]
    pub filters: Vec<String>,
    /// How a person's existing entry is found, tried in order; the first rule that
    /// finds exactly one entry wins.
    #[serde(rename = "match")]
    pub match_rules: Vec<MatchRuleSpec>,
    /// Directory attribute → how its value is made from the person.
    pub fields: IndexMap<String, FieldSpec>,
    /// Which entries hrsync owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeSpec>,
    /// When new people get their entry.
    #[serde(default)]
    pub joiners: JoinersSpec,
    /// What happens to the entries of people who left.
    #[serde(default)]
    pub leavers: LeaversSpec,
    /// Safety limits for this directory, replacing the workspace's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety: Option<SafetySpec>,
    /// Where this directory keeps its groups, for the definitions of `groups/*.yaml`.
    /// Without it, no group is synced to the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<DirectoryGroupsSpec>,
}

/// How a directory keeps groups. hrsync owns the groups whose key attribute holds
/// its key (`hrsync:<workspace>/<directory>:<definition>:<value>`): it creates, renames, fills and deletes
/// those, and never touches another group. A group of the wanted name without the key is
/// left alone, and its row says how to hand it over.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectoryGroupsSpec {
    /// LDAP (required there): the container groups are read from and created in, for
    /// example `ou=groups,dc=acme,dc=example`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// OpenLDAP: `groupOfNames` (the default, members in `member`) or
    /// `groupOfUniqueNames` (members in `uniqueMember`). Active Directory groups are
    /// always `group`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_class: Option<GroupObjectClass>,
    /// The attribute that holds hrsync's key of a group. Default: `businessCategory`
    /// (OpenLDAP), `adminDescription` (Active Directory), `externalId` (SCIM),
    /// `description` (Entra ID), `key` (the embedded directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_attribute: Option<String>,
}

/// LDAP group object classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[schemars(title = "LDAP group object class")]
pub enum GroupObjectClass {
    /// `groupOfNames`, members in `member`.
    #[serde(rename = "groupOfNames")]
    GroupOfNames,
    /// `groupOfUniqueNames`, members in `uniqueMember`.
    #[serde(rename = "groupOfUniqueNames")]
    GroupOfUniqueNames,
}

/// One step of the match key chain.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchRuleSpec {
    /// The person field, for example `employee_number`.
    pub person: String,
    /// The directory attribute holding it, for example `employeeNumber`. It must be
    /// one of `fields`, so that entries hrsync creates can be found again.
    pub attribute: String,
}

/// How one directory attribute is made. Give exactly one of `value`, `candidates` or
/// `manager`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// A template such as `"{{ first_name }} {{ last_name }}"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Templates tried in order; with `unique: true`, the first whose value is free.
    /// `{{ n }}` counts 2, 3, … in a candidate until the value is free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<Vec<String>>,
    /// The value must not be used by another entry of the directory.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
    /// The attribute references the entry of the person's manager.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manager: bool,
    /// `continuous` (the default: HR always wins, manual edits are overwritten and
    /// reported as drift), `import_once` (set when the entry is created, then left
    /// alone) or `ignore` (declared, never written).
    #[serde(default)]
    pub mode: FieldMode,
    /// How values are compared with what the directory holds: `exact`, `ignore_case`,
    /// `dn` or `phone`. Defaults depend on the directory and attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<Compare>,
}

/// Field modes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "field mode")]
pub enum FieldMode {
    /// HR always wins.
    #[default]
    Continuous,
    /// Set at create only.
    ImportOnce,
    /// Never written.
    Ignore,
}

impl FieldMode {
    /// The spelling used in config and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldMode::Continuous => "continuous",
            FieldMode::ImportOnce => "import_once",
            FieldMode::Ignore => "ignore",
        }
    }
}

/// Which entries hrsync owns.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeSpec {
    /// Entries carrying this attribute with this value are managed by hrsync; hrsync
    /// sets it on every entry it creates or takes over, and never disables or deletes
    /// an entry without it. Without a marker, every entry in scope is managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<MarkerSpec>,
    /// LDAP: the subtree hrsync reads and writes, for example
    /// `ou=people,dc=acme,dc=example`. Nothing outside it is ever touched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// LDAP: a search filter narrowing the scope further, for example
    /// `(objectClass=inetOrgPerson)` (the default is the entry's last object class;
    /// for Active Directory `(&(objectCategory=person)(objectClass=user))`, as computers
    /// are users too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// An ownership marker.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkerSpec {
    /// The attribute.
    pub attribute: String,
    /// The value that marks an entry as hrsync's; hrsync sets it, so the attribute must
    /// not be one of `fields`. Without a value, an entry is hrsync's when the attribute
    /// is present at all (a SCIM `externalId`), and the attribute must be one of
    /// `fields`, which is how hrsync sets it. `{{ owner }}` in the value stands for
    /// `<workspace>/<directory>`: entries whose value names another owner are left to
    /// that configuration (never taken over, updated, disabled or deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// When joiners get their entry.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct JoinersSpec {
    /// Create a future joiner's entry this many days before their start date; it stays
    /// disabled until then.
    #[serde(default)]
    pub pre_provision_days: u32,
}

/// What happens to leavers' entries.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LeaversSpec {
    /// `disable` (the default), `delete`, or `ignore`.
    #[serde(default)]
    pub action: LeaverAction,
    /// Days to wait after someone left before acting.
    #[serde(default)]
    pub grace_days: u32,
    /// With `action: disable`: delete the entry this many days after it was disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_after_days: Option<u32>,
}

impl Default for LeaversSpec {
    fn default() -> Self {
        LeaversSpec { action: LeaverAction::Disable, grace_days: 0, delete_after_days: None }
    }
}

/// Leaver actions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "leaver action")]
pub enum LeaverAction {
    /// Disable the entry.
    #[default]
    Disable,
    /// Delete the entry.
    Delete,
    /// Leave the entry alone.
    Ignore,
}

/// The embedded directory.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FileDirectorySpec {
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub common: DirectoryCommonSpec,
    /// The folder holding the entries, relative to the state directory. Default
    /// `directories/<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The attribute whose value names a new entry (its id). Default: the attribute of
    /// the first match rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_attribute: Option<String>,
    /// Entries per page when reading. Default 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub page_size: Option<usize>,
}

/// An LDAP directory.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LdapDirectorySpec {
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub common: DirectoryCommonSpec,
    /// How to reach the server and bind.
    pub connection: LdapConnectionSpec,
    /// `openldap` (the default) or `active_directory`, which changes the defaults of
    /// object classes and how accounts are disabled (`userAccountControl`).
    #[serde(default)]
    pub flavor: LdapFlavor,
    /// How new entries are named and made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<LdapEntrySpec>,
    /// How an account is disabled: give `attribute` and `value` (set to disable,
    /// removed to enable), or `move_to` (an OU disabled entries are moved into). Active
    /// Directory disables through `userAccountControl` when this is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable: Option<LdapDisableSpec>,
    /// Active Directory only: the random initial password set in `unicodePwd` when an
    /// account is created (AD refuses enabled accounts without one under most password
    /// policies). Default: 24 characters, changed at first sign-in (`pwdLastSet: 0`).
    /// Needs `ldaps://` or StartTLS; never stored or printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passwords: Option<PasswordSpec>,
    /// Active Directory only: the subtree in which the values of `unique` fields and
    /// `userPrincipalName` must be free. Default: the whole domain (the `DC=` part of
    /// `scope.base`), since AD keeps `sAMAccountName` unique in the domain. Narrow it
    /// only for a service account that may not read the domain: a value taken outside
    /// it is then found when the create is refused, and the next candidate is taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_base: Option<String>,
}

/// LDAP connection settings.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LdapConnectionSpec {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS.
    #[serde(default)]
    pub starttls: bool,
    /// A PEM file of the certificate authorities to trust (the system's are trusted
    /// when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The DN to bind as. Anonymous when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_dn: Option<String>,
    /// The bind password, as a secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
    /// Seconds to wait for the server before an operation fails. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u64>,
    /// Entries per page of the paged search. Default 500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub page_size: Option<u32>,
    /// Connections writes are spread over (reads use the first). Default 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 16))]
    pub connections: Option<usize>,
    /// Writes in flight at once, over all connections. Default 4 per connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 256))]
    pub concurrency: Option<usize>,
}

/// LDAP server families.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "LDAP flavor")]
pub enum LdapFlavor {
    /// OpenLDAP and other RFC 4519 servers: inetOrgPerson.
    #[default]
    Openldap,
    /// Microsoft Active Directory: user objects, sAMAccountName, userAccountControl.
    ActiveDirectory,
}

/// How new LDAP entries are named and made.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LdapEntrySpec {
    /// The attribute naming an entry in its DN (the RDN), for example `cn` or `uid`.
    /// It must be one of `fields`; when its value changes, the entry is renamed.
    #[serde(default = "default_rdn")]
    pub rdn: String,
    /// Object classes of new entries. Default `[inetOrgPerson]`, or
    /// `[top, person, organizationalPerson, user]` for Active Directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub object_classes: Vec<String>,
    /// Where new entries are created. Default: `scope.base`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

fn default_rdn() -> String {
    "cn".to_owned()
}

/// How an LDAP account is disabled.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LdapDisableSpec {
    /// An attribute set to `value` while the account is disabled, for example
    /// `pwdAccountLockedTime` with `000001010000Z` (OpenLDAP password policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// The value of `attribute`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// An OU disabled entries are moved into, and moved out of when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub move_to: Option<String>,
}

/// A SCIM 2.0 application. Field names are SCIM attribute paths, as PATCH uses them:
/// `userName`, `name.givenName`, `emails[type eq "work"].value`,
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`; the
/// enterprise `manager` takes `manager: true`. The account's `active` flag is the
/// enabled state. Entries with an `externalId` are hrsync's unless `scope.marker` says
/// otherwise, so map `externalId`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ScimDirectorySpec {
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub common: DirectoryCommonSpec,
    /// How to reach the service.
    pub connection: ScimConnectionSpec,
}

/// How to reach a SCIM service: an HTTP API's settings, and whether writes may go in
/// `/Bulk` requests.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ScimConnectionSpec {
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub http: HttpConnectionSpec,
    /// Send writes of users in SCIM `/Bulk` requests (RFC 7644 §3.7) when the service's
    /// `/ServiceProviderConfig` says it supports them, within its `maxOperations` and
    /// `maxPayloadSize`; `false` sends every write as a request of its own. Default
    /// `true`. A service that does not support `/Bulk`, or does not say, gets single
    /// requests either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk: Option<bool>,
}

/// How to reach an HTTP API.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpConnectionSpec {
    /// Base URL, for example `https://app.example/scim/v2`.
    pub url: String,
    /// A static bearer token, as a secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretRef>,
    /// OAuth2 client credentials, instead of a static token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthSpec>,
    /// A PEM file of certificate authorities to trust besides the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Seconds before a request is given up. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u64>,
    /// Requests in flight at once. Default 8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 64))]
    pub concurrency: Option<usize>,
    /// Retries of a request that failed for a passing reason (429, 503, a dropped
    /// connection). Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 20))]
    pub retries: Option<u32>,
    /// Entries per page when listing. Default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub page_size: Option<u32>,
}

/// Microsoft Entra ID. Field names are Graph user properties (`displayName`,
/// `givenName`, `surname`, `userPrincipalName`, `mail`, `mailNickname`, `employeeId`,
/// `jobTitle`, `department`, `officeLocation`, `companyName`, `mobilePhone`,
/// `businessPhones` …, and dotted paths such as
/// `onPremisesExtensionAttributes.extensionAttribute1`); the manager takes
/// `manager: true`; `accountEnabled` is the enabled state. Entries carrying the first
/// match attribute (usually `employeeId`) are hrsync's unless `scope.marker` says
/// otherwise.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EntraDirectorySpec {
    #[serde(flatten)]
    #[allow(missing_docs)]
    pub common: DirectoryCommonSpec,
    /// The tenant and the app registration hrsync signs in as.
    pub connection: EntraConnectionSpec,
    /// Initial passwords of new users: generated, never shown or stored.
    #[serde(default)]
    pub passwords: PasswordSpec,
}

/// How hrsync signs in to Microsoft Graph.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntraConnectionSpec {
    /// The tenant id (or a verified domain).
    pub tenant: String,
    /// The app registration's client id.
    pub client_id: String,
    /// Its client secret, as a secret reference.
    pub client_secret: SecretRef,
    /// The Graph endpoint. Default `https://graph.microsoft.com/v1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The token endpoint. Default
    /// `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// Seconds before a request is given up. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<u64>,
    /// Requests in flight at once. Default 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 64))]
    pub concurrency: Option<usize>,
    /// Retries of a request that failed for a passing reason. Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 20))]
    pub retries: Option<u32>,
    /// Users per page. Default 999 (Graph's maximum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 999))]
    pub page_size: Option<u32>,
    /// Send user writes (creates, updates, manager references, disables, deletes) in
    /// Graph JSON `$batch` requests of up to 20, each write still succeeding or failing
    /// on its own. Default true; false sends each write as a request of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<bool>,
}

/// The initial password policy.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordSpec {
    /// Length of generated passwords (letters, digits and symbols). Default 24.
    #[serde(default = "default_password_length")]
    #[schemars(range(min = 12, max = 256))]
    pub length: usize,
    /// Make the user choose a new password at first sign-in. Default true.
    #[serde(default = "yes")]
    pub change_at_first_sign_in: bool,
}

fn default_password_length() -> usize {
    24
}

impl Default for PasswordSpec {
    fn default() -> Self {
        PasswordSpec { length: default_password_length(), change_at_first_sign_in: true }
    }
}

/// OAuth2 client credentials (RFC 6749 §4.4).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthSpec {
    /// The token endpoint.
    pub token_url: String,
    /// The client id.
    pub client_id: String,
    /// The client secret, as a secret reference.
    pub client_secret: SecretRef,
    /// The scope to ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

// ---------------------------------------------------------------------------------
// groups/*.yaml

/// `groups/<id>.yaml`: groups made from HR data. With `per`, one group per value of a
/// person field or org unit ("one group per department"); without, one static group
/// of everyone the filter lets through ("permanent staff of ACME GmbH").
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Document format version: `1`.
    pub version: Version,
    /// The definition's id, part of every group's key. Defaults to the file name
    /// without `.yaml`; changing it makes new groups, and the groups of the old id are
    /// left as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What these groups are for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The directories that get these groups; default every directory with `groups`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directories: Option<Vec<String>>,
    /// One group per value of this person field (`department`, `team`, `legal_entity`,
    /// `work_location`, `custom.cost_center` …) or org unit (`org_unit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    /// The group's name: a template. `{{ value }}` is the value grouped by and, for
    /// org units, `{{ name }}` the unit's name, for example
    /// `team-{{ name | ascii | lower }}`. A static group's name is plain text.
    pub name: String,
    /// A named filter (`filters/<id>.yaml`): only the people it includes are members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// With `per: org_unit`: a unit's group has the groups of its child units as
    /// members, following the org-unit tree.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nesting: bool,
    /// What happens to a leaver's membership: `remove` (the default) once their entry is
    /// disabled or deleted, or `keep` while their entry exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leavers: Option<GroupLeavers>,
    /// Delete a group of this definition that no one has the value of any more, once it
    /// has no members left (default `false`: it
    /// stays, empty).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_empty: bool,
}

/// What happens to a leaver's group memberships.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "group membership of leavers")]
pub enum GroupLeavers {
    /// Removed once the entry is disabled or deleted.
    #[default]
    Remove,
    /// Kept while the entry exists, disabled.
    Keep,
}

// filters/*.yaml

/// `overrides.yaml`: exceptions for single people, reviewed in git like the rest of
/// the repository. Each names a person by a source key, says what to do, why, and
/// until when.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverridesSpec {
    /// Document format version: `1`.
    pub version: Version,
    /// The exceptions, each with a `reason`.
    #[serde(default)]
    pub overrides: Vec<OverrideSpec>,
}

/// One exception: exactly one of `hide`, `keep_disabled`, `pin` and
/// `delay_leaving_until`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideSpec {
    /// Who: one person field and its value, as a source gives it, for example
    /// `{ employee_number: "10042" }` or `{ work_email: "a@acme.example" }`; with
    /// `source: <id>` only that source's record counts.
    pub person: BTreeMap<String, String>,
    /// Never give the person an entry. An entry they already have is left exactly as
    /// it is, or, with `existing: disable`, treated as a leaver's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hide: bool,
    /// With `hide`: what happens to an entry the person already has: `leave` (the
    /// default) or `disable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing: Option<HiddenEntry>,
    /// Keep the person's entry disabled whatever HR says (created disabled, disabled
    /// if enabled, never enabled); its attributes are kept in step as usual.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_disabled: bool,
    /// Pin one attribute of the person's entry to a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<PinSpec>,
    /// Do not treat the person as a leaver before the end of this day (`YYYY-MM-DD`),
    /// whatever their end date or status says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_leaving_until: Option<String>,
    /// Why: shown on every row the override changes.
    pub reason: String,
    /// The last day the override holds (`YYYY-MM-DD`, the workspace's zone). An expired
    /// override is ignored, and `hrsync validate` says to remove it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// What a hidden person's existing entry becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "what becomes of a hidden person's entry")]
pub enum HiddenEntry {
    /// Left exactly as it is.
    Leave,
    /// Treated as a leaver's (disabled, then deleted as `leavers` says).
    Disable,
}

/// A pinned attribute.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PinSpec {
    /// The directory; default every directory that maps the attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    /// The attribute, as the directory's `fields` names it.
    pub attribute: String,
    /// Its value.
    pub value: String,
}

/// `filters/<id>.yaml`: who is synced. A person is excluded when any `exclude` rule
/// matches, else included when every `include` rule matches.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// Document format version: `1`.
    pub version: Version,
    /// What this filter is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Rules that must all match.
    #[serde(default)]
    pub include: Vec<RuleSpec>,
    /// Rules of which none may match.
    #[serde(default)]
    pub exclude: Vec<RuleSpec>,
}

/// One filter rule: a field and exactly one test. Text comparisons ignore case.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// The person field, for example `employment_type` or `custom.cost_center`.
    pub field: String,
    /// The value is one of these.
    #[serde(rename = "in", default, skip_serializing_if = "Option::is_none")]
    pub in_: Option<Vec<String>>,
    /// The value is none of these (an absent value is none of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_in: Option<Vec<String>>,
    /// The value is present (`true`) or absent (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    /// The value starts with this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<String>,
    /// The value ends with this text, for example `@acme.example`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<String>,
    /// Why the rule exists; shown as the reason of every decision it makes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
