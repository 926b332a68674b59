//! AFAS Profit's REST GetConnectors: `GET /connectors/<report>` with `Authorization:
//! AfasToken <base64 of the XML token>` (AFASSoftware/OASContent
//! `markdownpages/profit/en/get-connector.md`, `authentication.md`,
//! `troubleshooting.md`; shared reference `hr-apis.md` §2.3). The GetConnector is the
//! customer's own view of Profit: its columns are whatever its administrator put in.
//!
//! - Pages: `skip` and `take` (AFAS applies them always, 100 by default) with
//!   `orderbyfieldids` (default `EmployeeId`, the source's `order_by`): without an order
//!   the database picks one per request and pages miss and repeat rows
//!   (get-connector.md, "Skip and take"). The read ends at a page with no `rows`. AFAS
//!   gives no total; a page that echoes another `skip` than asked, or holds more rows
//!   than asked, fails the read.
//! - Deltas: only when `changed_since` names a date-time column of the GetConnector
//!   (the "Logging" rubric's modified date): `filterfieldids=<field>`,
//!   `operatortypes=2` (>=), `filtervalues=<since>`, ANDed into every OR group of the
//!   source's own filters. AFAS date-times end in `Z` but are Amsterdam local time
//!   (get-connector.md: "ignore this `Z`"): the watermark is sent as Europe/Amsterdam
//!   local time without a zone, an hour early, so that the hour that repeats when
//!   summer time ends (and any clock skew) never hides a change; some people are read
//!   twice, which is harmless.
//! - Deletions: Profit hard-deletes and a GetConnector has no marker (help.afas.nl
//!   App_Cnnct_Deleted_Data): a delta never removes anyone; only a full read does, by
//!   leaving them out. A leaver is a live row whose `EmploymentEndDate` has passed.
//! - Errors: a 500 carries `externalMessage` and `profitLogReference`, which the
//!   error shows (the log reference is what the customer's administrator looks up); a
//!   401 is a bad or badly encoded token or a GetConnector missing from the
//!   AppConnector, a 403 the AppConnector's IP restriction; a 503 (maintenance) is
//!   waited out as its body's `retry_after` asks. At most 8 requests at once (the
//!   compiler enforces it); pages are read one after another.
//! - The default mapping follows the field ids of AFAS's own examples of GetConnectors
//!   on "Current Employee Data" (OASContent `howto-medewerker-ad.md`: `EmployeeId`,
//!   `EmailWork`, `EmploymentStartDate`, `EmploymentEndDate`) and, where those have
//!   none, the columns of the HelloID GetConnectors Tools4ever publishes
//!   (Tools4everBV/HelloID-Conn-Prov-Source-AFAS-Profit `mappingContractsOnly.json`:
//!   `Voornaam`, `Roepnaam`, `Voorvoegsel`, `Geboortenaam`, `Mobielnr_werk`,
//!   `Functie_omschrijving`, `Organisatorische_eenheid_code` / `_omschrijving`,
//!   `Werkgever_omschrijving`, `Soort_medewerker`). The last name is `Voorvoegsel`
//!   and `Geboortenaam` together (`van der Berg`), under `hrsync.last_name`. AFAS has
//!   no employment status: leaving and joining follow the end and start dates. The
//!   manager and the work location have no column both sources agree on: they are
//!   mapped only by `fields`.
//! - Org units are collected from the rows: each value of the org unit column with
//!   the department column as its name.

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::ToSpan;
use serde_json::{Map, Value, json};

use super::{Api, Ask, Connector, Got, Pager, take_array, text};
use crate::model::PersonField;
use crate::source::SourceError;
use crate::transform::normalize::PersonTarget;

/// The connector.
pub(super) struct Afas;

/// How much earlier than the watermark a delta asks from.
const OVERLAP_MINUTES: i64 = 60;

