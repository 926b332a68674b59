//! The `scim` directory against a real SCIM server (`scim2-server`), directly and
//! through a proxy that answers 429 or drops connections after the server acted. The
//! tests that count requests send one request per write (`connection.bulk: false`);
//! `scim_bulk.rs` tests the `/Bulk` path.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::scim_server::{Fault, Proxy, ScimServer, TOKEN};
use crate::util::{Example, Run, json};

/// The variable `examples/directories/scim.yaml` reads the bearer token from.
pub const ENV: &str = "SCIM_TOKEN";
pub const NOW: &str = "2026-11-22T09:00:00Z";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The change to the example that sends every write as a request of its own.
pub const SINGLE: (&str, &str) = ("concurrency: 4", "concurrency: 4\n  bulk: false");

/// The example repository with `examples/directories/scim.yaml` pointed at `url`, with
/// the `changes` a test makes to it.
pub fn example(url: &str, changes: &[(&str, &str)]) -> Example {
    let mut replacements = vec![("https://app.acme.example/scim/v2", url)];
    replacements.extend_from_slice(changes);
    Example::with_directory("scim.yaml", &replacements)
}

pub fn hrsync(ex: &Example, now: &str, args: &[&str]) -> Run {
    ex.run_with((ENV, TOKEN), now, args)
}

/// Users by externalId, to check that no one has two accounts.
pub fn by_external_id(users: &[Json]) -> BTreeMap<String, Vec<Json>> {
    let mut out: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for u in users {
        if let Some(id) = u["externalId"].as_str() {
            out.entry(id.to_owned()).or_default().push(u.clone());
        }
    }
    out
}

#[test]
fn a_full_sync_then_nothing_to_do() {
    let server = ScimServer::start();
    let ex = example(&server.url(), &[]);
    let first = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stdout.contains("Applied to `corp`: 143 created"), "{first:?}");
    let users = server.users();
    assert_eq!(users.len(), 143);
    let by = by_external_id(&users);
    let ceo = &by["10001"][0];
    let cto = &by["10002"][0];
    assert_eq!(cto[ENTERPRISE]["manager"]["value"], ceo["id"], "the manager, created in the same run");
    assert_eq!(cto["emails"][0]["value"], "gunther.bohm@acme.example");
    assert_eq!(cto["name"]["familyName"], "Böhm");
    assert_eq!(cto[ENTERPRISE]["department"], "Engineering");
    assert_eq!(cto["active"], true);
    let second = hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]);
    assert_eq!(second.code, 0, "nothing to write the second time: {second:?}");
}

#[test]
fn movers_leavers_and_accounts_hrsync_does_not_own() {
    let server = ScimServer::start();
    // An account someone created by hand, without externalId: never hrsync's.
    server.create(serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "printer@acme.example", "active": true}));
    let ex = example(&server.url(), &[]);
    assert_eq!(hrsync(&ex, NOW, &["apply"]).code, 0);
    // 10050 moves to Finance under the CFO, with a new title (import_once); 10060 leaves.
    ex.set_german(&["10050"], 4, "DE-FIN");
    ex.set_german(&["10050"], 5, "Treasurer");
    ex.set_german(&["10050"], 6, "10003");
    ex.set_german(&["10060"], 10, "30.11.2026");
    let out = hrsync(&ex, "2026-12-01T08:00:00Z", &["apply"]);
    assert!(out.stdout.contains("0 created, 1 updated, 1 disabled"), "{out:?}");
    let users = server.users();
    let by = by_external_id(&users);
    let mover = &by["10050"][0];
    assert_eq!(mover[ENTERPRISE]["department"], "Finanzen");
    assert_eq!(mover[ENTERPRISE]["manager"]["value"], by["10003"][0]["id"]);
    assert_ne!(mover["title"], "Treasurer", "import_once");
    assert_eq!(by["10060"][0]["active"], false);
    assert_eq!(hrsync(&ex, "2026-12-02T08:00:00Z", &["plan", "--detailed-exitcode"]).code, 0);
    let deleted = hrsync(&ex, "2026-12-31T08:00:00Z", &["apply"]);
    assert!(deleted.stdout.contains("1 deleted"), "{deleted:?}");
    let users = server.users();
    assert!(!by_external_id(&users).contains_key("10060"));
    let printer: Vec<_> = users.iter().filter(|u| u["userName"] == "printer@acme.example").collect();
    assert_eq!(printer.len(), 1, "untouched");
    assert_eq!(printer[0]["active"], true);
}

