//! Reports benchmark: the first sync of N synthetic people (every one a create), its
//! plan rendered for the reports branch, committed to a local repository with hrsync's
//! own git code and pushed to a local bare remote with hrsync's own push code: in the
//! layout of now (`report::plan`: a capped `plan.md`, a `plan.json` index and parts),
//! then the same plan again (no commit), then in the layout of before (one `plan.json`
//! and one `plan.md` holding the whole plan, to a remote of its own), side by side in
//! one run; then, in the layout of now, a smaller next plan (its stale parts go).
//! Prints file counts, the biggest file, total bytes, times and memory; it checks
//! nothing (see BENCHMARKS.md).
//!
//! `cargo bench --bench reports` (1,000,000 people), `cargo bench --bench reports --
//! 20000` for another size, `-- --now-only` to leave the layout of before out.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods, missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{DIRECTORY, FILTER, SOURCE, WORKSPACE};
use hrsync::config;
use hrsync::config::files::{RepoFiles, WorkTree};
use hrsync::git::remote::Mirror;
use hrsync::git::reports::{ReportCommit, ReportsBranch};
use hrsync::plan::pii::{self, Pii};
use hrsync::plan::render::markdown;
use hrsync::plan::{self, Action, Plan, PlanInput, SourceHealth, SourceStatus};
use hrsync::report::plan::{self as plan_report, Limits};
use hrsync::run::hash_inputs;
use hrsync::source::{self, Fetch, FetchRequest};
use hrsync::state::Snapshot;
use hrsync::transform::merge::{self, SourceRecords};
use mimalloc::MiMalloc;

// The allocator of the hrsync binary, so the figures are the product's.
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

const BRANCH: &str = "hrsync/reports";

fn status_kb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

/// The process's resident memory now, in MB.
fn rss_mb() -> f64 {
    status_kb("VmRSS:") / 1024.0
}

/// The high-water mark of resident memory since the last [`reset_peak`], in MB.
fn peak_mb() -> f64 {
    status_kb("VmHWM:") / 1024.0
}

/// Starts a new high-water mark (Linux: `5` to `/proc/self/clear_refs`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The bytes of the files below `dir`.
fn du(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        total += if path.is_dir() { du(&path) } else { entry.metadata().map_or(0, |m| m.len()) };
    }
    total
}

