//! HiBob (Bob): `POST /v1/people/search` with a service user, everything in one
//! answer (apidocs.hibob.com "People read API contract", "Search for employees",
//! "Fields and lists metadata", "API Service users"; help.hibob.com "View employees'
//! lifecycle statuses").
//!
//! - Reads: `{"fields":[…],"showInactive":true,"humanReadable":"REPLACE"}` with the
//!   field ids in dot notation (`root.id`, `work.department`); the answer is
//!   `{"employees":[…]}`, every matching employee at once: no cursor, no page size, no
//!   total. At most 400 field ids. `showInactive` defaults to false, which leaves out
//!   every terminated person and would make them all look gone: every read sends
//!   `true`. `humanReadable: REPLACE` gives list fields (department, site) as their
//!   names instead of item ids. Dates: "Fields and lists metadata" says a date's
//!   human-readable value is the same ISO date, but the older "How to work with lists
//!   Public API" page shows human-readable dates in the calling user's date format
//!   (`08/09/2019`); should a tenant answer so, people are skipped with the date's
//!   reason (never read as leavers), and the service user's date format must be ISO.
//! - Keys: the answer names fields in slash notation (`"/root/id": {"value": …}`),
//!   often beside nested category objects (`"work": {"department": …}`), and root
//!   fields at the top (`"id"`, `"firstName"`). Each record gets the nested form of
//!   every slash key and a `root` object of its top-level values, so that the dotted
//!   field id finds its value either way; nothing is dropped.
//! - A field the service user's permission groups do not grant (by category) is left
//!   out of the answer, with 200: it is withheld.
//! - No deltas: people search has no changed-since filter (the source config refuses
//!   `delta: true`); only webhooks tell about changes. A deleted person is simply
//!   absent.
//! - Status: `internal.lifecycleStatus` (hired, employed, garden leave, leave,
//!   parental leave, terminated) gives `hrsync.status`: hired → pending; employed →
//!   active; any leave, garden leave included (they are still employed until the
//!   termination date, which is the end date) → leave; terminated → terminated.
//!   Without it, `internal.status` (Active/Inactive) with `internal.terminationDate`:
//!   Active → active, Inactive with a termination date → terminated, without → pending.
//! - Manager: `work.reportsTo.id`. `work.manager` is an employee-reference field whose
//!   backend value is the manager's id ("Fields and lists metadata": an
//!   employee-reference is "the string ID of an employee"), but under `humanReadable:
//!   REPLACE` a reference gets its human-readable value, which that table gives as
//!   the employee rather than the id; `work.reportsTo` is an object carrying the
//!   manager's `id` and `email` (as in lyft/cartography's HiBob fixture, where
//!   `work.manager` and `work.reportsTo.id` hold the same id).
//! - Throttling: people search allows 50 requests a minute; a 429 carries
//!   `X-RateLimit-Reset` (the Unix time the window resets), which the client waits
//!   for. 401 and 403 are never retried: HiBob's firewall blocks addresses with
//!   repeated authentication or permission failures.

use std::collections::{BTreeSet, HashSet};

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Api, Ask, Connector, Got, take_array};
use crate::source::SourceError;

/// The connector.
pub(super) struct HiBob;

const SEARCH: &str = "people/search";
/// The most field ids a search takes.
const MAX_FIELDS: usize = 400;
/// Fields every search asks for: the id, and what the status is derived from.
const ALWAYS: [&str; 4] =
    ["root.id", "internal.lifecycleStatus", "internal.status", "internal.terminationDate"];

#[async_trait]
impl Connector for HiBob {
    fn defaults(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "root.id"),
            ("employee_number", "work.employeeIdInCompany"),
            ("first_name", "root.firstName"),
            ("last_name", "root.surname"),
            ("display_name", "root.displayName"),
            ("work_email", "root.email"),
            ("personal_email", "home.privateEmail"),
            ("phone", "work.workPhone"),
            ("job_title", "work.title"),
            ("department", "work.department"),
            ("org_unit", "work.department"),
            ("work_location", "work.site"),
            ("manager", "work.reportsTo.id"),
            ("employment_status", "hrsync.status"),
            ("start_date", "work.startDate"),
            ("end_date", "internal.terminationDate"),
        ]
    }

    fn values(&self) -> &'static [(&'static str, &'static [(&'static str, &'static str)])] {
        &[(
            "employment_status",
            &[("active", "active"), ("pending", "pending"), ("leave", "leave"), ("terminated", "terminated")],
        )]
    }

    fn org_unit_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[("id", "id"), ("name", "name")]
    }

    fn grant(&self) -> &'static str {
        "grant the service user's permission group view access to the field's category (Settings → Integrations → Service users → Permissions; the category of each field is in GET /v1/company/people/fields)"
    }

    fn credential(&self) -> &'static str {
        "service user id and token (and the service user's permissions)"
    }

    async fn read(&self, api: &Api<'_>, _ask: &Ask<'_>) -> Result<Got, SourceError> {
        // One call whatever the ask: there is neither paging nor a delta.
        let mut got = Got { endpoint: SEARCH.into(), ..Got::default() };
        let fields = search_fields(api)?;
        let body = json!({"fields": fields, "showInactive": true, "humanReadable": "REPLACE"});
        let response = api.send(Method::POST, SEARCH, &[], Some(&body), &[]).await?;
        let mut answer = api.json(SEARCH, response, 1)?;
        let mut people = take_array(api, SEARCH, &mut answer, "/employees", 1)?;
        api.count(people.len());
        for record in &mut people {
            normalise(record);
            derive(record);
        }
        got.org_units = departments(&people);
        got.people = people;
        Ok(got)
    }
}

