//! The Merge connector against a fake of `GET /api/hris/v1/employees`. Fixtures follow
//! Merge's HRIS API reference, "List Employees" (docs.merge.dev/hris/employees) and the
//! models of merge-api/merge-python-client `src/merge/resources/hris/types/`
//! (`employee.py`, `employment.py`, `group.py`, `team.py`, `location.py`, `company.py`):
//! `{"next","previous","results"}` pages, `remote_was_deleted` shown only with
//! `include_deleted_data=true`, related objects as ids unless `expand` names them, and a
//! 401 with a `detail` (the help centre's "Merge's error codes within logs").

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::model::EmploymentStatus;
use crate::source::hr::mock::{self, Fake, Log, answer, param};
use crate::source::{Completeness, SourceError};

const KEY: &str = "merge-api-key-Pq42";
const ACCOUNT: &str = "merge-account-token-Lm93";
const PATH: &str = "/api/hris/v1/employees";

/// An employee as Merge gives it with `expand=employments,groups,team,work_location,company`.
fn employee(n: u32, status: &str) -> Value {
    json!({
        "id": format!("mrg-{n:04}"),
        "remote_id": n.to_string(),
        "created_at": "2020-01-01T00:00:00Z",
        "modified_at": "2026-11-01T00:00:00Z",
        "employee_number": format!("E{n:04}"),
        "company": {"id": "co1", "remote_id": "1", "legal_name": "Acme Holding GmbH", "display_name": "Acme GmbH", "eins": [], "remote_was_deleted": false},
        "first_name": format!("First{n}"),
        "last_name": format!("Last{n}"),
        "preferred_name": null,
        "display_full_name": format!("First{n} Last{n}"),
        "username": format!("user{n}"),
        "groups": [
            {"id": "g-eng", "remote_id": "10", "parent_group": "g-rnd", "name": "Engineering", "type": "DEPARTMENT", "remote_was_deleted": false},
            {"id": "g-cc", "remote_id": "12", "parent_group": null, "name": "CC 4711", "type": "COST_CENTER", "remote_was_deleted": false}
        ],
        "work_email": format!("p{n}@acme.example"),
        "personal_email": null,
        "mobile_phone_number": "+49 30 555",
        "employments": [
            {"id": format!("emp{n}-a"), "employee": format!("mrg-{n:04}"), "job_title": "Junior Engineer", "effective_date": "2021-01-01T00:00:00Z", "employment_type": "PART_TIME", "remote_was_deleted": false},
            {"id": format!("emp{n}-b"), "employee": format!("mrg-{n:04}"), "job_title": "Engineer", "effective_date": "2024-03-01T00:00:00Z", "employment_type": "FULL_TIME", "remote_was_deleted": false},
            {"id": format!("emp{n}-c"), "employee": format!("mrg-{n:04}"), "job_title": "Intern", "effective_date": "2019-06-01T00:00:00Z", "employment_type": "INTERN", "remote_was_deleted": false}
        ],
        "home_location": "loc-home",
        "work_location": {"id": "loc1", "remote_id": "1", "name": "Berlin", "location_type": "WORK", "remote_was_deleted": false},
        "manager": if n > 1 { json!("mrg-0001") } else { Value::Null },
        "team": {"id": "t1", "remote_id": "1", "name": "Platform", "parent_team": null, "remote_was_deleted": false},
        "pay_group": null,
        "date_of_birth": null,
        "hire_date": "2019-12-01T00:00:00Z",
        "start_date": "2020-01-01T00:00:00Z",
        "remote_created_at": "2019-12-01T00:00:00Z",
        "employment_status": status,
        "termination_date": if status == "INACTIVE" { json!("2026-10-31T00:00:00Z") } else { Value::Null },
        "avatar": null,
        "custom_fields": {"cost_center": format!("CC{}", n % 3)},
        "remote_was_deleted": false,
        "field_mappings": {"organization_defined_targets": {}, "linked_account_defined_targets": {}},
    })
}

