//! Workday Report-as-a-Service (RaaS): a custom report of the advanced type, enabled as
//! a web service, read as `GET <host>/ccx/service/customreport2/<tenant>/<owner>/<report>?format=json`
//! (hr-apis.md §2.8 ◐; the report's own "Actions → Web Service → View URLs" gives the
//! URL, as Workato's Workday RaaS guide shows). `connection.url` is the host, `report`
//! the path after `customreport2/`; authentication is Basic with an integration system
//! user or a bearer token from an API client's client credentials, set up by the config.
//!
//! - One response, no paging: `{"Report_Entry": [ … ]}`. There is no total to check;
//!   a body that is not JSON (a cut-off answer) or lacks `Report_Entry` fails the read.
//! - Deltas: only when `changed_since` names a report prompt: a delta read sends
//!   `<prompt>=<since, RFC 3339>` and the report's filter decides what "changed" means.
//!   Without it every read is full. Workday marks no deletions, so a delta removes no
//!   one; leavers stay visible only when the report's data source is "All Active and
//!   Terminated Workers" (a report on "All Active Workers" would make every leaver
//!   vanish from a full read, which the population guard catches, not this connector).
//! - Columns are named by the report author (their XML alias). The default mapping uses
//!   the names public RaaS integrations ask report authors for: `Employee_ID`,
//!   `Full_Name`, `Manager_ID`, `Team_Name`, `Location`, `Email`, `Employee_Type`,
//!   `Start_Date`, `Termination_Date` (faros-ai/airbyte-connectors
//!   `sources/workday-source/README.md`), `First_Name`, `Last_Name`, `Personal_Email`,
//!   `Company` (silinternational/personnel-sync, its Workday RaaS test fixture), and
//!   `Preferred_Name`, `Department`, `Department_ID`, `Job_Title`, `Worker_Status`
//!   seen in other public RaaS fixtures. `Phone` has no common name; any column is
//!   mapped through `fields`.
//! - Multi-valued fields arrive as lists. A list of one value, or of one value
//!   repeated, is read as that value (it means nothing else). A list of different
//!   values is left as it is, so the person is skipped with a reason naming the key
//!   (and held, not disabled): Workday gives no "primary" mark in such a list and its
//!   order is not a promise, so taking the first value could write the wrong e-mail
//!   address or manager. The report should use a single-instance field instead (a
//!   primary work e-mail, the primary position's manager), as the example says.
//! - Dates: Workday writes a date with the tenant's offset (`2026-03-01-08:00`, its XML
//!   form, ◐ in JSON); the start and end date columns are read as their date.
//! - Org units: the distinct pairs of the `org_unit` and `department` columns.
//! - Time zones: Workday evaluates effective dates in the integration user's time zone;
//!   a user far from the workers' zone sees terminations late (Entra ID's Workday
//!   inbound saw up to 17 h for Melbourne, hr-apis.md §2.8). Give the user the workers'
//!   zone, and the source the same `timezone`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Api, Ask, Connector, Got, take_array};
use crate::model::PersonField;
use crate::source::SourceError;
use crate::transform::normalize::PersonTarget;

/// The connector.
pub(super) struct Workday;