#[async_trait]
impl Connector for Afas {
    fn defaults(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "EmployeeId"),
            ("employee_number", "EmployeeId"),
            ("first_name", "Voornaam"),
            ("preferred_name", "Roepnaam"),
            ("last_name", "hrsync.last_name"),
            ("display_name", "hrsync.display_name"),
            ("work_email", "EmailWork"),
            ("phone", "Mobielnr_werk"),
            ("job_title", "Functie_omschrijving"),
            ("department", "Organisatorische_eenheid_omschrijving"),
            ("org_unit", "Organisatorische_eenheid_code"),
            ("legal_entity", "Werkgever_omschrijving"),
            ("employment_type", "Soort_medewerker"),
            ("start_date", "EmploymentStartDate"),
            ("end_date", "EmploymentEndDate"),
        ]
    }

    fn org_unit_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[("id", "id"), ("name", "name")]
    }

    fn grant(&self) -> &'static str {
        "add the field to the GetConnector (or map the column it has under `fields`), and check that the AppConnector's user group may see it"
    }

    fn credential(&self) -> &'static str {
        "token (a 401: the token, its environment, or the GetConnector missing from the AppConnector; a 403: the AppConnector's IP restriction does not admit this host)"
    }

    async fn read(&self, api: &Api<'_>, ask: &Ask<'_>) -> Result<Got, SourceError> {
        let report = api.settings.report.as_deref().unwrap_or_default();
        if report.is_empty() || !report.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(
                api.refused("connectors", "`report` is not a GetConnector id (letters, digits, `_`, `-`)")
            );
        }
        let path = format!("connectors/{report}");
        let mut got = Got { delta: false, endpoint: path.clone(), ..Got::default() };
        let mut query: Vec<(String, String)> = api.settings.query.clone();
        if let (Some(since), Some(field)) = (ask.since, api.settings.changed_since.as_deref()) {
            and_filter(&mut query, field, &amsterdam(since), "2");
            got.delta = true;
        }
        let order = api.settings.order_by.clone().unwrap_or_else(|| "EmployeeId".to_owned());
        query.retain(|(k, _)| !matches!(k.as_str(), "skip" | "take" | "orderbyfieldids"));
        query.push(("orderbyfieldids".into(), order));
        let take = u64::from(api.settings.http.page_size.max(1));
        let mut pager = Pager::new();
        let mut skip: u64 = 0;
        let mut previous: Option<blake3::Hash> = None;
        loop {
            let mut params: Vec<(&str, String)> =
                vec![("skip", skip.to_string()), ("take", take.to_string())];
            params.extend(query.iter().map(|(k, v)| (k.as_str(), v.clone())));
            let response = api.get(&path, &params).await?;
            let page = pager.pages + 1;
            let mut body = api.json(&path, response, page)?;
            if let Some(echo) = body.get("skip").and_then(Value::as_u64)
                && echo != skip
            {
                return Err(api.format(&path, format!("page {page} answers skip {echo}, asked {skip}")));
            }
            let rows = take_array(api, &path, &mut body, "/rows", page)?;
            if rows.len() as u64 > take {
                return Err(api.format(
                    &path,
                    format!("page {page} has {} rows, more than the {take} asked", rows.len()),
                ));
            }
            // A server that ignores `skip` gives the same page again: without the
            // `skip` echo that would only end after MAX_PAGES.
            let digest = blake3::hash(&serde_json::to_vec(&rows).unwrap_or_default());
            if !rows.is_empty() && previous == Some(digest) {
                return Err(api.format(
                    &path,
                    format!(
                        "page {page} holds the same rows as page {}: the server ignores `skip`",
                        page - 1
                    ),
                ));
            }
            previous = Some(digest);
            pager.next(api, &path, None)?;
            api.count(rows.len());
            let done = rows.is_empty() || ask.first_page_only;
            skip += rows.len() as u64;
            got.people.extend(rows.into_iter().map(derive));
            if done {
                break;
            }
        }
        got.org_units = org_units(api, &got.people);
        Ok(got)
    }
}

/// `since` as AFAS compares it: Amsterdam local time without a zone, less the
/// overlap (`2026-11-24T10:00:00`).
fn amsterdam(since: jiff::Timestamp) -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap_or(jiff::tz::TimeZone::UTC);
    let early = since.checked_sub(OVERLAP_MINUTES.minutes()).unwrap_or(since);
    early.to_zoned(tz).datetime().strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

/// ANDs `field op value` into the filters of `query`: AFAS reads `,` as AND and `;` as
/// OR between groups, so the condition joins every group.
fn and_filter(query: &mut Vec<(String, String)>, field: &str, value: &str, op: &str) {
    let mut take = |key: &str| -> Option<String> {
        let at = query.iter().position(|(k, _)| k == key)?;
        Some(query.remove(at).1)
    };
    let (fields, values, ops) = (take("filterfieldids"), take("filtervalues"), take("operatortypes"));
    let join = |existing: Option<String>, add: &str| match existing.filter(|e| !e.is_empty()) {
        None => add.to_owned(),
        Some(e) => e.split(';').map(|group| format!("{group},{add}")).collect::<Vec<_>>().join(";"),
    };
    query.push(("filterfieldids".into(), join(fields, field)));
    query.push(("filtervalues".into(), join(values, value)));
    query.push(("operatortypes".into(), join(ops, op)));
}

/// Adds `hrsync.last_name` (`Voorvoegsel` `Geboortenaam`) and `hrsync.display_name`
/// to a row, each only when the row has the columns it is made of.
fn derive(mut row: Value) -> Value {
    let Some(o) = row.as_object_mut() else { return row };
    let mut d = Map::new();
    let get =
        |k: &str| o.get(k).and_then(|v| text(v, "")).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let last = if o.contains_key("Geboortenaam") {
        let name = match (get("Voorvoegsel"), get("Geboortenaam")) {
            (Some(prefix), Some(name)) => Some(format!("{prefix} {name}")),
            (None, name) => name,
            (Some(_), None) => None,
        };
        d.insert("last_name".into(), name.clone().map_or(Value::Null, Value::String));
        name
    } else {
        None
    };
    if let (Some(first), Some(last)) = (get("Roepnaam").or_else(|| get("Voornaam")), last) {
        d.insert("display_name".into(), json!(format!("{first} {last}")));
    }
    o.insert("hrsync".into(), Value::Object(d));
    row
}

/// The org units the rows name: each value of the `org_unit` column, named by the
/// `department` column of the first row that has both.
fn org_units(api: &Api<'_>, people: &[Value]) -> Vec<Value> {
    let key = |field: PersonField| {
        api.fields.iter().find(|(t, _)| *t == PersonTarget::Field(field)).map(|(_, k)| k.as_str())
    };
    let (Some(id_key), Some(name_key)) = (key(PersonField::OrgUnit), key(PersonField::Department)) else {
        return Vec::new();
    };
    let mut units: BTreeMap<String, Value> = BTreeMap::new();
    for row in people {
        let at = |k: &str| {
            let mut node = row;
            for part in k.split('.') {
                node = node.get(part)?;
            }
            text(node, "")
        };
        if let (Some(id), Some(name)) = (at(id_key), at(name_key)) {
            units.entry(id.clone()).or_insert_with(|| json!({"id": id, "name": name}));
        }
    }
    units.into_values().collect()
}

#[cfg(test)]
mod tests;
