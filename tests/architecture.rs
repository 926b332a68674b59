//! The crate's layering, read from the code: every `crate::…` path in a module under
//! `src/` must name a module of a lower layer (model / memory → config → tls → http → transform
//! → source / directory → digest / state / git → plan → apply → report → run → explain → daemon
//! → cli / fuzz), and the pure layers (model, transform, plan, explain) must do no I/O and not read the
//! clock. A new module must be given its place here, or this test fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::util::root;

/// The crate's top-level modules, lowest first. A module may use only modules before
/// it. Modules on one line do not use each other.
const LAYERS: &[&[&str]] = &[
    &["model", "memory"],
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
    &["explain"],
    &["daemon"],
    &["cli", "fuzz"],
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
    "std::io::",
    "std::thread::sleep",
    "println!",
    "eprintln!",
    "print!(",
    "eprint!(",
];

const PURE: &[&str] = &["model", "transform", "plan", "explain"];

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

/// The code of a file without its comments (line, doc and block comments), so that
/// prose about a module does not count as using it.
fn code(text: &str) -> String {
    let mut unblocked = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("/*") {
        unblocked.push_str(&rest[..i]);
        rest = rest[i + 2..].find("*/").map_or("", |j| &rest[i + 2 + j + 2..]);
    }
    unblocked.push_str(rest);
    unblocked
        .lines()
        .map(|line| match line.find("//") {
            // `//` inside a string literal (a URL) is rare in paths that matter; a
            // commented-out path is not a use.
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level crate modules a file names: `crate::name`, each name of a grouped
/// `crate::{a, b::c}`, and `super::…` paths that climb out of the file's own top-level
/// module (`depth` is how deep the file sits below `src/`: 0 for `src/x.rs` and
/// `src/x/mod.rs`, 1 for `src/x/y.rs` and `src/x/y/mod.rs`, and so on).
fn uses(code: &str, depth: usize) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let name_at =
        |s: &str| -> String { s.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect() };
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let before = rest[..i].chars().last();
        // `hrsync_crate::x` or `$crate::` are not this crate's paths.
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            if let Some(group) = after.strip_prefix('{') {
                // The group's own items: at brace depth 0, up to the closing brace.
                let (mut depth, mut start) = (0usize, 0);
                let mut items = Vec::new();
                for (k, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            items.push(&group[start..k]);
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            items.push(&group[start..k]);
                            start = k + 1;
                        }
                        _ => {}
                    }
                }
                for item in items {
                    let name = name_at(item.trim_start());
                    if !name.is_empty() && name != "self" {
                        found.insert(name);
                    }
                }
            } else {
                let name = name_at(after);
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
        rest = after;
    }
    // `super::super::x` from `src/a/b.rs` (depth 1) climbs to the crate root: `x` is
    // another top-level module.
    let mut rest = code;
    while let Some(i) = rest.find("super::") {
        let mut after = &rest[i..];
        let mut climbs = 0;
        while let Some(next) = after.strip_prefix("super::") {
            climbs += 1;
            after = next;
        }
        if climbs > depth {
            let name = name_at(after);
            if !name.is_empty() {
                found.insert(name);
            }
        }
        rest = &rest[i + "super::".len() * climbs.max(1)..];
    }
    found
}

fn files() -> Vec<(String, PathBuf, String, usize)> {
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
            // A module's own file (`mod.rs`) sits at the depth of its folder.
            let parts = rel.components().count();
            let depth =
                if rel.ends_with("mod.rs") { parts.saturating_sub(2) } else { parts.saturating_sub(1) };
            (module, path.clone(), code(&text), depth)
        })
        .collect()
}

#[test]
fn every_import_points_down() {
    let mut wrong = Vec::new();
    let mut edges = 0;
    for (module, path, code, depth) in files() {
        let Some(own) = layer(&module) else {
            wrong.push(format!("{}: module `{module}` has no layer in LAYERS", path.display()));
            continue;
        };
        for used in uses(&code, depth) {
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
    for (module, path, code, _) in files() {
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
        uses(&code("use crate::model::Value;\n// crate::cli is prose\nlet x = crate::plan::diff(y);"), 0);
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["model", "plan"]);
    assert!(uses("$crate::x other_crate::y", 0).is_empty());
    let grouped = uses("use crate::{cli::Cli, self, run::{Run, open}};", 0);
    assert_eq!(grouped.into_iter().collect::<Vec<_>>(), ["cli", "run"]);
    assert!(uses(&code("/* crate::daemon */ let a = 1;"), 0).is_empty(), "block comments are prose");
    // From src/plan/rows.rs (depth 1): `super::` is plan itself, `super::super::` the root.
    assert!(uses("use super::diff::Planner;", 1).is_empty());
    assert_eq!(uses("use super::super::daemon::Host;", 1).into_iter().collect::<Vec<_>>(), ["daemon"]);
    assert_eq!(layer("model"), Some(0));
    assert!(layer("cli") > layer("daemon") && layer("plan") > layer("state"));
}
