//! The Kombo connector against a fake of `GET /v1/hris/employees`. Fixtures follow
//! Kombo's API reference, "Get employees" (docs.kombo.dev/hris/v1/get-employees) and
//! the shapes of kombohq/typescript-sdk `docs/models/gethrisemployeespositiveresponse*.md`
//! (`{"status":"success","data":{"next":…,"results":[…]}}`), its error shape
//! (`{"status":"error","error":{"code","title","message","log_url"}}`, codes from
//! `kombohriserrorcode.md`) and `src/lib/retries.ts` (`retry-after-ms`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::model::EmploymentStatus;
use crate::source::hr::mock::{self, Fake, Log, answer, param};
use crate::source::{Completeness, SourceError};

const KEY: &str = "kombo-api-key-Zq81";

/// An employee as Kombo gives it.
fn employee(n: u32, status: &str) -> Value {
    json!({
        "id": format!("kmb{n:04}"),
        "remote_id": n.to_string(),
        "employee_number": format!("E{n:04}"),
        "first_name": format!("First{n}"),
        "last_name": format!("Last{n}"),
        "display_full_name": format!("First{n} Last{n}"),
        "job_title": "Engineer",
        "work_email": format!("p{n}@acme.example"),
        "personal_email": null,
        "mobile_phone_number": null,
        "employment_status": status,
        "employment_type": "FULL_TIME",
        "weekly_hours": 40,
        "manager_id": if n > 1 { json!("kmb0001") } else { Value::Null },
        "legal_entity_id": "le1",
        "work_location_id": "wl1",
        "start_date": "2020-01-01T00:00:00.000Z",
        "termination_date": if status == "INACTIVE" { json!("2026-10-31T00:00:00.000Z") } else { Value::Null },
        "changed_at": "2026-11-01T00:00:00.000Z",
        "remote_deleted_at": null,
        "custom_fields": {"cost_center": format!("CC{}", n % 3)},
        "employments": [{"id": format!("emp{n}"), "job_title": "Engineer", "employment_type": "FULL_TIME"}],
        "groups": [
            {"id": "g-eng", "remote_id": "10", "name": "Engineering", "type": "DEPARTMENT"},
            {"id": "g-plat", "remote_id": "11", "name": "Platform", "type": "TEAM"}
        ],
        "legal_entity": {"id": "le1", "remote_id": "1", "name": "Acme GmbH"},
        "work_location": {"id": "wl1", "remote_id": "1", "name": "Berlin", "type": "OFFICE"},
    })
}

/// The fake: `people` paged by `page_size` with an opaque cursor; deleted rows only with
/// `include_deleted=true`; `updated_after` keeps rows changed after it.
fn kombo(people: Vec<Value>, log: Log) -> Fake<impl Fn(&Request) -> ResponseTemplate> {
    Fake(log, move |r: &Request| {
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {KEY}"))
            || r.headers.get("x-integration-id").and_then(|v| v.to_str().ok()) != Some("acme-personio")
        {
            return answer(
                401,
                json!({"status": "error", "error": {"code": "PLATFORM.AUTHENTICATION_INVALID", "title": "Invalid API key", "message": "The API key is invalid.", "log_url": null}}),
            );
        }
        let deleted = param(r, "include_deleted").as_deref() == Some("true");
        let after = param(r, "updated_after");
        let rows: Vec<&Value> = people
            .iter()
            .filter(|p| deleted || p["remote_deleted_at"].is_null())
            .filter(|p| after.as_deref().is_none_or(|a| p["changed_at"].as_str().unwrap_or("") > a))
            .collect();
        let size: usize = param(r, "page_size").and_then(|s| s.parse().ok()).unwrap_or(100).min(250);
        let start: usize = param(r, "cursor").and_then(|c| c.strip_prefix("cur-")?.parse().ok()).unwrap_or(0);
        let page: Vec<&Value> = rows.iter().skip(start).take(size).copied().collect();
        let next = (start + size < rows.len()).then(|| format!("cur-{}", start + size));
        answer(200, json!({"status": "success", "data": {"next": next, "results": page}}))
    })
}

fn yaml(server: &MockServer, key: &mock::SecretFile, extra: &str) -> String {
    format!(
        "version: 1\ntype: kombo\nmatch_key: [employee_number]\nconnection:\n  url: {}/v1\n  api_key: \"{}\"\n  integration_id: acme-personio\n  page_size: 2\n  retries: 2\n{extra}",
        server.uri(),
        key.reference
    )
}

