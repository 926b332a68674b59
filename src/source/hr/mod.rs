//! HR systems with a connector of their own: BambooHR, Personio, HiBob, AFAS, Kombo,
//! Merge, Microsoft Entra ID and Workday, one file each.
//!
//! A connector knows its vendor's API: how it authenticates (the HTTP client does the
//! sending), how it pages and where the data ends, how it asks for changes, and what
//! its deletion markers mean. It hands back the vendor's records as JSON; this module
//! maps them onto the person model with the vendor's default mapping overlaid by the
//! source's `fields`, and keeps the promises every connector shares:
//!
//! - **Leavers are never invented.** A delta read only adds and replaces records; a
//!   person leaves it only through an explicit deletion marker ([`Got::removed`]).
//!   Absence counts only in a full read.
//! - **A field that never arrives is withheld, not empty.** When no record of a full
//!   read carries a mapped field (a credential without permission gets 200 without it),
//!   the field is [`Withheld`]: the plan keeps what the directory holds for it and the
//!   run warns, naming what to grant. Without the fields that identify people or tell
//!   whether they work here, the read is incomplete and nobody is judged by it.
//! - **Credentials are asked once.** A 401 or 403 is never retried in a loop (HiBob's
//!   and Merge's firewalls block addresses that keep failing); the source fails with
//!   what to check, never with the secret.
//! - **Paging ends or fails.** A cursor or next link seen before fails the read rather
//!   than loop; so do more pages than any workforce needs.

mod afas;
mod bamboohr;
mod entraid;
mod hibob;
mod kombo;
mod merge;
mod personio;
mod workday;

#[cfg(test)]
pub(crate) mod mock;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::json::text_at;
use super::{Batch, Completeness, Fetch, FetchRequest, Probe, Source, SourceError, Withheld, dedupe};
use crate::config::{HrSettings, SourceConfig, Vendor};
use crate::http::{Http, HttpError, Response};
use crate::model::{FieldRef, PersonField, RecordKind, RecordLocation, SkippedRecord, SourceId};
use crate::transform::normalize::{Normalizer, PersonTarget};

/// More pages than this is a paging loop, not a workforce.
pub(super) const MAX_PAGES: u64 = 100_000;

/// What a connector is asked to read.
pub(super) struct Ask<'a> {
    /// Changes since this time (a delta read), or `None` for everything.
    pub since: Option<Timestamp>,
    /// The vendor's own delta position from the last read (Graph's delta link).
    pub cursor: Option<&'a str>,
    /// Only the first page (`validate --online`).
    pub first_page_only: bool,
    /// The run's date, when known.
    pub today: Option<jiff::civil::Date>,
}

/// What a connector read.
#[derive(Debug, Default)]
pub(super) struct Got {
    /// People records, as JSON objects the mapping reads keys of.
    pub people: Vec<Value>,
    /// What explicit deletion markers say of the people they remove (a delta read only;
    /// a full read just leaves them out): the record as the API gave it, or at least
    /// the vendor's own `id`. The core names them by the mapped id; a marker that does
    /// not carry the mapped id key removes no one.
    pub removed: Vec<Value>,
    /// Employment records, read with [`Connector::employment_keys`].
    pub employments: Vec<Value>,
    /// Org unit records, read with [`Connector::org_unit_keys`].
    pub org_units: Vec<Value>,
    /// Legal entities the API listed, when it lists them (else they are counted from
    /// the people).
    pub legal_entities: Option<usize>,
    /// Work locations the API listed, when it lists them.
    pub work_locations: Option<usize>,
    /// Whether this is a delta read (only changes).
    pub delta: bool,
    /// The vendor's delta position to start the next read from (Graph's delta link).
    pub cursor: Option<String>,
    /// Why the read may not be complete (a total that does not add up).
    pub incomplete: Option<String>,
    /// Rows the connector could not use at all, with reasons.
    pub skipped: Vec<SkippedRecord>,
    /// The people endpoint (a path below the base URL): records are named
    /// `<url>:<n>`, numbered from 1 across pages.
    pub endpoint: String,
}

/// One vendor's API.
#[async_trait]
pub(super) trait Connector: Send + Sync {
    /// Person field → key in this vendor's records (dots for nested keys): the mapping a
    /// source's `fields` overrides.
    fn defaults(&self) -> &'static [(&'static str, &'static str)];

