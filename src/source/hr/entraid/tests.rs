//! The Entra ID connector against a fake of Microsoft Graph. Fixtures follow
//! microsoftgraph/microsoft-graph-docs-contrib: `api-reference/v1.0/api/user-delta.md`
//! (only `$select`ed properties come back; `manager@delta` with `$select=…,manager`),
//! `concepts/delta-query-users.md` (`@odata.nextLink` pages ending in
//! `@odata.deltaLink`, `@removed` with `changed` / `deleted`), and
//! `concepts/delta-query-overview.md` (empty pages with a next link, replays, 410 Gone
//! with `syncStateNotFound`); the token endpoint's 401 `invalid_client` /
//! `AADSTS7000215` follows hr-apis.md §2.7 [G5]; `users/{id}/manager` answers 404
//! `Request_ResourceNotFound` for a user without a manager.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::model::EmploymentStatus;
use crate::source::hr::mock::{self, Fake, Log, answer, param};
use crate::source::{Completeness, SourceError};

const SECRET: &str = "entra-secret-value-Qx9";
const TOKEN: &str = "graph-access-token-1";
const TENANT: &str = "contoso-tenant-id";

/// The object id of user `n`.
fn oid(n: u32) -> String {
    format!("{n:08x}-7d1e-4c2a-9f3b-2b6c1e5a0000")
}

/// A user as Graph stores it; `_manager` is the fake's own note of the manager.
fn user(n: u32, enabled: bool) -> Value {
    json!({
        "id": oid(n),
        "accountEnabled": enabled,
        "employeeId": format!("E{n:04}"),
        "givenName": format!("First{n}"),
        "surname": format!("Last{n}"),
        "displayName": format!("First{n} Last{n}"),
        "mail": format!("p{n}@contoso.example"),
        "userPrincipalName": format!("p{n}@contoso.onmicrosoft.com"),
        "mobilePhone": null,
        "jobTitle": "Engineer",
        "department": "Engineering",
        "companyName": "Contoso GmbH",
        "officeLocation": "Berlin",
        "employeeType": "Employee",
        "employeeHireDate": "2020-01-01T00:00:00Z",
        "employeeLeaveDateTime": if enabled { Value::Null } else { json!("2026-10-31T23:59:59Z") },
        "onPremisesExtensionAttributes": {"extensionAttribute1": format!("CC{}", n % 3), "extensionAttribute2": null},
        "_manager": if n > 1 { json!(oid(1)) } else { Value::Null },
    })
}

/// `user` as a delta page gives it: `id`, the `$select`ed properties it has, and
/// `manager@delta` when `manager` is selected and the user has one.
fn render(user: &Value, select: Option<&str>) -> Value {
    let chosen: Option<Vec<&str>> = select.map(|s| s.split(',').collect());
    let mut out = serde_json::Map::new();
    for (k, v) in user.as_object().unwrap() {
        if k.starts_with('_') {
            continue;
        }
        if k == "id" || k.starts_with('@') || chosen.as_ref().is_none_or(|c| c.contains(&k.as_str())) {
            out.insert(k.clone(), v.clone());
        }
    }
    if chosen.as_ref().is_none_or(|c| c.contains(&"manager"))
        && let Some(m) = user["_manager"].as_str()
    {
        out.insert("manager@delta".into(), json!([{"@odata.type": "#microsoft.graph.user", "id": m}]));
    }
    Value::Object(out)
}

/// What the fake serves.
#[derive(Clone, Default)]
struct Tenant {
    /// The users of a first round, in order (`@removed` entries as they are).
    users: Vec<Value>,
    /// The entries of the round after delta token `d1`, as given.
    changes: Vec<Value>,
    /// Manager of each user, for `users/{id}/manager`.
    managers: HashMap<String, Option<String>>,
}