#[test]
fn names_with_quotes_and_accents_survive_the_round_trip() {
    let server = ScimServer::start();
    let ex = example(&server.url(), &[]);
    let csv = ex.path("data/germany.csv");
    let header = std::fs::read_to_string(&csv).unwrap().lines().next().unwrap().to_owned();
    let weird = "\"X\"\"1\\2\";\"Zoë \"\"Zo\"\" <Ž>\";\"O'Brien, Jr. + Söhne; (Ltd=1\\2*)\";weird@acme.example;DE-EXE;Chief;;Aktiv;Festangestellt;01.01.2020;;Berlin;ACME GmbH;";
    std::fs::write(&csv, format!("{header}\n{weird}\n")).unwrap();
    let out = hrsync(&ex, NOW, &["apply"]);
    // The one German and the 45 French people in scope.
    assert!(out.stdout.contains("46 created"), "{out:?}");
    let by = by_external_id(&server.users());
    let user = &by["X\"1\\2"][0];
    assert_eq!(user["name"]["familyName"], "O'Brien, Jr. + Söhne; (Ltd=1\\2*)");
    assert_eq!(hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn answers_of_429_are_waited_out_and_lost_creates_are_not_doubled() {
    let server = ScimServer::start();
    // Every fifth request gets 429 (Retry-After: 1) once; the answers of three creates
    // are dropped after the server made the user.
    let proxy = Proxy::start(server.port, |n, method, _| match n {
        _ if method == "POST" && [10, 40, 90].contains(&n) => Fault::DropAnswer,
        _ if n % 25 == 0 => Fault::TooManyRequests,
        _ => Fault::None,
    });
    // Request by request: the bulk path has its own test of lost answers (scim_bulk.rs).
    let ex = example(&proxy.url(), &[SINGLE]);
    let out = hrsync(&ex, NOW, &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let job = json(&out.stdout);
    assert_eq!(job["directories"]["corp"]["created"], 143, "{out:?}");
    assert!(proxy.injected(Fault::TooManyRequests) >= 5, "{:?}", proxy.faults);
    assert!(proxy.injected(Fault::DropAnswer) >= 1, "{:?}", proxy.faults);
    let users = server.users();
    assert_eq!(users.len(), 143, "no duplicate accounts");
    assert!(by_external_id(&users).values().all(|v| v.len() == 1));
    assert_eq!(hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn a_server_that_keeps_refusing_ends_in_warning_and_the_next_run_converges() {
    let server = ScimServer::start();
    // From the 30th request on, the server answers 429 for a while.
    let proxy =
        Proxy::start(
            server.port,
            |n, _, _| if (30..80).contains(&n) { Fault::TooManyRequests } else { Fault::None },
        );
    let ex = example(&proxy.url(), &[("concurrency: 4", "retries: 1\n  bulk: false\n  concurrency: 2")]);
    let out = hrsync(&ex, NOW, &["run"]);
    let job = json(&out.stdout);
    let corp = &job["directories"]["corp"];
    assert_eq!(corp["status"], "warning", "{out:?}");
    assert!(corp["failed"].as_u64().unwrap() > 0, "{corp}");
    let created = corp["created"].as_u64().unwrap();
    assert!(created < 143, "{corp}");
    assert_eq!(server.users().len() as u64, created, "what synced stays synced");
    let again = hrsync(&ex, NOW, &["run"]);
    let job = json(&again.stdout);
    let corp = &job["directories"]["corp"];
    assert_eq!((corp["status"].as_str(), corp["failed"].as_u64()), (Some("completed"), Some(0)), "{again:?}");
    assert_eq!(corp["created"].as_u64().unwrap(), 143 - created);
    let users = server.users();
    assert_eq!(users.len(), 143);
    assert!(by_external_id(&users).values().all(|v| v.len() == 1));
}

#[test]
fn a_stale_etag_fails_the_item_not_the_run() {
    let server = ScimServer::start();
    let ex = example(&server.url(), &[]);
    ex.secret_in_file(ENV, TOKEN);
    assert_eq!(hrsync(&ex, NOW, &["apply"]).code, 0);
    ex.set_german(&["10050", "10051"], 4, "DE-FIN");
    let target = server.users().into_iter().find(|u| u["externalId"] == "10050").unwrap();
    let applied = ex.race_the_plan(NOW, || {
        // Someone changes one of the two users after the plan was made.
        let edit = serde_json::json!([{"op": "replace", "path": "title", "value": "Edited"}]);
        assert!(server.patch(target["id"].as_str().unwrap(), edit).is_success());
    });
    assert_eq!((applied.updated, applied.failed), (1, 1), "{:#?}", applied.items);
    let out = hrsync(&ex, NOW, &["apply"]);
    assert!(out.stdout.contains("1 updated"), "{out:?}");
    let by = by_external_id(&server.users());
    assert_eq!(by["10050"][0][ENTERPRISE]["department"], "Finanzen");
    assert_eq!(by["10050"][0]["title"], "Edited", "the manual edit of an import_once field stays");
}

#[test]
fn validate_online_checks_mapped_paths_against_the_servers_schemas() {
    let server = ScimServer::start();
    let ex = example(&server.url(), &[]);
    let out = hrsync(&ex, NOW, &["validate", "--online"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("every mapped attribute is in its schema"), "{out:?}");
    ex.edit_directory(
        "fields:\n",
        "fields:\n  shoeSize: { value: \"{{ first_name }}\" }\n  name.nickname: { value: \"{{ first_name }}\" }\n  urn:acme:params:scim:schemas:Extension:costCenter: { value: \"{{ org_unit }}\" }\n",
    );
    let out = hrsync(&ex, NOW, &["validate", "--online"]);
    assert_eq!(out.code, 1, "{out:?}");
    for expected in [
        "`shoeSize`: schema `urn:ietf:params:scim:schemas:core:2.0:User` has no attribute `shoeSize`",
        "`name.nickname`: `name` has no sub-attribute `nickname`",
        "the server offers no schema `urn:acme:params:scim:schemas:Extension`",
    ] {
        assert!(out.stdout.contains(expected), "{expected}: {out:?}");
    }
}

#[test]
fn a_refused_create_fails_alone_with_the_servers_answer_and_the_next_run_makes_it() {
    let server = ScimServer::start();
    // The server says no (400, 409, and a 500 of its own) to three creates; everything
    // else goes through.
    let proxy = Proxy::start(server.port, |n, method, _| match n {
        _ if method == "POST" && n == 20 => Fault::Refuse(400),
        _ if method == "POST" && n == 60 => Fault::Refuse(409),
        _ if method == "POST" && n == 100 => Fault::Refuse(500),
        _ => Fault::None,
    });
    // Request by request: a refusal inside a bulk has its own test (scim_bulk.rs).
    let ex = example(&proxy.url(), &[SINGLE]);
    let out = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("140 created, 0 updated, 0 disabled, 0 deleted, 3 failed"), "{out:?}");
    let failures: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("error: create ")).collect();
    assert_eq!(failures.len(), 3, "{out:?}");
    assert!(failures.iter().any(|l| l.contains("500")), "{failures:?}");
    assert!(
        failures.iter().any(|l| l.contains("400") && l.contains("refused by the test proxy")),
        "{failures:?}"
    );
    assert!(
        failures.iter().any(|l| l.contains("409") && l.contains("refused by the test proxy")),
        "{failures:?}"
    );
    assert!(!out.stderr.contains("not attempted"), "{out:?}");
    assert_eq!(server.users().len(), 140);
    let again = hrsync(&ex, NOW, &["apply"]);
    assert!(again.stdout.contains("3 created, 0 updated, 0 disabled, 0 deleted, 0 failed"), "{again:?}");
    assert_eq!(server.users().len(), 143);
}

#[test]
fn two_people_with_one_user_name_are_a_collision_in_the_plan_not_a_409_at_the_server() {
    let server = ScimServer::start();
    // userName from the last name: namesakes would get the same one, and a 409.
    let ex = example(
        &server.url(),
        &[
            ("  - { person: work_email, attribute: userName }\n", ""),
            (
                "userName: { value: \"{{ work_email | lower }}\" }",
                "userName: { value: \"{{ last_name | ascii | lower }}\" }",
            ),
        ],
    );
    ex.set_german(&["10050", "10051"], 2, "Schmidt");
    let plans = json(&hrsync(&ex, NOW, &["plan", "--format", "json", "--pii", "full"]).stdout);
    let rows = plans[0]["rows"].as_array().unwrap();
    let collisions: Vec<&Json> = rows
        .iter()
        .filter(|r| {
            r["action"] == "skip"
                && r["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x.as_str().unwrap().starts_with("collision: the `userName`"))
        })
        .collect();
    let later = collisions
        .iter()
        .find(|r| r["person"]["key"] == "germany:10051")
        .unwrap_or_else(|| panic!("a collision for 10051 in {collisions:#?}"));
    let other = later["collides_with"]["person"].as_str().unwrap_or_default();
    assert!(other.starts_with("germany:") && other != "germany:10051", "{later:#}");
    let out = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("409"), "{out:?}");
    assert_eq!(server.users().len(), 143 - collisions.len());
    assert_eq!(
        hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]).code,
        0,
        "the collisions stay skips, nothing fails"
    );
}
