//! Directory benchmarks: N new people (5,000 by default) applied by `hrsync` to a real
//! OpenLDAP `slapd` over one connection one write at a time and over the default pool,
//! against `ldapadd -c` of the very same entries (the server's own bulk path) over one
//! connection and split over four; no-op and day-two runs over them; the same people
//! applied to `scim2-server`, against a plain HTTP load of the same requests at the
//! same concurrency; and to the Graph fake with and without `$batch`, counting requests.
//! It prints figures and checks nothing, so a noisy machine cannot make it fail
//! (BENCHMARKS.md).
//!
//! `cargo bench --bench directories` (needs `slapd`, `ldap-utils` and the SCIM server
//! that `scripts/test` installs), `cargo bench --bench directories -- 2000`, or one
//! section: `-- --ldap`, `-- --scim`, `-- --graph`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods, missing_docs, dead_code)]

#[path = "../tests/certs.rs"]
mod certs;
mod common;
#[path = "../tests/graph.rs"]
mod graph;
#[path = "../tests/scim_server.rs"]
mod scim_server;
#[path = "../tests/slapd.rs"]
mod slapd;

/// What the shared test harnesses expect of the crate they live in.
mod util {
    pub fn root() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }
}

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value as Json;

use scim_server::{ScimServer, TOKEN};
use slapd::{ADMIN, PASSWORD, SUFFIX, Slapd};

const NOW: &str = "2026-11-22T09:00:00Z";
const SECRET_ENV: &str = "HRSYNC_BENCH_SECRET";

/// A sync repository for the generated people and `directory` (its YAML).
fn repository(root: &Path, hr: &common::Hr, directory: &str) {
    for dir in ["sources", "filters", "directories"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(
        root.join("hrsync.yaml"),
        "version: 1\nworkspace: bench\ntimezone: Europe/Berlin\nsafety: { max_update_percent: 100 }\n",
    )
    .unwrap();
    std::fs::write(
        root.join("filters/staff.yaml"),
        "version: 1\ninclude:\n  - { field: employment_status, in: [active, pending, leave] }\nexclude:\n  - { field: employment_type, in: [contractor] }\n",
    )
    .unwrap();
    std::fs::write(
        root.join("sources/hr.yaml"),
        "version: 1\ntype: csv\npath: people.csv\nmatch_key: [employee_number, work_email]\nfilters: [staff]\norg_units: { path: units.csv }\n",
    )
    .unwrap();
    std::fs::write(root.join("people.csv"), &hr.csv).unwrap();
    std::fs::write(root.join("units.csv"), &hr.units).unwrap();
    std::fs::write(root.join("directories/corp.yaml"), directory).unwrap();
}

/// The CPU time (user and system) of this process's children that have ended, from
/// `/proc/self/stat` (`cutime`, `cstime`; in ticks of 1/100 s on Linux).
fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command's name in parentheses, which may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<u64> = rest.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    // cutime and cstime are fields 16 and 17 of the line, 13 and 14 after the name.
    let ticks = fields.get(12).copied().unwrap_or(0) + fields.get(13).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

thread_local! {
    /// The CPU time of the last `apply`'s hrsync process.
    static LAST_CPU: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::ZERO) };
}

/// Runs `hrsync apply` on `root`, end to end, and returns its wall time and stdout;
/// [`LAST_CPU`] holds the process's CPU time after.
fn apply(root: &Path, secret: &str) -> (Duration, String) {
    let cpu = children_cpu();
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_hrsync"))
        .args(["--repo", root.to_str().unwrap(), "--now", NOW, "apply"])
        .env(SECRET_ENV, secret)
        .output()
        .unwrap();
    let elapsed = t.elapsed();
    LAST_CPU.with(|c| c.set(children_cpu().saturating_sub(cpu)));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    (elapsed, stdout)
}