/// The fake Graph: the token endpoint, `users/delta` (first rounds paged by two with an
/// empty page after the first, `$select` honoured and kept in the link, deltas from
/// `$deltatoken=d1`, `$deltatoken=expired` 410), and `users/{id}/manager`.
fn graph(uri: String, tenant: Arc<Mutex<Tenant>>, log: Log) -> Fake<impl Fn(&Request) -> ResponseTemplate> {
    Fake(log, move |r: &Request| {
        let path = r.url.path().to_owned();
        if path == format!("/{TENANT}/oauth2/v2.0/token") {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            if !body.contains(&format!("client_secret={SECRET}")) {
                return answer(
                    401,
                    json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '11111111-2222-3333-4444-555555555555'. Trace ID: 0000 Correlation ID: 0000 Timestamp: 2026-12-01 10:00:00Z", "error_codes": [7000215], "timestamp": "2026-12-01 10:00:00Z", "trace_id": "0000", "correlation_id": "0000", "error_uri": "https://login.microsoftonline.com/error?code=7000215"}),
                );
            }
            return answer(
                200,
                json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": TOKEN}),
            );
        }
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
            return answer(
                401,
                json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty."}}),
            );
        }
        let t = tenant.lock().unwrap().clone();
        if let Some(id) = path.strip_prefix("/v1.0/users/").and_then(|p| p.strip_suffix("/manager")) {
            return match t.managers.get(id).cloned().flatten() {
                Some(m) => answer(
                    200,
                    json!({"@odata.context": "…/$metadata#directoryObjects/$entity", "@odata.type": "#microsoft.graph.user", "id": m}),
                ),
                None => answer(
                    404,
                    json!({"error": {"code": "Request_ResourceNotFound", "message": "Resource 'manager' does not exist or one of its queried reference-property objects are not present."}}),
                ),
            };
        }
        if path != "/v1.0/users/delta" {
            return answer(
                404,
                json!({"error": {"code": "BadRequest", "message": "Resource not found for the segment."}}),
            );
        }
        let link = |q: &str| format!("{uri}/v1.0/users/delta?{q}");
        let (entries, select, start, round) = match (param(r, "$deltatoken"), param(r, "$skiptoken")) {
            (Some(d), _) if d == "expired" => {
                return ResponseTemplate::new(410).insert_header("location", link("$deltatoken=").as_str()).set_body_json(
                    json!({"error": {"code": "syncStateNotFound", "message": "The sync state is no longer valid; start a new round."}}),
                );
            }
            (Some(d), _) if d == "d1" => (t.changes.clone(), None, 0, "delta"),
            (Some(_), _) => {
                return answer(
                    400,
                    json!({"error": {"code": "badRequest", "message": "Unknown delta token."}}),
                );
            }
            (None, Some(s)) => {
                let (round, rest) = s.split_once('.').unwrap();
                let (select, start) = rest.rsplit_once('.').unwrap();
                let select = (!select.is_empty()).then(|| select.to_owned());
                let entries = if round == "delta" { t.changes.clone() } else { t.users.clone() };
                (entries, select, start.parse().unwrap(), if round == "delta" { "delta" } else { "full" })
            }
            (None, None) => (t.users.clone(), param(r, "$select"), 0, "full"),
        };
        // Graph's page size varies; here two, and in a first round the second page is
        // empty (with a next link, as the overview says pages may be).
        let mut pages: Vec<Vec<Value>> = entries.chunks(2).map(<[Value]>::to_vec).collect();
        if round == "full" && pages.len() > 1 {
            pages.insert(1, Vec::new());
        }
        let page: Vec<Value> = pages
            .get(start)
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|u| if round == "full" && u.is_object() { render(u, select.as_deref()) } else { u.clone() })
            .collect();
        let mut body =
            json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": page});
        if start + 1 < pages.len() {
            let token = format!("{round}.{}.{}", select.clone().unwrap_or_default(), start + 1);
            body["@odata.nextLink"] = json!(link(&format!("$skiptoken={token}")));
        } else {
            body["@odata.deltaLink"] =
                json!(link(if round == "full" { "$deltatoken=d1" } else { "$deltatoken=d2" }));
        }
        answer(200, body)
    })
}

fn yaml(server: &MockServer, secret: &mock::SecretFile, extra: &str) -> String {
    format!(
        "version: 1\ntype: entraid\nmatch_key: [employee_number]\nconnection:\n  url: {uri}/v1.0\n  tenant: {TENANT}\n  client_id: 11111111-2222-3333-4444-555555555555\n  client_secret: \"{}\"\n  token_url: {uri}/{TENANT}/oauth2/v2.0/token\n  retries: 2\n{extra}",
        secret.reference,
        uri = server.uri(),
    )
}

async fn serve(tenant: Tenant) -> (MockServer, Log, Arc<Mutex<Tenant>>) {
    let server = MockServer::start().await;
    let log = Log::default();
    let tenant = Arc::new(Mutex::new(tenant));
    Mock::given(any()).respond_with(graph(server.uri(), tenant.clone(), log.clone())).mount(&server).await;
    (server, log, tenant)
}

