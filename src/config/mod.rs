//! The sync repository → validated definitions.
//!
//! [`load`] reads `hrsync.yaml`, `sources/*.yaml`, `directories/*.yaml` and
//! `filters/*.yaml` through [`RepoFiles`] (a folder or a git revision), validates each
//! document against its JSON Schema, deserializes it into its `Spec` type
//! ([`spec`]) and compiles the specs into the runtime types here, cross-checking ids,
//! templates, fields and time zones. Every problem found is returned at once, each with
//! file, line, column and a hint. Nothing here fetches data or resolves secrets: that
//! happens when a run needs them.

mod compile;
pub mod diagnostic;
pub mod files;
pub mod schema;
pub mod secret;
pub mod spec;
pub mod yaml;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

pub use diagnostic::{Diagnostic, Diagnostics, did_you_mean};
pub use secret::{Secret, SecretError, SecretRef};
pub use spec::{FieldMode, JoinersSpec, LdapFlavor, LeaverAction, LeaversSpec, Mode, PiiSpec, SafetySpec};

use crate::model::filter::Filter;
use crate::model::template::Template;
use crate::model::{Compare, DirectoryId, FieldRef, FilterId, PlanId, SourceId};
use files::RepoFiles;

/// Why a sync repository could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The repository has problems; each says where and what to do.
    #[error("the sync repository is not valid:\n{0}")]
    Invalid(Diagnostics),
    /// A file could not be read.
    #[error("cannot read `{path}` from {origin}")]
    Read {
        /// The file.
        path: String,
        /// Where the repository is.
        origin: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A validated sync repository.
#[derive(Debug)]
pub struct Config {
    /// `hrsync.yaml`.
    pub workspace: Workspace,
    /// Sources, by id.
    pub sources: Vec<SourceConfig>,
    /// Directories, by id.
    pub directories: Vec<DirectoryConfig>,
    /// Named filters.
    pub filters: BTreeMap<FilterId, Filter>,
    /// A hash of everything that shapes a plan, except approvals and directory modes
    /// (so approving a plan or switching a directory to `apply` does not change the
    /// plan's id).
    pub fingerprint: String,
    /// The git commit the config was read from, when read from git.
    pub revision: Option<String>,
}

impl Config {
    /// The source with this id.
    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.id.as_str() == id)
    }

    /// The directory with this id.
    pub fn directory(&self, id: &str) -> Option<&DirectoryConfig> {
        self.directories.iter().find(|d| d.id.as_str() == id)
    }
}

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
    /// Approved plan ids.
    pub approvals: BTreeSet<PlanId>,
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
}

/// A validated source.
#[derive(Clone, Debug)]
pub struct SourceConfig {
    /// Its id.
    pub id: SourceId,
    /// The file it is declared in.
    pub file: String,
    /// Whether it is read.
    pub enabled: bool,
    /// Priority when several sources describe one person.
    pub priority: i32,
    /// Time zone of its dates, when not the workspace's.
    pub timezone: Option<TimeZone>,
    /// Fields identifying a person across sources, in order.
    pub match_key: Vec<FieldRef>,
    /// Filters that decide who of this source is synced.
    pub filters: Vec<FilterId>,
    /// Whether to read only changes.
    pub delta: bool,
    /// Value mappings per field, applied before parsing.
    pub values: BTreeMap<FieldRef, BTreeMap<String, String>>,
    /// strftime pattern of dates.
    pub date_format: String,
    /// What kind of source, with its settings.
    pub kind: SourceKind,
}

#[cfg(test)]
impl SourceConfig {
    /// A CSV source for tests: matched by employee number then work email, no filters.
    pub(crate) fn test(id: &str) -> SourceConfig {
        SourceConfig {
            id: SourceId::new_unchecked(id),
            file: format!("sources/{id}.yaml"),
            enabled: true,
            priority: 0,
            timezone: None,
            match_key: vec![
                FieldRef::Person(crate::model::PersonField::EmployeeNumber),
                FieldRef::Person(crate::model::PersonField::WorkEmail),
            ],
            filters: Vec::new(),
            delta: false,
            values: BTreeMap::new(),
            date_format: "%Y-%m-%d".into(),
            kind: SourceKind::Csv(CsvSettings {
                path: String::new(),
                delimiter: b',',
                columns: BTreeMap::new(),
                employments: None,
                org_units: None,
            }),
        }
    }
}

