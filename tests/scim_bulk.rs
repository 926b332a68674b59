//! The `scim` directory's `/Bulk` writes (RFC 7644 §3.7) against the real scim2-server,
//! through the recording proxy of `scim_server.rs`, which shows what went in which
//! request. scim2-server announces bulk (`maxOperations` 1000, `maxPayloadSize` 1 MiB)
//! unless a test gives it another `/ServiceProviderConfig`, and keeps to what it
//! announces: more operations or bytes than that get 413, `/Bulk` without support 501.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value as Json, json};

use crate::scim::{ENTERPRISE, ENV, NOW, SINGLE, by_external_id, example, hrsync};
use crate::scim_server::{Fault, Proxy, ScimServer, TOKEN};
use crate::util::Example;

/// The people in scope of the example repository.
const PEOPLE: usize = 143;

/// scim2-server's default `/ServiceProviderConfig`, with `bulk` as given.
fn config(bulk: Json) -> Json {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": bulk,
        "filter": {"supported": true, "maxResults": 1000},
        "changePassword": {"supported": true},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": []
    })
}

/// A proxy recording every request to `server`, passing them all on.
fn recording(server: &ScimServer) -> Proxy {
    Proxy::start(server.port, |_, _, _| Fault::None)
}

/// The operations of each `/Bulk` request the proxy passed on.
fn bulks(proxy: &Proxy) -> Vec<Vec<Json>> {
    proxy
        .received("POST", "/Bulk")
        .iter()
        .map(|r| r.body["Operations"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The `bulkId:` references of one request's operations: (operation, the operation
/// whose bulkId it names), by position. A reference to no operation of the request
/// fails the test.
fn references(ops: &[Json]) -> Vec<(usize, usize)> {
    let at: std::collections::HashMap<&str, usize> =
        ops.iter().enumerate().filter_map(|(i, op)| Some((op["bulkId"].as_str()?, i))).collect();
    ops.iter()
        .enumerate()
        .filter_map(|(i, op)| {
            let id = op["data"][ENTERPRISE]["manager"]["value"].as_str()?.strip_prefix("bulkId:")?;
            Some((
                i,
                *at.get(id).unwrap_or_else(|| panic!("`bulkId:{id}` names no operation of the request")),
            ))
        })
        .collect()
}

/// A first sync of the example through `proxy`, which must create everyone.
fn first_sync(proxy: &Proxy, changes: &[(&str, &str)]) -> Example {
    let ex = example(&proxy.url(), changes);
    let out = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(&format!("Applied to `corp`: {PEOPLE} created")), "{out:?}");
    ex
}

/// Everyone once, each with the manager the HR data names.
fn assert_everyone_once(server: &ScimServer) {
    let users = server.users();
    assert_eq!(users.len(), PEOPLE, "no one missing, no one doubled");
    let by = by_external_id(&users);
    assert!(by.values().all(|v| v.len() == 1), "no one has two accounts");
    let ids: BTreeSet<&str> = users.iter().filter_map(|u| u["id"].as_str()).collect();
    let managers: Vec<&str> =
        users.iter().filter_map(|u| u[ENTERPRISE]["manager"]["value"].as_str()).collect();
    assert!(managers.len() > 100, "reports have managers: {}", managers.len());
    assert!(managers.iter().all(|m| ids.contains(m)), "every manager reference names a user");
    assert_eq!(by["10002"][0][ENTERPRISE]["manager"]["value"], by["10001"][0]["id"]);
    assert_eq!(by["10050"][0][ENTERPRISE]["manager"]["value"], by["10007"][0]["id"]);
}

#[test]
fn a_sync_of_many_people_goes_in_a_few_bulk_requests() {
    let server = ScimServer::start();
    let proxy = recording(&server);
    let ex = first_sync(&proxy, &[]);
    let bulks = bulks(&proxy);
    let in_bulk: usize = bulks.iter().map(Vec::len).sum();
    let alone = proxy.received("POST", "/Users").len();
    let sizes: Vec<usize> = bulks.iter().map(Vec::len).collect();
    assert_eq!(in_bulk + alone, PEOPLE, "each create sent once: {sizes:?} in bulk, {alone} alone");
    // Everyone in one request, managers and their reports together.
    assert_eq!((sizes.as_slice(), alone), ([PEOPLE].as_slice(), 0), "{sizes:?} in bulk, {alone} alone");
    let ops: Vec<&Json> = bulks.iter().flatten().collect();
    assert!(ops.iter().all(|op| op["method"] == "POST" && op["path"] == "/Users"), "{ops:?}");
    let ids: BTreeSet<&str> = ops.iter().filter_map(|op| op["bulkId"].as_str()).collect();
    assert_eq!(ids.len(), in_bulk, "every operation has a bulkId of its own");
    // A report references their manager's create by its bulkId (RFC 7644 §3.7.2), and
    // always one that comes before it in the request.
    let references = references(&bulks[0]);
    assert!(references.len() > 100, "{} references", references.len());
    for (at, to) in &references {
        assert!(to < at, "operation {at} references operation {to}, which comes later");
    }
    assert!(
        proxy.received("POST", "/Bulk").iter().all(|r| r.body.get("failOnErrors").is_none()),
        "the server goes on after an error"
    );
    assert_everyone_once(&server);
    assert_eq!(hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]).code, 0, "nothing left to do");
}