    /// Raw value → hrsync value of the employment status (and other closed fields),
    /// used unless the source's `values` maps the field.
    fn values(&self) -> &'static [(&'static str, &'static [(&'static str, &'static str)])] {
        &[]
    }

    /// Employment field → key, for [`Got::employments`].
    fn employment_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// Org unit field → key, for [`Got::org_units`].
    fn org_unit_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// What to grant when a mapped field never arrives.
    fn grant(&self) -> &'static str;

    /// Whether this API answers a field the credential may not see with `null` rather
    /// than leaving the key out (BambooHR's reports): then a key that is null in every
    /// record is withheld too, not only one no record has.
    fn nulls_hide(&self) -> bool {
        false
    }

    /// Which credential to check when the vendor refuses it.
    fn credential(&self) -> &'static str;

    /// Reads the API.
    async fn read(&self, api: &Api<'_>, ask: &Ask<'_>) -> Result<Got, SourceError>;
}

/// The connector of a vendor.
fn connector(vendor: Vendor) -> Box<dyn Connector> {
    match vendor {
        Vendor::Bamboohr => Box::new(bamboohr::BambooHr),
        Vendor::Personio => Box::new(personio::Personio),
        Vendor::Hibob => Box::new(hibob::HiBob),
        Vendor::Afas => Box::new(afas::Afas),
        Vendor::Kombo => Box::new(kombo::Kombo),
        Vendor::Merge => Box::new(merge::Merge),
        Vendor::Entraid => Box::new(entraid::EntraId),
        Vendor::Workday => Box::new(workday::Workday),
    }
}

/// What a connector reads with: the client, the settings, the mapping, and the count of
/// records read so far (for progress).
pub(super) struct Api<'a> {
    /// The HTTP client.
    pub http: &'a Http,
    /// The source.
    pub config: &'a SourceConfig,
    /// Its connector settings.
    pub settings: &'a HrSettings,
    /// Headers of every request (resolved secrets among them).
    headers: Vec<(&'a str, String)>,
    /// The mapping: person field → vendor key, defaults overlaid by `fields`.
    pub fields: Vec<(PersonTarget, String)>,
    /// Records read so far.
    counter: Option<&'a AtomicUsize>,
    /// Which credential to name when it is refused.
    credential: &'static str,
}

impl Api<'_> {
    /// The vendor's name.
    pub fn vendor(&self) -> &'static str {
        self.settings.vendor.name()
    }

    /// Counts `n` more records read, for progress.
    pub fn count(&self, n: usize) {
        if let Some(c) = self.counter {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Sends a request (a path below the base URL, or a URL), with the source's headers
    /// and `extra` ones. 401 and 403 become [`SourceError::Credentials`].
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        extra: &[(&str, String)],
    ) -> Result<Response, SourceError> {
        let mut headers = self.headers.clone();
        headers.extend(extra.iter().cloned());
        self.http.send(method, path, query, body, &headers).await.map_err(|source| self.failed(path, source))
    }

    /// `GET` with `query`.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Response, SourceError> {
        self.send(Method::GET, path, query, None, &[]).await
    }

    /// The body of a response as JSON, or a format error naming the page.
    pub fn json(&self, path: &str, response: Response, page: u64) -> Result<Value, SourceError> {
        let Response { body, body_error, .. } = response;
        body.ok_or_else(|| {
            let why = body_error.map(|e| format!(": {e}")).unwrap_or_default();
            self.format(path, format!("page {page} is not JSON{why}"))
        })
    }

    /// A format error of the endpoint at `path`.
    pub fn format(&self, path: &str, message: impl Into<String>) -> SourceError {
        SourceError::Format { path: self.name(path), message: message.into() }
    }

    /// An endpoint as errors and records name it: the URL without its query.
    pub fn name(&self, path: &str) -> String {
        let url = self.http.url(path);
        url.split('?').next().unwrap_or(&url).to_owned()
    }

    /// A failed request as a source error: refused credentials say what to check.
    pub fn failed(&self, path: &str, source: HttpError) -> SourceError {
        let status = source.status();
        if let HttpError::Auth(inner) = &source
            && inner.is::<crate::config::SecretError>()
        {
            return SourceError::Secret {
                vendor: self.vendor(),
                file: self.config.file.clone(),
                credential: self.credential,
                source: Box::new(source),
            };
        }
        let refused = matches!(status, Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN))
            || matches!(source, HttpError::Auth(_));
        if refused {
            return SourceError::Credentials {
                vendor: self.vendor(),
                file: self.config.file.clone(),
                credential: self.credential,
                source: Box::new(source),
            };
        }
        SourceError::Http { url: self.name(path), source }
    }

    /// The vendor's error: a code or message the API gave with a 200 or in a body.
    pub fn refused(&self, path: &str, message: impl Into<String>) -> SourceError {
        SourceError::Vendor { vendor: self.vendor(), url: self.name(path), message: message.into() }
    }

    /// The keys the mapping reads, without duplicates, in mapping order: what to ask
    /// for where the API returns only the fields it is asked for.
    pub fn mapped_keys(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        self.fields.iter().map(|(_, k)| k.as_str()).filter(|k| !k.is_empty() && seen.insert(*k)).collect()
    }
}

