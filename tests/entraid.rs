//! The `entraid` directory against the Graph fake of `graph.rs`: full sync with
//! managers and initial passwords, movers and leavers, accounts hrsync does not own,
//! throttling and lost answers, a write racing the plan, and credential errors.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::graph::{CLIENT_ID, CLIENT_SECRET, Fault, Graph, TENANT};
use crate::util::{Example, Run, json};

/// The variable `examples/directories/entraid.yaml` reads the client secret from.
const ENV: &str = "GRAPH_CLIENT_SECRET";
const NOW: &str = "2026-11-22T09:00:00Z";

/// The example repository with `examples/directories/entraid.yaml` pointed at the fake,
/// with `connection_extra` lines added to its connection.
pub fn example(graph: &Graph, connection_extra: &str) -> Example {
    let secret = "  client_secret: ${env:GRAPH_CLIENT_SECRET}\n";
    let connection =
        format!("{secret}  url: {}\n  token_url: {}\n{connection_extra}", graph.url(), graph.token_url());
    Example::with_directory(
        "entraid.yaml",
        &[
            ("00000000-0000-0000-0000-000000000000", TENANT),
            ("11111111-1111-1111-1111-111111111111", CLIENT_ID),
            (secret, &connection),
        ],
    )
}

pub fn hrsync(ex: &Example, now: &str, args: &[&str]) -> Run {
    ex.run_with((ENV, CLIENT_SECRET), now, args)
}

fn by_employee_id(users: &[Json]) -> BTreeMap<String, Vec<Json>> {
    let mut out: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for u in users {
        if let Some(id) = u["employeeId"].as_str() {
            out.entry(id.to_owned()).or_default().push(u.clone());
        }
    }
    out
}

/// Every file under `dir`, read as lossy text.
fn all_text(dir: &std::path::Path) -> String {
    let mut text = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return text };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            text.push_str(&all_text(&path));
        } else {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    text
}

