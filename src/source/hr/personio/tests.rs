//! The Personio connector against a fake of the v2 API. Fixtures follow
//! developer.personio.de/reference/post_v2-auth-token (the token, and the 400
//! `application/problem+json` with `error: invalid_client`), …/get_v2-persons
//! (`_data`, `_meta.links.next.href`, `limit` 1–50, `updated_at.gt`),
//! …/get_v2-persons-person-id-employments (status, position, supervisor, office,
//! org_units, legal_entity, dates, termination), …/listorgunits (`type` required) and
//! …/listlegalentities, in the shapes the shared reference `hr-apis.md` §2.2 gives.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::model::EmploymentStatus;
use crate::source::hr::mock::{self, Fake, Log, answer, param};
use crate::source::{Completeness, SourceError};

const SECRET: &str = "personio-secret-Qm42";
const TOKEN: &str = "papi-token-7Hk";

/// A person as `GET /v2/persons` gives it.
fn person(n: u32) -> Value {
    json!({
        "id": format!("{}", 5000 + n),
        "first_name": format!("First{n}"),
        "last_name": format!("Last{n}"),
        "preferred_name": if n == 2 { json!("Twoey") } else { Value::Null },
        "email": format!("p{n}@acme.example"),
        "gender": "FEMALE",
        "created_at": "2020-01-01T00:00:00Z",
        "updated_at": "2026-11-01T08:00:00Z",
        "custom_attributes": [
            {"id": "dynamic_1", "global_id": "1", "label": "Cost centre", "type": "STRING", "value": format!("CC-{}", n % 3)},
            {"id": "dynamic_2", "global_id": "2", "label": "Dept. code (old)", "type": "string", "value": 40 + n},
            {"id": "dynamic_3", "global_id": "3", "label": "Languages", "type": "STRING_LIST", "value": ["de", "en"]}
        ],
        "employments": [{"id": format!("emp-{n}")}],
        "_meta": {"links": {"employments": {"href": format!("https://api.personio.de/v2/persons/{}/employments", 5000 + n)}}}
    })
}

/// The person's employments, most recent first.
fn employments(n: u32, status: &str) -> Vec<Value> {
    let current = json!({
        "id": format!("emp-{n}"),
        "person": {"id": format!("{}", 5000 + n)},
        "status": status,
        "type": "INTERNAL",
        "position": {"title": "Engineer"},
        "supervisor": if n > 1 { json!({"id": "5001"}) } else { Value::Null },
        "office": {"id": "77"},
        "org_units": [{"type": "department", "id": "10"}, {"type": "team", "id": "11"}],
        "legal_entity": {"id": "900"},
        "cost_centers": [],
        "employment_start_date": "2021-04-01",
        "employment_end_date": null,
        "termination": if status == "INACTIVE" { json!({"termination_date": "2026-10-31", "last_working_day": "2026-10-31", "type": "RESIGNATION"}) } else { json!({}) },
        "weekly_working_hours": 40,
        "created_at": "2021-03-01T00:00:00Z",
        "updated_at": "2026-11-01T08:00:00Z"
    });
    let mut out = vec![current];
    if n == 1 {
        out.push(
            json!({"id": "emp-1-old", "person": {"id": "5001"}, "status": "INACTIVE", "type": "EXTERNAL",
            "employment_start_date": "2019-01-01", "employment_end_date": "2020-12-31"}),
        );
    }
    out
}

/// The fake's data.
#[derive(Clone, Default)]
struct Data {
    people: Vec<Value>,
    employments: BTreeMap<String, Vec<Value>>,
    /// Whether the org units list answers 404 (a beta endpoint).
    no_org_units: bool,
}

fn data(statuses: &[&str]) -> Data {
    let mut d = Data::default();
    for (i, s) in statuses.iter().enumerate() {
        let n = i as u32 + 1;
        d.people.push(person(n));
        d.employments.insert(format!("{}", 5000 + n), employments(n, s));
    }
    d
}

