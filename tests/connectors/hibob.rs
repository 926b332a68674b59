//! HiBob end to end. The fake follows apidocs.hibob.com "People read API contract" and
//! "Search for employees" (`POST /v1/people/search`, one answer, `showInactive`
//! defaulting to active people only, slash-notation keys beside nested categories)
//! and the lifecycle statuses of help.hibob.com.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{Map, Value, json};
use wiremock::ResponseTemplate;

use super::{Api, Repo, attr, numbers};
use crate::util::json as parse;

const USER: &str = "SERVICE-4410";
const TOKEN: &str = "hibob-token-e2e-3Kp";

fn employee(n: u32) -> Value {
    json!({
        "root.id": format!("9100{n}"), "root.firstName": format!("Kim{n}"), "root.surname": "Bob",
        "root.displayName": format!("Kim{n} Bob"), "root.email": format!("kim{n}@acme.example"),
        "home.privateEmail": format!("kim{n}@home.example"), "work.employeeIdInCompany": format!("{}", 40000 + n),
        "work.workPhone": "+44 20 7946 0000", "work.title": "Designer", "work.department": "Design", "work.site": "London",
        "work.reportsTo": if n > 1 { json!({"id": "91001", "email": "kim1@acme.example"}) } else { Value::Null },
        "work.startDate": "2022-05-02", "work.custom.field_1691400000000": "4711",
        "internal.status": "Active", "internal.lifecycleStatus": "Employed", "internal.terminationDate": null,
    })
}

struct Bob {
    api: Api,
    people: Arc<Mutex<Vec<Value>>>,
    failing: Arc<AtomicBool>,
}

fn start() -> Bob {
    let people = Arc::new(Mutex::new((1..=6).map(employee).collect::<Vec<_>>()));
    let failing = Arc::new(AtomicBool::new(false));
    let (p, f) = (people.clone(), failing.clone());
    let basic =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{TOKEN}")));
    let api = Api::start(move |r| {
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
            return ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"}));
        }
        if f.load(Ordering::SeqCst) {
            return ResponseTemplate::new(503).set_body_json(json!({"message": "Bob is under maintenance"}));
        }
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        let fields: Vec<String> =
            body["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect();
        let inactive = body["showInactive"] == true;
        let rows: Vec<Value> = p
            .lock()
            .unwrap()
            .iter()
            .enumerate()
            .filter(|(_, e)| inactive || e["internal.status"] == "Active")
            .map(|(i, e)| {
                // Every other person in slash notation, the others nested.
                let mut out = Map::new();
                for f in fields.iter().filter(|f| e.get(f.as_str()).is_some()) {
                    if i % 2 == 1 {
                        out.insert(format!("/{}", f.replace('.', "/")), json!({"value": e[f.as_str()]}));
                    } else {
                        let parts: Vec<&str> = f.split('.').filter(|p| *p != "root").collect();
                        let mut node = &mut out;
                        for part in &parts[..parts.len() - 1] {
                            node = node
                                .entry(part.to_string())
                                .or_insert_with(|| json!({}))
                                .as_object_mut()
                                .unwrap();
                        }
                        node.insert(parts[parts.len() - 1].to_owned(), e[f.as_str()].clone());
                    }
                }
                Value::Object(out)
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"employees": rows}))
    });
    Bob { api, people, failing }
}

#[test]
fn hibob_people_reach_ldap_leavers_are_read_with_show_inactive_and_a_failing_api_disables_no_one() {
    let bob = start();
    let url = format!("{}/v1", bob.api.url());
    let repo = Repo::new(
        "hibob.yaml",
        &[
            ("  # url: https://api.sandbox.hibob.com/v1", &format!("  url: {url}")),
            ("user: SERVICE-USER-ID", &format!("user: {USER}")),
            ("retries: 5 ", "retries: 1 "),
        ],
        ("HIBOB_TOKEN", TOKEN),
    );
    repo.first_page_ok("2026-11-22T09:00:00Z", 6);

    let out = repo.run("2026-11-22T09:00:00Z", &["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(numbers(&repo.people()), ["40001", "40002", "40003", "40004", "40005", "40006"]);
    for n in ["40002", "40003"] {
        // 40002 came in slash notation, 40003 nested.
        let e = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some(n)).unwrap();
        assert_eq!(attr(&e, "ou"), Some("Design"), "{e:?}");
        assert_eq!(attr(&e, "l"), Some("London"));
        assert!(attr(&e, "manager").is_some_and(|m| m.contains("kim1.bob")), "{e:?}");
    }
    let requests = bob.api.requests.lock().unwrap().clone();
    assert!(
        requests.iter().all(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["showInactive"] == true),
        "every search asks for inactive people"
    );

    // 40003 is terminated (still in HiBob, Inactive: only seen with showInactive) and
    // 40004 moves to Manchester.
    {
        let mut people = bob.people.lock().unwrap();
        people[2]["internal.status"] = json!("Inactive");
        people[2]["internal.lifecycleStatus"] = json!("Terminated");
        people[2]["internal.terminationDate"] = json!("2026-11-21");
        people[3]["work.site"] = json!("Manchester");
    }
    let out = repo.run("2026-11-22T11:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let job = parse(&out.stdout);
    assert_eq!(job["directories"]["corp"]["updated"], 1, "{out:?}");
    assert_eq!(job["directories"]["corp"]["disabled"], 1, "{out:?}");
    assert_eq!(numbers(&repo.disabled()), ["40003"]);

    // The API fails: nobody is disabled, and the secret is nowhere.
    bob.failing.store(true, Ordering::SeqCst);
    repo.fails_and_disables_no_one("2026-11-22T12:00:00Z", "Bob is under maintenance");
    bob.failing.store(false, Ordering::SeqCst);

    // 40005 is deleted in HiBob: gone from the next (full) read, a leaver.
    bob.people.lock().unwrap().retain(|e| e["root.id"] != "91005");
    let out = repo.run("2026-11-22T13:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(numbers(&repo.disabled()), ["40003", "40005"]);
    repo.assert_no_secret_kept();
}
