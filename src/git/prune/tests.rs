//! Pruning real git repositories made in temporary folders.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::git::reports::{ReportCommit, ReportsBranch};

const BRANCH: &str = "hrsync/reports";
const DAY: i64 = 86_400;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;

/// A repository with a config commit on HEAD.
fn repository() -> (tempfile::TempDir, Repository) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Repository::init(tmp.path()).unwrap();
    std::fs::write(tmp.path().join("hrsync.yaml"), "version: 1\n").unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("hrsync.yaml")).unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = Signature::new("t", "t@example", &Time::new(T0 - 100 * DAY, 0)).unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, "config", &tree, &[]).unwrap();
    drop(tree);
    (tmp, repo)
}

/// Commits one report per time, as the daemon does: the ids, oldest first.
fn reports_at(dir: &Path, times: &[i64]) -> Vec<Oid> {
    let reports = ReportsBranch::open(dir, BRANCH, "reports").unwrap();
    times
        .iter()
        .enumerate()
        .map(|(i, time)| {
            let commit = ReportCommit {
                files: vec![
                    ("corp/plan.md".to_owned(), format!("plan {i}\n").into_bytes()),
                    (format!("day-{i}.json"), b"{}\n".to_vec()),
                ],
                replace: Vec::new(),
                subject: format!("Plan {i}"),
                trailers: vec![("Config-Revision", format!("rev{i}")), ("Plan-Id", format!("{i:032x}"))],
                time: *time,
            };
            reports.commit(&commit).unwrap().unwrap()
        })
        .collect()
}

/// The branch's history, newest first.
fn history(repo: &Repository, tip: Oid) -> Vec<Oid> {
    let mut out = Vec::new();
    let mut next = Some(tip);
    while let Some(id) = next {
        out.push(id);
        next = repo.find_commit(id).unwrap().parent_ids().next();
    }
    out
}

fn tip(repo: &Repository) -> Oid {
    repo.refname_to_id(&format!("refs/heads/{BRANCH}")).unwrap()
}

#[test]
fn a_commit_made_again_on_its_own_parent_is_itself() {
    let (tmp, repo) = repository();
    let ids = reports_at(tmp.path(), &[T0, T0 + DAY]);
    // A commit with an encoding header, a signature-like header and a message with no
    // final newline: all of it but the signature survives.
    let base = repo.find_commit(ids[1]).unwrap();
    let raw = format!(
        "tree {}\nparent {}\nauthor A <a@x> {} +0130\ncommitter C <c@x> {} -0700\nencoding ISO-8859-1\n\nodd\n\nmessage",
        base.tree_id(),
        ids[1],
        T0 + 2 * DAY,
        T0 + 2 * DAY + 5
    );
    let odd = repo.odb().unwrap().write(ObjectType::Commit, raw.as_bytes()).unwrap();
    for id in [ids[0], ids[1], odd] {
        let commit = repo.find_commit(id).unwrap();
        let again =
            Oid::hash_object(ObjectType::Commit, &commit_bytes(&commit, commit.parent_ids().next())).unwrap();
        assert_eq!(again, id, "byte for byte");
    }
    let signed =
        format!("{}gpgsig -----BEGIN PGP SIGNATURE-----\n abc\n -----END PGP SIGNATURE-----\n\nsigned\n", {
            let c = repo.find_commit(ids[1]).unwrap();
            String::from_utf8(c.raw_header_bytes().to_vec()).unwrap()
        });
    let signed = repo.odb().unwrap().write(ObjectType::Commit, signed.as_bytes()).unwrap();
    let bytes = commit_bytes(&repo.find_commit(signed).unwrap(), None);
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains("gpgsig") && !text.contains("SIGNATURE") && !text.contains("parent "), "{text}");
    assert!(text.ends_with("\n\nsigned\n"), "{text}");
}