fn form(r: &Request) -> BTreeMap<String, String> {
    let body = String::from_utf8_lossy(&r.body);
    reqwest::Url::parse(&format!("http://x/?{body}"))
        .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default()
}

fn problem(status: u16, title: &str) -> ResponseTemplate {
    answer(
        status,
        json!({"personio_trace_id": "t-1", "timestamp": "2026-11-22T09:00:00Z", "errors": [{"title": title, "detail": title, "type": "about:blank", "_meta": {}}]}),
    )
}

/// The fake API: the token endpoint, persons paged by an opaque cursor whose next
/// link carries the cursor only, employments, org units and legal entities.
fn personio(
    base: Arc<Mutex<String>>,
    data: Arc<Mutex<Data>>,
    log: Log,
) -> Fake<impl Fn(&Request) -> ResponseTemplate> {
    Fake(log, move |r: &Request| {
        let base = base.lock().unwrap().clone();
        let d = data.lock().unwrap().clone();
        let path = r.url.path();
        if path == "/v2/auth/token" {
            let f = form(r);
            if f.get("grant_type").map(String::as_str) != Some("client_credentials")
                || f.get("client_id").map(String::as_str) != Some("acme-client")
                || f.get("client_secret").map(String::as_str) != Some(SECRET)
            {
                return answer(
                    400,
                    json!({"error": "invalid_client", "error_description": "Client authentication failed", "timestamp": "2026-11-22T09:00:00Z", "trace_id": "t-2"}),
                );
            }
            return answer(
                200,
                json!({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 86400, "scope": "personio:persons:read"}),
            );
        }
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
            return problem(401, "Unauthorized");
        }
        if path == "/v2/persons" {
            let limit: usize = match param(r, "limit").map(|l| l.parse::<usize>()) {
                None => 10,
                Some(Ok(l)) if (1..=50).contains(&l) => l,
                Some(_) => return problem(400, "Invalid request content"),
            };
            let after = param(r, "updated_at.gt");
            if after.as_ref().is_some_and(|a| a.len() != 10) {
                // The v2 filters take dates only.
                return problem(400, "Invalid request content");
            }
            let rows: Vec<&Value> = d
                .people
                .iter()
                .filter(|p| after.as_deref().is_none_or(|a| &p["updated_at"].as_str().unwrap()[..10] > a))
                .collect();
            let start: usize =
                param(r, "cursor").and_then(|c| c.strip_prefix("cur_")?.parse().ok()).unwrap_or(0);
            let page: Vec<&Value> = rows.iter().skip(start).take(limit).copied().collect();
            let mut meta = json!({"links": {"self": {"href": format!("{base}/v2/persons")}}});
            if start + limit < rows.len() {
                meta["links"]["next"] =
                    json!({"href": format!("{base}/v2/persons?cursor=cur_{}", start + limit)});
            }
            return answer(200, json!({"_data": page, "_meta": meta}));
        }
        if let Some(id) = path.strip_prefix("/v2/persons/").and_then(|p| p.strip_suffix("/employments")) {
            return match d.employments.get(id) {
                Some(e) => answer(200, json!({"_data": e, "_meta": {"links": {}}})),
                None => problem(404, "Person not found"),
            };
        }
        if path == "/v2/org-units" {
            if d.no_org_units {
                return problem(404, "Not found");
            }
            return match param(r, "type").as_deref() {
                Some("department") => answer(
                    200,
                    json!({"_data": [{"id": "10", "name": "Engineering", "type": "department", "abbreviation": "ENG", "parent_id": null}], "_meta": {"links": {}}}),
                ),
                Some("team") => answer(
                    200,
                    json!({"_data": [{"id": "11", "name": "Platform", "type": "team", "parent_id": "10"}], "_meta": {"links": {}}}),
                ),
                _ => problem(400, "type is required"),
            };
        }
        if path == "/v2/legal-entities" {
            return answer(
                200,
                json!({"_data": [{"id": "900", "name": "Acme GmbH", "country": "DE"}], "_meta": {"links": {}}}),
            );
        }
        problem(404, "Not found")
    })
}

