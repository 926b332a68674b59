//! The Workday connector against a fake RaaS report,
//! `GET /ccx/service/customreport2/<tenant>/<owner>/<report>?format=json`. Fixtures follow
//! hr-apis.md §2.8 (◐: `{"Report_Entry":[…]}`, one response, Basic auth with an
//! integration system user `ISU@tenant`, prompts as query parameters — as Workato's
//! "Workday RaaS" guide shows them), with column names from public RaaS integrations
//! (faros-ai/airbyte-connectors `sources/workday-source/README.md`;
//! silinternational/personnel-sync's RaaS fixture) and Workday's multi-instance fields
//! as lists.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::model::EmploymentStatus;
use crate::source::hr::mock::{self, Fake, Log, answer, param};
use crate::source::{Completeness, SourceError};

const USER: &str = "ISU_hrsync@acme";
const PASSWORD: &str = "workday-isu-password-Tq55";
const PATH: &str = "/ccx/service/customreport2/acme/ISU_hrsync/hrsync_workers";

/// A worker row as the report gives it.
fn worker(n: u32, status: &str) -> Value {
    json!({
        "Employee_ID": format!("2{n:04}"),
        "First_Name": format!("First{n}"),
        "Last_Name": format!("Last{n}"),
        "Full_Name": format!("First{n} Last{n}"),
        "Preferred_Name": format!("F{n}"),
        "Email": format!("p{n}@acme.example"),
        "Personal_Email": null,
        "Phone": "+1 415 555 0100",
        "Job_Title": "Engineer",
        "Department": "Engineering",
        "Department_ID": "SUP_ORG_ENG",
        "Team_Name": "Platform",
        "Company": "Acme Inc.",
        "Location": "San Francisco",
        "Manager_ID": if n > 1 { json!("20001") } else { Value::Null },
        "Worker_Status": status,
        "Employee_Type": "Regular",
        "Start_Date": "2020-01-06-08:00",
        "Termination_Date": if status == "Terminated" { json!("2026-10-30-07:00") } else { Value::Null },
        "Last_Updated": "2026-11-01T00:00:00Z",
    })
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// The fake: XML unless `format=json`; with the `Changed_Since` prompt, only rows
/// updated after it.
fn workday(rows: Vec<Value>, log: Log) -> Fake<impl Fn(&Request) -> ResponseTemplate> {
    Fake(log, move |r: &Request| {
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&basic(USER, PASSWORD)) {
            return ResponseTemplate::new(401).set_body_string("Unauthorized");
        }
        if r.url.path() != PATH {
            return answer(404, json!({"error": "Report not found"}));
        }
        if param(r, "format").as_deref() != Some("json") {
            return ResponseTemplate::new(200).set_body_raw(
                "<wd:Report_Data xmlns:wd=\"urn:com.workday.report/hrsync_workers\"/>",
                "text/xml",
            );
        }
        let after = param(r, "Changed_Since");
        let rows: Vec<&Value> = rows
            .iter()
            .filter(|w| after.as_deref().is_none_or(|a| w["Last_Updated"].as_str().unwrap_or("") > a))
            .collect();
        answer(200, json!({"Report_Entry": rows}))
    })
}

fn yaml(server: &MockServer, password: &mock::SecretFile, extra: &str) -> String {
    format!(
        "version: 1\ntype: workday\nmatch_key: [employee_number]\nreport: acme/ISU_hrsync/hrsync_workers\nconnection:\n  url: {}\n  user: {USER}\n  token: \"{}\"\n  retries: 2\n{extra}",
        server.uri(),
        password.reference
    )
}

async fn serve(rows: Vec<Value>) -> (MockServer, Log) {
    let server = MockServer::start().await;
    let log = Log::default();
    Mock::given(any()).respond_with(workday(rows, log.clone())).mount(&server).await;
    (server, log)
}

