//! The BambooHR connector against a fake of `POST /api/v1/reports/custom` and
//! `GET /api/v1/employees/changed`. Fixtures follow BambooHR's OpenAPI spec
//! (BambooHR/bhr-api-python `specs/public.yaml`: "Request Custom Report", its
//! `RequestCustomReport` body with `filters.employeeIds`, "Get Changed Employee IDs"
//! with its `ChangedEmployeeIdsResponse`), field names from documentation.bamboohr.com
//! "Field Names", the `0000-00-00` empty dates, and the throttling and error notes of
//! the reference (§2.1: 429/503 with `Retry-After`, `X-BambooHR-Error-Message`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::model::EmploymentStatus;
use crate::source::hr::mock::{self, Fake, Log, answer, param};
use crate::source::{Completeness, SourceError};

const KEY: &str = "bamboo-api-key-7Hq2";
/// The fake's today: later termination dates are future-dated values.
const TODAY: &str = "2026-11-22";

/// An employee as the custom report gives it (every field the fake knows).
fn employee(n: u32, status: &str) -> Value {
    json!({
        "id": n.to_string(),
        "employeeNumber": format!("{}", 1000 + n),
        "firstName": format!("First{n}"),
        "lastName": format!("Last{n}"),
        "preferredName": null,
        "displayName": format!("First{n} Last{n}"),
        "workEmail": format!("p{n}@acme.example"),
        "homeEmail": null,
        "workPhone": "+1 801 555 0100",
        "jobTitle": "Engineer",
        "department": "Engineering",
        "division": "North America",
        "location": "Lindon",
        "supervisorEId": if n > 1 { json!("1") } else { Value::Null },
        "supervisorId": if n > 1 { json!("1001") } else { Value::Null },
        "status": status,
        "employmentHistoryStatus": "Full-Time",
        "hireDate": "2020-01-06",
        "terminationDate": "0000-00-00",
        "customField4711": format!("CC{}", n % 3),
        "lastChanged": "2026-11-01T00:00:00+00:00",
        "deleted": false,
    })
}

/// The fake. Reports answer with the fields asked for (`null` for those in `hidden`,
/// which the key's user may not see), only the `filters.employeeIds` when given, and
/// without `onlyCurrent=false` future-dated termination dates are not shown. The
/// changed list gives everyone changed after `since`, deleted people as `Deleted`.
fn bamboo(
    people: Vec<Value>,
    hidden: &'static [&'static str],
    log: Log,
) -> Fake<impl Fn(&Request) -> ResponseTemplate> {
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:x")));
    Fake(log, move |r: &Request| {
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
            return ResponseTemplate::new(401).insert_header("X-BambooHR-Error-Message", "Invalid API key");
        }
        match r.url.path() {
            "/api/v1/employees/changed" => {
                let Some(since) = param(r, "since") else { return ResponseTemplate::new(400) };
                let mut map = serde_json::Map::new();
                for p in people.iter().filter(|p| p["lastChanged"].as_str().unwrap_or("") > since.as_str()) {
                    let action = if p["deleted"] == true { "Deleted" } else { "Updated" };
                    map.insert(
                        p["id"].as_str().unwrap_or("").to_owned(),
                        json!({"id": p["id"], "action": action, "lastChanged": p["lastChanged"]}),
                    );
                }
                answer(200, json!({"latest": "2026-11-25T10:00:00+00:00", "employees": map}))
            }
            "/api/v1/reports/custom" => {
                if r.headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
                    return ResponseTemplate::new(400).set_body_string("Malformed XML");
                }
                let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
                    return ResponseTemplate::new(400);
                };
                let current_only = param(r, "onlyCurrent").as_deref() != Some("false");
                let fields: Vec<String> = body["fields"]
                    .as_array()
                    .map(|f| f.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                let ids: Option<Vec<String>> = body
                    .pointer("/filters/employeeIds")
                    .and_then(Value::as_array)
                    .map(|ids| ids.iter().map(|i| i.to_string()).collect());
                let rows: Vec<Value> = people
                    .iter()
                    .filter(|p| p["deleted"] != true)
                    .filter(|p| ids.as_ref().is_none_or(|ids| ids.iter().any(|i| p["id"] == json!(i))))
                    .map(|p| {
                        let mut row = serde_json::Map::new();
                        row.insert("id".into(), p["id"].clone());
                        for f in &fields {
                            let mut v = if hidden.contains(&f.as_str()) { Value::Null } else { p[f].clone() };
                            if current_only && f == "terminationDate" && v.as_str().is_some_and(|d| d > TODAY)
                            {
                                v = json!("0000-00-00");
                            }
                            if p.get(f).is_some() || hidden.contains(&f.as_str()) {
                                row.insert(f.clone(), v);
                            }
                        }
                        Value::Object(row)
                    })
                    .collect();
                let meta: Vec<Value> =
                    fields.iter().map(|f| json!({"id": f, "type": "text", "name": f})).collect();
                answer(200, json!({"title": body["title"], "fields": meta, "employees": rows}))
            }
            _ => ResponseTemplate::new(404),
        }
    })
}

