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