/// The line of a run's output that says what it did.
fn summary(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.starts_with("Applied to") || l.contains("No changes"))
        .unwrap_or("(no summary)")
        .trim()
        .to_owned()
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// The LDAP directory of the benchmark, over `connections` connections with
/// `concurrency` writes in flight (`None`: the defaults).
fn ldap_directory(url: &str, pool: Option<(usize, usize)>) -> String {
    let pool = pool.map(|(c, f)| format!(", connections: {c}, concurrency: {f}")).unwrap_or_default();
    format!(
        r#"version: 1
type: ldap
mode: apply
connection: {{ url: "{url}", bind_dn: "{ADMIN}", password: "${{env:{SECRET_ENV}}}"{pool} }}
scope:
  base: "ou=people,{SUFFIX}"
  marker: {{ attribute: businessCategory, value: hrsync }}
entry: {{ rdn: uid }}
disable: {{ move_to: "ou=disabled,{SUFFIX}" }}
match:
  - {{ person: employee_number, attribute: employeeNumber }}
fields:
  uid:
    candidates:
      - "{{{{ first_name | ascii | alnum | lower }}}}.{{{{ last_name | ascii | alnum | lower }}}}"
      - "{{{{ first_name | ascii | alnum | lower }}}}.{{{{ last_name | ascii | alnum | lower }}}}{{{{ n }}}}"
    unique: true
    mode: import_once
  cn: {{ value: "{{{{ preferred_name | default(first_name) }}}} {{{{ last_name }}}}" }}
  sn: {{ value: "{{{{ last_name }}}}" }}
  givenName: {{ value: "{{{{ preferred_name | default(first_name) }}}}" }}
  mail: {{ value: "{{{{ work_email | lower }}}}" }}
  employeeNumber: {{ value: "{{{{ employee_number }}}}" }}
  title: {{ value: "{{{{ job_title }}}}", mode: import_once }}
  departmentNumber: {{ value: "{{{{ org_unit }}}}" }}
  ou: {{ value: "{{{{ org_unit_name }}}}" }}
  telephoneNumber: {{ value: "{{{{ phone }}}}" }}
  l: {{ value: "{{{{ work_location }}}}" }}
  manager: {{ manager: true }}
leavers: {{ action: disable }}
"#
    )
}

/// The HR export a day later: one person in 50 with a new phone number, one in 300
/// gone (terminated the day before), and one in 200 new, reporting to someone there.
fn day_two(csv: &str) -> String {
    let mut out = String::with_capacity(csv.len() + csv.len() / 100);
    let mut lines = csv.lines();
    out.push_str(lines.next().unwrap());
    out.push('\n');
    let mut rows = 0;
    for (i, line) in lines.enumerate() {
        rows += 1;
        let mut cols: Vec<String> = line.split(',').map(str::to_owned).collect();
        if i % 50 == 11 {
            cols[5] = format!("+49 89 {:07}", i);
        }
        if i % 300 == 17 && cols[10] == "active" {
            cols[10] = "terminated".into();
            cols[13] = "2026-11-21".into();
        }
        out.push_str(&cols.join(","));
        out.push('\n');
    }
    for j in 0..rows / 200 {
        let n = rows + j + 1;
        let manager = format!("E{:07}", j * 3 + 1);
        out.push_str(&format!(
            "E{n:07},Nora,Neu,,nora.neu.{n}@acme.example,,Engineer,U0,Berlin,{manager},active,employee,2026-11-20,\n"
        ));
    }
    out
}

/// `ldapadd -c` of `ldif`'s entries into `server`, split over `connections` processes
/// (entry i to process i mod n) running at once; the wall time of all.
fn ldapadd_split(server: &Slapd, ldif: &str, connections: usize) -> Duration {
    let entries: Vec<&str> = ldif.split("\n\n").filter(|e| e.trim_start().starts_with("dn: ")).collect();
    let mut parts = vec![String::new(); connections];
    for (i, e) in entries.iter().enumerate() {
        parts[i % connections].push_str(e.trim());
        parts[i % connections].push_str("\n\n");
    }
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let path = dir.path().join(format!("part{i}.ldif"));
            std::fs::write(&path, p).unwrap();
            path
        })
        .collect();
    let t = Instant::now();
    let children: Vec<_> = files
        .iter()
        .map(|f| {
            Command::new("ldapadd")
                .args(["-x", "-c", "-H", &server.url(), "-D", ADMIN, "-w", PASSWORD, "-f"])
                .arg(f)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "ldapadd: {}", String::from_utf8_lossy(&out.stderr));
    }
    t.elapsed()
}

