//! The AFAS connector against a fake of `GET /ProfitRestServices/connectors/<id>`.
//! Fixtures follow AFASSoftware/OASContent `markdownpages/profit/en/get-connector.md`
//! (`{"skip","take","rows"}`, skip/take always applied, `orderbyfieldids`, the filter
//! operators, date-times ending in `Z` that are Amsterdam time), `authentication.md`
//! (`AfasToken` + base64 of the XML token), `troubleshooting.md` (a 500 with
//! `externalMessage`, `errorNumber`, `profitLogReference`; 401; 403 for the IP
//! restriction; a 503 with `retry_after`), and `howto-medewerker-ad.md` with the
//! Tools4ever HelloID GetConnector columns for the rows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::source::hr::mock::{self, Fake, Log, answer, param};
use crate::source::{Completeness, SourceError};

const TOKEN: &str = "<token><version>1</version><data>8F3A1C0DE55B4A0C9E2F7D61B0A4C3E1</data></token>";
const REPORT: &str = "HrSync_Medewerkers";
const PATH: &str = "/ProfitRestServices/connectors/HrSync_Medewerkers";

/// A row of the GetConnector.
fn row(n: u32) -> Value {
    json!({
        "EmployeeId": format!("M{n:03}"),
        "PersonId": format!("{}", 1000 + n),
        "Voornaam": format!("Jan{n}"),
        "Roepnaam": if n == 2 { json!("Hans") } else { Value::Null },
        "Voorvoegsel": if n == 1 { json!("van der") } else { Value::Null },
        "Geboortenaam": format!("Berg{n}"),
        "EmailWork": format!("jan{n}@acme.example"),
        "Mobielnr_werk": "+31 6 1234 5678",
        "Functie_omschrijving": "Adviseur",
        "Organisatorische_eenheid_code": "OE10",
        "Organisatorische_eenheid_omschrijving": "Financiën",
        "Werkgever_omschrijving": "Acme B.V.",
        "Soort_medewerker": "Werknemer",
        "Kostenplaats": format!("KP{}", n % 2),
        "EmploymentStartDate": "2012-03-01T00:00:00Z",
        "EmploymentEndDate": if n == 5 { json!("2026-10-31T00:00:00Z") } else { Value::Null },
        "ModifiedDate": "2026-11-01T08:00:00Z",
        "Geblokkeerd": false
    })
}

fn auth() -> String {
    format!("AfasToken {}", base64::engine::general_purpose::STANDARD.encode(TOKEN))
}

fn failure(message: &str) -> ResponseTemplate {
    answer(
        500,
        json!({"externalMessage": message, "errorNumber": -2147180999, "profitLogReference": "3A4C9F2B7E1D"}),
    )
}

/// Whether `row` passes the request's filters (`,` AND, `;` OR; operators 1 and 2).
fn passes(row: &Value, r: &Request) -> Result<bool, String> {
    let (Some(fields), Some(values), Some(ops)) =
        (param(r, "filterfieldids"), param(r, "filtervalues"), param(r, "operatortypes"))
    else {
        return Ok(true);
    };
    let groups = fields.split(';').zip(values.split(';')).zip(ops.split(';'));
    let mut any = false;
    for ((f, v), o) in groups {
        let mut all = true;
        for ((f, v), o) in f.split(',').zip(v.split(',')).zip(o.split(',')) {
            let Some(have) = row.get(f) else {
                return Err(format!("Connector-veld '{f}' niet gevonden"));
            };
            let have = have.as_str().map(str::to_owned).unwrap_or_else(|| have.to_string());
            all &= match o {
                "1" => have == v,
                // Date-times compare as Amsterdam local time: the `Z` means nothing.
                "2" => have.trim_end_matches('Z') >= v,
                _ => false,
            };
        }
        any |= all;
    }
    Ok(any)
}