/// Requests to `users/delta`.
fn delta_requests(log: &Log) -> Vec<Request> {
    log.requests().into_iter().filter(|r| r.url.path() == "/v1.0/users/delta").collect()
}

const CUSTOM: &str = "fields:\n  custom.cost_center: onPremisesExtensionAttributes.extensionAttribute1\n";

#[tokio::test]
async fn a_first_round_follows_next_links_through_an_empty_page_to_the_delta_link() {
    let mut users: Vec<Value> = (1..=5).map(|n| user(n, true)).collect();
    users.push(user(6, false));
    // A user deleted before the round started, and a replay of user 3 with a newer title.
    users.insert(2, json!({"id": oid(7), "@removed": {"reason": "changed"}}));
    let mut newer = user(3, true);
    newer["jobTitle"] = json!("Lead");
    users.push(newer);
    let (server, log, _) = serve(Tenant { users, ..Tenant::default() }).await;
    let secret = mock::secret(SECRET);
    let source = mock::source(&yaml(&server, &secret, CUSTOM));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();

    assert_eq!(batch.completeness, Completeness::Full);
    assert_eq!(batch.cursor, Some(format!("{}/v1.0/users/delta?$deltatoken=d1", server.uri())));
    let ids: Vec<String> = batch.people.iter().map(|p| p.id.clone()).collect();
    assert_eq!(
        ids,
        [oid(1), oid(2), oid(4), oid(5), oid(6), oid(3)],
        "the removed user is left out; the replay is last"
    );
    assert!(batch.removed.is_empty(), "a first round removes no one");

    let requests = delta_requests(&log);
    assert_eq!(requests.len(), 5, "four pages of users and the empty one");
    let select = param(&requests[0], "$select").unwrap();
    for property in [
        "id",
        "accountEnabled",
        "manager",
        "employeeId",
        "employeeLeaveDateTime",
        "onPremisesExtensionAttributes",
    ] {
        assert!(select.split(',').any(|p| p == property), "{select}");
    }
    assert!(!select.contains("hrsync"), "{select}");
    for r in &requests {
        for never in ["$top", "$expand", "$orderby"] {
            assert_eq!(param(r, never), None, "{never} is not supported in a users delta");
        }
        assert!(r.headers.get("prefer").is_none(), "return=minimal would replace whole records with parts");
    }
    let token = log.requests().into_iter().find(|r| r.url.path().ends_with("/token")).unwrap();
    let form = String::from_utf8_lossy(&token.body).into_owned();
    assert!(form.contains("grant_type=client_credentials"), "{form}");
    assert!(form.contains("scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"), "{form}");
    assert_eq!(
        log.requests().iter().filter(|r| r.url.path().ends_with("/token")).count(),
        1,
        "the token is cached"
    );

    let two = &batch.people[1];
    assert_eq!(two.employee_number.as_deref(), Some("E0002"));
    assert_eq!((two.first_name.as_deref(), two.last_name.as_deref()), (Some("First2"), Some("Last2")));
    assert_eq!(two.work_email.as_deref(), Some("p2@contoso.example"));
    assert_eq!(two.department.as_deref(), Some("Engineering"));
    assert_eq!(two.org_unit.as_deref(), Some("Engineering"));
    assert_eq!(two.legal_entity.as_deref(), Some("Contoso GmbH"));
    assert_eq!(two.work_location.as_deref(), Some("Berlin"));
    assert_eq!(two.employment_type.as_deref(), Some("Employee"));
    assert_eq!(two.manager.as_deref(), Some(oid(1).as_str()));
    assert_eq!(two.start_date, "2020-01-01".parse().ok());
    assert_eq!(two.employment_status, Some(EmploymentStatus::Active));
    assert_eq!(two.custom.get("cost_center").map(String::as_str), Some("CC2"));
    assert_eq!(batch.people[0].manager, None, "user 1 has no manager");
    let leaver = &batch.people[4];
    assert_eq!(
        leaver.employment_status,
        Some(EmploymentStatus::Terminated),
        "a disabled account is a leaver"
    );
    assert_eq!(leaver.end_date, "2026-10-31".parse().ok());
    assert_eq!(batch.people[5].job_title.as_deref(), Some("Lead"), "the last occurrence wins");
    assert_eq!(batch.org_units.len(), 1);
    assert_eq!((batch.legal_entities, batch.work_locations), (Some(1), Some(1)));
    assert!(batch.withheld.is_empty(), "{:?}", batch.withheld);
    assert!(batch.incomplete.is_none());
}