/// First sync, two no-op runs and a day-two run of the generated people into a fresh
/// slapd, with `pool` (`None`: the defaults); the times and the first run's summary.
fn ldap_runs(hr: &common::Hr, pool: Option<(usize, usize)>) -> (String, [Duration; 4], String, String) {
    let server = Slapd::start();
    let tmp = tempfile::tempdir().unwrap();
    repository(tmp.path(), hr, &ldap_directory(&server.url(), pool));
    let (created, out) = apply(tmp.path(), PASSWORD);
    let created_summary =
        format!("{}; hrsync's CPU {}", summary(&out).trim_end_matches('.'), secs(LAST_CPU.with(|c| c.get())));
    // The entries as the server holds them after the first sync.
    let export = Command::new("ldapsearch")
        .args(["-x", "-LLL", "-o", "ldif-wrap=no", "-H", &server.url(), "-D", ADMIN, "-w", PASSWORD])
        .args(["-b", &format!("ou=people,{SUFFIX}"), "(objectClass=inetOrgPerson)"])
        .output()
        .unwrap();
    let ldif = String::from_utf8(export.stdout).unwrap();
    let (noop, _) = apply(tmp.path(), PASSWORD);
    let (noop2, _) = apply(tmp.path(), PASSWORD);
    std::fs::write(tmp.path().join("people.csv"), day_two(&hr.csv)).unwrap();
    let (day2, out) = apply(tmp.path(), PASSWORD);
    (ldif, [created, noop, noop2, day2], created_summary, summary(&out))
}

fn ldap(n: usize, hr: &common::Hr) {
    // One connection, one write at a time (hrsync before issue 16), then the defaults.
    let (_, single, single_summary, _) = ldap_runs(hr, Some((1, 1)));
    let (ldif, pooled, created_summary, day2_summary) = ldap_runs(hr, None);

    // The same entries, as the server held them after the first sync, added by the
    // server's own tool to fresh servers: over one connection, and split over four.
    let entries = ldif.matches("\ndn: ").count() + usize::from(ldif.starts_with("dn: "));
    let bulk1 = Slapd::start().ldapadd(&ldif);
    let bulk4 = ldapadd_split(&Slapd::start(), &ldif, 4);

    println!("## LDAP: {n} people → slapd\n");
    println!("| | one connection, one write at a time | 4 connections, 16 in flight (default) | |");
    println!("|---|---:|---:|---|");
    println!("| `hrsync apply`, first run | {} | {} | {created_summary} |", secs(single[0]), secs(pooled[0]));
    println!(
        "| `hrsync apply`, no-op run (twice) | {} / {} | {} / {} | |",
        secs(single[1]),
        secs(single[2]),
        secs(pooled[1]),
        secs(pooled[2])
    );
    println!("| `hrsync apply`, day two | {} | {} | {day2_summary} |", secs(single[3]), secs(pooled[3]));
    println!(
        "| `ldapadd -c` of the same {entries} entries | {} | {} (4 processes) | |",
        secs(bulk1),
        secs(bulk4)
    );
    println!(
        "| **hrsync ÷ ldapadd** | **{:.2}** | **{:.2}** | target ≤ 1.1 over four: {} |",
        single[0].as_secs_f64() / bulk1.as_secs_f64(),
        pooled[0].as_secs_f64() / bulk4.as_secs_f64(),
        verdict(pooled[0].as_secs_f64() <= 1.1 * bulk4.as_secs_f64())
    );
    println!("\nOne connection: {single_summary}.\nThe pool: {created_summary}.");
    println!();
}

