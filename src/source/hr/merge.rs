//! Merge's unified HRIS API: `GET /employees` below `https://api.merge.dev/api/hris/v1`
//! (EU `api-eu`, APAC `api-ap`), with a bearer API key and the linked account's
//! `X-Account-Token` (docs.merge.dev, HRIS "Employees" list; merge-api/merge-python-client
//! `src/merge/resources/hris/resources/employees/client.py` and `types/`).
//!
//! - Pages: `page_size` (at most 100) and `cursor`; the answer is `{"next", "previous",
//!   "results"}` and a null `next` ends the read. Every other parameter is kept the same
//!   from page to page, as Merge asks. Merge gives no total to check against.
//! - Expansion: `expand=employments,groups,team,work_location,company`. The allowed
//!   values, checked in the Python client's `EmployeesListRequestExpandItem`, are
//!   `company`, `employments`, `groups`, `home_location`, `manager`, `pay_group`, `team`
//!   and `work_location`; `manager` is left unexpanded, since the person model wants
//!   the manager's id and that is what `manager` holds.
//! - Deltas: `modified_after`, sent as the run's watermark. It is **Merge's** clock:
//!   the time Merge synced the record from the HR system, not when the HR system
//!   changed it (`modified_at` is "last updated by Merge"); a delta therefore misses
//!   nothing that Merge has synced, and re-delivers whatever Merge re-synced.
//! - Deletions: Merge hides deleted rows unless `include_deleted_data=true`, which every
//!   read sends; `remote_was_deleted: true` (a flag without a time) means the HR system
//!   no longer has the person: a full read leaves the row out, a delta read removes
//!   the id. Full deletion detection is a paid Merge add-on; without it a deletion may
//!   show only as absence from a full read. A termination is `INACTIVE` and a
//!   `termination_date` on a live record.
//! - Errors: 401 is a wrong API key or account token (Merge help centre, "Merge's error
//!   codes within logs"); the core asks once, since Merge blocks an address after more
//!   than 20 failing requests in 10 s. 404 can mean that the integration behind the
//!   linked account does not support the Employee model, and the error says so. The
//!   error body's shape is not documented; the core reads its `detail` (◐, Django REST
//!   framework's shape). 429 is retried by the client; a `Retry-After` is not
//!   documented, so the client's back-off applies when none comes.
//! - Derived values, under `hrsync` in each record (the vendor's keys are left as they
//!   are): `department`/`department_id` from the expanded group of type `DEPARTMENT`,
//!   `team` from `team.name`, `legal_entity` from `company.display_name` (else
//!   `legal_name`), `work_location` from `work_location.name`, `manager` (the id,
//!   whether `manager` is expanded or not), and `job_title` and `employment_type` from
//!   the latest employment by `effective_date`: tenants with history keep one
//!   Employment per change of title or pay (the Employment model's own description
//!   says to order by `effective_date`). A derived key is set only when the key it
//!   comes from arrived, so a field Merge never sends is still seen as withheld.

use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use super::{Api, Ask, Connector, Got, Pager, date_part, take_array, text};
use crate::source::SourceError;

/// The connector.
pub(super) struct Merge;

const EMPLOYEES: &str = "employees";

/// The relations read in full with each employee.
const EXPAND: &str = "employments,groups,team,work_location,company";

/// Query parameters the connector sets itself (a `query` must not change them).
const OWN: &[&str] = &["page_size", "cursor", "include_deleted_data", "expand", "modified_after"];

#[async_trait]
impl Connector for Merge {
    fn defaults(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "id"),
            ("employee_number", "employee_number"),
            ("first_name", "first_name"),
            ("last_name", "last_name"),
            ("preferred_name", "preferred_name"),
            ("display_name", "display_full_name"),
            ("work_email", "work_email"),
            ("personal_email", "personal_email"),
            ("phone", "mobile_phone_number"),
            ("job_title", "hrsync.job_title"),
            ("department", "hrsync.department"),
            ("team", "hrsync.team"),
            ("org_unit", "hrsync.department_id"),
            ("legal_entity", "hrsync.legal_entity"),
            ("work_location", "hrsync.work_location"),
            ("manager", "hrsync.manager"),
            ("employment_status", "employment_status"),
            ("employment_type", "hrsync.employment_type"),
            ("start_date", "start_date"),
            ("end_date", "termination_date"),
        ]
    }

    fn values(&self) -> &'static [(&'static str, &'static [(&'static str, &'static str)])] {
        &[("employment_status", &[("ACTIVE", "active"), ("PENDING", "pending"), ("INACTIVE", "terminated")])]
    }

    fn employment_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "id"),
            ("person", "employee_id"),
            ("employment_type", "employment_type"),
            ("job_title", "job_title"),
            ("start_date", "start_date"),
        ]
    }

    fn org_unit_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[("id", "id"), ("name", "name"), ("parent", "parent")]
    }

    fn grant(&self) -> &'static str {
        "enable the field for the Employee model in Merge (Linked Account → Scopes, or the organisation's Common Models scopes) and check that the HR system's API user may read it"
    }

    fn credential(&self) -> &'static str {
        "API key and account token"
    }

    async fn read(&self, api: &Api<'_>, ask: &Ask<'_>) -> Result<Got, SourceError> {
        if let Some((key, _)) = api.settings.query.iter().find(|(k, _)| OWN.contains(&k.as_str())) {
            return Err(api.refused(
                EMPLOYEES,
                format!("`query.{key}` is set by the connector itself; remove it from the source file"),
            ));
        }
        let mut got = Got { delta: ask.since.is_some(), endpoint: EMPLOYEES.into(), ..Got::default() };
        // The same parameters on every page; only the cursor changes.
        let mut base: Vec<(&str, String)> = vec![
            ("page_size", api.settings.http.page_size.to_string()),
            ("include_deleted_data", "true".into()),
            ("expand", EXPAND.into()),
        ];
        base.extend(api.settings.query.iter().map(|(k, v)| (k.as_str(), v.clone())));
        if let Some(since) = ask.since {
            base.push(("modified_after", since.to_string()));
        }
        let mut pager = Pager::new();
        let mut cursor: Option<String> = None;
        let mut units = BTreeMap::new();
        loop {
            let mut query = base.clone();
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let response = api.get(EMPLOYEES, &query).await.map_err(|e| unsupported(api, e))?;
            let page = pager.pages + 1;
            let mut body = api.json(EMPLOYEES, response, page)?;
            let next = text(&body, "/next");
            let results = take_array(api, EMPLOYEES, &mut body, "/results", page)?;
            pager.next(api, EMPLOYEES, next.as_deref())?;
            api.count(results.len());
            for mut record in results {
                if record.get("remote_was_deleted").and_then(Value::as_bool) == Some(true) {
                    if got.delta {
                        got.removed.push(record);
                    }
                    continue;
                }
                derive(&mut record, &mut units, &mut got.employments);
                got.people.push(record);
            }
            match next {
                Some(n) if !ask.first_page_only => cursor = Some(n),
                _ => break,
            }
        }
        got.org_units = units.into_values().collect();
        Ok(got)
    }
}