/// The field ids to search for: [`ALWAYS`], then every mapped key but the derived
/// ones. A key into an object field (`work.reportsTo.id`) asks for the field
/// (`work.reportsTo`).
fn search_fields(api: &Api<'_>) -> Result<Vec<String>, SourceError> {
    let mut seen = HashSet::new();
    let fields: Vec<String> = ALWAYS
        .iter()
        .map(|k| (*k).to_owned())
        .chain(api.mapped_keys().into_iter().filter(|k| !k.starts_with("hrsync.")).map(field_id))
        .filter(|k| seen.insert(k.clone()))
        .collect();
    if fields.len() > MAX_FIELDS {
        return Err(api.format(
            SEARCH,
            format!(
                "{} field ids asked for; HiBob's people search takes at most {MAX_FIELDS}: map fewer in `fields`",
                fields.len()
            ),
        ));
    }
    Ok(fields)
}

/// The field id a mapped key reads: the key itself, but `work.reportsTo.<x>` is a
/// part of the `work.reportsTo` object.
fn field_id(key: &str) -> String {
    match key.strip_prefix("work.reportsTo.") {
        Some(_) => "work.reportsTo".to_owned(),
        None => key.to_owned(),
    }
}

/// Adds the nested form of each slash key (`"/work/department": {"value": "R&D"}` →
/// `work.department`) where the nested form has no value, and a `root` object of the
/// record's top-level values (`id`, `firstName` … → `root.id`, `root.firstName`).
fn normalise(record: &mut Value) {
    let Some(object) = record.as_object_mut() else { return };
    let slashed: Vec<(Vec<String>, Value)> = object
        .iter()
        .filter(|(k, _)| k.starts_with('/'))
        .filter_map(|(k, v)| {
            let path: Vec<String> = k.split('/').filter(|p| !p.is_empty()).map(str::to_owned).collect();
            let value = match v {
                Value::Object(o) if o.contains_key("value") => o.get("value").cloned().unwrap_or(Value::Null),
                other => other.clone(),
            };
            (!path.is_empty()).then_some((path, value))
        })
        .collect();
    let mut root: Map<String, Value> = match object.get("root") {
        Some(Value::Object(r)) => r.clone(),
        _ => Map::new(),
    };
    for (k, v) in object.iter() {
        if !k.starts_with('/') && !v.is_object() && !root.contains_key(k) {
            root.insert(k.clone(), v.clone());
        }
    }
    object.insert("root".into(), Value::Object(root));
    for (path, value) in slashed {
        insert_at(object, &path, value);
    }
}

/// Puts `value` at `path` below `object`, making the objects on the way, unless a
/// value (not `null`) is there already or a part of the way is not an object.
fn insert_at(object: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut node = object;
    for part in parents {
        let next = node.entry(part.clone()).or_insert_with(|| Value::Object(Map::new()));
        if next.is_null() {
            *next = Value::Object(Map::new());
        }
        match next {
            Value::Object(o) => node = o,
            _ => return,
        }
    }
    match node.get(last) {
        Some(v) if !v.is_null() => {}
        _ => {
            node.insert(last.clone(), value);
        }
    }
}

/// Adds `hrsync.status` (see the module comment); no status field → no key (withheld);
/// a lifecycle status this connector does not know is passed on, for the mapping to
/// refuse with a reason.
fn derive(record: &mut Value) {
    let text = |pointer: &str| {
        record
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    let lifecycle = text("/internal/lifecycleStatus");
    let active = text("/internal/status");
    let ended = text("/internal/terminationDate").and_then(|d| super::date_part(&d)).is_some();
    let status = match (lifecycle, active) {
        (Some(l), _) => json!(lifecycle_status(&l)),
        (None, Some(a)) if a.eq_ignore_ascii_case("active") => json!("active"),
        (None, Some(a)) if a.eq_ignore_ascii_case("inactive") => {
            json!(if ended { "terminated" } else { "pending" })
        }
        (None, Some(a)) => json!(a),
        (None, None) => Value::Null,
    };
    if let Some(object) = record.as_object_mut() {
        // HiBob leaves out what it withholds: so does `hrsync.status` then.
        let mut hrsync = Map::new();
        if !status.is_null() {
            hrsync.insert("status".into(), status);
        }
        object.insert("hrsync".into(), Value::Object(hrsync));
    }
}

/// A lifecycle status as hrsync's status, or the raw value when it is none it knows.
fn lifecycle_status(raw: &str) -> String {
    let words: String = raw.to_lowercase().replace(['_', '-'], " ");
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    match words.as_str() {
        "hired" => "pending".into(),
        "employed" | "active" => "active".into(),
        "terminated" => "terminated".into(),
        w if w == "leave" || w.ends_with(" leave") || w == "on leave" => "leave".into(),
        _ => raw.to_owned(),
    }
}

/// The departments of `people` as org units: under `humanReadable: REPLACE` a
/// department comes as its name, which is its id here too.
fn departments(people: &[Value]) -> Vec<Value> {
    let names: BTreeSet<&str> = people
        .iter()
        .filter_map(|p| p.pointer("/work/department")?.as_str())
        .filter(|d| !d.trim().is_empty())
        .collect();
    names.into_iter().map(|d| json!({"id": d, "name": d})).collect()
}

#[cfg(test)]
mod tests;