struct Server {
    server: MockServer,
    log: Log,
    data: Arc<Mutex<Data>>,
}

async fn serve(d: Data) -> Server {
    let server = MockServer::start().await;
    let log = Log::default();
    let data = Arc::new(Mutex::new(d));
    let base = Arc::new(Mutex::new(server.uri()));
    Mock::given(any()).respond_with(personio(base, data.clone(), log.clone())).mount(&server).await;
    Server { server, log, data }
}

fn yaml(server: &MockServer, secret: &mock::SecretFile, extra: &str) -> String {
    format!(
        "version: 1\ntype: personio\nmatch_key: [work_email]\nconnection:\n  url: {}\n  client_id: acme-client\n  client_secret: \"{}\"\n  page_size: 2\n  retries: 2\n{extra}",
        server.uri(),
        secret.reference
    )
}

fn paths(log: &Log, prefix: &str) -> usize {
    log.requests().iter().filter(|r| r.url.path().starts_with(prefix)).count()
}

#[tokio::test]
async fn every_page_is_read_and_the_current_employment_folds_into_the_person() {
    let s = serve(data(&["ACTIVE", "ONBOARDING", "LEAVE", "ACTIVE", "INACTIVE"])).await;
    let secret = mock::secret(SECRET);
    let source = mock::source(&yaml(
        &s.server,
        &secret,
        "fields:\n  custom.cost_center: hrsync.custom.cost_centre\n  custom.dept_code: hrsync.custom.dept_code_old\n  custom.languages: hrsync.custom_id.dynamic_3\n",
    ));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();

    assert_eq!(batch.completeness, Completeness::Full);
    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["5001", "5002", "5003", "5004", "5005"]);
    assert_eq!(s.log.params("/v2/persons", "cursor"), [None, Some("cur_2".into()), Some("cur_4".into())]);
    assert_eq!(s.log.params("/v2/persons", "limit"), vec![Some("2".into()); 3], "the filters are sent again");
    assert_eq!(paths(&s.log, "/v2/persons/"), 5, "one employments request per person");
    assert_eq!(paths(&s.log, "/v2/auth/token"), 1, "the token is fetched once and kept");

    let two = &batch.people[1];
    assert_eq!(two.work_email.as_deref(), Some("p2@acme.example"));
    assert_eq!(two.preferred_name.as_deref(), Some("Twoey"));
    assert_eq!(two.display_name.as_deref(), Some("Twoey Last2"));
    assert_eq!(two.job_title.as_deref(), Some("Engineer"));
    assert_eq!(two.department.as_deref(), Some("Engineering"));
    assert_eq!(two.team.as_deref(), Some("Platform"));
    assert_eq!(two.org_unit.as_deref(), Some("10"));
    assert_eq!(two.legal_entity.as_deref(), Some("Acme GmbH"));
    assert_eq!(two.work_location.as_deref(), Some("77"));
    assert_eq!(two.manager.as_deref(), Some("5001"));
    assert_eq!(two.employment_type.as_deref(), Some("employee"));
    assert_eq!(two.start_date, "2021-04-01".parse().ok());
    assert_eq!(two.employment_status, Some(EmploymentStatus::Pending));
    assert_eq!(batch.people[2].employment_status, Some(EmploymentStatus::Leave));
    assert_eq!(two.custom.get("cost_center").map(String::as_str), Some("CC-2"));
    assert_eq!(two.custom.get("dept_code").map(String::as_str), Some("42"), "a label with dots and spaces");
    assert_eq!(two.custom.get("languages").map(String::as_str), Some("de, en"), "by id, a list joined");
    let one = &batch.people[0];
    assert_eq!(one.employment_status, Some(EmploymentStatus::Active), "the most recent employment counts");
    assert_eq!(one.manager, None);
    let leaver = &batch.people[4];
    assert_eq!(leaver.employment_status, Some(EmploymentStatus::Terminated), "a termination is a status");
    assert_eq!(leaver.end_date, "2026-10-31".parse().ok());

    assert_eq!(batch.employments.len(), 6, "every employment, the old one of 5001 too");
    let old = batch.employments.iter().find(|e| e.id == "emp-1-old").unwrap();
    assert_eq!((old.person.as_str(), old.end_date), ("5001", "2020-12-31".parse().ok()));
    let names: Vec<(&str, &str)> = batch.org_units.iter().map(|u| (u.id.as_str(), u.name.as_str())).collect();
    assert_eq!(names, [("10", "Engineering"), ("11", "Platform")]);
    assert_eq!(batch.org_units[1].parent.as_deref(), Some("10"));
    assert_eq!((batch.legal_entities, batch.work_locations), (Some(1), Some(1)));
    assert!(
        batch.withheld.is_empty(),
        "an end date that is null for most is no withholding: {:?}",
        batch.withheld
    );
    assert!(batch.incomplete.is_none());
}