#[tokio::test]
async fn the_report_is_read_in_one_call_with_leavers_as_statuses() {
    let mut rows: Vec<Value> = (1..=4).map(|n| worker(n, "Active")).collect();
    rows.push(worker(5, "Terminated"));
    rows.push(worker(6, "On Leave"));
    rows[1]["Email"] = json!(["p2@acme.example", "p2@acme.example"]);
    rows[2]["Team_Name"] = json!(["Platform"]);
    rows[3]["Preferred_Name"] = json!([]);
    rows[3]["Department"] = json!("Sales");
    rows[3]["Department_ID"] = json!("SUP_ORG_SALES");
    let (server, log) = serve(rows).await;
    let password = mock::secret(PASSWORD);
    let source = mock::source(&yaml(&server, &password, "fields:\n  custom.location_id: Location\n"));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();

    assert_eq!(batch.completeness, Completeness::Full);
    assert_eq!(log.requests().len(), 1, "one response, no paging");
    assert_eq!(log.params(PATH, "format"), [Some("json".into())], "without it Workday answers XML");
    assert_eq!(batch.people.len(), 6, "{:?}", batch.skipped);
    let two = &batch.people[1];
    assert_eq!(two.id.as_str(), "20002");
    assert_eq!(two.employee_number.as_deref(), Some("20002"));
    assert_eq!(two.work_email.as_deref(), Some("p2@acme.example"), "one value repeated is that value");
    assert_eq!(two.display_name.as_deref(), Some("First2 Last2"));
    assert_eq!(two.department.as_deref(), Some("Engineering"));
    assert_eq!(two.org_unit.as_deref(), Some("SUP_ORG_ENG"));
    assert_eq!(two.legal_entity.as_deref(), Some("Acme Inc."));
    assert_eq!(two.work_location.as_deref(), Some("San Francisco"));
    assert_eq!(two.manager.as_deref(), Some("20001"));
    assert_eq!(two.start_date, "2020-01-06".parse().ok(), "the date of a date with an offset");
    assert_eq!(two.employment_status, Some(EmploymentStatus::Active));
    assert_eq!(two.custom.get("location_id").map(String::as_str), Some("San Francisco"));
    assert_eq!(batch.people[2].team.as_deref(), Some("Platform"), "a list of one value is that value");
    assert_eq!(batch.people[3].preferred_name, None, "an empty list is no value");
    let leaver = &batch.people[4];
    assert_eq!(leaver.employment_status, Some(EmploymentStatus::Terminated));
    assert_eq!(leaver.end_date, "2026-10-30".parse().ok());
    assert_eq!(batch.people[5].employment_status, Some(EmploymentStatus::Leave));
    let units: Vec<(&str, &str)> = batch.org_units.iter().map(|u| (u.id.as_str(), u.name.as_str())).collect();
    assert_eq!(units, [("SUP_ORG_ENG", "Engineering"), ("SUP_ORG_SALES", "Sales")]);
    assert!(batch.withheld.iter().all(|w| w.field == "personal_email"), "{:?}", batch.withheld);
    assert!(batch.incomplete.is_none());
    assert!(batch.removed.is_empty());
}

#[tokio::test]
async fn a_delta_sends_the_prompt_and_removes_no_one() {
    let mut rows: Vec<Value> = (1..=3).map(|n| worker(n, "Active")).collect();
    rows[1]["Last_Updated"] = json!("2026-11-25T10:00:00Z");
    rows[1]["Worker_Status"] = json!("Terminated");
    let (server, log) = serve(rows).await;
    let password = mock::secret(PASSWORD);
    let source = mock::source(&yaml(&server, &password, "delta: true\nchanged_since: Changed_Since\n"));
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), None).await.unwrap();
    assert_eq!(batch.completeness, Completeness::Delta);
    assert_eq!(log.params(PATH, "Changed_Since"), [Some("2026-11-24T09:00:00Z".into())]);
    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["20002"], "absent people are not leavers in a delta");
    assert_eq!(batch.people[0].employment_status, Some(EmploymentStatus::Terminated));
    assert!(batch.removed.is_empty());

    // Without `changed_since` and `delta`, every read is full and sends no prompt.
    let source = mock::source(&yaml(&server, &password, ""));
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), None).await.unwrap();
    assert_eq!(batch.completeness, Completeness::Full);
    assert_eq!(batch.people.len(), 3);
    assert_eq!(log.params(PATH, "Changed_Since").last().unwrap(), &None);
}