/// A 404 as what it may mean: an integration without the Employee model.
fn unsupported(api: &Api<'_>, error: SourceError) -> SourceError {
    match error {
        SourceError::Http { source, .. } if source.status() == Some(StatusCode::NOT_FOUND) => api.refused(
            EMPLOYEES,
            format!(
                "{source}: the integration behind this linked account may not support the Employee model (see the integration's supported common models in Merge), or `connection.url` names the wrong region or path"
            ),
        ),
        other => other,
    }
}

/// Whether `value` is a live Merge object (not flagged deleted).
fn live(value: &Value) -> bool {
    value.is_object() && value.get("remote_was_deleted").and_then(Value::as_bool) != Some(true)
}

/// A text at `key` of `value`, as JSON (null when absent or not text).
fn text_of(value: Option<&Value>, key: &str) -> Value {
    match value.and_then(|v| v.get(key)) {
        Some(Value::String(s)) => Value::String(s.clone()),
        _ => Value::Null,
    }
}

/// Adds the `hrsync` object (see the module comment), collects the record's department
/// as an org unit and its employments.
fn derive(record: &mut Value, units: &mut BTreeMap<String, Value>, employments: &mut Vec<Value>) {
    let Some(o) = record.as_object() else { return };
    let mut derived = Map::new();
    if let Some(groups) = o.get("groups") {
        let department = groups.as_array().and_then(|gs| {
            gs.iter().find(|g| {
                live(g)
                    && g.get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.eq_ignore_ascii_case("DEPARTMENT"))
            })
        });
        if let Some(d) = department
            && let Some(id) = d.get("id").and_then(Value::as_str)
            && d.get("name").is_some_and(Value::is_string)
        {
            units.entry(id.to_owned()).or_insert_with(|| {
                json!({"id": id, "name": text_of(Some(d), "name"), "parent": text_of(Some(d), "parent_group")})
            });
        }
        derived.insert("department".into(), text_of(department, "name"));
        derived.insert("department_id".into(), text_of(department, "id"));
    }
    if let Some(team) = o.get("team") {
        derived.insert("team".into(), text_of(Some(team).filter(|t| live(t)), "name"));
    }
    if let Some(company) = o.get("company") {
        let c = Some(company).filter(|c| live(c));
        let name = match text_of(c, "display_name") {
            Value::Null => text_of(c, "legal_name"),
            name => name,
        };
        derived.insert("legal_entity".into(), name);
    }
    if let Some(location) = o.get("work_location") {
        derived.insert("work_location".into(), text_of(Some(location).filter(|l| live(l)), "name"));
    }
    if let Some(manager) = o.get("manager") {
        let id = match manager {
            Value::String(s) => Value::String(s.clone()),
            other => text_of(Some(other), "id"),
        };
        derived.insert("manager".into(), id);
    }
    if let Some(list) = o.get("employments") {
        let person = o.get("id").cloned().unwrap_or(Value::Null);
        let live_ones: Vec<&Value> =
            list.as_array().map(|l| l.iter().filter(|e| live(e)).collect()).unwrap_or_default();
        // The latest by `effective_date`; among equals, the one listed last.
        let latest = live_ones.iter().copied().max_by_key(|e| effective(e));
        derived.insert("job_title".into(), text_of(latest, "job_title"));
        derived.insert("employment_type".into(), text_of(latest, "employment_type"));
        for e in live_ones {
            let start = e.get("effective_date").and_then(Value::as_str).and_then(date_part);
            employments.push(json!({
                "id": e.get("id").cloned().unwrap_or(Value::Null),
                "employee_id": person.clone(),
                "job_title": text_of(Some(e), "job_title"),
                "employment_type": text_of(Some(e), "employment_type"),
                "start_date": start,
            }));
        }
    }
    if let Some(o) = record.as_object_mut() {
        o.insert("hrsync".into(), Value::Object(derived));
    }
}

/// The order of employments: by `effective_date` as a time (a date alone counts as its
/// midnight UTC); one without a readable date comes first.
fn effective(employment: &Value) -> Option<jiff::Timestamp> {
    let raw = employment.get("effective_date")?.as_str()?.trim();
    raw.parse::<jiff::Timestamp>().ok().or_else(|| {
        let date: jiff::civil::Date = raw.get(..10)?.parse().ok()?;
        date.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp())
    })
}

#[cfg(test)]
mod tests;