/// Builds the plan of a first sync of `n` people: nobody has an entry yet.
fn first_sync(n: usize, root: &Path) -> Plan {
    for dir in ["sources", "filters", "directories"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("hrsync.yaml"), WORKSPACE).unwrap();
    std::fs::write(root.join("filters/staff.yaml"), FILTER).unwrap();
    std::fs::write(root.join("sources/hr.yaml"), SOURCE).unwrap();
    // The plan benchmark's directory, but for the numbered `uid`: 50 first and 44 last
    // names give 2,200 pairs, whose 99 numbers run out long before a million people
    // (every later one would be a `no free value` skip). Their employee number sets
    // namesakes apart instead, so a first sync creates everyone, as in real life.
    let directory = DIRECTORY.replace("{{ n }}\"]", ".{{ employee_number | lower }}\"]");
    assert_ne!(directory, DIRECTORY);
    std::fs::write(root.join("directories/corp.yaml"), directory).unwrap();
    let hr = common::generate(n);
    std::fs::write(root.join("people.csv"), &hr.csv).unwrap();
    std::fs::write(root.join("units.csv"), &hr.units).unwrap();
    drop(hr);
    let files: Arc<dyn RepoFiles> = Arc::new(WorkTree::new(root));
    let config = config::load(files.as_ref()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let source = source::build(&config.sources[0], files.clone());
    let Fetch::Records(batch) = runtime.block_on(source.fetch(&FetchRequest::default())).unwrap() else {
        panic!("skipped")
    };
    let snapshot = Snapshot {
        people: batch.people.into_iter().map(Arc::new).collect(),
        employments: batch.employments,
        org_units: batch.org_units,
        as_of: None,
        skipped: Vec::new(),
        withheld: Vec::new(),
    };
    let records = [SourceRecords {
        config: &config.sources[0],
        people: &snapshot.people,
        employments: &snapshot.employments,
        org_units: &snapshot.org_units,
        withheld: &[],
    }];
    let population = merge::merge(&records, &config.filters);
    let inputs_hash = hash_inputs(&[(&config.sources[0], &snapshot)]);
    let sources = [SourceStatus {
        id: config.sources[0].id.clone(),
        health: SourceHealth::Healthy,
        people: snapshot.people.len(),
        skipped: Vec::new(),
    }];
    plan::diff(&PlanInput {
        config: &config,
        directory: &config.directories[0],
        population: &population,
        inputs_hash: &inputs_hash,
        sources: &sources,
        live: &[],
        groups: None,
        org_units: &[],
        held_elsewhere: &Default::default(),
        now: "2026-11-22T09:00:00Z".parse().unwrap(),
        timers: &BTreeMap::new(),
        approvals: &BTreeSet::new(),
        list_unchanged: false,
        list_people: &[],
    })
}

/// A local repository with a reports branch, and the bare remote it pushes to.
struct Remote {
    _tmp: tempfile::TempDir,
    mirror: std::path::PathBuf,
    remote: std::path::PathBuf,
    url: String,
}

impl Remote {
    fn new() -> Remote {
        let tmp = tempfile::tempdir().unwrap();
        let remote = tmp.path().join("remote.git");
        git2::Repository::init_bare(&remote).unwrap();
        let url = format!("file://{}", remote.display());
        let mirror = tmp.path().join("local.git");
        Mirror::open(&url, &mirror).unwrap();
        Remote { _tmp: tmp, mirror, remote, url }
    }

    fn branch(&self) -> ReportsBranch {
        ReportsBranch::open(&self.mirror, BRANCH, "reports").unwrap()
    }

    fn push(&self) {
        Mirror::open(&self.url, &self.mirror).unwrap().push_reports(BRANCH).unwrap();
    }
}

/// What one stage measured.
struct Stage {
    name: &'static str,
    files: usize,
    /// The sizes of `plan.md` and `plan.json`.
    md_json: (u64, u64),
    biggest: (String, u64),
    total: u64,
    render: Duration,
    commit: Duration,
    committed: bool,
    push: Option<Duration>,
    remote: u64,
    base_mb: f64,
    peak_mb: f64,
}

fn commit(branch: &ReportsBranch, files: Vec<(String, Vec<u8>)>, replace: Vec<String>, n: usize) -> bool {
    let commit = ReportCommit {
        files,
        replace,
        subject: format!("Plan for `corp`: {n} rows"),
        trailers: vec![("Config-Revision", "0".repeat(40))],
        time: 1_795_338_000,
    };
    branch.commit(&commit).unwrap().is_some()
}

/// Renders with `render`, commits to `remote` and pushes (when a commit was made).
fn stage(
    name: &'static str,
    remote: &Remote,
    plan: &Plan,
    render: impl FnOnce(&Plan) -> (Vec<(String, Vec<u8>)>, Vec<String>),
) -> Stage {
    let base_mb = rss_mb();
    reset_peak();
    let t = Instant::now();
    let (files, replace) = render(plan);
    let render = t.elapsed();
    let biggest = files
        .iter()
        .max_by_key(|(_, b)| b.len())
        .map(|(p, b)| (p.clone(), b.len() as u64))
        .unwrap_or_default();
    let total = files.iter().map(|(_, b)| b.len() as u64).sum();
    let count = files.len();
    let size_of =
        |name: &str| files.iter().find(|(p, _)| p.ends_with(name)).map_or(0, |(_, b)| b.len() as u64);
    let md_json = (size_of("/plan.md"), size_of("/plan.json"));
    let t = Instant::now();
    let committed = commit(&remote.branch(), files, replace, plan.rows.len());
    let commit = t.elapsed();
    let push = committed.then(|| {
        let t = Instant::now();
        remote.push();
        t.elapsed()
    });
    Stage {
        name,
        files: count,
        md_json,
        biggest,
        total,
        render,
        commit,
        committed,
        push,
        remote: du(&remote.remote),
        base_mb,
        peak_mb: peak_mb(),
    }
}

/// The files of before: the whole plan as `plan.json` and as `plan.md`.
fn before(plan: &Plan, pii: &Pii) -> (Vec<(String, Vec<u8>)>, Vec<String>) {
    let redacted = pii::redact(plan, pii);
    let mut json = serde_json::to_vec_pretty(&redacted).unwrap();
    json.push(b'\n');
    let md = markdown::render(&redacted).into_bytes();
    (vec![("corp/plan.md".into(), md), ("corp/plan.json".into(), json)], Vec::new())
}

/// The files of now.
fn now(plan: &Plan, pii: &Pii) -> (Vec<(String, Vec<u8>)>, Vec<String>) {
    let report = plan_report::render(plan, pii, &Limits::default()).unwrap();
    (report.files, vec![report.parts_folder])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let with_before = !args.iter().any(|a| a == "--now-only");
    let tmp = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let mut plan = first_sync(n, tmp.path());
    let planned = t.elapsed();
    let s = &plan.summary;
    println!(
        "hrsync reports benchmark: a first sync of {n} people, {} rows ({} create, {} skip, {} unchanged with a reason), status {}; planned in {:.1} s, {:.0} MB resident",
        plan.rows.len(),
        s.create,
        s.skip,
        s.noop,
        plan.status.as_str(),
        secs(planned),
        rss_mb()
    );
    let pii = Pii::Masked(Some(hrsync::config::Secret::new("a-label-key")));
    // The layout of now first, so its memory is measured over the plan alone.
    let mut stages = Vec::new();
    let remote = Remote::new();
    stages.push(stage("now: plan.md, plan.json, parts", &remote, &plan, |p| now(p, &pii)));
    stages.push(stage("now, the same plan again", &remote, &plan, |p| now(p, &pii)));
    // For scale: git's own push of the same branch, when git is installed.
    let reference = Remote::new();
    let t = Instant::now();
    let git_push = std::process::Command::new("git")
        .arg("-C")
        .arg(&remote.mirror)
        .args(["push", "--quiet", &reference.url, &format!("refs/heads/{BRANCH}:refs/heads/{BRANCH}")])
        .status()
        .is_ok_and(|s| s.success())
        .then(|| (t.elapsed(), du(&reference.remote)));
    if with_before {
        stages.push(stage("before: one plan.json, one plan.md", &Remote::new(), &plan, |p| before(p, &pii)));
    }
    // A smaller next plan: the same rows but for all creates after the first 1 %.
    let mut kept = 0;
    plan.rows.retain(|r| {
        kept += usize::from(r.action == Action::Create);
        r.action != Action::Create || kept <= n / 100
    });
    plan.summary.create = plan.rows.iter().filter(|r| r.action == Action::Create).count();
    stages.push(stage("now, a smaller next plan (1 % of the creates)", &remote, &plan, |p| now(p, &pii)));

    println!();
    println!(
        "{:<46} {:>6} {:>12} {:>11} {:>8} {:>8} {:>8} {:>11} {:>10} {:>10}",
        "stage",
        "files",
        "biggest MB",
        "total MB",
        "render s",
        "commit s",
        "push s",
        "remote MB",
        "base MB",
        "peak MB"
    );
    for s in &stages {
        println!(
            "{:<46} {:>6} {:>12.1} {:>11.1} {:>8.2} {:>8.2} {:>8} {:>11.1} {:>10.0} {:>10.0}",
            s.name,
            s.files,
            mb(s.biggest.1),
            mb(s.total),
            secs(s.render),
            secs(s.commit),
            match (s.committed, s.push) {
                (true, Some(p)) => format!("{:.2}", secs(p)),
                _ => "no commit".to_owned(),
            },
            mb(s.remote),
            s.base_mb,
            s.peak_mb
        );
    }
    if let Some((time, size)) = git_push {
        println!(
            "{:<46} {:>6} {:>12} {:>11} {:>8} {:>8} {:>8.2} {:>11.1}",
            "for scale: `git push` of the same branch",
            "",
            "",
            "",
            "",
            "",
            secs(time),
            mb(size)
        );
    }
    println!();
    for s in &stages {
        println!(
            "{}: biggest file {} ({:.1} MB); plan.md {:.1} KB, plan.json {:.1} KB",
            s.name,
            s.biggest.0,
            mb(s.biggest.1),
            s.md_json.0 as f64 / 1e3,
            s.md_json.1 as f64 / 1e3
        );
    }
    println!(
        "remote MB: the bare remote's size after the push (objects packed by the push); base MB: resident before the stage (the plan and the people); peak MB: the high-water mark during it"
    );
}
