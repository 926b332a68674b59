//! Every seed and every kept crasher of the fuzz targets (`fuzz/seeds/<target>/`,
//! `fuzz/regressions/<target>/`) through its entry point in `hrsync::fuzz`: an input
//! that once panicked, hung or ran out of memory panics here again if the bug comes
//! back. The fuzz targets themselves need nightly and cargo-fuzz (README, "Fuzzing");
//! this runs on stable with the rest of the suite.

use std::path::Path;

use crate::util::root;

/// A fuzzing entry point.
type Target = fn(&[u8]);

/// The targets, as `fuzz/fuzz_targets/<name>.rs` names them.
const TARGETS: &[(&str, Target)] = &[
    ("config", hrsync::fuzz::config),
    ("csv_source", hrsync::fuzz::csv_source),
    ("json_source", hrsync::fuzz::json_source),
    ("template", hrsync::fuzz::template),
    ("ldap_entry", hrsync::fuzz::ldap_entry),
    ("scim_response", hrsync::fuzz::scim_response),
    ("graph_response", hrsync::fuzz::graph_response),
];

/// The files of a folder, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn every_seed_and_regression_runs_without_a_panic() {
    let fuzz = root().join("fuzz");
    let mut ran = 0;
    for (name, target) in TARGETS {
        assert!(fuzz.join("fuzz_targets").join(format!("{name}.rs")).is_file(), "no fuzz target {name}");
        let seeds = inputs(&fuzz.join("seeds").join(name));
        assert!(!seeds.is_empty(), "fuzz/seeds/{name} holds no seed");
        for file in seeds.iter().chain(&inputs(&fuzz.join("regressions").join(name))) {
            let data = std::fs::read(file).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} panicked on {}", file.display());
            ran += 1;
        }
    }
    assert!(ran > TARGETS.len());
}

#[test]
fn every_fuzz_target_has_an_entry_here() {
    let mut names: Vec<String> = inputs(&root().join("fuzz/fuzz_targets"))
        .iter()
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
        .collect();
    names.sort();
    let mut listed: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    listed.sort();
    assert_eq!(names, listed);
}