/// `record` as Merge gives it without `expand`: related objects as their ids.
fn unexpanded(record: &Value) -> Value {
    let mut r = record.clone();
    let id = |v: &Value| v.get("id").cloned().unwrap_or(Value::Null);
    for key in ["company", "team", "work_location"] {
        r[key] = id(&record[key]);
    }
    for key in ["groups", "employments"] {
        r[key] = Value::Array(record[key].as_array().map(|l| l.iter().map(id).collect()).unwrap_or_default());
    }
    r
}

/// The fake: `people` paged by `page_size` with an opaque cursor; deleted rows only with
/// `include_deleted_data=true`; `modified_after` keeps rows Merge modified after it.
fn merge(people: Vec<Value>, log: Log) -> Fake<impl Fn(&Request) -> ResponseTemplate> {
    Fake(log, move |r: &Request| {
        let header = |name: &str| r.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        if header("authorization") != Some(format!("Bearer {KEY}"))
            || header("x-account-token").as_deref() != Some(ACCOUNT)
        {
            return answer(401, json!({"detail": "Invalid account token."}));
        }
        let deleted = param(r, "include_deleted_data").as_deref() == Some("true");
        let after = param(r, "modified_after");
        let expand = param(r, "expand").unwrap_or_default();
        let rows: Vec<Value> = people
            .iter()
            .filter(|p| deleted || p["remote_was_deleted"] != json!(true))
            .filter(|p| after.as_deref().is_none_or(|a| p["modified_at"].as_str().unwrap_or("") > a))
            .map(|p| if expand.contains("groups") { p.clone() } else { unexpanded(p) })
            .collect();
        let size: usize = param(r, "page_size").and_then(|s| s.parse().ok()).unwrap_or(100).min(100);
        let start: usize = param(r, "cursor").and_then(|c| c.strip_prefix("cD0")?.parse().ok()).unwrap_or(0);
        let page: Vec<&Value> = rows.iter().skip(start).take(size).collect();
        let next = (start + size < rows.len()).then(|| format!("cD0{}", start + size));
        let previous = (start > 0).then(|| format!("cD0{}", start.saturating_sub(size)));
        answer(200, json!({"next": next, "previous": previous, "results": page}))
    })
}

fn yaml(server: &MockServer, key: &mock::SecretFile, account: &mock::SecretFile, extra: &str) -> String {
    format!(
        "version: 1\ntype: merge\nmatch_key: [employee_number]\nconnection:\n  url: {}/api/hris/v1\n  api_key: \"{}\"\n  account_token: \"{}\"\n  page_size: 2\n  retries: 2\n{extra}",
        server.uri(),
        key.reference,
        account.reference
    )
}

async fn serve(people: Vec<Value>) -> (MockServer, Log) {
    let server = MockServer::start().await;
    let log = Log::default();
    Mock::given(any()).respond_with(merge(people, log.clone())).mount(&server).await;
    (server, log)
}

fn secrets() -> (mock::SecretFile, mock::SecretFile) {
    (mock::secret(KEY), mock::secret(ACCOUNT))
}