#[tokio::test]
async fn a_delta_reads_the_saved_link_and_removes_only_whom_it_marks() {
    let users: Vec<Value> = (1..=6).map(|n| user(n, true)).collect();
    let mut moved = render(&user(2, true), None);
    moved["manager@delta"] = json!([{"@odata.type": "#microsoft.graph.user", "id": oid(3)}]);
    let mut retitled = moved.clone();
    retitled.as_object_mut().unwrap().remove("manager@delta");
    retitled["jobTitle"] = json!("Lead");
    let mut unmanaged = render(&user(3, true), None);
    unmanaged["manager@delta"] =
        json!([{"@odata.type": "#microsoft.graph.user", "id": oid(1), "@removed": {"reason": "deleted"}}]);
    let mut renamed = render(&user(6, true), None);
    renamed.as_object_mut().unwrap().remove("manager@delta");
    renamed["surname"] = json!("Married6");
    let mut one = render(&user(1, true), None);
    one["department"] = json!("Sales");
    let changes = vec![
        moved,
        unmanaged,
        json!({"id": oid(4), "@removed": {"reason": "changed"}}),
        json!({"id": oid(5), "@removed": {"reason": "deleted"}}),
        renamed,
        retitled,
        one,
    ];
    let mut managers: HashMap<String, Option<String>> = HashMap::new();
    managers.insert(oid(6), Some(oid(1)));
    let (server, log, _) = serve(Tenant { users, changes, managers }).await;
    let secret = mock::secret(SECRET);
    let source = mock::source(&yaml(&server, &secret, "delta: true\n"));
    let saved = format!("{}/v1.0/users/delta?$deltatoken=d1", server.uri());
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), Some(&saved)).await.unwrap();

    assert_eq!(batch.completeness, Completeness::Delta);
    assert_eq!(batch.cursor, Some(format!("{}/v1.0/users/delta?$deltatoken=d2", server.uri())));
    let first = &delta_requests(&log)[0];
    assert_eq!(param(first, "$deltatoken").as_deref(), Some("d1"), "the saved link is read as it is");
    assert_eq!(param(first, "$select"), None, "the link carries the query");
    assert_eq!(batch.removed, [oid(4), oid(5)], "soft- and hard-deleted users both leave");
    let ids: Vec<String> = batch.people.iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids, [oid(3), oid(6), oid(2), oid(1)]);
    let by = |n: u32| batch.people.iter().find(|p| p.id == oid(n)).unwrap();
    assert_eq!(
        by(2).manager.as_deref(),
        Some(oid(3).as_str()),
        "an earlier occurrence's manager carries over"
    );
    assert_eq!(by(2).job_title.as_deref(), Some("Lead"));
    assert_eq!(by(3).manager, None, "a removed manager is none");
    assert_eq!(by(6).manager, None, "not said in the delta: nothing read …");
    assert_eq!(by(6).last_name.as_deref(), Some("Married6"));
    let unsent = |n: u32| batch.unsent.get(&oid(n)).cloned().unwrap_or_default();
    let manager = crate::model::FieldRef::Person(crate::model::PersonField::Manager);
    assert!(unsent(6).contains(&manager), "… and the merge keeps the last good manager: {:?}", batch.unsent);
    assert!(unsent(1).contains(&manager));
    assert!(!unsent(2).contains(&manager), "an earlier occurrence said it");
    assert!(!unsent(3).contains(&manager), "a removed manager is said: none");
    assert!(!log.requests().iter().any(|r| r.url.path().ends_with("/manager")), "nothing is looked up");
    assert!(batch.withheld.is_empty(), "a delta cannot tell a field never arrives");
}