#[tokio::test]
async fn a_delta_asks_from_the_day_before_the_watermark_and_removes_no_one() {
    let mut d = data(&["ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE"]);
    // Changed early on the watermark's day (read before, read again), and after it;
    // the fake, like Personio, compares dates only.
    d.people[0]["updated_at"] = json!("2026-11-24T23:30:00Z");
    d.people[1]["updated_at"] = json!("2026-11-25T08:00:00Z");
    d.people[2]["updated_at"] = json!("2026-11-25T10:00:00Z");
    d.employments.insert("5003".into(), employments(3, "INACTIVE"));
    let s = serve(d).await;
    let secret = mock::secret(SECRET);
    let source = mock::source(&yaml(&s.server, &secret, "delta: true\n"));
    let batch = mock::read(source.as_ref(), Some("2026-11-25T09:00:00Z"), None).await.unwrap();
    assert_eq!(batch.completeness, Completeness::Delta);
    assert_eq!(
        s.log.params("/v2/persons", "updated_at.gt"),
        [Some("2026-11-24".into())],
        "a date, a day earlier"
    );
    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["5002", "5003"], "5002 is read again: the overlap costs a re-read, never a miss");
    assert_eq!(batch.people[1].employment_status, Some(EmploymentStatus::Terminated));
    assert!(batch.removed.is_empty(), "Personio has no deletion marker: a delta removes no one");
    assert_eq!(paths(&s.log, "/v2/persons/"), 2, "employments only of the people in the delta");
}