fn yaml(server: &MockServer, key: &mock::SecretFile, extra: &str) -> String {
    format!(
        "version: 1\ntype: bamboohr\nmatch_key: [employee_number]\nconnection:\n  url: {}/api/v1\n  api_key: \"{}\"\n  retries: 2\n{extra}",
        server.uri(),
        key.reference
    )
}

async fn serve(people: Vec<Value>, hidden: &'static [&'static str]) -> (MockServer, Log) {
    let server = MockServer::start().await;
    let log = Log::default();
    Mock::given(any()).respond_with(bamboo(people, hidden, log.clone())).mount(&server).await;
    (server, log)
}

/// The JSON bodies of the report requests.
fn report_bodies(log: &Log) -> Vec<Value> {
    log.requests()
        .iter()
        .filter(|r| r.url.path() == "/api/v1/reports/custom")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// Active, a future hire, a leaver, a planned leaver and a rehire.
fn company() -> Vec<Value> {
    let mut people: Vec<Value> = (1..=3).map(|n| employee(n, "Active")).collect();
    let mut hire = employee(4, "Inactive");
    hire["hireDate"] = json!("2027-01-04");
    let mut gone = employee(5, "Inactive");
    gone["terminationDate"] = json!("2026-10-31");
    let mut leaving = employee(6, "Active");
    leaving["terminationDate"] = json!("2026-12-31");
    let mut rehired = employee(7, "Active");
    rehired["hireDate"] = json!("2025-03-01");
    rehired["terminationDate"] = json!("2023-06-30");
    people.extend([hire, gone, leaving, rehired]);
    people
}

#[tokio::test]
async fn the_report_is_read_whole_with_future_values_and_statuses_derived() {
    let (server, log) = serve(company(), &[]).await;
    let key = mock::secret(KEY);
    let source = mock::source(&yaml(&server, &key, "fields:\n  custom.cost_center: customField4711\n"));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();

    assert_eq!(batch.completeness, Completeness::Full);
    assert_eq!(batch.people.len(), 7);
    let requests = log.requests();
    assert_eq!(requests.len(), 1, "one report, no paging");
    assert_eq!(requests[0].method.as_str(), "POST");
    assert_eq!(log.params("/api/v1/reports/custom", "onlyCurrent"), [Some("false".into())]);
    assert_eq!(log.params("/api/v1/reports/custom", "format"), [Some("JSON".into())]);
    let body = &report_bodies(&log)[0];
    assert_eq!(body["title"], "hrsync");
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    for f in
        ["id", "status", "terminationDate", "hireDate", "employeeNumber", "supervisorEId", "customField4711"]
    {
        assert!(fields.contains(&f), "{fields:?}");
    }
    assert!(!fields.iter().any(|f| f.starts_with("hrsync")), "derived keys are not asked for: {fields:?}");
    assert!(body.get("filters").is_none(), "a full read filters no one");

    let by = |id: &str| batch.people.iter().find(|p| p.id == id).unwrap();
    let two = by("2");
    assert_eq!(two.employee_number.as_deref(), Some("1002"));
    assert_eq!(two.display_name.as_deref(), Some("First2 Last2"));
    assert_eq!(two.department.as_deref(), Some("Engineering"));
    assert_eq!(two.org_unit.as_deref(), Some("Engineering"));
    assert_eq!(batch.org_units.len(), 1);
    assert_eq!(batch.org_units[0].name, "Engineering");
    assert_eq!(two.work_location.as_deref(), Some("Lindon"));
    assert_eq!(two.manager.as_deref(), Some("1"), "the manager's employee id");
    assert_eq!(two.employment_type.as_deref(), Some("Full-Time"));
    assert_eq!(two.start_date, "2020-01-06".parse().ok());
    assert_eq!(two.end_date, None, "0000-00-00 is no date");
    assert_eq!(two.employment_status, Some(EmploymentStatus::Active));
    assert_eq!(two.custom.get("cost_center").map(String::as_str), Some("CC2"));
    assert_eq!(by("4").employment_status, Some(EmploymentStatus::Pending), "a future hire is Inactive");
    assert_eq!(by("5").employment_status, Some(EmploymentStatus::Terminated));
    assert_eq!(by("5").end_date, "2026-10-31".parse().ok());
    let leaving = by("6");
    assert_eq!(leaving.employment_status, Some(EmploymentStatus::Active));
    assert_eq!(leaving.end_date, "2026-12-31".parse().ok(), "future-dated, seen with onlyCurrent=false");
    assert_eq!(by("7").end_date, None, "a rehire's old termination date ends nothing");
    let withheld: Vec<&str> = batch.withheld.iter().map(|w| w.field.as_str()).collect();
    assert_eq!(withheld, ["preferred_name", "personal_email"], "null for everyone in this company");
    assert!(batch.incomplete.is_none());
}

#[tokio::test]
async fn a_delta_reads_the_changed_ids_removes_the_deleted_and_nobody_else() {
    let mut people = company();
    people[1]["lastChanged"] = json!("2026-11-25T10:00:00+00:00");
    people[1]["jobTitle"] = json!("Staff Engineer");
    people[2]["lastChanged"] = json!("2026-11-25T10:00:00+00:00");
    people[2]["deleted"] = json!(true);
    let (server, log) = serve(people, &[]).await;
    let key = mock::secret(KEY);
    let source = mock::source(&yaml(&server, &key, "delta: true\n"));
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), None).await.unwrap();

    assert_eq!(batch.completeness, Completeness::Delta);
    assert_eq!(log.params("/api/v1/employees/changed", "since"), [Some("2026-11-24T09:00:00Z".into())]);
    let bodies = report_bodies(&log);
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["filters"], json!({"employeeIds": [2]}), "only the changed, as numbers");
    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["2"]);
    assert_eq!(batch.people[0].job_title.as_deref(), Some("Staff Engineer"));
    assert_eq!(batch.removed, ["3"], "a hard delete removes; nobody else leaves");
    assert!(batch.withheld.is_empty(), "a delta cannot tell a field never arrives");
    assert!(batch.incomplete.is_none());
}

