//! HR systems, read-only: one [`Source`] trait, one file per kind.
//!
//! A source fetches people, employments and org units and hands every row through
//! `transform::normalize`; rows it cannot use come back as skipped records with a
//! reason, never as an error. An error means the read as a whole cannot be trusted
//! (unreachable, unreadable file, missing column), and the run treats the source as
//! unhealthy. The last successful sync time is passed in so API sources can read only
//! what changed. Sources never write anything.

mod csv;
mod hr;
mod json;
mod rest;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::config::files::RepoFiles;
use crate::config::{SourceConfig, SourceKind};
use crate::model::SourceId;
pub use crate::model::Withheld;
use crate::model::{Employment, OrgUnit, Person, Record, SkippedRecord};

/// What a fetch is asked for.
#[derive(Clone, Debug, Default)]
pub struct FetchRequest {
    /// Start of the last successful sync of this source. Sources with `delta: true` that
    /// support it return only what changed since; `None` asks for everything.
    pub since: Option<Timestamp>,
    /// The vendor's own delta position the last good read ended at (Microsoft Graph's
    /// delta link), used with `since`.
    pub cursor: Option<String>,
    /// Counts the records read so far, for progress.
    pub progress: Option<Arc<AtomicUsize>>,
    /// The run's date (in the workspace's zone), for connectors whose statuses need
    /// one (BambooHR's Inactive is a future hire only before the hire date).
    pub today: Option<jiff::civil::Date>,
}

/// The records a source returned.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// People.
    pub people: Vec<Person>,
    /// Employments.
    pub employments: Vec<Employment>,
    /// Org units.
    pub org_units: Vec<OrgUnit>,
    /// Rows that could not be used, with reasons.
    pub skipped: Vec<SkippedRecord>,
    /// Whether this is everything the source has, or only changes since `since`.
    pub completeness: Completeness,
    /// Set when the source noticed its read may be incomplete (a short page, a total
    /// that does not add up): the run treats the source as unhealthy.
    pub incomplete: Option<String>,
    /// Ids of people an explicit deletion marker of a delta read removes (a hard delete
    /// the API reports); absence from a delta read removes no one.
    pub removed: Vec<String>,
    /// Mapped fields no record of a full read carried: the plan keeps what directories
    /// hold for them.
    pub withheld: Vec<Withheld>,
    /// The vendor's delta position for the next read.
    pub cursor: Option<String>,
    /// Legal entities read, where the source knows them.
    pub legal_entities: Option<usize>,
    /// Work locations read, where the source knows them.
    pub work_locations: Option<usize>,
    /// In a delta read, the fields each person's record did not carry at all (the key
    /// absent, not null): they keep the last good read's values when merged.
    pub unsent: std::collections::BTreeMap<String, Vec<crate::model::FieldRef>>,
}

/// What `validate --online` learns of a source: a first page read, and the mapped
/// fields none of its records carried.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    /// Records on the first page (every record, for sources that do not page).
    pub people: usize,
    /// Mapped fields no record carried, named with their keys.
    pub missing: Vec<String>,
    /// What to grant when fields are missing.
    pub grant: Option<String>,
}

/// Whether a batch holds everything or only changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Completeness {
    /// Every record the source has.
    #[default]
    Full,
    /// Only records changed since the request's `since`.
    Delta,
}

/// The outcome of a fetch that did not fail.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // one per read; boxing would buy nothing
pub enum Fetch {
    /// Records were read.
    Records(Batch),
    /// The source signalled that this run should be skipped for it (for example a sync
    /// toggled off upstream). Nothing is committed and its last sync time stays.
    Skip {
        /// Why.
        reason: String,
    },
}

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A file could not be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is not in the expected shape as a whole.
    #[error("`{path}`: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong, and what to do.
        message: String,
    },
    /// An API request failed (after retries).
    #[error("cannot read `{url}`")]
    Http {
        /// The endpoint, without query.
        url: String,
        /// Why.
        #[source]
        source: crate::http::HttpError,
    },
    /// The HTTP client of an API source could not be set up (a bad CA file, say).
    #[error("`{url}`")]
    Client {
        /// The endpoint, without query.
        url: String,
        /// Why.
        #[source]
        source: Arc<crate::http::HttpError>,
    },
    /// The HR system refused the credentials (401, 403, or the token endpoint). Never
    /// retried: some vendors block addresses that keep failing.
    #[error("credentials rejected by {vendor}: check the {credential} referenced in {file}")]
    Credentials {
        /// The vendor.
        vendor: &'static str,
        /// The source file.
        file: String,
        /// Which credential.
        credential: &'static str,
        /// What the API answered.
        #[source]
        source: Box<crate::http::HttpError>,
    },
    /// A credential of an HR connector cannot be read (an unset variable, a missing file).
    #[error("cannot read the {credential} of {vendor} referenced in {file}")]
    Secret {
        /// The vendor.
        vendor: &'static str,
        /// The source file.
        file: String,
        /// Which credential.
        credential: &'static str,
        /// Why.
        #[source]
        source: Box<crate::http::HttpError>,
    },
    /// The HR system answered with an error of its own.
    #[error("{vendor} at `{url}`: {message}")]
    Vendor {
        /// The vendor.
        vendor: &'static str,
        /// The endpoint.
        url: String,
        /// What it said, and what to do.
        message: String,
    },
    /// The fetch task stopped unexpectedly.
    #[error("the fetch of source `{0}` stopped unexpectedly")]
    Aborted(SourceId),
}