/// Kinds of source.
#[derive(Clone, Debug)]
pub enum SourceKind {
    /// A CSV export.
    Csv(CsvSettings),
    /// A JSON export.
    Json(JsonSettings),
    /// A JSON API over HTTP.
    Rest(Box<RestSettings>),
}

impl SourceKind {
    /// The `type` value.
    pub fn type_name(&self) -> &'static str {
        match self {
            SourceKind::Csv(_) => "csv",
            SourceKind::Json(_) => "json",
            SourceKind::Rest(_) => "rest",
        }
    }
}

/// How a REST source pages, with every default filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pagination {
    /// One answer holds everyone.
    None,
    /// Numbered pages.
    Page {
        /// Page number parameter.
        param: String,
        /// Page size parameter.
        size_param: String,
        /// The first page's number.
        first: u64,
    },
    /// Offsets.
    Offset {
        /// Offset parameter.
        param: String,
        /// Page size parameter.
        size_param: String,
    },
    /// A cursor in each page.
    Cursor {
        /// Cursor parameter.
        param: String,
        /// Pointer to the next cursor.
        next: String,
        /// Page size parameter, if any.
        size_param: Option<String>,
    },
    /// A link to the next page.
    Link {
        /// Pointer to the next URL; the `Link` header when `None`.
        next: Option<String>,
        /// Page size parameter of the first request, if any.
        size_param: Option<String>,
    },
}

/// One endpoint of a REST source.
#[derive(Clone, Debug)]
pub struct RestEndpoint {
    /// The full URL.
    pub url: String,
    /// Query parameters of every page.
    pub query: Vec<(String, String)>,
    /// Pointer to the records in a page, if not the default.
    pub records: Option<String>,
    /// How it pages.
    pub pagination: Pagination,
    /// Pointer to the total count in the first page.
    pub total: Option<String>,
}

/// A REST source's settings.
#[derive(Clone, Debug)]
pub struct RestSettings {
    /// The people endpoint's authentication, timeouts, retries, page size (and URL).
    pub http: HttpSettings,
    /// The people endpoint.
    pub people: RestEndpoint,
    /// The employments endpoint and renamed keys.
    pub employments: Option<(RestEndpoint, Columns)>,
    /// The org units endpoint and renamed keys.
    pub org_units: Option<(RestEndpoint, Columns)>,
    /// Headers of every request.
    pub headers: Vec<(String, String)>,
    /// Headers of every request whose values are secrets.
    pub secret_headers: Vec<(String, SecretRef)>,
    /// The parameter that asks for changes since the last sync.
    pub since_param: Option<String>,
    /// Renamed keys of people.
    pub fields: Columns,
}

/// Field → column (or key) names of one table of a file source.
pub type Columns = BTreeMap<String, String>;

/// A CSV source's settings.
#[derive(Clone, Debug)]
pub struct CsvSettings {
    /// The people file.
    pub path: String,
    /// Column separator.
    pub delimiter: u8,
    /// Renamed columns of the people file.
    pub columns: Columns,
    /// The employments file and its renamed columns.
    pub employments: Option<(String, Columns)>,
    /// The org units file and its renamed columns.
    pub org_units: Option<(String, Columns)>,
}

/// A JSON source's settings.
#[derive(Clone, Debug)]
pub struct JsonSettings {
    /// The file.
    pub path: String,
    /// Pointer to the people array, if not the default.
    pub people: Option<String>,
    /// Renamed keys of people.
    pub fields: Columns,
    /// Pointer to the employments array and renamed keys.
    pub employments: Option<(String, Columns)>,
    /// Pointer to the org units array and renamed keys.
    pub org_units: Option<(String, Columns)>,
}

/// Fields an employment record can have (besides custom ones, which it cannot).
pub const EMPLOYMENT_FIELDS: &[&str] =
    &["id", "person", "employment_type", "legal_entity", "job_title", "start_date", "end_date"];
/// Fields an org unit record can have.
pub const ORG_UNIT_FIELDS: &[&str] = &["id", "name", "parent"];