#[tokio::test]
async fn throttling_is_retried_then_the_report_is_read() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let inner = workday(vec![worker(1, "Active")], Log::default());
    Mock::given(any())
        .respond_with(Fake(Log::default(), move |r: &Request| {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                return ResponseTemplate::new(429).insert_header("Retry-After", "0");
            }
            wiremock::Respond::respond(&inner, r)
        }))
        .mount(&server)
        .await;
    let password = mock::secret(PASSWORD);
    let batch = mock::read(mock::source(&yaml(&server, &password, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_rejected_integration_user_is_asked_once_and_named_without_the_secret() {
    let (server, log) = serve(vec![worker(1, "Active")]).await;
    let password = mock::secret("wrong-password-Zz1");
    let err = mock::read(mock::source(&yaml(&server, &password, "")).as_ref(), None, None).await.unwrap_err();
    let text = crate::model::error_chain(&err);
    assert!(matches!(err, SourceError::Credentials { .. }), "{text}");
    assert!(
        text.starts_with("credentials rejected by Workday: check the integration system user (`user`, `token`) or API client"),
        "{text}"
    );
    assert!(!text.contains("wrong-password-Zz1"), "{text}");
    assert_eq!(log.requests().len(), 1, "a 401 is never retried");
}

#[tokio::test]
async fn a_refused_api_client_is_asked_once_at_the_token_endpoint() {
    let server = MockServer::start().await;
    let log = Log::default();
    Mock::given(any())
        .respond_with(Fake(log.clone(), |_: &Request| {
            answer(400, json!({"error": "invalid_client", "error_description": "Invalid client credentials"}))
        }))
        .mount(&server)
        .await;
    let secret = mock::secret("client-secret-Wd8");
    let yaml = format!(
        "version: 1\ntype: workday\nreport: acme/ISU_hrsync/hrsync_workers\nconnection:\n  url: {0}\n  client_id: hrsync-client\n  client_secret: \"{1}\"\n  token_url: {0}/ccx/oauth2/acme/token\n  retries: 2\n",
        server.uri(),
        secret.reference
    );
    let err = mock::read(mock::source(&yaml).as_ref(), None, None).await.unwrap_err();
    let text = crate::model::error_chain(&err);
    assert!(matches!(err, SourceError::Credentials { .. }), "{text}");
    assert!(
        text.contains("the token endpoint answered 400 Bad Request: Invalid client credentials"),
        "{text}"
    );
    assert!(!text.contains("client-secret-Wd8"), "{text}");
    assert_eq!(
        log.requests().len(),
        1,
        "{:?}",
        log.requests().iter().map(|r| r.url.path().to_owned()).collect::<Vec<_>>()
    );
    assert_eq!(log.requests()[0].url.path(), "/ccx/oauth2/acme/token");
}

#[tokio::test]
async fn a_malformed_row_is_skipped_with_its_reason_and_the_others_read() {
    let mut rows: Vec<Value> = (1..=4).map(|n| worker(n, "Active")).collect();
    rows[1]["Start_Date"] = json!("06/01/2020");
    rows[2]["Email"] = json!(["p3@acme.example", "p3.private@acme.example"]);
    rows[3]["Worker_Status"] = json!("Sabbatical");
    rows.push(json!("not a worker"));
    let (server, _log) = serve(rows).await;
    let password = mock::secret(PASSWORD);
    let batch = mock::read(mock::source(&yaml(&server, &password, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    let reasons: Vec<String> = batch.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        reasons[0].contains(&format!("{PATH}:2: person skipped: start_date is not a valid date")),
        "{reasons:?}"
    );
    assert!(reasons[1].contains(":3: person skipped: `Email` is a list or object"), "{reasons:?}");
    assert!(reasons[2].contains(":4: person skipped: employment_status is not one of"), "{reasons:?}");
    assert!(reasons[3].contains(":5: person skipped: the record is not an object"), "{reasons:?}");
}

#[tokio::test]
async fn a_cut_off_or_foreign_answer_fails_the_read() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("{\"Report_Entry\": [{\"Employee_ID\": \"2", "application/json"),
        )
        .mount(&server)
        .await;
    let password = mock::secret(PASSWORD);
    let err = mock::read(mock::source(&yaml(&server, &password, "")).as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("page 1 is not JSON"), "{err}");

    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer(200, json!({"Report_Data": []}))).mount(&server).await;
    let err = mock::read(mock::source(&yaml(&server, &password, "")).as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("has no `/Report_Entry`"), "{err}");

    // A report path Workday does not know.
    let (server, _log) = serve(vec![worker(1, "Active")]).await;
    let yaml = yaml(&server, &password, "").replace("hrsync_workers", "hrsync_typo");
    let err = mock::read(mock::source(&yaml).as_ref(), None, None).await.unwrap_err();
    assert!(crate::model::error_chain(&err).contains("404"), "{err}");
}

#[tokio::test]
async fn columns_the_report_lacks_are_withheld_and_without_a_status_nobody_is_judged() {
    let rows: Vec<Value> = (1..=3)
        .map(|n| {
            let mut w = worker(n, "Active");
            let o = w.as_object_mut().unwrap();
            o.remove("Department");
            o.remove("Worker_Status");
            w
        })
        .collect();
    let (server, _log) = serve(rows).await;
    let password = mock::secret(PASSWORD);
    let source = mock::source(&yaml(&server, &password, ""));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();
    let fields: Vec<&str> = batch.withheld.iter().map(|w| w.field.as_str()).collect();
    for f in ["department", "employment_status"] {
        assert!(fields.contains(&f), "{fields:?}");
    }
    assert!(batch.withheld[0].grant.contains("add the column to the report"), "{:?}", batch.withheld);
    let why = batch.incomplete.expect("no status for anyone: the read is not trusted");
    assert!(why.contains("`employment_status` (key `Worker_Status`)"), "{why}");

    // The overrides a report with its own column names needs.
    let source = mock::source(&yaml(
        &server,
        &password,
        "fields:\n  employment_status: Active_Status\nvalues:\n  employment_status: { \"1\": active, \"0\": terminated }\n",
    ));
    let probe = mock::probe(source.as_ref()).await.unwrap();
    assert!(
        probe.missing.iter().any(|m| m == "`employment_status` (key `Active_Status`)"),
        "{:?}",
        probe.missing
    );
}

#[tokio::test]
async fn validate_online_is_the_one_call() {
    let (server, log) = serve((1..=5).map(|n| worker(n, "Active")).collect()).await;
    let password = mock::secret(PASSWORD);
    let probe = mock::probe(mock::source(&yaml(&server, &password, "")).as_ref()).await.unwrap();
    assert_eq!(probe.people, 5);
    assert_eq!(log.requests().len(), 1);
}

#[test]
fn the_source_file_is_checked_against_what_workday_takes() {
    let head = "version: 1\ntype: workday\nreport: acme/ISU_hrsync/hrsync_workers\n";
    let isu = "  user: ISU_hrsync@acme\n  token: \"${env:P}\"\n";
    let no_url = format!("{head}connection:\n{isu}");
    assert!(
        mock::problems(&no_url).contains("the Workday connector needs `connection.url`"),
        "{}",
        mock::problems(&no_url)
    );
    let ok = format!("{head}connection:\n  url: https://wd2-impl-services1.workday.com\n{isu}");
    assert_eq!(mock::problems(&ok), "");
    let key = format!("{ok}  api_key: \"${{env:K}}\"\n");
    assert!(
        mock::problems(&key).contains("`api_key` means nothing to the Workday connector"),
        "{}",
        mock::problems(&key)
    );
    let mixed = format!("{ok}  client_id: c\n");
    assert!(mock::problems(&mixed).contains("not a mix"), "{}", mock::problems(&mixed));
    let path = ok.replace("acme/ISU_hrsync/hrsync_workers", "hrsync_workers");
    assert!(
        mock::problems(&path).contains("is not `<tenant>/<owner>/<report>`"),
        "{}",
        mock::problems(&path)
    );
    let delta = format!("{ok}delta: true\n");
    assert!(
        mock::problems(&delta).contains("`delta: true` needs `changed_since`"),
        "{}",
        mock::problems(&delta)
    );
    assert_eq!(mock::problems(&format!("{ok}delta: true\nchanged_since: Changed_Since\n")), "");
}
