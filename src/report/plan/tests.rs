#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value as Json;

use super::*;
use crate::config::{FieldMode, Mode};
use crate::model::{DirectoryId, PlanId, RecordKind, RecordLocation, Value};
use crate::plan::{
    Change, PersonView, PlanStatus, Planned, Row, SafetyCheck, SourceHealth, SourceView, Summary,
};

fn hr() -> SourceId {
    SourceId::new_unchecked("hr")
}

/// A row of `action` for person `i`, with `attributes` changes (every other one personal).
fn row(action: Action, i: usize, attributes: usize) -> Row {
    Row {
        action,
        person: Some(PersonView {
            key: format!("hr:E{i:06}"),
            employee_number: Some(format!("E{i:06}")),
            name: Some(format!("Katharina von der Heide {i}")),
            sources: vec![hr()],
        }),
        entry: (action != Action::Create).then(|| format!("uid=e{i},ou=people,dc=acme,dc=example")),
        reasons: vec![Arc::from("included by filter `staff` include[0]"), Arc::from("no entry matches")],
        changes: (0..attributes)
            .map(|k| Change {
                attribute: format!("attribute{k}"),
                before: (action != Action::Create).then(|| Value::One(format!("old {k} of {i}"))),
                after: Some(Planned::Value(Value::One(format!("value {k} of person {i}")))),
                mode: FieldMode::Continuous,
                from: vec![hr()],
                personal: k.is_multiple_of(2),
                alternatives: Vec::new(),
                reference: false,
            })
            .collect(),
        enabled: None,
        warnings: if i.is_multiple_of(7) { vec!["the manager has no entry yet".into()] } else { Vec::new() },
        revision: None,
        collides_with: None,
        entry_personal: true,
        due: None,
    }
}

/// A plan with `counts` rows per action (in plan order) and `skipped` skipped source
/// rows.
fn plan(counts: &[(Action, usize)], attributes: usize, skipped: usize, status: PlanStatus) -> Plan {
    let mut rows = Vec::new();
    let mut i = 0;
    for (action, n) in counts {
        for _ in 0..*n {
            i += 1;
            rows.push(row(*action, i, attributes));
        }
    }
    let count = |a: Action| rows.iter().filter(|r| r.action == a).count();
    let summary = Summary {
        create: count(Action::Create),
        update: count(Action::Update),
        disable: count(Action::Disable),
        delete: count(Action::Delete),
        noop: count(Action::Noop),
        unlisted: 0,
        skip: count(Action::Skip),
        warnings: rows.iter().filter(|r| !r.warnings.is_empty()).count(),
        unmanaged: 0,
    };
    let blocked_by = if status == PlanStatus::Blocked {
        vec![
            "disables and deletes: 40 of 143 managed entries (28.0 %) exceed max_disable_percent (20 %)"
                .into(),
        ]
    } else {
        Vec::new()
    };
    Plan {
        format: crate::plan::FORMAT,
        id: PlanId::new("0123456789abcdef0123456789abcdef").unwrap(),
        directory: DirectoryId::new_unchecked("corp"),
        directory_type: "file".into(),
        mode: Mode::Apply,
        as_of: jiff::civil::date(2026, 11, 22),
        timezone: "Europe/Berlin".into(),
        status,
        blocked_by,
        approved: false,
        approved_by: None,
        groups: None,
        safety: SafetyCheck {
            managed: 143,
            disables: summary.disable + summary.delete,
            updates: summary.update,
            max_disable_percent: 20.0,
            max_update_percent: 50.0,
            max_disable_count: None,
            max_update_count: None,
        },
        summary,
        sources: vec![SourceView {
            id: hr(),
            health: SourceHealth::Healthy,
            people: i,
            skipped: (0..skipped)
                .map(|k| {
                    SkippedRecord::new(
                        RecordKind::Employee,
                        RecordLocation { file: "data/hr.csv".into(), line: 2 + k as u64 },
                        "start_date is not a valid date",
                    )
                })
                .collect(),
        }],
        rows,
        timers: BTreeMap::new(),
    }
}

