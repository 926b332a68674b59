//! Kombo's unified HRIS API: `GET /hris/employees` with a bearer API key and the
//! customer's `X-Integration-Id` (Kombo API reference, "Get employees";
//! kombohq/typescript-sdk `operations/gethrisemployeesrequest.md`).
//!
//! - Pages: `page_size` (at most 250) and `cursor`; `data.next` null ends the read.
//!   Kombo gives no total to check against.
//! - Deltas: `updated_after` (the record or anything nested in it changed), sent as the
//!   run's watermark.
//! - Deletions: deleted rows are hidden unless `include_deleted=true`, which every read
//!   sends; a row with `remote_deleted_at` set is gone from the HR system: a full read
//!   leaves it out, a delta read removes it.
//! - Traps: with `ignore_unsupported_filters=false` (Kombo's default, kept so that a
//!   filter is never silently dropped) a filter the integration does not support
//!   returns no one, which looks like everyone left; a filtered read that returns no
//!   one fails. `INTEGRATION.SETUP_SYNC_PENDING` (no first sync yet) fails the read
//!   rather than pass for an empty company.
//! - Department and team come from `groups` by their `type`; the employment status
//!   `ACTIVE`, `PENDING`, `LEAVE`, `INACTIVE` maps to active, pending, leave,
//!   terminated (other raw statuses skip the person with a reason).

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Api, Ask, Connector, Got, Pager, take_array, text};
use crate::source::SourceError;

/// The connector.
pub(super) struct Kombo;

const EMPLOYEES: &str = "hris/employees";

#[async_trait]
impl Connector for Kombo {
    fn defaults(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "id"),
            ("employee_number", "employee_number"),
            ("first_name", "first_name"),
            ("last_name", "last_name"),
            ("display_name", "display_full_name"),
            ("work_email", "work_email"),
            ("personal_email", "personal_email"),
            ("phone", "mobile_phone_number"),
            ("job_title", "job_title"),
            ("department", "hrsync.department"),
            ("team", "hrsync.team"),
            ("org_unit", "hrsync.department_id"),
            ("legal_entity", "legal_entity.name"),
            ("work_location", "work_location.name"),
            ("manager", "manager_id"),
            ("employment_status", "employment_status"),
            ("employment_type", "employment_type"),
            ("start_date", "start_date"),
            ("end_date", "termination_date"),
        ]
    }

    fn values(&self) -> &'static [(&'static str, &'static [(&'static str, &'static str)])] {
        &[(
            "employment_status",
            &[("ACTIVE", "active"), ("PENDING", "pending"), ("LEAVE", "leave"), ("INACTIVE", "terminated")],
        )]
    }

    fn employment_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "id"),
            ("person", "employee_id"),
            ("employment_type", "employment_type"),
            ("job_title", "job_title"),
        ]
    }

    fn org_unit_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[("id", "id"), ("name", "name")]
    }

    fn grant(&self) -> &'static str {
        "enable the field for the integration in Kombo (Integration → Data scopes) and check that the HR system's API user may read it"
    }

    fn credential(&self) -> &'static str {
        "API key and integration id"
    }

    async fn read(&self, api: &Api<'_>, ask: &Ask<'_>) -> Result<Got, SourceError> {
        let mut got = Got { delta: ask.since.is_some(), endpoint: EMPLOYEES.into(), ..Got::default() };
        let mut pager = Pager::new();
        let mut cursor: Option<String> = None;
        let mut units = std::collections::BTreeMap::new();
        loop {
            let mut query: Vec<(&str, String)> = vec![
                ("page_size", api.settings.http.page_size.to_string()),
                ("include_deleted", "true".into()),
            ];
            query.extend(api.settings.query.iter().map(|(k, v)| (k.as_str(), v.clone())));
            if let Some(since) = ask.since {
                query.push(("updated_after", since.to_string()));
            }
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let response = api.get(EMPLOYEES, &query).await?;
            let mut body = api.json(EMPLOYEES, response, pager.pages + 1)?;
            if body.get("status").and_then(Value::as_str) == Some("error") {
                let message = body.pointer("/error/message").and_then(Value::as_str).unwrap_or("an error");
                let code = body.pointer("/error/code").and_then(Value::as_str).unwrap_or("");
                return Err(api.refused(EMPLOYEES, format!("{message} ({code})")));
            }
            let next = text(&body, "/data/next");
            let results = take_array(api, EMPLOYEES, &mut body, "/data/results", pager.pages + 1)?;
            pager.next(api, EMPLOYEES, next.as_deref())?;
            api.count(results.len());
            for mut record in results {
                let deleted = record.get("remote_deleted_at").is_some_and(|d| !d.is_null());
                if deleted {
                    if got.delta {
                        got.removed.push(record);
                    }
                    continue;
                }
                derive(&mut record, &mut units);
                if let Some(Value::Array(employments)) = record.get("employments") {
                    let id = record.get("id").cloned().unwrap_or(Value::Null);
                    for e in employments {
                        let mut e = e.clone();
                        if let Some(o) = e.as_object_mut() {
                            o.entry("employee_id").or_insert_with(|| id.clone());
                        }
                        got.employments.push(e);
                    }
                }
                got.people.push(record);
            }
            match next {
                Some(n) if !ask.first_page_only => cursor = Some(n),
                _ => break,
            }
        }
        if got.people.is_empty() && !got.delta && !api.settings.query.is_empty() {
            return Err(api.refused(
                EMPLOYEES,
                "a filtered read returned no employees: Kombo answers a filter the integration does not support with an empty list; check the filters in `query` against the integration's supported filters",
            ));
        }
        got.org_units = units.into_values().collect();
        Ok(got)
    }
}

/// Adds `hrsync.department`, `hrsync.department_id` and `hrsync.team` from the
/// record's `groups`, and collects its departments as org units.
fn derive(record: &mut Value, units: &mut std::collections::BTreeMap<String, Value>) {
    let Some(groups) = record.get("groups").and_then(Value::as_array) else { return };
    let of_type = |kind: &str| {
        groups
            .iter()
            .find(|g| g.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(kind)))
    };
    let department = of_type("DEPARTMENT").cloned();
    let team = of_type("TEAM").cloned();
    if let Some(d) = &department
        && let (Some(id), Some(_)) = (d.get("id").and_then(Value::as_str), d.get("name"))
    {
        units.entry(id.to_owned()).or_insert_with(|| json!({"id": id, "name": d["name"]}));
    }
    if let Some(o) = record.as_object_mut() {
        o.insert(
            "hrsync".into(),
            json!({
                "department": department.as_ref().and_then(|d| d.get("name")).cloned().unwrap_or(Value::Null),
                "department_id": department.as_ref().and_then(|d| d.get("id")).cloned().unwrap_or(Value::Null),
                "team": team.as_ref().and_then(|t| t.get("name")).cloned().unwrap_or(Value::Null),
            }),
        );
    }
}

#[cfg(test)]
mod tests;
