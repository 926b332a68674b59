//! The HiBob connector against a fake of `POST /v1/people/search`. Fixtures follow
//! apidocs.hibob.com "People read API contract" (one complete answer, no paging;
//! `showInactive` defaults to active only; fields a category permission does not grant
//! are left out), "Search for employees" (slash-notation keys `"/root/id":
//! {"value": …}` beside nested category objects), "Fields and lists metadata"
//! (human-readable values), the lifecycle statuses of help.hibob.com, the shape of
//! lyft/cartography `tests/data/hibob/employees.py` (`work.reportsTo`), and the
//! reference's throttling notes (429 with `X-RateLimit-Reset`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use serde_json::{Map, Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::model::EmploymentStatus;
use crate::source::hr::mock::{self, Fake, Log, answer};
use crate::source::{Completeness, SourceError};

const USER: &str = "SERVICE-8812";
const TOKEN: &str = "hibob-token-Qm31";

/// An employee as field id → value (what the fake answers from).
fn employee(n: u32, lifecycle: &str) -> Value {
    let active = if matches!(lifecycle, "Terminated" | "Hired") { "Inactive" } else { "Active" };
    json!({
        "root.id": format!("33328839{n:04}"),
        "root.firstName": format!("First{n}"),
        "root.surname": format!("Last{n}"),
        "root.displayName": format!("First{n} Last{n}"),
        "root.email": format!("p{n}@acme.example"),
        "home.privateEmail": format!("p{n}@home.example"),
        "work.employeeIdInCompany": 500 + n,
        "work.workPhone": "+44 20 7946 0000",
        "work.title": "Engineer",
        "work.department": "R&D",
        "work.site": "London",
        "work.reportsTo": if n > 1 {
            json!({"id": "333288390001", "email": "p1@acme.example", "firstName": "First1", "surname": "Last1", "displayName": "First1 Last1"})
        } else { Value::Null },
        "work.manager": if n > 1 { json!("First1 Last1") } else { Value::Null },
        "work.startDate": "2021-02-01",
        "work.custom.field_1691": format!("CC{}", n % 3),
        "internal.status": active,
        "internal.lifecycleStatus": lifecycle,
        "internal.terminationDate": if lifecycle == "Terminated" { json!("2026-10-31") } else { Value::Null },
    })
}

/// One record of the answer: the `fields` asked for and not in `hidden`, nested by
/// category (root fields at the top) for even `n`, in slash notation for odd `n`.
fn render(n: usize, person: &Value, fields: &[String], hidden: &[&str]) -> Value {
    let mut out = Map::new();
    for f in fields.iter().filter(|f| !hidden.contains(&f.as_str())) {
        let Some(value) = person.get(f.as_str()) else { continue };
        if n % 2 == 1 {
            out.insert(format!("/{}", f.replace('.', "/")), json!({"value": value}));
            continue;
        }
        let parts: Vec<&str> = f.split('.').collect();
        let parts = if parts[0] == "root" { &parts[1..] } else { &parts[..] };
        let mut node = &mut out;
        for p in &parts[..parts.len() - 1] {
            node = node.entry(p.to_string()).or_insert_with(|| json!({})).as_object_mut().unwrap();
        }
        node.insert(parts[parts.len() - 1].to_owned(), value.clone());
    }
    Value::Object(out)
}

/// The fake: Basic auth with the service user; `showInactive: true` or only Active
/// people; the fields asked for, less those in `hidden` (a category not granted).
fn bob(
    people: Vec<Value>,
    hidden: &'static [&'static str],
    log: Log,
) -> Fake<impl Fn(&Request) -> ResponseTemplate> {
    let basic =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{TOKEN}")));
    Fake(log, move |r: &Request| {
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
            return answer(401, json!({"message": "Unauthorized", "key": "UNAUTHORIZED"}));
        }
        if r.url.path() != "/v1/people/search" || r.method.as_str() != "POST" {
            return ResponseTemplate::new(404);
        }
        let Ok(body) = serde_json::from_slice::<Value>(&r.body) else { return ResponseTemplate::new(400) };
        let fields: Vec<String> = body["fields"]
            .as_array()
            .map(|f| f.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let inactive = body["showInactive"] == true;
        let rows: Vec<Value> = people
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.is_object() || inactive || p["internal.status"] == "Active")
            .map(|(i, p)| if p.is_object() { render(i, p, &fields, hidden) } else { p.clone() })
            .collect();
        answer(200, json!({"employees": rows}))
    })
}

fn yaml(server: &MockServer, token: &mock::SecretFile, extra: &str) -> String {
    format!(
        "version: 1\ntype: hibob\nmatch_key: [employee_number]\nconnection:\n  url: {}/v1\n  user: {USER}\n  token: \"{}\"\n  retries: 2\n{extra}",
        server.uri(),
        token.reference
    )
}

async fn serve(people: Vec<Value>, hidden: &'static [&'static str]) -> (MockServer, Log) {
    let server = MockServer::start().await;
    let log = Log::default();
    Mock::given(any()).respond_with(bob(people, hidden, log.clone())).mount(&server).await;
    (server, log)
}