fn small() -> Limits {
    Limits { part_bytes: 4096, part_min_rows: 3, part_odds: 5, markdown_rows: 30, markdown_bytes: 16_000 }
}

fn file<'a>(report: &'a PlanReport, path: &str) -> &'a [u8] {
    &report.files.iter().find(|(p, _)| p == path).unwrap_or_else(|| panic!("no {path}")).1
}

/// The plan put back together from the index and its parts, as JSON.
fn reassemble(report: &PlanReport) -> Json {
    let mut index: Json = serde_json::from_slice(file(report, "corp/plan.json")).unwrap();
    let parts: Vec<Part> = serde_json::from_value(index["parts"].clone()).unwrap();
    assert_eq!(parts, report.parts);
    let mut rows = Vec::new();
    let mut skipped: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for part in &parts {
        let bytes = file(report, &format!("corp/{}", part.path));
        assert_eq!(part.bytes, bytes.len(), "{}", part.path);
        assert_eq!(part.blake3, blake3::hash(bytes).to_hex().to_string(), "{}", part.path);
        let text = std::str::from_utf8(bytes).unwrap();
        assert!(text.ends_with('\n'));
        let lines: Vec<Json> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(part.rows, lines.len(), "{}", part.path);
        for mut line in lines {
            if part.holds == SKIPPED_RECORDS {
                let source = line.as_object_mut().unwrap().remove("source").unwrap();
                skipped.entry(source.as_str().unwrap().to_owned()).or_default().push(line);
            } else {
                assert_eq!(line["action"], part.holds.as_str(), "{}", part.path);
                rows.push(line);
            }
        }
    }
    // `parts` goes where `rows` was; each source gets its skipped rows back.
    let fields = std::mem::take(index.as_object_mut().unwrap());
    let mut plan = serde_json::Map::new();
    for (key, mut value) in fields {
        if key == "parts" {
            plan.insert("rows".into(), Json::Array(std::mem::take(&mut rows)));
            continue;
        }
        if key == "sources" {
            for source in value.as_array_mut().unwrap() {
                let source = source.as_object_mut().unwrap();
                let n = source.remove("skipped_records").map(|n| n.as_u64().unwrap()).unwrap_or(0);
                let lines = skipped.remove(source["id"].as_str().unwrap()).unwrap_or_default();
                assert_eq!(n as usize, lines.len());
                if !lines.is_empty() {
                    source.insert("skipped".into(), Json::Array(lines));
                }
            }
        }
        plan.insert(key, value);
    }
    assert!(skipped.is_empty(), "skipped rows of no source: {skipped:?}");
    Json::Object(plan)
}

#[test]
fn a_plan_past_the_caps_is_cut_into_parts_that_put_back_together_are_the_plan() {
    let plan = plan(
        &[(Action::Create, 300), (Action::Update, 40), (Action::Delete, 3), (Action::Noop, 60)],
        6,
        7,
        PlanStatus::Ready,
    );
    let limits = small();
    let report = render(&plan, &masked(), &limits).unwrap();
    let expected = serde_json::to_value(pii::redact(&plan, &masked())).unwrap();
    assert_eq!(reassemble(&report), expected);

    let holds = |what: &str| report.parts.iter().filter(|p| p.holds == what).count();
    assert!(holds("create") > 5, "the creates are cut: {:?}", report.parts);
    assert_eq!((holds("update") > 1, holds("delete")), (true, 1));
    let skipped: usize = report.parts.iter().filter(|p| p.holds == SKIPPED_RECORDS).map(|p| p.rows).sum();
    assert_eq!(skipped, 7);
    for part in &report.parts {
        assert!(part.bytes <= limits.part_bytes, "{part:?}");
        assert!(part.path.starts_with("plan/"), "{part:?}");
    }
    // The files are the index, the Markdown and the parts, and no others.
    let mut paths: Vec<&str> = report.files.iter().map(|(p, _)| p.as_str()).collect();
    paths.sort_unstable();
    let mut expected: Vec<String> = report.parts.iter().map(|p| format!("corp/{}", p.path)).collect();
    expected.extend(["corp/plan.json".to_owned(), "corp/plan.md".to_owned()]);
    expected.sort_unstable();
    assert_eq!(paths, expected);
    assert_eq!(report.parts_folder, "corp/plan");
    // The same plan, the same bytes.
    assert_eq!(render(&plan, &masked(), &limits).unwrap().files, report.files);
}

