//! The `rest` source: people read from a JSON API over HTTP, declared in the source
//! file — the endpoint and its authentication (`connection`), where the records are in
//! a page (`records`), how the API pages (`pagination`: numbered pages, offsets, a
//! cursor, or a next link in the body or the `Link` header), and the key of each field
//! (`fields`, dots for nested keys); employments and org units, when declared, from
//! endpoints of their own (org units always in full). Only GET requests are sent. Retries with back-off
//! on 429 and 503 (honouring `Retry-After`), timeouts, bearer tokens and OAuth2 client
//! credentials come from the HTTP client the SCIM and Entra directories use.
//!
//! Numbered pages and offsets end at an empty page or one shorter than the longest
//! before it: an API that caps the page size below `page_size` says so by giving fewer
//! records, and hrsync does not mistake its second page for the end.
//!
//! A read is checked before it is trusted: a page that is not JSON or holds no record
//! array fails the source; so do the same next page twice, a page that repeats the one
//! before (an API that ignores the paging parameters), and more pages than any API
//! should need. When `total` is given, a read that ends with another count is
//! incomplete, and the run keeps the last good read and disables no one. Records are
//! numbered from 1 across pages, so a skipped one is named `<url>:<n>`.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value;

use super::json::{read_employments, read_org_units, read_people, targets};
use super::{Batch, Completeness, Fetch, FetchRequest, Source, SourceError, dedupe};
use crate::config::{Pagination, RestEndpoint, RestSettings, SourceConfig};
use crate::http::{Http, HttpError, Response};
use crate::model::SourceId;
use crate::transform::normalize::Normalizer;

/// More pages than this is a paging loop, not a workforce.
const MAX_PAGES: u64 = 100_000;

/// A REST source.
pub struct RestSource {
    config: SourceConfig,
    settings: RestSettings,
    http: Result<Http, Arc<HttpError>>,
}

impl RestSource {
    /// The source `config` declares, with its `settings`.
    pub fn new(config: SourceConfig, settings: RestSettings) -> Self {
        let http = Http::new(&settings.http, "application/json").map_err(Arc::new);
        RestSource { config, settings, http }
    }

    /// The people endpoint without its query, which names records and errors.
    fn endpoint(&self) -> &str {
        without_query(&self.settings.people.url)
    }

    fn format(&self, message: String) -> SourceError {
        SourceError::Format { path: self.endpoint().to_owned(), message }
    }
}

/// Which page to ask for next.
enum Next {
    /// The first page.
    First,
    /// Page number or offset `n`.
    Number(u64),
    /// The page after this cursor.
    Cursor(String),
    /// The page at this URL.
    Url(String),
}

#[async_trait]
impl Source for RestSource {
    fn id(&self) -> &SourceId {
        &self.config.id
    }

    async fn fetch(&self, request: &FetchRequest) -> Result<Fetch, SourceError> {
        let http = self
            .http
            .as_ref()
            .map_err(|e| SourceError::Client { url: self.endpoint().to_owned(), source: Arc::clone(e) })?;
        let s = &self.settings;
        let since = match (&s.since_param, request.since) {
            (Some(param), Some(since)) if self.config.delta => Some((param.clone(), since.to_string())),
            _ => None,
        };
        let mut headers: Vec<(&str, String)> = vec![("Accept", "application/json".to_owned())];
        headers.extend(s.headers.iter().map(|(k, v)| (k.as_str(), v.clone())));
        for (name, secret) in &s.secret_headers {
            let value = secret.resolve().map_err(|e| self.format(format!("header `{name}`: {e}")))?;
            headers.push((name.as_str(), value.expose().to_owned()));
        }
        let normalizer = Normalizer::new(&self.config);
        let mut batch = Batch::default();

        let people = self.read(http, &s.people, since.as_ref(), &headers).await?;
        read_people(&people.records, self.endpoint(), &targets(&s.fields), &normalizer, &mut batch);
        batch.incomplete = people.incomplete;
        if let Some((endpoint, fields)) = &s.employments {
            let employments = self.read(http, endpoint, since.as_ref(), &headers).await?;
            read_employments(
                &employments.records,
                without_query(&endpoint.url),
                fields,
                &normalizer,
                &mut batch,
            );
        }
        if let Some((endpoint, fields)) = &s.org_units {
            // Org units are few: always read in full.
            let units = self.read(http, endpoint, None, &headers).await?;
            read_org_units(&units.records, without_query(&endpoint.url), fields, &normalizer, &mut batch);
        }
        if since.is_some() {
            batch.completeness = Completeness::Delta;
        }
        Ok(Fetch::Records(dedupe(batch)))
    }
}

/// What one endpoint gave.
struct Read {
    records: Vec<Value>,
    incomplete: Option<String>,
}