/// The fake: rows paged by skip/take, sorted by `orderbyfieldids`; without it, in an
/// order that changes between requests, as the database's own choice does.
fn afas(rows: Arc<Mutex<Vec<Value>>>, log: Log) -> Fake<impl Fn(&Request) -> ResponseTemplate> {
    Fake(log, move |r: &Request| {
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(auth().as_str()) {
            return answer(401, json!({"externalMessage": "Niet geautoriseerd"}));
        }
        if r.url.path() != PATH {
            return failure(
                "GetConnector niet ondersteund voor deze app of de gebruiker is niet geautoriseerd",
            );
        }
        let mut all: Vec<Value> = Vec::new();
        for row in rows.lock().unwrap().iter() {
            match passes(row, r) {
                Ok(true) => all.push(row.clone()),
                Ok(false) => {}
                Err(e) => return failure(&e),
            }
        }
        let skip: usize = param(r, "skip").and_then(|s| s.parse().ok()).unwrap_or(0);
        let take: usize = param(r, "take").and_then(|s| s.parse().ok()).unwrap_or(100);
        match param(r, "orderbyfieldids") {
            Some(field) => {
                if all.first().is_some_and(|r| r.get(&field).is_none()) {
                    return failure(&format!("Connector-veld '{field}' niet gevonden"));
                }
                all.sort_by(|a, b| a[&field].to_string().cmp(&b[&field].to_string()));
            }
            None => {
                let k = all.len().max(1);
                all.rotate_left((skip / take.max(1) * 3 + 1) % k);
            }
        }
        let page: Vec<Value> = all.into_iter().skip(skip).take(take).collect();
        answer(200, json!({"skip": skip, "take": take, "rows": page}))
    })
}

struct Server {
    server: MockServer,
    log: Log,
}

async fn serve(rows: Vec<Value>) -> Server {
    let server = MockServer::start().await;
    let log = Log::default();
    Mock::given(any()).respond_with(afas(Arc::new(Mutex::new(rows)), log.clone())).mount(&server).await;
    Server { server, log }
}

fn yaml(server: &MockServer, token: &mock::SecretFile, extra: &str) -> String {
    format!(
        "version: 1\ntype: afas\nmatch_key: [employee_number]\nreport: {REPORT}\nconnection:\n  url: {}/ProfitRestServices\n  token: \"{}\"\n  page_size: 2\n  retries: 1\n{extra}",
        server.uri(),
        token.reference
    )
}

#[tokio::test]
async fn every_page_is_read_in_a_stable_order_until_an_empty_one() {
    let s = serve((1..=5).map(row).collect()).await;
    let token = mock::secret(TOKEN);
    let source = mock::source(&yaml(&s.server, &token, "fields:\n  custom.cost_center: Kostenplaats\n"));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();

    assert_eq!(batch.completeness, Completeness::Full);
    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["M001", "M002", "M003", "M004", "M005"]);
    assert_eq!(
        s.log.params(PATH, "skip"),
        [Some("0".into()), Some("2".into()), Some("4".into()), Some("5".into())],
        "until a page with no rows"
    );
    assert_eq!(s.log.params(PATH, "orderbyfieldids"), vec![Some("EmployeeId".into()); 4]);
    assert_eq!(s.log.params(PATH, "take"), vec![Some("2".into()); 4]);

    let one = &batch.people[0];
    assert_eq!(one.last_name.as_deref(), Some("van der Berg1"), "prefix and birth name");
    assert_eq!(one.display_name.as_deref(), Some("Jan1 van der Berg1"));
    assert_eq!(one.work_email.as_deref(), Some("jan1@acme.example"));
    assert_eq!(one.phone.as_deref(), Some("+31 6 1234 5678"));
    assert_eq!(one.job_title.as_deref(), Some("Adviseur"));
    assert_eq!(one.department.as_deref(), Some("Financiën"));
    assert_eq!(one.org_unit.as_deref(), Some("OE10"));
    assert_eq!(one.legal_entity.as_deref(), Some("Acme B.V."));
    assert_eq!(one.employment_type.as_deref(), Some("Werknemer"));
    assert_eq!(one.start_date, "2012-03-01".parse().ok(), "the `Z` is no time zone: the date stays");
    assert_eq!(one.custom.get("cost_center").map(String::as_str), Some("KP1"));
    assert_eq!(batch.people[1].preferred_name.as_deref(), Some("Hans"));
    assert_eq!(batch.people[1].display_name.as_deref(), Some("Hans Berg2"));
    assert_eq!(batch.people[4].end_date, "2026-10-31".parse().ok(), "a leaver is an end date on a live row");
    assert_eq!(batch.org_units.len(), 1);
    assert_eq!(batch.org_units[0].name, "Financiën");
    assert!(batch.withheld.is_empty(), "{:?}", batch.withheld);
    assert!(batch.incomplete.is_none());
}