#[tokio::test]
async fn an_expired_or_missing_or_foreign_delta_link_reads_a_full_round() {
    let users: Vec<Value> = (1..=3).map(|n| user(n, true)).collect();
    let (server, log, _) = serve(Tenant { users, ..Tenant::default() }).await;
    let secret = mock::secret(SECRET);
    let source = mock::source(&yaml(&server, &secret, "delta: true\n"));
    let expired = format!("{}/v1.0/users/delta?$deltatoken=expired", server.uri());
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), Some(&expired)).await.unwrap();
    assert_eq!(batch.completeness, Completeness::Full, "410 Gone: a full round");
    assert_eq!(batch.people.len(), 3);
    assert_eq!(batch.cursor, Some(format!("{}/v1.0/users/delta?$deltatoken=d1", server.uri())));
    let requests = delta_requests(&log);
    assert_eq!(param(&requests[0], "$deltatoken").as_deref(), Some("expired"));
    assert_eq!(requests.len(), 4, "the 410 is not retried; then three pages (one empty)");
    assert!(param(&requests[1], "$select").is_some(), "a new round from scratch");

    let before = delta_requests(&log).len();
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), None).await.unwrap();
    assert_eq!(batch.completeness, Completeness::Full, "no saved link: a full round");
    assert!(param(&delta_requests(&log)[before], "$select").is_some());

    let foreign = "https://graph.example.net/v1.0/users/delta?$deltatoken=d1";
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), Some(foreign)).await.unwrap();
    assert_eq!(batch.completeness, Completeness::Full, "a link for another host is never followed");
}