/// Guards a read against paging loops: every next cursor or link must be new, and pages
/// are counted against [`MAX_PAGES`].
pub(super) struct Pager {
    seen: HashSet<String>,
    /// Pages read so far.
    pub pages: u64,
}

impl Pager {
    /// A pager for a new read.
    pub fn new() -> Pager {
        Pager { seen: HashSet::new(), pages: 0 }
    }

    /// Counts a page read, and checks the `next` cursor or link it named.
    pub fn next(&mut self, api: &Api<'_>, path: &str, next: Option<&str>) -> Result<(), SourceError> {
        self.pages += 1;
        if let Some(next) = next
            && !self.seen.insert(next.to_owned())
        {
            return Err(api.format(
                path,
                format!(
                    "the API gave the same next page twice (after {} pages); hrsync stops rather than loop",
                    self.pages
                ),
            ));
        }
        if self.pages >= MAX_PAGES {
            return Err(api.format(path, format!("more than {MAX_PAGES} pages; the API pages in a loop")));
        }
        Ok(())
    }
}

/// A source read through a connector.
pub struct HrSource {
    config: SourceConfig,
    settings: HrSettings,
    http: Result<Http, Arc<HttpError>>,
    connector: Box<dyn Connector>,
}

impl HrSource {
    /// The source `config` declares, with its connector `settings`.
    pub fn new(config: SourceConfig, settings: HrSettings) -> Self {
        let http = Http::new(&settings.http, "application/json").map_err(Arc::new);
        let connector = connector(settings.vendor);
        HrSource { config, settings, http, connector }
    }

    /// The mapping: the vendor's defaults, overlaid by `fields` (an empty key unmaps).
    fn mapping(&self) -> Vec<(PersonTarget, String)> {
        let mut map: BTreeMap<String, String> =
            self.connector.defaults().iter().map(|(f, k)| ((*f).to_owned(), (*k).to_owned())).collect();
        for (field, key) in &self.settings.fields {
            map.insert(field.clone(), key.trim().to_owned());
        }
        // Standard fields in record order, then custom ones by name.
        let mut out: Vec<(PersonTarget, String)> = Vec::new();
        for (field, key) in map {
            if key.is_empty() {
                continue;
            }
            if let Some(target) = PersonTarget::parse(&field) {
                out.push((target, key));
            }
        }
        out.sort_by_key(|(t, _)| match t {
            PersonTarget::Field(f) => {
                (0, PersonField::ALL.iter().position(|x| x == f).unwrap_or(0), String::new())
            }
            PersonTarget::Custom(c) => (1, 0, c.clone()),
        });
        out
    }

    /// The normalizer, with the vendor's value maps under the source's own.
    fn normalizer(&self) -> Normalizer {
        let mut config = self.config.clone();
        for (field, map) in self.connector.values() {
            let Ok(field) = field.parse::<FieldRef>() else { continue };
            config
                .values
                .entry(field)
                .or_insert_with(|| map.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
        }
        Normalizer::new(&config)
    }

    async fn read<'s>(
        &'s self,
        ask: &Ask<'_>,
        counter: Option<&'s AtomicUsize>,
    ) -> Result<(Got, Api<'s>), SourceError> {
        let http = self.http.as_ref().map_err(|e| SourceError::Client {
            url: self.settings.http.url.clone(),
            source: Arc::clone(e),
        })?;
        let mut headers: Vec<(&str, String)> = vec![("Accept", "application/json".to_owned())];
        headers.extend(self.settings.headers.iter().map(|(k, v)| (k.as_str(), v.clone())));
        for (name, secret) in &self.settings.secret_headers {
            let value = secret.resolve().map_err(|e| SourceError::Secret {
                vendor: self.settings.vendor.name(),
                file: self.config.file.clone(),
                credential: self.connector.credential(),
                source: Box::new(HttpError::Auth(Box::new(e))),
            })?;
            headers.push((name.as_str(), value.expose().to_owned()));
        }
        let api = Api {
            http,
            config: &self.config,
            settings: &self.settings,
            headers,
            fields: self.mapping(),
            counter,
            credential: self.connector.credential(),
        };
        let got = self.connector.read(&api, ask).await?;
        Ok((got, api))
    }
}