#[tokio::test]
async fn the_order_is_always_asked_for_because_without_it_pages_repeat_and_miss() {
    let s = serve((1..=7).map(row).collect()).await;
    let token = mock::secret(TOKEN);
    let source = mock::source(&yaml(&s.server, &token, "order_by: PersonId\n"));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();
    let mut ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["M001", "M002", "M003", "M004", "M005", "M006", "M007"], "everyone exactly once");
    assert!(s.log.params(PATH, "orderbyfieldids").iter().all(|o| o.as_deref() == Some("PersonId")));

    // What a read without the order gets from the same fake.
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    for skip in [0, 2, 4, 6] {
        let body: Value = client
            .get(format!("{}{PATH}?skip={skip}&take=2", s.server.uri()))
            .header("authorization", auth())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen.extend(
            body["rows"].as_array().unwrap().iter().map(|r| r["EmployeeId"].as_str().unwrap().to_owned()),
        );
    }
    seen.sort();
    seen.dedup();
    assert!(seen.len() < 7, "the fake hides rows from unordered pages: {seen:?}");
}

#[tokio::test]
async fn a_delta_asks_from_amsterdam_time_an_hour_early_within_the_sources_filters() {
    let mut rows: Vec<Value> = (1..=4).map(row).collect();
    // Modified at 09:30 Amsterdam time (08:30 UTC), before the watermark of 09:00 UTC.
    rows[1]["ModifiedDate"] = json!("2026-11-24T09:30:00Z");
    rows[2]["ModifiedDate"] = json!("2026-11-24T11:00:00Z");
    rows[3]["ModifiedDate"] = json!("2026-11-24T11:00:00Z");
    rows[3]["Soort_medewerker"] = json!("Stagiair");
    let s = serve(rows).await;
    let token = mock::secret(TOKEN);
    let extra = "delta: true\nchanged_since: ModifiedDate\nquery:\n  filterfieldids: Soort_medewerker\n  filtervalues: Werknemer\n  operatortypes: \"1\"\n";
    let source = mock::source(&yaml(&s.server, &token, extra));
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), None).await.unwrap();
    assert_eq!(batch.completeness, Completeness::Delta);
    assert_eq!(s.log.params(PATH, "filterfieldids")[0].as_deref(), Some("Soort_medewerker,ModifiedDate"));
    assert_eq!(
        s.log.params(PATH, "filtervalues")[0].as_deref(),
        Some("Werknemer,2026-11-24T09:00:00"),
        "10:00 in Amsterdam, an hour early"
    );
    assert_eq!(s.log.params(PATH, "operatortypes")[0].as_deref(), Some("1,2"));
    let ids: Vec<&str> = batch.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["M002", "M003"], "the overlap re-reads M002; the source's filter keeps M004 out");
    assert!(batch.removed.is_empty(), "AFAS has no deletion marker: a delta removes no one");

    // Without `changed_since` every read is full.
    let source = mock::source(&yaml(&s.server, &token, ""));
    let batch = mock::read(source.as_ref(), Some("2026-11-24T09:00:00Z"), None).await.unwrap();
    assert_eq!(batch.completeness, Completeness::Full);
}

#[test]
fn the_watermark_is_amsterdam_local_time_in_winter_and_summer() {
    assert_eq!(super::amsterdam("2026-11-24T09:00:00Z".parse().unwrap()), "2026-11-24T09:00:00");
    assert_eq!(super::amsterdam("2026-07-01T09:00:00Z".parse().unwrap()), "2026-07-01T10:00:00");
    // The hour that repeats when summer time ends is asked again.
    assert_eq!(super::amsterdam("2026-10-25T01:30:00Z".parse().unwrap()), "2026-10-25T02:30:00");
    let mut q = vec![
        ("filterfieldids".to_owned(), "A;B".to_owned()),
        ("filtervalues".to_owned(), "1;2".to_owned()),
        ("operatortypes".to_owned(), "1;1".to_owned()),
    ];
    super::and_filter(&mut q, "M", "t", "2");
    assert_eq!(
        q,
        [
            ("filterfieldids".to_owned(), "A,M;B,M".to_owned()),
            ("filtervalues".to_owned(), "1,t;2,t".to_owned()),
            ("operatortypes".to_owned(), "1,2;1,2".to_owned())
        ]
    );
}