#[test]
fn one_bad_operation_in_a_bulk_fails_alone_with_the_reason_a_single_create_gives() {
    // After the plan was made, someone makes an account with Tim Schröder's user name:
    // the server refuses his create (409, `uniqueness`), in a bulk with his colleagues'.
    let taken = "tim.schroder@acme.example";
    let run = |bulk: bool| {
        let server = ScimServer::start();
        let proxy = recording(&server);
        let ex = example(&proxy.url(), if bulk { &[] } else { &[SINGLE] });
        ex.secret_in_file(ENV, TOKEN);
        let applied = ex.race_the_plan(NOW, || {
            server.create(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": taken}),
            );
        });
        (server, proxy, applied)
    };
    let failures = |applied: &hrsync::apply::Applied| -> Vec<(Option<String>, String)> {
        applied
            .items
            .iter()
            .filter(|i| i.status != hrsync::apply::ItemStatus::Done)
            .map(|i| (i.person.clone(), format!("{:?}", i.status)))
            .collect()
    };
    let (server, proxy, applied) = run(true);
    assert_eq!((applied.created, applied.failed), (PEOPLE - 1, 1), "{:#?}", failures(&applied));
    let failed = failures(&applied);
    assert_eq!(failed[0].0.as_deref(), Some("germany:10050"), "{failed:?}");
    assert!(failed[0].1.contains("409") && failed[0].1.contains("already"), "{failed:?}");
    let bulks = bulks(&proxy);
    let with_it = bulks
        .iter()
        .find(|ops| ops.iter().any(|op| op["data"]["userName"] == taken))
        .unwrap_or_else(|| panic!("the create in a bulk: {bulks:?}"));
    assert!(with_it.len() > 1, "with others: {with_it:?}");
    assert_eq!(server.users().len(), PEOPLE, "everyone else, and the hand-made account");

    let (single_server, single_proxy, single) = run(false);
    assert!(single_proxy.received("POST", "/Bulk").is_empty());
    assert_eq!(failures(&single), failed, "the same reason as a create sent alone");
    assert_eq!(single_server.users().len(), PEOPLE);
}

