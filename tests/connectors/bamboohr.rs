//! BambooHR end to end. The fake follows BambooHR's OpenAPI spec (BambooHR/bhr-api-python
//! `specs/public.yaml`: "Request Custom Report" `POST /api/v1/reports/custom` with
//! `filters.employeeIds`, "Get Changed Employee IDs" `GET /api/v1/employees/changed`)
//! and documentation.bamboohr.com "Field Names": Basic auth with the key as user,
//! `onlyCurrent`, `Active`/`Inactive`, `0000-00-00` dates, `Deleted` markers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::{Api, Repo, attr, numbers, param};
use crate::util::json as parse;

const KEY: &str = "bamboo-key-e2e-9Tz";

fn employee(n: u32, changed: &str) -> Value {
    json!({
        "id": n.to_string(), "employeeNumber": format!("{}", 30000 + n),
        "firstName": format!("Sam{n}"), "lastName": "Bamboo", "preferredName": format!("Sammy{n}"),
        "displayName": format!("Sam{n} Bamboo"), "workEmail": format!("sam{n}@acme.example"),
        "homeEmail": format!("sam{n}@home.example"), "workPhone": "+1 801 555 0100",
        "jobTitle": "Analyst", "department": "Finance", "location": "Lindon",
        "supervisorEId": if n > 1 { json!("1") } else { Value::Null },
        "status": "Active", "employmentHistoryStatus": "Full-Time",
        "hireDate": "2021-04-01", "terminationDate": "0000-00-00", "customField4711": "4711",
        "lastChanged": changed, "deleted": false,
    })
}

struct Bamboo {
    api: Api,
    people: Arc<Mutex<Vec<Value>>>,
    failing: Arc<AtomicBool>,
}

fn start() -> Bamboo {
    let people =
        Arc::new(Mutex::new((1..=6).map(|n| employee(n, "2026-11-01T00:00:00+00:00")).collect::<Vec<_>>()));
    let failing = Arc::new(AtomicBool::new(false));
    let (p, f) = (people.clone(), failing.clone());
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:x")));
    let api = Api::start(move |r| {
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
            return ResponseTemplate::new(401).insert_header("X-BambooHR-Error-Message", "Invalid API key");
        }
        if f.load(Ordering::SeqCst) {
            return ResponseTemplate::new(503)
                .set_body_json(json!({"message": "BambooHR is down for maintenance."}));
        }
        let people = p.lock().unwrap();
        if r.url.path() == "/api/v1/employees/changed" {
            let since = param(r, "since").unwrap();
            let mut map = serde_json::Map::new();
            for e in people.iter().filter(|e| e["lastChanged"].as_str().unwrap() > since.as_str()) {
                let action = if e["deleted"] == true { "Deleted" } else { "Updated" };
                map.insert(
                    e["id"].as_str().unwrap().to_owned(),
                    json!({"id": e["id"], "action": action, "lastChanged": e["lastChanged"]}),
                );
            }
            return ResponseTemplate::new(200)
                .set_body_json(json!({"latest": "2026-11-22T10:00:00+00:00", "employees": map}));
        }
        if r.headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
            return ResponseTemplate::new(400).set_body_string("Malformed XML");
        }
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        let fields: Vec<String> =
            body["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect();
        let ids: Option<Vec<String>> = body
            .pointer("/filters/employeeIds")
            .map(|i| i.as_array().unwrap().iter().map(|i| i.to_string()).collect());
        let rows: Vec<Value> = people
            .iter()
            .filter(|e| e["deleted"] != true)
            .filter(|e| ids.as_ref().is_none_or(|ids| ids.iter().any(|i| e["id"] == json!(i))))
            .map(|e| {
                let mut row = serde_json::Map::new();
                row.insert("id".into(), e["id"].clone());
                for f in &fields {
                    if let Some(v) = e.get(f) {
                        row.insert(f.clone(), v.clone());
                    }
                }
                Value::Object(row)
            })
            .collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({"title": body["title"], "fields": [], "employees": rows}))
    });
    Bamboo { api, people, failing }
}

#[test]
fn bamboohr_people_reach_ldap_deltas_merge_and_only_deletion_markers_and_full_reads_remove() {
    let bamboo = start();
    let url = format!("{}/api/v1", bamboo.api.url());
    let repo = Repo::new(
        "bamboohr.yaml",
        &[
            ("  # url: https://acme.bamboohr.com/api/v1", &format!("  url: {url}")),
            ("retries: 5 ", "retries: 1 "),
        ],
        ("BAMBOOHR_API_KEY", KEY),
    );
    repo.first_page_ok("2026-11-22T09:00:00Z", 6);

    let out = repo.run("2026-11-22T09:00:00Z", &["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(numbers(&repo.people()), ["30001", "30002", "30003", "30004", "30005", "30006"]);
    let two = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some("30002")).unwrap();
    assert_eq!(attr(&two, "ou"), Some("Finance"), "{two:?}");
    assert_eq!(attr(&two, "l"), Some("Lindon"));
    assert!(attr(&two, "manager").is_some_and(|m| m.contains("sam1.bamboo")), "{two:?}");
    assert_eq!(bamboo.api.params("/api/v1/reports/custom", "onlyCurrent"), vec![Some("false".to_owned()); 2]);

    // Hours later: 30003 moves to Salt Lake City, 30004 is deleted in BambooHR, and
    // 30005 is not in the delta (unchanged): only the marker removes anyone.
    {
        let mut people = bamboo.people.lock().unwrap();
        people[2]["location"] = json!("Salt Lake City");
        people[2]["lastChanged"] = json!("2026-11-22T10:00:00+00:00");
        people[3]["deleted"] = json!(true);
        people[3]["lastChanged"] = json!("2026-11-22T10:00:00+00:00");
    }
    let out = repo.run("2026-11-22T11:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let job = parse(&out.stdout);
    assert_eq!(job["directories"]["corp"]["updated"], 1, "{out:?}");
    assert_eq!(job["directories"]["corp"]["disabled"], 1, "{out:?}");
    let asked = bamboo.api.params("/api/v1/employees/changed", "since");
    assert_eq!(asked.last().unwrap().as_deref(), Some("2026-11-22T09:00:00Z"), "{asked:?}");
    assert_eq!(numbers(&repo.disabled()), ["30004"]);
    let three = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some("30003")).unwrap();
    assert_eq!(attr(&three, "l"), Some("Salt Lake City"));

    // The API fails: nobody is disabled, and the secret is nowhere.
    bamboo.failing.store(true, Ordering::SeqCst);
    repo.fails_and_disables_no_one("2026-11-22T12:00:00Z", "503");
    bamboo.failing.store(false, Ordering::SeqCst);

    // A day later the full read runs (full_every: 24h): 30005 is terminated (Inactive
    // with a termination date) and 30006 is gone from the report without a marker;
    // both are leavers now, and the changed list is not asked.
    {
        let mut people = bamboo.people.lock().unwrap();
        people[4]["status"] = json!("Inactive");
        people[4]["terminationDate"] = json!("2026-11-20");
        people.retain(|e| e["id"] != "6");
    }
    let changed_before = bamboo.api.params("/api/v1/employees/changed", "since").len();
    let out = repo.run("2026-11-23T12:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(bamboo.api.params("/api/v1/employees/changed", "since").len(), changed_before);
    assert_eq!(numbers(&repo.disabled()), ["30004", "30005", "30006"]);
    repo.assert_no_secret_kept();
}