#[async_trait]
impl Source for HrSource {
    fn id(&self) -> &SourceId {
        &self.config.id
    }

    async fn fetch(&self, request: &FetchRequest) -> Result<Fetch, SourceError> {
        let since = request.since.filter(|_| self.config.delta);
        let ask = Ask {
            since,
            cursor: request.cursor.as_deref().filter(|_| since.is_some()),
            first_page_only: false,
            today: request.today,
        };
        let (got, api) = self.read(&ask, request.progress.as_deref()).await?;
        let name = api.name(&got.endpoint);
        let mut batch =
            Batch { cursor: got.cursor.clone(), incomplete: got.incomplete.clone(), ..Batch::default() };
        let normalizer = self.normalizer();
        let present = map_people(&got.people, &name, &api.fields, &normalizer, &mut batch, got.delta);
        let keys = |keys: &[(&str, &str)]| -> crate::config::Columns {
            keys.iter().map(|(f, k)| ((*f).to_owned(), (*k).to_owned())).collect()
        };
        super::json::read_employments(
            &got.employments,
            &name,
            &keys(self.connector.employment_keys()),
            &normalizer,
            &mut batch,
        );
        super::json::read_org_units(
            &got.org_units,
            &name,
            &keys(self.connector.org_unit_keys()),
            &normalizer,
            &mut batch,
        );
        batch.skipped.extend(got.skipped);
        batch.removed = removed_ids(&got.removed, &api.fields, &self.config.id);
        batch.legal_entities = Some(
            got.legal_entities.unwrap_or_else(|| distinct(&batch.people, |p| p.legal_entity.as_deref())),
        );
        batch.work_locations = Some(
            got.work_locations.unwrap_or_else(|| distinct(&batch.people, |p| p.work_location.as_deref())),
        );
        if got.delta {
            batch.completeness = Completeness::Delta;
        } else if !got.people.is_empty() {
            // Only a full read can tell that a field never arrives.
            let hides = self.connector.nulls_hide();
            batch.withheld = api
                .fields
                .iter()
                .zip(&present)
                .filter(|(_, seen)| !seen.arrived(hides))
                .map(|((target, key), _)| Withheld {
                    field: target.name().into_owned(),
                    key: key.clone(),
                    grant: self.connector.grant().to_owned(),
                })
                .collect();
            let vital: Vec<&Withheld> = batch
                .withheld
                .iter()
                .filter(|w| {
                    let field: Option<FieldRef> = w.field.parse().ok();
                    matches!(field, Some(FieldRef::Person(PersonField::Id | PersonField::EmploymentStatus)))
                        || field.is_some_and(|f| self.config.match_key.first() == Some(&f))
                })
                .collect();
            if !vital.is_empty() && batch.incomplete.is_none() {
                let names: Vec<String> =
                    vital.iter().map(|w| format!("`{}` (key `{}`)", w.field, w.key)).collect();
                batch.incomplete = Some(format!(
                    "no record carried {}: hrsync cannot tell who the people are or whether they work here; {}",
                    names.join(", "),
                    self.connector.grant()
                ));
            }
        }
        hold_repeated_ids(&mut batch);
        tracing::info!(source = %self.config.id, people = batch.people.len(), delta = got.delta, "read from {}", api.vendor());
        Ok(Fetch::Records(dedupe(batch)))
    }

    async fn check(&self) -> Result<Probe, SourceError> {
        let ask = Ask { since: None, cursor: None, first_page_only: true, today: None };
        let (got, api) = self.read(&ask, None).await?;
        let mut batch = Batch::default();
        let present = map_people(
            &got.people,
            &api.name(&got.endpoint),
            &api.fields,
            &self.normalizer(),
            &mut batch,
            false,
        );
        let missing = if got.people.is_empty() {
            Vec::new()
        } else {
            let hides = self.connector.nulls_hide();
            api.fields
                .iter()
                .zip(&present)
                .filter(|(_, seen)| !seen.arrived(hides))
                .map(|((target, key), _)| format!("`{}` (key `{key}`)", target.name()))
                .collect()
        };
        Ok(Probe { people: got.people.len(), missing, grant: Some(self.connector.grant().to_owned()) })
    }
}

