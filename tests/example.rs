//! The embedded example, end to end: apply, re-plan, movers, leavers, guards, job results.

use crate::util::{Example, example_directory, json};

#[test]
fn apply_then_nothing_left_to_do() {
    let ex = Example::new();
    let first = ex.run(&["apply"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first.stdout.contains("Applied to `corp`: 143 created, 0 updated, 0 disabled, 0 deleted, 0 failed."),
        "{first:?}"
    );
    let entries = ex.entries();
    assert_eq!(entries.len(), 143);

    // Managers exist, and point at real entries.
    let ids: Vec<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let with_manager = entries.iter().filter(|e| e["attributes"].get("manager").is_some()).count();
    assert!(with_manager > 130, "{with_manager}");
    for e in &entries {
        if let Some(m) = e["attributes"].get("manager") {
            assert!(ids.contains(&m.as_str().unwrap()), "dangling manager in {e}");
        }
    }
    // The person both sources describe: one entry, the German (higher priority) title,
    // the French phone number (Germany has none).
    let camille: Vec<_> = entries.iter().filter(|e| e["attributes"]["cn"] == "Camille Laurent").collect();
    assert_eq!(camille.len(), 1);
    assert_eq!(camille[0]["attributes"]["title"], "Head of Sales France");
    assert_eq!(camille[0]["attributes"]["telephoneNumber"], "+33 6 12 34 56 78");

    let second = ex.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(second.code, 0, "{second:?}");
    assert!(second.stdout.contains("**No changes**"), "{second:?}");
    let again = ex.run(&["apply"]);
    assert!(again.stdout.contains("0 created, 0 updated, 0 disabled, 0 deleted, 0 failed"), "{again:?}");
}

#[test]
fn apply_prints_a_summary_and_the_whole_plan_only_when_asked() {
    let ex = Example::new();
    let id = json(&ex.run(&["plan", "--format", "json"]).stdout)[0]["id"].as_str().unwrap().to_owned();
    // In full: masked labels are keyed per process until a run has written state.
    let plan = ex.run(&["plan", "--pii", "full"]).stdout;
    assert!(plan.contains("\n#### "), "the plan lists rows: {plan}");
    let saved = ex.tmp.path().join("applied.md");
    let applied = ex.run(&["apply", "--pii", "full", "--out", saved.to_str().unwrap()]);
    assert_eq!(applied.code, 0, "{applied:?}");
    let out = &applied.stdout;
    for needle in [
        format!("Plan for `corp` (file directory): Ready to apply · plan {id} · as of 2026-11-22"),
        "143 to create, 0 to update, 0 to disable, 0 to delete, 0 skipped, 5 unchanged with a reason".into(),
        "Safety: of 0 managed entries".into(),
        "1 source row skipped".into(),
        "\nApplied to `corp`: 143 created, 0 updated, 0 disabled, 0 deleted, 0 failed.\n".into(),
    ] {
        assert!(out.contains(&needle), "{needle}: {applied:?}");
    }
    assert!(!out.contains("####") && !out.contains("| attribute |"), "no rows: {applied:?}");
    assert!(out.lines().count() < plan.lines().count() / 10, "{applied:?}");
    // `--out`: the whole plan, as `hrsync plan` showed it.
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), plan);

    // `--show-plan`: the whole plan instead of the summary.
    let plan = ex.run(&["plan"]).stdout;
    let shown = ex.run(&["apply", "--show-plan"]);
    // The state directory's key, made by the first apply, labels both alike.
    assert_eq!(shown.code, 0, "{shown:?}");
    assert!(shown.stdout.starts_with(&plan), "{shown:?}");
    assert!(!shown.stdout.contains("Plan for `corp` (file directory)"), "{shown:?}");
    assert!(shown.stdout.contains("Applied to `corp`: 0 created, 0 updated"), "{shown:?}");
}

