//! Microsoft Entra ID as an HR source: the users of a tenant through Microsoft Graph's
//! delta query, `GET /v1.0/users/delta`, with an app registration's client-credentials
//! token (the HTTP client fetches and caches it; scope
//! `https://graph.microsoft.com/.default`). What this follows, from
//! microsoftgraph/microsoft-graph-docs-contrib: `api-reference/v1.0/api/user-delta.md`,
//! `concepts/delta-query-overview.md` and `concepts/delta-query-users.md`.
//!
//! - **Rounds.** A full read starts a round: `users/delta?$select=…` naming the top-level
//!   property of every mapped key, plus `id`, `accountEnabled` and `manager` (only
//!   selected properties are tracked, and `manager` in `$select` is what makes manager
//!   changes show up as `manager@delta`). Pages follow `@odata.nextLink` (absolute URLs,
//!   the query encoded in their token) until a page carries `@odata.deltaLink`; a page
//!   may be empty while a next link is still given. The delta link is the read's cursor.
//!   A page with neither link fails the read. `$top`, `$expand` and `$orderby` are not
//!   supported in a users delta (overview, "Optional query parameters") and are never
//!   sent; there is no total to check against.
//! - **Deltas.** A delta read GETs the saved delta link. By default Graph returns every
//!   selected property of a changed user, unchanged ones with their old value, and
//!   leaves out only properties never set (user-delta.md, "Default: return the same
//!   properties as initial delta request"), so a delta record can replace the whole
//!   person. `Prefer: return=minimal` would send only the changed properties, and is
//!   therefore never sent: the core's merge replaces the record.
//! - **Relationships are different.** The overview says `propertyName@delta`
//!   annotations are "included in the response of the initial delta query request"; in
//!   later rounds a changed user carries `manager@delta` only when the manager changed.
//!   A delta record without it says nothing about the manager: its `hrsync.manager`
//!   key is left out (not null), and the core's merge keeps the manager of the last
//!   good read for a key a delta record does not carry.
//! - **Resets.** A delta link Graph no longer knows (410 Gone with an empty token in
//!   `Location`, tokens older than seven days for directory objects, tenant
//!   maintenance; codes such as `syncStateNotFound`) starts a full round; so does a
//!   delta read without a saved link, or with one for another host than `url`.
//! - **Deletions.** `@removed: {"reason": "changed"}` is a soft delete (the user is in
//!   `deletedItems`, restorable for 30 days); `"deleted"` is a permanent delete. In a
//!   delta both remove the person (the core keeps their last record as a leaver by
//!   status; a restored user comes back as a plain record and is active again). A full
//!   round leaves them out. A disabled account (`accountEnabled: false`) is a leaver by
//!   status, `hrsync.status` `terminated`, never a deletion.
//! - **Replays.** The same user may come several times in one round (overview: a single
//!   entity may be contained multiple times; "Replays"), the later the newer: only the
//!   last occurrence of each id is kept, with the last manager any occurrence named.
//! - **Derived keys.** `hrsync.status` (`active`/`terminated` from `accountEnabled`) and
//!   `hrsync.manager` (the manager's object id, `null` for none). Org units are the
//!   distinct values of the key `org_unit` is mapped to (`department` by default).
//! - **Throttling** (429 with `Retry-After`) and the token are the HTTP client's. A bad
//!   secret is 401 `invalid_client` (`AADSTS7000215`) from the token endpoint: a
//!   credentials error, asked once.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use super::{Api, Ask, Connector, Got, Pager, take_array, text};
use crate::http::HttpError;
use crate::model::PersonField;
use crate::source::SourceError;
use crate::source::json::text_at;
use crate::transform::normalize::PersonTarget;

/// The connector.
pub(super) struct EntraId;

/// The delta function of the users collection.
const DELTA: &str = "users/delta";

/// Graph error codes that mean the delta link is no longer usable and a full round is
/// due (delta-query-overview.md, "Synchronization reset" and "Token duration").
const RESYNC_CODES: &[&str] = &["syncStateNotFound", "syncStateInvalid", "resyncRequired"];

