//! Two daemons on one remote repository: the run lease (`<reports>-lease`, beside the
//! reports branch) lets one run at a time, so every plan is applied once; killing the
//! one that runs lets the other take over once its lease has run out. The directory is a
//! real SCIM server behind a proxy that holds each create a little (so that a run lasts
//! long enough to be interrupted) and records every request.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use git2::Repository;
use serde_json::Value as Json;

use crate::daemon::{eventually, http, reports};
use crate::handover::{NOW, Shared, by_external_id, hrsync, settled_count};
use crate::util::{KillOnDrop, json};

const RUNS_TOKEN: &str = "two-daemons-runs-token";

/// A watching daemon on `url` with its own state directory, listening on a free port,
/// its log in `log`.
struct Daemon {
    child: KillOnDrop,
    base: String,
    log: std::path::PathBuf,
}

fn start(url: &str, branch: &str, state: &Path, log: std::path::PathBuf) -> Daemon {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = hrsync(&["--repo", url, "--state-dir", state.to_str().unwrap(), "--now", NOW]);
    cmd.args(["daemon", "--branch", branch, "--lease", "6s", "--listen", &format!("127.0.0.1:{port}")])
        .env("HRSYNC_RUNS_TOKEN", RUNS_TOKEN)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    Daemon { child: KillOnDrop(cmd.spawn().unwrap()), base: format!("http://127.0.0.1:{port}"), log }
}

impl Daemon {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
    fn run_now(&self) {
        let auth = [("authorization", format!("Bearer {RUNS_TOKEN}"))];
        let (code, body) = http(reqwest::Method::POST, &format!("{}/runs", self.base), &auth, "");
        assert_eq!(code, 202, "{body}");
    }
}

/// The lease as the remote has it.
fn lease(remote: &Repository) -> Option<Json> {
    let tip = remote.find_reference("refs/heads/hrsync/reports-lease").ok()?.peel_to_commit().ok()?;
    let entry = tip.tree().ok()?.get_name("lease.json")?.to_object(remote).ok()?;
    serde_json::from_slice(entry.peel_to_blob().ok()?.content()).ok()
}

/// Of the reports branch's plans that change something (newest first: their subjects),
/// how many result commits name each (its `Plan-Id` trailer). A plan without changes
/// writes nothing, so two daemons may both carry it out.
fn applied(remote: &Repository) -> (BTreeMap<String, usize>, Vec<String>) {
    let id = |message: &str| message.lines().find_map(|l| l.strip_prefix("Plan-Id: ")).map(str::to_owned);
    let commits = reports(remote);
    let mut results = BTreeMap::new();
    let mut plans = Vec::new();
    for (message, _) in &commits {
        if message.starts_with("Plan for ") && !message.contains("(no_changes)") {
            plans.push(message.lines().next().unwrap_or_default().to_owned());
            results.insert(id(message).unwrap(), 0);
        }
    }
    for (message, _) in &commits {
        if message.starts_with("Run ") {
            for id in message.lines().filter_map(|l| l.strip_prefix("Plan-Id: ")) {
                if let Some(n) = results.get_mut(id) {
                    *n += 1;
                }
            }
        }
    }
    (results, plans)
}