/// People whose id more than one record carries (an AFAS GetConnector with a row per
/// contract, an id mapped to a key that is not unique): none of the records is taken
/// over the others, which one an API lists first can change between reads. Each is
/// skipped with the reason, keeping what it says of the person, so that their entry is
/// held until one record remains.
fn hold_repeated_ids(batch: &mut Batch) {
    let mut count: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for p in &batch.people {
        *count.entry(p.id.as_str()).or_default() += 1;
    }
    let repeated: HashSet<String> =
        count.into_iter().filter(|(_, n)| *n > 1).map(|(id, _)| id.to_owned()).collect();
    if repeated.is_empty() {
        return;
    }
    let people = std::mem::take(&mut batch.people);
    for p in people {
        if repeated.contains(&p.id) {
            let location = p.location.clone();
            batch.skipped.push(SkippedRecord {
                partial: Some(Box::new(p)),
                ..SkippedRecord::new(
                    RecordKind::Employee,
                    location,
                    "another record carries the same id: the person is held until one record remains (map `id` to a unique key, or give the report one row per person)",
                )
            });
        } else {
            batch.people.push(p);
        }
    }
}

/// The mapped ids of the people deletion markers name: the key `id` is mapped to, else
/// the employee number's (as the normalizer takes it). A marker without that key (the
/// source maps `id` to a key the marker does not carry) removes no one: the person
/// leaves, if they did, when a full read no longer lists them.
fn removed_ids(markers: &[Value], fields: &[(PersonTarget, String)], source: &SourceId) -> Vec<String> {
    let key = |field: PersonField| {
        fields.iter().find(|(t, _)| *t == PersonTarget::Field(field)).map(|(_, k)| k.as_str())
    };
    let keys: Vec<&str> =
        [key(PersonField::Id), key(PersonField::EmployeeNumber)].into_iter().flatten().collect();
    let mut out = Vec::new();
    let mut unnamed = 0usize;
    for marker in markers {
        let id = keys
            .iter()
            .find_map(|k| text_at(marker, k).ok().flatten())
            .and_then(|v| crate::transform::normalize::text(&v));
        match id {
            Some(id) => out.push(id),
            None => unnamed += 1,
        }
    }
    if unnamed > 0 {
        tracing::warn!(source = %source, markers = unnamed, "deletion markers without the mapped id remove no one; a full read will");
    }
    out
}

/// How many different values `value` takes among `people`.
fn distinct(people: &[crate::model::Person], value: impl Fn(&crate::model::Person) -> Option<&str>) -> usize {
    people.iter().filter_map(value).collect::<HashSet<_>>().len()
}

/// Whether a mapped field arrived in a read: its key in some record, and a value in
/// some record.
#[derive(Clone, Copy, Debug, Default)]
struct Presence {
    key: bool,
    value: bool,
}

impl Presence {
    /// Whether the field arrived: its key was in a record (with a value, for an API
    /// whose nulls hide what the credential may not see).
    fn arrived(self, nulls_hide: bool) -> bool {
        if nulls_hide { self.value } else { self.key }
    }
}

/// Maps vendor records onto people, into `batch`; returns, per mapped field, whether
/// it arrived. In a `delta`, the fields a record does not carry at all are noted in
/// [`Batch::unsent`], to keep their last good values.
fn map_people(
    items: &[Value],
    name: &str,
    fields: &[(PersonTarget, String)],
    normalizer: &Normalizer,
    batch: &mut Batch,
    delta: bool,
) -> Vec<Presence> {
    let mut present = vec![Presence::default(); fields.len()];
    for (i, item) in items.iter().enumerate() {
        let location = RecordLocation { file: name.to_owned(), line: i as u64 + 1 };
        if !item.is_object() {
            batch.skipped.push(SkippedRecord::new(
                RecordKind::Employee,
                location,
                "the record is not an object",
            ));
            continue;
        }
        let mut values: Vec<(&PersonTarget, String)> = Vec::with_capacity(fields.len());
        let mut problem = None;
        let mut unsent: Vec<FieldRef> = Vec::new();
        for (f, (target, key)) in fields.iter().enumerate() {
            let carried = has_key(item, key);
            if carried {
                present[f].key = true;
            } else if delta {
                unsent.push(match target {
                    PersonTarget::Field(field) => FieldRef::Person(*field),
                    PersonTarget::Custom(name) => FieldRef::Custom(name.clone()),
                });
            }
            match text_at(item, key) {
                Ok(Some(v)) => {
                    present[f] = Presence { key: true, value: true };
                    let v = if is_date(target) { date_part(&v) } else { Some(v) };
                    if let Some(v) = v {
                        values.push((target, v));
                    }
                }
                Ok(None) => {}
                Err(reason) => {
                    present[f] = Presence { key: true, value: true };
                    problem.get_or_insert(reason);
                }
            }
        }
        let person = match problem {
            Some(reason) => Err(SkippedRecord {
                partial: normalizer.partial(location.clone(), values.iter().map(|(t, v)| (*t, v.as_str()))),
                ..SkippedRecord::new(RecordKind::Employee, location, reason)
            }),
            None => normalizer.person(location, values.iter().map(|(t, v)| (*t, v.as_str()))),
        };
        match person {
            Ok(p) => {
                if !unsent.is_empty() {
                    batch.unsent.insert(p.id.clone(), unsent);
                }
                batch.people.push(p)
            }
            Err(s) => batch.skipped.push(s),
        }
    }
    present
}