#[test]
fn bulk_requests_keep_to_the_servers_max_operations_and_max_payload_size() {
    for (operations, bytes) in [(7usize, 1_048_576usize), (1000, 3000)] {
        let server = ScimServer::with_config(&config(
            json!({"supported": true, "maxOperations": operations, "maxPayloadSize": bytes}),
        ));
        let proxy = recording(&server);
        first_sync(&proxy, &[]);
        let requests = proxy.received("POST", "/Bulk");
        let sizes: Vec<(usize, usize)> = requests
            .iter()
            .map(|r| (r.body["Operations"].as_array().map_or(0, Vec::len), r.body.to_string().len()))
            .collect();
        assert!(sizes.len() > 5, "{sizes:?}");
        for &(ops, len) in &sizes {
            assert!(ops <= operations && len <= bytes, "{ops} operations, {len} bytes: {sizes:?}");
        }
        // Batches are filled up to the limit, not kept small by chance.
        if operations == 7 {
            assert!(sizes.iter().filter(|s| s.0 == 7).count() > 10, "{sizes:?}");
        } else {
            assert!(sizes.iter().any(|s| s.0 >= 2 && s.1 > bytes / 2), "{sizes:?}");
        }
        // Nothing refused for its size and sent again.
        let in_bulk: usize = sizes.iter().map(|s| s.0).sum();
        assert_eq!(in_bulk + proxy.received("POST", "/Users").len(), PEOPLE, "{sizes:?}");
        assert_everyone_once(&server);
    }
}

#[test]
fn writes_larger_than_the_payload_limit_go_alone() {
    // 1,500 bytes leave no room for any create in a bulk request.
    let server = ScimServer::with_config(&config(
        json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1500}),
    ));
    let proxy = recording(&server);
    first_sync(&proxy, &[]);
    assert!(proxy.received("POST", "/Bulk").is_empty());
    assert_eq!(proxy.received("POST", "/Users").len(), PEOPLE);
    assert_everyone_once(&server);
}

#[test]
fn a_server_without_bulk_gets_single_requests() {
    // It says so, with limits that would fit every write (and would answer /Bulk with 501).
    let unsupported = config(json!({"supported": false, "maxOperations": 1000, "maxPayloadSize": 1_048_576}));
    let server = ScimServer::with_config(&unsupported);
    let proxy = recording(&server);
    first_sync(&proxy, &[]);
    assert!(proxy.received("POST", "/Bulk").is_empty());
    assert_eq!(proxy.received("GET", "/ServiceProviderConfig").len(), 1, "asked once");
    assert_eq!(proxy.received("POST", "/Users").len(), PEOPLE);
    assert_everyone_once(&server);

    // It has no config to ask: no error, single requests.
    let server = ScimServer::start();
    let proxy = Proxy::start(server.port, |_, _, path| {
        if path.starts_with("/ServiceProviderConfig") { Fault::Refuse(404) } else { Fault::None }
    });
    first_sync(&proxy, &[]);
    assert_eq!(proxy.injected(Fault::Refuse(404)), 1);
    assert!(proxy.received("POST", "/Bulk").is_empty());
    assert_eq!(proxy.received("POST", "/Users").len(), PEOPLE);
    assert_everyone_once(&server);

    // It has bulk, and `connection.bulk: false` turns it off.
    let server = ScimServer::start();
    let proxy = recording(&server);
    first_sync(&proxy, &[SINGLE]);
    assert!(proxy.received("POST", "/Bulk").is_empty());
    assert!(proxy.received("GET", "/ServiceProviderConfig").is_empty(), "not even asked");
    assert_eq!(proxy.received("POST", "/Users").len(), PEOPLE);
}

