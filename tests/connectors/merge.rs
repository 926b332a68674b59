//! Merge end to end. The fake follows Merge's HRIS API reference, "List Employees"
//! (docs.merge.dev/hris/employees; merge-api/merge-python-client
//! `src/merge/resources/hris/types/employee.py`): `next` cursors, `include_deleted_data`,
//! `expand`, `modified_after`, `remote_was_deleted`, a 401 with a `detail`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::{Api, Repo, attr, numbers, param};
use crate::util::json as parse;

const KEY: &str = "merge-key-e2e-7Hd";
const ACCOUNT: &str = "merge-account-e2e-2Kp";

fn employee(n: u32, modified: &str) -> Value {
    json!({
        "id": format!("m{n}"), "remote_id": n.to_string(), "employee_number": format!("{}", 30000 + n),
        "first_name": format!("Sam{n}"), "last_name": "Merge", "preferred_name": null, "display_full_name": format!("Sam{n} Merge"),
        "work_email": format!("sam{n}@acme.example"), "personal_email": null, "mobile_phone_number": "+49 30 4321",
        "company": {"id": "co1", "legal_name": "Acme Holding GmbH", "display_name": "Acme GmbH"},
        "groups": [{"id": "g1", "name": "Finance", "type": "DEPARTMENT", "parent_group": null}],
        "team": {"id": "t1", "name": "Controlling"},
        "work_location": {"id": "l1", "name": "Berlin", "location_type": "WORK"},
        "employments": [
            {"id": format!("e{n}a"), "job_title": "Trainee", "effective_date": "2020-04-01T00:00:00Z", "employment_type": "INTERN"},
            {"id": format!("e{n}b"), "job_title": "Analyst", "effective_date": "2021-04-01T00:00:00Z", "employment_type": "FULL_TIME"}
        ],
        "manager": if n > 1 { json!("m1") } else { Value::Null },
        "employment_status": "ACTIVE", "start_date": "2021-04-01T00:00:00Z", "termination_date": null,
        "custom_fields": {"cost_center": "4711"}, "modified_at": modified, "remote_was_deleted": false,
    })
}

struct Merge {
    api: Api,
    people: Arc<Mutex<Vec<Value>>>,
    failing: Arc<AtomicBool>,
}

fn start() -> Merge {
    let people =
        Arc::new(Mutex::new((1..=6).map(|n| employee(n, "2026-11-01T00:00:00Z")).collect::<Vec<_>>()));
    let failing = Arc::new(AtomicBool::new(false));
    let (p, f) = (people.clone(), failing.clone());
    let api = Api::start(move |r| {
        let header = |name: &str| r.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        if header("authorization") != Some(format!("Bearer {KEY}"))
            || header("x-account-token").as_deref() != Some(ACCOUNT)
        {
            return ResponseTemplate::new(401).set_body_json(json!({"detail": "Invalid API key."}));
        }
        if f.load(Ordering::SeqCst) {
            return ResponseTemplate::new(503)
                .set_body_json(json!({"detail": "The linked account's HR system is unavailable."}));
        }
        let deleted = param(r, "include_deleted_data").as_deref() == Some("true");
        let after = param(r, "modified_after");
        let rows: Vec<Value> = p
            .lock()
            .unwrap()
            .iter()
            .filter(|e| deleted || e["remote_was_deleted"] != json!(true))
            .filter(|e| after.as_deref().is_none_or(|a| e["modified_at"].as_str().unwrap() > a))
            .cloned()
            .collect();
        let size: usize = param(r, "page_size").and_then(|s| s.parse().ok()).unwrap_or(100);
        let start: usize = param(r, "cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
        let page: Vec<Value> = rows.iter().skip(start).take(size).cloned().collect();
        let next = (start + size < rows.len()).then(|| (start + size).to_string());
        ResponseTemplate::new(200).set_body_json(json!({"next": next, "previous": null, "results": page}))
    });
    Merge { api, people, failing }
}

#[test]
fn merge_people_reach_ldap_deltas_merge_and_only_deletion_flags_and_full_reads_remove() {
    let merge = start();
    let url = format!("{}/api/hris/v1", merge.api.url());
    let repo = Repo::new(
        "merge.yaml",
        &[
            ("  # url: https://api-eu.merge.dev/api/hris/v1", &format!("  url: {url}")),
            ("page_size: 100", "page_size: 4"),
            ("retries: 5 ", "retries: 1 "),
        ],
        ("MERGE_API_KEY", KEY),
    )
    .with_secret("MERGE_ACCOUNT_TOKEN", ACCOUNT);
    repo.first_page_ok("2026-11-22T09:00:00Z", 4);

    let out = repo.run("2026-11-22T09:00:00Z", &["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(numbers(&repo.people()), ["30001", "30002", "30003", "30004", "30005", "30006"]);
    let two = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some("30002")).unwrap();
    assert_eq!(attr(&two, "ou"), Some("Finance"), "{two:?}");
    assert_eq!(attr(&two, "l"), Some("Berlin"));
    assert_eq!(attr(&two, "title"), Some("Analyst"), "the latest employment");
    assert_eq!(
        attr(&two, "manager"),
        Some("uid=sam1.merge,ou=people,dc=acme,dc=example"),
        "by the manager's Merge id"
    );
    let flags = merge.api.params("/api/hris/v1/employees", "include_deleted_data");
    assert_eq!(flags, vec![Some("true".to_owned()); 3], "validate's page and both pages of the read");

    // Hours later: 30003 moves to Hamburg, 30004 is deleted in the HR system, and 30005
    // is simply not in the delta (unchanged): only the flag removes anyone.
    {
        let mut people = merge.people.lock().unwrap();
        people[2]["work_location"] = json!({"id": "l2", "name": "Hamburg"});
        people[2]["modified_at"] = json!("2026-11-22T10:00:00Z");
        people[3]["remote_was_deleted"] = json!(true);
        people[3]["modified_at"] = json!("2026-11-22T10:00:00Z");
    }
    let out = repo.run("2026-11-22T11:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let job = parse(&out.stdout);
    assert_eq!(job["directories"]["corp"]["updated"], 1, "{out:?}");
    assert_eq!(job["directories"]["corp"]["disabled"], 1, "{out:?}");
    let asked = merge.api.params("/api/hris/v1/employees", "modified_after");
    assert_eq!(asked.last().unwrap().as_deref(), Some("2026-11-22T09:00:00Z"), "{asked:?}");
    assert_eq!(numbers(&repo.disabled()), ["30004"]);
    assert_eq!(numbers(&repo.people()).len(), 5);
    let three = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some("30003")).unwrap();
    assert_eq!(attr(&three, "l"), Some("Hamburg"));

    // The API fails: nobody is disabled, and no secret is anywhere.
    merge.failing.store(true, Ordering::SeqCst);
    repo.fails_and_disables_no_one("2026-11-22T12:00:00Z", "unavailable");
    merge.failing.store(false, Ordering::SeqCst);

    // A day later the full read runs (full_every: 24h): 30005, gone from Merge without a
    // flag, is a leaver now, and no `modified_after` is sent.
    merge.people.lock().unwrap().retain(|e| e["id"] != "m5");
    let out = repo.run("2026-11-23T12:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(merge.api.params("/api/hris/v1/employees", "modified_after").last().unwrap(), &None);
    assert_eq!(numbers(&repo.disabled()), ["30004", "30005"]);
    repo.assert_no_secret_kept();
}