#[tokio::test]
async fn a_delta_without_changes_asks_for_no_report() {
    let (server, log) = serve(company(), &[]).await;
    let key = mock::secret(KEY);
    let source = mock::source(&yaml(&server, &key, "delta: true\n"));
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), None).await.unwrap();
    assert_eq!(batch.completeness, Completeness::Delta);
    assert!(batch.people.is_empty() && batch.removed.is_empty());
    assert!(report_bodies(&log).is_empty());
}

#[tokio::test]
async fn a_changed_person_the_report_leaves_out_makes_the_delta_incomplete() {
    let server = MockServer::start().await;
    let inner = bamboo(company(), &[], Log::default());
    Mock::given(any())
        .respond_with(Fake(Log::default(), move |r: &Request| {
            if r.url.path() == "/api/v1/employees/changed" {
                return answer(
                    200,
                    json!({"latest": "2026-11-25T10:00:00+00:00", "employees": {
                        "2": {"id": "2", "action": "Updated", "lastChanged": "2026-11-25T10:00:00+00:00"},
                        "99": {"id": "99", "action": "Inserted", "lastChanged": "2026-11-25T10:00:00+00:00"}
                    }}),
                );
            }
            wiremock::Respond::respond(&inner, r)
        }))
        .mount(&server)
        .await;
    let key = mock::secret(KEY);
    let source = mock::source(&yaml(&server, &key, "delta: true\n"));
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    let why = batch.incomplete.expect("a changed person is missing");
    assert!(why.contains("1 of the 2 employees"), "{why}");
}