fn company() -> Vec<Value> {
    vec![
        employee(1, "Employed"),
        employee(2, "Employed"),
        employee(3, "Hired"),
        employee(4, "Terminated"),
        employee(5, "Parental leave"),
        employee(6, "garden_leave"),
    ]
}

#[tokio::test]
async fn one_search_reads_everyone_with_leavers_asked_for_and_both_key_forms_read() {
    let (server, log) = serve(company(), &[]).await;
    let token = mock::secret(TOKEN);
    let source =
        mock::source(&yaml(&server, &token, "fields:\n  custom.cost_center: work.custom.field_1691\n"));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();

    assert_eq!(batch.completeness, Completeness::Full);
    let requests = log.requests();
    assert_eq!(requests.len(), 1, "one search, no paging");
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["showInactive"], true, "terminated people are hidden without it");
    assert_eq!(body["humanReadable"], "REPLACE");
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    for f in
        ["root.id", "internal.lifecycleStatus", "work.reportsTo", "work.custom.field_1691", "work.department"]
    {
        assert!(fields.contains(&f), "{fields:?}");
    }
    assert!(!fields.iter().any(|f| f.starts_with("hrsync") || *f == "work.reportsTo.id"), "{fields:?}");

    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids.len(), 6, "{ids:?}");
    let by = |n: u32| batch.people.iter().find(|p| p.id == format!("33328839{n:04}")).unwrap();
    for n in [2, 3] {
        // 2 answered nested, 3 in slash notation: both read alike.
        let p = by(n);
        assert_eq!(p.employee_number, Some(format!("{}", 500 + n)), "{n}");
        assert_eq!(p.first_name.as_deref(), Some(format!("First{n}").as_str()));
        assert_eq!(p.work_email, Some(format!("p{n}@acme.example")));
        assert_eq!(p.department.as_deref(), Some("R&D"));
        assert_eq!(p.org_unit.as_deref(), Some("R&D"));
        assert_eq!(p.work_location.as_deref(), Some("London"));
        assert_eq!(p.manager.as_deref(), Some("333288390001"), "the manager's id, not their name");
        assert_eq!(p.start_date, "2021-02-01".parse().ok());
        assert_eq!(p.custom.get("cost_center").map(String::as_str), Some(format!("CC{}", n % 3).as_str()));
    }
    assert_eq!(by(1).employment_status, Some(EmploymentStatus::Active));
    assert_eq!(by(3).employment_status, Some(EmploymentStatus::Pending), "hired: not started yet");
    assert_eq!(by(4).employment_status, Some(EmploymentStatus::Terminated));
    assert_eq!(by(4).end_date, "2026-10-31".parse().ok());
    assert_eq!(by(5).employment_status, Some(EmploymentStatus::Leave));
    assert_eq!(by(6).employment_status, Some(EmploymentStatus::Leave));
    assert_eq!(batch.org_units.len(), 1);
    assert!(batch.withheld.is_empty(), "{:?}", batch.withheld);
    assert!(batch.incomplete.is_none());
}

#[tokio::test]
async fn without_a_lifecycle_status_the_access_status_and_termination_date_tell() {
    let (server, _log) = serve(company(), &["internal.lifecycleStatus"]).await;
    let token = mock::secret(TOKEN);
    let batch = mock::read(mock::source(&yaml(&server, &token, "")).as_ref(), None, None).await.unwrap();
    let status =
        |n: u32| batch.people.iter().find(|p| p.id == format!("33328839{n:04}")).unwrap().employment_status;
    assert_eq!(status(1), Some(EmploymentStatus::Active));
    assert_eq!(status(3), Some(EmploymentStatus::Pending));
    assert_eq!(status(4), Some(EmploymentStatus::Terminated));
}

