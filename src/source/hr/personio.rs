//! Personio's API v2: `GET /v2/persons` and, per person, `GET
//! /v2/persons/{id}/employments`, with an OAuth2 client-credentials token from `POST
//! /v2/auth/token` that the HTTP client fetches and caches for its 24 hours
//! (developer.personio.de/reference/get_v2-persons,
//! …/get_v2-persons-person-id-employments, …/post_v2-auth-token; shared reference
//! `hr-apis.md` §2.2). v1 was not needed: v2 has everything hrsync maps except office
//! names (see below), and v1 would need a token of its own the HTTP client does not
//! fetch.
//!
//! - Pages: `limit` (at most 50) and a cursor that exists only inside
//!   `_meta.links.next.href`; no `next` ends the read. No total is given. The next link
//!   is followed with the filters sent again (the reference leaves open whether the
//!   cursor carries them), must point at the API's own host (the token goes with it),
//!   and a link seen before fails the read (Personio has answered with a `next` that
//!   points at the page just read, developer.personio.de/discuss 66ed43cf…).
//! - Deltas: `updated_at.gt`. The v2 filters take dates only in practice (pysonio's
//!   `ListEmploymentsQueryParams`; a forum thread shows `…T12:00:00Z` refused with 400
//!   on another v2 list), so a delta asks for the *date* of the watermark minus one
//!   day: a day of overlap, which re-reads some people and misses no one. Whether a
//!   change to an employment alone moves the person's `updated_at` is not documented:
//!   the daily full read (`full_every`) settles it.
//! - Deletions: the API has no tombstone (`Person.deleted` exists only as a webhook):
//!   a delta never removes anyone; only a full read, by leaving them out, does.
//! - Employments: one request per person, most recent first, run in parallel up to
//!   `connection.concurrency` (the HTTP client bounds requests in flight as well). The
//!   most recent employment is the person's current one: its status (`ACTIVE`,
//!   `ONBOARDING`, `LEAVE`, `INACTIVE` → active, pending, leave, terminated), position,
//!   supervisor, office, legal entity, org units and dates are folded into the person
//!   under `hrsync`. A termination is that status and date on a live record.
//! - Names: employments carry ids only. Department and team names come from `GET
//!   /v2/org-units?type=department|team` (a beta list endpoint,
//!   developer.personio.de/reference/listorgunits; forum users have seen it answer
//!   404), legal entity names from `GET /v2/legal-entities` (GA,
//!   …/reference/listlegalentities). Where a list is refused (403, 404) the names are
//!   left out, so the fields are withheld (directories keep what they hold) rather than
//!   filled with ids. Office names have no v2 endpoint (forum 67d02dda…): the work
//!   location is the office id.
//! - Custom attributes `[{id, global_id, label, type, value}]` are reachable by label
//!   and by id: `hrsync.custom.<label>` and `hrsync.custom_id.<id>`, each lowercased
//!   with every run of characters other than letters and digits turned into one `_`
//!   (`Cost centre` → `hrsync.custom.cost_centre`, `Dept. code (old)` →
//!   `hrsync.custom.dept_code_old`), so that a dotted key never splits a label. Lists
//!   are joined with `, `; `type` is not trusted (the spec's enum and its own examples
//!   disagree), the JSON type of `value` is.
//! - Attributes a credential may not read are left out with a 200: a person of only
//!   `id` and `employments` is the sign. Such fields never arrive and are withheld.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use futures::StreamExt;
use jiff::ToSpan;
use serde_json::{Map, Value, json};

use super::{Api, Ask, Connector, Got, Pager, date_part, take_array, text};
use crate::source::SourceError;

/// The connector.
pub(super) struct Personio;

const PERSONS: &str = "v2/persons";
const ORG_UNITS: &str = "v2/org-units";
const LEGAL_ENTITIES: &str = "v2/legal-entities";