#[test]
fn two_plan_runs_give_byte_identical_json() {
    let ex = Example::new();
    // Masked labels carry a hash keyed by `reports.pii_key` (or the state directory's
    // own key, which a first `plan` does not make): with the key, labels are stable.
    let config = ex.path("hrsync.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("pii: masked }", "pii: masked, pii_key: \"${env:PII_KEY}\" }"))
        .unwrap();
    let now = "2026-11-22T09:00:00Z";
    let a = ex.run_with(("PII_KEY", "a-key-of-this-test"), now, &["plan", "--format", "json"]);
    let b = ex.run_with(("PII_KEY", "a-key-of-this-test"), now, &["plan", "--format", "json"]);
    assert_eq!(a.code, 0, "{a:?}");
    assert_eq!(a.stdout, b.stdout);
    let full_a = ex.run(&["plan", "--format", "json", "--pii", "full"]);
    let full_b = ex.run(&["plan", "--format", "json", "--pii", "full"]);
    assert_eq!(full_a.stdout, full_b.stdout);
    assert_ne!(a.stdout, full_a.stdout, "masking changes the output");
    let other = ex.run_with(("PII_KEY", "another-key"), now, &["plan", "--format", "json"]);
    assert_ne!(a.stdout, other.stdout, "the labels' hashes are keyed");
}

#[test]
fn masked_reports_hold_no_names_or_addresses() {
    let ex = Example::new();
    let plan = ex.run(&["plan", "--format", "json"]);
    for needle in ["Katharina", "von der Heide", "katharina.vonderheide", "+49 30 1234 5000", "10001"] {
        assert!(!plan.stdout.contains(needle), "{needle} leaked into a masked plan");
    }
    // Non-personal values stay readable for review.
    assert!(plan.stdout.contains("Geschäftsführerin"));
    let full = ex.run(&["plan", "--format", "json", "--pii", "full"]);
    assert!(full.stdout.contains("katharina.vonderheide@acme.example"));
}

#[test]
fn a_mover_shows_up_as_exactly_that_change() {
    let ex = Example::new();
    assert_eq!(ex.run(&["apply"]).code, 0);
    // 10002 (CTO) moves to Finance with a new title; title is import_once.
    ex.edit_germany(|_, line| {
        Some(if line.starts_with("10002;") {
            line.replace(";DE-ENG;CTO;", ";DE-FIN;Chief Financial Strategist;")
        } else {
            line.to_owned()
        })
    });
    let plan = ex.run(&["plan", "--format", "json", "--pii", "full"]);
    let plans = json(&plan.stdout);
    let rows = plans[0]["rows"].as_array().unwrap();
    let changed: Vec<_> = rows.iter().filter(|r| r["action"] != "noop").collect();
    assert_eq!(changed.len(), 1, "{changed:#?}");
    let attrs: Vec<&str> =
        changed[0]["changes"].as_array().unwrap().iter().map(|c| c["attribute"].as_str().unwrap()).collect();
    assert_eq!(attrs, ["departmentNumber", "ou"], "title is import_once and stays");
    assert_eq!(changed[0]["changes"][1]["after"], "Finanzen");
    assert_eq!(changed[0]["changes"][1]["before"], "Engineering");
}

#[test]
fn a_source_that_returns_nobody_disables_nobody() {
    let ex = Example::new();
    assert_eq!(ex.run(&["run"]).code, 0);
    ex.edit_germany(|_, _| None);
    let result = ex.run(&["run"]);
    assert_eq!(result.code, 1, "{result:?}");
    let job = json(&result.stdout);
    assert_eq!(job["status"], "failed");
    assert_eq!(job["sources"]["germany"]["status"], "failed");
    assert_eq!(job["sources"]["germany"]["errors"][0], "returned no people (the last good read had 102)");
    assert_eq!(job["directories"]["corp"]["plan_status"], "failed");
    assert_eq!(job["directories"]["corp"]["applied"], false);
    assert_eq!(job["sources"]["france"]["status"], "completed");
    let entries = ex.entries();
    assert_eq!(entries.len(), 143);
    assert!(entries.iter().all(|e| e["enabled"] == true), "nobody was disabled");
    // The watermark of the failed source stays where it was.
    assert_eq!(job["sources"]["germany"]["last_sync_at"], "2026-11-22T09:00:00Z");
}

#[test]
fn a_source_below_its_share_of_the_last_good_read_is_unhealthy() {
    let ex = Example::new();
    assert_eq!(ex.run(&["run"]).code, 0);
    ex.edit_germany(|i, line| (i <= 60).then(|| line.to_owned()));
    let job = json(&ex.run(&["run"]).stdout);
    let error = job["sources"]["germany"]["errors"][0].as_str().unwrap();
    assert!(error.starts_with("returned 60 people, fewer than 80 % of the last good read (102)"), "{error}");
}