#[tokio::test]
async fn throttling_waits_as_asked_then_reads_on() {
    let server = MockServer::start().await;
    let log = Log::default();
    let tenant = Arc::new(Mutex::new(Tenant { users: vec![user(1, true)], ..Tenant::default() }));
    let inner = graph(server.uri(), tenant, log.clone());
    let throttled = Arc::new(Mutex::new(false));
    Mock::given(any())
        .respond_with(Fake(Log::default(), move |r: &Request| {
            let mut done = throttled.lock().unwrap();
            if r.url.path() == "/v1.0/users/delta" && !*done {
                *done = true;
                return ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_json(
                    json!({"error": {"code": "TooManyRequests", "message": "Too many requests."}}),
                );
            }
            wiremock::Respond::respond(&inner, r)
        }))
        .mount(&server)
        .await;
    let secret = mock::secret(SECRET);
    let batch = mock::read(mock::source(&yaml(&server, &secret, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    assert_eq!(
        delta_requests(&log).len(),
        1,
        "the 429 was answered before the fake; one more request read the page"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_asked_once_and_named_without_the_secret() {
    let (server, log, _) = serve(Tenant { users: vec![user(1, true)], ..Tenant::default() }).await;
    let secret = mock::secret("the-secret-id-not-its-value");
    let err = mock::read(mock::source(&yaml(&server, &secret, "")).as_ref(), None, None).await.unwrap_err();
    let text = crate::model::error_chain(&err);
    assert!(matches!(err, SourceError::Credentials { .. }), "{text}");
    assert!(
        text.starts_with("credentials rejected by Microsoft Entra ID: check the app registration's client secret (its value, not its secret ID)"),
        "{text}"
    );
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(!text.contains("the-secret-id-not-its-value"), "{text}");
    assert_eq!(log.requests().len(), 1, "one token request, never retried, and no Graph request");
}

#[tokio::test]
async fn a_malformed_record_is_skipped_with_its_reason_and_the_others_read() {
    let mut users: Vec<Value> = (1..=3).map(|n| user(n, true)).collect();
    users[1]["employeeHireDate"] = json!("yesterday");
    users[2]["jobTitle"] = json!({"text": "Engineer"});
    users.push(json!("not a user"));
    let (server, _log, _) = serve(Tenant { users, ..Tenant::default() }).await;
    let secret = mock::secret(SECRET);
    let batch = mock::read(mock::source(&yaml(&server, &secret, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    let reasons: Vec<String> = batch.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons[0].ends_with(
            "/v1.0/users/delta:2: person skipped: start_date is not a valid date in the form `%Y-%m-%d`"
        ),
        "{reasons:?}"
    );
    assert!(reasons[1].contains(":3: person skipped: `jobTitle` is a list or object"), "{reasons:?}");
    assert!(reasons[2].contains(":4: person skipped: the record is not an object"), "{reasons:?}");
}

#[tokio::test]
async fn a_round_without_a_delta_link_or_with_a_link_elsewhere_or_twice_fails() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let secret = mock::secret(SECRET);
    let log = Log::default();
    let tenant = Arc::new(Mutex::new(Tenant::default()));
    let token = graph(uri.clone(), tenant, log.clone());
    let mode = Arc::new(Mutex::new("none"));
    let m = mode.clone();
    Mock::given(any())
        .respond_with(Fake(Log::default(), move |r: &Request| {
            if r.url.path().ends_with("/token") {
                return wiremock::Respond::respond(&token, r);
            }
            let page = json!({"value": [user(1, true)]});
            let mut page = page.clone();
            match *m.lock().unwrap() {
                "elsewhere" => {
                    page["@odata.nextLink"] = json!("https://attacker.example/v1.0/users/delta?$skiptoken=x")
                }
                "twice" => page["@odata.nextLink"] = json!(format!("{uri}/v1.0/users/delta?$skiptoken=same")),
                _ => {}
            }
            answer(200, page)
        }))
        .mount(&server)
        .await;
    let source = mock::source(&yaml(&server, &secret, ""));
    let err = mock::read(source.as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("neither `@odata.nextLink` nor `@odata.deltaLink`"), "{err}");
    *mode.lock().unwrap() = "elsewhere";
    let err = mock::read(source.as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("leads away from the API's host"), "{err}");
    *mode.lock().unwrap() = "twice";
    let err = mock::read(source.as_ref(), None, None).await.unwrap_err();
    assert!(err.to_string().contains("same next page twice"), "{err}");
}

#[tokio::test]
async fn fields_that_never_arrive_are_withheld_and_without_a_status_nobody_is_judged() {
    // Without User-LifeCycleInfo.Read.All, Graph gives no employeeLeaveDateTime.
    let users: Vec<Value> = (1..=3)
        .map(|n| {
            let mut u = user(n, true);
            u.as_object_mut().unwrap().remove("employeeLeaveDateTime");
            u
        })
        .collect();
    let (server, _log, tenant) = serve(Tenant { users, ..Tenant::default() }).await;
    let secret = mock::secret(SECRET);
    let source = mock::source(&yaml(&server, &secret, ""));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();
    let withheld: Vec<&str> = batch.withheld.iter().map(|w| w.field.as_str()).collect();
    assert_eq!(withheld, ["end_date"]);
    assert!(batch.withheld[0].grant.contains("User-LifeCycleInfo.Read.All"), "{:?}", batch.withheld);
    assert!(batch.incomplete.is_none());
    let probe = mock::probe(source.as_ref()).await.unwrap();
    assert_eq!(probe.people, 2, "validate --online reads the first page only");
    assert!(probe.missing.iter().any(|m| m.starts_with("`end_date`")), "{:?}", probe.missing);

    for u in &mut tenant.lock().unwrap().users {
        u.as_object_mut().unwrap().remove("accountEnabled");
    }
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();
    let why = batch.incomplete.expect("no status for anyone: the read is not trusted");
    assert!(
        why.contains("`employment_status` (key `hrsync.status`)") && why.contains("User.Read.All"),
        "{why}"
    );
}

#[test]
fn the_source_file_is_checked_against_what_entra_id_takes() {
    let base = "version: 1\ntype: entraid\nconnection:\n  client_id: x\n  client_secret: \"${env:S}\"\n";
    assert!(
        mock::problems(base).contains("the Microsoft Entra ID connector needs `connection.tenant`"),
        "{}",
        mock::problems(base)
    );
    let extra = format!("{base}  tenant: t\n  api_key: \"${{env:K}}\"\n");
    assert!(
        mock::problems(&extra).contains("`api_key` means nothing to the Microsoft Entra ID connector"),
        "{}",
        mock::problems(&extra)
    );
    let big = format!("{base}  tenant: t\n  page_size: 1000\n");
    assert!(
        mock::problems(&big).contains("Microsoft Entra ID gives at most 999 records per page"),
        "{}",
        mock::problems(&big)
    );
    assert_eq!(mock::problems(&format!("{base}  tenant: t\n")), "");
}

#[test]
fn origins_tell_hosts_apart() {
    use super::origin;
    assert_eq!(origin("https://graph.microsoft.com/v1.0/").as_deref(), Some("https://graph.microsoft.com"));
    assert_eq!(
        origin("https://GRAPH.microsoft.com/v1.0/users/delta?$deltatoken=x").as_deref(),
        Some("https://graph.microsoft.com")
    );
    assert_eq!(origin("https://user@evil.example/").as_deref(), None);
    assert_eq!(origin("graph.microsoft.com/v1.0"), None);
    assert_eq!(
        origin("https://graph.microsoft.com.evil.example/x").as_deref(),
        Some("https://graph.microsoft.com.evil.example")
    );
}
