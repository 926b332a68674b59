//! `hrsync daemon --once` against real git repositories made with git2: plans and
//! results committed to the reports branch with their trailers, no empty commits,
//! HEAD and the working tree untouched, a config commit leading to exactly its plan.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use git2::{Repository, Signature};
use hrsync::config::files::RepoFiles;
use hrsync::git::GitTree;
use hrsync::report::plan::Limits;

use crate::util::{KillOnDrop, Run, command, copy_dir, json, root, run};

/// A git repository holding the example in `sync/`, committed once.
fn repository() -> (tempfile::TempDir, Repository) {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/sync-repo"), &tmp.path().join("sync"));
    std::fs::write(tmp.path().join(".gitignore"), ".hrsync/\n").unwrap();
    let repo = Repository::init(tmp.path()).unwrap();
    commit_all(&repo, "the example");
    (tmp, repo)
}

pub fn commit_all(repo: &Repository, message: &str) -> git2::Oid {
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = Signature::now("Config Author", "author@acme.example").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).unwrap()
}

/// 30 people of the example's German export leave at once (an end date in the past):
/// 21 % of the managed entries, over the example's safety limit of 20 %.
pub fn thirty_leave(sync: &Path) {
    let csv = sync.join("data/germany.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let edited: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut cells: Vec<&str> = l.split(';').collect();
            if (50..80).contains(&i) {
                cells[10] = "31.10.2026";
            }
            format!("{}\n", cells.join(";"))
        })
        .collect();
    std::fs::write(&csv, edited).unwrap();
}

fn daemon_once(dir: &Path, now: &str) -> Run {
    let sync = dir.join("sync");
    run(&["--repo", sync.to_str().unwrap(), "--now", now, "daemon", "--once"])
}

fn daemon_once_on(dir: &Path, branch: &str, now: &str) -> Run {
    let sync = dir.join("sync");
    run(&["--repo", sync.to_str().unwrap(), "--now", now, "daemon", "--once", "--branch", branch])
}

/// The reports branch's commits, newest first: (message, files changed).
pub fn reports(repo: &Repository) -> Vec<(String, Vec<String>)> {
    let Ok(tip) = repo.find_reference("refs/heads/hrsync/reports") else { return Vec::new() };
    let mut walk = repo.revwalk().unwrap();
    walk.push(tip.target().unwrap()).unwrap();
    walk.map(|oid| {
        let c = repo.find_commit(oid.unwrap()).unwrap();
        let parent_tree = c.parent(0).ok().map(|p| p.tree().unwrap());
        let diff = repo.diff_tree_to_tree(parent_tree.as_ref(), Some(&c.tree().unwrap()), None).unwrap();
        let files =
            diff.deltas().map(|d| d.new_file().path().unwrap().to_string_lossy().into_owned()).collect();
        (c.message().unwrap().to_owned(), files)
    })
    .collect()
}

pub fn file_on_branch(repo: &Repository, path: &str) -> serde_json::Value {
    let tip = repo.find_reference("refs/heads/hrsync/reports").unwrap().peel_to_commit().unwrap();
    let entry = tip.tree().unwrap().get_path(Path::new(path)).unwrap();
    serde_json::from_slice(entry.to_object(repo).unwrap().peel_to_blob().unwrap().content()).unwrap()
}