#[tokio::test]
#[allow(clippy::disallowed_methods)] // the test times the wait
async fn maintenance_is_waited_out_as_the_503_body_asks() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let inner = afas(Arc::new(Mutex::new(vec![row(1)])), Log::default());
    Mock::given(any())
        .respond_with(Fake(Log::default(), move |r: &Request| {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                return answer(503, json!({"error": {"message": "Onderhoud"}, "retry_after": 1}));
            }
            wiremock::Respond::respond(&inner, r)
        }))
        .mount(&server)
        .await;
    let token = mock::secret(TOKEN);
    let started = std::time::Instant::now();
    let batch = mock::read(mock::source(&yaml(&server, &token, "")).as_ref(), None, None).await.unwrap();
    assert_eq!(batch.people.len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 3, "the 503, the page, the empty page");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900), "waited as asked");
}

#[tokio::test]
async fn a_refused_token_is_sent_once_and_named_without_the_secret() {
    let s = serve(vec![row(1)]).await;
    let token = mock::secret("<token><version>1</version><data>WRONG00</data></token>");
    let err = mock::read(mock::source(&yaml(&s.server, &token, "")).as_ref(), None, None).await.unwrap_err();
    let text = crate::model::error_chain(&err);
    assert!(matches!(err, SourceError::Credentials { .. }), "{text}");
    assert!(text.starts_with("credentials rejected by AFAS: check the token (a 401"), "{text}");
    assert!(text.contains("IP restriction"), "the hint names the 403 too: {text}");
    assert!(!text.contains("WRONG00"), "{text}");
    let encoded = base64::engine::general_purpose::STANDARD
        .encode("<token><version>1</version><data>WRONG00</data></token>");
    assert!(!text.contains(&encoded), "{text}");
    assert_eq!(s.log.requests().len(), 1, "a 401 is never retried");
}

#[tokio::test]
async fn an_ip_restriction_is_a_credential_problem_asked_once() {
    let server = MockServer::start().await;
    let log = Log::default();
    Mock::given(any())
        .respond_with(Fake(log.clone(), |_: &Request| {
            answer(403, json!({"externalMessage": "Toegang geweigerd"}))
        }))
        .mount(&server)
        .await;
    let token = mock::secret(TOKEN);
    let err = mock::read(mock::source(&yaml(&server, &token, "")).as_ref(), None, None).await.unwrap_err();
    assert!(matches!(err, SourceError::Credentials { .. }), "{err}");
    assert!(err.to_string().contains("IP restriction"), "{err}");
    assert_eq!(log.requests().len(), 1);
}

#[tokio::test]
async fn a_business_error_shows_afas_message_and_log_reference() {
    let s = serve(vec![row(1)]).await;
    let token = mock::secret(TOKEN);
    let err =
        mock::read(mock::source(&yaml(&s.server, &token, "order_by: Medewerker\n")).as_ref(), None, None)
            .await
            .unwrap_err();
    let text = crate::model::error_chain(&err);
    assert!(
        text.contains("Connector-veld 'Medewerker' niet gevonden") && text.contains("3A4C9F2B7E1D"),
        "{text}"
    );
    assert_eq!(
        s.log.requests().len(),
        1,
        "a business error fails the same way every time: it is not tried again"
    );
}