fn scim(n: usize, hr: &common::Hr) {
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let directory = format!(
        r#"version: 1
type: scim
mode: apply
connection: {{ url: "URL", token: "${{env:{SECRET_ENV}}}", concurrency: 4, page_size: PAGE, bulk: BULK }}
match:
  - {{ person: employee_number, attribute: externalId }}
fields:
  externalId: {{ value: "{{{{ employee_number }}}}" }}
  userName: {{ value: "{{{{ work_email | lower }}}}" }}
  name.givenName: {{ value: "{{{{ first_name }}}}" }}
  name.familyName: {{ value: "{{{{ last_name }}}}" }}
  displayName: {{ value: "{{{{ first_name }}}} {{{{ last_name }}}}" }}
  'emails[type eq "work"].value': {{ value: "{{{{ work_email | lower }}}}" }}
  title: {{ value: "{{{{ job_title }}}}", mode: import_once }}
  {ent}:employeeNumber: {{ value: "{{{{ employee_number }}}}" }}
  {ent}:department: {{ value: "{{{{ org_unit_name }}}}" }}
  {ent}:manager: {{ manager: true }}
leavers: {{ action: disable }}
"#
    );
    // The first sync one request a write (`bulk: false`, as before /Bulk), into a fresh
    // server of its own, right before the same sync with /Bulk.
    let single_server = ScimServer::start();
    let single_tmp = tempfile::tempdir().unwrap();
    let single_directory = directory.replace("URL", &single_server.url()).replace("PAGE", "100");
    repository(single_tmp.path(), hr, &single_directory.replace("BULK", "false"));
    let (single, out) = apply(single_tmp.path(), TOKEN);
    let single_summary = summary(&out);
    drop(single_server);

    let directory = directory.replace("BULK", "true");
    let server = ScimServer::start();
    let tmp = tempfile::tempdir().unwrap();
    repository(tmp.path(), hr, &directory.replace("URL", &server.url()).replace("PAGE", "100"));
    let (created, out) = apply(tmp.path(), TOKEN);
    let created_summary = summary(&out);
    let (noop, out) = apply(tmp.path(), TOKEN);
    let noop_summary = summary(&out);
    // The same no-op run with pages of 1,000 users instead of the default 100.
    repository(tmp.path(), hr, &directory.replace("URL", &server.url()).replace("PAGE", "1000"));
    let (noop_large, _) = apply(tmp.path(), TOKEN);

    // The same users, posted to a fresh server by a plain client at the same
    // concurrency: the rate the server itself reaches.
    let bodies: Vec<String> = server
        .users()
        .into_iter()
        .map(|mut u| {
            let obj = u.as_object_mut().unwrap();
            obj.remove("id");
            obj.remove("meta");
            Json::Object(obj.clone()).to_string()
        })
        .collect();
    drop(server);
    let fresh = ScimServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = format!("{}/Users", fresh.url());
    let t = Instant::now();
    let failures = runtime.block_on(async {
        let client = reqwest::Client::new();
        futures::stream::iter(bodies.iter())
            .map(|body| {
                let request = client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .header("Content-Type", "application/scim+json")
                    .body(body.clone());
                async move { request.send().await.map(|r| r.status().is_success()).unwrap_or(false) }
            })
            .buffer_unordered(4)
            .filter(|ok| std::future::ready(!ok))
            .count()
            .await
    });
    let plain = t.elapsed();
    let rate = |d: Duration| bodies.len() as f64 / d.as_secs_f64();
    // Reading them all back, pages of 100, as a plain client: what a no-op run waits for.
    let t = Instant::now();
    let read = fresh.users_in_pages(100).len();
    let plain_read = t.elapsed();

    println!("## SCIM: {n} people → scim2-server (concurrency 4)\n");
    println!("| | wall time | users/s | |");
    println!("|---|---:|---:|---|");
    println!(
        "| `hrsync apply`, first run, one request a write (`bulk: false`) | {} | {:.0} | {single_summary} |",
        secs(single),
        rate(single)
    );
    println!(
        "| `hrsync apply`, first run, `/Bulk` (the default) | {} | {:.0} | {created_summary} |",
        secs(created),
        rate(created)
    );
    println!(
        "| **/Bulk ÷ single, creates per second** | **{:.2}** | | |",
        single.as_secs_f64() / created.as_secs_f64()
    );
    println!(
        "| plain HTTP client, the same {} POSTs | {} | {:.0} | {failures} failed |",
        bodies.len(),
        secs(plain),
        rate(plain)
    );
    println!("| **hrsync ÷ plain** | **{:.2}** | | |", created.as_secs_f64() / plain.as_secs_f64());
    println!("| `hrsync apply`, no-op run (pages of 100) | {} | | {noop_summary} |", secs(noop));
    println!("| `hrsync apply`, no-op run (pages of 1,000) | {} | | |", secs(noop_large));
    println!("| plain HTTP client reading all {read} users, pages of 100 | {} | | |", secs(plain_read));
    println!();
}