#[test]
fn the_markdown_keeps_its_head_and_lists_the_first_rows_of_each_action_and_where_the_rest_is() {
    let plan = plan(
        &[(Action::Create, 400), (Action::Update, 50), (Action::Delete, 2), (Action::Noop, 20)],
        6,
        60,
        PlanStatus::Blocked,
    );
    let limits = small();
    let report = render(&plan, &Pii::Full, &limits).unwrap();
    let md = std::str::from_utf8(file(&report, "corp/plan.md")).unwrap();
    assert!(md.len() <= limits.markdown_bytes, "{} bytes", md.len());
    // The head, whole: status, plan id, counts, safety, why it is blocked.
    let head = &md[..md.find("### Create").expect("a create section")];
    for needle in [
        "**Blocked** · plan `0123456789abcdef0123456789abcdef`",
        "| 400 | 50 | 0 | 2 | 0 | 20 |",
        "Safety: of 143 managed entries",
        "exceed max\\_disable\\_percent",
        "hrsync apply --approve 0123456789abcdef0123456789abcdef",
        "This report lists ",
    ] {
        assert!(head.contains(needle) || head.contains(&needle.replace("\\_", "_")), "{needle}: {head}");
    }
    // The first rows of every action, the small one whole, and no more rows than the budget.
    let headings = md.matches("\n#### ").count();
    let noop_rows = md.lines().filter(|l| l.starts_with("| `hr:")).count();
    assert!(headings + noop_rows <= limits.markdown_rows, "{headings} + {noop_rows}");
    for first in [1, 401, 451, 453] {
        assert!(md.contains(&format!("`hr:E{first:06}`")), "row {first} is listed: {md}");
    }
    let section = |title: &str| md.split(title).nth(1).unwrap().split("\n### ").next().unwrap().to_owned();
    assert_eq!(section("### Delete (2)").matches("\n#### ").count(), 2, "a small action is listed whole");
    // Where the rest is: the first and the last part of each kind.
    let files_of = |holds: &str| {
        let paths: Vec<&str> =
            report.parts.iter().filter(|p| p.holds == holds).map(|p| p.path.as_str()).collect();
        let link = |p: &str| format!("[`{p}`]({p})");
        match paths[..] {
            [one] => link(one),
            [first, .., last] => format!("{} files, {} to {}", paths.len(), link(first), link(last)),
            [] => panic!("no parts of {holds}"),
        }
    };
    assert!(report.parts.iter().filter(|p| p.holds == "create").count() > 1);
    let creates = section("### Create (400)").matches("\n#### ").count();
    let updates = section("### Update (50)").matches("\n#### ").count();
    assert!(creates > 0 && updates > 0, "{md}");
    for expected in [
        format!(
            "… and {} more to create, not listed here: all 400 are in {}.",
            400 - creates,
            files_of("create")
        ),
        format!(
            "… and {} more to update, not listed here: all 50 are in {}.",
            50 - updates,
            files_of("update")
        ),
        format!("- … and 10 more, all in {} (the job result lists them too)", files_of(SKIPPED_RECORDS)),
    ] {
        assert!(md.contains(&expected), "{expected}: {md}");
    }
    assert!(!md.contains("more to delete"), "{md}");

    // Whatever the budget, the head is never cut.
    let tiny = Limits { markdown_rows: 0, markdown_bytes: 10, ..small() };
    let report = render(&plan, &Pii::Full, &tiny).unwrap();
    let md = std::str::from_utf8(file(&report, "corp/plan.md")).unwrap();
    let whole_head = head.split("This report lists ").next().unwrap();
    assert!(md.starts_with(whole_head), "{md}");
    assert!(!md.contains("\n#### "), "no rows: {md}");
    assert!(md.contains("… and 400 more to create"), "{md}");
}