#[test]
fn one_cycle_commits_the_plan_then_the_result_and_nothing_when_nothing_changed() {
    let (tmp, repo) = repository();
    let head = repo.head().unwrap().target().unwrap();
    let sync = tmp.path().join("sync");
    let full =
        run(&["--repo", sync.to_str().unwrap(), "--now", "2026-11-22T09:00:00Z", "plan", "--pii", "full"]);
    let out = daemon_once(tmp.path(), "2026-11-22T09:00:00Z");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(json(&out.stdout)["directories"]["corp"]["created"], 143);

    let commits = reports(&repo);
    assert_eq!(commits.len(), 2, "{commits:#?}");
    let (plan_message, plan_files) = &commits[1];
    let plan_id = file_on_branch(&repo, "reports/corp/plan.json")["id"].as_str().unwrap().to_owned();
    assert!(plan_message.starts_with("Plan for `corp`: 143 to create"), "{plan_message}");
    assert!(plan_message.contains(&format!("\nConfig-Revision: {head}\n")), "{plan_message}");
    assert!(plan_message.contains(&format!("\nPlan-Id: {plan_id}\n")), "{plan_message}");
    // The plan: its Markdown, its index and the parts the index lists.
    let index = file_on_branch(&repo, "reports/corp/plan.json");
    let mut expected: Vec<String> = index["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("reports/corp/{}", p["path"].as_str().unwrap()))
        .collect();
    assert!(expected.contains(&"reports/corp/plan/create-0001.jsonl".to_owned()), "{index:#}");
    expected.extend(["reports/corp/plan.json".to_owned(), "reports/corp/plan.md".to_owned()]);
    expected.sort();
    assert_eq!(plan_files, &expected);
    let (result_message, result_files) = &commits[0];
    assert!(result_message.contains(&format!("Plan-Id: {plan_id}")), "{result_message}");
    assert_eq!(result_files, &["reports/result.json", "reports/state.json", "reports/status.json"]);
    let state = file_on_branch(&repo, "reports/state.json");
    assert_eq!(state["serial"], 1);
    assert!(state["sources"]["germany"]["last_sync_at"].is_string(), "{state}");
    assert_eq!(file_on_branch(&repo, "reports/result.json")["directories"]["corp"]["created"], 143);
    // Personal data in committed reports follows reports.pii (masked in the example), in
    // the parts as in the rest.
    for needle in ["gunther.bohm@acme.example", "Günther"] {
        assert!(full.stdout.contains(needle), "{needle} is in the plan");
        for (path, bytes) in corp_reports(&repo) {
            assert!(!String::from_utf8_lossy(&bytes).contains(needle), "{needle} in {path}: masked");
        }
    }

    assert_eq!(repo.head().unwrap().target().unwrap(), head, "HEAD untouched");
    let statuses = repo.statuses(None).unwrap();
    let changed: Vec<String> =
        statuses.iter().filter(|s| !s.status().is_ignored()).map(|s| s.path().unwrap().to_owned()).collect();
    assert!(changed.is_empty(), "working tree untouched: {changed:?}");

    // The next run records the plan settling (no changes left, counts back to zero)…
    let settled = daemon_once(tmp.path(), "2026-11-22T10:00:00Z");
    assert_eq!(settled.code, 0, "{settled:?}");
    let commits = reports(&repo);
    assert_eq!(commits.len(), 4, "{commits:#?}");
    assert!(commits[1].0.starts_with("Plan for `corp`: 0 to create, 0 to update"), "{commits:#?}");
    // …and later runs the same day, with nothing changed, commit nothing at all.
    for now in ["2026-11-22T11:00:00Z", "2026-11-22T12:00:00Z"] {
        let again = daemon_once(tmp.path(), now);
        assert_eq!(again.code, 0, "{again:?}");
        assert!(again.stderr.contains("nothing changed"), "{again:?}");
    }
    assert_eq!(reports(&repo).len(), 4);
}

#[test]
fn a_config_commit_gives_its_plan_and_result() {
    let (tmp, repo) = repository();
    assert_eq!(daemon_once(tmp.path(), "2026-11-22T09:00:00Z").code, 0);
    assert_eq!(daemon_once(tmp.path(), "2026-11-22T09:30:00Z").code, 0);
    let before = reports(&repo).len();
    // A new colleague, committed to the config branch.
    let csv = tmp.path().join("sync/data/germany.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("10999;Neue;Kollegin;neue.kollegin@acme.example;DE-ENG;Engineer;10002;Aktiv;Festangestellt;01.11.2026;;Berlin;ACME GmbH;\n");
    std::fs::write(&csv, text).unwrap();
    let config = commit_all(&repo, "hire");
    let out = daemon_once(tmp.path(), "2026-11-22T10:00:00Z");
    assert_eq!(out.code, 0, "{out:?}");
    let commits = reports(&repo);
    assert_eq!(commits.len(), before + 2, "{commits:#?}");
    assert!(commits[1].0.starts_with("Plan for `corp`: 1 to create, 0 to update"), "{:?}", commits[1]);
    assert!(commits[1].0.contains(&format!("Config-Revision: {config}")));
    assert_eq!(file_on_branch(&repo, "reports/result.json")["directories"]["corp"]["created"], 1);
}

#[test]
fn mode_plan_commits_the_plan_and_writes_nothing_and_mode_off_skips_the_directory() {
    let (tmp, repo) = repository();
    let corp = tmp.path().join("sync/directories/corp.yaml");
    let entries = tmp.path().join("sync/.hrsync/directories/corp");
    let set_mode = |from: &str, to: &str| {
        let text = std::fs::read_to_string(&corp).unwrap();
        assert!(text.contains(&format!("mode: {from} ")));
        std::fs::write(&corp, text.replace(&format!("mode: {from} "), &format!("mode: {to} "))).unwrap();
        commit_all(&repo, &format!("mode {to}"))
    };

    set_mode("apply", "plan");
    let out = daemon_once(tmp.path(), "2026-11-22T09:00:00Z");
    assert_eq!(out.code, 0, "{out:?}");
    let commits = reports(&repo);
    assert_eq!(commits.len(), 2, "{commits:#?}");
    assert!(commits[1].0.starts_with("Plan for `corp`: 143 to create"), "{commits:#?}");
    let result = file_on_branch(&repo, "reports/result.json");
    let corp_result = &result["directories"]["corp"];
    assert_eq!((corp_result["mode"].as_str(), corp_result["applied"].as_bool()), (Some("plan"), Some(false)));
    assert_eq!(std::fs::read_dir(&entries).map(|d| d.count()).unwrap_or(0), 0, "a simulation writes nothing");
    // The same simulation again: the plan is not committed again, the result once more
    // (the sources' reads are no longer new), and then nothing at all: what a plan
    // would write is no write.
    assert_eq!(daemon_once(tmp.path(), "2026-11-22T09:30:00Z").code, 0);
    let commits = reports(&repo);
    assert!(commits[0].0.starts_with("Run ") && commits.len() == 3, "{commits:#?}");
    let again = daemon_once(tmp.path(), "2026-11-22T09:45:00Z");
    assert!(again.stderr.contains("nothing changed"), "{again:?}");
    assert_eq!(reports(&repo).len(), 3);

    // Off: no plan, no write, and the result says why.
    set_mode("plan", "off");
    let out = daemon_once(tmp.path(), "2026-11-22T10:00:00Z");
    assert_eq!(out.code, 0, "{out:?}");
    let commits = reports(&repo);
    assert!(commits[0].0.starts_with("Run "), "no new plan commit: {commits:#?}");
    assert_eq!(commits.len(), 4, "{commits:#?}");
    let corp_result = &file_on_branch(&repo, "reports/result.json")["directories"]["corp"];
    assert_eq!(corp_result["skipped"], true, "{corp_result}");
    assert_eq!(corp_result["reason"], "mode is off", "{corp_result}");
    assert_eq!(std::fs::read_dir(&entries).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn uncommitted_config_is_not_used_and_a_checked_out_reports_branch_is_refused() {
    let (tmp, repo) = repository();
    // An edit in the working tree that was never committed: the daemon reads HEAD.
    std::fs::write(tmp.path().join("sync/directories/corp.yaml"), "not: [valid").unwrap();
    let out = daemon_once(tmp.path(), "2026-11-22T09:00:00Z");
    assert_eq!(out.code, 0, "{out:?}");
    // Check out the reports branch: hrsync must not write to it.
    let config_branch = repo.head().unwrap().shorthand().unwrap().to_owned();
    repo.set_head("refs/heads/hrsync/reports").unwrap();
    let out = daemon_once_on(tmp.path(), &config_branch, "2026-11-22T10:00:00Z");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("checked out"), "{out:?}");
}

#[test]
fn a_blocked_plan_is_committed_with_its_approval_and_a_committed_approval_is_picked_up() {
    let (tmp, repo) = repository();
    assert_eq!(daemon_once(tmp.path(), "2026-11-22T09:00:00Z").code, 0);
    thirty_leave(&tmp.path().join("sync"));
    commit_all(&repo, "thirty leave");
    let blocked = daemon_once(tmp.path(), "2026-11-22T10:00:00Z");
    assert_eq!(blocked.code, 1, "a blocked plan fails the run: {blocked:?}");
    let plan = file_on_branch(&repo, "reports/corp/plan.json");
    assert_eq!(plan["status"], "blocked", "{plan:#}");
    let id = plan["id"].as_str().unwrap().to_owned();
    let commits = reports(&repo);
    let plan_commit = commits
        .iter()
        .find(|(m, _)| m.starts_with("Plan for `corp`: 0 to create, 0 to update, 30 to disable"));
    assert!(
        plan_commit.is_some_and(|(m, _)| m.contains("(blocked)") && m.contains(&format!("Plan-Id: {id}"))),
        "{commits:#?}"
    );
    let tip = repo.find_reference("refs/heads/hrsync/reports").unwrap().peel_to_commit().unwrap();
    let md = tip.tree().unwrap().get_path(Path::new("reports/corp/plan.md")).unwrap();
    let md =
        String::from_utf8(md.to_object(&repo).unwrap().peel_to_blob().unwrap().content().to_vec()).unwrap();
    assert!(md.contains(&format!("add `{id}` to `approvals` in `hrsync.yaml`")), "{md}");
    let result = file_on_branch(&repo, "reports/result.json");
    assert_eq!(result["directories"]["corp"]["applied"], false, "{result:#}");

    // The approval, committed to the config branch, is picked up by the next cycle.
    let ws = tmp.path().join("sync/hrsync.yaml");
    let text = std::fs::read_to_string(&ws).unwrap().replace("approvals: []", &format!("approvals: [{id}]"));
    std::fs::write(&ws, text).unwrap();
    commit_all(&repo, "approve the leavers");
    let approved = daemon_once(tmp.path(), "2026-11-22T11:00:00Z");
    assert_eq!(approved.code, 0, "{approved:?}");
    let result = file_on_branch(&repo, "reports/result.json");
    assert_eq!(
        (&result["directories"]["corp"]["applied"], &result["directories"]["corp"]["disabled"]),
        (&serde_json::json!(true), &serde_json::json!(30)),
        "{result:#}"
    );
    // The run state on the branch records the approval.
    let state = file_on_branch(&repo, "reports/state.json");
    let approval = &state["directories"]["corp"]["last_approval"];
    assert_eq!(
        (approval["plan"].as_str(), approval["by"].as_str()),
        (Some(id.as_str()), Some("repository")),
        "{state:#}"
    );
}

/// One cycle of `hrsync daemon --once` on the repository in `dir`, run in this process
/// with the caps of committed plans set to `limits`.
fn cycle_within(dir: &Path, now: &str, limits: &Limits) -> hrsync::daemon::Cycle {
    let sync = dir.join("sync");
    let files: Arc<dyn RepoFiles> = Arc::new(GitTree::open(&sync, "HEAD").unwrap());
    let revision = files.revision().unwrap();
    let config = hrsync::run::load_config(files.as_ref(), false).unwrap();
    let run =
        hrsync::run::Run::open(files, config, None, now.parse().unwrap(), hrsync::run::ShowProgress::Off)
            .unwrap();
    // As the daemon does: the lock first (it makes the state directory's label key).
    let _lock = run.store.lock().unwrap();
    let pii = run.pii(None).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(hrsync::daemon::cycle(&run, &sync, &revision, pii, limits, &|| Ok(()))).unwrap()
}

/// The files of the reports branch's tip below `reports/corp/`, by path below it.
fn corp_reports(repo: &Repository) -> BTreeMap<String, Vec<u8>> {
    let tip = repo.find_reference("refs/heads/hrsync/reports").unwrap().peel_to_commit().unwrap();
    let mut files = BTreeMap::new();
    tip.tree()
        .unwrap()
        .walk(git2::TreeWalkMode::PreOrder, |dir, e| {
            if let (Some(below), Some(git2::ObjectType::Blob)) = (dir.strip_prefix("reports/corp/"), e.kind())
            {
                let blob = e.to_object(repo).unwrap().peel_to_blob().unwrap();
                files.insert(format!("{below}{}", e.name().unwrap()), blob.content().to_vec());
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap();
    files
}

/// Checks the committed plan of `corp` against its caps, and puts its rows back
/// together from the parts `plan.json` lists: the index and the rows.
fn committed_plan(repo: &Repository, limits: &Limits) -> (serde_json::Value, Vec<serde_json::Value>) {
    let files = corp_reports(repo);
    let index: serde_json::Value = serde_json::from_slice(&files["plan.json"]).unwrap();
    assert!(index.get("rows").is_none(), "the index holds no rows");
    let md = &files["plan.md"];
    assert!(md.len() <= limits.markdown_bytes, "plan.md: {} bytes", md.len());
    let parts = index["parts"].as_array().unwrap();
    let listed: BTreeSet<String> = parts.iter().map(|p| p["path"].as_str().unwrap().to_owned()).collect();
    let present: BTreeSet<String> =
        files.keys().filter(|p| *p != "plan.json" && *p != "plan.md").cloned().collect();
    assert_eq!(listed, present, "the parts committed are the parts listed, no more");
    let mut rows = Vec::new();
    for part in parts {
        let bytes = &files[part["path"].as_str().unwrap()];
        assert!(bytes.len() <= limits.part_bytes, "{part}: {} bytes", bytes.len());
        assert_eq!(part["bytes"], bytes.len(), "{part}");
        assert_eq!(part["blake3"], blake3::hash(bytes).to_hex().as_str(), "{part}");
        let lines: Vec<serde_json::Value> =
            std::str::from_utf8(bytes).unwrap().lines().map(crate::util::json).collect();
        assert_eq!(part["rows"], lines.len(), "{part}");
        if part["holds"] != "skipped_records" && part["holds"] != "groups" {
            rows.extend(lines);
        }
    }
    (index, rows)
}

#[test]
fn a_plan_past_the_caps_is_committed_in_parts_and_a_smaller_one_takes_the_stale_parts_away() {
    let (tmp, repo) = repository();
    let sync = tmp.path().join("sync");
    let corp = sync.join("directories/corp.yaml");
    let set_mode = |from: &str, to: &str| {
        let text = std::fs::read_to_string(&corp).unwrap();
        assert!(text.contains(&format!("mode: {from} ")));
        std::fs::write(&corp, text.replace(&format!("mode: {from} "), &format!("mode: {to} "))).unwrap();
        commit_all(&repo, &format!("mode {to}"));
    };
    // Caps a plan of 143 creates passes by far; the real ones are the same code.
    let limits = Limits {
        part_bytes: 6 * 1024,
        part_min_rows: 2,
        part_odds: 4,
        markdown_rows: 20,
        markdown_bytes: 24 * 1024,
    };
    let now = "2026-11-22T09:00:00Z";

    // A simulation first: the plan of 143 creates is committed, nothing is written.
    set_mode("apply", "plan");
    let first = cycle_within(tmp.path(), now, &limits);
    assert_eq!(first.commits.len(), 2, "{:?}", first.commits);
    let (index, rows) = committed_plan(&repo, &limits);
    let creates = index["parts"].as_array().unwrap().iter().filter(|p| p["holds"] == "create").count();
    assert!(creates > 3, "the creates are cut into parts: {index:#}");
    // Put back together, the rows are those of the plan (masked, as reports.pii says).
    let plan =
        &json(&run(&["--repo", sync.to_str().unwrap(), "--now", now, "plan", "--format", "json"]).stdout)[0];
    assert_eq!(plan["rows"].as_array().unwrap(), &rows);
    assert_eq!(plan["summary"]["create"], 143);
    for key in ["id", "status", "summary", "safety", "blocked_by", "mode"] {
        assert_eq!(index.get(key), plan.get(key), "{key}");
    }
    // The Markdown has the head and the first rows, and says where the rest is.
    let md = String::from_utf8(corp_reports(&repo)["plan.md"].clone()).unwrap();
    let id = plan["id"].as_str().unwrap();
    assert!(md.contains(&format!("**Ready to apply** · plan `{id}`")), "{md}");
    let listed = md.matches("\n#### ").count();
    assert!((1..=limits.markdown_rows).contains(&listed), "{listed} rows: {md}");
    let parts: Vec<&str> = index["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["holds"] == "create")
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    let pointer = format!(
        "all 143 are in {} files, [`{}`]({}) to [`{}`]({})",
        parts.len(),
        parts[0],
        parts[0],
        parts[parts.len() - 1],
        parts[parts.len() - 1]
    );
    assert!(md.contains(&pointer), "{pointer}: {md}");

    // The same plan an hour later: the same bytes, so no plan commit (the result records
    // that the sources' reads are no longer new), and then no commit at all.
    let again = cycle_within(tmp.path(), "2026-11-22T10:00:00Z", &limits);
    assert!(again.commits.iter().all(|(_, subject)| !subject.starts_with("Plan")), "{:?}", again.commits);
    let commits = reports(&repo).len();
    let quiet = cycle_within(tmp.path(), "2026-11-22T10:30:00Z", &limits);
    assert!(quiet.commits.is_empty(), "{:?}", quiet.commits);
    assert_eq!(reports(&repo).len(), commits);

    // Applied as reviewed: the committed index is a saved plan `apply --plan` takes.
    set_mode("plan", "apply");
    let saved = tmp.path().join("plan.json");
    std::fs::write(&saved, &corp_reports(&repo)["plan.json"]).unwrap();
    let sync_arg = sync.to_str().unwrap();
    let applied = run(&[
        "--repo",
        sync_arg,
        "--now",
        "2026-11-22T11:00:00Z",
        "apply",
        "--plan",
        saved.to_str().unwrap(),
    ]);
    assert!(applied.stdout.contains("Applied to `corp`: 143 created, 0 updated"), "{applied:?}");
    // Settled: the next plan creates nothing, and its commit takes the create parts of
    // the larger plan away.
    let settled = cycle_within(tmp.path(), "2026-11-22T12:00:00Z", &limits);
    let (subject, files) = &reports(&repo)[1];
    assert!(subject.starts_with("Plan for `corp`: 0 to create"), "{subject}: {:?}", settled.commits);
    let (index, rows) = committed_plan(&repo, &limits);
    assert!(rows.iter().all(|r| r["action"] != "create"), "{rows:#?}");
    for part in &parts {
        assert!(
            files.contains(&format!("reports/corp/{part}")),
            "{part} is taken away in that commit: {files:?}"
        );
    }
    let plan = &json(
        &run(&[
            "--repo",
            sync.to_str().unwrap(),
            "--now",
            "2026-11-22T12:00:00Z",
            "plan",
            "--format",
            "json",
        ])
        .stdout,
    )[0];
    assert_eq!(plan["rows"].as_array().unwrap(), &rows);
    assert_eq!(index["id"], plan["id"]);
}

/// [`repository`], applied once as of 2026-11-22, with the name of its branch.
fn applied_repository() -> (tempfile::TempDir, Repository, String) {
    let (tmp, repo) = repository();
    let main = repo.head().unwrap().shorthand().unwrap().to_owned();
    let sync = tmp.path().join("sync");
    assert_eq!(run(&["--repo", sync.to_str().unwrap(), "--now", "2026-11-22T09:00:00Z", "apply"]).code, 0);
    (tmp, repo, main)
}

/// Commits to a new branch `pr` the German rows `hires` and `l` written in capitals, then
/// checks `main` out again.
fn pull_request(tmp: &tempfile::TempDir, repo: &Repository, main: &str, hires: &[String]) {
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    repo.branch("pr", &head, false).unwrap();
    repo.set_head("refs/heads/pr").unwrap();
    let dir = tmp.path().join("sync/directories/corp.yaml");
    let text =
        std::fs::read_to_string(&dir).unwrap().replace("{{ work_location }}", "{{ work_location | upper }}");
    std::fs::write(&dir, text).unwrap();
    let csv = tmp.path().join("sync/data/germany.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    for row in hires {
        text.push_str(row);
        text.push('\n');
    }
    std::fs::write(&csv, text).unwrap();
    commit_all(repo, "pr");
    repo.set_head(&format!("refs/heads/{main}")).unwrap();
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force())).unwrap();
}

/// Commits `edit` (of the sync repository's folder) to a new branch `name`, then checks
/// `main` out again.
fn branch(tmp: &tempfile::TempDir, repo: &Repository, main: &str, name: &str, edit: impl FnOnce(&Path)) {
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    repo.branch(name, &head, false).unwrap();
    repo.set_head(&format!("refs/heads/{name}")).unwrap();
    edit(&tmp.path().join("sync"));
    commit_all(repo, name);
    repo.set_head(&format!("refs/heads/{main}")).unwrap();
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force())).unwrap();
}

#[test]
fn a_review_gives_the_branch_plans_verdict_with_the_approval_and_a_broken_configs_errors() {
    let (tmp, repo, main) = applied_repository();
    let sync = tmp.path().join("sync");
    let sync = sync.to_str().unwrap();
    let now = "2026-11-22T09:00:00Z";
    // A branch that leaves out everyone in Berlin: a mass disable, blocked by the guard.
    branch(&tmp, &repo, &main, "no-berlin", |dir| {
        let filter = dir.join("filters/staff.yaml");
        let mut text = std::fs::read_to_string(&filter).unwrap();
        text.push_str("  - { field: work_location, in: [Berlin], reason: the Berlin office closes }\n");
        std::fs::write(filter, text).unwrap();
    });
    let review = tmp.path().join("review.md");
    let args = |r: &str, out: &Path| {
        let out = out.to_str().unwrap().to_owned();
        run(&[
            "--repo",
            sync,
            "--ref",
            r,
            "--now",
            now,
            "plan",
            "--base",
            &main,
            "--detailed-exitcode",
            "--out",
            &out,
        ])
    };
    let out = args("no-berlin", &review);
    assert_eq!(out.code, 2, "{out:?}");
    let text = std::fs::read_to_string(&review).unwrap();
    let plan =
        json(&run(&["--repo", sync, "--ref", "no-berlin", "--now", now, "plan", "--format", "json"]).stdout);
    let id = plan[0]["id"].as_str().unwrap();
    assert_eq!(plan[0]["status"], "blocked");
    assert!(text.contains(&format!("| `corp` | **blocked** · plan `{id}` | no changes · plan `")), "{text}");
    assert!(text.contains(&format!("add `{id}` to `approvals` in `hrsync.yaml`")), "{text}");
    assert!(text.contains("(limit 20 %)") || text.contains("limit 20 %"), "{text}");
    let disables = plan[0]["summary"]["disable"].as_u64().unwrap();
    assert!(disables > 20, "{disables}");
    assert!(text.contains(&format!("disables the account of {disables} people")), "{text}");
    assert!(text.contains("| Person | On the base | With this change | Why |"), "{text}");
    assert!(text.contains("the Berlin office closes"), "each row's reason: {text}");
    assert!(text.contains("Skipped rows of the sources (1)"), "the example's malformed row: {text}");

    // A branch whose config does not parse still gets a review: the errors, with lines.
    branch(&tmp, &repo, &main, "broken", |dir| {
        let corp = dir.join("directories/corp.yaml");
        let text = std::fs::read_to_string(&corp).unwrap().replace("mode: apply", "mode: [apply");
        std::fs::write(corp, text).unwrap();
    });
    let broken = tmp.path().join("broken.md");
    let out = args("broken", &broken);
    assert_eq!(out.code, 1, "{out:?}");
    let text = std::fs::read_to_string(&broken).unwrap();
    assert!(text.starts_with("## hrsync: this change cannot be planned"), "{text}");
    assert!(text.contains("directories/corp.yaml:"), "file and line: {text}");
}

#[test]
fn an_allowance_merged_through_review_lets_the_daemon_apply_a_mass_change_on_a_later_day() {
    let (tmp, repo) = repository();
    assert_eq!(daemon_once(tmp.path(), "2026-11-22T09:00:00Z").code, 0);
    // Merged: everyone in Berlin leaves. The plan is blocked by the guard.
    let filter = tmp.path().join("sync/filters/staff.yaml");
    let mut text = std::fs::read_to_string(&filter).unwrap();
    text.push_str("  - { field: work_location, in: [Berlin], reason: the Berlin office closes }\n");
    std::fs::write(&filter, text).unwrap();
    commit_all(&repo, "close the Berlin office");
    let blocked = daemon_once(tmp.path(), "2026-11-23T09:00:00Z");
    let corp = &file_on_branch(&repo, "reports/result.json")["directories"]["corp"];
    assert_eq!(corp["plan_status"], "blocked", "{blocked:?}");
    assert!(blocked.stderr.contains("plan blocked by the safety limits"), "said at WARN: {blocked:?}");
    let disables = file_on_branch(&repo, "reports/corp/plan.json")["summary"]["disable"].as_u64().unwrap();

    // A second reviewed commit allows it until the 25th; the next day's plan (another
    // plan id: another date) applies within it.
    let workspace = tmp.path().join("sync/hrsync.yaml");
    let mut text = std::fs::read_to_string(&workspace).unwrap();
    text.push_str(&format!(
        "allowances:\n  - {{ directory: corp, max_disables: {}, until: \"2026-11-25\", reason: the Berlin office closes }}\n",
        disables + 5
    ));
    std::fs::write(&workspace, text).unwrap();
    let allowed = commit_all(&repo, "allow the Berlin closure");
    let applied = daemon_once(tmp.path(), "2026-11-24T09:00:00Z");
    assert_eq!(applied.code, 0, "{applied:?}");
    let corp = &file_on_branch(&repo, "reports/result.json")["directories"]["corp"];
    assert_eq!(corp["applied"], true, "{corp:#}");
    assert_eq!(corp["disabled"].as_u64(), Some(disables), "{corp:#}");
    let by = &corp["approved_by"];
    assert_eq!((by["by"].as_str(), by["index"].as_u64()), (Some("allowance"), Some(0)), "{corp:#}");
    assert_eq!(by["commit"], allowed.to_string(), "the commit that added it: {corp:#}");
    assert_eq!(by["reason"], "the Berlin office closes");
    let plan = file_on_branch(&repo, "reports/corp/plan.json");
    assert_eq!(plan["approved_by"], *by, "the committed plan says so too");

    // Once expired, validate names it, and it holds no more.
    let sync = tmp.path().join("sync");
    let out = run(&["--repo", sync.to_str().unwrap(), "--now", "2026-11-26T09:00:00Z", "validate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(
            "allowance 1 for `corp` (the Berlin office closes) expired on 2026-11-25 and is ignored"
        ),
        "{out:?}"
    );
}

/// Every `Plan-Id` a commit of the reports branch names, and whether each is the id of
/// a `plan.json` committed on the branch.
fn plan_ids_in_git(repo: &Repository) -> Vec<(String, bool)> {
    let tip = repo.find_reference("refs/heads/hrsync/reports").unwrap().peel_to_commit().unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push(tip.id()).unwrap();
    let mut committed = std::collections::BTreeSet::new();
    let mut named = Vec::new();
    for oid in walk {
        let c = repo.find_commit(oid.unwrap()).unwrap();
        if let Ok(entry) = c.tree().unwrap().get_path(Path::new("reports/corp/plan.json")) {
            let blob = entry.to_object(repo).unwrap().peel_to_blob().unwrap();
            let plan: serde_json::Value = serde_json::from_slice(blob.content()).unwrap();
            committed.insert(plan["id"].as_str().unwrap().to_owned());
        }
        for line in c.message().unwrap().lines() {
            if let Some(id) = line.strip_prefix("Plan-Id: ") {
                named.push(id.to_owned());
            }
        }
    }
    named.into_iter().map(|id| (id.clone(), committed.contains(&id))).collect()
}

#[test]
fn a_failed_plan_and_a_broken_config_each_leave_a_commit_on_the_reports_branch() {
    let (tmp, repo) = repository();
    for day in ["22", "23", "24"] {
        assert_eq!(daemon_once(tmp.path(), &format!("2026-11-{day}T09:00:00Z")).code, 0);
    }
    let quiet = file_on_branch(&repo, "reports/corp/plan.json");
    assert_eq!(quiet["status"], "no_changes");
    // The German export arrives empty: the source is unhealthy, the plan fails, and the
    // branch says so instead of showing the last quiet plan.
    let csv = tmp.path().join("sync/data/germany.csv");
    let header = std::fs::read_to_string(&csv).unwrap().lines().next().unwrap().to_owned();
    std::fs::write(&csv, format!("{header}\n")).unwrap();
    commit_all(&repo, "an empty export");
    let failed = daemon_once(tmp.path(), "2026-11-25T09:00:00Z");
    let plan = file_on_branch(&repo, "reports/corp/plan.json");
    assert_eq!(plan["status"], "failed", "{failed:?}");
    assert!(plan["blocked_by"][0].as_str().unwrap().contains("source `germany` is unhealthy"), "{plan:#}");
    assert_eq!(file_on_branch(&repo, "reports/result.json")["directories"]["corp"]["plan"], plan["id"]);

    // A commit that breaks the config: the branch records the errors and the revision.
    let corp = tmp.path().join("sync/directories/corp.yaml");
    let text = std::fs::read_to_string(&corp).unwrap().replace("mode: apply", "mode: [apply");
    std::fs::write(&corp, text).unwrap();
    let broken = commit_all(&repo, "a typo");
    let out = daemon_once(tmp.path(), "2026-11-25T10:00:00Z");
    assert_eq!(out.code, 1, "{out:?}");
    let status = file_on_branch(&repo, "reports/status.json");
    assert_eq!(status["status"], "invalid_config", "{status:#}");
    assert_eq!(status["revision"], broken.to_string());
    let error = &status["errors"][0];
    assert_eq!(error["file"], "directories/corp.yaml", "{status:#}");
    assert!(error["line"].as_u64().is_some_and(|l| l >= 8) && error["message"].is_string(), "{status:#}");
    let (subject, _) = &reports(&repo)[0];
    assert!(subject.starts_with("Config at ") && subject.contains("is not valid"), "{subject}");
    // Every Plan-Id a commit names is a plan in git.
    let ids = plan_ids_in_git(&repo);
    assert!(ids.len() >= 4, "{ids:?}");
    assert!(ids.iter().all(|(_, in_git)| *in_git), "{ids:?}");
}

#[test]
fn plan_base_tells_what_a_branch_changes_and_touches_nothing() {
    let (tmp, repo, main) = applied_repository();
    let sync = tmp.path().join("sync");
    let sync = sync.to_str().unwrap();
    let now = "2026-11-22T09:00:00Z";
    let entries = || std::fs::read_dir(tmp.path().join("sync/.hrsync/directories/corp")).unwrap().count();
    let before = entries();

    // A pull request: one new colleague, and `l` written in capitals.
    pull_request(&tmp, &repo, &main, &["10999;Neue;Kollegin;neue.kollegin@acme.example;DE-ENG;Engineer;10002;Aktiv;Festangestellt;01.11.2026;;Berlin;ACME GmbH;".to_owned()]);

    let out =
        run(&["--repo", sync, "--ref", "pr", "--now", now, "plan", "--base", &main, "--detailed-exitcode"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("gives 1 person an account"), "{out:?}");
    // The new colleague joins Engineering's group and the permanent staff's.
    assert!(
        out.stdout.contains("gives 1 person an account, changes `l` for 143 people and changes 2 groups |"),
        "{out:?}"
    );
    assert!(out.stdout.contains("2 groups this change affects"), "{out:?}");
    assert!(out.stdout.contains("| `germany:10…99#"), "masked, with a hash: {out:?}");
    assert!(out.stdout.contains("` N… K… | nothing to do | create"), "masked: {out:?}");
    assert!(!out.stdout.contains("neue.kollegin"), "{out:?}");
    assert_eq!(entries(), before, "plan-only: nothing written");

    // The base against itself: no effect.
    let same =
        run(&["--repo", sync, "--ref", &main, "--now", now, "plan", "--base", &main, "--detailed-exitcode"]);
    assert_eq!(same.code, 0, "{same:?}");
    assert!(same.stdout.contains("| no effect: the plan is the same as on the base |"), "{same:?}");
}

#[test]
fn the_review_of_a_large_change_fits_a_pull_request_comment() {
    let (tmp, repo, main) = applied_repository();
    let sync = tmp.path().join("sync");
    let sync = sync.to_str().unwrap();
    let now = "2026-11-22T09:00:00Z";

    // A pull request hiring 3,000 people and writing `l` in capitals for everyone.
    let hires: Vec<String> = (0..3_000)
        .map(|n| format!("2{n:05};Neue{n};Kollegin{n};neue.kollegin{n}@acme.example;DE-ENG;Engineer;10002;Aktiv;Festangestellt;01.11.2026;;Berlin;ACME GmbH;"))
        .collect();
    pull_request(&tmp, &repo, &main, &hires);

    let out = run(&["--repo", sync, "--ref", "pr", "--now", now, "plan", "--base", &main]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let chars = out.stdout.chars().count();
    assert!(chars <= 60_000, "{chars} characters");
    assert!(chars > 50_000, "the room is used: {chars} characters");
    assert!(
        out.stdout
            .contains("gives 3000 people an account, changes `l` for 143 people and changes 2 groups |"),
        "{}",
        &out.stdout[..500]
    );
    let tail = out.stdout.lines().rev().find(|l| l.starts_with("… and ")).unwrap_or_default();
    let left_out: usize = tail
        .strip_prefix("… and ")
        .and_then(|t| t.strip_suffix(" more people, not listed to keep this comment short."))
        .unwrap_or_else(|| panic!("{tail}"))
        .parse()
        .unwrap();
    // Person rows, not the table of directories.
    let listed = out.stdout.lines().filter(|l| l.starts_with("| `") && !l.starts_with("| `corp`")).count();
    assert_eq!(listed + left_out, 3_143, "every person is listed or counted");
}

/// Waits (up to a minute: a liveness bound, not a speed check) until `done` holds.
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn the_daemon_runs_on_start_and_on_each_new_commit_and_stops_on_sigterm() {
    let (tmp, repo) = repository();
    let sync = tmp.path().join("sync");
    let mut daemon = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
            .args(["--repo", sync.to_str().unwrap(), "--now", "2026-11-22T09:00:00Z", "daemon"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // At start: the plan, then the result.
    eventually("the first run's commits", || reports(&repo).len() == 2);
    // A commit to the tracked branch: its plan and result follow.
    let csv = tmp.path().join("sync/data/germany.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("10999;Neue;Kollegin;neue.kollegin@acme.example;DE-ENG;Engineer;10002;Aktiv;Festangestellt;01.11.2026;;Berlin;ACME GmbH;\n");
    std::fs::write(&csv, text).unwrap();
    let config = commit_all(&repo, "hire");
    eventually("the new commit's plan and result", || {
        let commits = reports(&repo);
        commits.len() == 4 && commits[0].0.contains(&format!("Config-Revision: {config}"))
    });
    let commits = reports(&repo);
    assert!(commits[1].0.starts_with("Plan for `corp`: 1 to create"), "{commits:#?}");
    // Its own commits to the reports branch never start a run: nothing more comes.
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(reports(&repo).len(), 4);

    let status =
        std::process::Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap();
    assert!(status.success());
    let mut stopped = None;
    eventually("the daemon to stop", || {
        stopped = daemon.try_wait().unwrap();
        stopped.is_some()
    });
    assert_eq!(stopped.unwrap().code(), Some(0));
    let mut log = String::new();
    std::io::Read::read_to_string(&mut daemon.stderr.take().unwrap(), &mut log).unwrap();
    assert!(log.contains("a new commit") && log.contains("stopped"), "{log}");
}

/// A request to the daemon's endpoints: status code and body.
fn http(method: reqwest::Method, url: &str, headers: &[(&str, String)], body: &str) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new().request(method, url).body(body.to_owned());
        for (k, v) in headers {
            request = request.header(*k, v);
        }
        match request.send().await {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(_) => (0, String::new()),
        }
    })
}

#[test]
fn endpoints_report_status_and_metrics_and_trigger_runs_with_valid_credentials() {
    use hmac::{KeyInit, Mac};
    use reqwest::Method;

    let (tmp, repo) = repository();
    let sync = tmp.path().join("sync");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let (token, secret) = ("runs-token-Xy3", "webhook-secret-Q9");
    let mut daemon = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
            .args(["--repo", sync.to_str().unwrap(), "--now", "2026-11-22T09:00:00Z", "daemon"])
            .args(["--listen", &format!("127.0.0.1:{port}"), "--log-format", "json"])
            .env("HRSYNC_RUNS_TOKEN", token)
            .env("HRSYNC_WEBHOOK_SECRET", secret)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    eventually("/healthz", || http(Method::GET, &format!("{base}/healthz"), &[], "").0 == 200);
    eventually("/readyz", || http(Method::GET, &format!("{base}/readyz"), &[], "").0 == 200);
    let (_, status) = http(Method::GET, &format!("{base}/status"), &[], "");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["directories"]["corp"]["created"], 143, "{status:#}");
    assert_eq!(status["revision"], repo.head().unwrap().target().unwrap().to_string());
    assert!(status["sources"]["germany"]["last_sync_at"].is_string(), "{status:#}");
    let metrics = || http(Method::GET, &format!("{base}/metrics"), &[], "").1;
    let m = metrics();
    assert!(m.contains("hrsync_runs_total{status=\"warning\"} 1"), "{m}");
    assert!(m.contains("hrsync_actions_total{directory=\"corp\",kind=\"created\"} 143"), "{m}");
    assert!(m.contains("hrsync_last_success_timestamp_seconds{source=\"germany\"} "), "{m}");
    assert!(m.contains("hrsync_plan_blocked{directory=\"corp\"} 0"), "{m}");
    assert!(m.contains("hrsync_items_failed_total{directory=\"corp\"} 0"), "{m}");

    // POST /runs needs the token.
    let runs = format!("{base}/runs");
    assert_eq!(http(Method::POST, &runs, &[], "").0, 401);
    assert_eq!(http(Method::POST, &runs, &[("Authorization", "Bearer wrong".into())], "").0, 401);
    assert_eq!(http(Method::POST, &runs, &[("Authorization", format!("Bearer {token}"))], "").0, 202);
    eventually("the triggered run", || metrics().contains("hrsync_runs_total{status=\"warning\"} 2"));

    // POST /hooks/git needs a GitHub HMAC of the body or the GitLab token.
    let hook = format!("{base}/hooks/git");
    let body = r#"{"ref":"refs/heads/main"}"#;
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let forged = format!("sha256={}", "0".repeat(64));
    assert_eq!(http(Method::POST, &hook, &[("X-Hub-Signature-256", forged)], body).0, 401);
    assert_eq!(http(Method::POST, &hook, &[("X-Gitlab-Token", "nope".into())], body).0, 401);
    assert_eq!(http(Method::POST, &hook, &[("X-Hub-Signature-256", signature)], body).0, 202);
    eventually("the hook's run", || metrics().contains("hrsync_runs_total{status=\"warning\"} 3"));
    assert_eq!(http(Method::POST, &hook, &[("X-Gitlab-Token", secret.into())], body).0, 202);
    eventually("the GitLab hook's run", || metrics().contains("hrsync_runs_total{status=\"warning\"} 4"));

    std::process::Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap();
    eventually("the daemon to stop", || daemon.try_wait().unwrap().is_some());
    let mut log = String::new();
    std::io::Read::read_to_string(&mut daemon.stderr.take().unwrap(), &mut log).unwrap();
    assert!(!log.contains(token) && !log.contains(secret), "secrets stay out of logs: {log}");
    // --log-format json: every line is one JSON object, the commits included.
    let lines: Vec<serde_json::Value> = log.lines().map(json).collect();
    assert!(lines.iter().any(|l| l["fields"]["message"] == "committed"), "{log}");
}

/// A bare clone of the repository at `from`, as `sync.git` in `dir`.
pub fn bare_clone(from: &Path, dir: &Path) -> std::path::PathBuf {
    let bare = dir.join("sync.git");
    let status = std::process::Command::new("git")
        .args(["clone", "--quiet", "--bare"])
        .arg(from)
        .arg(&bare)
        .status()
        .unwrap();
    assert!(status.success());
    bare
}

/// `git daemon` serving `base` over git:// on a free loopback port, stopped on drop.
pub struct GitDaemon {
    child: std::process::Child,
    pub port: u16,
}

impl GitDaemon {
    pub fn start(base: &Path) -> GitDaemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // git-daemon itself, not the `git` wrapper, so that killing it stops the server.
        let exec_path = std::process::Command::new("git").arg("--exec-path").output().unwrap();
        let exec_path = String::from_utf8(exec_path.stdout).unwrap();
        let child = std::process::Command::new(Path::new(exec_path.trim()).join("git-daemon"))
            .args(["--reuseaddr", "--export-all", "--enable=receive-pack", "--listen=127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        eventually("git daemon", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        GitDaemon { child, port }
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_remote_repository_is_fetched_and_the_reports_branch_pushed_back() {
    let (tmp, repo) = repository();
    let branch = repo.head().unwrap().shorthand().unwrap().to_owned();
    let served = tempfile::tempdir().unwrap();
    let bare = bare_clone(tmp.path(), served.path());
    let git = GitDaemon::start(served.path());
    let url = format!("git://127.0.0.1:{}/sync.git", git.port);
    let repo_arg = format!("{url}#sync");
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_owned();
    let once = |now: &str| {
        run(&[
            "--repo",
            &repo_arg,
            "--state-dir",
            &state_dir,
            "--now",
            now,
            "daemon",
            "--once",
            "--branch",
            &branch,
        ])
    };
    let out = once("2026-11-22T09:00:00Z");
    assert_eq!(out.code, 0, "{out:?}");
    let remote = Repository::open_bare(&bare).unwrap();
    let count = |r: &Repository| {
        let mut walk = r.revwalk().unwrap();
        walk.push_ref("refs/heads/hrsync/reports").unwrap();
        walk.count()
    };
    assert_eq!(count(&remote), 2, "plan and result pushed");

    // A config change pushed to the remote: the next cycle fetches it.
    let csv = tmp.path().join("sync/data/germany.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("10999;Neue;Kollegin;neue.kollegin@acme.example;DE-ENG;Engineer;10002;Aktiv;Festangestellt;01.11.2026;;Berlin;ACME GmbH;\n");
    std::fs::write(&csv, text).unwrap();
    let config = commit_all(&repo, "hire");
    let pushed = std::process::Command::new("git")
        .arg("-C")
        .arg(tmp.path())
        .args(["push", "--quiet", &url, &format!("{branch}:{branch}")])
        .status()
        .unwrap();
    assert!(pushed.success());
    let out = once("2026-11-22T10:00:00Z");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(count(&remote), 4);
    let tip = remote.find_reference("refs/heads/hrsync/reports").unwrap().peel_to_commit().unwrap();
    let plan = tip.parent(0).unwrap();
    assert!(plan.message().unwrap().starts_with("Plan for `corp`: 1 to create"), "{:?}", plan.message());
    assert!(plan.message().unwrap().contains(&format!("Config-Revision: {config}")));
    drop(git);
}

#[test]
fn a_remote_over_http_needs_the_credentials_from_the_environment() {
    let (tmp, repo) = repository();
    let branch = repo.head().unwrap().shorthand().unwrap().to_owned();
    let served = tempfile::tempdir().unwrap();
    let bare = bare_clone(tmp.path(), served.path());
    let (user, password) = ("hrsync-bot", "glpat-Secret-7Fq2");
    let http = crate::git_http::GitHttp::start(served.path(), user, password);
    let repo_arg = format!("http://127.0.0.1:{}/sync.git#sync", http.port);
    let state = tempfile::tempdir().unwrap();
    let once = |credentials: &[(&str, &str)]| {
        let out = command(&["--repo", &repo_arg, "--state-dir", state.path().to_str().unwrap()])
            .args(["--now", "2026-11-22T09:00:00Z", "daemon", "--once", "--branch", &branch])
            .envs(credentials.iter().copied())
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };

    let (code, err) = once(&[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("set HRSYNC_GIT_USERNAME and HRSYNC_GIT_PASSWORD"), "{err}");
    let wrong = "glpat-Wrong-0000";
    let (code, err) = once(&[("HRSYNC_GIT_USERNAME", user), ("HRSYNC_GIT_PASSWORD", wrong)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("the remote refused the credentials of HRSYNC_GIT_USERNAME"), "{err}");
    assert!(!err.contains(wrong), "the password stays out of messages: {err}");

    // The token from a file, as a mounted secret gives it.
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("token");
    std::fs::write(&token_file, format!("{password}\n")).unwrap();
    let (code, err) =
        once(&[("HRSYNC_GIT_USERNAME", user), ("HRSYNC_GIT_PASSWORD_FILE", token_file.to_str().unwrap())]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains(password), "{err}");
    let remote = Repository::open_bare(&bare).unwrap();
    let mut walk = remote.revwalk().unwrap();
    walk.push_ref("refs/heads/hrsync/reports").unwrap();
    assert_eq!(walk.count(), 2, "plan and result pushed over HTTP");
}

#[test]
fn a_remote_over_ssh_needs_a_known_host_key_and_an_accepted_key() {
    let (tmp, repo) = repository();
    let branch = repo.head().unwrap().shorthand().unwrap().to_owned();
    let served = tempfile::tempdir().unwrap();
    let bare = bare_clone(tmp.path(), served.path());
    let ssh = crate::git_ssh::SshServer::start();
    let repo_arg = format!("ssh://{}@127.0.0.1:{}{}#sync", ssh.user, ssh.port, bare.display());
    let homes = tempfile::tempdir().unwrap();
    let (knowing, stranger) = (homes.path().join("knowing"), homes.path().join("stranger"));
    ssh.home_that_knows_it(&knowing);
    std::fs::create_dir_all(&stranger).unwrap();
    let other_key = homes.path().join("other_key");
    crate::git_ssh::keygen(&other_key);
    let once = |home: &Path, key: &Path| {
        let state = tempfile::tempdir().unwrap();
        let out = command(&["--repo", &repo_arg, "--state-dir", state.path().to_str().unwrap()])
            .args(["--now", "2026-11-22T09:00:00Z", "daemon", "--once", "--branch", &branch])
            .env("HOME", home)
            .env("HRSYNC_GIT_SSH_KEY", key)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };

    // A server whose host key is not known is refused, with what to do.
    let (code, err) = once(&stranger, &ssh.user_key());
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("the SSH host key of the remote is not in ~/.ssh/known_hosts"), "{err}");
    // A key the server does not accept.
    let (code, err) = once(&knowing, &other_key);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("the remote refused the SSH key"), "{err}");
    // The right key: fetched, planned, applied, and the reports pushed over SSH.
    let (code, err) = once(&knowing, &ssh.user_key());
    assert_eq!(code, Some(0), "{err}");
    let remote = Repository::open_bare(&bare).unwrap();
    let mut walk = remote.revwalk().unwrap();
    walk.push_ref("refs/heads/hrsync/reports").unwrap();
    assert_eq!(walk.count(), 2, "plan and result pushed over SSH");
}

#[test]
fn a_pull_request_adding_an_override_changes_exactly_the_rows_it_names_with_its_reason() {
    let (tmp, repo, main) = applied_repository();
    let sync = tmp.path().join("sync");
    let sync = sync.to_str().unwrap();
    let now = "2026-11-22T09:00:00Z";
    branch(&tmp, &repo, &main, "exception", |dir| {
        std::fs::write(
            dir.join("overrides.yaml"),
            "version: 1\noverrides:\n  - person: { employee_number: \"10004\" }\n    keep_disabled: true\n    reason: on sabbatical, no access (HR-77)\n",
        )
        .unwrap();
    });
    let out = run(&[
        "--repo",
        sync,
        "--ref",
        "exception",
        "--now",
        now,
        "plan",
        "--base",
        &main,
        "--detailed-exitcode",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("on sabbatical, no access (HR-77)"), "the review gives the reason: {out:?}");
    let people =
        out.stdout.lines().filter(|l| l.starts_with("| `germany:") || l.starts_with("| `france:")).count();
    assert_eq!(people, 1, "one person's row changes: {}", out.stdout);
}
