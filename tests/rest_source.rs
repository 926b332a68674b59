//! The `rest` source end to end: `examples/sources/rest.yaml`, used verbatim but for its
//! URL, reads the German people from an HTTP fake of an HR API (numbered pages, a bearer
//! token, a total) in place of the CSV export, and the example plans and applies as
//! before; a person gone from the API is a leaver, and an API that fails disables no one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value as Json, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

use crate::util::{Example, json as parse, root};

const TOKEN: &str = "hr-api-token-5Kq";
const NOW: &str = "2026-11-22T09:00:00Z";

/// The people of `examples/sync-repo/data/germany.csv`, as the API gives them.
fn german_people() -> Vec<Json> {
    let csv = std::fs::read_to_string(root().join("examples/sync-repo/data/germany.csv")).unwrap();
    let iso = |d: &str| {
        let parts: Vec<&str> = d.split('.').collect();
        if parts.len() == 3 { format!("{}-{}-{}", parts[2], parts[1], parts[0]) } else { d.to_owned() }
    };
    csv.lines()
        .skip(1)
        .map(|line| {
            let c: Vec<&str> = line.split(';').collect();
            json!({
                "personnel_number": c[0], "first_name": c[1], "last_name": c[2],
                "contact": {"email": c[3], "phone": if c[13].is_empty() { Json::Null } else { json!(c[13]) }},
                "department": c[4], "position": c[5], "manager": c[6], "status": c[7],
                "employment_type": c[8], "hire_date": iso(c[9]),
                "termination_date": if c[10].is_empty() { Json::Null } else { json!(iso(c[10])) },
                "office": c[11], "company": c[12], "updated_at": "2026-01-01T00:00:00Z",
            })
        })
        .collect()
}

/// The org units of `examples/sync-repo/data/germany-org-units.csv`, as the API gives them.
fn departments() -> Vec<Json> {
    let csv = std::fs::read_to_string(root().join("examples/sync-repo/data/germany-org-units.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|line| {
            let c: Vec<&str> = line.split(';').collect();
            json!({"code": c[0], "name": c[1], "parent_code": c.get(2).filter(|p| !p.is_empty())})
        })
        .collect()
}

/// The API: `?status=all&page=N&per_page=M[&updated_since=T]` with a bearer token.
/// People carry `updated_at`; `updated_since` gives those updated after it.
struct Api {
    people: Arc<Mutex<Vec<Json>>>,
    failing: Arc<AtomicBool>,
    asked_since: Arc<Mutex<Vec<Option<String>>>>,
}

impl Respond for Api {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let authorized = request.headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer {TOKEN}"));
        if !authorized {
            return ResponseTemplate::new(401).set_body_json(json!({"error": "invalid token"}));
        }
        if self.failing.load(Ordering::SeqCst) {
            return ResponseTemplate::new(500).set_body_json(json!({"error": "database unavailable"}));
        }
        if request.url.path() == "/api/v1/departments" {
            return ResponseTemplate::new(200).set_body_json(json!({"data": departments()}));
        }
        let param =
            |name: &str| request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        if request.url.path() != "/api/v1/employees" || param("status").as_deref() != Some("all") {
            return ResponseTemplate::new(404);
        }
        let page: usize = param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let size: usize = param("per_page").and_then(|p| p.parse().ok()).unwrap_or(20).min(50);
        let since = param("updated_since");
        if page == 1 {
            self.asked_since.lock().unwrap().push(since.clone());
        }
        let people: Vec<Json> = self
            .people
            .lock()
            .unwrap()
            .iter()
            .filter(|p| since.as_deref().is_none_or(|s| p["updated_at"].as_str().unwrap_or("") > s))
            .cloned()
            .collect();
        let data: Vec<Json> = people.iter().skip((page - 1) * size).take(size).cloned().collect();
        ResponseTemplate::new(200).set_body_json(json!({"data": data, "meta": {"total": people.len()}}))
    }
}

/// The fake API, serving until dropped (with the runtime that started it).
struct Fake {
    server: MockServer,
    _runtime: tokio::runtime::Runtime,
    people: Arc<Mutex<Vec<Json>>>,
    failing: Arc<AtomicBool>,
    asked_since: Arc<Mutex<Vec<Option<String>>>>,
}

impl Fake {
    fn start() -> Fake {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let server = runtime.block_on(MockServer::start());
        let people = Arc::new(Mutex::new(german_people()));
        let failing = Arc::new(AtomicBool::new(false));
        let asked_since = Arc::new(Mutex::new(Vec::new()));
        let api = Api { people: people.clone(), failing: failing.clone(), asked_since: asked_since.clone() };
        runtime.block_on(Mock::given(any()).respond_with(api).mount(&server));
        Fake { server, _runtime: runtime, people, failing, asked_since }
    }