async fn serve(people: Vec<Value>) -> (MockServer, Log) {
    let server = MockServer::start().await;
    let log = Log::default();
    Mock::given(any()).respond_with(kombo(people, log.clone())).mount(&server).await;
    (server, log)
}

#[tokio::test]
async fn every_page_is_read_with_deleted_rows_asked_for_and_left_out() {
    let mut people: Vec<Value> = (1..=5).map(|n| employee(n, "ACTIVE")).collect();
    people.push(employee(6, "INACTIVE"));
    let mut deleted = employee(7, "ACTIVE");
    deleted["remote_deleted_at"] = json!("2026-11-20T00:00:00.000Z");
    people.push(deleted);
    let (server, log) = serve(people).await;
    let key = mock::secret(KEY);
    let source =
        mock::source(&yaml(&server, &key, "fields:\n  custom.cost_center: custom_fields.cost_center\n"));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();

    assert_eq!(batch.completeness, Completeness::Full);
    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        ["kmb0001", "kmb0002", "kmb0003", "kmb0004", "kmb0005", "kmb0006"],
        "the deleted row is left out"
    );
    assert_eq!(log.params("/v1/hris/employees", "include_deleted"), vec![Some("true".into()); 4]);
    assert_eq!(
        log.params("/v1/hris/employees", "cursor"),
        [None, Some("cur-2".into()), Some("cur-4".into()), Some("cur-6".into())]
    );
    let two = &batch.people[1];
    assert_eq!(two.employee_number.as_deref(), Some("E0002"));
    assert_eq!(two.department.as_deref(), Some("Engineering"));
    assert_eq!(two.team.as_deref(), Some("Platform"));
    assert_eq!(two.org_unit.as_deref(), Some("g-eng"));
    assert_eq!(two.legal_entity.as_deref(), Some("Acme GmbH"));
    assert_eq!(two.work_location.as_deref(), Some("Berlin"));
    assert_eq!(two.manager.as_deref(), Some("kmb0001"));
    assert_eq!(two.start_date, "2020-01-01".parse().ok());
    assert_eq!(two.employment_status, Some(EmploymentStatus::Active));
    assert_eq!(two.custom.get("cost_center").map(String::as_str), Some("CC2"));
    let leaver = &batch.people[5];
    assert_eq!(leaver.employment_status, Some(EmploymentStatus::Terminated), "a termination is a status");
    assert_eq!(leaver.end_date, "2026-10-31".parse().ok());
    assert_eq!(batch.employments.len(), 6);
    assert_eq!(batch.employments[0].person, "kmb0001");
    assert_eq!(batch.org_units.len(), 1);
    assert_eq!((batch.legal_entities, batch.work_locations), (Some(1), Some(1)));
    assert!(
        batch.withheld.iter().all(|w| w.field == "personal_email" || w.field == "phone"),
        "{:?}",
        batch.withheld
    );
    assert!(batch.incomplete.is_none());
}

#[tokio::test]
async fn a_delta_carries_the_watermark_and_deletions_remove_only_whom_they_name() {
    let mut people: Vec<Value> = (1..=4).map(|n| employee(n, "ACTIVE")).collect();
    people[1]["changed_at"] = json!("2026-11-25T10:00:00.000Z");
    people[2]["changed_at"] = json!("2026-11-25T10:00:00.000Z");
    people[2]["remote_deleted_at"] = json!("2026-11-25T10:00:00.000Z");
    let (server, log) = serve(people).await;
    let key = mock::secret(KEY);
    let source = mock::source(&yaml(&server, &key, "delta: true\n"));
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), None).await.unwrap();
    assert_eq!(batch.completeness, Completeness::Delta);
    assert_eq!(log.params("/v1/hris/employees", "updated_after"), [Some("2026-11-24T09:00:00Z".into())]);
    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["kmb0002"]);
    assert_eq!(batch.removed, ["kmb0003"]);
    assert!(batch.withheld.is_empty(), "a delta cannot tell a field never arrives");
}

