//! Workday end to end. The fake is a RaaS report
//! (`/ccx/service/customreport2/<tenant>/<owner>/<report>?format=json` →
//! `{"Report_Entry":[…]}`, hr-apis.md §2.8 ◐; Workato's "Workday RaaS" guide for prompts
//! as query parameters) on "All Active and Terminated Workers", with the column names of
//! `examples/sources/workday.yaml` and a `Changed_Since` prompt.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::{Api, Repo, attr, numbers, param};
use crate::util::json as parse;

const PASSWORD: &str = "workday-isu-e2e-9Vb";
const PATH: &str = "/ccx/service/customreport2/acme/ISU_hrsync/hrsync_workers";

fn worker(n: u32, updated: &str) -> Value {
    json!({
        "Employee_ID": format!("{}", 40000 + n), "First_Name": format!("Kim{n}"), "Last_Name": "Workday",
        "Preferred_Name": null, "Full_Name": format!("Kim{n} Workday"), "Email": format!("kim{n}@acme.example"),
        "Personal_Email": null, "Phone": ["+1 415 555 0101"], "Job_Title": "Accountant",
        "Department": "Finance", "Department_ID": "SUP_FIN", "Team_Name": "Payables", "Company": "Acme Inc.",
        "Location": "San Francisco", "Manager_ID": if n > 1 { json!("40001") } else { Value::Null },
        "Active_Status": "1", "Employee_Type": "Regular", "Start_Date": "2021-04-01-07:00",
        "Termination_Date": null, "Cost_Center": "CC-4711", "Last_Updated": updated,
    })
}

struct Workday {
    api: Api,
    rows: Arc<Mutex<Vec<Value>>>,
    failing: Arc<AtomicBool>,
}

fn start() -> Workday {
    let rows = Arc::new(Mutex::new((1..=6).map(|n| worker(n, "2026-11-01T00:00:00Z")).collect::<Vec<_>>()));
    let failing = Arc::new(AtomicBool::new(false));
    let (w, f) = (rows.clone(), failing.clone());
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("ISU_hrsync@acme:{PASSWORD}"))
    );
    let api = Api::start(move |r| {
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
            return ResponseTemplate::new(401).set_body_string("Unauthorized");
        }
        if f.load(Ordering::SeqCst) {
            return ResponseTemplate::new(500)
                .set_body_json(json!({"error": "Processing error occurred. The report timed out."}));
        }
        if r.url.path() != PATH || param(r, "format").as_deref() != Some("json") {
            return ResponseTemplate::new(404).set_body_json(json!({"error": "Invalid request"}));
        }
        let after = param(r, "Changed_Since");
        let rows: Vec<Value> = w
            .lock()
            .unwrap()
            .iter()
            .filter(|e| after.as_deref().is_none_or(|a| e["Last_Updated"].as_str().unwrap() > a))
            .cloned()
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"Report_Entry": rows}))
    });
    Workday { api, rows, failing }
}

#[test]
fn workday_people_reach_ldap_a_leaver_lands_by_status_and_a_vanished_worker_only_on_a_full_read() {
    let workday = start();
    let repo = Repo::new(
        "workday.yaml",
        &[
            ("url: https://wd2-impl-services1.workday.com ", &format!("url: {} ", workday.api.url())),
            ("retries: 5 ", "retries: 1 "),
        ],
        ("WORKDAY_ISU_PASSWORD", PASSWORD),
    );
    repo.first_page_ok("2026-11-22T09:00:00Z", 6);

    let out = repo.run("2026-11-22T09:00:00Z", &["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(numbers(&repo.people()), ["40001", "40002", "40003", "40004", "40005", "40006"]);
    let two = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some("40002")).unwrap();
    assert_eq!(attr(&two, "ou"), Some("Finance"), "{two:?}");
    assert_eq!(attr(&two, "l"), Some("San Francisco"));
    assert_eq!(attr(&two, "telephoneNumber"), Some("+1 415 555 0101"), "a list of one value");
    assert_eq!(attr(&two, "manager"), Some("uid=kim1.workday,ou=people,dc=acme,dc=example"));
    assert_eq!(workday.api.params(PATH, "format"), vec![Some("json".to_owned()); 2]);
    assert_eq!(workday.api.params(PATH, "Changed_Since"), [None, None]);

    // Hours later: 40003 moves to Oakland, 40004 leaves (Active_Status 0 and a
    // termination date, still in the report), 40005 is unchanged and not in the delta.
    {
        let mut rows = workday.rows.lock().unwrap();
        rows[2]["Location"] = json!("Oakland");
        rows[2]["Last_Updated"] = json!("2026-11-22T10:00:00Z");
        rows[3]["Active_Status"] = json!("0");
        rows[3]["Termination_Date"] = json!("2026-11-21-08:00");
        rows[3]["Last_Updated"] = json!("2026-11-22T10:00:00Z");
    }
    let out = repo.run("2026-11-22T11:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let job = parse(&out.stdout);
    assert_eq!(job["directories"]["corp"]["updated"], 1, "{out:?}");
    assert_eq!(job["directories"]["corp"]["disabled"], 1, "{out:?}");
    let asked = workday.api.params(PATH, "Changed_Since");
    assert_eq!(asked.last().unwrap().as_deref(), Some("2026-11-22T09:00:00Z"), "{asked:?}");
    assert_eq!(numbers(&repo.disabled()), ["40004"]);
    let three = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some("40003")).unwrap();
    assert_eq!(attr(&three, "l"), Some("Oakland"));

    // The report fails: nobody is disabled, and the password is nowhere.
    workday.failing.store(true, Ordering::SeqCst);
    repo.fails_and_disables_no_one("2026-11-22T12:00:00Z", "The report timed out");
    workday.failing.store(false, Ordering::SeqCst);

    // A day later the full read runs (full_every: 24h): 40005, gone from the report, is
    // a leaver now, and no prompt is sent.
    workday.rows.lock().unwrap().retain(|e| e["Employee_ID"] != "40005");
    let out = repo.run("2026-11-23T12:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(workday.api.params(PATH, "Changed_Since").last().unwrap(), &None);
    assert_eq!(numbers(&repo.disabled()), ["40004", "40005"]);
    repo.assert_no_secret_kept();
}
