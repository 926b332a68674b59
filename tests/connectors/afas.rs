//! AFAS Profit end to end. The fake follows AFASSoftware/OASContent
//! `markdownpages/profit/en/get-connector.md` and `troubleshooting.md`: `AfasToken`
//! authorization, `{"skip","take","rows"}` pages ordered by `orderbyfieldids` and ending
//! at an empty page, `filterfieldids`/`filtervalues`/`operatortypes` filters, Amsterdam
//! time with a `Z`, a 500 with `externalMessage` and `profitLogReference`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::{Api, Repo, attr, numbers, param};
use crate::util::json as parse;

const TOKEN: &str = "<token><version>1</version><data>E2E0AFAS77C1</data></token>";
const PATH: &str = "/ProfitRestServices/connectors/HrSync_Medewerkers";

fn row(n: u32) -> Value {
    json!({
        "EmployeeId": format!("{}", 40000 + n), "PersonId": format!("{n}"),
        "Voornaam": format!("Sanne{n}"), "Roepnaam": null, "Voorvoegsel": if n == 1 { json!("de") } else { Value::Null },
        "Geboortenaam": "Vries", "EmailWork": format!("sanne{n}@acme.example"), "Mobielnr_werk": "+31 6 0000",
        "Functie_omschrijving": "Adviseur", "Organisatorische_eenheid_code": "OE10",
        "Organisatorische_eenheid_omschrijving": "Financiën", "Werkgever_omschrijving": "Acme B.V.",
        "Soort_medewerker": "Werknemer", "Kostenplaats": "KP1",
        "Medewerker_leidinggevende": if n > 1 { json!("40001") } else { Value::Null }, "Standplaats": "Utrecht",
        "EmploymentStartDate": "2021-04-01T00:00:00Z", "EmploymentEndDate": null,
        "ModifiedDate": "2026-11-01T08:00:00Z",
    })
}

struct Afas {
    api: Api,
    rows: Arc<Mutex<Vec<Value>>>,
    failing: Arc<AtomicBool>,
}

fn start() -> Afas {
    let rows = Arc::new(Mutex::new((1..=6).map(row).collect::<Vec<_>>()));
    let failing = Arc::new(AtomicBool::new(false));
    let (r0, f) = (rows.clone(), failing.clone());
    let auth = format!("AfasToken {}", base64::engine::general_purpose::STANDARD.encode(TOKEN));
    let api = Api::start(move |r| {
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(auth.as_str()) {
            return ResponseTemplate::new(401)
                .set_body_json(json!({"externalMessage": "Niet geautoriseerd"}));
        }
        if f.load(Ordering::SeqCst) || r.url.path() != PATH {
            return ResponseTemplate::new(500).set_body_json(json!({"externalMessage": "Deze GetConnector is geblokkeerd", "errorNumber": -2147180999, "profitLogReference": "LOG-E2E-42"}));
        }
        let mut all: Vec<Value> = r0.lock().unwrap().clone();
        if let (Some(field), Some(value), Some("2")) =
            (param(r, "filterfieldids"), param(r, "filtervalues"), param(r, "operatortypes").as_deref())
        {
            all.retain(|x| x[&field].as_str().unwrap_or("").trim_end_matches('Z') >= value.as_str());
        }
        let Some(order) = param(r, "orderbyfieldids") else {
            return ResponseTemplate::new(500)
                .set_body_json(json!({"externalMessage": "no order", "profitLogReference": "X"}));
        };
        all.sort_by(|a, b| a[&order].to_string().cmp(&b[&order].to_string()));
        let skip: usize = param(r, "skip").and_then(|s| s.parse().ok()).unwrap_or(0);
        let take: usize = param(r, "take").and_then(|s| s.parse().ok()).unwrap_or(100);
        let page: Vec<Value> = all.into_iter().skip(skip).take(take).collect();
        ResponseTemplate::new(200).set_body_json(json!({"skip": skip, "take": take, "rows": page}))
    });
    Afas { api, rows, failing }
}

#[test]
fn afas_people_reach_ldap_deltas_merge_and_only_full_reads_remove() {
    let afas = start();
    let url = format!("{}/ProfitRestServices", afas.api.url());
    let repo = Repo::new(
        "afas.yaml",
        &[
            (
                "  # url: https://12345.resttest.afas.online/ProfitRestServices   # test/accept environments",
                &format!("  url: {url}"),
            ),
            ("page_size: 500 ", "page_size: 4 "),
            ("retries: 3 ", "retries: 1 "),
        ],
        ("AFAS_TOKEN", TOKEN),
    );
    repo.first_page_ok("2026-11-22T09:00:00Z", 4);

    let out = repo.run("2026-11-22T09:00:00Z", &["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(numbers(&repo.people()), ["40001", "40002", "40003", "40004", "40005", "40006"]);
    let one = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some("40001")).unwrap();
    assert_eq!(attr(&one, "sn"), Some("de Vries"), "{one:?}");
    assert_eq!(attr(&one, "ou"), Some("Financiën"));
    assert_eq!(attr(&one, "l"), Some("Utrecht"));
    let two = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some("40002")).unwrap();
    assert!(attr(&two, "manager").is_some_and(|m| m.starts_with("uid=sanne1.")), "{two:?}");

    // Hours later (Amsterdam time in the stamps): 40003 moves to Amersfoort, 40004's
    // contract ended yesterday; 40005 is not in the delta (unchanged) and stays.
    {
        let mut rows = afas.rows.lock().unwrap();
        rows[2]["Standplaats"] = json!("Amersfoort");
        rows[2]["ModifiedDate"] = json!("2026-11-22T11:00:00Z");
        rows[3]["EmploymentEndDate"] = json!("2026-11-21T00:00:00Z");
        rows[3]["ModifiedDate"] = json!("2026-11-22T11:00:00Z");
    }
    let out = repo.run("2026-11-22T11:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let job = parse(&out.stdout);
    assert_eq!(job["directories"]["corp"]["disabled"], 1, "{out:?}");
    let asked = afas.api.params(PATH, "filtervalues");
    assert_eq!(
        asked.last().unwrap().as_deref(),
        Some("2026-11-22T09:00:00"),
        "09:00 UTC is 10:00 in Amsterdam, less an hour: {asked:?}"
    );
    assert_eq!(numbers(&repo.disabled()), ["40004"]);
    let three = repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some("40003")).unwrap();
    assert_eq!(attr(&three, "l"), Some("Amersfoort"));

    // AFAS fails: nobody is disabled, the log reference is shown, the token is nowhere.
    afas.failing.store(true, Ordering::SeqCst);
    let out = repo.run("2026-11-22T12:00:00Z", &["run"]);
    assert_ne!(out.code, 0, "{out:?}");
    let job = parse(&out.stdout);
    assert_eq!(job["directories"]["corp"]["disabled"], 0, "{out:?}");
    assert!(
        out.stderr.contains("Deze GetConnector is geblokkeerd") && out.stderr.contains("LOG-E2E-42"),
        "{out:?}"
    );
    afas.failing.store(false, Ordering::SeqCst);

    // A day later the full read runs: 40005, deleted in Profit, is a leaver now.
    afas.rows.lock().unwrap().retain(|x| x["EmployeeId"] != "40005");
    let out = repo.run("2026-11-23T12:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(afas.api.params(PATH, "filtervalues").last().unwrap(), &None);
    assert_eq!(numbers(&repo.disabled()), ["40004", "40005"]);
    repo.assert_no_secret_kept();
}
