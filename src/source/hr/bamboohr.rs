//! BambooHR: one custom report of every employee, and the changed-employees list for
//! deltas (BambooHR's OpenAPI spec, BambooHR/bhr-api-python `specs/public.yaml`:
//! "Request Custom Report" `POST /api/v1/reports/custom`, "Get Changed Employee IDs"
//! `GET /api/v1/employees/changed`; field names from documentation.bamboohr.com
//! "Field Names").
//!
//! - Reads: `POST reports/custom?format=JSON&onlyCurrent=false` with
//!   `{"title","fields":[…]}`; the answer is `{"title","fields","employees":[…]}`, all
//!   of it at once (no paging, no total). The body must be sent as exactly
//!   `Content-Type: application/json` (with a charset BambooHR parses it as XML and
//!   answers 400), which is what the HTTP client sends. The report holds Active and
//!   Inactive employees alike; `onlyCurrent=false` (the spec's default is `true`) keeps
//!   future-dated values, so planned terminations and future hires arrive before the
//!   day.
//! - Fields asked for are every mapped key plus `id`, `status`, `terminationDate` and
//!   `hireDate` (which the status and end date are derived from); at most 400. A field the API key's
//!   user may not see is answered with `null` for everyone (or left out): such a field
//!   is withheld, not emptied ([`Connector::nulls_hide`]).
//! - Deltas: `GET employees/changed?since=<RFC 3339>` gives
//!   `{"latest","employees":{"<id>":{"id","action","lastChanged"}}}` — ids only, any
//!   change to a field or to the job, employment-status or compensation tables counts.
//!   `Deleted` is a hard delete ([`Got::removed`]); `Inserted` and `Updated` people
//!   are read with the same report filtered by `filters.employeeIds` (an array of
//!   integers in the spec; `filters.lastChanged` also exists, but with `includeNull`
//!   defaulting to `yes` it would bring in everyone without a change date). A
//!   changed person the report does not return makes the delta incomplete.
//! - Status: `status` is `Active`/`Inactive` only, and future hires are Inactive too.
//!   `hrsync.status` is derived: Active → active; Inactive with a hire date still
//!   ahead → pending; any other Inactive → terminated. `hrsync.end_date` is the termination
//!   date unless it lies before the hire date (a rehire keeps the old one). Empty
//!   dates are `0000-00-00`.
//! - Org units: list fields come back as names (`department`, `division`,
//!   `location`); the departments read become the org units, named by themselves.
//! - Manager: `hrsync.manager`, the manager's `id`. The spec names neither supervisor
//!   field, and sources disagree on which of `supervisorEId`/`supervisorId` is the
//!   employee id and which the employee number (Workato's BambooHR trigger docs say
//!   `supervisorId` is the id and `supervisorEId` the number; community clients read
//!   `supervisorEId` as the id). Both are asked for and checked against the read: a
//!   `supervisorId` that is the id of someone read is taken; else a `supervisorEId`
//!   that is someone's employee number names that person, or one that is an id, them.
//!   A value that names no one read is no manager. In a delta, where the read holds
//!   only the changed people, only `supervisorId` is taken; otherwise the key is left
//!   out and the last good manager is kept.
//! - Throttling: 429 with `Retry-After` since 2026-09-16, 503 with `Retry-After`
//!   before; the client retries both. 401 (bad key) and 403 (no permission) are
//!   refused credentials, asked once.

use std::collections::HashSet;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Api, Ask, Connector, Got, Pager, take_array};
use crate::source::SourceError;

/// The connector.
pub(super) struct BambooHr;

const REPORT: &str = "reports/custom";
const CHANGED: &str = "employees/changed";
/// The most fields a custom report takes.
const MAX_FIELDS: usize = 400;
/// Fields every report asks for: the id, and what the status is derived from.
const ALWAYS: [&str; 7] =
    ["id", "status", "terminationDate", "hireDate", "employeeNumber", "supervisorId", "supervisorEId"];

