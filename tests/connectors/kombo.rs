//! Kombo end to end. The fake follows Kombo's API reference, "Get employees"
//! (docs.kombo.dev/hris/v1/get-employees; kombohq/typescript-sdk
//! `docs/models/gethrisemployeespositiveresponse*.md`): `data.next` cursors,
//! `include_deleted`, `updated_after`, `remote_deleted_at`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::{Api, Repo, attr, numbers, param};
use crate::util::json as parse;

const KEY: &str = "kombo-key-e2e-4Rw";

fn employee(n: u32, status: &str, changed: &str) -> Value {
    json!({
        "id": format!("k{n}"), "remote_id": n.to_string(), "employee_number": format!("{}", 20000 + n),
        "first_name": format!("Alex{n}"), "last_name": "Kombo", "display_full_name": format!("Alex{n} Kombo"),
        "job_title": "Analyst", "work_email": format!("alex{n}@acme.example"),
        "personal_email": null, "mobile_phone_number": "+49 30 1234", "employment_status": status, "employment_type": "FULL_TIME",
        "manager_id": if n > 1 { json!("k1") } else { Value::Null },
        "start_date": "2021-04-01T00:00:00.000Z", "termination_date": null,
        "changed_at": changed, "remote_deleted_at": null,
        "groups": [{"id": "g1", "name": "Finance", "type": "DEPARTMENT"}],
        "legal_entity": {"id": "le1", "name": "Acme GmbH"}, "work_location": {"id": "wl1", "name": "Berlin"},
        "custom_fields": {"cost_center": "4711"}, "employments": [],
    })
}

struct Kombo {
    api: Api,
    people: Arc<Mutex<Vec<Value>>>,
    failing: Arc<AtomicBool>,
}

fn start() -> Kombo {
    let people = Arc::new(Mutex::new(
        (1..=6).map(|n| employee(n, "ACTIVE", "2026-11-01T00:00:00.000Z")).collect::<Vec<_>>(),
    ));
    let failing = Arc::new(AtomicBool::new(false));
    let (p, f) = (people.clone(), failing.clone());
    let api = Api::start(move |r| {
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {KEY}")) {
            return ResponseTemplate::new(401).set_body_json(json!({"status": "error", "error": {"code": "PLATFORM.AUTHENTICATION_INVALID", "message": "Invalid API key."}}));
        }
        if f.load(Ordering::SeqCst) {
            return ResponseTemplate::new(503).set_body_json(json!({"status": "error", "error": {"code": "REMOTE.SERVICE_UNAVAILABLE", "message": "The HR system is unavailable."}}));
        }
        let deleted = param(r, "include_deleted").as_deref() == Some("true");
        let after = param(r, "updated_after");
        let rows: Vec<Value> = p
            .lock()
            .unwrap()
            .iter()
            .filter(|e| deleted || e["remote_deleted_at"].is_null())
            .filter(|e| after.as_deref().is_none_or(|a| e["changed_at"].as_str().unwrap() > a))
            .cloned()
            .collect();
        let size: usize = param(r, "page_size").and_then(|s| s.parse().ok()).unwrap_or(100);
        let start: usize = param(r, "cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
        let page: Vec<Value> = rows.iter().skip(start).take(size).cloned().collect();
        let next = (start + size < rows.len()).then(|| (start + size).to_string());
        ResponseTemplate::new(200)
            .set_body_json(json!({"status": "success", "data": {"next": next, "results": page}}))
    });
    Kombo { api, people, failing }
}

