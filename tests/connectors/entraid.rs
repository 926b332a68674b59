//! Microsoft Entra ID end to end. The fake follows microsoftgraph/microsoft-graph-docs-contrib
//! `api-reference/v1.0/api/user-delta.md` and `concepts/delta-query-users.md`: a
//! client-credentials token, `users/delta` pages by `@odata.nextLink` ending in an
//! `@odata.deltaLink`, deltas from that link with `@removed` markers, and — as Graph
//! does — `manager@delta` in a delta only for a user whose manager changed;
//! `users/{id}/manager` for the rest.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::{Api, Repo, attr, numbers, param};
use crate::util::json as parse;

const SECRET: &str = "entra-secret-e2e-7Hq";
const TOKEN: &str = "graph-token-e2e";

fn oid(n: u32) -> String {
    format!("{n:08x}-1111-4222-8333-444455556666")
}

/// A user, with the fake's notes: `_gen` (changed in generation), `_manager` and
/// `_manager_gen`, `_deleted`.
fn user(n: u32) -> Value {
    json!({
        "id": oid(n), "accountEnabled": true, "employeeId": format!("{}", 30000 + n),
        "givenName": format!("Robin{n}"), "surname": "Entra", "displayName": format!("Robin{n} Entra"),
        "mail": format!("robin{n}@acme.example"), "userPrincipalName": format!("robin{n}@acme.onmicrosoft.com"),
        "mobilePhone": "+49 30 5555", "jobTitle": "Analyst", "department": "Finance", "companyName": "Acme GmbH",
        "officeLocation": "Berlin", "employeeType": "Employee", "employeeHireDate": "2021-04-01T00:00:00Z",
        "employeeLeaveDateTime": null,
        "onPremisesExtensionAttributes": {"extensionAttribute1": "4711"},
        "_gen": 0, "_manager": if n > 1 { json!(oid(1)) } else { Value::Null }, "_manager_gen": 0, "_deleted": false,
    })
}

/// A user as a page gives it; `manager@delta` when `with_manager`.
fn render(u: &Value, with_manager: bool) -> Value {
    if u["_deleted"] == true {
        return json!({"id": u["id"], "@removed": {"reason": "changed"}});
    }
    let mut out: serde_json::Map<String, Value> = u
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if with_manager && let Some(m) = u["_manager"].as_str() {
        out.insert("manager@delta".into(), json!([{"@odata.type": "#microsoft.graph.user", "id": m}]));
    }
    Value::Object(out)
}

struct Graph {
    api: Api,
    users: Arc<Mutex<Vec<Value>>>,
    generation: Arc<Mutex<u64>>,
    failing: Arc<AtomicBool>,
}

fn start() -> Graph {
    let users = Arc::new(Mutex::new((1..=6).map(user).collect::<Vec<_>>()));
    let generation = Arc::new(Mutex::new(0u64));
    let failing = Arc::new(AtomicBool::new(false));
    let (u, g, f) = (users.clone(), generation.clone(), failing.clone());
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let api = Api::start(move |r| {
        let path = r.url.path().to_owned();
        if path.ends_with("/oauth2/v2.0/token") {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            if !body.contains(&format!("client_secret={SECRET}")) {
                return ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": [7000215]}));
            }
            return ResponseTemplate::new(200)
                .set_body_json(json!({"token_type": "Bearer", "expires_in": 3599, "access_token": TOKEN}));
        }
        if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
            return ResponseTemplate::new(401).set_body_json(json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token validation failure."}}));
        }
        if f.load(Ordering::SeqCst) {
            return ResponseTemplate::new(503).set_body_json(json!({"error": {"code": "serviceNotAvailable", "message": "The service is temporarily unavailable."}}));
        }
        let users = u.lock().unwrap();
        if let Some(id) = path.strip_prefix("/v1.0/users/").and_then(|p| p.strip_suffix("/manager")) {
            let m =
                users.iter().find(|x| x["id"] == id).and_then(|x| x["_manager"].as_str().map(str::to_owned));
            return match m {
                Some(m) => ResponseTemplate::new(200).set_body_json(json!({"@odata.type": "#microsoft.graph.user", "id": m})),
                None => ResponseTemplate::new(404).set_body_json(json!({"error": {"code": "Request_ResourceNotFound", "message": "Resource 'manager' does not exist or one of its queried reference-property objects are not present."}})),
            };
        }
        // Tokens: `$skiptoken=<since>.<offset>` within a round, `$deltatoken=<generation>`.
        let now = *g.lock().unwrap();
        let (since, offset): (Option<u64>, usize) = match (param(r, "$deltatoken"), param(r, "$skiptoken")) {
            (Some(d), _) => (Some(d.parse().unwrap()), 0),
            (None, Some(s)) => {
                let (since, offset) = s.split_once('.').unwrap();
                (since.parse().ok(), offset.parse().unwrap())
            }
            (None, None) => (None, 0),
        };
        let entries: Vec<Value> = users
            .iter()
            .filter(|x| match since {
                None => x["_deleted"] == false,
                Some(k) => x["_gen"].as_u64().unwrap() > k,
            })
            .map(|x| render(x, since.is_none_or(|k| x["_manager_gen"].as_u64().unwrap() > k)))
            .collect();
        let page: Vec<Value> = entries.iter().skip(offset).take(4).cloned().collect();
        let link = |q: String| format!("{}/v1.0/users/delta?{q}", b.lock().unwrap());
        let mut body =
            json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": page});
        if offset + 4 < entries.len() {
            let since = since.map(|k| k.to_string()).unwrap_or_default();
            body["@odata.nextLink"] = json!(link(format!("$skiptoken={since}.{}", offset + 4)));
        } else {
            body["@odata.deltaLink"] = json!(link(format!("$deltatoken={now}")));
        }
        ResponseTemplate::new(200).set_body_json(body)
    });
    *base.lock().unwrap() = api.url();
    Graph { api, users, generation, failing }
}

