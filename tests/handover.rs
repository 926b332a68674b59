//! A daemon stopped in the middle of a run. SIGTERM lets the run finish; a second
//! SIGTERM, or SIGKILL, leaves it half done, and the next run — even on a fresh machine,
//! with a new mirror of the remote and an empty state directory — converges with
//! nothing lost and nothing created twice, carrying on from the run state committed to
//! the reports branch. The directory is a real SCIM server behind a proxy that holds
//! each create for a while, so that a run lasts long enough to be interrupted.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use git2::Repository;
use serde_json::Value as Json;

use crate::daemon::{GitDaemon, bare_clone, commit_all, eventually, file_on_branch, reports};
use crate::scim_server::{Fault, Proxy, ScimServer, TOKEN};
use crate::util::{Example, KillOnDrop, command, json};

pub const NOW: &str = "2026-11-22T09:00:00Z";

/// The example with the SCIM directory of `examples/directories/scim.yaml` at `url`,
/// committed to a git repository of its own. Its writes go one request each
/// (`bulk: false`), so a slow proxy makes a run last long enough to be stopped mid-way.
pub fn committed_example(url: &str) -> (Example, Repository) {
    let ex = Example::with_directory(
        "scim.yaml",
        &[
            ("https://app.acme.example/scim/v2", url),
            ("  concurrency: 4 ", "  bulk: false\n  concurrency: 4 "),
        ],
    );
    std::fs::write(ex.path(".gitignore"), ".hrsync/\n").unwrap();
    let repo = Repository::init(ex.repo()).unwrap();
    commit_all(&repo, "the example");
    (ex, repo)
}

/// A slow proxy: each create waits `ms` before it reaches the server.
pub fn slow_creates(server: &ScimServer, ms: u64) -> Proxy {
    Proxy::start(
        server.port,
        move |_, method, _| if method == "POST" { Fault::Delay(ms) } else { Fault::None },
    )
}

/// `hrsync` with the SCIM token set and no inherited HRSYNC_* settings.
pub fn hrsync(args: &[&str]) -> Command {
    let mut cmd = command(args);
    cmd.env("SCIM_TOKEN", TOKEN);
    cmd
}

