//! `hrsync reports prune` and `reports.retention` against real git repositories: a
//! reports branch made by `daemon --once` on several dates, pruned at a cutoff (kept
//! commits byte for byte, nothing older reachable, HEAD and the working tree untouched,
//! the daemon carrying on), `--dry-run`, a bare remote as `origin` (untouched without
//! `--push`, the rewritten branch with it, refused when it holds newer commits), a
//! remote `--repo` pruned in the daemon's mirror and elsewhere, and the warnings of
//! `validate` and the daemon past the retention.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use crate::daemon::{GitDaemon, bare_clone, commit_all};
use crate::util::{Run, copy_dir, root, run};

const REPORTS: &str = "refs/heads/hrsync/reports";

/// The days the reports are made on; the cutoff of most tests lies in the middle.
const DAYS: [&str; 4] = ["2026-01-10", "2026-02-10", "2026-03-10", "2026-04-10"];

/// A git repository holding the example in `sync/`, committed once.
fn repository() -> (tempfile::TempDir, Repository) {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/sync-repo"), &tmp.path().join("sync"));
    std::fs::write(tmp.path().join(".gitignore"), ".hrsync/\n").unwrap();
    let repo = Repository::init(tmp.path()).unwrap();
    commit_all(&repo, "the example");
    (tmp, repo)
}

/// A new colleague in the German export of the work tree at `dir`, committed.
fn hire(dir: &Path, repo: &Repository, n: usize) {
    let csv = dir.join("sync/data/germany.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str(&format!(
        "{};Neue{n};Kollegin;neue{n}.kollegin@acme.example;DE-ENG;Engineer;10002;Aktiv;Festangestellt;01.01.2026;;Berlin;ACME GmbH;\n",
        10900 + n
    ));
    std::fs::write(&csv, text).unwrap();
    commit_all(repo, &format!("hire {n}"));
}

/// `hrsync` on the sync repository of `dir` with `args`, at `now`.
fn hrsync_at(dir: &Path, now: &str, args: &[&str]) -> Run {
    let sync = dir.join("sync");
    let mut all = vec!["--repo", sync.to_str().unwrap(), "--now", now];
    all.extend_from_slice(args);
    run(&all)
}

/// A reports branch with a plan and a result for each of [`DAYS`] (a hire on each).
fn reports_over_days() -> (tempfile::TempDir, Repository) {
    let (tmp, repo) = repository();
    for (n, day) in DAYS.iter().enumerate() {
        if n > 0 {
            hire(tmp.path(), &repo, n);
        }
        let out = hrsync_at(tmp.path(), &format!("{day}T09:00:00Z"), &["daemon", "--once"]);
        assert_eq!(out.code, 0, "{out:?}");
    }
    (tmp, repo)
}

/// The first-parent history of `tip`, newest first.
fn history(repo: &Repository, tip: Oid) -> Vec<Oid> {
    let mut out = Vec::new();
    let mut next = Some(tip);
    while let Some(id) = next {
        let commit = repo.find_commit(id).unwrap();
        assert!(commit.parent_count() <= 1);
        out.push(id);
        next = commit.parent_ids().next();
    }
    out
}

fn tip(repo: &Repository) -> Oid {
    repo.refname_to_id(REPORTS).unwrap()
}

/// Start of a day in the example's time zone (Europe/Berlin).
fn cutoff_of(day: &str) -> i64 {
    let date: jiff::civil::Date = day.parse().unwrap();
    date.to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap()).unwrap().timestamp().as_second()
}

/// A commit's header without its parents, then its raw message: what a prune keeps.
fn kept_bytes(commit: &git2::Commit<'_>) -> Vec<u8> {
    let header: Vec<u8> = commit
        .raw_header_bytes()
        .split_inclusive(|b| *b == b'\n')
        .filter(|l| !l.starts_with(b"parent "))
        .flatten()
        .copied()
        .collect();
    [header, commit.message_raw_bytes().to_vec()].concat()
}

/// Every tree and blob the trees of `commits` hold.
fn objects(repo: &Repository, commits: &[Oid]) -> HashSet<Oid> {
    let mut out = HashSet::new();
    for id in commits {
        let tree = repo.find_commit(*id).unwrap().tree().unwrap();
        out.insert(tree.id());
        tree.walk(git2::TreeWalkMode::PreOrder, |_, entry| {
            out.insert(entry.id());
            git2::TreeWalkResult::Ok
        })
        .unwrap();
    }
    out
}

fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git").arg("-C").arg(dir).args(args).status().unwrap();
    assert!(status.success(), "git {args:?}");
}

/// The loose and packed objects of a repository, counted by their files.
fn object_files(git_dir: &Path) -> usize {
    fn count(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries.map(|e| e.unwrap().path()).map(|p| if p.is_dir() { count(&p) } else { 1 }).sum()
            })
            .unwrap_or(0)
    }
    count(&git_dir.join("objects"))
}

#[test]
fn prune_drops_exactly_the_older_commits_and_keeps_the_newer_byte_for_byte() {
    let (tmp, repo) = reports_over_days();
    let head = repo.head().unwrap().target().unwrap();
    let old = history(&repo, tip(&repo));
    let cutoff = cutoff_of("2026-03-01");
    let (kept_old, dropped_old): (Vec<Oid>, Vec<Oid>) =
        old.iter().partition(|id| repo.find_commit(**id).unwrap().time().seconds() >= cutoff);
    assert!(!kept_old.is_empty() && !dropped_old.is_empty(), "the cutoff splits the history: {old:?}");

    let out = hrsync_at(tmp.path(), "2026-04-11T09:00:00Z", &["reports", "prune", "--before", "2026-03-01"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(&format!("dropped {} commits", dropped_old.len())), "{out:?}");
    assert!(out.stdout.contains(&format!("kept {} commits", kept_old.len())), "{out:?}");
    let new_tip = tip(&repo);
    assert!(out.stdout.contains(&format!("new tip: {new_tip} (was {})", old[0])), "{out:?}");
    assert!(out.stdout.contains("git push --force-with-lease"), "says how to publish: {out:?}");

    // The kept commits, byte for byte but for their parents; the first is a root.
    let new = history(&repo, new_tip);
    assert_eq!(new.len(), kept_old.len());
    for (new, old) in new.iter().zip(&kept_old) {
        let (new, old) = (repo.find_commit(*new).unwrap(), repo.find_commit(*old).unwrap());
        assert_eq!(new.tree_id(), old.tree_id());
        assert_eq!(kept_bytes(&new), kept_bytes(&old), "header and message");
    }
    assert_eq!(repo.find_commit(*new.last().unwrap()).unwrap().parent_count(), 0, "a root");
    // Nothing of before the cutoff is reachable: no old commit, no commit older than
    // the cutoff, and none of the files only older commits had.
    let old_ids: HashSet<Oid> = old.iter().copied().collect();
    assert!(new.iter().all(|id| !old_ids.contains(id)));
    assert!(new.iter().all(|id| repo.find_commit(*id).unwrap().time().seconds() >= cutoff));
    let reachable = objects(&repo, &new);
    let only_old: Vec<Oid> =
        objects(&repo, &dropped_old).into_iter().filter(|o| !objects(&repo, &kept_old).contains(o)).collect();
    assert!(!only_old.is_empty(), "the older commits had files of their own");
    assert!(only_old.iter().all(|o| !reachable.contains(o)));

    assert_eq!(repo.head().unwrap().target().unwrap(), head, "HEAD untouched");
    let statuses = repo.statuses(None).unwrap();
    assert!(statuses.iter().all(|s| s.status().is_ignored()), "index and working tree untouched");

    // Once git collects its garbage, the dropped commits are gone from the repository
    // (the prune left no reflog entry naming them).
    git(tmp.path(), &["gc", "--quiet", "--prune=now"]);
    let collected = Repository::open(tmp.path()).unwrap();
    assert!(dropped_old.iter().all(|id| collected.find_commit(*id).is_err()), "collected");
    assert!(collected.find_commit(new_tip).is_ok());

    // The daemon carries on from the pruned branch.
    hire(tmp.path(), &repo, 9);
    let out = hrsync_at(tmp.path(), "2026-04-12T09:00:00Z", &["daemon", "--once"]);
    assert_eq!(out.code, 0, "{out:?}");
    let after = history(&repo, tip(&repo));
    assert_eq!(&after[after.len() - new.len()..], new.as_slice(), "on top of the pruned history");
}

#[test]
fn dry_run_changes_nothing_and_a_history_all_older_keeps_one_root_with_the_tips_files() {
    let (tmp, repo) = reports_over_days();
    let old_tip = tip(&repo);
    let old_tree = repo.find_commit(old_tip).unwrap().tree_id();
    let reflog = repo.reflog(REPORTS).unwrap().len();
    let objects = object_files(repo.path());

    let out = hrsync_at(
        tmp.path(),
        "2026-06-01T09:00:00Z",
        &["reports", "prune", "--before", "2026-05-01", "--dry-run"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let total = history(&repo, old_tip).len();
    assert!(out.stdout.contains(&format!("would drop {total} commits")), "{out:?}");
    assert!(out.stdout.contains("dry run: nothing was changed"), "{out:?}");
    assert_eq!(tip(&repo), old_tip);
    assert_eq!(repo.reflog(REPORTS).unwrap().len(), reflog);
    assert_eq!(object_files(repo.path()), objects, "no object written");

    let out = hrsync_at(tmp.path(), "2026-06-01T09:00:00Z", &["reports", "prune", "--before", "2026-05-01"]);
    assert_eq!(out.code, 0, "{out:?}");
    let root = repo.find_commit(tip(&repo)).unwrap();
    assert_eq!(root.parent_count(), 0);
    assert_eq!(root.tree_id(), old_tree, "the last files stay");
    let now: jiff::Timestamp = "2026-06-01T09:00:00Z".parse().unwrap();
    assert_eq!(root.time().seconds(), now.as_second(), "made at the prune's time");
    let message = root.message().unwrap();
    assert!(message.starts_with("Reports pruned: every commit was older than "), "{message}");
    assert!(message.contains(&format!("removed the {total} commits")), "{message}");
    assert!(message.contains("\nPruned-Before: 2026-04-30T22:00:00Z\n"), "{message}");
    let trailers = repo.find_commit(old_tip).unwrap().message().unwrap().to_owned();
    let plan_id = trailers.lines().find(|l| l.starts_with("Plan-Id: ")).unwrap();
    assert!(message.contains(plan_id), "{message}");
}

#[test]
fn a_cutoff_is_needed_and_validate_and_the_daemon_warn_past_the_retention() {
    let (tmp, repo) = reports_over_days();
    let before = tip(&repo);
    let out = hrsync_at(tmp.path(), "2026-04-11", &["reports", "prune"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("give `--before YYYY-MM-DD`, or set `reports: { retention: { days: 365 } }`"),
        "{out:?}"
    );
    let out = hrsync_at(tmp.path(), "2026-04-11", &["reports", "prune", "--before", "2026-05-01"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("lies in the future"), "{out:?}");
    let out = hrsync_at(tmp.path(), "2026-04-11", &["reports", "prune", "--before", "01.03.2026"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("is neither a date"), "{out:?}");
    assert_eq!(tip(&repo), before);

    // 45 days of retention on 2026-04-11: the commits before 2026-02-25 are too old.
    let yaml = tmp.path().join("sync/hrsync.yaml");
    let text = std::fs::read_to_string(&yaml)
        .unwrap()
        .replace("pii: masked }", "pii: masked, retention: { days: 45 } }");
    assert!(text.contains("retention: { days: 45 }"));
    std::fs::write(&yaml, text).unwrap();
    commit_all(&repo, "retention");
    let older = history(&repo, tip(&repo))
        .iter()
        .filter(|id| repo.find_commit(**id).unwrap().time().seconds() < cutoff_of("2026-02-25"))
        .count();
    assert!(older > 0);
    let out = hrsync_at(tmp.path(), "2026-04-11T09:00:00Z", &["validate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(&format!("the reports branch `hrsync/reports` holds {older} commits older than reports.retention (45 days: made before 2026-02-25)")),
        "{out:?}"
    );
    hire(tmp.path(), &repo, 7);
    let out = hrsync_at(tmp.path(), "2026-04-11T09:00:00Z", &["daemon", "--once"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("WARN") && out.stderr.contains("older than reports.retention"), "{out:?}");
    assert!(out.stderr.contains(&format!("older={older}")), "{out:?}");
    let before = tip(&repo);

    // The retention is the default cutoff; afterwards, nothing to warn about.
    let out = hrsync_at(tmp.path(), "2026-04-11T10:00:00Z", &["reports", "prune"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("(reports.retention: 45 days)"), "{out:?}");
    assert!(out.stdout.contains(&format!("dropped {older} commits")), "{out:?}");
    assert_ne!(tip(&repo), before);
    let out = hrsync_at(tmp.path(), "2026-04-11T10:00:00Z", &["validate"]);
    assert!(!out.stdout.contains("warning"), "{out:?}");
    let out = hrsync_at(tmp.path(), "2026-04-11T10:00:00Z", &["reports", "prune"]);
    assert!(out.stdout.contains("nothing to prune"), "{out:?}");
    assert!(!out.stdout.contains("new tip"), "{out:?}");

    // A reports branch that is checked out is never rewritten.
    repo.set_head(REPORTS).unwrap();
    let out = hrsync_at(tmp.path(), "2026-06-11T10:00:00Z", &["reports", "prune"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("is checked out"), "{out:?}");
}

/// The bare repository `origin` of the clone at `tmp`, holding its reports branch.
fn with_origin(tmp: &Path, served: &Path) -> (PathBuf, Repository) {
    let bare = bare_clone(tmp, served);
    git(tmp, &["remote", "add", "origin", bare.to_str().unwrap()]);
    git(tmp, &["push", "--quiet", "origin", &format!("{REPORTS}:{REPORTS}")]);
    let remote = Repository::open_bare(&bare).unwrap();
    (bare, remote)
}

#[test]
fn the_remote_is_untouched_without_push_and_is_the_rewritten_branch_with_it() {
    let (tmp, repo) = reports_over_days();
    let served = tempfile::tempdir().unwrap();
    let (_bare, remote) = with_origin(tmp.path(), served.path());
    let published = tip(&repo);
    assert_eq!(tip(&remote), published);

    let prune = |extra: &[&str]| {
        let mut args = vec!["reports", "prune", "--before", "2026-03-01"];
        args.extend_from_slice(extra);
        hrsync_at(tmp.path(), "2026-04-11T09:00:00Z", &args)
    };
    let out = prune(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let pruned = tip(&repo);
    assert_ne!(pruned, published);
    assert_eq!(tip(&remote), published, "not pushed");
    assert!(out.stdout.contains("run this again with --push"), "{out:?}");

    // --push publishes it (the branch here is pruned already: nothing more to drop).
    let out = prune(&["--push"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("nothing to prune"), "{out:?}");
    assert!(out.stdout.contains("pushed `hrsync/reports` to origin (forced"), "{out:?}");
    assert_eq!(tip(&repo), pruned);
    assert_eq!(tip(&remote), pruned, "the remote's branch is the rewritten one");
    assert_eq!(history(&remote, pruned), history(&repo, pruned));

    // A clone with no reports branch of its own (CI): taken over from origin and pruned
    // there, then pushed.
    let ci = tempfile::tempdir().unwrap();
    let clone = ci.path().join("clone");
    let status = std::process::Command::new("git")
        .args(["clone", "--quiet"])
        .arg(remote.path())
        .arg(&clone)
        .status()
        .unwrap();
    assert!(status.success());
    let out = run(&[
        "--repo",
        clone.join("sync").to_str().unwrap(),
        "--now",
        "2026-04-11T10:00:00Z",
        "reports",
        "prune",
        "--before",
        "2026-04-01",
        "--push",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("took over `hrsync/reports` from the remote"), "{out:?}");
    let from_ci = tip(&Repository::open(&clone).unwrap());
    assert_eq!(tip(&remote), from_ci);
    assert!(history(&remote, from_ci).len() < history(&repo, pruned).len());
    assert!(
        history(&remote, from_ci)
            .iter()
            .all(|id| remote.find_commit(*id).unwrap().time().seconds() >= cutoff_of("2026-04-01"))
    );

    // This repository and the remote each have a commit of their own: the push would
    // lose the remote's, so it is refused before anything is rewritten, here or there.
    hire(tmp.path(), &repo, 5);
    let out = hrsync_at(tmp.path(), "2026-04-11T11:00:00Z", &["daemon", "--once"]);
    assert_eq!(out.code, 0, "{out:?}");
    let here = tip(&repo);
    let theirs = {
        let parent = remote.find_commit(from_ci).unwrap();
        let sig = git2::Signature::new(
            "hrsync",
            "hrsync@localhost",
            &git2::Time::new(parent.time().seconds() + 3600, 0),
        )
        .unwrap();
        remote
            .commit(Some(REPORTS), &sig, &sig, "Run elsewhere", &parent.tree().unwrap(), &[&parent])
            .unwrap()
    };
    let out = hrsync_at(
        tmp.path(),
        "2026-04-11T12:00:00Z",
        &["reports", "prune", "--before", "2026-03-15", "--push"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("holds commits made from the cutoff on that the branch here has not got"),
        "{out:?}"
    );
    assert_eq!(tip(&repo), here);
    assert_eq!(tip(&remote), theirs);
}

#[test]
fn a_remote_repo_is_pruned_in_the_daemons_mirror_and_the_daemon_goes_on_after_a_prune_elsewhere() {
    let (tmp, repo) = repository();
    let branch = repo.head().unwrap().shorthand().unwrap().to_owned();
    let served = tempfile::tempdir().unwrap();
    let bare = bare_clone(tmp.path(), served.path());
    let daemon = GitDaemon::start(served.path());
    let url = format!("git://127.0.0.1:{}/sync.git", daemon.port);
    let repo_arg = format!("{url}#sync");
    let state = tempfile::tempdir().unwrap();
    let remote = Repository::open_bare(&bare).unwrap();
    let hrsync_on = |state: &Path, now: &str, args: &[&str]| {
        let mut all = vec!["--repo", &repo_arg, "--state-dir", state.to_str().unwrap(), "--now", now];
        all.extend_from_slice(args);
        run(&all)
    };
    let push_config = || git(tmp.path(), &["push", "--quiet", &url, &format!("{branch}:{branch}")]);
    for (n, day) in DAYS.iter().enumerate() {
        if n > 0 {
            hire(tmp.path(), &repo, n);
            push_config();
        }
        let out =
            hrsync_on(state.path(), &format!("{day}T09:00:00Z"), &["daemon", "--once", "--branch", &branch]);
        assert_eq!(out.code, 0, "{out:?}");
    }
    let published = tip(&remote);
    let total = history(&remote, published).len();

    // Pruned where the daemon runs: its mirror, pushed back.
    let out = hrsync_on(
        state.path(),
        "2026-04-11T09:00:00Z",
        &["--ref", &branch, "reports", "prune", "--before", "2026-02-01"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("add --push"), "{out:?}");
    assert_eq!(tip(&remote), published);
    let out = hrsync_on(
        state.path(),
        "2026-04-11T09:00:00Z",
        &["--ref", &branch, "reports", "prune", "--before", "2026-02-01", "--push"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let pruned = tip(&remote);
    assert_ne!(pruned, published);
    assert_eq!(history(&remote, pruned).len(), total - 2, "the first day's plan and result");
    let mirror = Repository::open_bare(state.path().join("repository.git")).unwrap();
    assert_eq!(tip(&mirror), pruned);

    // Pruned elsewhere (CI with a state folder of its own): the daemon's mirror, now
    // behind a rewritten branch, takes it over and goes on pushing.
    let ci = tempfile::tempdir().unwrap();
    let out = hrsync_on(
        ci.path(),
        "2026-04-11T10:00:00Z",
        &["--ref", &branch, "reports", "prune", "--before", "2026-03-01", "--push"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let from_ci = tip(&remote);
    assert_eq!(history(&remote, from_ci).len(), total - 4);
    hire(tmp.path(), &repo, 8);
    push_config();
    let out = hrsync_on(state.path(), "2026-04-12T09:00:00Z", &["daemon", "--once", "--branch", &branch]);
    assert_eq!(out.code, 0, "{out:?}");
    let after = history(&remote, tip(&remote));
    assert_eq!(after.len(), total - 4 + 2, "a plan and a result on top of the pruned branch");
    assert_eq!(after[2], from_ci);
    drop(daemon);
}
