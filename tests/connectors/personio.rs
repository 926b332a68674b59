//! Personio end to end. The fake follows Personio's API v2 reference
//! (developer.personio.de/reference/post_v2-auth-token, …/get_v2-persons,
//! …/get_v2-persons-person-id-employments, …/listorgunits, …/listlegalentities):
//! a client-credentials token, `_data` pages with the cursor only in
//! `_meta.links.next.href`, `updated_at.gt` taking dates only, employments per person.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

use super::{Api, Repo, attr, numbers, param};
use crate::util::json as parse;

const SECRET: &str = "personio-secret-e2e-8Qv";
const TOKEN: &str = "papi-e2e-token";

fn person(n: u32) -> Value {
    json!({
        "id": format!("{}", 30000 + n), "first_name": format!("Robin{n}"), "last_name": "Personio",
        "preferred_name": null, "email": format!("robin{n}@acme.example"),
        "created_at": "2020-01-01T00:00:00Z", "updated_at": "2026-11-01T08:00:00Z",
        "custom_attributes": [{"id": "dynamic_9", "global_id": "9", "label": "Cost centre", "type": "STRING", "value": "4711"}],
        "employments": [{"id": format!("e{n}")}],
    })
}

fn employment(n: u32) -> Value {
    json!({
        "id": format!("e{n}"), "person": {"id": format!("{}", 30000 + n)}, "status": "ACTIVE", "type": "INTERNAL",
        "position": {"title": "Analyst"},
        "supervisor": if n > 1 { json!({"id": "30001"}) } else { Value::Null },
        "office": {"id": "77"}, "org_units": [{"type": "department", "id": "10"}],
        "legal_entity": {"id": "900"}, "employment_start_date": "2021-04-01", "employment_end_date": null,
        "termination": {},
    })
}

struct Personio {
    api: Api,
    people: Arc<Mutex<Vec<Value>>>,
    employments: Arc<Mutex<BTreeMap<String, Value>>>,
    failing: Arc<AtomicBool>,
}

fn form(r: &Request) -> Vec<(String, String)> {
    let body = String::from_utf8_lossy(&r.body);
    reqwest::Url::parse(&format!("http://x/?{body}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn start() -> Personio {
    let people = Arc::new(Mutex::new((1..=6).map(person).collect::<Vec<_>>()));
    let employments = Arc::new(Mutex::new(
        (1..=6).map(|n| (format!("{}", 30000 + n), employment(n))).collect::<BTreeMap<_, _>>(),
    ));
    let failing = Arc::new(AtomicBool::new(false));
    let base = Arc::new(Mutex::new(String::new()));
    let (p, e, f, b) = (people.clone(), employments.clone(), failing.clone(), base.clone());
    let api = Api::start(move |r| {
        let problem = |status: u16, title: &str| {
            ResponseTemplate::new(status).set_body_json(
                json!({"personio_trace_id": "t", "errors": [{"title": title, "detail": title}]}),
            )
        };
        if r.url.path() == "/v2/auth/token" {
            if !form(r).contains(&("client_secret".to_owned(), SECRET.to_owned())) {
                return ResponseTemplate::new(400).set_body_json(
                    json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
                );
            }
            return ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 86400}));
        }
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
            return problem(401, "Unauthorized");
        }
        if f.load(Ordering::SeqCst) {
            return problem(503, "Service temporarily unavailable");
        }
        let path = r.url.path();
        let page = |data: Vec<Value>| {
            ResponseTemplate::new(200).set_body_json(json!({"_data": data, "_meta": {"links": {}}}))
        };
        if path == "/v2/persons" {
            let after = param(r, "updated_at.gt");
            if after.as_ref().is_some_and(|a| a.len() != 10) {
                return problem(400, "Invalid request content");
            }
            let rows: Vec<Value> = p
                .lock()
                .unwrap()
                .iter()
                .filter(|x| after.as_deref().is_none_or(|a| &x["updated_at"].as_str().unwrap()[..10] > a))
                .cloned()
                .collect();
            let limit: usize = param(r, "limit").and_then(|l| l.parse().ok()).unwrap_or(10);
            let start: usize = param(r, "cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
            let data: Vec<Value> = rows.iter().skip(start).take(limit).cloned().collect();
            let mut meta = json!({"links": {}});
            if start + limit < rows.len() {
                meta["links"]["next"] =
                    json!({"href": format!("{}/v2/persons?cursor={}", b.lock().unwrap(), start + limit)});
            }
            return ResponseTemplate::new(200).set_body_json(json!({"_data": data, "_meta": meta}));
        }
        if let Some(id) = path.strip_prefix("/v2/persons/").and_then(|x| x.strip_suffix("/employments")) {
            return match e.lock().unwrap().get(id) {
                Some(x) => page(vec![x.clone()]),
                None => problem(404, "Not found"),
            };
        }
        match (path, param(r, "type").as_deref()) {
            ("/v2/org-units", Some("department")) => {
                page(vec![json!({"id": "10", "name": "Finance", "type": "department"})])
            }
            ("/v2/org-units", Some("team")) => page(vec![]),
            ("/v2/legal-entities", _) => page(vec![json!({"id": "900", "name": "Acme GmbH"})]),
            _ => problem(404, "Not found"),
        }
    });
    *base.lock().unwrap() = api.url();
    Personio { api, people, employments, failing }
}

