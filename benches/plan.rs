//! Plan benchmark: N synthetic people with a realistic hierarchy, planned against N
//! existing entries. Prints parse time, plan time, their ratio and peak memory; it
//! checks nothing, so noisy machines cannot make it fail (see BENCHMARKS.md).
//!
//! `cargo bench --bench plan` (100,000 people), or `cargo bench --bench plan -- 20000`;
//! `-- --groups` adds groups (one per org unit, nested; one per location; one of
//! everyone) that the directory holds as the last sync left them, with 1 % of the people
//! moved to another unit since.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods, missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{DIRECTORY, FILTER, SOURCE, WORKSPACE, ascii};
use hrsync::config;
use mimalloc::MiMalloc;

// The allocator of the hrsync binary, so the figures are the product's.
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;
use hrsync::config::files::{RepoFiles, WorkTree};
use hrsync::directory::{Entry, Group};
use hrsync::model::{Attributes, Names, Value};
use hrsync::plan::{self, PlanInput, SourceHealth, SourceStatus};
use hrsync::run::hash_inputs;
use hrsync::source::{self, Fetch, FetchRequest};
use hrsync::state::Snapshot;
use hrsync::transform::merge::{self, SourceRecords};

/// The group definitions of `--groups`.
const GROUPS: [(&str, &str); 3] = [
    ("units", "version: 1\nper: org_unit\nname: \"unit-{{ value | lower }}\"\nnesting: true\n"),
    ("locations", "version: 1\nper: work_location\nname: \"site-{{ value | ascii | lower }}\"\n"),
    ("everyone", "version: 1\nname: everyone\n"),
];

/// The groups the directory holds after the last sync: every entry in its unit's,
/// its location's and everyone's group, except 1 % still in the unit they left.
fn groups_of(hr: &common::Hr) -> Vec<Group> {
    let key = |def: &str, value: &str| format!("hrsync:bench/corp:{def}:{}", value.to_lowercase());
    let mut by_key: BTreeMap<String, Group> = BTreeMap::new();
    let mut put = |key: String, name: String, member: &str| {
        by_key
            .entry(key.clone())
            .or_insert_with(|| Group { id: key.clone(), name, key: Some(key), members: Vec::new() })
            .members
            .push(member.to_owned());
    };
    for (i, p) in hr.people.iter().enumerate() {
        if p.contractor || p.joiner {
            continue;
        }
        // One in a hundred moved since the last sync: still in the unit they left.
        let unit = if i % 100 == 7 { "U0" } else { p.unit.as_str() };
        put(key("units", unit), format!("unit-{}", unit.to_lowercase()), &p.number);
        put(key("locations", p.location), format!("site-{}", ascii(p.location).to_lowercase()), &p.number);
        put(key("everyone", "").trim_end_matches(':').to_owned(), "everyone".to_owned(), &p.number);
    }
    by_key.into_values().collect()
}

/// Generates the people CSV, the org units CSV, and the entries a directory would hold
/// after the last sync (with some drift, leavers and joiners, like a normal day).
fn generate(n: usize) -> (String, String, Vec<Entry>, common::Hr) {
    let mut hr = common::generate(n);
    let mut entries = Vec::with_capacity(n);
    let mut uids: BTreeSet<String> = BTreeSet::new();
    let mut names = Names::default();
    for p in &hr.people {
        // The directory as the last sync left it: everyone in scope but today's
        // joiners, with 2 % drifted by hand, and leavers not yet disabled.
        if p.contractor || p.joiner {
            continue;
        }
        let given = if p.preferred.is_empty() { p.first } else { p.preferred };
        let (first, last) = (ascii(p.first), ascii(p.last));
        let mut uid = format!("{first}.{last}");
        let mut k = 2;
        while uids.contains(&uid) {
            uid = format!("{first}.{last}{k}");
            k += 1;
        }
        uids.insert(uid.clone());
        let mut attrs: BTreeMap<String, Value> = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            if !v.is_empty() {
                attrs.insert(k.to_owned(), Value::One(v));
            }
        };
        put("uid", uid);
        put("cn", format!("{given} {}", p.last));
        put("givenName", given.to_owned());
        put("sn", p.last.to_owned());
        put("mail", p.email.clone());
        put("employeeNumber", p.number.clone());
        put("title", p.title.to_owned());
        put("departmentNumber", p.unit.clone());
        put("ou", if p.drifted { "Renamed by hand".to_owned() } else { format!("Unit {}", &p.unit[1..]) });
        put("telephoneNumber", p.phone.clone());
        put("l", p.location.to_owned());
        put("manager", p.manager.clone());
        put("managedBy", "hrsync".to_owned());
        let attributes = Attributes::from_map(attrs, &mut names);
        entries.push(Entry { id: p.number.clone(), attributes, enabled: true, revision: Some("1".into()) });
    }
    (std::mem::take(&mut hr.csv), std::mem::take(&mut hr.units), entries, hr)
}