#[async_trait]
impl Connector for EntraId {
    fn defaults(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "id"),
            ("employee_number", "employeeId"),
            ("first_name", "givenName"),
            ("last_name", "surname"),
            ("display_name", "displayName"),
            ("work_email", "mail"),
            ("phone", "mobilePhone"),
            ("job_title", "jobTitle"),
            ("department", "department"),
            ("org_unit", "department"),
            ("legal_entity", "companyName"),
            ("work_location", "officeLocation"),
            ("manager", "hrsync.manager"),
            ("employment_status", "hrsync.status"),
            ("employment_type", "employeeType"),
            ("start_date", "employeeHireDate"),
            ("end_date", "employeeLeaveDateTime"),
        ]
    }

    fn values(&self) -> &'static [(&'static str, &'static [(&'static str, &'static str)])] {
        // For a source that maps `employment_status: accountEnabled` itself.
        &[("employment_status", &[("true", "active"), ("false", "terminated")])]
    }

    fn org_unit_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[("id", "id"), ("name", "name")]
    }

    fn grant(&self) -> &'static str {
        "grant the app registration the Microsoft Graph application permission User.Read.All with admin consent (employeeLeaveDateTime also needs User-LifeCycleInfo.Read.All), and check that the property is set on the users"
    }

    fn credential(&self) -> &'static str {
        "app registration's client secret (its value, not its secret ID), client_id and tenant"
    }

    async fn read(&self, api: &Api<'_>, ask: &Ask<'_>) -> Result<Got, SourceError> {
        let origin = origin(&api.http.url(""));
        let saved = ask.since.and(ask.cursor);
        if let Some(link) = saved {
            if origin.is_some() && origin == self::origin(link) {
                match round(api, ask, Some(link)).await? {
                    Round::Done(got) => return Ok(*got),
                    Round::Resync(why) => {
                        tracing::info!(source = %api.config.id, "{why}: reading a full round instead");
                    }
                }
            } else {
                tracing::info!(source = %api.config.id, "the saved delta link is for another host than `url`: reading a full round");
            }
        }
        match round(api, ask, None).await? {
            Round::Done(got) => Ok(*got),
            Round::Resync(why) => Err(api.refused(DELTA, format!("{why}, in a full round"))),
        }
    }
}

/// How a round ended.
enum Round {
    /// Read to its delta link.
    Done(Box<Got>),
    /// The delta link is no longer usable: read a full round.
    Resync(String),
}

/// Reads one round: from `start` (a saved delta link: a delta read) or from scratch.
async fn round(api: &Api<'_>, ask: &Ask<'_>, start: Option<&str>) -> Result<Round, SourceError> {
    let delta = start.is_some();
    let origin = origin(&api.http.url(""));
    let mut pager = Pager::new();
    let mut link: Option<String> = start.map(str::to_owned);
    let mut entries: Vec<Value> = Vec::new();
    let delta_link = loop {
        let page = pager.pages + 1;
        let path = link.clone().unwrap_or_else(|| DELTA.to_owned());
        let response = match &link {
            Some(l) => api.get(l, &[]).await,
            None => {
                let mut query = vec![("$select", select(api))];
                query.extend(api.settings.query.iter().map(|(k, v)| (k.as_str(), v.clone())));
                api.get(DELTA, &query).await
            }
        };
        let response = match response {
            Err(e) if delta => match resync(&e) {
                Some(why) => return Ok(Round::Resync(why)),
                None => return Err(e),
            },
            other => other?,
        };
        let mut body = api.json(&path, response, page)?;
        let next = text(&body, "/@odata.nextLink");
        let end = text(&body, "/@odata.deltaLink");
        let values = take_array(api, &path, &mut body, "/value", page)?;
        pager.next(api, &path, next.as_deref())?;
        api.count(values.len());
        entries.extend(values);
        if ask.first_page_only {
            break None;
        }
        match (next, end) {
            (Some(n), _) => {
                if origin.is_none() || self::origin(&n) != origin {
                    return Err(api.format(
                        &path,
                        format!("page {page}: `@odata.nextLink` leads away from the API's host; hrsync sends its token nowhere else"),
                    ));
                }
                link = Some(n);
            }
            (None, Some(d)) => break Some(d),
            (None, None) => {
                return Err(api.format(
                    &path,
                    format!("page {page} has neither `@odata.nextLink` nor `@odata.deltaLink`: the round ended early, and nothing of it is used"),
                ));
            }
        }
    };
    let mut got = Got { delta, cursor: delta_link, endpoint: DELTA.into(), ..Got::default() };
    settle(entries, &mut got);
    got.org_units = org_units(api, &got.people);
    Ok(Round::Done(Box::new(got)))
}

/// The `$select` of a round: `id`, `accountEnabled`, `manager`, and the top-level
/// property of every mapped key (the derived `hrsync.*` keys come from those three).
fn select(api: &Api<'_>) -> String {
    let mut seen = HashSet::new();
    let mut out: Vec<&str> = Vec::new();
    let fixed = ["id", "accountEnabled", "manager"];
    let mapped = api.mapped_keys().into_iter().filter(|k| !k.starts_with("hrsync.") && *k != "hrsync");
    for key in fixed.into_iter().chain(mapped) {
        let top = key.split('.').next().unwrap_or(key);
        if !top.is_empty() && seen.insert(top) {
            out.push(top);
        }
    }
    out.join(",")
}