impl RestSource {
    /// Reads every page of `endpoint`.
    async fn read(
        &self,
        http: &Http,
        endpoint: &RestEndpoint,
        since: Option<&(String, String)>,
        headers: &[(&str, String)],
    ) -> Result<Read, SourceError> {
        let name = without_query(&endpoint.url);
        let fail = |message: String| SourceError::Format { path: name.to_owned(), message };
        let size = u64::from(self.settings.http.page_size);
        let mut records: Vec<Value> = Vec::new();
        let mut next = Next::First;
        let mut seen: HashSet<String> = HashSet::new();
        let mut total: Option<u64> = None;
        let (mut pages, mut longest) = (0u64, 0u64);
        let mut previous: Option<blake3::Hash> = None;
        loop {
            let (url, query) = request(endpoint, &next, since, size);
            let response = http
                .send(Method::GET, &url, &query, None, headers)
                .await
                .map_err(|source| SourceError::Http { url: name.to_owned(), source })?;
            pages += 1;
            let Response { body, body_error, next_link, .. } = response;
            let mut body = body.ok_or_else(|| {
                let why = body_error.map(|e| format!(": {e}")).unwrap_or_default();
                fail(format!("page {pages} is not JSON{why}"))
            })?;
            if pages == 1
                && let Some(pointer) = &endpoint.total
            {
                total =
                    Some(body.pointer(pointer).and_then(count).ok_or_else(|| {
                        fail(format!("the first page has no count at `{pointer}` (`total`)"))
                    })?);
            }
            let page = page_records(&mut body, endpoint.records.as_deref())
                .map_err(|m| fail(format!("page {pages}: {m}")))?;
            // An API that ignores the page or offset parameter gives the same page again
            // (cursors and links are checked by the next page they name).
            let bytes = serde_json::to_vec(&page).map_err(|e| fail(format!("page {pages}: {e}")))?;
            let digest = blake3::hash(&bytes);
            let numbered = matches!(endpoint.pagination, Pagination::Page { .. } | Pagination::Offset { .. });
            if numbered && !page.is_empty() && previous == Some(digest) {
                return Err(fail(format!(
                    "page {pages} holds the same records as page {}; the API ignores `pagination`",
                    pages - 1
                )));
            }
            previous = Some(digest);
            let got = page.len() as u64;
            records.extend(page);
            // A numbered page shorter than the longest so far (an API may give fewer than
            // asked, and say nothing), or an empty one, is the last.
            let last = got == 0 || got < longest;
            longest = longest.max(got);
            next = match &endpoint.pagination {
                Pagination::None => break,
                Pagination::Page { .. } | Pagination::Offset { .. } if last => break,
                Pagination::Page { first, .. } => Next::Number(first + pages),
                Pagination::Offset { .. } => Next::Number(records.len() as u64),
                Pagination::Cursor { next, .. } => match body.pointer(next).and_then(text) {
                    Some(cursor) => Next::Cursor(cursor),
                    None => break,
                },
                Pagination::Link { next, .. } => {
                    let link = match next {
                        Some(pointer) => body.pointer(pointer).and_then(text),
                        None => next_link,
                    };
                    match link {
                        Some(link) => Next::Url(resolve(&endpoint.url, &link).map_err(&fail)?),
                        None => break,
                    }
                }
            };
            let key = match &next {
                Next::Cursor(c) => c.clone(),
                Next::Url(u) => u.clone(),
                _ => String::new(),
            };
            if !key.is_empty() && !seen.insert(key) {
                return Err(fail(format!(
                    "the API gave the same next page twice (after {pages} pages); hrsync stops rather than loop"
                )));
            }
            if pages >= MAX_PAGES {
                return Err(fail(format!("more than {MAX_PAGES} pages; check `pagination`")));
            }
        }
        let read = records.len() as u64;
        tracing::debug!(source = %self.config.id, endpoint = name, pages, records = read, "read");
        let incomplete = total
            .filter(|t| *t != read)
            .map(|t| format!("the API announced {t} records at {name} and gave {read}"));
        Ok(Read { records, incomplete })
    }
}

/// The URL and query of the `next` page of `endpoint`.
fn request<'a>(
    endpoint: &'a RestEndpoint,
    next: &Next,
    since: Option<&'a (String, String)>,
    size: u64,
) -> (String, Vec<(&'a str, String)>) {
    let mut query: Vec<(&str, String)> =
        endpoint.query.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    if let Some((param, time)) = since {
        query.push((param, time.clone()));
    }
    match (&endpoint.pagination, next) {
        (_, Next::Url(url)) => return (url.clone(), Vec::new()),
        (Pagination::Page { param, size_param, first }, next) => {
            let n = if let Next::Number(n) = next { *n } else { *first };
            query.push((param, n.to_string()));
            query.push((size_param, size.to_string()));
        }
        (Pagination::Offset { param, size_param }, next) => {
            let n = if let Next::Number(n) = next { *n } else { 0 };
            query.push((param, n.to_string()));
            query.push((size_param, size.to_string()));
        }
        (Pagination::Cursor { param, size_param, .. }, next) => {
            if let Next::Cursor(cursor) = next {
                query.push((param, cursor.clone()));
            }
            if let Some(p) = size_param {
                query.push((p, size.to_string()));
            }
        }
        (Pagination::Link { size_param: Some(p), .. }, _) => query.push((p, size.to_string())),
        (Pagination::Link { .. } | Pagination::None, _) => {}
    }
    (endpoint.url.clone(), query)
}

/// Takes the records out of a page: at `pointer`, or the page itself when it is an
/// array, else `/data`.
fn page_records(body: &mut Value, pointer: Option<&str>) -> Result<Vec<Value>, String> {
    let pointer = match (pointer, &*body) {
        (Some(p), _) => p,
        (None, Value::Array(_)) => "",
        (None, _) => "/data",
    };
    match body.pointer_mut(pointer) {
        Some(Value::Array(items)) => Ok(std::mem::take(items)),
        Some(_) => Err(format!("`{pointer}` is not an array of records")),
        None => Err(format!("there is no `{pointer}`; set `records` to the JSON pointer of the records")),
    }
}

/// A next link made absolute against the endpoint.
fn resolve(endpoint: &str, link: &str) -> Result<String, String> {
    reqwest::Url::parse(endpoint)
        .and_then(|base| base.join(link))
        .map(String::from)
        .map_err(|e| format!("the next link is not a URL: {e}"))
}

/// A URL without its query, which names records and errors.
fn without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// A non-empty text or number, as a cursor or link.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A count, as a number or a text of digits.
fn count(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}