#[tokio::test]
async fn throttling_waits_for_the_rate_limit_reset_then_reads_on() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let inner = bob(company(), &[], Log::default());
    Mock::given(any())
        .respond_with(Fake(Log::default(), move |r: &Request| {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                return ResponseTemplate::new(429)
                    .insert_header("X-RateLimit-Limit", "50")
                    .insert_header("X-RateLimit-Remaining", "0")
                    .insert_header("X-RateLimit-Reset", "1");
            }
            wiremock::Respond::respond(&inner, r)
        }))
        .mount(&server)
        .await;
    let token = mock::secret(TOKEN);
    let batch = mock::read(mock::source(&yaml(&server, &token, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 6);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_rejected_token_is_asked_once_and_named_without_the_secret() {
    let (server, log) = serve(company(), &[]).await;
    let token = mock::secret("wrong-token-Xy7");
    let err = mock::read(mock::source(&yaml(&server, &token, "")).as_ref(), None, None).await.unwrap_err();
    let text = crate::model::error_chain(&err);
    assert!(matches!(err, SourceError::Credentials { .. }), "{text}");
    assert!(text.starts_with("credentials rejected by HiBob: check the service user id and token"), "{text}");
    assert!(!text.contains("wrong-token-Xy7"), "{text}");
    assert_eq!(log.requests().len(), 1, "a 401 is never retried: HiBob's firewall blocks addresses");
}

#[tokio::test]
async fn a_forbidden_search_is_asked_once() {
    let server = MockServer::start().await;
    let log = Log::default();
    Mock::given(any())
        .respond_with(Fake(log.clone(), |_: &Request| {
            answer(403, json!({"message": "Service user has no permission to People data"}))
        }))
        .mount(&server)
        .await;
    let token = mock::secret(TOKEN);
    let err = mock::read(mock::source(&yaml(&server, &token, "")).as_ref(), None, None).await.unwrap_err();
    let text = crate::model::error_chain(&err);
    assert!(matches!(err, SourceError::Credentials { .. }), "{text}");
    assert!(text.contains("no permission to People data"), "{text}");
    assert_eq!(log.requests().len(), 1);
}

#[tokio::test]
async fn a_malformed_record_is_skipped_with_its_reason_and_the_others_read() {
    let mut people = vec![employee(1, "Employed"), employee(2, "Employed"), employee(3, "Sabbatical")];
    people[1]["work.startDate"] = json!("01/02/2021");
    people.push(json!("not an employee"));
    let (server, _log) = serve(people, &[]).await;
    let token = mock::secret(TOKEN);
    let batch = mock::read(mock::source(&yaml(&server, &token, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    let reasons: Vec<String> = batch.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].contains("/v1/people/search:2: person skipped: start_date"), "{reasons:?}");
    assert!(reasons[1].contains(":3: person skipped: employment_status is not one of"), "{reasons:?}");
    assert!(reasons[2].contains(":4: person skipped: the record is not an object"), "{reasons:?}");
}

#[tokio::test]
async fn an_answer_that_is_not_a_people_list_fails_the_read_rather_than_look_empty() {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer(200, json!({"people": []}))).mount(&server).await;
    let token = mock::secret(TOKEN);
    let err = mock::read(mock::source(&yaml(&server, &token, "")).as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("has no `/employees`"), "{err}");

    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"employees\": [{\"id\""))
        .mount(&server)
        .await;
    let err = mock::read(mock::source(&yaml(&server, &token, "")).as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("is not JSON"), "{err}");
}

#[tokio::test]
async fn a_category_not_granted_is_withheld_and_without_a_status_nobody_is_judged() {
    let hidden: &[&str] =
        &["work.department", "internal.lifecycleStatus", "internal.status", "internal.terminationDate"];
    let (server, _log) = serve(company(), hidden).await;
    let token = mock::secret(TOKEN);
    let source = mock::source(&yaml(&server, &token, ""));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();
    let withheld: Vec<&str> = batch.withheld.iter().map(|w| w.field.as_str()).collect();
    for f in ["department", "org_unit", "employment_status", "end_date"] {
        assert!(withheld.contains(&f), "{withheld:?}");
    }
    assert!(batch.withheld[0].grant.contains("permission group"), "{:?}", batch.withheld);
    let why = batch.incomplete.expect("no status for anyone: the read is not trusted");
    assert!(why.contains("`employment_status`"), "{why}");
    let probe = mock::probe(source.as_ref()).await.unwrap();
    assert!(probe.missing.iter().any(|m| m.starts_with("`department`")), "{:?}", probe.missing);
}

#[test]
fn key_forms_are_normalised_without_dropping_anything() {
    let mut record = json!({
        "/root/id": {"value": "7"},
        "/work/department": {"value": "Sales"},
        "work": {"title": "Rep", "department": null},
        "/internal/status": {"value": "Active"},
        "firstName": "Ana",
    });
    super::normalise(&mut record);
    assert_eq!(record["root"]["id"], "7");
    assert_eq!(record["root"]["firstName"], "Ana");
    assert_eq!(record["work"]["department"], "Sales");
    assert_eq!(record["work"]["title"], "Rep");
    assert_eq!(record["internal"]["status"], "Active");
    assert_eq!(record["/root/id"]["value"], "7", "the slash keys stay");
    assert_eq!(super::lifecycle_status("Garden Leave"), "leave");
    assert_eq!(super::lifecycle_status("EMPLOYED"), "active");
    assert_eq!(super::lifecycle_status("Sabbatical"), "Sabbatical");
}

#[test]
fn the_source_file_is_checked_against_what_hibob_takes() {
    let base = "version: 1\ntype: hibob\nconnection:\n  user: SERVICE-1\n";
    assert!(
        mock::problems(base).contains("the HiBob connector needs `connection.token`"),
        "{}",
        mock::problems(base)
    );
    let ok = format!("{base}  token: \"${{env:T}}\"\n");
    assert_eq!(mock::problems(&ok), "");
    let extra = format!("{ok}  api_key: \"${{env:K}}\"\n");
    assert!(
        mock::problems(&extra).contains("`api_key` means nothing to the HiBob connector"),
        "{}",
        mock::problems(&extra)
    );
    let delta = format!("{ok}delta: true\n");
    assert!(mock::problems(&delta).contains("no changed-since filter"), "{}", mock::problems(&delta));
}