#[test]
fn personio_people_reach_ldap_deltas_merge_and_only_full_reads_remove() {
    let personio = start();
    let url = personio.api.url();
    let repo = Repo::new(
        "personio.yaml",
        &[
            (
                "  # url: https://api.personio.de       # the default; the token comes from <url>/v2/auth/token",
                &format!("  url: {url}"),
            ),
            ("page_size: 50 ", "page_size: 4 "),
            ("retries: 5 ", "retries: 1 "),
        ],
        ("PERSONIO_CLIENT_SECRET", SECRET),
    );
    repo.first_page_ok("2026-11-22T09:00:00Z", 4);

    let out = repo.run("2026-11-22T09:00:00Z", &["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(numbers(&repo.people()), ["30001", "30002", "30003", "30004", "30005", "30006"]);
    let two = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some("30002")).unwrap();
    assert_eq!(attr(&two, "ou"), Some("Finance"), "{two:?}");
    assert_eq!(attr(&two, "departmentNumber"), Some("10"));
    assert_eq!(attr(&two, "l"), Some("77"));
    assert_eq!(attr(&two, "title"), Some("Analyst"));

    // Hours later: 30003 moves office, 30004 was terminated yesterday, 30005 is not in
    // the delta (unchanged) and stays.
    {
        let mut people = personio.people.lock().unwrap();
        people[2]["updated_at"] = json!("2026-11-22T10:00:00Z");
        people[3]["updated_at"] = json!("2026-11-22T10:00:00Z");
        let mut employments = personio.employments.lock().unwrap();
        employments.get_mut("30003").unwrap()["office"] = json!({"id": "78"});
        let leaver = employments.get_mut("30004").unwrap();
        leaver["status"] = json!("INACTIVE");
        leaver["termination"] = json!({"termination_date": "2026-11-21", "last_working_day": "2026-11-21"});
    }
    let out = repo.run("2026-11-22T11:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let job = parse(&out.stdout);
    assert_eq!(job["directories"]["corp"]["disabled"], 1, "{out:?}");
    let asked = personio.api.params("/v2/persons", "updated_at.gt");
    assert_eq!(asked.last().unwrap().as_deref(), Some("2026-11-21"), "{asked:?}");
    assert_eq!(numbers(&repo.disabled()), ["30004"]);
    assert_eq!(numbers(&repo.people()).len(), 5);
    let three = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some("30003")).unwrap();
    assert_eq!(attr(&three, "l"), Some("78"));

    // The API fails: nobody is disabled, and the secret is nowhere.
    personio.failing.store(true, Ordering::SeqCst);
    repo.fails_and_disables_no_one("2026-11-22T12:00:00Z", "503");
    personio.failing.store(false, Ordering::SeqCst);

    // A day later the full read runs: 30005, gone from Personio without a marker, is a
    // leaver now, and no `updated_at.gt` is sent.
    personio.people.lock().unwrap().retain(|p| p["id"] != "30005");
    let out = repo.run("2026-11-23T12:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(personio.api.params("/v2/persons", "updated_at.gt").last().unwrap(), &None);
    assert_eq!(numbers(&repo.disabled()), ["30004", "30005"]);
    repo.assert_no_secret_kept();
}