#[async_trait]
impl Connector for Personio {
    fn defaults(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "id"),
            ("employee_number", "id"),
            ("first_name", "first_name"),
            ("last_name", "last_name"),
            ("preferred_name", "preferred_name"),
            ("display_name", "hrsync.display_name"),
            ("work_email", "email"),
            ("job_title", "hrsync.job_title"),
            ("department", "hrsync.department"),
            ("team", "hrsync.team"),
            ("org_unit", "hrsync.department_id"),
            ("legal_entity", "hrsync.legal_entity"),
            ("work_location", "hrsync.office_id"),
            ("manager", "hrsync.manager"),
            ("employment_status", "hrsync.employment_status"),
            ("employment_type", "hrsync.employment_type"),
            ("start_date", "hrsync.start_date"),
            ("end_date", "hrsync.end_date"),
        ]
    }

    fn values(&self) -> &'static [(&'static str, &'static [(&'static str, &'static str)])] {
        &[
            (
                "employment_status",
                &[
                    ("ACTIVE", "active"),
                    ("ONBOARDING", "pending"),
                    ("LEAVE", "leave"),
                    ("INACTIVE", "terminated"),
                ],
            ),
            ("employment_type", &[("INTERNAL", "employee"), ("EXTERNAL", "contractor")]),
        ]
    }

    fn employment_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "id"),
            ("person", "person.id"),
            ("employment_type", "type"),
            ("legal_entity", "hrsync.legal_entity"),
            ("job_title", "position.title"),
            ("start_date", "hrsync.start_date"),
            ("end_date", "hrsync.end_date"),
        ]
    }

    fn org_unit_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[("id", "id"), ("name", "name"), ("parent", "parent_id")]
    }

    fn grant(&self) -> &'static str {
        "add the attribute to the readable attributes of the API credential in Personio (Settings → API credentials) and check its scopes (persons, employments, org units, legal entities: read)"
    }

    fn credential(&self) -> &'static str {
        "client id and client secret"
    }

    async fn read(&self, api: &Api<'_>, ask: &Ask<'_>) -> Result<Got, SourceError> {
        let mut got = Got { delta: ask.since.is_some(), endpoint: PERSONS.into(), ..Got::default() };
        let mut query: Vec<(String, String)> =
            vec![("limit".into(), api.settings.http.page_size.clamp(1, 50).to_string())];
        query.extend(api.settings.query.iter().cloned());
        if let Some(since) = ask.since {
            query.push(("updated_at.gt".into(), since_date(since)));
        }
        let persons = list(api, PERSONS, &query, ask.first_page_only, true).await?;

        // One employments request per person, in parallel.
        let ids: Vec<String> =
            persons.iter().filter_map(|p| text(p, "/id")).collect::<HashSet<_>>().into_iter().collect();
        let concurrency = api.settings.http.concurrency.max(1);
        let mut fetched: HashMap<String, Vec<Value>> = HashMap::with_capacity(ids.len());
        // The first failure stops the reads: a credential that may not read
        // employments would otherwise be refused once per person (and vendors block
        // addresses that keep failing).
        let mut failure: Option<SourceError> = None;
        let mut stream = futures::stream::iter(ids)
            .map(|id| async move {
                let path = format!("{PERSONS}/{}/employments", segment(&id));
                let result = list(api, &path, &[], false, false).await;
                (id, result)
            })
            .buffer_unordered(concurrency);
        while let Some((id, result)) = stream.next().await {
            match result {
                Ok(e) => {
                    fetched.insert(id, e);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(stream);
        if let Some(e) = failure {
            return Err(e);
        }

        let names = Names::read(api, ask.first_page_only).await?;
        for mut person in persons {
            let id = text(&person, "/id");
            let employments = id.as_ref().and_then(|id| fetched.remove(id)).unwrap_or_default();
            let mut employments: Vec<Value> =
                employments.into_iter().map(|e| employment(e, id.as_deref(), &names)).collect();
            derive(&mut person, employments.first(), &names);
            got.employments.append(&mut employments);
            got.people.push(person);
        }
        got.org_units = names.org_units;
        got.legal_entities = names.legal_entities.as_ref().map(BTreeMap::len);
        Ok(got)
    }
}

/// The date of `since` in UTC minus one day, as the v2 filters take it: `2026-11-23`.
fn since_date(since: jiff::Timestamp) -> String {
    let day = since.to_zoned(jiff::tz::TimeZone::UTC).date();
    day.checked_sub(1.day()).unwrap_or(day).to_string()
}

/// `id` as one path segment: every byte but letters, digits, `-` and `_` escaped, so
/// that an id can never reach another path.
fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every record of a v2 list at `path` (`_data`), following `_meta.links.next.href`
/// with `query` sent again; with `first_page_only`, the first page only. `people`
/// counts the records for progress.
async fn list(
    api: &Api<'_>,
    path: &str,
    query: &[(String, String)],
    first_page_only: bool,
    people: bool,
) -> Result<Vec<Value>, SourceError> {
    let origin = origin(&api.http.url(path));
    let mut pager = Pager::new();
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let (url, params) = match &next {
            None => (path.to_owned(), query.to_vec()),
            Some(href) => follow(api, path, href, query, origin.as_deref())?,
        };
        let params: Vec<(&str, String)> = params.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let response = api.get(&url, &params).await?;
        let mut body = api.json(path, response, pager.pages + 1)?;
        let link = text(&body, "/_meta/links/next/href");
        let records = take_array(api, path, &mut body, "/_data", pager.pages + 1)?;
        pager.next(api, path, link.as_deref())?;
        if people {
            api.count(records.len());
        }
        out.extend(records);
        match link {
            Some(l) if !first_page_only => next = Some(l),
            _ => return Ok(out),
        }
    }
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(format!(
        "{}://{}{}",
        u.scheme(),
        u.host_str()?,
        u.port().map(|p| format!(":{p}")).unwrap_or_default()
    ))
}

/// The request for a next link: the link without its query, and the link's query
/// with `query`'s filters added where the link lacks them. A link to another host is
/// refused: the token would go with it.
fn follow(
    api: &Api<'_>,
    path: &str,
    href: &str,
    query: &[(String, String)],
    origin_of_base: Option<&str>,
) -> Result<(String, Vec<(String, String)>), SourceError> {
    let url = reqwest::Url::parse(href).map_err(|_| api.format(path, "the next page link is not a URL"))?;
    if origin(href).as_deref() != origin_of_base || origin_of_base.is_none() {
        return Err(api.format(
            path,
            "the next page link points at another host; hrsync does not send the token there",
        ));
    }
    let mut params: Vec<(String, String)> =
        url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    for (k, v) in query {
        if !params.iter().any(|(pk, _)| pk == k) {
            params.push((k.clone(), v.clone()));
        }
    }
    let mut bare = url;
    bare.set_query(None);
    bare.set_fragment(None);
    Ok((bare.to_string(), params))
}

/// Names of the ids employments carry.
#[derive(Default)]
struct Names {
    /// Org unit id → name.
    units: HashMap<String, String>,
    /// Whether the org units could be listed (both types).
    listed: bool,
    /// The org units, for [`Got::org_units`].
    org_units: Vec<Value>,
    /// Legal entity id → name, when the list could be read.
    legal_entities: Option<BTreeMap<String, String>>,
}

impl Names {
    /// Reads the org units (departments and teams) and legal entities; a list the
    /// credential may not read, or that is not there, leaves its names out.
    async fn read(api: &Api<'_>, first_page_only: bool) -> Result<Names, SourceError> {
        let mut names = Names::default();
        let size = api.settings.http.page_size.clamp(1, 50).to_string();
        names.listed = true;
        for kind in ["department", "team"] {
            let query = vec![("type".to_owned(), kind.to_owned()), ("limit".to_owned(), size.clone())];
            let Some(units) =
                optional(list(api, ORG_UNITS, &query, first_page_only, false).await, ORG_UNITS)?
            else {
                names.listed = false;
                continue;
            };
            for unit in units {
                if let (Some(id), Some(name)) = (text(&unit, "/id"), text(&unit, "/name"))
                    && names.units.insert(id, name).is_none()
                {
                    names.org_units.push(unit);
                }
            }
        }
        let query = vec![("limit".to_owned(), size)];
        if let Some(entities) =
            optional(list(api, LEGAL_ENTITIES, &query, first_page_only, false).await, LEGAL_ENTITIES)?
        {
            names.legal_entities =
                Some(entities.iter().filter_map(|e| Some((text(e, "/id")?, text(e, "/name")?))).collect());
        }
        Ok(names)
    }
}

/// A list read, or `None` when the credential may not read it (403) or the endpoint
/// is not there (404): its names are then left out and the fields withheld.
fn optional(read: Result<Vec<Value>, SourceError>, path: &str) -> Result<Option<Vec<Value>>, SourceError> {
    let status = |e: &SourceError| match e {
        SourceError::Credentials { source, .. } => source.status(),
        SourceError::Http { source, .. } => source.status(),
        _ => None,
    };
    match read {
        Ok(v) => Ok(Some(v)),
        Err(e)
            if matches!(
                status(&e),
                Some(reqwest::StatusCode::FORBIDDEN | reqwest::StatusCode::NOT_FOUND)
            ) =>
        {
            tracing::warn!(endpoint = path, "Personio refused the list; its names are left out");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// An employment with `person.id` set and `hrsync.legal_entity`, `start_date`,
/// `end_date` derived.
fn employment(mut e: Value, person: Option<&str>, names: &Names) -> Value {
    let mut derived = Map::new();
    put(&mut derived, "legal_entity", legal_entity_name(&e, names));
    put(&mut derived, "start_date", at(&e, "/employment_start_date").map(as_date));
    put(&mut derived, "end_date", end_date(&e));
    if let Some(o) = e.as_object_mut() {
        if !o.get("person").is_some_and(Value::is_object)
            && let Some(p) = person
        {
            o.insert("person".into(), json!({ "id": p }));
        }
        o.insert("hrsync".into(), Value::Object(derived));
    }
    e
}

/// The value at `pointer` as text, `null` when it is null (or its parent is), or
/// `None` when the record does not have the key at all (the credential may not read
/// it): presence is what tells a withheld field from an empty one.
fn at(record: &Value, pointer: &str) -> Option<Value> {
    match record.pointer(pointer) {
        Some(v) => Some(text(v, "").map_or(Value::Null, Value::String)),
        None => {
            let parent = &pointer[..pointer.rfind('/').unwrap_or(0)];
            (!parent.is_empty() && record.pointer(parent).is_some()).then_some(Value::Null)
        }
    }
}

/// A date or time stamp as a date; anything else as it is, for the mapping to refuse.
fn as_date(v: Value) -> Value {
    match v {
        Value::String(s) => date_part(&s).map_or(Value::Null, Value::String),
        other => other,
    }
}

/// The termination date, else the employment's end date.
fn end_date(e: &Value) -> Option<Value> {
    let termination = at(e, "/termination/termination_date");
    let end = at(e, "/employment_end_date");
    match (termination, end) {
        (Some(t), _) if !t.is_null() => Some(as_date(t)),
        (t, e) => e.map(as_date).or(t),
    }
}

/// The legal entity's name: its own, else from the legal entities list; `None` when
/// the list could not be read.
fn legal_entity_name(e: &Value, names: &Names) -> Option<Value> {
    let Some(id) = text(e, "/legal_entity/id") else { return at(e, "/legal_entity/id") };
    if let Some(name) = text(e, "/legal_entity/name") {
        return Some(Value::String(name));
    }
    let listed = names.legal_entities.as_ref()?;
    Some(listed.get(&id).cloned().map_or(Value::Null, Value::String))
}

/// Inserts `key` when the record had it: a derived key whose source is missing stays
/// missing, so that a field the credential may not read is withheld, not emptied.
fn put(o: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        o.insert(key.to_owned(), v);
    }
}

/// Folds the person's current employment (`current`), display name and custom
/// attributes into `hrsync`.
fn derive(person: &mut Value, current: Option<&Value>, names: &Names) {
    let mut d = Map::new();
    let first = text(person, "/preferred_name").or_else(|| text(person, "/first_name"));
    if let (Some(first), Some(last)) = (first, text(person, "/last_name")) {
        d.insert("display_name".into(), Value::String(format!("{first} {last}")));
    }
    if let Some(e) = current {
        put(&mut d, "employment_status", at(e, "/status"));
        put(&mut d, "employment_type", at(e, "/type"));
        put(&mut d, "job_title", at(e, "/position/title"));
        put(&mut d, "manager", at(e, "/supervisor/id"));
        put(&mut d, "office_id", at(e, "/office/id"));
        put(&mut d, "legal_entity_id", at(e, "/legal_entity/id"));
        for key in ["legal_entity", "start_date", "end_date"] {
            if let Some(v) = e.pointer(&format!("/hrsync/{key}")) {
                d.insert(key.into(), v.clone());
            }
        }
        if let Some(units) = e.get("org_units").and_then(Value::as_array) {
            for kind in ["department", "team"] {
                let unit = units.iter().find(|u| {
                    u.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(kind))
                });
                let id = unit.and_then(|u| text(u, "/id"));
                let name = match (unit.and_then(|u| text(u, "/name")), &id) {
                    (Some(name), _) => Some(Value::String(name)),
                    (None, Some(id)) if names.listed => {
                        Some(names.units.get(id).cloned().map_or(Value::Null, Value::String))
                    }
                    // Without the list the name is unknown, not empty.
                    (None, Some(_)) => None,
                    (None, None) => Some(Value::Null),
                };
                put(&mut d, kind, name);
                d.insert(format!("{kind}_id"), id.map_or(Value::Null, Value::String));
            }
        }
    }
    let (by_label, by_id) = custom(person);
    if !by_label.is_empty() {
        d.insert("custom".into(), Value::Object(by_label));
    }
    if !by_id.is_empty() {
        d.insert("custom_id".into(), Value::Object(by_id));
    }
    if let Some(o) = person.as_object_mut() {
        o.insert("hrsync".into(), Value::Object(d));
    }
}

/// The custom attributes by label and by id, keyed by [`slug`]; the first of two
/// labels with the same slug wins.
fn custom(person: &Value) -> (Map<String, Value>, Map<String, Value>) {
    let (mut by_label, mut by_id) = (Map::new(), Map::new());
    let Some(attributes) = person.get("custom_attributes").and_then(Value::as_array) else {
        return (by_label, by_id);
    };
    for a in attributes {
        let value = match a.get("value") {
            Some(Value::Array(items)) => {
                let parts: Vec<String> = items.iter().filter_map(|i| text(i, "")).collect();
                Value::String(parts.join(", "))
            }
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null)) => v.clone(),
            // An object has no one text: left out rather than guessed.
            _ => continue,
        };
        if let Some(label) = a.get("label").and_then(Value::as_str).map(slug).filter(|s| !s.is_empty()) {
            by_label.entry(label).or_insert_with(|| value.clone());
        }
        if let Some(id) = text(a, "/id").map(|i| slug(&i)).filter(|s| !s.is_empty()) {
            by_id.entry(id).or_insert(value);
        }
    }
    (by_label, by_id)
}

/// A label as one key: lowercased, each run of characters other than letters and
/// digits one `_`, none at either end (`Cost centre (EU)` → `cost_centre_eu`).
fn slug(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut gap = false;
    for ch in label.chars() {
        if ch.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.extend(ch.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

#[cfg(test)]
mod tests;