/// A fake that throttles the first request with `status` and `Retry-After`.
async fn throttled(status: u16) {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let inner = bamboo(vec![employee(1, "Active")], &[], Log::default());
    Mock::given(any())
        .respond_with(Fake(Log::default(), move |r: &Request| {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                return ResponseTemplate::new(status).insert_header("Retry-After", "0");
            }
            wiremock::Respond::respond(&inner, r)
        }))
        .mount(&server)
        .await;
    let key = mock::secret(KEY);
    let batch = mock::read(mock::source(&yaml(&server, &key, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "{status} then success");
}

#[tokio::test]
async fn throttling_with_429_waits_as_asked_then_reads_on() {
    throttled(429).await;
}

#[tokio::test]
async fn the_legacy_503_throttle_waits_as_asked_then_reads_on() {
    throttled(503).await;
}

#[tokio::test]
async fn a_rejected_key_is_asked_once_and_named_without_the_secret() {
    let (server, log) = serve(company(), &[]).await;
    let key = mock::secret("wrong-key-Xy7");
    let err = mock::read(mock::source(&yaml(&server, &key, "")).as_ref(), None, None).await.unwrap_err();
    let text = crate::model::error_chain(&err);
    assert!(matches!(err, SourceError::Credentials { .. }), "{text}");
    assert!(text.starts_with("credentials rejected by BambooHR: check the API key"), "{text}");
    assert!(text.contains("sources/s.yaml"), "{text}");
    assert!(text.contains("401"), "{text}");
    assert!(!text.contains("wrong-key-Xy7"), "{text}");
    assert_eq!(log.requests().len(), 1, "a 401 is never retried");
}

#[tokio::test]
async fn a_malformed_record_is_skipped_with_its_reason_and_the_others_read() {
    let mut people: Vec<Value> = (1..=3).map(|n| employee(n, "Active")).collect();
    people[1]["hireDate"] = json!("06/01/2020");
    people[2]["status"] = json!("Suspended");
    let (server, _log) = serve(people, &[]).await;
    let key = mock::secret(KEY);
    let batch = mock::read(mock::source(&yaml(&server, &key, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    let reasons: Vec<String> = batch.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("/api/v1/reports/custom:2: person skipped: start_date"), "{reasons:?}");
    assert!(reasons[1].contains(":3: person skipped: employment_status is not one of"), "{reasons:?}");
}

#[tokio::test]
async fn a_report_without_employees_fails_the_read_rather_than_look_empty() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(answer(200, json!({"title": "hrsync", "fields": []})))
        .mount(&server)
        .await;
    let key = mock::secret(KEY);
    let err = mock::read(mock::source(&yaml(&server, &key, "")).as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("has no `/employees`"), "{err}");

    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("<report><employees>"))
        .mount(&server)
        .await;
    let err = mock::read(mock::source(&yaml(&server, &key, "")).as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("is not JSON"), "{err}");
}

#[tokio::test]
async fn fields_answered_null_for_everyone_are_withheld_and_without_a_status_nobody_is_judged() {
    let (server, _log) = serve(company(), &["department", "status", "terminationDate"]).await;
    let key = mock::secret(KEY);
    let source = mock::source(&yaml(&server, &key, ""));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();
    let withheld: Vec<&str> = batch.withheld.iter().map(|w| w.field.as_str()).collect();
    for f in ["department", "employment_status", "end_date"] {
        assert!(withheld.contains(&f), "{withheld:?}");
    }
    assert!(batch.withheld[0].grant.contains("Access Levels"), "{:?}", batch.withheld);
    let why = batch.incomplete.expect("no status for anyone: the read is not trusted");
    assert!(why.contains("`employment_status`"), "{why}");
    let probe = mock::probe(source.as_ref()).await.unwrap();
    assert!(probe.missing.iter().any(|m| m.starts_with("`department`")), "{:?}", probe.missing);
}

#[test]
fn the_source_file_is_checked_against_what_bamboohr_takes() {
    let base = "version: 1\ntype: bamboohr\nconnection:\n";
    let none = format!("{base}  company_domain: acme\n");
    assert!(
        mock::problems(&none).contains("the BambooHR connector needs `connection.api_key`"),
        "{}",
        mock::problems(&none)
    );
    let nowhere = format!("{base}  api_key: \"${{env:K}}\"\n");
    assert!(
        mock::problems(&nowhere).contains("needs `connection.company_domain` or `connection.url`"),
        "{}",
        mock::problems(&nowhere)
    );
    let extra = format!("{base}  company_domain: acme\n  api_key: \"${{env:K}}\"\n  token: \"${{env:T}}\"\n");
    assert!(
        mock::problems(&extra).contains("`token` means nothing to the BambooHR connector"),
        "{}",
        mock::problems(&extra)
    );
    let host = format!("{base}  company_domain: acme.bamboohr.com\n  api_key: \"${{env:K}}\"\n");
    assert!(mock::problems(&host).contains("is not a host name label"), "{}", mock::problems(&host));
    assert_eq!(mock::problems(&format!("{base}  company_domain: acme\n  api_key: \"${{env:K}}\"\n")), "");
}

#[tokio::test]
async fn many_changed_people_are_read_in_reports_of_page_size_ids() {
    let mut people = company();
    for p in people.iter_mut().take(3) {
        p["lastChanged"] = json!("2026-11-25T10:00:00+00:00");
    }
    let (server, log) = serve(people, &[]).await;
    let key = mock::secret(KEY);
    let source = mock::source(
        &yaml(&server, &key, "delta: true\n").replace("retries: 2\n", "retries: 2\n  page_size: 2\n"),
    );
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), None).await.unwrap();
    let filters: Vec<Value> =
        report_bodies(&log).iter().map(|b| b["filters"]["employeeIds"].clone()).collect();
    assert_eq!(filters, [json!([1, 2]), json!([3])]);
    assert_eq!(batch.people.len(), 3);
    assert!(batch.incomplete.is_none());
}