#[test]
fn a_mass_disable_is_blocked_until_approved_by_its_id() {
    let ex = Example::new();
    assert_eq!(ex.run(&["apply"]).code, 0);
    // 40 people leave at once: 28 % of 143 managed entries.
    ex.drop_malformed_row();
    ex.edit_germany(|i, line| (!(50..90).contains(&i)).then(|| line.to_owned()));
    let plan = ex.run(&["plan", "--format", "json"]);
    let plans = json(&plan.stdout);
    assert_eq!(plans[0]["status"], "blocked");
    assert_eq!(plans[0]["summary"]["disable"], 40);
    let id = plans[0]["id"].as_str().unwrap().to_owned();
    let markdown = ex.run(&["plan"]);
    assert!(markdown.stdout.contains(&format!("hrsync apply --approve {id}")), "{markdown:?}");

    let refused = ex.run(&["apply"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("is blocked by the safety limits"), "{refused:?}");
    // The summary says so, with the plan id, the figures and the reason.
    for needle in [
        format!("Plan for `corp` (file directory): Blocked · plan {id}"),
        "0 to create, 0 to update, 40 to disable".into(),
        "Safety: of 143 managed entries, 40 disabled or deleted (28.0 %, limit 20 %)".into(),
        format!("Blocked by the safety limits:\n- {}", plans[0]["blocked_by"][0].as_str().unwrap()),
    ] {
        assert!(refused.stdout.contains(&needle), "{needle}: {refused:?}");
    }
    let entries = ex.entries();
    assert!(entries.len() > 100, "{}", entries.len());
    assert!(entries.iter().all(|e| e["enabled"] == true));

    let wrong = ex.run(&["apply", "--approve", "0123456789abcdef0123456789abcdef"]);
    assert_eq!(wrong.code, 1, "an approval is for one exact plan");

    // Approved in the repository, through a reviewed commit.
    let ws = ex.path("hrsync.yaml");
    let text = std::fs::read_to_string(&ws).unwrap().replace("approvals: []", &format!("approvals: [{id}]"));
    std::fs::write(&ws, text).unwrap();
    let approved = ex.run(&["apply"]);
    assert_eq!(approved.code, 0, "{approved:?}");
    assert!(approved.stdout.contains("0 created, 0 updated, 40 disabled"), "{approved:?}");
    assert_eq!(ex.entries().iter().filter(|e| e["enabled"] == false).count(), 40);
}

#[test]
fn approving_on_the_command_line_works_too() {
    let ex = Example::new();
    assert_eq!(ex.run(&["apply"]).code, 0);
    ex.drop_malformed_row();
    ex.edit_germany(|i, line| (!(50..90).contains(&i)).then(|| line.to_owned()));
    let id = json(&ex.run(&["plan", "--format", "json"]).stdout)[0]["id"].as_str().unwrap().to_owned();
    let approved = ex.run(&["apply", "--approve", &id]);
    assert_eq!(approved.code, 0, "{approved:?}");
    assert!(approved.stdout.contains("40 disabled"), "{approved:?}");
    let state = json(&std::fs::read_to_string(ex.path(".hrsync/state.json")).unwrap());
    let approval = &state["directories"]["corp"]["last_approval"];
    assert_eq!(
        (approval["plan"].as_str(), approval["by"].as_str()),
        (Some(id.as_str()), Some("command line"))
    );
}

#[test]
fn a_saved_plan_is_refused_once_the_live_state_changed() {
    let ex = Example::new();
    let saved = ex.tmp.path().join("plan.json");
    assert_eq!(ex.run(&["plan", "--format", "json", "--out", saved.to_str().unwrap()]).code, 0);
    // Someone edits HR data after the plan was reviewed.
    ex.edit_germany(|_, line| Some(line.replace(";Controller;", ";Senior Controller;")));
    let refused = ex.run(&["apply", "--plan", saved.to_str().unwrap()]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("refused: the saved plan"), "{refused:?}");
    assert!(ex.nothing_written());

    assert_eq!(ex.run(&["plan", "--format", "json", "--out", saved.to_str().unwrap()]).code, 0);
    let applied = ex.run(&["apply", "--plan", saved.to_str().unwrap()]);
    assert_eq!(applied.code, 0, "{applied:?}");
    assert_eq!(ex.entries().len(), 143);
}

#[test]
fn job_results_are_nested_for_all_sources_and_flat_for_one() {
    let ex = Example::new();
    let dry = ex.run(&["run", "--dry-run"]);
    assert_eq!(dry.code, 0, "{dry:?}");
    let job = json(&dry.stdout);
    assert_eq!(job["dry_run"], true);
    assert_eq!(job["status"], "warning", "one malformed row");
    assert_eq!(job["sources"]["germany"]["fetched"]["employees"], 102);
    assert_eq!(job["sources"]["germany"]["fetched"]["org_units"], 8);
    assert_eq!(job["sources"]["france"]["fetched"]["employees"], 47);
    assert_eq!(job["sources"]["germany"]["employees"]["skipped"], 1);
    assert_eq!(job["directories"]["corp"]["created"], 143);
    assert_eq!(job["directories"]["corp"]["applied"], false);
    assert!(!ex.path(".hrsync").exists(), "a dry run writes nothing anywhere");

    let flat = json(&ex.run(&["run", "--source", "france"]).stdout);
    assert_eq!(flat["source"], "france");
    assert_eq!(flat["employees"]["created"], 47);
    assert_eq!(flat["org_units"]["created"], 4);
    assert_eq!(flat["last_sync_at"], "2026-11-22T09:00:00Z");
    assert!(flat.get("sources").is_none());
    // Germany was not read and had no last good read: nobody is offboarded.
    assert_eq!(flat["directories"]["corp"]["disabled"], 0);

    let full = json(&ex.run(&["run"]).stdout);
    assert_eq!(full["status"], "warning");
    assert_eq!(
        full["sources"]["france"]["employees"],
        serde_json::json!({"created": 0, "updated": 0, "skipped": 0})
    );
    assert_eq!(full["sources"]["germany"]["employees"]["created"], 102);
    let skipped = &full["sources"]["germany"]["skipped_records"][0];
    assert_eq!(skipped["location"]["line"], 104);
    assert_eq!(skipped["reason"], "start_date is not a valid date in the form `%d.%m.%Y`");
}

#[test]
fn a_disabled_source_is_skipped_with_a_reason_and_suspends_offboarding() {
    let ex = Example::new();
    assert_eq!(ex.run(&["run"]).code, 0);
    let src = ex.path("sources/france.yaml");
    let text = std::fs::read_to_string(&src).unwrap().replace("priority: 10", "priority: 10\nenabled: false");
    std::fs::write(&src, text).unwrap();
    let job = json(&ex.run(&["run"]).stdout);
    assert_eq!(
        job["sources"]["france"],
        serde_json::json!({"status": "completed", "skipped": true, "reason": "disabled", "errors": [], "last_sync_at": "2026-11-22T09:00:00Z"})
    );
    assert_eq!(job["directories"]["corp"]["disabled"], 0, "french entries are not offboarded");
}

#[test]
fn leavers_are_disabled_and_deleted_after_the_grace_period() {
    let ex = Example::new();
    assert_eq!(ex.run(&["apply"]).code, 0);
    // 10050 leaves at the end of November.
    ex.edit_germany(|_, line| {
        Some(if line.starts_with("10050;") {
            let mut cells: Vec<&str> = line.split(';').collect();
            cells[10] = "30.11.2026";
            cells.join(";")
        } else {
            line.to_owned()
        })
    });
    let still = ex.run(&["apply"]);
    assert!(still.stdout.contains("0 disabled"), "still working until the 30th: {still:?}");
    let repo = ex.repo();
    let at = |now: &str| crate::util::run(&["--repo", repo.to_str().unwrap(), "--now", now, "apply"]);
    let disabled = at("2026-12-01T08:00:00Z");
    assert!(disabled.stdout.contains("1 disabled"), "{disabled:?}");
    let e = ex.entries().into_iter().find(|e| e["id"] == "10050").unwrap();
    assert_eq!(e["enabled"], false);
    let waiting = at("2026-12-30T08:00:00Z");
    assert!(waiting.stdout.contains("0 deleted"), "{waiting:?}");
    let deleted = at("2026-12-31T08:00:00Z");
    assert!(deleted.stdout.contains("1 deleted"), "{deleted:?}");
    let entries = ex.entries();
    assert!(!entries.is_empty() && entries.iter().all(|e| e["id"] != "10050"));
}

#[test]
fn manual_drift_is_overwritten_and_unmanaged_entries_are_left_alone() {
    let ex = Example::new();
    assert_eq!(ex.run(&["apply"]).code, 0);
    let dir = ex.path(".hrsync/directories/corp");
    // Someone edits an entry by hand, and someone adds an entry hrsync does not own.
    let path = dir.join("10003.json");
    let mut entry = json(&std::fs::read_to_string(&path).unwrap());
    entry["attributes"]["ou"] = "Hand-edited".into();
    entry["attributes"]["roomNumber"] = "4.12".into();
    entry["revision"] = 2.into();
    std::fs::write(&path, serde_json::to_string_pretty(&entry).unwrap()).unwrap();
    let foreign = serde_json::json!({"id": "svc-backup", "enabled": true, "revision": 1, "attributes": {"employeeNumber": "svc-backup", "cn": "Backup service"}});
    std::fs::write(dir.join("svc-backup.json"), foreign.to_string()).unwrap();

    let applied = ex.run(&["apply"]);
    assert!(applied.stdout.contains("0 created, 1 updated, 0 disabled, 0 deleted"), "{applied:?}");
    let entries = ex.entries();
    let fixed = entries.iter().find(|e| e["id"] == "10003").unwrap();
    assert_eq!(fixed["attributes"]["ou"], "Finanzen");
    assert_eq!(fixed["attributes"]["roomNumber"], "4.12", "unmapped attributes are never touched");
    let svc = entries.iter().find(|e| e["id"] == "svc-backup").unwrap();
    assert_eq!(svc["enabled"], true, "an entry outside hrsync's scope survives");
}

#[test]
fn one_failing_item_does_not_stop_the_others_and_its_error_is_masked() {
    let ex = Example::new();
    // The file 10003's new entry would be written to holds another entry, left there by
    // hand under another id: the plan cannot see the clash, the directory refuses.
    let dir = ex.path(".hrsync/directories/corp");
    std::fs::create_dir_all(&dir).unwrap();
    let squatter = serde_json::json!({"id": "left-by-hand", "enabled": true, "revision": 1, "attributes": {"employeeNumber": "X-1", "cn": "Someone else"}});
    std::fs::write(dir.join("10003.json"), squatter.to_string()).unwrap();

    let out = ex.run(&["run"]);
    assert_eq!(out.code, 0, "a warning is not a failure: {out:?}");
    let job = json(&out.stdout);
    assert_eq!(job["status"], "warning");
    let corp = &job["directories"]["corp"];
    assert_eq!((corp["created"].as_u64(), corp["failed"].as_u64()), (Some(142), Some(1)));
    // Masked labels carry a keyed hash (`#…`) so that no two people read the same.
    let error = corp["errors"][0].as_str().unwrap();
    assert!(error.starts_with("create germany:10…03#"), "{error}");
    assert!(error.contains(": the `employeeNumber` of entry `10…03#"), "{error}");
    assert!(error.ends_with("` is already in use in the directory"), "{error}");
    assert!(!out.stdout.contains("10003"), "the employee number is masked: {out:?}");
    assert_eq!(ex.entries().len(), 143, "142 new entries next to the one that was there");
}

#[test]
fn run_shows_people_in_its_job_result_as_pii_says() {
    // The job result names the person of a failed item: masked by the workspace's
    // `reports.pii`, in full with `--pii full` (as `plan`, `apply` and `preview` take it).
    let squat = |ex: &Example| {
        let dir = ex.path(".hrsync/directories/corp");
        std::fs::create_dir_all(&dir).unwrap();
        let squatter = serde_json::json!({"id": "left-by-hand", "enabled": true, "revision": 1, "attributes": {"employeeNumber": "X-1"}});
        std::fs::write(dir.join("10003.json"), squatter.to_string()).unwrap();
    };
    let error = |out: &crate::util::Run| json(&out.stdout)["directories"]["corp"]["errors"][0].clone();
    let ex = Example::new();
    squat(&ex);
    let full = ex.run(&["run", "--pii", "full"]);
    assert_eq!(full.code, 0, "{full:?}");
    assert_eq!(
        error(&full),
        "create germany:10003: the `employeeNumber` of entry `10003` is already in use in the directory"
    );
    let ex = Example::new();
    squat(&ex);
    let masked = ex.run(&["run", "--pii", "masked"]);
    assert_eq!(masked.code, 0, "{masked:?}");
    assert!(error(&masked).as_str().unwrap().starts_with("create germany:10…03#"), "{masked:?}");
    assert!(!masked.stdout.contains("10003"), "{masked:?}");
    let hashed = Example::new().run(&["run", "--dry-run", "--pii", "hashed"]);
    assert_eq!(hashed.code, 1, "hashed needs a key, as elsewhere: {hashed:?}");
    assert!(hashed.stderr.contains("`pii: hashed` needs `reports.pii_key`"), "{hashed:?}");
}

#[test]
fn the_state_directory_never_goes_into_git() {
    // A team copies the example into a repository of its own and runs it there.
    let tmp = tempfile::tempdir().unwrap();
    let sync = tmp.path().join("sync");
    crate::util::copy_dir(&crate::util::root().join("examples/sync-repo"), &sync);
    let repo = git2::Repository::init(tmp.path()).unwrap();
    let hrsync = |args: &[&str]| {
        let mut all = vec!["--repo", sync.to_str().unwrap(), "--now", "2026-11-22T09:00:00Z"];
        all.extend_from_slice(args);
        crate::util::run(&all)
    };
    let committable = || -> Vec<String> {
        let mut options = git2::StatusOptions::new();
        options.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false);
        let statuses = repo.statuses(Some(&mut options)).unwrap();
        statuses
            .iter()
            .filter_map(|s| s.path().ok().map(str::to_owned))
            .filter(|p| p.contains(".hrsync"))
            .collect()
    };
    let out = hrsync(&["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("does not ignore"), "{out:?}");
    assert!(sync.join(".hrsync/snapshots/germany.json").is_file());
    assert_eq!(committable(), Vec::<String>::new(), "the example's .gitignore");
    // Without it, the state directory hrsync made ignores itself.
    std::fs::remove_file(sync.join(".gitignore")).unwrap();
    assert_eq!(committable(), Vec::<String>::new(), "the state directory's own .gitignore");
    // One it did not make (an older hrsync, by hand) is not written into, but warned about.
    std::fs::remove_file(sync.join(".hrsync/.gitignore")).unwrap();
    assert!(!committable().is_empty());
    let out = hrsync(&["plan"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("git does not ignore it: its snapshots hold personal data"), "{out:?}");
    assert!(out.stderr.contains("add `sync/.hrsync/` to .gitignore"), "{out:?}");
    assert!(!sync.join(".hrsync/.gitignore").exists());
}

#[test]
fn every_directory_example_validates_in_the_example_repository() {
    let mut names: Vec<String> = std::fs::read_dir(crate::util::root().join("examples/directories"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["active-directory.yaml", "entraid.yaml", "openldap.yaml", "scim.yaml"]);
    for name in &names {
        let ex = Example::with_directory(name, &[]);
        let out = ex.run(&["validate"]);
        assert_eq!(out.code, 0, "{name}: {out:?}");
    }
}

#[test]
fn a_malformed_row_holds_its_person_and_disables_no_one() {
    // Issue 10, case 1: an existing employee's start date becomes 31.02.2024 in the
    // export after the first apply; someone else leaves the export the same day.
    let ex = Example::new();
    assert_eq!(ex.run(&["apply"]).code, 0);
    ex.set_german(&["10050"], 9, "31.02.2024");
    ex.edit_germany(|_, line| (!line.starts_with("10060;")).then(|| line.to_owned()));
    let plans = json(&ex.run(&["plan", "--format", "json", "--pii", "full"]).stdout);
    let plan = &plans[0];
    assert_eq!(
        (plan["summary"]["disable"].as_u64(), plan["summary"]["delete"].as_u64()),
        (Some(0), Some(0)),
        "{plan:#}"
    );
    let rows = plan["rows"].as_array().unwrap();
    let held = rows.iter().find(|r| r["entry"] == "10050").expect("a row for the held entry");
    assert_eq!(held["action"], "skip", "{held:#}");
    let why = held["reasons"][0].as_str().unwrap();
    assert!(why.starts_with("held: the row of this person at data/germany.csv:"), "{why}");
    assert!(why.contains("start_date is not a valid date"), "{why}");
    let gone = rows.iter().find(|r| r["entry"] == "10060").expect("a row for the entry of the one who left");
    assert_eq!(gone["action"], "noop", "{gone:#}");
    assert!(
        gone["reasons"][1].as_str().unwrap().contains("source `germany` skipped rows of people"),
        "{gone:#}"
    );
    let skipped =
        plan["sources"].as_array().unwrap().iter().find(|s| s["id"] == "germany").unwrap()["skipped"]
            .as_array()
            .unwrap()
            .len();
    assert_eq!(skipped, 2, "the new malformed row and the example's own");

    let markdown = ex.run(&["plan"]).stdout;
    assert!(markdown.contains("Skipped 2 rows"), "{markdown}");
    assert!(!markdown.contains("31.02.2024"), "values never appear: {markdown}");
    let applied = ex.run(&["apply"]);
    assert_eq!(applied.code, 0, "{applied:?}");
    let entries = ex.entries();
    assert_eq!(entries.len(), 143);
    assert!(entries.iter().all(|e| e["enabled"] == true), "nobody was disabled");
}

#[test]
fn an_unbalanced_quote_makes_the_source_unhealthy_on_a_first_run() {
    let ex = Example::new();
    // One stray quote in a name joins the rows after it into one cell.
    ex.set_german(&["10005"], 1, "\"Jan");
    let job = json(&ex.run(&["run"]).stdout);
    assert_eq!(job["sources"]["germany"]["status"], "failed", "{job:#}");
    let error = job["sources"]["germany"]["errors"][0].as_str().unwrap();
    assert!(
        error.starts_with("the read may be incomplete: the record at line 6 of `data/germany.csv` spans"),
        "{error}"
    );
    assert_eq!(job["directories"]["corp"]["plan_status"], "failed");
    assert!(ex.nothing_written());
}

#[test]
fn an_unhealthy_read_falls_back_to_what_was_last_applied_not_to_an_older_read() {
    // Issue 10, case 6: `run`, then a mover applied with `apply`, then a read that lost
    // a third of the rows. The fallback must be the read `apply` applied.
    let ex = Example::new();
    assert_eq!(ex.run(&["run"]).code, 0);
    ex.set_german(&["10050"], 4, "DE-FIN");
    let moved = ex.run(&["apply"]);
    assert!(moved.stdout.contains("0 created, 1 updated"), "{moved:?}");
    // A stray quote: the read is incomplete, so the last good read stands in.
    ex.set_german(&["10090"], 1, "\"Jan");
    let plans = json(&ex.run(&["plan", "--format", "json", "--pii", "full"]).stdout);
    assert_eq!(plans[0]["status"], "failed", "the source is unhealthy");
    let reverts: Vec<&serde_json::Value> =
        plans[0]["rows"].as_array().unwrap().iter().filter(|r| r["action"] == "update").collect();
    assert!(reverts.is_empty(), "nothing applied is undone: {reverts:#?}");
    let state = json(&std::fs::read_to_string(ex.path(".hrsync/state.json")).unwrap());
    assert_eq!(state["sources"]["germany"]["last_good_people"], 102, "{state:#}");
}

#[test]
fn a_legitimate_drop_is_accepted_by_approving_its_plan() {
    // Issue 10, item 4: a third of Germany leaves at once (a carve-out). The read is
    // whole, so the plan is made from it and shows the disables; it is blocked until
    // its id is approved, and the approved, applied read becomes the last good read.
    let ex = Example::new();
    assert_eq!(ex.run(&["apply"]).code, 0);
    ex.drop_malformed_row();
    ex.edit_germany(|i, line| (i % 3 != 0).then(|| line.to_owned()));
    let plans = json(&ex.run(&["plan", "--format", "json"]).stdout);
    assert_eq!(plans[0]["status"], "blocked", "{:#}", plans[0]["blocked_by"]);
    let why = plans[0]["blocked_by"][0].as_str().unwrap();
    assert!(
        why.starts_with("source `germany` returned 68 people, fewer than 80 % of the last good read (102)"),
        "{why}"
    );
    let disables = plans[0]["summary"]["disable"].as_u64().unwrap();
    assert_eq!(disables, 32, "the plan shows what accepting the drop does (the rest were not synced)");
    let refused = ex.run(&["apply"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("approve this exact plan with `hrsync apply --approve"), "{refused:?}");
    let state = json(&std::fs::read_to_string(ex.path(".hrsync/state.json")).unwrap());
    assert_eq!(
        state["sources"]["germany"]["last_good_people"], 102,
        "a blocked read is not the last good read"
    );

    let id = plans[0]["id"].as_str().unwrap().to_owned();
    let accepted = ex.run(&["apply", "--approve", &id]);
    assert_eq!(accepted.code, 0, "{accepted:?}");
    assert!(accepted.stdout.contains("32 disabled"), "{accepted:?}");
    let state = json(&std::fs::read_to_string(ex.path(".hrsync/state.json")).unwrap());
    assert_eq!(
        state["sources"]["germany"]["last_good_people"], 68,
        "the accepted read is the last good read"
    );
    assert_eq!(ex.run(&["plan", "--detailed-exitcode"]).code, 0, "and the next plan has nothing to do");
}

#[test]
fn a_source_served_from_its_last_good_read_keeps_that_reads_skipped_rows() {
    // 10050's row is skipped in the read that is applied; then Germany's file cannot be
    // read, so that last good read stands in: 10050 must still be held, and the plan
    // must still list the skipped rows.
    let ex = Example::new();
    assert_eq!(ex.run(&["apply"]).code, 0);
    ex.set_german(&["10050"], 9, "31.02.2024");
    assert_eq!(ex.run(&["apply"]).code, 0);
    let snapshot = std::fs::read_to_string(ex.path(".hrsync/snapshots/germany.json")).unwrap();
    assert!(snapshot.contains("\"skipped\""), "the snapshot keeps its skipped rows");
    std::fs::remove_file(ex.path("data/germany.csv")).unwrap();
    let plans = json(&ex.run(&["plan", "--format", "json", "--pii", "full"]).stdout);
    let plan = &plans[0];
    let germany = plan["sources"].as_array().unwrap().iter().find(|s| s["id"] == "germany").unwrap();
    assert_eq!(germany["skipped"].as_array().unwrap().len(), 2, "{germany:#}");
    let held = plan["rows"].as_array().unwrap().iter().find(|r| r["entry"] == "10050").unwrap();
    assert_eq!(held["action"], "skip", "{held:#}");
    assert!(held["reasons"][0].as_str().unwrap().starts_with("held: the row of this person"), "{held:#}");
}

#[test]
fn a_directory_that_cannot_be_planned_does_not_lose_what_apply_did_before_it() {
    // `corp` applies; `zz` (a SCIM app nobody answers for) cannot be planned after it.
    let ex = Example::new();
    let unreachable =
        example_directory("scim.yaml", &[("https://app.acme.example/scim/v2", "http://127.0.0.1:9/scim/v2")]);
    std::fs::write(ex.path("directories/zz.yaml"), unreachable).unwrap();
    let out = ex.run_with(("SCIM_TOKEN", "t0ken"), "2026-11-22T09:00:00Z", &["apply"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("error: cannot plan directory `zz`"), "{out:?}");
    assert!(out.stdout.contains("Applied to `corp`"), "{out:?}");
    let state = json(&std::fs::read_to_string(ex.path(".hrsync/state.json")).unwrap());
    assert!(state["directories"]["corp"]["last_applied_plan"].is_string(), "{state:#}");
    assert!(state["directories"]["zz"]["last_error"].as_str().unwrap().contains("127.0.0.1:9"), "{state:#}");
}

#[test]
fn a_masked_plan_never_gives_two_people_one_label() {
    // 10001 and 10101 both shorten to `10…01`: the keyed hash tells them apart.
    let ex = Example::new();
    let plan = ex.run(&["plan", "--unchanged"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let labels: Vec<&str> = plan
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("#### `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    assert_eq!(labels.len(), 143, "every person's row: {}", plan.stdout);
    let distinct: std::collections::BTreeSet<&str> = labels.iter().copied().collect();
    assert_eq!(distinct.len(), labels.len(), "two rows share a label");
    let alike = labels.iter().filter(|l| l.starts_with("germany:10…01#")).count();
    assert!(alike >= 2, "10001 and 10101: {labels:?}");
}