#[tokio::test]
async fn a_malformed_row_is_skipped_with_its_reason_and_the_others_read() {
    let mut rows: Vec<Value> = (1..=3).map(row).collect();
    rows[1]["EmploymentStartDate"] = json!("gisteren");
    rows[2]["EmploymentEndDate"] = json!("2001-01-01T00:00:00Z");
    rows.push(json!("geen medewerker"));
    let s = serve(rows).await;
    let token = mock::secret(TOKEN);
    let batch =
        mock::read(mock::source(&yaml(&s.server, &token, "order_by: PersonId\n")).as_ref(), None, None)
            .await
            .unwrap();
    assert_eq!(batch.people.len(), 1);
    let reasons: Vec<String> = batch.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains(":2: person skipped: start_date is not a valid date")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains(":3: person skipped: end_date is before start_date")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("person skipped: the record is not an object")), "{reasons:?}");
}

#[tokio::test]
async fn pages_that_do_not_add_up_fail_the_read() {
    for body in [
        json!({"skip": 7, "take": 2, "rows": [row(1)]}),
        json!({"skip": 0, "take": 2, "rows": [row(1), row(2), row(3)]}),
        json!({"skip": 0, "take": 2}),
        // A server that ignores `skip` and says nothing of it: the same page again.
        json!({"rows": [row(1), row(2)]}),
    ] {
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(answer(200, body.clone())).mount(&server).await;
        let token = mock::secret(TOKEN);
        let err =
            mock::read(mock::source(&yaml(&server, &token, "")).as_ref(), None, None).await.unwrap_err();
        assert!(matches!(err, SourceError::Format { .. }), "{body}: {err}");
    }
}

#[tokio::test]
async fn columns_the_getconnector_lacks_are_withheld_and_without_the_id_nobody_is_judged() {
    let rows: Vec<Value> = (1..=3)
        .map(|n| {
            let mut r = row(n);
            let o = r.as_object_mut().unwrap();
            o.remove("Mobielnr_werk");
            o.remove("EmployeeId");
            r
        })
        .collect();
    let s = serve(rows).await;
    let token = mock::secret(TOKEN);
    let source = mock::source(&yaml(&s.server, &token, "order_by: PersonId\n"));
    let batch = mock::read(source.as_ref(), None, None).await.unwrap();
    let fields: Vec<&str> = batch.withheld.iter().map(|w| w.field.as_str()).collect();
    assert!(fields.contains(&"phone") && fields.contains(&"id"), "{fields:?}");
    let why = batch.incomplete.expect("no id for anyone: the read is not trusted");
    assert!(why.contains("`id` (key `EmployeeId`)") && why.contains("GetConnector"), "{why}");
    let probe = mock::probe(source.as_ref()).await.unwrap();
    assert!(probe.missing.iter().any(|m| m.starts_with("`phone`")), "{:?}", probe.missing);
}

#[tokio::test]
async fn validate_reads_one_page() {
    let s = serve((1..=5).map(row).collect()).await;
    let token = mock::secret(TOKEN);
    let probe = mock::probe(mock::source(&yaml(&s.server, &token, "")).as_ref()).await.unwrap();
    assert_eq!(probe.people, 2);
    assert_eq!(s.log.requests().len(), 1);
    assert!(probe.missing.is_empty(), "{:?}", probe.missing);
}

#[test]
fn the_source_file_is_checked_against_what_afas_takes() {
    let base = "version: 1\ntype: afas\nreport: X\nconnection:\n  environment: \"12345\"\n";
    let p = mock::problems(base);
    assert!(p.contains("the AFAS connector needs `connection.token`"), "{p}");
    let ok = format!("{base}  token: \"${{env:T}}\"\n");
    assert_eq!(mock::problems(&ok), "");
    let p = mock::problems(&ok.replace("report: X\n", ""));
    assert!(p.contains("the AFAS connector needs `report`"), "{p}");
    let p = mock::problems(&format!("{ok}  client_id: x\n"));
    assert!(p.contains("`client_id` means nothing to the AFAS connector"), "{p}");
    let p = mock::problems(&format!("{ok}  concurrency: 9\n"));
    assert!(p.contains("AFAS allows at most 8 requests in flight"), "{p}");
    let p = mock::problems(&format!("{ok}  page_size: 2000\n"));
    assert!(p.contains("at most 1000"), "{p}");
    let p = mock::problems(&format!("{ok}delta: true\n"));
    assert!(p.contains("`delta: true` needs `changed_since`"), "{p}");
}