/// Whether the dotted `key` is in `item` (with any value, `null` included).
fn has_key(item: &Value, key: &str) -> bool {
    let mut node = item;
    for part in key.split('.') {
        match node.get(part) {
            Some(next) => node = next,
            None => return false,
        }
    }
    true
}

fn is_date(target: &PersonTarget) -> bool {
    matches!(target, PersonTarget::Field(PersonField::StartDate | PersonField::EndDate))
}

/// The date of a vendor's date or time stamp: `2026-03-01`, `2026-03-01T00:00:00.000Z`;
/// BambooHR's `0000-00-00` is no date. Anything else is passed on, for the date format
/// to refuse with a reason.
pub(super) fn date_part(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() || t.starts_with("0000-00-00") {
        return None;
    }
    let b = t.as_bytes();
    let dated = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[5..7].iter().chain(&b[8..10]).all(u8::is_ascii_digit);
    // A time, or a zone alone (`2026-03-01Z`, Workday's `2026-03-01-08:00`), after
    // the date: the date is what the HR system recorded.
    let zone = |rest: &[u8]| {
        rest == b"Z"
            || (rest.len() == 6
                && matches!(rest[0], b'+' | b'-')
                && rest[1..3].iter().chain(&rest[4..6]).all(u8::is_ascii_digit)
                && rest[3] == b':')
    };
    if dated && (b.len() == 10 || matches!(b[10], b'T' | b't' | b' ') || zone(&b[10..])) {
        return Some(t[..10].to_owned());
    }
    Some(t.to_owned())
}

/// A non-empty text at a JSON pointer, as a cursor or link.
pub(super) fn text(body: &Value, pointer: &str) -> Option<String> {
    match body.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Takes the array at `pointer` out of `body`, or says where it is missing.
pub(super) fn take_array(
    api: &Api<'_>,
    path: &str,
    body: &mut Value,
    pointer: &str,
    page: u64,
) -> Result<Vec<Value>, SourceError> {
    match body.pointer_mut(pointer) {
        Some(Value::Array(items)) => Ok(std::mem::take(items)),
        Some(Value::Null) => Ok(Vec::new()),
        Some(_) => Err(api.format(path, format!("page {page}: `{pointer}` is not a list of records"))),
        None => Err(api.format(
            path,
            format!("page {page} has no `{pointer}`: this is not the answer the {} API gives", api.vendor()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_dates_and_stamps_become_dates() {
        assert_eq!(date_part("2026-03-01").as_deref(), Some("2026-03-01"));
        assert_eq!(date_part("2020-01-01T00:00:00.000Z").as_deref(), Some("2020-01-01"));
        assert_eq!(date_part("0000-00-00"), None);
        assert_eq!(date_part("01.03.2026").as_deref(), Some("01.03.2026"));
        assert_eq!(date_part("2026-03-01x").as_deref(), Some("2026-03-01x"));
        assert_eq!(date_part("2026-03-01-08:00").as_deref(), Some("2026-03-01"));
        assert_eq!(date_part("2026-03-01+01:00").as_deref(), Some("2026-03-01"));
        assert_eq!(date_part("2026-03-01Z").as_deref(), Some("2026-03-01"));
        assert_eq!(date_part("2026-03-01-0800").as_deref(), Some("2026-03-01-0800"));
        assert_eq!(date_part("é"), Some("é".to_owned()));
    }
}
