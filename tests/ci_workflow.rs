//! The example CI workflow (`examples/ci/plan-review.github.yml`), its steps run here as
//! GitHub Actions would run them on a pull request: in a clone of a bare remote, with
//! the PR's head and the base branch, `hrsync` the binary under test, and `gh` a stand-in
//! that records the comment it is asked to post. The install and checkout steps are
//! GitHub's (the clone stands in for checkout).

use std::path::{Path, PathBuf};
use std::process::Command;

use git2::Repository;

use crate::daemon::commit_all;
use crate::util::{copy_dir, root};

/// The workflow's steps: name, `if:`, `run:`.
fn steps() -> Vec<(String, Option<String>, Option<String>)> {
    let text = std::fs::read_to_string(root().join("examples/ci/plan-review.github.yml")).unwrap();
    let doc: serde_json::Value = serde_yaml::from_str(&text).unwrap();
    doc["jobs"]["review"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let text = |k: &str| s[k].as_str().map(str::to_owned);
            (text("name").unwrap_or_default(), text("if"), text("run"))
        })
        .collect()
}

/// A pull request: a bare remote holding the example on `main` and `branch` (with
/// `edit` applied), cloned as checkout would.
struct PullRequest {
    _tmp: tempfile::TempDir,
    checkout: PathBuf,
    head: String,
    bin: PathBuf,
}

fn pull_request(edit: impl FnOnce(&Path)) -> PullRequest {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    copy_dir(&root().join("examples/sync-repo"), &work);
    let repo = Repository::init(&work).unwrap();
    commit_all(&repo, "the example");
    let main = repo.head().unwrap().shorthand().unwrap().to_owned();
    let base = repo.head().unwrap().peel_to_commit().unwrap();
    repo.branch("change", &base, false).unwrap();
    repo.set_head("refs/heads/change").unwrap();
    edit(&work);
    let head = commit_all(&repo, "the change").to_string();
    let bare = tmp.path().join("remote.git");
    Repository::init_bare(&bare).unwrap();
    let mut remote = repo.remote("origin", bare.to_str().unwrap()).unwrap();
    remote
        .push(
            &[format!("refs/heads/{main}:refs/heads/main"), "refs/heads/change:refs/heads/change".into()],
            None,
        )
        .unwrap();
    let checkout = tmp.path().join("checkout");
    Repository::clone(bare.to_str().unwrap(), &checkout).unwrap();
    // `hrsync` and `gh` on the PATH: the binary under test, and a recorder.
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hrsync"), bin.join("hrsync")).unwrap();
    let gh = bin.join("gh");
    std::fs::write(&gh, "#!/bin/sh\necho \"$@\" >> \"$GH_LOG\"\nwhile [ $# -gt 0 ]; do [ \"$1\" = --body-file ] && cat \"$2\" > \"$GH_LOG.body\"; shift; done\n").unwrap();
    let mut perms = std::fs::metadata(&gh).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&gh, perms).unwrap();
    PullRequest { _tmp: tmp, checkout, head, bin }
}

/// What the job did: whether it failed, and the comment posted.
struct Job {
    failed: bool,
    comment: Option<String>,
    log: String,
}

/// Runs the workflow's steps in the checkout, as Actions would: a step runs while no
/// step failed, unless its `if:` says otherwise (`always()`, or a condition on the plan
/// step's output, the two the workflow uses).
fn run_job(pr: &PullRequest) -> Job {
    let output = pr.checkout.join("github_output");
    let gh_log = pr.checkout.join("gh.log");
    let mut failed = false;
    let mut log = String::new();
    for (name, condition, run) in steps() {
        let Some(script) = run else { continue }; // `uses:` steps: checkout
        if name == "Install hrsync" {
            continue; // the binary under test is on the PATH
        }
        let code = || {
            let text = std::fs::read_to_string(&output).unwrap_or_default();
            text.lines().find_map(|l| l.strip_prefix("code=")).unwrap_or_default().to_owned()
        };
        let go = match condition.as_deref() {
            None => !failed,
            Some("always()") => true,
            Some("steps.plan.outputs.code != '0' && steps.plan.outputs.code != '2'") => {
                let c = code();
                c != "0" && c != "2"
            }
            Some(other) => panic!("the test does not know the condition `{other}` of step `{name}`"),
        };
        if !go {
            continue;
        }
        let script = script
            .replace("${{ github.event.pull_request.head.sha }}", &pr.head)
            .replace("${{ github.base_ref }}", "main")
            .replace("${{ github.event.pull_request.number }}", "42");
        assert!(!script.contains("${{"), "an expression the test does not fill in: {script}");
        let out = Command::new("bash")
            .args(["-e", "-c", &script])
            .current_dir(&pr.checkout)
            .env("PATH", format!("{}:{}", pr.bin.display(), std::env::var("PATH").unwrap_or_default()))
            .env("GITHUB_OUTPUT", &output)
            .env("GH_LOG", &gh_log)
            .env("GH_TOKEN", "t")
            .output()
            .unwrap();
        log.push_str(&format!(
            "--- {name}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
        failed |= !out.status.success();
    }
    let comment = std::fs::read_to_string(pr.checkout.join("gh.log.body")).ok();
    Job { failed, comment, log }
}

#[test]
fn the_workflow_posts_the_review_of_a_change_and_of_a_broken_config() {
    // A change that hires someone: the review says what it does; the job passes.
    let pr = pull_request(|dir| {
        let csv = dir.join("data/germany.csv");
        let mut text = std::fs::read_to_string(&csv).unwrap();
        text.push_str("10999;Neue;Kollegin;neue.kollegin@acme.example;DE-ENG;Engineer;10002;Aktiv;Festangestellt;01.11.2026;;Berlin;ACME GmbH;\n");
        std::fs::write(csv, text).unwrap();
    });
    let job = run_job(&pr);
    assert!(!job.failed, "{}", job.log);
    let comment = job.comment.unwrap_or_else(|| panic!("no comment: {}", job.log));
    assert!(comment.starts_with("## hrsync: what this change does"), "{comment}");
    assert!(comment.contains("gives 1 person an account"), "{comment}");

    // A branch whose YAML does not parse: the comment lists the error, the job fails.
    let pr = pull_request(|dir| {
        let corp = dir.join("directories/corp.yaml");
        let text = std::fs::read_to_string(&corp).unwrap().replace("mode: apply", "mode: [apply");
        std::fs::write(corp, text).unwrap();
    });
    let job = run_job(&pr);
    assert!(job.failed, "a change that cannot be planned fails the check: {}", job.log);
    let comment = job.comment.unwrap_or_else(|| panic!("no comment: {}", job.log));
    assert!(comment.starts_with("## hrsync: this change cannot be planned"), "{comment}");
    assert!(comment.contains("directories/corp.yaml:"), "{comment}");
}