#[test]
fn a_changed_row_rewrites_the_parts_around_it_only() {
    let counts = [(Action::Create, 2000)];
    let limits = Limits { part_bytes: 64 * 1024, part_min_rows: 10, part_odds: 40, ..small() };
    let before = render(&plan(&counts, 3, 0, PlanStatus::Ready), &Pii::Full, &limits).unwrap();
    let mut changed = plan(&counts, 3, 0, PlanStatus::Ready);
    changed.rows[1000].changes[1].after = Some(Planned::Value(Value::One("changed".into())));
    changed.rows.insert(1500, row(Action::Create, 99_999, 3));
    let after = render(&changed, &Pii::Full, &limits).unwrap();
    assert!(before.parts.len() > 20, "{}", before.parts.len());
    let old: BTreeMap<&str, &str> =
        before.parts.iter().map(|p| (p.blake3.as_str(), p.path.as_str())).collect();
    let rewritten = after.parts.iter().filter(|p| !old.contains_key(p.blake3.as_str())).count();
    assert!(rewritten <= 4, "{rewritten} of {} parts rewritten", after.parts.len());
}

#[test]
fn the_real_caps_hold_for_a_large_plan() {
    let plan = plan(
        &[(Action::Create, 12_000), (Action::Update, 1_500), (Action::Disable, 30)],
        12,
        0,
        PlanStatus::Ready,
    );
    let limits = Limits::default();
    let report = render(&plan, &masked(), &limits).unwrap();
    let md = file(&report, "corp/plan.md");
    assert!(md.len() <= limits.markdown_bytes, "{}", md.len());
    let md = std::str::from_utf8(md).unwrap();
    assert!(md.matches("\n#### ").count() <= limits.markdown_rows);
    assert!(md.contains("### Disable (30)") && md.contains("more to create, not listed here"), "{md:.2000}");
    let total: usize = report.files.iter().map(|(_, b)| b.len()).sum();
    assert!(total > 2 * limits.markdown_bytes, "the plan is larger than the Markdown: {total}");
    for (path, bytes) in &report.files {
        assert!(bytes.len() <= limits.part_bytes, "{path}: {}", bytes.len());
    }
    assert!(file(&report, "corp/plan.json").len() < 64 * 1024);
    assert_eq!(reassemble(&report), serde_json::to_value(pii::redact(&plan, &masked())).unwrap());
}

#[test]
fn an_empty_plan_has_no_parts() {
    let plan = plan(&[], 0, 0, PlanStatus::NoChanges);
    let report = render(&plan, &masked(), &small()).unwrap();
    assert!(report.parts.is_empty());
    assert_eq!(report.files.len(), 2);
    let index: Json = serde_json::from_slice(file(&report, "corp/plan.json")).unwrap();
    assert_eq!(index["parts"], Json::Array(Vec::new()));
    assert!(index.get("rows").is_none());
    assert_eq!(reassemble(&report), serde_json::to_value(&plan).unwrap());
}