#[tokio::test]
async fn every_page_is_read_with_deleted_rows_asked_for_and_left_out() {
    let mut people: Vec<Value> = (1..=5).map(|n| employee(n, "ACTIVE")).collect();
    people.push(employee(6, "INACTIVE"));
    let mut deleted = employee(7, "ACTIVE");
    deleted["remote_was_deleted"] = json!(true);
    people.push(deleted);
    let (server, log) = serve(people).await;
    let (key, account) = secrets();
    let source = mock::source(&yaml(
        &server,
        &key,
        &account,
        "fields:\n  custom.cost_center: custom_fields.cost_center\n",
    ));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();

    assert_eq!(batch.completeness, Completeness::Full);
    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        ["mrg-0001", "mrg-0002", "mrg-0003", "mrg-0004", "mrg-0005", "mrg-0006"],
        "the deleted row is left out"
    );
    assert_eq!(
        log.params(PATH, "include_deleted_data"),
        vec![Some("true".into()); 4],
        "the flag on every page"
    );
    assert_eq!(
        log.params(PATH, "expand"),
        vec![Some("employments,groups,team,work_location,company".into()); 4]
    );
    assert_eq!(log.params(PATH, "page_size"), vec![Some("2".into()); 4]);
    assert_eq!(
        log.params(PATH, "cursor"),
        [None, Some("cD02".into()), Some("cD04".into()), Some("cD06".into())]
    );
    assert_eq!(log.params(PATH, "modified_after"), vec![None; 4]);
    let two = &batch.people[1];
    assert_eq!(two.employee_number.as_deref(), Some("E0002"));
    assert_eq!(two.department.as_deref(), Some("Engineering"));
    assert_eq!(two.org_unit.as_deref(), Some("g-eng"));
    assert_eq!(two.team.as_deref(), Some("Platform"));
    assert_eq!(two.legal_entity.as_deref(), Some("Acme GmbH"));
    assert_eq!(two.work_location.as_deref(), Some("Berlin"));
    assert_eq!(two.manager.as_deref(), Some("mrg-0001"));
    assert_eq!(two.job_title.as_deref(), Some("Engineer"), "the latest employment by effective_date");
    assert_eq!(two.employment_type.as_deref(), Some("FULL_TIME"));
    assert_eq!(two.phone.as_deref(), Some("+49 30 555"));
    assert_eq!(two.start_date, "2020-01-01".parse().ok());
    assert_eq!(two.employment_status, Some(EmploymentStatus::Active));
    assert_eq!(two.custom.get("cost_center").map(String::as_str), Some("CC2"));
    let leaver = &batch.people[5];
    assert_eq!(leaver.employment_status, Some(EmploymentStatus::Terminated), "a termination is a status");
    assert_eq!(leaver.end_date, "2026-10-31".parse().ok());
    assert_eq!(batch.employments.len(), 18);
    assert_eq!(batch.employments[1].person, "mrg-0001");
    assert_eq!(batch.org_units.len(), 1);
    assert_eq!(batch.org_units[0].parent.as_deref(), Some("g-rnd"));
    assert_eq!((batch.legal_entities, batch.work_locations), (Some(1), Some(1)));
    assert!(
        batch.withheld.iter().all(|w| w.field == "personal_email" || w.field == "preferred_name"),
        "{:?}",
        batch.withheld
    );
    assert!(batch.incomplete.is_none());
    assert!(batch.skipped.is_empty(), "{:?}", batch.skipped);
}

#[tokio::test]
async fn a_delta_carries_the_watermark_and_deletions_remove_only_whom_they_name() {
    let mut people: Vec<Value> = (1..=4).map(|n| employee(n, "ACTIVE")).collect();
    people[1]["modified_at"] = json!("2026-11-25T10:00:00Z");
    people[2]["modified_at"] = json!("2026-11-25T10:00:00Z");
    people[2]["remote_was_deleted"] = json!(true);
    let (server, log) = serve(people).await;
    let (key, account) = secrets();
    let source = mock::source(&yaml(&server, &key, &account, "delta: true\n"));
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), None).await.unwrap();
    assert_eq!(batch.completeness, Completeness::Delta);
    assert_eq!(log.params(PATH, "modified_after"), [Some("2026-11-24T09:00:00Z".into())]);
    assert_eq!(log.params(PATH, "include_deleted_data"), [Some("true".into())]);
    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["mrg-0002"], "absent people are not leavers in a delta");
    assert_eq!(batch.removed, ["mrg-0003"]);
    assert!(batch.withheld.is_empty(), "a delta cannot tell a field never arrives");
}

