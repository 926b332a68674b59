//! `--ref`: reading the sync repository from a git revision, without a checkout, also
//! when it is a sub-folder of a larger repository.

use std::path::Path;

use git2::{Repository, Signature};

use crate::util::{copy_dir, root, run};

fn commit_all(repo: &Repository, message: &str) -> git2::Oid {
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = Signature::now("test", "test@example.invalid").unwrap();
    let parents: Vec<git2::Commit<'_>> =
        repo.head().ok().and_then(|h| h.peel_to_commit().ok()).into_iter().collect();
    let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).unwrap()
}

#[test]
fn reads_config_and_data_at_a_revision_of_a_sub_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Repository::init(tmp.path()).unwrap();
    let sync = tmp.path().join("identity/sync");
    copy_dir(&root().join("examples/sync-repo"), &sync);
    let first = commit_all(&repo, "add sync repo");

    // The working tree moves on: a broken directory file and an extra person.
    std::fs::write(sync.join("directories/corp.yaml"), "version: 1\ntype: nope\n").unwrap();
    let csv = sync.join("data/germany.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("19999;Neue;Person;neue.person@acme.example;DE-PLT;Engineer;;Aktiv;Festangestellt;01.01.2026;;Berlin;ACME GmbH;\n");
    std::fs::write(&csv, text).unwrap();

    let dir = sync.to_str().unwrap();
    let worktree = run(&["--repo", dir, "validate"]);
    assert_eq!(worktree.code, 1, "{worktree:?}");

    let head = run(&["--repo", dir, "--ref", "HEAD", "validate"]);
    assert_eq!(head.code, 0, "{head:?}");
    assert!(head.stdout.contains("revision HEAD"), "{head:?}");
    assert!(head.stdout.contains("folder identity/sync"), "{head:?}");

    let by_id =
        run(&["--repo", dir, "--ref", &first.to_string(), "--now", "2026-11-22", "plan", "--format", "json"]);
    assert_eq!(by_id.code, 0, "{by_id:?}");
    let plans = crate::util::json(&by_id.stdout);
    assert_eq!(plans[0]["summary"]["create"], 143, "the data files of the revision are read too");

    let unknown = run(&["--repo", dir, "--ref", "no-such-branch", "validate"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("revision `no-such-branch` does not exist"), "{unknown:?}");
}

#[test]
fn ref_outside_a_git_repository_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/sync-repo"), tmp.path());
    let out = run(&["--repo", tmp.path().to_str().unwrap(), "--ref", "HEAD", "validate"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is not inside a git repository"), "{out:?}");
    assert!(Path::new(tmp.path()).join("hrsync.yaml").exists());
}