#[test]
fn parts_hold_personal_data_only_as_the_policy_says() {
    let plan = plan(&[(Action::Create, 50), (Action::Update, 5)], 4, 2, PlanStatus::Ready);
    for pii in [masked(), Pii::Hashed(crate::config::Secret::new("k3y"))] {
        let report = render(&plan, &pii, &small()).unwrap();
        for (path, bytes) in &report.files {
            let text = std::str::from_utf8(bytes).unwrap();
            for needle in ["Katharina", "E000012", "value 0 of person", "uid=e12,"] {
                assert!(!text.contains(needle), "{needle} in {path}");
            }
            // What is not personal stays readable.
            if path.contains("create-") {
                assert!(text.contains("value 1 of person"), "{path}");
            }
        }
    }
    let full = render(&plan, &Pii::Full, &small()).unwrap();
    assert!(full.files.iter().any(|(_, b)| std::str::from_utf8(b).unwrap().contains("Katharina")));
}

#[test]
fn the_markdown_of_the_first_rows_is_the_markdown_of_the_whole_plan() {
    // The report redacts only the rows it may list; what it lists must be what the whole
    // redacted plan within the same budget gives.
    let plan = plan(
        &[(Action::Create, 120), (Action::Update, 45), (Action::Skip, 4), (Action::Noop, 80)],
        5,
        3,
        PlanStatus::Ready,
    );
    let limits = Limits { markdown_rows: 25, markdown_bytes: 60_000, ..small() };
    let report = render(&plan, &masked(), &limits).unwrap();
    let mut rows_in: BTreeMap<Action, Vec<String>> = BTreeMap::new();
    let mut skipped_in = Vec::new();
    for part in &report.parts {
        match serde_json::from_value::<Action>(Json::from(part.holds.clone())) {
            Ok(action) => rows_in.entry(action).or_default().push(part.path.clone()),
            Err(_) => skipped_in.push(part.path.clone()),
        }
    }
    let budget = Budget {
        rows: limits.markdown_rows,
        bytes: limits.markdown_bytes,
        rows_in,
        skipped_in,
        totals: BTreeMap::new(),
        groups_in: Vec::new(),
    };
    let whole = markdown::render_within(&pii::redact(&plan, &masked()), &budget);
    assert!(whole.contains("more to create, not listed here"), "{whole}");
    assert_eq!(std::str::from_utf8(file(&report, "corp/plan.md")).unwrap(), whole);
}

/// Masked with a key, as reports are.
fn masked() -> Pii {
    Pii::Masked(Some(crate::config::Secret::new("a-label-key")))
}

#[test]
fn a_committed_plan_reads_back_with_its_rows_and_a_tampered_part_is_refused() {
    let plan =
        plan(&[(Action::Create, 300), (Action::Update, 40), (Action::Noop, 60)], 6, 7, PlanStatus::Ready);
    let report = render(&plan, &masked(), &small()).unwrap();
    let files: BTreeMap<String, Vec<u8>> = report.files.iter().cloned().collect();
    let read = |path: &str| files.get(path).cloned();
    let back = read_back(&read, "corp").unwrap().expect("a committed plan");
    let redacted = pii::redact(&plan, &masked());
    assert_eq!(back.id, plan.id);
    assert_eq!(back.rows.len(), 400);
    assert_eq!(serde_json::to_value(&back.rows).unwrap(), serde_json::to_value(&redacted.rows).unwrap());
    assert_eq!(read_back(&read, "other").unwrap(), None, "no plan committed for it");
    // A part changed behind the index's back is not taken for the plan.
    let part = report.parts.iter().find(|p| p.holds == "update").unwrap();
    let mut tampered = files.clone();
    let path = format!("corp/{}", part.path);
    tampered.get_mut(&path).unwrap()[0] = b' ';
    let read = |p: &str| tampered.get(p).cloned();
    let err = read_back(&read, "corp").unwrap_err();
    assert!(err.to_string().contains("its size or hash is not the one plan.json gives"), "{err}");
    let mut missing = files.clone();
    missing.remove(&path);
    let read = |p: &str| missing.get(p).cloned();
    assert!(matches!(read_back(&read, "corp"), Err(ReadBackError::Missing(p)) if p == path));
}