/// The same people into the Graph fake (`tests/graph.rs`), with JSON batching off and on,
/// side by side: HTTP requests per synced user (the token endpoint's aside) and wall
/// time, first sync and no-op run.
fn graph(n: usize, hr: &common::Hr) {
    let directory = format!(
        r#"version: 1
type: entraid
mode: apply
connection:
  tenant: {tenant}
  client_id: {client}
  client_secret: ${{env:{SECRET_ENV}}}
  url: URL
  token_url: TOKEN
  batch: BATCH
match:
  - {{ person: employee_number, attribute: employeeId }}
fields:
  userPrincipalName: {{ value: "{{{{ work_email | lower }}}}" }}
  displayName: {{ value: "{{{{ preferred_name | default(first_name) }}}} {{{{ last_name }}}}" }}
  givenName: {{ value: "{{{{ preferred_name | default(first_name) }}}}" }}
  surname: {{ value: "{{{{ last_name }}}}" }}
  mail: {{ value: "{{{{ work_email | lower }}}}" }}
  employeeId: {{ value: "{{{{ employee_number }}}}" }}
  jobTitle: {{ value: "{{{{ job_title }}}}", mode: import_once }}
  department: {{ value: "{{{{ org_unit_name }}}}" }}
  businessPhones: {{ value: "{{{{ phone }}}}" }}
  manager: {{ manager: true }}
leavers: {{ action: disable }}
"#,
        tenant = graph::TENANT,
        client = graph::CLIENT_ID,
    );
    println!("## Microsoft Graph: {n} people → the Graph fake (concurrency 4)\n");
    println!("| `batch` | run | wall time | HTTP requests | per synced user | inside batches |");
    println!("|---|---|---:|---:|---:|---:|");
    let mut summaries = Vec::new();
    for batch in [false, true] {
        let fake = graph::Graph::start();
        let tmp = tempfile::tempdir().unwrap();
        let yaml = directory
            .replace("URL", &fake.url())
            .replace("TOKEN", &fake.token_url())
            .replace("BATCH", &batch.to_string());
        repository(tmp.path(), hr, &yaml);
        let (created, out) = apply(tmp.path(), graph::CLIENT_SECRET);
        let created_summary = summary(&out);
        let users = fake.users().len();
        let (first, first_inner) = (fake.http_requests(), fake.inner_requests());
        let (noop, out) = apply(tmp.path(), graph::CLIENT_SECRET);
        let noop_summary = summary(&out);
        let noop_requests = fake.http_requests() - first;
        let per_user = |r: usize| r as f64 / users.max(1) as f64;
        println!(
            "| {batch} | first sync, {users} users | {} | {first} | {:.2} | {first_inner} |",
            secs(created),
            per_user(first)
        );
        println!(
            "| {batch} | no-op run | {} | {noop_requests} | {:.2} | {} |",
            secs(noop),
            per_user(noop_requests),
            fake.inner_requests() - first_inner
        );
        summaries.push(format!("`batch: {batch}`: {created_summary} Then: {noop_summary}"));
    }
    println!();
    for s in summaries {
        println!("- {s}");
    }
    println!();
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(5_000);
    // `--ldap`, `--scim`, `--graph`: only those sections (all of them without any).
    const SECTIONS: [&str; 3] = ["--ldap", "--scim", "--graph"];
    let only =
        |name: &str| !args.iter().any(|a| SECTIONS.contains(&a.as_str())) || args.iter().any(|a| a == name);
    let hr = common::generate(n);
    if only("--ldap") {
        ldap(n, &hr);
    }
    if only("--scim") {
        scim(n, &hr);
    }
    if only("--graph") {
        graph(n, &hr);
    }
}