#[test]
fn two_daemons_on_one_remote_apply_each_plan_once_and_the_survivor_takes_over() {
    let shared = Shared::start(350);
    let Shared { server, proxy, ex, url, branch, remote, .. } = &shared;
    let (url, branch) = (url.as_str(), branch.as_str());
    let logs = tempfile::tempdir().unwrap();
    let (state_a, state_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    // Both start at once; one takes the lease and creates, the other stands by.
    let mut a = start(url, branch, state_a.path(), logs.path().join("a.log"));
    let mut b = start(url, branch, state_b.path(), logs.path().join("b.log"));
    eventually("the first creates", || server.users().len() >= 10);
    let holder = lease(remote).expect("a lease on the remote");
    let pid = holder["pid"].as_u64().unwrap();
    assert_eq!(holder["released"], false, "{holder}");
    let (active, standby) = if u64::from(a.pid()) == pid { (&mut a, &mut b) } else { (&mut b, &mut a) };
    assert_eq!(u64::from(active.pid()), pid, "the lease names one of the two: {holder}");
    eventually("the other to stand by", || standby.log().contains("standing by"));
    // `daemon --once` meanwhile waits for the lease to end once; it is renewed (its
    // holder is alive and running), so it stands by and says so, successfully.
    let state_once = tempfile::tempdir().unwrap();
    let mut once = hrsync(&["--repo", url, "--state-dir", state_once.path().to_str().unwrap(), "--now", NOW]);
    let out = once.args(["daemon", "--once", "--branch", branch, "--lease", "6s"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&stdout)["status"], "standby", "{stdout}");
    assert_eq!(json(&stdout)["holder"]["pid"], pid, "{stdout}");

    // The active one is killed mid-run; the other takes over once its lease runs out.
    active.child.kill().unwrap();
    active.child.wait().unwrap();
    let made = settled_count(server);
    assert!(made < 143, "killed mid-run: {made} users");
    eventually("the survivor to finish the creates", || server.users().len() == 143);
    eventually("the survivor's result", || applied(remote).0.values().sum::<usize>() == 1);
    let users = by_external_id(server);
    assert!(users.values().all(|v| v.len() == 1), "no one twice: {users:#?}");
    let (results, plans) = applied(remote);
    assert_eq!(
        results.values().filter(|&&n| n == 1).count(),
        1,
        "the survivor's plan applied once: {results:?}"
    );
    assert!(results.values().all(|&n| n <= 1), "no plan applied twice: {results:?}");
    assert_eq!(plans.len(), 2, "the killed one's plan and the survivor's: {plans:#?}");
    assert!(plans[0].starts_with(&format!("Plan for `corp`: {} to create", 143 - made)), "{plans:#?}");
    assert!(plans[1].starts_with("Plan for `corp`: 143 to create"), "{plans:#?}");
    let creates = proxy.received("POST", "/Users").len();
    assert!(
        (143..=144).contains(&creates),
        "one create per person (one maybe in flight when killed): {creates}"
    );
    // The lease is released after the result is pushed.
    eventually("the lease released after the run", || lease(remote).is_some_and(|l| l["released"] == true));

    // A fresh machine joins the survivor. A hire is pushed and both are told to run at
    // once: one of them creates the account, once.
    let state_c = tempfile::tempdir().unwrap();
    let c = start(url, branch, state_c.path(), logs.path().join("c.log"));
    eventually("the new daemon to be ready", || {
        http(reqwest::Method::GET, &format!("{}/readyz", c.base), &[], "").0 == 200
    });
    let csv = ex.path("data/germany.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("10999;Neue;Kollegin;neue.kollegin@acme.example;DE-ENG;Engineer;10002;Aktiv;Festangestellt;01.11.2026;;Berlin;ACME GmbH;\n");
    std::fs::write(&csv, text).unwrap();
    shared.push("hire");
    let before = proxy.received("POST", "/Users").len();
    let finished = |d: &Daemon| d.log().matches("run finished").count();
    let runs_before = (finished(standby), finished(&c));
    std::thread::scope(|s| {
        s.spawn(|| standby.run_now());
        s.spawn(|| c.run_now());
    });
    eventually("the hire's account", || by_external_id(server).contains_key("10999"));
    eventually("its result", || applied(remote).0.values().sum::<usize>() == 2);
    // The one that stood by runs once the lease is released, and finds nothing to do.
    eventually("both daemons to have run", || {
        finished(standby) > runs_before.0
            && finished(&c) > runs_before.1
            && lease(remote).is_some_and(|l| l["released"] == true)
    });
    assert_eq!(proxy.received("POST", "/Users").len() - before, 1, "created once");
    assert_eq!(by_external_id(server)["10999"].len(), 1);
    let (results, plans) = applied(remote);
    assert!(results.values().all(|&n| n <= 1), "no plan applied twice: {results:?}");
    assert_eq!(results.values().sum::<usize>(), 2, "{results:?}");
    assert!(plans[0].starts_with("Plan for `corp`: 1 to create"), "{plans:#?}");
    assert_eq!(plans.len(), 3, "{plans:#?}");
    let logs = format!("{}\n{}", standby.log(), c.log());
    assert!(!logs.contains(RUNS_TOKEN), "no token in the logs");
}

#[test]
fn a_daemon_whose_lease_is_taken_from_it_stops_writing() {
    let shared = Shared::start(200);
    let Shared { server, url, branch, remote, .. } = &shared;
    let state = tempfile::tempdir().unwrap();
    let mut cmd = hrsync(&["--repo", url, "--state-dir", state.path().to_str().unwrap(), "--now", NOW]);
    // A lease long enough that a renewal on a loaded machine comes in time: the run is
    // stopped by the refusal, not by its deadline.
    cmd.args(["daemon", "--once", "--branch", branch, "--lease", "9s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    eventually("the first creates", || server.users().len() >= 5);
    // Another daemon takes the lease over (as if this one's had run out): a lease commit
    // of another holder replaces the tip on the remote.
    let now = i64::try_from(std::time::SystemTime::UNIX_EPOCH.elapsed().unwrap().as_secs()).unwrap();
    let other = serde_json::json!({
        "owner": "another-daemon", "host": "elsewhere", "pid": 1, "since": now, "until": now + 60, "released": false,
    });
    let blob = remote.blob(other.to_string().as_bytes()).unwrap();
    let mut tree = remote.treebuilder(None).unwrap();
    tree.insert("lease.json", blob, git2::FileMode::Blob.into()).unwrap();
    let tree = remote.find_tree(tree.write().unwrap()).unwrap();
    let sig = git2::Signature::new("other", "other@example", &git2::Time::new(now, 0)).unwrap();
    let oid = remote.commit(None, &sig, &sig, "Lease taken by elsewhere", &tree, &[]).unwrap();
    remote.reference("refs/heads/hrsync/reports-lease", oid, true, "taken").unwrap();

    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the run stopped: {stderr}");
    assert!(stderr.contains("another daemon took the run lease over"), "{stderr}");
    let made = settled_count(server);
    assert!(made < 143, "it stopped creating: {made}");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(server.users().len(), made, "and writes nothing more");
    assert_eq!(lease(remote).unwrap()["owner"], "another-daemon", "the other's lease is left alone");
}