/// A validated directory.
#[derive(Clone, Debug)]
pub struct DirectoryConfig {
    /// Its id.
    pub id: DirectoryId,
    /// The file it is declared in.
    pub file: String,
    /// What hrsync does with it.
    pub mode: Mode,
    /// What kind of directory, with its settings.
    pub kind: DirectoryKind,
    /// Filters restricting who gets an entry.
    pub filters: Vec<FilterId>,
    /// The match key chain.
    pub match_rules: Vec<MatchRule>,
    /// Mapped attributes, in config order.
    pub fields: Vec<Field>,
    /// Ownership marker.
    pub marker: Option<Marker>,
    /// Joiner policy.
    pub joiners: JoinersSpec,
    /// Leaver policy.
    pub leavers: LeaversSpec,
    /// Safety limits.
    pub safety: SafetySpec,
}

impl DirectoryConfig {
    /// The mapped field for this attribute.
    pub fn field(&self, attribute: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.attribute == attribute)
    }
}

/// Kinds of directory.
#[derive(Clone, Debug)]
pub enum DirectoryKind {
    /// The embedded directory.
    File(FileSettings),
    /// An LDAP server.
    Ldap(Box<LdapSettings>),
    /// A SCIM 2.0 service.
    Scim(Box<HttpSettings>),
    /// Microsoft Entra ID through Graph.
    Entraid(Box<EntraSettings>),
}

/// An Entra ID directory's settings.
#[derive(Clone, Debug)]
pub struct EntraSettings {
    /// How to reach Graph.
    pub http: HttpSettings,
    /// Initial passwords.
    pub passwords: spec::PasswordSpec,
}

impl DirectoryKind {
    /// The `type` value.
    pub fn type_name(&self) -> &'static str {
        match self {
            DirectoryKind::File(_) => "file",
            DirectoryKind::Ldap(_) => "ldap",
            DirectoryKind::Scim(_) => "scim",
            DirectoryKind::Entraid(_) => "entraid",
        }
    }

    /// How this kind of directory compares an attribute when the config does not say.
    pub fn default_compare(&self, attribute: &str, manager: bool) -> Compare {
        let lower = attribute.to_ascii_lowercase();
        let phone =
            matches!(lower.as_str(), "telephonenumber" | "mobile" | "phone" | "facsimiletelephonenumber");
        match self {
            DirectoryKind::File(_) if manager => Compare::Exact,
            DirectoryKind::File(_) if phone => Compare::Phone,
            DirectoryKind::File(_) => match lower.as_str() {
                "mail" | "email" | "userprincipalname" | "username" => Compare::IgnoreCase,
                _ => Compare::Exact,
            },
            // Directory strings in LDAP compare without case (caseIgnoreMatch): a
            // server that keeps `ADA@acme` for `ada@acme` is not drift.
            DirectoryKind::Ldap(_) if manager => Compare::Dn,
            DirectoryKind::Ldap(_) if phone => Compare::Phone,
            DirectoryKind::Ldap(_) => Compare::IgnoreCase,
            DirectoryKind::Scim(_) if manager => Compare::Exact,
            DirectoryKind::Scim(_) if phone || lower.starts_with("phonenumbers") => Compare::Phone,
            // RFC 7643: userName and email values are not case-exact.
            DirectoryKind::Scim(_) if lower == "username" || lower.starts_with("emails") => {
                Compare::IgnoreCase
            }
            DirectoryKind::Scim(_) => Compare::Exact,
            DirectoryKind::Entraid(_) if manager => Compare::Exact,
            DirectoryKind::Entraid(_) if phone || lower == "businessphones" => Compare::Phone,
            // Entra ID compares these without case.
            DirectoryKind::Entraid(_)
                if matches!(lower.as_str(), "userprincipalname" | "mail" | "mailnickname" | "othermails") =>
            {
                Compare::IgnoreCase
            }
            DirectoryKind::Entraid(_) => Compare::Exact,
        }
    }
}

