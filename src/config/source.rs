//! The validated sources: what to read, how to read it, and how its people are
//! matched and filtered.
//!
//! Runtime types only, every default filled in; they are built by `config::compile` and
//! read by `src/source`. Nothing here parses YAML, reports problems or reads data.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;

use super::connection::HttpSettings;
use super::secret::SecretRef;
use crate::model::{FieldRef, FilterId, SourceId};

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

impl SourceConfig {
    /// How often a delta source reads in full anyway; `None` when every read is full or
    /// the source decides itself.
    pub fn full_every(&self) -> Option<std::time::Duration> {
        match &self.kind {
            SourceKind::Hr(settings) if self.delta => Some(settings.full_every),
            _ => None,
        }
    }
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
    /// An HR system with a built-in connector.
    Hr(Box<HrSettings>),
}

impl SourceKind {
    /// The `type` value.
    pub fn type_name(&self) -> &'static str {
        match self {
            SourceKind::Csv(_) => "csv",
            SourceKind::Json(_) => "json",
            SourceKind::Rest(_) => "rest",
            SourceKind::Hr(settings) => settings.vendor.type_name(),
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

/// An HR connector's settings, every default of its vendor filled in.
#[derive(Clone, Debug)]
pub struct HrSettings {
    /// Which vendor.
    pub vendor: super::spec::Vendor,
    /// The API's base URL, authentication, timeouts, retries, page size and parallel
    /// requests.
    pub http: HttpSettings,
    /// Headers of every request whose values are secrets (Merge's `X-Account-Token`).
    pub secret_headers: Vec<(String, SecretRef)>,
    /// Headers of every request (Kombo's `X-Integration-Id`).
    pub headers: Vec<(String, String)>,
    /// Person field → vendor key, overriding the default mapping; an empty key unmaps.
    pub fields: Columns,
    /// How often a delta source reads in full anyway.
    pub full_every: std::time::Duration,
    /// AFAS: the GetConnector; Workday: `<tenant>/<owner>/<report>`.
    pub report: Option<String>,
    /// AFAS: the field pages are ordered by.
    pub order_by: Option<String>,
    /// AFAS: the field, Workday: the prompt, that asks for changes since a time.
    pub changed_since: Option<String>,
    /// Query parameters of every people request.
    pub query: Vec<(String, String)>,
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