#[async_trait]
impl Connector for Workday {
    fn defaults(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "Employee_ID"),
            ("employee_number", "Employee_ID"),
            ("first_name", "First_Name"),
            ("last_name", "Last_Name"),
            ("preferred_name", "Preferred_Name"),
            ("display_name", "Full_Name"),
            ("work_email", "Email"),
            ("personal_email", "Personal_Email"),
            ("phone", "Phone"),
            ("job_title", "Job_Title"),
            ("department", "Department"),
            ("team", "Team_Name"),
            ("org_unit", "Department_ID"),
            ("legal_entity", "Company"),
            ("work_location", "Location"),
            ("manager", "Manager_ID"),
            ("employment_status", "Worker_Status"),
            ("employment_type", "Employee_Type"),
            ("start_date", "Start_Date"),
            ("end_date", "Termination_Date"),
        ]
    }

    fn values(&self) -> &'static [(&'static str, &'static [(&'static str, &'static str)])] {
        &[(
            "employment_status",
            &[
                ("Active", "active"),
                ("On Leave", "leave"),
                ("Leave of Absence", "leave"),
                ("Terminated", "terminated"),
                ("Inactive", "terminated"),
                ("Pre-Hire", "pending"),
                ("Pending", "pending"),
            ],
        )]
    }

    fn org_unit_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[("id", "id"), ("name", "name")]
    }

    fn grant(&self) -> &'static str {
        "add the column to the report (its XML alias is the key, or map the field to the report's own column in `fields`) and give the integration system user's security group view access to the field's domain"
    }

    fn credential(&self) -> &'static str {
        "integration system user (`user`, `token`) or API client (`client_id`, `client_secret`)"
    }

    async fn read(&self, api: &Api<'_>, ask: &Ask<'_>) -> Result<Got, SourceError> {
        let report = api.settings.report.as_deref().unwrap_or_default().trim_matches('/');
        let path = format!("ccx/service/customreport2/{report}");
        let mut query: Vec<(&str, String)> = vec![("format", "json".into())];
        query.extend(api.settings.query.iter().map(|(k, v)| (k.as_str(), v.clone())));
        let prompt = api.settings.changed_since.as_deref();
        let since = ask.since.filter(|_| prompt.is_some());
        if let (Some(prompt), Some(since)) = (prompt, since) {
            query.push((prompt, since.to_string()));
        }
        let mut got = Got { delta: since.is_some(), endpoint: path.clone(), ..Got::default() };
        // One response: the report has no pages, so `first_page_only` (validate --online)
        // is this one call too.
        let response = api.get(&path, &query).await?;
        let mut body = api.json(&path, response, 1)?;
        let mut rows = take_array(api, &path, &mut body, "/Report_Entry", 1)?;
        api.count(rows.len());
        let dates: Vec<&str> = api
            .fields
            .iter()
            .filter(|(t, _)| matches!(t, PersonTarget::Field(PersonField::StartDate | PersonField::EndDate)))
            .map(|(_, k)| k.as_str())
            .collect();
        let key = |field: PersonField| {
            api.fields.iter().find(|(t, _)| *t == PersonTarget::Field(field)).map(|(_, k)| k.as_str())
        };
        let (unit_key, name_key) = (key(PersonField::OrgUnit), key(PersonField::Department));
        let mut units = BTreeMap::new();
        for row in &mut rows {
            if !row.is_object() {
                continue;
            }
            for (_, k) in &api.fields {
                single(row, k);
            }
            for k in &dates {
                if let Some(Value::String(s)) = at(row, k)
                    && let Some(date) = offset_date(s)
                {
                    *s = date;
                }
            }
            // A unit needs its name; one without is left to the people's own values.
            if let (Some(unit_key), Some(name_key)) = (unit_key, name_key)
                && let Some(Value::String(id)) = at(row, unit_key).cloned()
                && let Some(Value::String(name)) = at(row, name_key).cloned()
            {
                units.entry(id.clone()).or_insert_with(|| json!({"id": id, "name": name}));
            }
        }
        got.people = rows;
        got.org_units = units.into_values().collect();
        Ok(got)
    }
}

/// The value at the dotted `key` of `row`, to change in place.
fn at<'v>(row: &'v mut Value, key: &str) -> Option<&'v mut Value> {
    let mut node = row;
    for part in key.split('.') {
        node = node.get_mut(part)?;
    }
    Some(node)
}

/// Reads a list at `key` as its value when it holds one value (or one value repeated);
/// an empty list is no value. Lists of different values are left for the mapping to
/// refuse.
fn single(row: &mut Value, key: &str) {
    let Some(node) = at(row, key) else { return };
    let Value::Array(items) = node else { return };
    let Some(first) = items.first() else {
        *node = Value::Null;
        return;
    };
    let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
    if scalar(first) && items.iter().all(|v| v == first) {
        *node = first.clone();
    }
}

/// `2026-03-01-08:00` or `2026-03-01+01:00` (a date with the tenant's offset) as
/// `2026-03-01`; anything else is left as it is.
fn offset_date(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let dated = b.len() == 16
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'+' | b'-')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16);
    dated.then(|| raw[..10].to_owned())
}

#[cfg(test)]
mod tests;
