//! Golden cases: `tests/cases/<name>/` holds a sync repository (`repo/`), the state the
//! run starts from (`state/`: the embedded directory's entries, timers), the clock
//! (`now`), and the expected `plan.md` and `plan.json` (rendered with `--pii full`).
//! Set `SNAPSHOTS=overwrite` to rewrite the expected files after an intended change,
//! and review the diff.

use std::path::Path;

use snapbox::{Data, assert::DEFAULT_ACTION_ENV};

use crate::util::{copy_dir, root, run};

fn check(case: &str) {
    let dir = root().join("tests/cases").join(case);
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&dir.join("repo"), &tmp.path().join("repo"));
    if dir.join("state").is_dir() {
        copy_dir(&dir.join("state"), &tmp.path().join("state"));
    }
    let now = std::fs::read_to_string(dir.join("now")).unwrap();
    let repo = tmp.path().join("repo");
    let state = tmp.path().join("state");
    let args = |format: &str| {
        run(&[
            "--repo",
            repo.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
            "--now",
            now.trim(),
            "plan",
            "--pii",
            "full",
            "--format",
            format,
        ])
    };
    let assert = snapbox::Assert::new().action_env(DEFAULT_ACTION_ENV);
    for (format, file) in [("markdown", "plan.md"), ("json", "plan.json")] {
        let out = args(format);
        assert!(out.code == 0, "{case}: {out:?}");
        assert.eq(out.stdout, Data::read_from(&dir.join(file), None).raw());
    }
}

#[test]
fn every_case_folder_has_a_test() {
    let mut names: Vec<String> = std::fs::read_dir(root().join("tests/cases"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, CASES, "add the new case to CASES");
    for name in CASES {
        assert!(Path::new(&root().join("tests/cases").join(name).join("now")).is_file(), "{name}");
    }
}

const CASES: &[&str] = &[
    "ambiguous-matches",
    "groups-and-overrides",
    "joiners-and-leavers",
    "managers",
    "mass-disable-blocked",
    "movers-and-field-modes",
    "overrides",
    "two-sources",
];

#[test]
fn ambiguous_matches() {
    check("ambiguous-matches");
}

#[test]
fn joiners_and_leavers() {
    check("joiners-and-leavers");
}

#[test]
fn managers() {
    check("managers");
}

#[test]
fn mass_disable_blocked() {
    check("mass-disable-blocked");
}

#[test]
fn movers_and_field_modes() {
    check("movers-and-field-modes");
}

#[test]
fn two_sources() {
    check("two-sources");
}

#[test]
fn overrides() {
    check("overrides");
}

#[test]
fn groups_and_overrides() {
    check("groups-and-overrides");
}