/// Parses entries the way the embedded directory reads them: attribute maps whose
/// names are shared between entries.
fn parse_entries(json: &[u8]) -> Vec<Entry> {
    #[derive(serde::Deserialize)]
    struct Raw {
        id: String,
        attributes: BTreeMap<String, Value>,
        enabled: bool,
        revision: Option<String>,
    }
    let mut names = Names::default();
    serde_json::Deserializer::from_slice(json)
        .into_iter::<Raw>()
        .map(|r| {
            let r = r.unwrap();
            Entry {
                id: r.id,
                attributes: Attributes::from_map(r.attributes, &mut names),
                enabled: r.enabled,
                revision: r.revision,
            }
        })
        .collect()
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100_000);
    // `--rounds N` repeats the measured steps (default 3), for profiling.
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(3)
        .max(1);
    let with_groups = args.iter().any(|a| a == "--groups");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for dir in ["sources", "filters", "directories", "groups"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("hrsync.yaml"), WORKSPACE).unwrap();
    std::fs::write(root.join("filters/staff.yaml"), FILTER).unwrap();
    std::fs::write(root.join("sources/hr.yaml"), SOURCE).unwrap();
    if with_groups {
        std::fs::write(root.join("directories/corp.yaml"), format!("{DIRECTORY}groups: {{}}\n")).unwrap();
        for (name, text) in GROUPS {
            std::fs::write(root.join(format!("groups/{name}.yaml")), text).unwrap();
        }
    } else {
        std::fs::write(root.join("directories/corp.yaml"), DIRECTORY).unwrap();
    }
    let t = Instant::now();
    let (csv, units, generated_entries, hr) = generate(n);
    // Without groups, the people are dropped here, as before groups were measured.
    let live_groups = if with_groups { Some(groups_of(&hr)) } else { None };
    drop(hr);
    std::fs::write(root.join("people.csv"), &csv).unwrap();
    std::fs::write(root.join("units.csv"), &units).unwrap();
    // The directory's entries as a directory hands them over: a JSON document (the
    // embedded directory's format, and the shape of SCIM and Graph responses).
    // One entry per line, read and converted one at a time, as the embedded directory
    // reads one file per entry.
    let mut entries_json = Vec::new();
    for e in &generated_entries {
        serde_json::to_writer(&mut entries_json, e).unwrap();
        entries_json.push(b'\n');
    }
    let entry_count = generated_entries.len();
    drop(generated_entries);
    let generated = t.elapsed();
    let csv_mb = csv.len() as f64 / 1e6;
    let json_mb = entries_json.len() as f64 / 1e6;
    drop(csv);

    let files: Arc<dyn RepoFiles> = Arc::new(WorkTree::new(root));
    let config = config::load(files.as_ref()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut parses = Vec::new();
    let mut plans = Vec::new();
    let mut parse_people = Duration::MAX;
    let mut steps = [Duration::MAX; 3];
    let mut last = None;
    for _ in 0..rounds {
        // One plan alive at a time, as in a run.
        drop(last.take());
        // Parse: read the file, CSV, normalize every value.
        let t = Instant::now();
        let source = source::build(&config.sources[0], files.clone());
        let Fetch::Records(batch) = runtime.block_on(source.fetch(&FetchRequest::default())).unwrap() else {
            panic!("skipped")
        };
        parse_people = parse_people.min(t.elapsed());
        let snapshot = Snapshot {
            people: batch.people.into_iter().map(Arc::new).collect(),
            employments: batch.employments,
            org_units: batch.org_units,
            as_of: None,
            skipped: Vec::new(),
            withheld: Vec::new(),
        };
        let live = parse_entries(&entries_json);
        parses.push(t.elapsed());

        // Plan: filter, merge, hash the inputs, match, map, diff, guard.
        let t = Instant::now();
        let records = [SourceRecords {
            config: &config.sources[0],
            people: &snapshot.people,
            employments: &snapshot.employments,
            org_units: &snapshot.org_units,
            withheld: &[],
        }];
        let population = merge::merge(&records, &config.filters);
        let merged = t.elapsed();
        let inputs_hash = hash_inputs(&[(&config.sources[0], &snapshot)]);
        let hashed = t.elapsed();
        let sources = [SourceStatus {
            id: config.sources[0].id.clone(),
            health: SourceHealth::Healthy,
            people: snapshot.people.len(),
            skipped: Vec::new(),
        }];
        let plan = plan::diff(&PlanInput {
            config: &config,
            directory: &config.directories[0],
            population: &population,
            inputs_hash: &inputs_hash,
            sources: &sources,
            live: &live,
            groups: live_groups.as_deref(),
            org_units: &snapshot.org_units,
            held_elsewhere: &Default::default(),
            now: "2026-11-22T09:00:00Z".parse().unwrap(),
            timers: &BTreeMap::new(),
            approvals: &BTreeSet::new(),
            list_unchanged: false,
        });
        plans.push(t.elapsed());
        for (slot, d) in steps.iter_mut().zip([merged, hashed - merged, t.elapsed() - hashed]) {
            *slot = (*slot).min(d);
        }
        last = Some(plan);
    }
    let plan = last.unwrap();
    let t = Instant::now();
    let json = plan::render::json(&plan).unwrap();
    let render = t.elapsed();

    let best = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    let (parse, planned) = (best(&parses), best(&plans));
    let total = parse + planned;
    let peak = peak_rss_mb();
    let s = &plan.summary;
    println!(
        "hrsync plan benchmark: {n} people ({csv_mb:.1} MB of CSV), {entry_count} existing entries ({json_mb:.1} MB of JSON)"
    );
    println!(
        "plan: {} create, {} update, {} disable, {} delete, {} skip, {} unchanged; status {}",
        s.create,
        s.update,
        s.disable,
        s.delete,
        s.skip,
        s.noop,
        plan.status.as_str()
    );
    if let Some(g) = &plan.groups {
        let s = &g.summary;
        println!(
            "groups: {} owned; {} create, {} update, {} delete, {} skip, {} unchanged; {} members added, {} removed",
            g.owned, s.create, s.update, s.delete, s.skip, s.noop, s.members_added, s.members_removed
        );
    }
    println!("generate data       {:>9.1} ms (not measured below)", ms(generated));
    println!(
        "parse (best of {rounds})   {:>9.1} ms (people {:.1} ms, entries the rest)",
        ms(parse),
        ms(parse_people)
    );
    println!("plan  (best of {rounds})   {:>9.1} ms", ms(planned));
    println!(
        "  of which merge    {:>9.1} ms, hash inputs {:.1} ms, diff {:.1} ms",
        ms(steps[0]),
        ms(steps[1]),
        ms(steps[2])
    );
    println!(
        "parse + plan        {:>9.1} ms   target <= 1000 ms: {}",
        ms(total),
        verdict(total <= Duration::from_secs(1))
    );
    println!(
        "plan / parse        {:>9.2} x    target <= 2.0 x:   {} (against the people alone: {:.2} x)",
        ms(planned) / ms(parse),
        verdict(planned <= parse * 2),
        ms(planned) / ms(parse_people)
    );
    println!("peak memory         {:>9.1} MB   target <= 400 MB:  {}", peak, verdict(peak <= 400.0));
    println!(
        "render JSON         {:>9.1} ms ({:.1} MB, not part of the target)",
        ms(render),
        json.len() as f64 / 1e6
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}