#[test]
fn a_full_sync_sets_managers_and_initial_passwords_then_writes_nothing() {
    let graph = Graph::start();
    let ex = example(&graph, "");
    let first = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stdout.contains("Applied to `corp`: 143 created"), "{first:?}");
    let users = graph.users();
    assert_eq!(users.len(), 143);
    let by = by_employee_id(&users);
    let (ceo, cto) = (&by["10001"][0], &by["10002"][0]);
    assert_eq!(cto["managerId"], ceo["id"], "the manager, created in the same run");
    assert_eq!(cto["surname"], "Böhm");
    assert_eq!(cto["userPrincipalName"], "gunther.bohm@acme.example");
    assert_eq!(cto["mailNickname"], "gunther.bohm", "derived from the user principal name");
    assert_eq!(cto["businessPhones"], serde_json::json!(["+49 30 1234 5001"]));
    assert_eq!(cto["employeeOrgData"]["division"], "DE-ENG");
    assert_eq!(cto["accountEnabled"], true);

    let passwords = graph.passwords();
    assert_eq!(passwords.len(), 143);
    assert!(passwords.iter().all(|p| p.force_change && p.password.chars().count() == 24));
    let distinct: std::collections::BTreeSet<&str> = passwords.iter().map(|p| p.password.as_str()).collect();
    assert_eq!(distinct.len(), 143);
    let state = all_text(&ex.path(".hrsync"));
    for p in &passwords {
        for text in [&first.stdout, &first.stderr, &state] {
            assert!(!text.contains(&p.password), "the initial password of {} leaked", p.user_principal_name);
        }
    }

    let writes = graph.writes().len();
    let second = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(graph.writes().len(), writes, "the second run writes nothing: {second:?}");
    // Reads use $expand, so Graph pages them by 100 and hrsync follows the link.
    let log = graph.log();
    assert!(log.iter().any(|l| l.starts_with("GET /v1.0/users?") && l.contains("%24skiptoken")), "{log:#?}");
    assert_eq!(hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn movers_leavers_and_users_hrsync_does_not_own() {
    let graph = Graph::start();
    // Accounts made by hand, without an employee id: never hrsync's.
    let room = graph.insert(serde_json::json!({
        "displayName": "Meeting room Spree",
        "userPrincipalName": "room.spree@acme.example",
        "accountEnabled": true,
        "department": "Facilities",
    }));
    let ex = example(&graph, "");
    assert_eq!(hrsync(&ex, NOW, &["apply"]).code, 0);
    // 10050 moves to Finance under the CFO, with a new title (import_once); 10060 leaves.
    ex.set_german(&["10050"], 4, "DE-FIN");
    ex.set_german(&["10050"], 5, "Treasurer");
    ex.set_german(&["10050"], 6, "10003");
    ex.set_german(&["10060"], 10, "30.11.2026");
    let before = graph.writes().len();
    let out = hrsync(&ex, "2026-12-01T08:00:00Z", &["apply"]);
    assert!(out.stdout.contains("0 created, 1 updated, 1 disabled"), "{out:?}");
    // The mover also moves between the department groups: those writes are the
    // groups tests' (tests/groups.rs, tests/directory_groups.rs).
    let writes: Vec<String> =
        graph.writes()[before..].iter().filter(|w| w.contains("/users/")).cloned().collect();
    assert_eq!(
        writes.len(),
        3,
        "one PATCH and one manager for the mover, one PATCH for the leaver: {writes:#?}"
    );
    let by = by_employee_id(&graph.users());
    let mover = &by["10050"][0];
    assert_eq!(mover["department"], "Finanzen");
    assert_eq!(mover["employeeOrgData"]["division"], "DE-FIN");
    assert_eq!(mover["managerId"], by["10003"][0]["id"]);
    assert_ne!(mover["jobTitle"], "Treasurer", "import_once");
    assert_eq!(by["10060"][0]["accountEnabled"], false);
    assert_eq!(hrsync(&ex, "2026-12-02T08:00:00Z", &["plan", "--detailed-exitcode"]).code, 0);

    let deleted = hrsync(&ex, "2026-12-31T08:00:00Z", &["apply"]);
    assert!(deleted.stdout.contains("1 deleted"), "{deleted:?}");
    let users = graph.users();
    assert!(!by_employee_id(&users).contains_key("10060"));
    let room: Vec<_> = users.iter().filter(|u| u["id"] == room.as_str()).collect();
    assert_eq!(room.len(), 1, "untouched");
    assert_eq!(
        (&room[0]["accountEnabled"], &room[0]["department"]),
        (&Json::Bool(true), &Json::from("Facilities"))
    );
}

#[test]
fn throttling_and_lost_answers_converge_without_duplicates() {
    // Every 20th request (a batch, or one inside a batch, or one alone) gets 429
    // (Retry-After: 1); the answers to three creates come after the client gave up on
    // them, the user already made (with batching, the answer to their whole batch).
    let slow = ["gunther.bohm@", "helene.fontaine@", "tim.schroder@"];
    let graph = Graph::with_faults(move |n, method, path, body| match n {
        _ if method == "POST" && path == "/v1.0/users" && slow.iter().any(|u| body.contains(u)) => {
            Fault::SlowAnswer
        }
        _ if n % 20 == 0 => Fault::TooManyRequests,
        _ => Fault::None,
    });
    let ex = example(&graph, "  timeout_seconds: 1\n  concurrency: 4\n");
    let out = hrsync(&ex, NOW, &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let job = json(&out.stdout);
    assert_eq!(job["directories"]["corp"]["created"], 143, "{out:?}");
    assert!(graph.injected(Fault::TooManyRequests) >= 10);
    assert_eq!(graph.injected(Fault::SlowAnswer), 3, "{:#?}", graph.log());
    // Some of them inside a batch, whose whole answer was then lost.
    let exchanges = graph.exchanges();
    let slow_in_batch = exchanges.iter().filter(|e| {
        e.batch.is_some()
            && e.line == "POST /v1.0/users"
            && slow.iter().any(|u| e.body.to_string().contains(u))
    });
    assert!(slow_in_batch.count() >= 1, "a lost batch");
    let users = graph.users();
    assert_eq!(users.len(), 143, "no duplicate accounts");
    assert!(by_employee_id(&users).values().all(|v| v.len() == 1));
    assert_eq!(job["directories"]["corp"]["status"], "completed", "managers set too: {out:?}");
    assert_eq!(hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn deletes_whose_batch_answer_was_lost_are_deleted_not_failed() {
    // Two leavers past their grace period are deleted in one batch; Graph does both and
    // its answer comes too late. Each DELETE is sent again alone and finds the user gone,
    // which is what was asked: both count as deleted.
    let held = std::sync::Mutex::new(std::collections::HashSet::new());
    let graph = Graph::with_faults(move |_, method, path, _| {
        if method == "DELETE" && held.lock().unwrap().insert(path.to_owned()) {
            Fault::SlowAnswer
        } else {
            Fault::None
        }
    });
    let ex = example(&graph, "  timeout_seconds: 1\n  concurrency: 4\n");
    assert_eq!(hrsync(&ex, NOW, &["apply"]).code, 0);
    ex.set_german(&["10060", "10061"], 10, "30.11.2026");
    assert_eq!(hrsync(&ex, "2026-12-01T08:00:00Z", &["apply"]).code, 0);
    let out = hrsync(&ex, "2026-12-31T08:00:00Z", &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let job = json(&out.stdout);
    assert_eq!(job["directories"]["corp"]["deleted"], 2, "{out:?}");
    assert_eq!(job["directories"]["corp"]["failed"], 0, "{out:?}");
    let exchanges = graph.exchanges();
    let deletes: Vec<_> = exchanges.iter().filter(|e| e.line.starts_with("DELETE /v1.0/users/")).collect();
    assert!(deletes.iter().filter(|e| e.batch.is_some()).count() == 2, "one batch of both: {deletes:#?}");
    assert!(deletes.iter().filter(|e| e.batch.is_none() && e.status == 404).count() == 2, "{deletes:#?}");
    let by = by_employee_id(&graph.users());
    assert!(!by.contains_key("10060") && !by.contains_key("10061"));
    assert_eq!(hrsync(&ex, "2026-12-31T09:00:00Z", &["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn quotes_and_accents_survive_filters_and_nicknames() {
    // The create of the one with a quote in the user principal name is answered too
    // late, so hrsync looks for the user with a $filter before posting again.
    let graph = Graph::with_faults(|_, method, path, body| {
        if method == "POST" && path == "/v1.0/users" && body.contains("zoe.o'brien") {
            Fault::SlowAnswer
        } else {
            Fault::None
        }
    });
    let ex = example(&graph, "  timeout_seconds: 1\n");
    let csv = ex.path("data/germany.csv");
    let header = std::fs::read_to_string(&csv).unwrap().lines().next().unwrap().to_owned();
    let weird = "\"X\"\"1\\2\";\"Zoë \"\"Zo\"\" <Ž>\";\"O'Brien, Jr. + Söhne; (Ltd=1\\2*)\";zoe.o'brien@acme.example;DE-EXE;Chief;;Aktiv;Festangestellt;01.01.2020;;Berlin;ACME GmbH;";
    std::fs::write(&csv, format!("{header}\n{weird}\n")).unwrap();
    let out = hrsync(&ex, NOW, &["apply"]);
    // The one German and the 45 French people in scope.
    assert!(out.stdout.contains("46 created"), "{out:?}");
    assert_eq!(graph.injected(Fault::SlowAnswer), 1);
    let log = graph.log();
    assert!(
        log.iter().any(|l| l.contains("userPrincipalName+eq+%27zoe.o%27%27brien%40acme.example%27")),
        "{log:#?}"
    );
    let users = graph.users();
    assert_eq!(users.len(), 46, "no duplicate");
    let zoe = &by_employee_id(&users)["X\"1\\2"][0];
    assert_eq!(zoe["surname"], "O'Brien, Jr. + Söhne; (Ltd=1\\2*)");
    assert_eq!(zoe["givenName"], "Zoë \"Zo\" <Ž>");
    assert_eq!(zoe["mailNickname"], "zoe.obrien", "only letters, digits, dots, dashes");
    assert_eq!(hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn a_write_racing_the_plan_fails_that_user_only() {
    let graph = Graph::start();
    let ex = example(&graph, "");
    ex.secret_in_file(ENV, CLIENT_SECRET);
    assert_eq!(hrsync(&ex, NOW, &["apply"]).code, 0);
    ex.set_german(&["10050", "10051"], 4, "DE-FIN");
    let target = graph.users().into_iter().find(|u| u["employeeId"] == "10050").unwrap();
    let applied = ex.race_the_plan(NOW, || {
        // An administrator moves one of the two users after the plan was made.
        graph.edit(target["id"].as_str().unwrap(), serde_json::json!({ "department": "Audit" }));
    });
    assert_eq!((applied.updated, applied.failed), (1, 1), "{:#?}", applied.items);
    let by = by_employee_id(&graph.users());
    assert_eq!(by["10050"][0]["department"], "Audit", "not overwritten blindly");
    assert_eq!(by["10051"][0]["department"], "Finanzen");
    let out = hrsync(&ex, NOW, &["apply"]);
    assert!(out.stdout.contains("1 updated"), "the next run plans against what is there: {out:?}");
    assert_eq!(by_employee_id(&graph.users())["10050"][0]["department"], "Finanzen");
}

#[test]
fn a_wrong_client_secret_is_a_clear_error_that_does_not_show_it() {
    let graph = Graph::start();
    let ex = example(&graph, "");
    let wrong = "tQ8~not-the-secret.Yx99";
    let out = ex.run_with((ENV, wrong), NOW, &["plan"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("AADSTS7000215"), "{out:?}");
    assert!(out.stderr.contains("corp"), "names the directory: {out:?}");
    assert!(!out.stderr.contains(wrong) && !out.stdout.contains(wrong));
    assert!(graph.users().is_empty());
}

#[test]
fn a_mapping_without_a_display_name_is_refused() {
    let graph = Graph::start();
    let ex = example(&graph, "");
    let path = ex.path("directories/corp.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text: String =
        text.lines().filter(|l| !l.contains("displayName")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    let out = hrsync(&ex, NOW, &["validate"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("directories/corp.yaml:") && out.stderr.contains("displayName"), "{out:?}");
    assert!(graph.log().is_empty(), "validate without --online stays offline");
}

#[test]
fn validate_online_checks_mapped_properties_with_graph() {
    let graph = Graph::start();
    let ex = example(&graph, "");
    let out = hrsync(&ex, NOW, &["validate", "--online"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("every mapped attribute is in its schema"), "{out:?}");
    ex.edit_directory(
        "fields:\n",
        "fields:\n  favouriteColour: { value: \"{{ first_name }}\" }\n  employeeOrgData.team: { value: \"{{ org_unit }}\" }\n",
    );
    let out = hrsync(&ex, NOW, &["validate", "--online"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("`employeeOrgData.team`: `employeeOrgData` has no property `team`"),
        "{out:?}"
    );
    assert!(out.stdout.contains("Could not find a property named 'favouriteColour'"), "{out:?}");
}

#[test]
fn a_refused_create_or_update_fails_alone_with_graphs_answer() {
    // Graph says no (400, 409) to two creates, and 404 to one update later on.
    let graph = Graph::with_faults(|_, method, path, body| match method {
        _ if path != "/v1.0/users" => Fault::None,
        "POST" if body.contains("gunther.bohm@") => Fault::Refuse(400),
        "POST" if body.contains("helene.fontaine@") => Fault::Refuse(409),
        _ => Fault::None,
    });
    let ex = example(&graph, "");
    let out = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("141 created"), "{out:?}");
    assert!(out.stdout.contains("2 failed"), "{out:?}");
    let failures: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("error: create ")).collect();
    assert_eq!(failures.len(), 2, "{out:?}");
    assert!(failures.iter().all(|l| l.contains("Refused by the test for this one user.")), "{failures:?}");
    assert!(
        failures.iter().any(|l| l.contains("400")) && failures.iter().any(|l| l.contains("409")),
        "{failures:?}"
    );
    assert!(!out.stderr.contains("not attempted"), "{out:?}");
    assert_eq!(graph.users().len(), 141);
}

/// The manager of each user, both by employee id.
fn managers_by_employee_id(users: &[Json]) -> BTreeMap<String, String> {
    let employee: BTreeMap<&str, &str> =
        users.iter().filter_map(|u| Some((u["id"].as_str()?, u["employeeId"].as_str()?))).collect();
    users
        .iter()
        .filter_map(|u| {
            let manager = employee.get(u["managerId"].as_str()?)?;
            Some((u["employeeId"].as_str()?.to_owned(), (*manager).to_owned()))
        })
        .collect()
}

/// The id a create answered with, by the exchange that created it.
fn created_ids(exchanges: &[crate::graph::Exchange]) -> BTreeMap<String, usize> {
    exchanges
        .iter()
        .enumerate()
        .filter(|(_, e)| e.line == "POST /v1.0/users" && e.status == 201)
        .filter_map(|(i, e)| Some((e.answer["id"].as_str()?.to_owned(), i)))
        .collect()
}

#[test]
fn a_first_sync_goes_in_batches_of_twenty_and_sets_each_manager_a_batch_after_its_creation() {
    let graph = Graph::start();
    let ex = example(&graph, "");
    let out = hrsync(&ex, NOW, &["apply"]);
    assert!(out.stdout.contains("Applied to `corp`: 143 created"), "{out:?}");

    let batches = graph.batches();
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert!(sizes.iter().all(|&n| (2..=20).contains(&n)), "{sizes:?}");
    assert!(sizes.contains(&20), "full batches when enough writes are in flight: {sizes:?}");
    let exchanges = graph.exchanges();
    let users = graph.users();
    // Every create and every manager reference went through Graph: 143 users, 141 of
    // them with a manager (as single requests set them too, in the next test).
    let creates = exchanges.iter().filter(|e| e.line == "POST /v1.0/users").count();
    let references = exchanges.iter().filter(|e| e.line.ends_with("/manager/$ref")).count();
    assert_eq!((creates, references), (143, 141), "{sizes:?}");
    let inner = graph.inner_requests();
    assert_eq!(inner, sizes.iter().sum::<usize>());
    // A write goes alone only when nothing else is in flight (the first wave: the heads).
    assert!(inner >= 250, "nearly all writes in batches: {inner} of 284");

    // Each reference points at the manager's user, set in a later batch than the one
    // that created it, and after the user's own creation.
    let created = created_ids(&exchanges);
    for (i, e) in exchanges.iter().enumerate().filter(|(_, e)| e.line.ends_with("/manager/$ref")) {
        let manager = e.body["@odata.id"].as_str().unwrap().rsplit('/').next().unwrap();
        let user = e.line.split('/').nth(3).unwrap();
        for made in [created[manager], created[user]] {
            assert!(made < i, "{} before its create: {e:?}", e.line);
            if let (Some(set), Some(create)) = (e.batch, exchanges[made].batch) {
                assert!(set > create, "{} in batch {set}, the user it names made in batch {create}", e.line);
            }
        }
    }
    // The tenant is the one single requests make (below): every manager the right user.
    let managers = managers_by_employee_id(&users);
    assert_eq!(managers.len(), 141);
    assert_eq!(managers["10002"], "10001");
    assert_eq!(hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]).code, 0, "nothing left to do");
}

#[test]
fn batching_off_sends_single_requests_and_makes_the_same_tenant() {
    let batched = Graph::start();
    assert_eq!(hrsync(&example(&batched, ""), NOW, &["apply"]).code, 0);
    let single = Graph::start();
    let ex = example(&single, "  batch: false\n");
    let out = hrsync(&ex, NOW, &["apply"]);
    assert!(out.stdout.contains("Applied to `corp`: 143 created"), "{out:?}");
    let log = single.log();
    assert!(!log.iter().any(|l| l.contains("$batch")), "{log:#?}");
    assert_eq!(single.inner_requests(), 0);
    assert_eq!(single.http_requests(), log.len());
    assert!(single.writes().len() >= 284, "one request a write");
    assert!(
        batched.http_requests() * 4 < single.http_requests(),
        "{} vs {}",
        batched.http_requests(),
        single.http_requests()
    );
    let managers = managers_by_employee_id(&single.users());
    assert_eq!(managers.len(), 141);
    assert_eq!(managers, managers_by_employee_id(&batched.users()), "the same managers either way");
}

#[test]
fn a_refused_request_inside_a_batch_fails_its_user_alone_with_the_reason_it_gets_alone() {
    let refuse = |_: usize, method: &str, path: &str, body: &str| {
        if method == "POST" && path == "/v1.0/users" && body.contains("\"leon.schulz@") {
            Fault::Refuse(400)
        } else {
            Fault::None
        }
    };
    let mut failures = Vec::new();
    for extra in ["", "  batch: false\n"] {
        let graph = Graph::with_faults(refuse);
        let out = hrsync(&example(&graph, extra), NOW, &["apply"]);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stdout.contains("142 created") && out.stdout.contains("1 failed"), "{out:?}");
        let mut failed: Vec<String> =
            out.stderr.lines().filter(|l| l.starts_with("error: create ")).map(str::to_owned).collect();
        assert_eq!(failed.len(), 1, "{out:?}");
        assert!(failed[0].contains("Refused by the test for this one user."), "{failed:?}");
        if extra.is_empty() {
            // It was refused inside a batch, with others that succeeded.
            let exchanges = graph.exchanges();
            let refused = exchanges.iter().find(|e| e.status == 400).unwrap();
            let batch = refused.batch.expect("refused inside a batch");
            assert!(exchanges.iter().any(|e| e.batch == Some(batch) && e.status == 201), "{refused:?}");
        }
        // The item's label carries a hash salted per repository: the reason follows it.
        failures.push(failed.remove(0).split_once("the directory").unwrap().1.to_owned());
    }
    assert_eq!(failures[0], failures[1], "the same error in a batch as alone");
}

#[test]
fn a_throttled_request_inside_a_batch_is_sent_again_alone_after_its_retry_after() {
    let throttled = std::sync::atomic::AtomicBool::new(false);
    let graph = Graph::with_faults(move |_, method, path, body| {
        let chosen = method == "POST" && path == "/v1.0/users" && body.contains("\"leon.schulz@");
        if chosen && !throttled.swap(true, std::sync::atomic::Ordering::SeqCst) {
            Fault::TooManyRequests
        } else {
            Fault::None
        }
    });
    let ex = example(&graph, "");
    let out = hrsync(&ex, NOW, &["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let job = json(&out.stdout);
    assert_eq!(job["directories"]["corp"]["created"], 143, "{out:?}");
    assert_eq!(job["directories"]["corp"]["status"], "completed", "{out:?}");
    assert_eq!(graph.injected(Fault::TooManyRequests), 1);
    let exchanges = graph.exchanges();
    let posts: Vec<&crate::graph::Exchange> = exchanges
        .iter()
        .filter(|e| e.line == "POST /v1.0/users" && e.body.to_string().contains("\"leon.schulz@"))
        .collect();
    assert_eq!(posts.len(), 2, "{posts:#?}");
    let (first, again) = (posts[0], posts[1]);
    assert_eq!((first.status, again.status), (429, 201));
    let batch = first.batch.expect("throttled inside a batch");
    assert!(exchanges.iter().filter(|e| e.batch == Some(batch)).count() > 1, "with others");
    assert_eq!(again.batch, None, "sent again alone");
    assert!(again.at.duration_since(first.at) >= std::time::Duration::from_secs(1), "after its Retry-After");
    let users = graph.users();
    assert_eq!(users.len(), 143, "no duplicate");
}

#[test]
fn the_fake_refuses_a_batch_of_more_than_twenty_and_answers_out_of_order() {
    let graph = Graph::start();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ];
        let token: Json =
            client.post(graph.token_url()).form(&form).send().await.unwrap().json().await.unwrap();
        let bearer = token["access_token"].as_str().unwrap().to_owned();
        let batch = |n: usize| {
            let requests: Vec<Json> = (1..=n)
                .map(|i| serde_json::json!({ "id": i.to_string(), "method": "GET", "url": "/users?$top=1" }))
                .collect();
            serde_json::json!({ "requests": requests })
        };
        let url = format!("{}/$batch", graph.url());
        let too_many = client.post(&url).bearer_auth(&bearer).json(&batch(21)).send().await.unwrap();
        assert_eq!(too_many.status(), 400);
        let body: Json = too_many.json().await.unwrap();
        assert_eq!(body["error"]["message"], "Number of requests inside batch exceeds the limit.");
        let full = client.post(&url).bearer_auth(&bearer).json(&batch(20)).send().await.unwrap();
        assert_eq!(full.status(), 200);
        let body: Json = full.json().await.unwrap();
        let ids: Vec<&str> =
            body["responses"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 20);
        assert_eq!(ids[0], "20", "not in the order asked: {ids:?}");
        assert!(body["responses"].as_array().unwrap().iter().all(|r| r["status"] == 200));
    });
    assert_eq!((graph.http_requests(), graph.inner_requests()), (2, 20));
}