#[test]
fn the_newest_commits_from_the_cutoff_on_are_kept_on_a_new_root() {
    let (tmp, repo) = repository();
    let head = repo.head().unwrap().target().unwrap();
    let times: Vec<i64> = (0..6).map(|d| T0 + d * DAY).collect();
    let ids = reports_at(tmp.path(), &times);
    let pruner = Pruner::open(tmp.path(), BRANCH).unwrap();
    let cutoff = T0 + 2 * DAY;
    let survey = pruner.survey(cutoff).unwrap();
    assert_eq!((survey.kept(), survey.dropped(), survey.total()), (4, 2, 6));
    assert_eq!(survey.dropped_times(), Some((T0, T0 + DAY)));
    assert_eq!(survey.kept_times(), Some((T0 + 2 * DAY, T0 + 5 * DAY)));
    let new = pruner.rewrite(&survey, T0 + 10 * DAY).unwrap().unwrap();
    assert_eq!(tip(&repo), new);
    let rewritten = history(&repo, new);
    assert_eq!(rewritten.len(), 4);
    for (new, old) in rewritten.iter().zip(ids.iter().rev()) {
        let (new, old) = (repo.find_commit(*new).unwrap(), repo.find_commit(*old).unwrap());
        assert_ne!(new.id(), old.id());
        assert_eq!(new.tree_id(), old.tree_id());
        assert_eq!(new.message_raw_bytes(), old.message_raw_bytes());
        assert_eq!(new.author().to_string(), old.author().to_string());
        assert_eq!(new.author().when(), old.author().when());
        assert_eq!(new.committer().when(), old.committer().when());
        assert!(new.time().seconds() >= cutoff);
    }
    let root = repo.find_commit(*rewritten.last().unwrap()).unwrap();
    assert_eq!(root.parent_count(), 0, "the first kept commit is a root");
    assert_eq!(root.message().unwrap(), repo.find_commit(ids[2]).unwrap().message().unwrap());
    // The reflog names the new tip only, so nothing keeps the old commits alive.
    let reflog = repo.reflog(&format!("refs/heads/{BRANCH}")).unwrap();
    assert_eq!(reflog.len(), 1);
    let entry = reflog.get(0).unwrap();
    assert_eq!((entry.id_old(), entry.id_new()), (Oid::ZERO_SHA1, new));
    assert_eq!(repo.head().unwrap().target().unwrap(), head, "HEAD untouched");
    assert!(repo.statuses(None).unwrap().is_empty(), "index and working tree untouched");

    // The same history pruned again on the same cutoff gives the same commits.
    let again = pruner.survey_at(Some(ids[5]), cutoff).unwrap();
    let odb = repo.odb().unwrap();
    let mut parent = None;
    for id in again.kept_ids().collect::<Vec<_>>().into_iter().rev() {
        let bytes = commit_bytes(&repo.find_commit(id).unwrap(), parent);
        parent = Some(odb.write(ObjectType::Commit, &bytes).unwrap());
    }
    assert_eq!(parent, Some(new), "deterministic");
    // Nothing older left: a second prune drops nothing and moves nothing.
    let survey = pruner.survey(cutoff).unwrap();
    assert_eq!(survey.dropped(), 0);
    assert_eq!(pruner.rewrite(&survey, T0 + 11 * DAY).unwrap(), Some(new));
    assert_eq!(tip(&repo), new);
}

#[test]
fn times_out_of_order_drop_everything_behind_the_newest_older_commit() {
    let (tmp, _repo) = repository();
    // A replay with --now made a commit dated before its parent.
    reports_at(tmp.path(), &[T0 + 5 * DAY, T0, T0 + 6 * DAY, T0 + 7 * DAY]);
    let survey = Pruner::open(tmp.path(), BRANCH).unwrap().survey(T0 + 3 * DAY).unwrap();
    assert_eq!((survey.kept(), survey.dropped()), (2, 2));
    assert_eq!(survey.dropped_times(), Some((T0, T0 + 5 * DAY)));
}