#[test]
fn an_inactive_employee_is_pending_only_before_the_hire_date() {
    let status = |hire: &str, today: Option<jiff::civil::Date>| {
        let mut record =
            json!({"id": "9", "status": "Inactive", "hireDate": hire, "terminationDate": "0000-00-00"});
        super::derive(&mut record, today);
        record["hrsync"]["status"].as_str().unwrap_or("").to_owned()
    };
    let today = Some(jiff::civil::date(2026, 11, 25));
    assert_eq!(status("2027-01-04", today), "pending");
    assert_eq!(
        status("2019-04-01", today),
        "terminated",
        "a former employee whose termination date is not seen"
    );
    assert_eq!(
        status("2027-01-04", None),
        "terminated",
        "without the date, never pending: that would enable"
    );
}

#[test]
fn the_manager_is_found_whichever_supervisor_field_holds_the_id() {
    let record = |id: &str, number: &str, sid: Value, eid: Value| json!({"id": id, "employeeNumber": number, "supervisorId": sid, "supervisorEId": eid, "hrsync": {}});
    let manager = |people: &[Value], i: usize| people[i]["hrsync"].get("manager").cloned();
    // Workato's reading: supervisorId the id, supervisorEId the employee number.
    let mut workato =
        vec![record("7", "1001", Value::Null, Value::Null), record("8", "1002", json!("7"), json!("1001"))];
    super::managers(&mut workato, true);
    assert_eq!(manager(&workato, 1), Some(json!("7")));
    // The community's reading: supervisorEId the id, supervisorId a number.
    let mut community =
        vec![record("7", "1001", Value::Null, Value::Null), record("8", "1002", json!("1001"), json!("7"))];
    super::managers(&mut community, true);
    assert_eq!(manager(&community, 1), Some(json!("7")));
    // A number that is also someone else's id: the employee number names the person.
    let mut both = vec![
        record("7", "8", Value::Null, Value::Null),
        record("8", "1002", Value::Null, Value::Null),
        record("9", "1003", Value::Null, json!("8")),
    ];
    super::managers(&mut both, true);
    assert_eq!(manager(&both, 2), Some(json!("7")), "{both:?}");
    assert_eq!(manager(&both, 0), Some(Value::Null), "said, and no one: no manager");
    // A delta keeps what it cannot check out of the record.
    let mut delta = vec![record("8", "1002", Value::Null, json!("7"))];
    super::managers(&mut delta, false);
    assert_eq!(manager(&delta, 0), None, "left out: the merge keeps the last good manager");
}
