//! `hrsync explain`: one case per kind of answer, on the example repository (the embedded
//! directory) as of 2026-11-22, each asked by employee number and by work e-mail as a
//! support engineer would. Each asserts the verdict and the first line's words, with the
//! fact that decides (the rule, the override's line, the date, the row's place, the
//! error), and the step that carries that fact.

use serde_json::Value as Json;

use crate::util::{Example, Run, json};

/// `hrsync explain PERSON --format json --pii full` on `ex`, as of 2026-11-22.
fn explain(ex: &Example, person: &str) -> Json {
    let out = ex.run(&["explain", person, "--format", "json", "--pii", "full"]);
    assert_eq!(out.code, 0, "{out:?}");
    json(&out.stdout)
}

/// The step `check` (of `directory`, when given) of the only person in `answer`.
fn step<'a>(answer: &'a Json, check: &str) -> &'a Json {
    let people = answer["people"].as_array().unwrap();
    assert_eq!(people.len(), 1, "{answer:#}");
    people[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["check"] == check)
        .unwrap_or_else(|| panic!("no {check} step: {answer:#}"))
}

/// Asks for `queries` (the same person by number and by e-mail): each answer has
/// `verdict` and a first line starting with `first`; returns the first answer.
fn ask(ex: &Example, queries: &[&str], verdict: &str, first: &str) -> Json {
    let mut answers = Vec::new();
    for q in queries {
        let a = explain(ex, q);
        assert_eq!(a["verdict"], verdict, "{q}: {a:#}");
        let answer = a["answer"].as_str().unwrap();
        assert!(answer.starts_with(first), "{q}: {answer}");
        answers.push(a);
    }
    // The same person, whatever they were asked by.
    for a in &answers[1..] {
        assert_eq!(a["answer"], answers[0]["answer"]);
    }
    answers.swap_remove(0)
}