#[test]
fn a_history_older_than_the_cutoff_leaves_one_root_with_the_tips_files() {
    let (tmp, repo) = repository();
    let ids = reports_at(tmp.path(), &[T0, T0 + DAY, T0 + 2 * DAY]);
    let pruner = Pruner::open(tmp.path(), BRANCH).unwrap();
    let survey = pruner.survey(T0 + 30 * DAY).unwrap();
    assert_eq!((survey.kept(), survey.dropped()), (0, 3));
    let now = T0 + 31 * DAY;
    let new = pruner.rewrite(&survey, now).unwrap().unwrap();
    let root = repo.find_commit(new).unwrap();
    let old_tip = repo.find_commit(ids[2]).unwrap();
    assert_eq!(root.parent_count(), 0);
    assert_eq!(root.tree_id(), old_tip.tree_id());
    assert_eq!(root.time().seconds(), now);
    assert_eq!(root.author().name().ok(), Some("hrsync"));
    let message = root.message().unwrap();
    assert!(
        message.starts_with("Reports pruned: every commit was older than 2026-01-31T00:00:00Z\n"),
        "{message}"
    );
    assert!(
        message.contains("removed the 3 commits of this branch") && message.contains("\"Plan 2\""),
        "{message}"
    );
    assert!(
        message.ends_with(
            "\n\nPruned-Before: 2026-01-31T00:00:00Z\nConfig-Revision: rev2\nPlan-Id: 00000000000000000000000000000002\n"
        ),
        "{message}"
    );
    assert_eq!(pruned_before(&root), Some(T0 + 30 * DAY));
    // A remote still holding the old history is accounted for: its commits are all older
    // than the cutoff that root records.
    let survey = pruner.survey(T0).unwrap();
    assert!(pruner.covers(&survey, Some(ids[2])).unwrap());
}

#[test]
fn a_branch_moved_between_survey_and_rewrite_loses_nothing() {
    let (tmp, repo) = repository();
    let ids = reports_at(tmp.path(), &[T0, T0 + DAY, T0 + 2 * DAY]);
    let pruner = Pruner::open(tmp.path(), BRANCH).unwrap();
    let survey = pruner.survey(T0 + DAY).unwrap();
    assert_eq!(survey.dropped(), 1);
    // A daemon commits meanwhile.
    let late = reports_at(tmp.path(), &[T0 + 3 * DAY])[0];
    let err = pruner.rewrite(&survey, T0 + 4 * DAY).unwrap_err();
    assert!(matches!(err, PruneError::Moved(_)), "{err}");
    assert!(err.to_string().contains("run the prune again"), "{err}");
    assert_eq!(tip(&repo), late);
    let mut all = ids.clone();
    all.push(late);
    all.reverse();
    assert_eq!(history(&repo, late), all, "every commit is still there");
    // Deleted meanwhile: the same.
    repo.find_reference(&format!("refs/heads/{BRANCH}")).unwrap().delete().unwrap();
    let survey = Pruner::open(tmp.path(), BRANCH).unwrap().survey_at(Some(late), T0 + DAY).unwrap();
    assert!(matches!(pruner.rewrite(&survey, T0).unwrap_err(), PruneError::Moved(_)));
    assert!(repo.find_reference(&format!("refs/heads/{BRANCH}")).is_err(), "not made again");
}

#[test]
fn merges_are_refused_and_a_checked_out_branch_too() {
    let (tmp, repo) = repository();
    let ids = reports_at(tmp.path(), &[T0, T0 + DAY]);
    let (a, b) = (repo.find_commit(ids[0]).unwrap(), repo.find_commit(ids[1]).unwrap());
    let sig = Signature::new("x", "x@x", &Time::new(T0 + 2 * DAY, 0)).unwrap();
    let merge = repo.commit(None, &sig, &sig, "merge", &b.tree().unwrap(), &[&b, &a]).unwrap();
    repo.reference(&format!("refs/heads/{BRANCH}"), merge, true, "test").unwrap();
    let pruner = Pruner::open(tmp.path(), BRANCH).unwrap();
    let survey = pruner.survey(T0 + DAY).unwrap();
    let err = pruner.rewrite(&survey, T0 + 3 * DAY).unwrap_err();
    assert!(matches!(err, PruneError::Merge { commit, .. } if commit == merge), "{err}");
    assert_eq!(tip(&repo), merge);

    let head = repo.head().unwrap().shorthand().unwrap().to_owned();
    let err = Pruner::open(tmp.path(), &head).unwrap_err();
    assert!(matches!(err, PruneError::CheckedOut(_)), "{err}");
}