impl Graph {
    /// Changes user `n` in a new generation.
    fn change(&self, n: u32, change: impl FnOnce(&mut Value)) {
        let mut g = self.generation.lock().unwrap();
        *g += 1;
        let mut users = self.users.lock().unwrap();
        let u = users.iter_mut().find(|x| x["id"] == oid(n)).unwrap();
        change(u);
        u["_gen"] = json!(*g);
    }
}

#[test]
fn entra_users_reach_ldap_deltas_keep_managers_and_only_markers_and_full_reads_remove() {
    let graph = start();
    let url = graph.api.url();
    let repo = Repo::new(
        "entraid.yaml",
        &[
            (
                "  # token_url: https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
                &format!("  token_url: {url}/contoso.onmicrosoft.com/oauth2/v2.0/token"),
            ),
            ("  # url: https://graph.microsoft.com/v1.0", &format!("  url: {url}/v1.0")),
            ("retries: 5 ", "retries: 1 "),
        ],
        ("ENTRA_CLIENT_SECRET", SECRET),
    );
    repo.first_page_ok("2026-11-22T09:00:00Z", 4);

    let out = repo.run("2026-11-22T09:00:00Z", &["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(numbers(&repo.people()), ["30001", "30002", "30003", "30004", "30005", "30006"]);
    let find = |n: &str| repo.people().into_iter().find(|e| attr(e, "employeeNumber") == Some(n)).unwrap();
    let three = find("30003");
    assert_eq!(attr(&three, "ou"), Some("Finance"), "{three:?}");
    assert_eq!(attr(&three, "l"), Some("Berlin"));
    let manager = attr(&three, "manager").map(str::to_owned);
    assert!(manager.is_some(), "{three:?}");
    let select = graph.api.params("/v1.0/users/delta", "$select");
    let select = select[0].as_deref().unwrap();
    assert!(select.contains("manager") && select.contains("onPremisesExtensionAttributes"), "{select}");

    // Hours later: 30003 moves to Berlin-Mitte (its manager unchanged, so not in the
    // delta), 30004 is deleted (to the recycle bin), 30005's account is disabled, and
    // 30006 is not in the delta at all (unchanged).
    graph.change(3, |u| u["officeLocation"] = json!("Berlin-Mitte"));
    graph.change(4, |u| u["_deleted"] = json!(true));
    graph.change(5, |u| u["accountEnabled"] = json!(false));
    let out = repo.run("2026-11-22T11:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let job = parse(&out.stdout);
    assert_eq!(job["directories"]["corp"]["updated"], 1, "{out:?}");
    assert_eq!(job["directories"]["corp"]["disabled"], 2, "{out:?}");
    let tokens = graph.api.params("/v1.0/users/delta", "$deltatoken");
    assert_eq!(tokens.last().unwrap().as_deref(), Some("0"), "the saved delta link is read: {tokens:?}");
    let three = find("30003");
    assert_eq!(attr(&three, "l"), Some("Berlin-Mitte"));
    assert_eq!(attr(&three, "manager").map(str::to_owned), manager, "the manager is kept, not cleared");
    assert_eq!(numbers(&repo.disabled()), ["30004", "30005"]);
    assert_eq!(numbers(&repo.people()).len(), 4);

    // Graph fails: nobody is disabled, and the secret is nowhere.
    graph.failing.store(true, Ordering::SeqCst);
    repo.fails_and_disables_no_one("2026-11-22T12:00:00Z", "serviceNotAvailable");
    graph.failing.store(false, Ordering::SeqCst);

    // A day later the full round runs (full_every: 24h): 30006, gone from the tenant
    // without a marker reaching hrsync, is a leaver now, and no delta link is read.
    graph.users.lock().unwrap().retain(|u| u["id"] != oid(6));
    let before = graph.api.params("/v1.0/users/delta", "$deltatoken").len();
    let out = repo.run("2026-11-23T12:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let asked = graph.api.params("/v1.0/users/delta", "$select");
    assert!(asked[before].is_some(), "a new round: {asked:?}");
    assert_eq!(numbers(&repo.disabled()), ["30004", "30005", "30006"]);
    repo.assert_no_secret_kept();
}