/// How hrsync authenticates to an HTTP service (a directory or an HR API).
#[derive(Clone, Debug)]
pub enum Auth {
    /// None.
    None,
    /// A static bearer token.
    Bearer(SecretRef),
    /// OAuth2 client credentials.
    ClientCredentials {
        /// Token endpoint.
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: SecretRef,
        /// Scope asked for.
        scope: Option<String>,
    },
}

/// How to reach an HTTP directory.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Base URL.
    pub url: String,
    /// Authentication.
    pub auth: Auth,
    /// PEM file of extra certificate authorities.
    pub ca_file: Option<String>,
    /// Per-request timeout.
    pub timeout: std::time::Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Retries of passing failures.
    pub retries: u32,
    /// Base of the exponential back-off.
    pub backoff: std::time::Duration,
    /// Entries per page.
    pub page_size: u32,
}

/// An LDAP directory's settings.
#[derive(Clone, Debug)]
pub struct LdapSettings {
    /// `ldap://` or `ldaps://` URL.
    pub url: String,
    /// Upgrade with StartTLS.
    pub starttls: bool,
    /// PEM file of trusted certificate authorities.
    pub ca_file: Option<String>,
    /// Bind DN (anonymous when absent).
    pub bind_dn: Option<String>,
    /// Bind password.
    pub password: Option<SecretRef>,
    /// Per-operation timeout.
    pub timeout: std::time::Duration,
    /// Entries per page of the paged search.
    pub page_size: u32,
    /// OpenLDAP or Active Directory.
    pub flavor: spec::LdapFlavor,
    /// The subtree in scope.
    pub base: String,
    /// The search filter of the scope.
    pub filter: String,
    /// Where new entries are created.
    pub parent: String,
    /// The RDN attribute.
    pub rdn: String,
    /// Object classes of new entries.
    pub object_classes: Vec<String>,
    /// How accounts are disabled.
    pub disable: LdapDisable,
    /// Active Directory: the initial password of new accounts.
    pub passwords: Option<spec::PasswordSpec>,
}

/// How an LDAP account is disabled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LdapDisable {
    /// No way configured (only valid when leavers are not disabled).
    Unconfigured,
    /// An attribute holds a value while the account is disabled.
    Attribute {
        /// The attribute.
        attribute: String,
        /// Its value.
        value: String,
    },
    /// Disabled entries live in this OU.
    MoveTo(String),
    /// Active Directory's `userAccountControl` flag 2 (ACCOUNTDISABLE).
    UserAccountControl,
}

/// The embedded directory's settings.
#[derive(Clone, Debug)]
pub struct FileSettings {
    /// Folder of entries, relative to the state directory.
    pub path: String,
    /// Attribute naming new entries.
    pub id_attribute: String,
    /// Entries per page when reading.
    pub page_size: usize,
}

/// One step of the match key chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchRule {
    /// The person field.
    pub person: FieldRef,
    /// The directory attribute.
    pub attribute: String,
}

/// A mapped attribute.
#[derive(Clone, Debug)]
pub struct Field {
    /// The directory attribute.
    pub attribute: String,
    /// How its value is made.
    pub source: FieldSource,
    /// Its mode.
    pub mode: FieldMode,
    /// How it is compared.
    pub compare: Compare,
    /// Whether its values are personal data (reports mask them).
    pub personal: bool,
}

/// How a mapped attribute's value is made.
#[derive(Clone, Debug)]
pub enum FieldSource {
    /// The first candidate template that gives a value (with `unique`, a value no other
    /// entry has).
    Templates {
        /// Candidates, in order.
        candidates: Vec<Template>,
        /// The value must be free in the directory.
        unique: bool,
    },
    /// The entry of the person's manager.
    Manager,
}

/// The ownership marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// The attribute.
    pub attribute: String,
    /// Its value; `None`: the attribute's presence marks the entry (it is a mapped field).
    pub value: Option<String>,
}

impl Marker {
    /// Whether an entry with this value of the attribute is marked.
    pub fn marks(&self, value: Option<&crate::model::Value>) -> bool {
        match (&self.value, value) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(want), Some(v)) => v.values().iter().any(|x| x == want),
        }
    }
}

/// Loads and validates the sync repository behind `files`.
pub fn load(files: &dyn RepoFiles) -> Result<Config, ConfigError> {
    compile::load(files)
}