#[test]
fn a_branch_pruned_elsewhere_is_taken_over_only_when_it_holds_every_commit_kept() {
    let (tmp, repo) = repository();
    let ids = reports_at(tmp.path(), &[T0, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY]);
    let reference = format!("refs/heads/{BRANCH}");
    // Pruned "elsewhere": a copy of the branch, pruned, then given a commit of its own.
    repo.reference("refs/heads/elsewhere", ids[3], false, "test").unwrap();
    let elsewhere = Pruner::open(tmp.path(), "elsewhere").unwrap();
    let survey = elsewhere.survey(T0 + 2 * DAY).unwrap();
    let pruned = elsewhere.rewrite(&survey, T0 + 4 * DAY).unwrap().unwrap();
    assert!(!repo.graph_descendant_of(pruned, ids[3]).unwrap());
    // Our branch is the old history: what the pruned one drops or copies.
    assert!(Lineage::of(&repo, pruned).unwrap().0.covers(&repo, ids[3]).unwrap());
    // A branch behind the first commit kept cannot be told from one that went its own
    // way: it is not given up (its push is refused, loudly).
    assert!(!Lineage::of(&repo, pruned).unwrap().0.covers(&repo, ids[1]).unwrap());
    // A commit of ours the pruned branch lacks is not given up.
    let ours = reports_at(tmp.path(), &[T0 + 5 * DAY])[0];
    assert!(!adopt(&repo, &reference, pruned).unwrap());
    assert_eq!(tip(&repo), ours);
    // Without it, the pruned branch is taken over.
    repo.reference(&reference, ids[3], true, "test").unwrap();
    assert!(adopt(&repo, &reference, pruned).unwrap());
    assert_eq!(tip(&repo), pruned);
    // But never the other way round: the unpruned history holds every commit of the
    // pruned one too, and is not taken for newer.
    assert!(!adopt(&repo, &reference, ids[3]).unwrap());
    assert_eq!(tip(&repo), pruned);
    // The daemon goes on from there.
    let newer = reports_at(tmp.path(), &[T0 + 6 * DAY])[0];
    assert_eq!(repo.find_commit(newer).unwrap().parent_id(0).unwrap(), pruned);

    // The lease the other way round: a remote that has a commit the branch here lacks
    // is not covered; one that is behind, or the old history, is.
    let survey = Pruner::open(tmp.path(), BRANCH).unwrap().survey(T0 + 2 * DAY).unwrap();
    let pruner = Pruner::open(tmp.path(), BRANCH).unwrap();
    assert!(pruner.covers(&survey, Some(ids[3])).unwrap(), "the old history");
    assert!(pruner.covers(&survey, Some(pruned)).unwrap(), "behind");
    assert!(pruner.covers(&survey, None).unwrap(), "absent");
    assert!(!pruner.covers(&survey, Some(ours)).unwrap(), "a commit made from the cutoff on, not here");
}

#[test]
fn the_push_is_forced_only_while_the_remote_is_where_it_was_checked() {
    let (tmp, repo) = repository();
    let ids = reports_at(tmp.path(), &[T0, T0 + DAY, T0 + 2 * DAY]);
    let served = tempfile::tempdir().unwrap();
    let remote = Repository::init_bare(served.path()).unwrap();
    repo.remote("origin", served.path().to_str().unwrap()).unwrap();
    let pruner = Pruner::open(tmp.path(), BRANCH).unwrap();
    let remote_tip = || remote.refname_to_id(&format!("refs/heads/{BRANCH}")).ok();
    // No branch there yet: made.
    pruner.push("origin", None).unwrap();
    assert_eq!(remote_tip(), Some(ids[2]));
    assert_eq!(pruner.fetch("origin").unwrap(), Some(ids[2]));
    let new = pruner.rewrite(&pruner.survey(T0 + DAY).unwrap(), T0 + 3 * DAY).unwrap().unwrap();
    // The lease names another value than the remote's: nothing is overwritten.
    let err = pruner.push("origin", Some(ids[1])).unwrap_err();
    assert!(matches!(err, PruneError::RemoteMoved(_)), "{err}");
    assert_eq!(remote_tip(), Some(ids[2]));
    let err = pruner.push("origin", None).unwrap_err();
    assert!(matches!(err, PruneError::RemoteMoved(_)), "{err}");
    // The right one: forced over the old history.
    pruner.push("origin", Some(ids[2])).unwrap();
    assert_eq!(remote_tip(), Some(new));
    assert_eq!(pruner.remote_tip("origin"), Some(new), "the remote-tracking branch follows");
    // Pushing what is there already is no move.
    pruner.push("origin", Some(ids[2])).unwrap();
    assert!(matches!(pruner.push("elsewhere", None).unwrap_err(), PruneError::NoRemote(_)));
}