#[test]
fn kombo_people_reach_ldap_deltas_merge_and_only_deletion_markers_and_full_reads_remove() {
    let kombo = start();
    let url = format!("{}/v1", kombo.api.url());
    let repo = Repo::new(
        "kombo.yaml",
        &[
            ("  # url: https://api.us.kombo.dev/v1", &format!("  url: {url}")),
            ("page_size: 250", "page_size: 4"),
            ("retries: 5 ", "retries: 1 "),
        ],
        ("KOMBO_API_KEY", KEY),
    );
    repo.first_page_ok("2026-11-22T09:00:00Z", 4);

    let out = repo.run("2026-11-22T09:00:00Z", &["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(numbers(&repo.people()), ["20001", "20002", "20003", "20004", "20005", "20006"]);
    let two = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some("20002")).unwrap();
    assert_eq!(attr(&two, "ou"), Some("Finance"), "{two:?}");
    assert_eq!(attr(&two, "l"), Some("Berlin"));
    assert_eq!(kombo.api.params("/v1/hris/employees", "include_deleted"), vec![Some("true".to_owned()); 3]);

    // Hours later: 20003 moves to Berlin-Mitte, 20004 is deleted in the HR system, and
    // 20005 is simply not in the delta (unchanged): only the marker removes anyone.
    {
        let mut people = kombo.people.lock().unwrap();
        people[2]["work_location"] = json!({"id": "wl2", "name": "Berlin-Mitte"});
        people[2]["changed_at"] = json!("2026-11-22T10:00:00.000Z");
        people[3]["remote_deleted_at"] = json!("2026-11-22T10:00:00.000Z");
        people[3]["changed_at"] = json!("2026-11-22T10:00:00.000Z");
    }
    let out = repo.run("2026-11-22T11:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let job = parse(&out.stdout);
    assert_eq!(job["directories"]["corp"]["updated"], 1, "{out:?}");
    assert_eq!(job["directories"]["corp"]["disabled"], 1, "{out:?}");
    assert_eq!(job["sources"]["hr"]["legal_entities"], 1, "{out:?}");
    assert_eq!(job["sources"]["hr"]["work_locations"], 1, "{out:?}");
    let asked = kombo.api.params("/v1/hris/employees", "updated_after");
    assert_eq!(asked.last().unwrap().as_deref(), Some("2026-11-22T09:00:00Z"), "{asked:?}");
    assert_eq!(numbers(&repo.disabled()), ["20004"]);
    assert_eq!(numbers(&repo.people()).len(), 5);

    // The API fails: nobody is disabled, and the secret is nowhere.
    kombo.failing.store(true, Ordering::SeqCst);
    repo.fails_and_disables_no_one("2026-11-22T12:00:00Z", "REMOTE.SERVICE_UNAVAILABLE");
    kombo.failing.store(false, Ordering::SeqCst);

    // A day later the full read runs (full_every: 24h): 20005 gone from Kombo without a
    // marker is a leaver now, and no `updated_after` is sent.
    kombo.people.lock().unwrap().retain(|e| e["id"] != "k5");
    let out = repo.run("2026-11-23T12:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(kombo.api.params("/v1/hris/employees", "updated_after").last().unwrap(), &None);
    assert_eq!(numbers(&repo.disabled()), ["20004", "20005"]);

    // The integration loses the groups scope: the next full read has no department for
    // anyone. The directory keeps `ou` as it is, and the job result says what to grant.
    for e in kombo.people.lock().unwrap().iter_mut() {
        e.as_object_mut().unwrap().remove("groups");
    }
    let out = repo.run("2026-11-24T13:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let job = parse(&out.stdout);
    assert_eq!(job["directories"]["corp"]["updated"], 0, "{out:?}");
    let warnings = job["sources"]["hr"]["warnings"].to_string();
    assert!(
        warnings.contains("no record carried `department`") && warnings.contains("Data scopes"),
        "{out:?}"
    );
    let two = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some("20002")).unwrap();
    assert_eq!(attr(&two, "ou"), Some("Finance"), "kept: {two:?}");
    repo.assert_no_secret_kept();
}

#[test]
fn a_field_the_filters_test_that_never_arrives_stops_the_read_from_judging_anyone() {
    let kombo = start();
    for e in kombo.people.lock().unwrap().iter_mut() {
        e.as_object_mut().unwrap().remove("employment_type");
    }
    let url = format!("{}/v1", kombo.api.url());
    let repo = Repo::new(
        "kombo.yaml",
        &[("  # url: https://api.us.kombo.dev/v1", &format!("  url: {url}"))],
        ("KOMBO_API_KEY", KEY),
    );
    std::fs::create_dir_all(repo.repo().join("filters")).unwrap();
    std::fs::write(
        repo.repo().join("filters/staff.yaml"),
        "version: 1\nexclude:\n  - { field: employment_type, in: [CONTRACT] }\n",
    )
    .unwrap();
    let source = repo.repo().join("sources/hr.yaml");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, format!("{text}filters: [staff]\n")).unwrap();
    let out = repo.run("2026-11-22T09:00:00Z", &["run"]);
    assert_ne!(out.code, 0, "{out:?}");
    let job = parse(&out.stdout);
    assert_eq!(job["directories"]["corp"]["created"], 0, "{out:?}");
    assert!(out.stdout.contains("which filters test"), "{out:?}");
    assert!(repo.people().is_empty());
}