#[tokio::test]
async fn throttling_waits_as_asked_then_reads_on() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let log = Log::default();
    let inner = kombo(vec![employee(1, "ACTIVE")], log.clone());
    Mock::given(any())
        .respond_with(Fake(Log::default(), move |r: &Request| {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                return ResponseTemplate::new(429).insert_header("retry-after-ms", "50").set_body_json(
                    json!({"status": "error", "error": {"code": "PLATFORM.RATE_LIMIT_EXCEEDED", "title": "Rate limit", "message": "Too many requests."}}),
                );
            }
            wiremock::Respond::respond(&inner, r)
        }))
        .mount(&server)
        .await;
    let key = mock::secret(KEY);
    let batch = mock::read(mock::source(&yaml(&server, &key, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn rejected_credentials_are_asked_once_and_named_without_the_secret() {
    let (server, log) = serve(vec![employee(1, "ACTIVE")]).await;
    let key = mock::secret("wrong-key-Xy7");
    let err = mock::read(mock::source(&yaml(&server, &key, "")).as_ref(), None, None).await.unwrap_err();
    let text = crate::model::error_chain(&err);
    assert!(matches!(err, SourceError::Credentials { .. }), "{text}");
    assert!(
        text.starts_with(
            "credentials rejected by Kombo: check the API key and integration id referenced in sources/s.yaml"
        ),
        "{text}"
    );
    assert!(text.contains("PLATFORM.AUTHENTICATION_INVALID"), "{text}");
    assert!(!text.contains("wrong-key-Xy7"), "{text}");
    assert_eq!(log.requests().len(), 1, "a 401 is never retried");
}

#[tokio::test]
async fn a_malformed_record_is_skipped_with_its_reason_and_the_others_read() {
    let mut people: Vec<Value> = (1..=3).map(|n| employee(n, "ACTIVE")).collect();
    people[1]["start_date"] = json!("yesterday");
    people[2]["employment_status"] = json!("SABBATICAL_UNMAPPED");
    people.push(json!("not an employee"));
    let (server, _log) = serve(people).await;
    let key = mock::secret(KEY);
    let batch = mock::read(mock::source(&yaml(&server, &key, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    let reasons: Vec<String> = batch.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons[0].ends_with(
            "/v1/hris/employees:2: person skipped: start_date is not a valid date in the form `%Y-%m-%d`"
        ),
        "{reasons:?}"
    );
    assert!(reasons[1].contains(":3: person skipped: employment_status is not one of"), "{reasons:?}");
    assert!(reasons[2].contains(":4: person skipped: the record is not an object"), "{reasons:?}");
}

#[tokio::test]
async fn a_first_sync_not_done_yet_fails_the_read_rather_than_look_empty() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(answer(
            503,
            json!({"status": "error", "error": {"code": "INTEGRATION.SETUP_SYNC_PENDING", "title": "Sync pending", "message": "The first sync of this integration is not done yet."}}),
        ))
        .mount(&server)
        .await;
    let key = mock::secret(KEY);
    let err = mock::read(mock::source(&yaml(&server, &key, "")).as_ref(), None, None).await.unwrap_err();
    assert!(crate::model::error_chain(&err).contains("INTEGRATION.SETUP_SYNC_PENDING"), "{err}");
}

#[tokio::test]
async fn an_unsupported_filter_answered_with_no_one_fails_the_read() {
    let (server, log) = serve(Vec::new()).await;
    let key = mock::secret(KEY);
    let source = mock::source(&yaml(&server, &key, "query:\n  legal_entity_ids: le9\n"));
    let err = mock::read(source.as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("a filtered read returned no employees"), "{err}");
    assert_eq!(log.params("/v1/hris/employees", "legal_entity_ids"), [Some("le9".into())]);
}

#[tokio::test]
async fn a_cursor_given_twice_fails_the_read_rather_than_loop() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(answer(
            200,
            json!({"status": "success", "data": {"next": "same", "results": [employee(1, "ACTIVE")]}}),
        ))
        .mount(&server)
        .await;
    let key = mock::secret(KEY);
    let err = mock::read(mock::source(&yaml(&server, &key, "")).as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("same next page twice"), "{err}");
}

#[tokio::test]
async fn fields_that_never_arrive_are_withheld_and_without_a_status_nobody_is_judged() {
    let people: Vec<Value> = (1..=3)
        .map(|n| {
            let mut e = employee(n, "ACTIVE");
            let o = e.as_object_mut().unwrap();
            o.remove("groups");
            o.remove("employment_status");
            e
        })
        .collect();
    let (server, _log) = serve(people).await;
    let key = mock::secret(KEY);
    let source = mock::source(&yaml(&server, &key, ""));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();
    let fields: Vec<&str> = batch.withheld.iter().map(|w| w.field.as_str()).collect();
    for f in ["department", "team", "org_unit", "employment_status"] {
        assert!(fields.contains(&f), "{fields:?}");
    }
    let why = batch.incomplete.expect("no status for anyone: the read is not trusted");
    assert!(why.contains("`employment_status`") && why.contains("Kombo"), "{why}");
    let probe = mock::probe(source.as_ref()).await.unwrap();
    assert!(probe.missing.iter().any(|m| m.starts_with("`department`")), "{:?}", probe.missing);
}

#[test]
fn the_source_file_is_checked_against_what_kombo_takes() {
    let base = "version: 1\ntype: kombo\nconnection:\n  api_key: \"${env:K}\"\n";
    assert!(
        mock::problems(base).contains("the Kombo connector needs `connection.integration_id`"),
        "{}",
        mock::problems(base)
    );
    let extra = format!("{base}  integration_id: x\n  client_secret: \"${{env:S}}\"\n");
    assert!(
        mock::problems(&extra).contains("`client_secret` means nothing to the Kombo connector"),
        "{}",
        mock::problems(&extra)
    );
    let big = format!("{base}  integration_id: x\n  page_size: 500\n");
    assert!(
        mock::problems(&big).contains("Kombo gives at most 250 records per page"),
        "{}",
        mock::problems(&big)
    );
    assert_eq!(mock::problems(&format!("{base}  integration_id: x\n")), "");
}

#[tokio::test]
async fn a_secret_that_cannot_be_read_is_named_and_nothing_is_sent() {
    let (server, log) = serve(vec![employee(1, "ACTIVE")]).await;
    let mut missing = mock::secret("");
    missing.reference = "${file:/nonexistent/kombo-key}".into();
    let err = mock::read(mock::source(&yaml(&server, &missing, "")).as_ref(), None, None).await.unwrap_err();
    assert!(matches!(err, SourceError::Secret { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "cannot read the API key and integration id of Kombo referenced in sources/s.yaml"
    );
    assert!(log.requests().is_empty());
}

#[tokio::test]
async fn deletion_markers_name_people_by_the_mapped_id_or_no_one() {
    let mut people: Vec<Value> = (1..=3).map(|n| employee(n, "ACTIVE")).collect();
    people[2]["changed_at"] = json!("2026-11-25T10:00:00.000Z");
    people[2]["remote_deleted_at"] = json!("2026-11-25T10:00:00.000Z");
    let (server, _log) = serve(people.clone()).await;
    let key = mock::secret(KEY);
    let by_number = mock::source(&yaml(&server, &key, "delta: true\nfields:\n  id: employee_number\n"));
    let batch = mock::read(by_number.as_ref(), Some("2026-11-24T09:00:00Z"), None).await.unwrap();
    assert_eq!(batch.removed, ["E0003"], "the marker names the person as the source maps ids");
    // Anonymised on deletion: the record no longer carries the key ids are mapped from.
    people[2].as_object_mut().unwrap().remove("employee_number");
    let (server, _log) = serve(people).await;
    let by_number = mock::source(&yaml(&server, &key, "delta: true\nfields:\n  id: employee_number\n"));
    let batch = mock::read(by_number.as_ref(), Some("2026-11-24T09:00:00Z"), None).await.unwrap();
    assert_eq!(batch.removed, Vec::<String>::new(), "a marker that cannot name the person removes no one");
}

#[tokio::test]
async fn two_records_with_one_id_hold_the_person_rather_than_pick_one() {
    let mut people: Vec<Value> = (1..=3).map(|n| employee(n, "ACTIVE")).collect();
    let mut old_contract = employee(2, "INACTIVE");
    old_contract["termination_date"] = json!("2021-12-31T00:00:00.000Z");
    people.push(old_contract);
    let (server, _log) = serve(people).await;
    let key = mock::secret(KEY);
    let batch = mock::read(mock::source(&yaml(&server, &key, "")).as_ref(), None, None).await.unwrap();
    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["kmb0001", "kmb0003"]);
    let people: Vec<_> =
        batch.skipped.iter().filter(|s| s.kind == crate::model::RecordKind::Employee).collect();
    assert_eq!(people.len(), 2, "{:?}", batch.skipped);
    assert!(people.iter().all(|s| s.reason.starts_with("another record carries the same id")));
    assert!(people.iter().all(|s| s.partial.as_ref().is_some_and(|p| p.id == "kmb0002")), "held");
}