#[async_trait]
impl Connector for BambooHr {
    fn defaults(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "id"),
            ("employee_number", "employeeNumber"),
            ("first_name", "firstName"),
            ("last_name", "lastName"),
            ("preferred_name", "preferredName"),
            ("display_name", "displayName"),
            ("work_email", "workEmail"),
            ("personal_email", "homeEmail"),
            ("phone", "workPhone"),
            ("job_title", "jobTitle"),
            ("department", "department"),
            ("org_unit", "department"),
            ("work_location", "location"),
            ("manager", "hrsync.manager"),
            ("employment_status", "hrsync.status"),
            ("employment_type", "employmentHistoryStatus"),
            ("start_date", "hireDate"),
            ("end_date", "hrsync.end_date"),
        ]
    }

    fn values(&self) -> &'static [(&'static str, &'static [(&'static str, &'static str)])] {
        &[(
            "employment_status",
            &[("active", "active"), ("pending", "pending"), ("terminated", "terminated")],
        )]
    }

    fn org_unit_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[("id", "id"), ("name", "name")]
    }

    fn grant(&self) -> &'static str {
        "give the BambooHR user who created the API key view access to the field (Settings → Access Levels), or check its name in Settings → Fields"
    }

    fn nulls_hide(&self) -> bool {
        true
    }

    fn credential(&self) -> &'static str {
        "API key (and that its user is not disabled)"
    }

    async fn read(&self, api: &Api<'_>, ask: &Ask<'_>) -> Result<Got, SourceError> {
        let mut got = Got { delta: ask.since.is_some(), endpoint: REPORT.into(), ..Got::default() };
        let fields = report_fields(api)?;
        let Some(since) = ask.since else {
            got.people = report(api, &fields, None, ask.today).await?;
            managers(&mut got.people, true);
            api.count(got.people.len());
            got.org_units = departments(&got.people);
            return Ok(got);
        };

        // A delta: which people changed, then the report of those people.
        let response = api.get(CHANGED, &[("since", since.to_string())]).await?;
        let body = api.json(CHANGED, response, 1)?;
        let (changed, removed) = changes(api, &body)?;
        got.removed = removed;
        let size = api.settings.http.page_size.clamp(1, 1000) as usize;
        let mut pager = Pager::new();
        for chunk in changed.chunks(size) {
            let mut people = report(api, &fields, Some(chunk), ask.today).await?;
            managers(&mut people, false);
            pager.next(api, REPORT, None)?;
            api.count(people.len());
            got.people.extend(people);
            if ask.first_page_only {
                return Ok(got);
            }
        }
        got.org_units = departments(&got.people);
        let returned: HashSet<String> = got.people.iter().filter_map(|p| super::text(p, "/id")).collect();
        let missing = changed.iter().filter(|id| !returned.contains(&id.to_string())).count();
        if missing > 0 {
            got.incomplete = Some(format!(
                "{missing} of the {} employees BambooHR listed as changed were not in the report: the API key's user may not see them",
                changed.len()
            ));
        }
        Ok(got)
    }
}

/// The fields to ask the report for: [`ALWAYS`], then every mapped key but the derived
/// ones.
fn report_fields(api: &Api<'_>) -> Result<Vec<String>, SourceError> {
    let mut seen = HashSet::new();
    let fields: Vec<String> = ALWAYS
        .into_iter()
        .chain(api.mapped_keys().into_iter().filter(|k| !k.starts_with("hrsync.")))
        .filter(|k| seen.insert(*k))
        .map(str::to_owned)
        .collect();
    if fields.len() > MAX_FIELDS {
        return Err(api.format(
            REPORT,
            format!(
                "{} fields asked for; a BambooHR custom report takes at most {MAX_FIELDS}: map fewer in `fields`",
                fields.len()
            ),
        ));
    }
    Ok(fields)
}

/// Runs the custom report, of everyone or of the employees `ids`, and derives each
/// record's `hrsync.status`.
async fn report(
    api: &Api<'_>,
    fields: &[String],
    ids: Option<&[u64]>,
    today: Option<jiff::civil::Date>,
) -> Result<Vec<Value>, SourceError> {
    let mut body = json!({"title": "hrsync", "fields": fields});
    if let Some(ids) = ids {
        body["filters"] = json!({"employeeIds": ids});
    }
    let query = [("format", "JSON".to_owned()), ("onlyCurrent", "false".to_owned())];
    let response = api.send(Method::POST, REPORT, &query, Some(&body), &[]).await?;
    let mut answer = api.json(REPORT, response, 1)?;
    let mut people = take_array(api, REPORT, &mut answer, "/employees", 1)?;
    for record in &mut people {
        derive(record, today);
    }
    Ok(people)
}

/// The changed employees to read (ids as the report filter takes them) and the deleted
/// ones, from `/employees/changed`.
fn changes(api: &Api<'_>, body: &Value) -> Result<(Vec<u64>, Vec<Value>), SourceError> {
    let employees = match body.get("employees") {
        Some(Value::Object(map)) => map,
        // PHP encodes an empty map as an empty list.
        Some(Value::Array(list)) if list.is_empty() => return Ok((Vec::new(), Vec::new())),
        Some(Value::Null) => return Ok((Vec::new(), Vec::new())),
        _ => {
            return Err(api.format(
                CHANGED,
                "the answer has no `employees` map: this is not the answer the BambooHR API gives",
            ));
        }
    };
    let mut changed = Vec::new();
    let mut removed = Vec::new();
    for (key, entry) in employees {
        let id = super::text(entry, "/id").unwrap_or_else(|| key.clone());
        let action = entry.get("action").and_then(Value::as_str).unwrap_or("");
        if action.eq_ignore_ascii_case("Deleted") {
            removed.push(serde_json::json!({ "id": id }));
            continue;
        }
        // Inserted, Updated, or an action this connector does not know: read the
        // person again (a change never removes anyone).
        let number = id.trim().parse::<u64>().map_err(|_| {
            api.format(
                CHANGED,
                "a changed employee's id is not a number: the report filter takes numbers only",
            )
        })?;
        changed.push(number);
    }
    changed.sort_unstable();
    changed.dedup();
    Ok((changed, removed))
}