#[test]
fn day_two_updates_and_disables_in_bulk_keep_their_preconditions() {
    let server = ScimServer::start();
    let proxy = recording(&server);
    let ex = first_sync(&proxy, &[]);
    ex.secret_in_file(ENV, TOKEN);
    // Five move to Finance; two leave.
    let movers = ["10050", "10051", "10052", "10053", "10054"];
    ex.set_german(&movers, 4, "DE-FIN");
    ex.set_german(&["10060", "10061"], 10, "30.11.2026");
    let by = by_external_id(&server.users());
    let edited = by["10051"][0]["id"].as_str().unwrap().to_owned();
    let before = proxy.requests.lock().unwrap().len();
    let applied = ex.race_the_plan("2026-12-01T08:00:00Z", || {
        // Someone changes one of the movers after the plan was made.
        let edit = json!([{"op": "replace", "path": "title", "value": "Edited"}]);
        assert!(server.patch(&edited, edit).is_success());
    });
    assert_eq!((applied.updated, applied.disabled, applied.failed), (4, 2, 1), "{:#?}", applied.items);
    let failed: Vec<_> =
        applied.items.iter().filter(|i| i.status != hrsync::apply::ItemStatus::Done).collect();
    assert_eq!(failed[0].entry.as_deref(), Some(edited.as_str()), "{failed:#?}");
    let reason = format!("{:?}", failed[0].status);
    assert!(reason.contains("changed since the plan was made") && reason.contains("412"), "{reason}");

    // The writes went in bulk, each with the version it was planned against.
    let requests = proxy.requests.lock().unwrap()[before..].to_vec();
    assert!(
        !requests
            .iter()
            .any(|r| (r.method == "PATCH" || r.method == "DELETE") && r.path.starts_with("/Users")),
        "none alone"
    );
    let ops: Vec<&Json> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with("/Bulk"))
        .flat_map(|r| r.body["Operations"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(ops.len(), 7, "{ops:#?}");
    for op in &ops {
        let id = op["path"].as_str().unwrap().trim_start_matches("/Users/");
        let version = op["version"].as_str().unwrap_or_default();
        assert_eq!(op["method"], "PATCH", "{op}");
        assert!(version.starts_with("W/\""), "{op}");
        let user = server.users().into_iter().find(|u| u["id"] == id).unwrap();
        if id == edited {
            assert_ne!(user["meta"]["version"], version, "the edit made it stale");
        }
    }
    let by = by_external_id(&server.users());
    for mover in ["10050", "10052", "10053", "10054"] {
        assert_eq!(by[mover][0][ENTERPRISE]["department"], "Finanzen", "{mover}");
    }
    assert_ne!(by["10051"][0][ENTERPRISE]["department"], "Finanzen", "the stale write was refused");
    assert_eq!(by["10051"][0]["title"], "Edited");
    assert_eq!(
        (by["10060"][0]["active"].as_bool(), by["10061"][0]["active"].as_bool()),
        (Some(false), Some(false))
    );
    // The next run makes the move it refused.
    let out = hrsync(&ex, "2026-12-01T08:00:00Z", &["apply"]);
    assert!(out.stdout.contains("1 updated"), "{out:?}");
    assert_eq!(by_external_id(&server.users())["10051"][0][ENTERPRISE]["department"], "Finanzen");
}

#[test]
fn a_lost_bulk_answer_never_doubles_a_create() {
    // 20 operations a request; the server makes the users of the first two bulk
    // requests, but the answers never come back.
    let server = ScimServer::with_config(&config(
        json!({"supported": true, "maxOperations": 20, "maxPayloadSize": 1_048_576}),
    ));
    let seen = AtomicUsize::new(0);
    let proxy = Proxy::start(server.port, move |_, method, path| {
        if method == "POST" && path.starts_with("/Bulk") && seen.fetch_add(1, Ordering::SeqCst) < 2 {
            Fault::DropAnswer
        } else {
            Fault::None
        }
    });
    let ex = first_sync(&proxy, &[]);
    assert_eq!(proxy.injected(Fault::DropAnswer), 2, "{:?}", proxy.faults);
    let lost: usize = bulks(&proxy).iter().take(2).map(Vec::len).sum();
    let lookups = proxy.received("GET", "/Users?filter=").len();
    assert!(lookups >= lost, "each create of a lost answer looked up: {lookups} of {lost}");
    assert_everyone_once(&server);
    assert_eq!(hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn reports_of_a_manager_whose_create_fails_are_made_without_the_manager() {
    // After the plan was made, someone makes an account with Johanna Jäger's user name:
    // her create fails (409) in the request where her reports reference it by bulkId.
    // The server then refuses their creates too (the reference names nothing); each is
    // sent again alone without the manager, with a warning, and made.
    let taken = "johanna.jager@acme.example";
    let server = ScimServer::start();
    let proxy = recording(&server);
    let ex = example(&proxy.url(), &[]);
    ex.secret_in_file(ENV, TOKEN);
    let applied = ex.race_the_plan(NOW, || {
        server.create(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": taken}));
    });
    let failed: Vec<_> =
        applied.items.iter().filter(|i| i.status != hrsync::apply::ItemStatus::Done).collect();
    assert_eq!((applied.created, applied.failed), (PEOPLE - 1, 1), "{failed:#?}");
    assert_eq!(failed[0].person.as_deref(), Some("germany:10007"), "{failed:?}");
    let bulk = &bulks(&proxy)[0];
    let at = bulk.iter().position(|op| op["data"]["userName"] == taken).expect("her create in the bulk");
    let reports: Vec<usize> =
        references(bulk).into_iter().filter(|(_, to)| *to == at).map(|(r, _)| r).collect();
    assert!(!reports.is_empty(), "her reports reference her create in the request");
    let warned: Vec<&str> = applied
        .items
        .iter()
        .filter(|i| i.warnings.iter().any(|w| w.contains("left unset") && w.contains("failed")))
        .filter_map(|i| i.person.as_deref())
        .collect();
    assert_eq!(warned.len(), reports.len(), "each report warned: {warned:?}");
    assert!(warned.contains(&"germany:10050"), "{warned:?}");
    let users = server.users();
    let by = by_external_id(&users);
    assert_eq!(users.len(), PEOPLE, "everyone else, and the hand-made account");
    assert!(by["10050"][0][ENTERPRISE]["manager"].is_null(), "{:?}", by["10050"][0]);
    // Alone again, after the refused request: one create each.
    assert_eq!(proxy.received("POST", "/Users").len(), reports.len());
}

#[test]
fn a_bulk_request_refused_for_its_size_or_content_is_split_until_it_goes() {
    for status in [413u16, 400] {
        // The server refuses the first /Bulk request as a whole.
        let server = ScimServer::start();
        let seen = AtomicUsize::new(0);
        let proxy = Proxy::start(server.port, move |_, method, path| {
            if method == "POST" && path.starts_with("/Bulk") && seen.fetch_add(1, Ordering::SeqCst) == 0 {
                Fault::Refuse(status)
            } else {
                Fault::None
            }
        });
        let ex = first_sync(&proxy, &[]);
        assert_eq!(proxy.injected(Fault::Refuse(status)), 1);
        let sizes: Vec<usize> = bulks(&proxy).iter().map(Vec::len).collect();
        // The refused one, then its halves; the second half's reports reference
        // managers of the first half by their new ids, not by bulkId.
        assert_eq!(sizes, [PEOPLE, PEOPLE / 2, PEOPLE - PEOPLE / 2], "{status}");
        assert!(proxy.received("POST", "/Users").is_empty(), "{status}");
        for half in &bulks(&proxy)[1..] {
            references(half);
        }
        assert_everyone_once(&server);
        assert_eq!(hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]).code, 0, "{status}");
    }
}

#[test]
fn a_server_whose_bulk_goes_away_mid_run_gets_single_requests() {
    for status in [404u16, 501] {
        // 20 operations a request; from the third on, /Bulk is not there.
        let server = ScimServer::with_config(&config(
            json!({"supported": true, "maxOperations": 20, "maxPayloadSize": 1_048_576}),
        ));
        let seen = AtomicUsize::new(0);
        let proxy = Proxy::start(server.port, move |_, method, path| {
            if method == "POST" && path.starts_with("/Bulk") && seen.fetch_add(1, Ordering::SeqCst) >= 2 {
                Fault::Refuse(status)
            } else {
                Fault::None
            }
        });
        first_sync(&proxy, &[]);
        let refused = proxy.injected(Fault::Refuse(status));
        assert!(refused >= 1, "{status}");
        let passed: usize = bulks(&proxy).iter().take(2).map(Vec::len).sum();
        let alone = proxy.received("POST", "/Users").len();
        assert_eq!(passed + alone, PEOPLE, "{status}: each create made once, the rest alone");
        assert!(alone > PEOPLE / 2, "{status}: {alone} alone");
        assert_everyone_once(&server);
    }
}