impl SourceError {
    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            SourceError::Read { .. } => "read",
            SourceError::Format { .. } => "format",
            SourceError::Http { .. } => "http",
            SourceError::Client { .. } => "client",
            SourceError::Credentials { .. } => "credentials",
            SourceError::Secret { .. } => "secret",
            SourceError::Vendor { .. } => "vendor",
            SourceError::Aborted(_) => "aborted",
        }
    }
}

/// An HR system hrsync reads people from.
#[async_trait]
pub trait Source: Send + Sync {
    /// The source's id.
    fn id(&self) -> &SourceId;

    /// Reads the source.
    async fn fetch(&self, request: &FetchRequest) -> Result<Fetch, SourceError>;

    /// What `validate --online` checks: by default a full read; connectors read a first
    /// page and name the mapped fields it lacks.
    async fn check(&self) -> Result<Probe, SourceError> {
        match self.fetch(&FetchRequest::default()).await? {
            Fetch::Records(batch) => Ok(Probe { people: batch.people.len(), ..Probe::default() }),
            Fetch::Skip { .. } => Ok(Probe::default()),
        }
    }
}

/// Builds the source a config declares. File paths are read through `files`.
pub fn build(config: &SourceConfig, files: Arc<dyn RepoFiles>) -> Box<dyn Source> {
    match &config.kind {
        SourceKind::Csv(settings) => Box::new(csv::CsvSource::new(config.clone(), settings.clone(), files)),
        SourceKind::Json(settings) => {
            Box::new(json::JsonSource::new(config.clone(), settings.clone(), files))
        }
        SourceKind::Rest(settings) => Box::new(rest::RestSource::new(config.clone(), (**settings).clone())),
        SourceKind::Hr(settings) => Box::new(hr::HrSource::new(config.clone(), (**settings).clone())),
    }
}

/// Reads a data file of a file source, in a blocking task.
async fn read_file(files: &Arc<dyn RepoFiles>, path: &str) -> Result<Vec<u8>, SourceError> {
    let files = files.clone();
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || files.read(&owned))
        .await
        .map_err(|e| SourceError::Read { path: path.to_owned(), source: std::io::Error::other(e) })?
        .map_err(|source| SourceError::Read { path: path.to_owned(), source })
}

/// Keeps the first record of each id and skips later ones with a reason.
fn drop_duplicate_ids<T: Record>(records: Vec<T>, skipped: &mut Vec<SkippedRecord>) -> Vec<T> {
    let mut first: rustc_hash::FxHashMap<&str, usize> = rustc_hash::FxHashMap::default();
    let mut duplicates: Vec<(usize, usize)> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if let Some(f) = first.insert(r.record_id(), i) {
            // Keep the first occurrence.
            first.insert(records[f].record_id(), f);
            duplicates.push((i, f));
        }
    }
    drop(first);
    if duplicates.is_empty() {
        return records;
    }
    let mut dropped = vec![false; records.len()];
    for (i, f) in &duplicates {
        dropped[*i] = true;
        skipped.push(SkippedRecord::new(
            T::KIND,
            records[*i].location().clone(),
            format!("duplicate id: the same id is already at {}", records[*f].location()),
        ));
    }
    records.into_iter().zip(dropped).filter(|(_, d)| !d).map(|(r, _)| r).collect()
}

/// Removes duplicate ids from each bucket of a batch.
fn dedupe(mut batch: Batch) -> Batch {
    batch.people = drop_duplicate_ids(std::mem::take(&mut batch.people), &mut batch.skipped);
    batch.employments = drop_duplicate_ids(std::mem::take(&mut batch.employments), &mut batch.skipped);
    batch.org_units = drop_duplicate_ids(std::mem::take(&mut batch.org_units), &mut batch.skipped);
    batch
}

#[cfg(test)]
mod tests;