/// The departments of `people` as org units: BambooHR's report gives list values by
/// name (their option ids are in `meta/lists`, another permission), so the name is
/// the id.
fn departments(people: &[Value]) -> Vec<Value> {
    let names: std::collections::BTreeSet<&str> = people
        .iter()
        .filter_map(|p| p.get("department")?.as_str())
        .filter(|d| !d.trim().is_empty())
        .collect();
    names.into_iter().map(|d| json!({"id": d, "name": d})).collect()
}

/// Adds `hrsync.manager` to each record, as the module says: in a `full` read checked
/// against the ids and employee numbers read; in a delta only `supervisorId`, else the
/// key is left out (the merge keeps the last good manager).
fn managers(people: &mut [Value], full: bool) {
    let text = |r: &Value, key: &str| {
        r.get(key).and_then(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let ids: HashSet<String> = people.iter().filter_map(|r| text(r, "id")).collect();
    let mut by_number: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for r in people.iter() {
        if let (Some(number), Some(id)) = (text(r, "employeeNumber"), text(r, "id")) {
            by_number.insert(number, id);
        }
    }
    for record in people.iter_mut() {
        let said = record.get("supervisorId").is_some() || record.get("supervisorEId").is_some();
        let (sid, eid) = (text(record, "supervisorId"), text(record, "supervisorEId"));
        let manager = if full {
            sid.filter(|s| ids.contains(s)).or_else(|| {
                let e = eid?;
                by_number.get(&e).cloned().or_else(|| ids.contains(&e).then_some(e))
            })
        } else {
            sid
        };
        let Some(object) = record.as_object_mut() else { continue };
        let Some(Value::Object(hrsync)) = object.get_mut("hrsync") else { continue };
        match manager {
            Some(m) => {
                hrsync.insert("manager".into(), Value::String(m));
            }
            None if full && said => {
                hrsync.insert("manager".into(), Value::Null);
            }
            // Not said, or a delta that cannot check: the key is left out.
            None => {}
        }
    }
}

/// Adds `hrsync.status` from `status`, `terminationDate` and `hireDate`: Active →
/// active; Inactive with a hire date still ahead of `today` (a future hire) → pending;
/// any other Inactive → terminated (a termination date the credential may not see, or
/// none recorded, never makes a former employee pending, which would enable them);
/// no status → none (withheld). Another value is passed on, for the mapping to refuse
/// with a reason. Adds `hrsync.end_date`: the termination date, unless it lies before
/// the hire date (a rehire).
fn derive(record: &mut Value, today: Option<jiff::civil::Date>) {
    let Some(object) = record.as_object_mut() else { return };
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::trim);
    let terminated = text("terminationDate").and_then(super::date_part).is_some();
    let future_hire = text("hireDate")
        .and_then(super::date_part)
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
        .zip(today)
        .is_some_and(|(hired, today)| hired > today);
    let status = match text("status") {
        None | Some("") => Value::Null,
        Some(s) if s.eq_ignore_ascii_case("active") => json!("active"),
        Some(s) if s.eq_ignore_ascii_case("inactive") => {
            json!(if !terminated && future_hire { "pending" } else { "terminated" })
        }
        Some(other) => json!(other),
    };
    // A rehired person keeps the termination date of the employment before: it ends
    // nothing when it lies before the (re)hire date.
    // `null` only where the termination date itself is null (withheld); no date or an
    // old one is an empty text, which arrived and is no date.
    let hired = text("hireDate").and_then(super::date_part);
    let end = match text("terminationDate") {
        None => Value::Null,
        Some(raw) => match (super::date_part(raw), hired) {
            (Some(end), Some(hired)) if end < hired => json!(""),
            (Some(end), _) => json!(end),
            (None, _) => json!(""),
        },
    };
    let mut hrsync = Map::new();
    hrsync.insert("status".into(), status);
    hrsync.insert("end_date".into(), end);
    object.insert("hrsync".into(), Value::Object(hrsync));
}

#[cfg(test)]
mod tests;