fn applied(ex: &Example) {
    let out: Run = ex.run(&["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn someone_in_no_source() {
    let ex = Example::new();
    let a = explain(&ex, "anna.nobody@acme.example");
    assert_eq!(a["verdict"], "not_in_any_source", "{a:#}");
    assert_eq!(
        a["answer"],
        "anna.nobody@acme.example is in no source: no record of `france`, `germany` has this key, record id, employee number or work e-mail, and no planned entry has this id."
    );
    assert_eq!(a["people"].as_array().unwrap().len(), 0);
    // Asked by an employee number nobody has.
    assert_eq!(explain(&ex, "99999")["verdict"], "not_in_any_source");
}

#[test]
fn a_contractor_filtered_out() {
    let ex = Example::new();
    let a = ask(
        &ex,
        &["10097", "Dirk.Brandt@acme.example"],
        "filtered_out",
        "Dirk Brandt: no entry in `corp`: excluded by filter `staff` exclude[0]: contractors use the vendor portal.",
    );
    assert_eq!(
        step(&a, "sources")["text"],
        "found in `germany` record 10097 at data/germany.csv:98 (priority 20)"
    );
    let filter = step(&a, "filter");
    assert_eq!(filter["verdict"], "stop");
    assert_eq!(filter["text"], "excluded by filter `staff` exclude[0]: contractors use the vendor portal");
    assert!(ex.nothing_written(), "explain writes nothing");
}

#[test]
fn a_person_hidden_by_an_override() {
    let ex = Example::new();
    std::fs::write(
        ex.path("overrides.yaml"),
        "version: 1\noverrides:\n  - person: { employee_number: \"10050\" }\n    hide: true\n    reason: on secondment, works in the parent's tenant\n",
    )
    .unwrap();
    let a = ask(
        &ex,
        &["10050", "tim.schroder@acme.example"],
        "hidden",
        "Tim Schröder: no entry in `corp`: hidden by override (overrides.yaml:3): hidden: on secondment",
    );
    assert_eq!(step(&a, "overrides")["verdict"], "stop");
    assert!(step(&a, "overrides")["text"].as_str().unwrap().contains("overrides.yaml:3"), "{a:#}");
    // An override that keeps an entry disabled: created so, and kept so.
    std::fs::write(
        ex.path("overrides.yaml"),
        "version: 1\noverrides:\n  - person: { employee_number: \"10051\" }\n    keep_disabled: true\n    reason: laptop not handed over yet\n",
    )
    .unwrap();
    let created = explain(&ex, "jurgen.kohler@acme.example");
    assert_eq!(created["verdict"], "create", "{created:#}");
    assert!(
        created["answer"].as_str().unwrap().ends_with(
            "will be created in `corp` by the next apply, disabled (override (overrides.yaml:3): kept disabled: laptop not handed over yet)."
        ),
        "{created:#}"
    );
    applied(&ex);
    ask(
        &ex,
        &["10051", "jurgen.kohler@acme.example"],
        "kept_disabled",
        "Jürgen Köhler: their entry in `corp` stays disabled: override (overrides.yaml:3): kept disabled: laptop not handed over yet.",
    );
}

#[test]
fn a_future_joiner_not_due_yet() {
    let ex = Example::new();
    let a = ask(
        &ex,
        &["10098", "mila.schuster@acme.example"],
        "future_joiner",
        "Mila Schuster: will be created in `corp` on 2027-03-18, 14 days before the start date 2027-04-01 (joiners.pre_provision_days).",
    );
    let dates = step(&a, "dates");
    assert_eq!(dates["text"], "today is 2026-11-22 in Europe/Berlin (the zone of the source `germany`)");
    assert!(
        dates["facts"].as_array().unwrap().iter().any(|f| f == "starts 2027-04-01, in 130 days"),
        "{dates:#}"
    );
    // Within the pre-provisioning window, the entry is made disabled, enabled on the day.
    let within =
        ex.run(&["explain", "10098", "--now", "2027-03-20T09:00:00Z", "--format", "json", "--pii", "full"]);
    let within = json(&within.stdout);
    assert_eq!(within["verdict"], "create", "{within:#}");
    assert!(
        within["answer"].as_str().unwrap().contains("disabled (pre-provisioned), and enabled on 2027-04-01"),
        "{within:#}"
    );
}

#[test]
fn two_people_with_one_work_email_are_ambiguous() {
    let ex = Example::new();
    // 10051 is given 10050's address.
    ex.set_german(&["10051"], 3, "tim.schroder@acme.example");
    // The source's match key merges the two rows into one person it cannot sync.
    let a = ask(
        &ex,
        &["10050", "10051", "tim.schroder@acme.example"],
        "ambiguous",
        "Tim Schröder: not synced to `corp`: ambiguous: records at data/germany.csv:51 and data/germany.csv:52 of source `germany` have the same work_email.",
    );
    let values = step(&a, "values");
    assert!(
        values["facts"].as_array().unwrap().iter().any(|f| f
            == "first_name: Tim from `germany`; `germany` at data/germany.csv:52 gave Jürgen (priority 20)"),
        "{values:#}"
    );
    assert!(ex.nothing_written());
}

#[test]
fn a_skipped_row_before_and_after_the_entry_exists() {
    let ex = Example::new();
    let reason = "start_date is not a valid date in the form `%d.%m.%Y`";
    let a = ask(&ex, &["10103", "hannes.kurz@acme.example"], "skipped_row", "The HR row of `germany:10103`");
    assert_eq!(
        a["answer"],
        format!(
            "The HR row of `germany:10103` at data/germany.csv:104 was skipped: {reason}; no entry is made or changed for it until the row can be read."
        )
    );
    assert_eq!(
        a["skipped_rows"][0],
        format!("data/germany.csv:104 (record `germany:10103`): skipped, {reason}")
    );
    // Once the row is read, applied, and broken again, the entry is held as it is.
    ex.set_german(&["10103"], 9, "01.02.2024");
    applied(&ex);
    ex.set_german(&["10103"], 9, "31.02.2024");
    let held = explain(&ex, "hannes.kurz@acme.example");
    assert_eq!(held["verdict"], "skipped_row", "{held:#}");
    assert!(
        held["answer"]
            .as_str()
            .unwrap()
            .ends_with("their entry is left as it is in `corp` until the row can be read."),
        "{held:#}"
    );
}

#[test]
fn an_import_once_field_that_hr_changed() {
    let ex = Example::new();
    applied(&ex);
    ex.set_german(&["10050"], 5, "Treasurer");
    let a = ask(
        &ex,
        &["10050", "tim.schroder@acme.example"],
        "in_sync",
        "Tim Schröder: in step in `corp`; `title` is import-once: HR changes are not applied after creation.",
    );
    let fields = step(&a, "fields");
    assert!(
        fields["facts"].as_array().unwrap().iter().any(|f| f
            == "title (import-once): the entry keeps Software Engineer; HR says Treasurer: HR changes are not applied after creation"),
        "{fields:#}"
    );
    // A continuous field that HR changed is an update, with before and after.
    ex.set_german(&["10050"], 4, "DE-FIN");
    let moved = ask(
        &ex,
        &["10050"],
        "update",
        "Tim Schröder: will be updated in `corp` by the next apply: departmentNumber, ou",
    );
    let fields = step(&moved, "fields");
    assert!(
        fields["facts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "departmentNumber (continuous): DE-APP → DE-FIN"),
        "{fields:#}"
    );
}

#[test]
fn a_leaver_in_the_grace_period() {
    let ex = Example::new();
    ex.edit_directory("grace_days: 0", "grace_days: 5");
    applied(&ex);
    // With a last day still ahead, the answer says when the entry goes.
    ex.set_german(&["10060"], 10, "30.11.2026");
    let ahead = explain(&ex, "10060");
    assert_eq!(ahead["verdict"], "in_sync", "{ahead:#}");
    assert!(
        ahead["answer"].as_str().unwrap().ends_with("the entry matches HR. Their end date is 2026-11-30: the entry is disabled on 2026-12-06, after a grace period of 5 days (leavers.grace_days)."),
        "{ahead:#}"
    );
    // 10060's last day was 21 November: gone from the 22nd, disabled after five days.
    ex.set_german(&["10060"], 10, "21.11.2026");
    let a = ask(&ex, &["10060", "jorg.richter@acme.example"], "leaver_waiting", "");
    let answer = a["answer"].as_str().unwrap();
    assert!(
        answer.ends_with("a leaver: their entry in `corp` stays as it is until 2026-11-27, when it is disabled (left: end date 2026-11-21 has passed (since 2026-11-22), after a grace period of 5 days (leavers.grace_days))."),
        "{answer}"
    );
    // On the day, it is disabled, and the delete follows 30 days later.
    let due =
        ex.run(&["explain", "10060", "--now", "2026-11-27T09:00:00Z", "--format", "json", "--pii", "full"]);
    let due = json(&due.stdout);
    assert_eq!(due["verdict"], "disable", "{due:#}");
    assert!(due["answer"].as_str().unwrap().contains("; deleted on 2026-12-27"), "{due:#}");
}

#[test]
fn a_failed_last_apply() {
    let ex = Example::new();
    applied(&ex);
    ex.set_german(&["10050"], 4, "DE-FIN");
    // The embedded directory writes an entry beside it first: a folder in that place
    // makes the write of this one entry fail.
    let folder = ex.path(".hrsync/directories/corp");
    let file = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file() && std::fs::read_to_string(p).unwrap().contains("\"10050\""))
        .unwrap();
    std::fs::create_dir(file.with_extension("json.tmp")).unwrap();
    let out = ex.run(&["apply"]);
    assert!(out.stdout.contains("0 updated, 0 disabled, 0 deleted, 3 failed"), "{out:?}");
    let a = ask(
        &ex,
        &["10050", "tim.schroder@acme.example"],
        "failed_last_apply",
        "Tim Schröder: the last apply to `corp` failed for them (",
    );
    let answer = a["answer"].as_str().unwrap();
    assert!(
        answer.ends_with(
            "the next apply tries again: will be updated in `corp` by the next apply: departmentNumber, ou."
        ),
        "{answer}"
    );
    let last = step(&a, "last_apply");
    assert_eq!(last["verdict"], "stop");
    assert!(
        last["text"]
            .as_str()
            .unwrap()
            .starts_with("their update failed in the apply of 2026-11-22T09:00:00Z"),
        "{last:#}"
    );
    // Once the write can be made, the next apply does it, and the answer moves on.
    std::fs::remove_dir(file.with_extension("json.tmp")).unwrap();
    applied(&ex);
    assert_eq!(explain(&ex, "10050")["verdict"], "in_sync");
}

#[test]
fn masked_answers_name_no_one_and_offline_reads_nothing() {
    let ex = Example::new();
    applied(&ex);
    let out = ex.run(&["explain", "tim.schroder@acme.example"]);
    assert_eq!(out.code, 0, "{out:?}");
    // The example's reports.pii is masked: the answer says what happens, not who.
    assert!(out.stdout.starts_with("T… S…: in step in `corp`: the entry matches HR."), "{out:?}");
    for personal in ["Schröder", "tim.schroder", "10050"] {
        assert!(!out.stdout.contains(personal), "{personal}: {}", out.stdout);
    }
    // --offline before any read was kept says so rather than "in no source".
    let fresh = Example::new();
    let none = fresh.run(&["explain", "10050", "--offline", "--format", "json"]);
    let none = json(&none.stdout);
    assert_eq!(none["verdict"], "not_planned", "{none:#}");
    assert!(none["answer"].as_str().unwrap().ends_with("cannot be looked up offline: no source has a last good read in this state directory yet; run without --offline."), "{none:#}");
    // --offline: the last good reads only; a broken source file does not matter.
    std::fs::write(ex.path("data/germany.csv"), "not a csv at all\n").unwrap();
    let offline = ex.run(&["explain", "10050", "--offline", "--format", "json", "--pii", "full"]);
    let offline = json(&offline.stdout);
    assert_eq!(offline["offline"], true);
    assert_eq!(offline["verdict"], "not_planned", "{offline:#}");
    assert_eq!(
        offline["answer"],
        "Tim Schröder: `corp` was not read (--offline): run without --offline for its plan."
    );
    assert_eq!(step(&offline, "sources")["facts"][0], "`germany`: its last good read (--offline)");
}

#[test]
fn a_leaver_gone_from_every_source() {
    let ex = Example::new();
    ex.drop_malformed_row();
    applied(&ex);
    // 10060's row is deleted from the export: their entry is a leaver, found by the
    // values of its match attributes.
    ex.edit_germany(|_, line| (!line.starts_with("10060;")).then(|| line.to_owned()));
    let a = ask(&ex, &["10060", "jorg.richter@acme.example"], "disable", "");
    let answer = a["answer"].as_str().unwrap();
    assert!(
        answer.starts_with("No source holds this person any more: their entry 10060 in `corp` will be disabled by the next apply: left: gone from every source (first seen 2026-11-22); deleted on 2026-12-22 (30 days after the disable due on 2026-11-22 (leavers.delete_after_days))."),
        "{answer}"
    );
    assert_eq!(a["entries"][0]["directory"], "corp");
    assert_eq!(a["people"].as_array().unwrap().len(), 0);
}

#[test]
fn against_slapd_by_dn_number_and_email() {
    use crate::slapd::{SUFFIX, Slapd};
    let slapd = Slapd::start();
    let ex = crate::ldap::example(&slapd);
    let ask_ldap = |q: &str| {
        let out = crate::ldap::hrsync(
            &ex,
            "2026-11-22T09:00:00Z",
            &["explain", q, "--format", "json", "--pii", "full"],
        );
        assert_eq!(out.code, 0, "{out:?}");
        json(&out.stdout)
    };
    assert_eq!(crate::ldap::hrsync(&ex, "2026-11-22T09:00:00Z", &["apply"]).code, 0);
    let entries = slapd.search(&format!("ou=people,{SUFFIX}"), "(employeeNumber=10050)", &["dn"]);
    let dn = entries[0].iter().find(|(k, _)| k == "dn").map(|(_, v)| v.clone()).unwrap();
    // The DN as a person might type it: other case, spaces after the commas.
    let typed = dn.to_uppercase().replace(',', ", ");
    for q in [typed.as_str(), "10050", "Tim.Schroder@acme.example"] {
        let a = ask_ldap(q);
        assert_eq!(a["verdict"], "in_sync", "{q}: {a:#}");
        assert_eq!(a["answer"], "Tim Schröder: in step in `corp`: the entry matches HR.", "{q}");
        let m = a["people"][0]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["check"] == "match")
            .unwrap()
            .clone();
        assert_eq!(m["text"], format!("matched by employee_number → employeeNumber: entry {dn}"), "{q}");
    }
    // HR changes the import-once title and the department.
    ex.set_german(&["10050"], 5, "Treasurer");
    ex.set_german(&["10050"], 4, "DE-FIN");
    let a = ask_ldap(&dn);
    assert_eq!(a["verdict"], "update", "{a:#}");
    let answer = a["answer"].as_str().unwrap();
    assert!(answer.starts_with("Tim Schröder: will be updated in `corp` by the next apply: "), "{answer}");
    assert!(!answer.contains("title"), "import-once: {answer}");
    let fields =
        a["people"][0]["steps"].as_array().unwrap().iter().find(|s| s["check"] == "fields").unwrap().clone();
    assert!(
        fields["facts"].as_array().unwrap().iter().any(|f| f
            .as_str()
            .unwrap()
            .starts_with("title (import-once): the entry keeps Software Engineer; HR says Treasurer")),
        "{fields:#}"
    );
    // A contractor has no entry, by rule.
    assert_eq!(ask_ldap("dirk.brandt@acme.example")["verdict"], "filtered_out");
}

#[test]
fn offline_answers_from_the_plans_the_daemon_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let sync = tmp.path().join("sync");
    crate::util::copy_dir(&crate::util::root().join("examples/sync-repo"), &sync);
    std::fs::write(tmp.path().join(".gitignore"), ".hrsync/\n").unwrap();
    let repo = git2::Repository::init(tmp.path()).unwrap();
    crate::daemon::commit_all(&repo, "the example");
    let hrsync = |args: &[&str]| {
        let mut all = vec!["--repo", sync.to_str().unwrap(), "--now", "2026-11-22T09:00:00Z"];
        all.extend_from_slice(args);
        crate::util::run(&all)
    };
    // `--ref` reads the sync repository from a revision, as `plan` does.
    let at_head = hrsync(&["explain", "10098", "--ref", "HEAD", "--format", "json", "--pii", "full"]);
    assert_eq!(json(&at_head.stdout)["verdict"], "future_joiner", "{at_head:?}");
    // One cycle: the plan of 143 creates is committed, then applied.
    assert_eq!(hrsync(&["daemon", "--once"]).code, 0);
    let offline = |q: &str| {
        let out = hrsync(&["explain", q, "--offline", "--format", "json", "--pii", "full"]);
        assert_eq!(out.code, 0, "{out:?}");
        json(&out.stdout)
    };
    // The committed plan created them, and the last apply did not fail for them.
    let a = offline("tim.schroder@acme.example");
    assert_eq!(a["verdict"], "in_sync", "{a:#}");
    let answer = a["answer"].as_str().unwrap();
    assert!(
        answer.starts_with("Tim Schröder: created in `corp` by the apply of 2026-11-22T09:00:00Z (plan "),
        "{answer}"
    );
    let plan =
        a["people"][0]["steps"].as_array().unwrap().iter().find(|s| s["check"] == "plan").unwrap().clone();
    assert!(
        plan["text"].as_str().unwrap().contains("(the last committed plan, as of 2026-11-22, committed "),
        "{plan:#}"
    );
    // The committed plan's row for a future joiner, found by its masked key.
    let joiner = offline("10098");
    assert_eq!(joiner["verdict"], "future_joiner", "{joiner:#}");
    assert_eq!(
        joiner["answer"],
        "Mila Schuster: no entry in `corp` yet: future joiner: starts 2027-04-01; the entry is created from 2027-03-18."
    );
    // A second cycle settles: the committed plan lists no up-to-date entry.
    assert_eq!(hrsync(&["daemon", "--once"]).code, 0);
    let settled = offline("10050");
    assert_eq!(settled["verdict"], "not_planned", "{settled:#}");
    assert!(
        settled["answer"].as_str().unwrap().contains("has no row for them: their entry was up to date then"),
        "{settled:#}"
    );
}
