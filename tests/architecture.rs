//! The crate's layering, read from the code: every `crate::…` path in a module under
//! `src/` must name a module of a lower layer (model → config → tls → http → transform
//! → source / directory → digest / state / git → plan → apply → report → run → daemon
//! → cli), and the pure layers (model, transform, plan) must do no I/O and not read the
//! clock. A new module must be given its place here, or this test fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::util::root;

/// The crate's top-level modules, lowest first. A module may use only modules before
/// it. Modules on one line do not use each other.
const LAYERS: &[&[&str]] = &[
    &["model"],
    &["config"],
    &["tls"],
    &["http"],
    &["transform"],
    &["source", "directory"],
    &["digest", "state", "git"],
    &["plan"],
    &["apply"],
    &["report"],
    &["run"],
    &["daemon"],
    &["cli"],
    &["lib", "main"],
];

/// What the pure layers must not name: I/O crates, the file system, the clock.
const IMPURE: &[&str] = &[
    "tokio::",
    "reqwest::",
    "git2::",
    "ldap3::",
    "std::fs",
    "std::net",
    "std::process",
    "std::env",
    "Timestamp::now",
    "Zoned::now",
    "SystemTime::now",
    "Instant::now",
    "fastrand::",
    "getrandom::",
];

const PURE: &[&str] = &["model", "transform", "plan"];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (line comments and doc comments), so that
/// prose about a module does not count as using it.
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            // `//` inside a string literal (a URL) is rare in paths that matter; a
            // commented-out path is not a use.
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level crate modules a file names as `crate::name`.
fn uses(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let name: String = after.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
        let before = rest[..i].chars().last();
        // `hrsync_crate::x` or `$crate::` are not this crate's paths.
        if !name.is_empty() && !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            found.insert(name);
        }
        rest = after;
    }
    found
}

fn files() -> Vec<(String, PathBuf, String)> {
    let src = root().join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    paths.sort();
    assert!(paths.len() > 40, "expected the crate's sources under {}", src.display());
    paths
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&src).unwrap();
            let top = rel.components().next().unwrap().as_os_str().to_string_lossy();
            let module = top.trim_end_matches(".rs").to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            (module, path, code(&text))
        })
        .collect()
}

#[test]
fn every_import_points_down() {
    let mut wrong = Vec::new();
    let mut edges = 0;
    for (module, path, code) in files() {
        let Some(own) = layer(&module) else {
            wrong.push(format!("{}: module `{module}` has no layer in LAYERS", path.display()));
            continue;
        };
        for used in uses(&code) {
            if used == module {
                continue;
            }
            edges += 1;
            match layer(&used) {
                Some(l) if l < own => {}
                Some(_) => wrong.push(format!(
                    "{}: `{module}` uses `crate::{used}`, a layer above or beside it",
                    path.display()
                )),
                None => wrong.push(format!("{}: `crate::{used}` is not a module in LAYERS", path.display())),
            }
        }
    }
    assert!(edges > 50, "found only {edges} imports: is the scan reading the sources?");
    assert!(wrong.is_empty(), "imports that do not point down:\n{}", wrong.join("\n"));
}

#[test]
fn the_pure_layers_do_no_io_and_read_no_clock() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (module, path, code) in files() {
        if !PURE.contains(&module.as_str()) {
            continue;
        }
        checked += 1;
        for banned in IMPURE {
            if code.contains(banned) {
                wrong.push(format!("{}: `{module}` names `{banned}`", path.display()));
            }
        }
    }
    assert!(checked >= 15, "expected the files of model, transform and plan, found {checked}");
    assert!(wrong.is_empty(), "I/O or clock in a pure layer:\n{}", wrong.join("\n"));
}

#[test]
fn the_scan_sees_paths_and_ignores_comments() {
    let found =
        uses(&code("use crate::model::Value;\n// crate::cli is prose\nlet x = crate::plan::diff(y);"));
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["model", "plan"]);
    assert!(uses("$crate::x other_crate::y").is_empty());
    assert_eq!(layer("model"), Some(0));
    assert!(layer("cli") > layer("daemon") && layer("plan") > layer("state"));
}