#[tokio::test]
async fn throttling_is_retried_then_the_read_goes_on() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let inner = merge(vec![employee(1, "ACTIVE")], Log::default());
    Mock::given(any())
        .respond_with(Fake(Log::default(), move |r: &Request| {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                // Merge documents the 429, not a Retry-After: the client backs off.
                return answer(429, json!({"detail": "Request was throttled."}));
            }
            wiremock::Respond::respond(&inner, r)
        }))
        .mount(&server)
        .await;
    let (key, account) = secrets();
    let batch =
        mock::read(mock::source(&yaml(&server, &key, &account, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn rejected_credentials_are_asked_once_and_named_without_the_secret() {
    let (server, log) = serve(vec![employee(1, "ACTIVE")]).await;
    let key = mock::secret(KEY);
    let account = mock::secret("wrong-account-token-Xy7");
    let err =
        mock::read(mock::source(&yaml(&server, &key, &account, "")).as_ref(), None, None).await.unwrap_err();
    let text = crate::model::error_chain(&err);
    assert!(matches!(err, SourceError::Credentials { .. }), "{text}");
    assert!(
        text.starts_with(
            "credentials rejected by Merge: check the API key and account token referenced in sources/s.yaml"
        ),
        "{text}"
    );
    assert!(text.contains("Invalid account token."), "{text}");
    assert!(!text.contains("wrong-account-token-Xy7") && !text.contains(KEY), "{text}");
    assert_eq!(log.requests().len(), 1, "a 401 is never retried: Merge blocks addresses that keep failing");
}

#[tokio::test]
async fn a_model_the_integration_lacks_is_named_as_such() {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer(404, json!({"detail": "Not found."}))).mount(&server).await;
    let (key, account) = secrets();
    let err =
        mock::read(mock::source(&yaml(&server, &key, &account, "")).as_ref(), None, None).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SourceError::Vendor { .. }), "{text}");
    assert!(text.contains("404") && text.contains("may not support the Employee model"), "{text}");
}