#[tokio::test]
async fn throttling_waits_then_reads_on() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let data = Arc::new(Mutex::new(data(&["ACTIVE"])));
    let inner = personio(Arc::new(Mutex::new(server.uri())), data, Log::default());
    Mock::given(any())
        .respond_with(Fake(Log::default(), move |r: &Request| {
            if r.url.path() == "/v2/persons" && counted.fetch_add(1, Ordering::SeqCst) == 0 {
                return ResponseTemplate::new(429).insert_header("Retry-After", "0");
            }
            wiremock::Respond::respond(&inner, r)
        }))
        .mount(&server)
        .await;
    let secret = mock::secret(SECRET);
    let batch = mock::read(mock::source(&yaml(&server, &secret, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_refused_client_is_asked_once_and_named_without_the_secret() {
    let s = serve(data(&["ACTIVE"])).await;
    let secret = mock::secret("wrong-secret-Zz9");
    let err = mock::read(mock::source(&yaml(&s.server, &secret, "")).as_ref(), None, None).await.unwrap_err();
    let text = crate::model::error_chain(&err);
    assert!(matches!(err, SourceError::Credentials { .. }), "{text}");
    assert!(
        text.starts_with("credentials rejected by Personio: check the client id and client secret referenced in sources/s.yaml"),
        "{text}"
    );
    assert!(text.contains("400") && text.contains("Client authentication failed"), "{text}");
    assert!(!text.contains("wrong-secret-Zz9"), "{text}");
    assert_eq!(s.log.requests().len(), 1, "the token endpoint is asked once, nothing else");
}

#[tokio::test]
async fn a_malformed_record_is_skipped_with_its_reason_and_the_others_read() {
    let mut d = data(&["ACTIVE", "ACTIVE", "UNSPECIFIED"]);
    d.employments.get_mut("5002").unwrap()[0]["employment_start_date"] = json!("yesterday");
    d.people.push(json!("not a person"));
    let s = serve(d).await;
    let secret = mock::secret(SECRET);
    let batch = mock::read(mock::source(&yaml(&s.server, &secret, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    let reasons: Vec<String> = batch.skipped.iter().map(|s| s.to_string()).collect();
    assert!(
        reasons.iter().any(|r| r.ends_with(
            "/v2/persons:2: person skipped: start_date is not a valid date in the form `%Y-%m-%d`"
        )),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains(":3: person skipped: employment_status is not one of")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains(":4: person skipped: the record is not an object")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_next_link_to_the_page_just_read_fails_the_read_rather_than_loop() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let d = Arc::new(Mutex::new(data(&["ACTIVE"])));
    let inner = personio(Arc::new(Mutex::new(uri.clone())), d, Log::default());
    Mock::given(any())
        .respond_with(Fake(Log::default(), move |r: &Request| {
            if r.url.path() == "/v2/persons" {
                return answer(200, json!({"_data": [person(1)], "_meta": {"links": {"next": {"href": format!("{uri}/v2/persons?cursor=same")}}}}));
            }
            wiremock::Respond::respond(&inner, r)
        }))
        .mount(&server)
        .await;
    let secret = mock::secret(SECRET);
    let err = mock::read(mock::source(&yaml(&server, &secret, "")).as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("same next page twice"), "{err}");
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let server = MockServer::start().await;
    let d = Arc::new(Mutex::new(data(&["ACTIVE"])));
    let inner = personio(Arc::new(Mutex::new(server.uri())), d, Log::default());
    Mock::given(any())
        .respond_with(Fake(Log::default(), move |r: &Request| {
            if r.url.path() == "/v2/persons" {
                return answer(200, json!({"_data": [person(1)], "_meta": {"links": {"next": {"href": "https://elsewhere.example/v2/persons?cursor=x"}}}}));
            }
            wiremock::Respond::respond(&inner, r)
        }))
        .mount(&server)
        .await;
    let secret = mock::secret(SECRET);
    let err = mock::read(mock::source(&yaml(&server, &secret, "")).as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("another host"), "{err}");
}

#[tokio::test]
async fn a_credential_without_readable_attributes_withholds_them_and_nobody_is_judged() {
    let mut d = data(&["ACTIVE", "ACTIVE", "INACTIVE"]);
    // What Personio answers when no attribute is whitelisted for the credential.
    for p in &mut d.people {
        let id = p["id"].clone();
        *p = json!({"id": id, "employments": [{"id": "e"}], "_meta": {"links": {}}});
    }
    let s = serve(d).await;
    let secret = mock::secret(SECRET);
    let source = mock::source(&yaml(&s.server, &secret, ""));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();
    let fields: Vec<&str> = batch.withheld.iter().map(|w| w.field.as_str()).collect();
    for f in ["first_name", "last_name", "work_email", "display_name"] {
        assert!(fields.contains(&f), "{fields:?}");
    }
    assert!(!fields.contains(&"employment_status"), "employments are readable: {fields:?}");
    let why = batch.incomplete.expect("no work email, the match key, for anyone: the read is not trusted");
    assert!(why.contains("`work_email`") && why.contains("readable attributes"), "{why}");
    let probe = mock::probe(source.as_ref()).await.unwrap();
    assert!(probe.missing.iter().any(|m| m.starts_with("`first_name`")), "{:?}", probe.missing);
}

#[tokio::test]
async fn org_unit_names_that_cannot_be_listed_are_withheld_not_replaced_by_ids() {
    let mut d = data(&["ACTIVE", "ACTIVE"]);
    d.no_org_units = true;
    let s = serve(d).await;
    let secret = mock::secret(SECRET);
    let batch = mock::read(mock::source(&yaml(&s.server, &secret, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 2);
    assert_eq!(batch.people[0].department, None);
    assert_eq!(batch.people[0].org_unit.as_deref(), Some("10"), "the id still arrives");
    let fields: Vec<&str> = batch.withheld.iter().map(|w| w.field.as_str()).collect();
    assert!(fields.contains(&"department") && fields.contains(&"team"), "{fields:?}");
    assert!(batch.incomplete.is_none());
    assert!(s.data.lock().unwrap().no_org_units);
}

#[tokio::test]
async fn validate_reads_one_page_of_persons() {
    let s = serve(data(&["ACTIVE", "ACTIVE", "ACTIVE"])).await;
    let secret = mock::secret(SECRET);
    let probe = mock::probe(mock::source(&yaml(&s.server, &secret, "")).as_ref()).await.unwrap();
    assert_eq!(probe.people, 2);
    assert_eq!(s.log.params("/v2/persons", "cursor"), [None]);
    assert!(
        probe.missing.is_empty() || probe.missing.iter().all(|m| m.starts_with("`end_date`")),
        "{:?}",
        probe.missing
    );
}

#[test]
fn the_source_file_is_checked_against_what_personio_takes() {
    let base = "version: 1\ntype: personio\nconnection:\n  client_id: x\n";
    let p = mock::problems(base);
    assert!(p.contains("the Personio connector needs `connection.client_secret`"), "{p}");
    let ok = format!("{base}  client_secret: \"${{env:S}}\"\n");
    assert_eq!(mock::problems(&ok), "");
    let p = mock::problems(&format!("{ok}  api_key: \"${{env:K}}\"\n"));
    assert!(p.contains("`api_key` means nothing to the Personio connector"), "{p}");
    let p = mock::problems(&format!("{ok}  page_size: 100\n"));
    assert!(p.contains("Personio gives at most 50 records per page"), "{p}");
    let p = mock::problems(&format!("{ok}changed_since: updated_at\n"));
    assert!(p.contains("`changed_since` means nothing to the Personio connector"), "{p}");
}

#[test]
fn labels_become_keys_without_dots() {
    assert_eq!(super::slug("Cost centre"), "cost_centre");
    assert_eq!(super::slug("Dept. code (old)"), "dept_code_old");
    assert_eq!(super::slug("  Größe.Kleid "), "größe_kleid");
    assert_eq!(super::slug("..."), "");
    assert_eq!(super::segment("50/../x y"), "50%2F%2E%2E%2Fx%20y");
    assert_eq!(super::since_date("2026-03-01T00:30:00Z".parse().unwrap()), "2026-02-28");
}

#[tokio::test]
async fn the_first_refused_employments_read_stops_the_others() {
    let statuses = vec!["ACTIVE"; 20];
    let mut d = data(&statuses);
    d.employments.clear(); // every employments read answers 404
    let s = serve(d).await;
    let secret = mock::secret(SECRET);
    let source = mock::source(&yaml(&s.server, &secret, ""));
    let err = mock::read(source.as_ref(), None, None).await.unwrap_err();
    assert!(crate::model::error_chain(&err).contains("404"), "{err}");
    let asked = s.log.requests().iter().filter(|r| r.url.path().ends_with("/employments")).count();
    assert!(asked <= 8, "at most the reads already in flight, not one per person: {asked}");
}