fn signal(child: &KillOnDrop, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

fn wait(child: &mut KillOnDrop) -> (Option<i32>, String) {
    let mut stopped = None;
    eventually("the daemon to stop", || {
        stopped = child.try_wait().unwrap();
        stopped.is_some()
    });
    let mut log = String::new();
    if let Some(mut err) = child.stderr.take() {
        std::io::Read::read_to_string(&mut err, &mut log).unwrap();
    }
    (stopped.unwrap().code(), log)
}

/// The server's users by externalId; every test checks that none has two accounts.
pub fn by_external_id(server: &ScimServer) -> BTreeMap<String, Vec<Json>> {
    crate::scim::by_external_id(&server.users())
}

/// Counts the users once the creates still held by the proxy have gone through.
pub fn settled_count(server: &ScimServer) -> usize {
    std::thread::sleep(Duration::from_millis(600));
    server.users().len()
}

#[test]
fn sigterm_finishes_the_run_and_a_second_one_abandons_it() {
    let server = ScimServer::start();
    let proxy = slow_creates(&server, 100);
    let (ex, repo) = committed_example(&proxy.url());
    let state = tempfile::tempdir().unwrap();
    let watch = |state: &Path| {
        KillOnDrop(
            hrsync(&["--repo", ex.repo().to_str().unwrap(), "--state-dir", state.to_str().unwrap()])
                .args(["--now", NOW, "daemon"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        )
    };

    // Two SIGTERMs: the run is abandoned; what was applied stays, no result is committed.
    let mut daemon = watch(state.path());
    eventually("the first creates", || server.users().len() >= 10);
    signal(&daemon, "TERM");
    std::thread::sleep(Duration::from_millis(200));
    signal(&daemon, "TERM");
    let (code, log) = wait(&mut daemon);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("abandoning the current run"), "{log}");
    let made = settled_count(&server);
    assert!((10..143).contains(&made), "abandoned mid-run: {made} users");
    let commits = reports(&repo);
    assert_eq!(commits.len(), 1, "the plan, and no result: {commits:#?}");
    assert!(commits[0].0.starts_with("Plan for `corp`: 143 to create"), "{commits:#?}");

    // One SIGTERM: the run in progress finishes, its result is committed, then it stops.
    let mut daemon = watch(state.path());
    eventually("more creates", || server.users().len() >= made + 10);
    signal(&daemon, "TERM");
    let (code, log) = wait(&mut daemon);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("finishing the current run"), "{log}");
    let users = by_external_id(&server);
    assert_eq!(users.len(), 143, "the run was finished");
    assert!(users.values().all(|v| v.len() == 1), "no one twice");
    let commits = reports(&repo);
    assert_eq!(commits.len(), 3, "{commits:#?}");
    assert!(commits[1].0.starts_with(&format!("Plan for `corp`: {} to create", 143 - made)), "{commits:#?}");
    assert_eq!(file_on_branch(&repo, "reports/result.json")["directories"]["corp"]["created"], 143 - made);
}

/// The example with its SCIM directory behind a proxy that holds each create `ms`,
/// committed, and served as a bare clone over git://: the remote two machines share.
pub struct Shared {
    pub server: ScimServer,
    pub proxy: Proxy,
    pub ex: Example,
    pub repo: Repository,
    /// The branch the config is on.
    pub branch: String,
    /// The remote's URL.
    pub url: String,
    /// The remote itself.
    pub remote: Repository,
    _dir: tempfile::TempDir,
    _git: GitDaemon,
}

impl Shared {
    pub fn start(ms: u64) -> Shared {
        let server = ScimServer::start();
        let proxy = slow_creates(&server, ms);
        let (ex, repo) = committed_example(&proxy.url());
        let branch = repo.head().unwrap().shorthand().unwrap().to_owned();
        let dir = tempfile::tempdir().unwrap();
        let bare = bare_clone(&ex.repo(), dir.path());
        let git = GitDaemon::start(dir.path());
        let url = format!("git://127.0.0.1:{}/sync.git", git.port);
        let remote = Repository::open_bare(&bare).unwrap();
        Shared { server, proxy, ex, repo, branch, url, remote, _dir: dir, _git: git }
    }

    /// Commits the sync repository's changes and pushes them to the remote.
    pub fn push(&self, message: &str) {
        commit_all(&self.repo, message);
        let pushed = Command::new("git")
            .arg("-C")
            .arg(self.ex.repo())
            .args(["push", "--quiet", &self.url, &format!("{0}:{0}", self.branch)])
            .status()
            .unwrap();
        assert!(pushed.success());
    }
}

#[test]
fn killed_mid_run_then_restarted_on_a_fresh_machine_it_converges_and_carries_on() {
    let shared = Shared::start(100);
    let Shared { server, ex, url, branch, remote, .. } = &shared;
    // Each machine: its own mirror of the remote and its own state directory.
    let once = |machine: &Path, now: &str| {
        let mut cmd = hrsync(&["--repo", url, "--state-dir", machine.to_str().unwrap(), "--now", now]);
        // A short lease: the killed daemon's keeps the next one waiting that long.
        cmd.args(["daemon", "--once", "--branch", branch, "--lease", "6s"]);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd
    };

    // Machine A is killed while it creates accounts. Its plan was pushed before it applied.
    let a = tempfile::tempdir().unwrap();
    let mut daemon = KillOnDrop(once(a.path(), NOW).spawn().unwrap());
    eventually("the first creates", || server.users().len() >= 10);
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let made = settled_count(server);
    assert!(made < 143, "killed mid-run: {made} users");
    let commits = reports(remote);
    assert_eq!(commits.len(), 1, "{commits:#?}");
    assert!(commits[0].0.starts_with("Plan for `corp`: 143 to create"), "{commits:#?}");

    // Machine B starts afresh: once A's run lease has run out (A no longer renews it;
    // B waits for that when it is still running), it creates exactly the rest.
    let b = tempfile::tempdir().unwrap();
    let out = once(b.path(), NOW).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(json(&stdout)["directories"]["corp"]["created"], 143 - made);
    let users = by_external_id(server);
    assert_eq!(users.len(), 143);
    assert!(users.values().all(|v| v.len() == 1), "no one twice");
    assert_eq!(reports(remote).len(), 3, "plan, plan of the rest, result");

    // 10060 is gone from the HR export: B disables the account on 1 December, starting
    // the 30-day timer to its deletion (a leaver with no end date counts from when
    // hrsync first saw them gone).
    ex.drop_malformed_row();
    ex.edit_germany(|_, line| (!line.starts_with("10060;")).then(|| line.to_owned()));
    shared.push("10060 is gone");
    let leaver = users["10060"][0]["id"].as_str().unwrap().to_owned();
    let out = once(b.path(), "2026-12-01T08:00:00Z").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(by_external_id(server)["10060"][0]["active"], false);
    let state = file_on_branch(remote, "reports/state.json").to_string();
    assert!(state.contains("2026-12-01"), "the timer is committed: {state}");
    assert!(!state.contains(&leaver) && !state.contains("10060"), "and names no one: {state}");

    // Machine C, fresh again, on 31 December: the timer carried over, so the account
    // is deleted now, not 30 days after C first saw it.
    let c = tempfile::tempdir().unwrap();
    let out = once(c.path(), "2026-12-31T08:00:00Z").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&stdout)["directories"]["corp"]["deleted"], 1, "{stdout}");
    let users = by_external_id(server);
    assert!(!users.contains_key("10060"));
    assert_eq!(users.len(), 142);
}