/// Whether a failed delta request means the delta link is no longer usable, and why.
fn resync(e: &SourceError) -> Option<String> {
    let SourceError::Http { source: HttpError::Status { status, detail, .. }, .. } = e else { return None };
    let detail = detail.as_deref().unwrap_or("");
    let code = RESYNC_CODES.iter().any(|c| detail.contains(c));
    let gone = *status == StatusCode::GONE;
    (gone || (code && status.is_client_error())).then(|| {
        format!(
            "Graph no longer knows the saved delta link (answered {status}{})",
            if detail.is_empty() { String::new() } else { format!(": {detail}") }
        )
    })
}

/// What a record says about its manager: `None` when it does not say (no
/// `manager@delta`), `Some(None)` for none or removed, `Some(Some(id))` otherwise.
fn manager_of(record: &Value) -> Option<Option<String>> {
    let entries = record.get("manager@delta")?;
    let Some(entries) = entries.as_array() else { return Some(None) };
    // The last entry that is not removed names the manager; only removed ones: none.
    let current = entries
        .iter()
        .rev()
        .filter(|m| m.get("@removed").is_none())
        .find_map(|m| m.get("id").and_then(Value::as_str).map(str::to_owned));
    Some(current)
}

/// Keeps the last occurrence of each id, sorts deletion markers into `got.removed`
/// (delta reads only) and the rest into `got.people` with their derived keys. A delta
/// record that does not say who the manager is gets no `hrsync.manager` key: the core
/// keeps the last good value of a key a delta record does not carry.
fn settle(entries: Vec<Value>, got: &mut Got) {
    let id_of = |v: &Value| v.get("id").and_then(Value::as_str).map(str::to_owned);
    let mut last: HashMap<String, usize> = HashMap::new();
    let mut managers: HashMap<String, Option<String>> = HashMap::new();
    for (i, entry) in entries.iter().enumerate() {
        if let Some(id) = id_of(entry) {
            if let Some(m) = manager_of(entry) {
                managers.insert(id.clone(), m);
            }
            last.insert(id, i);
        }
    }
    for (i, mut entry) in entries.into_iter().enumerate() {
        let id = id_of(&entry);
        if let Some(id) = &id
            && last.get(id) != Some(&i)
        {
            continue; // replayed: a later occurrence is newer
        }
        if entry.get("@removed").is_some() {
            // "changed": soft-deleted, restorable for 30 days; "deleted": gone for good.
            // Either way the person leaves by a delta; a full round just leaves them out.
            if got.delta && id.is_some() {
                got.removed.push(entry);
            }
            continue;
        }
        let manager = id.as_ref().and_then(|id| managers.get(id).cloned());
        if let Some(o) = entry.as_object_mut() {
            let mut derived = Map::new();
            if let Some(enabled) = o.get("accountEnabled").and_then(Value::as_bool) {
                derived.insert("status".into(), json!(if enabled { "active" } else { "terminated" }));
            }
            match manager {
                Some(m) => {
                    derived.insert("manager".into(), m.map_or(Value::Null, Value::String));
                }
                // The first round carries every manager: none named is none.
                None if !got.delta => {
                    derived.insert("manager".into(), Value::Null);
                }
                // A delta that does not say: the key is left out, and the merge keeps
                // the manager the last good read had.
                None => {}
            }
            o.insert("hrsync".into(), Value::Object(derived));
        }
        got.people.push(entry);
    }
}

/// The org units: the distinct values of the key `org_unit` is mapped to, each its own
/// id and name (Graph has departments as text, not as objects).
fn org_units(api: &Api<'_>, people: &[Value]) -> Vec<Value> {
    let Some((_, key)) = api.fields.iter().find(|(t, _)| *t == PersonTarget::Field(PersonField::OrgUnit))
    else {
        return Vec::new();
    };
    let mut units = BTreeMap::new();
    for p in people {
        if let Ok(Some(v)) = text_at(p, key) {
            let v = v.trim().to_owned();
            if !v.is_empty() {
                units.entry(v.clone()).or_insert_with(|| json!({"id": v, "name": v}));
            }
        }
    }
    units.into_values().collect()
}

/// `scheme://host[:port]` of a URL, lowercased, for telling whether a link stays on the
/// API's host.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    (!host.is_empty() && !host.contains('@')).then(|| format!("{scheme}://{host}").to_ascii_lowercase())
}

#[cfg(test)]
mod tests;