    /// The example with `examples/sources/rest.yaml` as its German source, pointed here,
    /// with `extra` lines added.
    fn example(&self, extra: &str) -> Example {
        let ex = Example::new();
        let example = std::fs::read_to_string(root().join("examples/sources/rest.yaml")).unwrap();
        let from = "https://hr.acme.example/api/v1/";
        for endpoint in ["employees", "departments"] {
            assert!(
                example.contains(&format!("{from}{endpoint}")),
                "examples/sources/rest.yaml no longer reads `{endpoint}`"
            );
        }
        let source = example.replace(from, &format!("{}/api/v1/", self.server.uri()));
        std::fs::write(ex.path("sources/germany.yaml"), format!("{source}{extra}")).unwrap();
        ex
    }
}

#[test]
fn the_example_rest_source_reads_the_api_and_the_example_plans_as_before() {
    let fake = Fake::start();
    let (server, people, failing) = (&fake.server, &fake.people, &fake.failing);
    let ex = fake.example("");
    let hrsync = |args: &[&str]| ex.run_with(("HR_API_TOKEN", TOKEN), NOW, args);

    let out = hrsync(&["validate"]);
    assert_eq!(out.code, 0, "{out:?}");
    // The API caps pages at 50 although 100 are asked: 102 people come in 3 pages.
    let out = hrsync(&["run"]);
    let job = parse(&out.stdout);
    assert_eq!(job["directories"]["corp"]["created"], 143, "{out:?}");
    let germany = &job["sources"]["germany"];
    assert_eq!(germany["employees"]["created"], 102, "{germany}");
    // The record with 31 February, numbered across pages: the 103rd.
    let skipped = &germany["skipped_records"][0]["location"];
    assert_eq!(skipped["file"], format!("{}/api/v1/employees", server.uri()), "skipped rows name the API");
    assert_eq!(skipped["line"], 103);
    assert_eq!(hrsync(&["plan", "--detailed-exitcode"]).code, 0, "nothing left to do");
    // Org units come from their own endpoint: the CTO's entry carries the name of DE-ENG.
    let eng = departments().into_iter().find(|d| d["code"] == "DE-ENG").unwrap();
    let cto = ex.entries().into_iter().find(|e| e["attributes"]["employeeNumber"] == "10002").unwrap();
    assert_eq!(cto["attributes"]["ou"], eng["name"], "{cto}");

    // Someone is gone from the API: a leaver, disabled (once the record with 31 February
    // is gone too: while a read skips a person, nobody leaves by being absent).
    people.lock().unwrap().retain(|p| p["personnel_number"] != "10060" && p["personnel_number"] != "10103");
    let out = hrsync(&["apply"]);
    assert!(out.stdout.contains("0 created, 0 updated, 1 disabled"), "{out:?}");

    // The API fails: the source is unhealthy, and nobody is treated as a leaver.
    failing.store(true, Ordering::SeqCst);
    people.lock().unwrap().clear();
    let out = hrsync(&["plan", "--format", "json"]);
    let plans = parse(&out.stdout);
    assert_eq!(plans[0]["status"], "failed", "{out:?}");
    assert_eq!(plans[0]["summary"]["disable"], 0, "{out:?}");
    assert!(out.stderr.contains("answered 500 Internal Server Error: database unavailable"), "{out:?}");
    assert!(!out.stderr.contains(TOKEN) && !out.stdout.contains(TOKEN));
}

#[test]
fn a_delta_read_asks_for_changes_since_the_last_sync_and_is_merged_onto_the_last_good_read() {
    let fake = Fake::start();
    let ex = fake.example("delta: true\nsince_param: updated_since\n");
    let at = |now: &str, args: &[&str]| ex.run_with(("HR_API_TOKEN", TOKEN), now, args);

    // The first read is full: there is nothing to merge a delta onto.
    let out = at(NOW, &["run"]);
    assert_eq!(parse(&out.stdout)["directories"]["corp"]["created"], 143, "{out:?}");

    // 10050 moves to Finance; the API now gives only that change.
    for p in fake.people.lock().unwrap().iter_mut() {
        if p["personnel_number"] == "10050" {
            p["department"] = json!("DE-FIN");
            p["updated_at"] = json!("2026-11-22T12:00:00Z");
        }
    }
    let out = at("2026-11-22T15:00:00Z", &["run"]);
    let job = parse(&out.stdout);
    let corp = &job["directories"]["corp"];
    assert_eq!((corp["updated"].as_u64(), corp["disabled"].as_u64()), (Some(1), Some(0)), "{out:?}");
    assert_eq!(job["sources"]["germany"]["employees"]["updated"], 1, "{out:?}");
    assert_eq!(
        *fake.asked_since.lock().unwrap(),
        [None, Some(NOW.to_owned())],
        "the second read asked for changes since the first one started"
    );
    assert_eq!(at("2026-11-22T16:00:00Z", &["plan", "--detailed-exitcode"]).code, 0);
}