#[tokio::test]
async fn a_malformed_record_is_skipped_with_its_reason_and_the_others_read() {
    let mut people: Vec<Value> = (1..=3).map(|n| employee(n, "ACTIVE")).collect();
    people[1]["start_date"] = json!("yesterday");
    people[2]["employment_status"] = json!("SABBATICAL_UNMAPPED");
    people.push(json!("not an employee"));
    let (server, _log) = serve(people).await;
    let (key, account) = secrets();
    let batch =
        mock::read(mock::source(&yaml(&server, &key, &account, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    let reasons: Vec<String> = batch.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons[0].ends_with(
            "/api/hris/v1/employees:2: person skipped: start_date is not a valid date in the form `%Y-%m-%d`"
        ),
        "{reasons:?}"
    );
    assert!(reasons[1].contains(":3: person skipped: employment_status is not one of"), "{reasons:?}");
    assert!(reasons[2].contains(":4: person skipped: the record is not an object"), "{reasons:?}");
}

#[tokio::test]
async fn a_read_that_breaks_off_or_loops_fails_rather_than_look_short() {
    // Page 2 fails for good: the read fails, it does not pass for a smaller company.
    let server = MockServer::start().await;
    let inner = merge((1..=4).map(|n| employee(n, "ACTIVE")).collect(), Log::default());
    Mock::given(any())
        .respond_with(Fake(Log::default(), move |r: &Request| {
            if param(r, "cursor").is_some() {
                return answer(500, json!({"detail": "Internal server error."}));
            }
            wiremock::Respond::respond(&inner, r)
        }))
        .mount(&server)
        .await;
    let (key, account) = secrets();
    let err =
        mock::read(mock::source(&yaml(&server, &key, &account, "")).as_ref(), None, None).await.unwrap_err();
    assert!(crate::model::error_chain(&err).contains("500"), "{err}");

    // A page without `results` is not Merge's answer.
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(answer(200, json!({"next": null, "previous": null})))
        .mount(&server)
        .await;
    let err =
        mock::read(mock::source(&yaml(&server, &key, &account, "")).as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("page 1 has no `/results`"), "{err}");

    // The same cursor twice.
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(answer(
            200,
            json!({"next": "same", "previous": null, "results": [employee(1, "ACTIVE")]}),
        ))
        .mount(&server)
        .await;
    let err =
        mock::read(mock::source(&yaml(&server, &key, &account, "")).as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("same next page twice"), "{err}");
}

#[tokio::test]
async fn fields_that_never_arrive_are_withheld_and_without_a_status_nobody_is_judged() {
    let people: Vec<Value> = (1..=3)
        .map(|n| {
            let mut e = employee(n, "ACTIVE");
            let o = e.as_object_mut().unwrap();
            o.remove("groups");
            o.remove("company");
            o.remove("employment_status");
            e
        })
        .collect();
    let (server, _log) = serve(people).await;
    let (key, account) = secrets();
    let source = mock::source(&yaml(&server, &key, &account, ""));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();
    let fields: Vec<&str> = batch.withheld.iter().map(|w| w.field.as_str()).collect();
    for f in ["department", "org_unit", "legal_entity", "employment_status"] {
        assert!(fields.contains(&f), "{fields:?}");
    }
    assert!(!fields.contains(&"team") && !fields.contains(&"job_title"), "{fields:?}");
    assert!(batch.withheld[0].grant.contains("Scopes"), "{:?}", batch.withheld);
    let why = batch.incomplete.expect("no status for anyone: the read is not trusted");
    assert!(why.contains("`employment_status`"), "{why}");
    let probe = mock::probe(source.as_ref()).await.unwrap();
    assert!(probe.missing.iter().any(|m| m.starts_with("`department`")), "{:?}", probe.missing);
}

#[tokio::test]
async fn validate_online_reads_one_page_only() {
    let (server, log) = serve((1..=5).map(|n| employee(n, "ACTIVE")).collect()).await;
    let (key, account) = secrets();
    let probe = mock::probe(mock::source(&yaml(&server, &key, &account, "")).as_ref()).await.unwrap();
    assert_eq!(probe.people, 2);
    assert_eq!(log.requests().len(), 1);
}

#[tokio::test]
async fn a_query_that_would_change_the_connectors_own_parameters_is_refused() {
    let (server, log) = serve(vec![employee(1, "ACTIVE")]).await;
    let (key, account) = secrets();
    let refused =
        mock::problems(&yaml(&server, &key, &account, "query:\n  include_deleted_data: \"false\"\n"));
    assert!(refused.contains("`include_deleted_data` is set by the Merge connector itself"), "{refused}");
    let source = mock::source(&yaml(&server, &key, &account, "query:\n  company_id: co1\n"));
    mock::read(source.as_ref(), None, None).await.unwrap();
    assert_eq!(log.params(PATH, "company_id"), [Some("co1".into())]);
}

#[test]
fn the_source_file_is_checked_against_what_merge_takes() {
    let base = "version: 1\ntype: merge\nconnection:\n  api_key: \"${env:K}\"\n";
    assert!(
        mock::problems(base).contains("the Merge connector needs `connection.account_token`"),
        "{}",
        mock::problems(base)
    );
    let extra = format!("{base}  account_token: \"${{env:A}}\"\n  integration_id: x\n");
    assert!(
        mock::problems(&extra).contains("`integration_id` means nothing to the Merge connector"),
        "{}",
        mock::problems(&extra)
    );
    let big = format!("{base}  account_token: \"${{env:A}}\"\n  page_size: 250\n");
    assert!(
        mock::problems(&big).contains("Merge gives at most 100 records per page"),
        "{}",
        mock::problems(&big)
    );
    let report = format!("{base}  account_token: \"${{env:A}}\"\nreport: a/b/c\n");
    assert!(
        mock::problems(&report).contains("`report` means nothing to the Merge connector"),
        "{}",
        mock::problems(&report)
    );
    assert_eq!(mock::problems(&format!("{base}  account_token: \"${{env:A}}\"\n")), "");
}
