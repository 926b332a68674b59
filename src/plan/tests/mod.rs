//! The plan rules of DESIGN §4, one or more tests each. A config is loaded from YAML
//! (the real loader), people are built with `Person::test`, live entries by hand; the
//! clock is passed in, all through the [`harness`].

mod groups;
pub(super) mod harness;
mod overrides;

use super::*;
use crate::config;
use crate::directory::Entry;
use crate::model::Value;
use crate::model::{EmploymentStatus, Person};
use harness::{Case, Fixture, WORKSPACE, entry, set, skipped_row};

fn row<'p>(plan: &'p Plan, number: &str) -> &'p Row {
    plan.rows
        .iter()
        .find(|r| {
            r.person.as_ref().and_then(|p| p.employee_number.as_deref()) == Some(number)
                || (r.person.is_none() && r.entry.as_deref() == Some(number))
        })
        .unwrap_or_else(|| panic!("no row for {number} in {:#?}", plan.rows))
}

fn reasons(row: &Row) -> String {
    row.reasons.iter().map(|r| r.as_ref()).collect::<Vec<_>>().join(" | ")
}

fn change<'r>(row: &'r Row, attr: &str) -> Option<&'r Change> {
    row.changes.iter().find(|c| c.attribute == attr)
}

fn after(row: &Row, attr: &str) -> Option<String> {
    match &change(row, attr)?.after {
        Some(Planned::Value(Value::One(v))) => Some(v.clone()),
        Some(Planned::EntryOf { entry_of }) => Some(format!("entry_of:{entry_of}")),
        other => Some(format!("{other:?}")),
    }
}

// §4.2 filters, with the deciding rule -----------------------------------------------

#[test]
fn excluded_people_get_no_entry_and_say_which_rule() {
    let plan = Case::new(vec![Person::test("E1").kind("contractor"), Person::test("E2")], vec![]).plan();
    let r = row(&plan, "E1");
    assert_eq!(r.action, Action::Noop);
    assert!(
        reasons(r).contains("excluded by filter `staff` exclude[0]: contractors use the vendor portal"),
        "{}",
        reasons(r)
    );
    assert_eq!(row(&plan, "E2").action, Action::Create);
    assert!(reasons(row(&plan, "E2")).starts_with("in scope: included by `staff`"));
}

#[test]
fn directory_filters_restrict_further() {
    let fixture = Fixture::new()
        .with("filters/berlin.yaml", "version: 1\ninclude:\n  - { field: work_location, in: [Berlin] }\n")
        .directory("mode: apply\n", "mode: apply\nfilters: [berlin]\n");
    let plan =
        Case::new(vec![Person::test("E1").location("Berlin"), Person::test("E2").location("Paris")], vec![])
            .config(fixture)
            .plan();
    assert_eq!(row(&plan, "E1").action, Action::Create);
    assert_eq!(row(&plan, "E2").action, Action::Noop);
    assert!(
        reasons(row(&plan, "E2"))
            .contains("excluded by filter `berlin` include[0]: work_location is `Paris`")
    );
}

// §4.4 mapping -------------------------------------------------------------------------

#[test]
fn creates_carry_every_mapped_value_but_ignored_fields() {
    let plan =
        Case::new(vec![Person::test("E1").title("CTO").department("Eng").custom("x", "y")], vec![]).plan();
    let r = row(&plan, "E1");
    assert_eq!(r.action, Action::Create);
    assert_eq!(after(r, "title").as_deref(), Some("CTO"));
    assert_eq!(after(r, "department").as_deref(), Some("Eng"));
    assert_eq!(after(r, "mail").as_deref(), Some("e1@acme.test"));
    assert!(change(r, "description").is_none(), "ignore fields are never written");
    assert!(change(r, "telephoneNumber").is_none(), "absent values are not written");
    assert_eq!(r.enabled, Some(EnabledChange { before: None, after: true }));
    assert_eq!(change(r, "cn").unwrap().from, vec![SourceId::new_unchecked("hr")]);
}

#[test]
fn creates_without_the_attribute_that_names_entries_are_skipped() {
    // Found by the property tests: the file directory names a new entry by its first
    // match attribute (LDAP by its RDN), and refused this create on every run.
    let plan =
        Case::new(vec![Person::test("E1"), Person { employee_number: None, ..Person::test("E2") }], vec![])
            .plan();
    let r = plan.rows.iter().find(|r| r.person.as_ref().is_some_and(|p| p.key == "hr:E2")).unwrap();
    assert_eq!(r.action, Action::Skip, "{r:?}");
    assert!(
        reasons(r).contains("no value for `employeeNumber`, which names new entries in this directory"),
        "{}",
        reasons(r)
    );
    assert!(r.changes.is_empty());
    assert_eq!(row(&plan, "E1").action, Action::Create);
}

// §4.5 matching -----------------------------------------------------------------------

#[test]
fn match_chain_falls_back_to_the_next_rule() {
    // The entry has another employee number but the person's mail: matched by mail,
    // and the employee number is corrected.
    let live = vec![set(entry("E1"), "employeeNumber", "OLD-1")];
    let plan = Case::new(vec![Person::test("E1")], live).plan();
    let r = row(&plan, "E1");
    assert_eq!(r.action, Action::Update);
    assert!(reasons(r).contains("matched by work_email → mail"), "{}", reasons(r));
    assert_eq!(after(r, "employeeNumber").as_deref(), Some("E1"));
}

#[test]
fn two_entries_for_one_person_is_ambiguous() {
    let live = vec![entry("E1"), Entry { id: "E1-copy".into(), ..entry("E1") }];
    let plan = Case::new(vec![Person::test("E1")], live).plan();
    let r = row(&plan, "E1");
    assert_eq!(r.action, Action::Skip);
    assert!(reasons(r).contains("ambiguous: 2 entries have the employee_number"), "{}", reasons(r));
    // Neither entry is treated as gone from the sources.
    assert_eq!(plan.summary.disable, 0);
    assert_eq!(plan.rows.len(), 1);
}

#[test]
fn two_people_for_one_entry_is_ambiguous() {
    // E1's entry carries the mail of E2 (edited by hand): E1 matches it by employee
    // number, E2 (who has no entry of their own) by mail.
    let live = vec![set(entry("E1"), "mail", "e2@acme.test")];
    let plan = Case::new(vec![Person::test("E1"), Person::test("E2")], live).plan();
    for n in ["E1", "E2"] {
        let r = row(&plan, n);
        assert_eq!(r.action, Action::Skip, "{n}");
        assert!(reasons(r).contains("also matched by 1 other person"), "{}", reasons(r));
    }
}

// §4.6 actions ------------------------------------------------------------------------

#[test]
fn continuous_fields_update_import_once_fields_never_do() {
    let live = vec![set(set(set(entry("E1"), "title", "Engineer"), "department", "Old"), "roomNumber", "42")];
    let people = vec![Person::test("E1").title("Senior Engineer").department("New").custom("room", "7")];
    let plan = Case::new(people, live).plan();
    let r = row(&plan, "E1");
    assert_eq!(r.action, Action::Update);
    assert_eq!(after(r, "department").as_deref(), Some("New"));
    assert_eq!(change(r, "department").unwrap().before, Some(Value::One("Old".into())));
    assert!(change(r, "title").is_none(), "import_once fields are not updated");
    assert!(change(r, "roomNumber").is_none(), "unmapped attributes are never touched");
    assert!(reasons(r).contains("differs from HR: department"));
}

#[test]
fn manual_edits_of_continuous_fields_are_drift() {
    // Someone cleared nothing in HR but set a phone by hand: HR (absent) wins.
    let live = vec![set(entry("E1"), "telephoneNumber", "+49 1")];
    let plan = Case::new(vec![Person::test("E1")], live).plan();
    let r = row(&plan, "E1");
    assert_eq!(r.action, Action::Update);
    let c = change(r, "telephoneNumber").unwrap();
    assert_eq!((c.before.clone(), c.after.clone()), (Some(Value::One("+49 1".into())), None));
}

#[test]
fn joiners_are_created_from_start_minus_pre_provision_days() {
    let people = vec![
        Person::test("E1").status(EmploymentStatus::Pending).starts("2026-11-27"),
        Person::test("E2").status(EmploymentStatus::Pending).starts("2026-12-15"),
        Person::test("E3").starts("2026-11-22"),
    ];
    let plan = Case::new(people, vec![]).plan();
    let r = row(&plan, "E1");
    assert_eq!(r.action, Action::Create);
    assert_eq!(r.enabled, Some(EnabledChange { before: None, after: false }));
    assert!(reasons(r).contains("created disabled 7 days ahead"), "{}", reasons(r));
    let r = row(&plan, "E2");
    assert_eq!(r.action, Action::Noop);
    assert!(reasons(r).contains("the entry is created from 2026-12-08"), "{}", reasons(r));
    assert_eq!(row(&plan, "E3").enabled.map(|e| e.after), Some(true));
}

#[test]
fn pre_provisioned_entries_are_enabled_on_the_start_date_and_not_before() {
    let mut live = entry("E1");
    live.enabled = false;
    let person = Person::test("E1").status(EmploymentStatus::Pending).starts("2026-11-25");
    let before = Case::new(vec![person.clone()], vec![live.clone()]).plan();
    assert_eq!(row(&before, "E1").action, Action::Noop);
    let on = Case::new(vec![person.status(EmploymentStatus::Active)], vec![live])
        .now("2026-11-25T06:00:00Z")
        .plan();
    let r = row(&on, "E1");
    assert_eq!(r.action, Action::Update);
    assert_eq!(r.enabled, Some(EnabledChange { before: Some(false), after: true }));
}

#[test]
fn an_active_account_is_never_disabled_for_a_future_start_date() {
    // A new contract with a later start date must not lock out someone already working.
    let plan = Case::new(vec![Person::test("E1").starts("2027-01-01")], vec![entry("E1")]).plan();
    assert_eq!(row(&plan, "E1").action, Action::Noop);
}

#[test]
fn leavers_are_disabled_then_deleted_after_the_grace_period() {
    let people = vec![Person::test("E1").ends("2026-11-21"), Person::test("E2").ends("2026-11-22")];
    let plan = Case::new(people.clone(), vec![entry("E1"), entry("E2")]).plan();
    let r = row(&plan, "E1");
    assert_eq!(r.action, Action::Disable);
    assert!(reasons(r).contains("left: end date 2026-11-21 has passed (since 2026-11-22)"), "{}", reasons(r));
    assert_eq!(row(&plan, "E2").action, Action::Noop, "the end date is their last working day");

    let mut disabled = entry("E1");
    disabled.enabled = false;
    let later = Case::new(people.clone(), vec![disabled.clone()]).now("2026-12-10T10:00:00Z").plan();
    let r = row(&later, "E1");
    assert_eq!(r.action, Action::Noop);
    assert!(reasons(r).contains("already disabled; deleted on 2026-12-22"), "{}", reasons(r));
    let deleted = Case::new(people, vec![disabled]).now("2026-12-22T10:00:00Z").plan();
    assert_eq!(row(&deleted, "E1").action, Action::Delete);
}

#[test]
fn grace_days_delay_the_disable() {
    let fixture = Fixture::new().directory("grace_days: 0", "grace_days: 3");
    let people = vec![Person::test("E1").ends("2026-11-20")];
    let plan = Case::new(people.clone(), vec![entry("E1")]).config(fixture).plan();
    let r = row(&plan, "E1");
    assert_eq!(r.action, Action::Noop);
    assert!(reasons(r).contains("grace period of 3 days: acting on 2026-11-24"), "{}", reasons(r));
    let fixture = Fixture::new().directory("grace_days: 0", "grace_days: 3");
    let plan = Case::new(people, vec![entry("E1")]).config(fixture).now("2026-11-24T00:00:00Z").plan();
    assert_eq!(row(&plan, "E1").action, Action::Disable);
}

#[test]
fn terminated_status_and_leaving_scope_are_leavers_with_timers() {
    let mut case = Case::new(
        vec![Person::test("E1").status(EmploymentStatus::Terminated), Person::test("E2").kind("contractor")],
        vec![entry("E1"), entry("E2")],
    );
    let plan = case.plan();
    assert_eq!(row(&plan, "E1").action, Action::Disable);
    assert!(reasons(row(&plan, "E2")).contains("out of scope: excluded by filter `staff` exclude[0]"));
    assert_eq!(plan.timers.get("E1"), Some(&"2026-11-22".parse().unwrap()));
    // A timer started earlier is kept, and drives the delete.
    case.timers.insert("E1".into(), "2026-10-01".parse().unwrap());
    case.live[0].enabled = false;
    let plan = case.plan();
    assert_eq!(row(&plan, "E1").action, Action::Delete);
    assert_eq!(plan.timers.get("E1"), Some(&"2026-10-01".parse().unwrap()));
}

#[test]
fn a_future_end_date_is_not_a_leaver_but_the_filter_still_decides() {
    let person = Person::test("E1").status(EmploymentStatus::Terminated).ends("2026-12-31");
    let plan = Case::new(vec![person], vec![entry("E1")]).plan();
    // Terminated in HR but still working until the end date: still in scope? The
    // `staff` filter excludes terminated people, so they leave scope now.
    assert_eq!(row(&plan, "E1").action, Action::Disable);
    let plan = Case::new(vec![Person::test("E1").ends("2026-12-31")], vec![entry("E1")]).plan();
    assert_eq!(row(&plan, "E1").action, Action::Noop);
}

#[test]
fn entries_gone_from_every_source_are_leavers_only_after_a_full_healthy_read() {
    let live = vec![entry("E1"), entry("E9")];
    let plan = Case::new(vec![Person::test("E1")], live.clone()).plan();
    let r = row(&plan, "E9");
    assert_eq!(r.action, Action::Disable);
    assert!(reasons(r).contains("gone from every source"), "{}", reasons(r));

    let mut case = Case::new(vec![Person::test("E1")], live);
    case.health = Some(SourceHealth::Snapshot { reason: "not selected with --source".into() });
    let plan = case.plan();
    let r = row(&plan, "E9");
    assert_eq!(r.action, Action::Noop);
    assert!(reasons(r).contains("not treated as a leaver, because source `hr` was not read in this run"));
}

#[test]
fn rehires_are_enabled_and_people_on_leave_are_left_as_they_are() {
    let mut e1 = entry("E1");
    e1.enabled = false;
    let mut e2 = entry("E2");
    e2.enabled = false;
    let plan =
        Case::new(vec![Person::test("E1"), Person::test("E2").status(EmploymentStatus::Leave)], vec![e1, e2])
            .plan();
    assert_eq!(row(&plan, "E1").enabled, Some(EnabledChange { before: Some(false), after: true }));
    assert_eq!(row(&plan, "E2").action, Action::Noop);
}

#[test]
fn unique_values_take_the_first_free_candidate() {
    let fixture = Fixture::new().directory(
        "  cn: {",
        "  uid: { candidates: [\"{{ first_name | lower }}\", \"{{ first_name | lower }}{{ n }}\"], unique: true, mode: import_once }\n  cn: {",
    );
    let live = vec![set(entry("E1"), "uid", "ada")];
    let people = vec![
        Person::test("E1").first("Ada"),
        Person::test("E2").first("Ada"),
        Person::test("E3").first("ADA"),
    ];
    let plan = Case::new(people, live).config(fixture).plan();
    assert_eq!(after(row(&plan, "E2"), "uid").as_deref(), Some("ada2"));
    assert_eq!(after(row(&plan, "E3"), "uid").as_deref(), Some("ada3"));
    assert!(change(row(&plan, "E1"), "uid").is_none(), "import_once: never renamed");
    // Each create carries the next values that were free, for a refusal at write time:
    // what an earlier create of the plan claimed is not among them, what a later one
    // claims may be (the directory then refuses it too, and the next is taken).
    assert_eq!(change(row(&plan, "E2"), "uid").unwrap().alternatives, ["ada3", "ada4", "ada5", "ada6"]);
    assert_eq!(change(row(&plan, "E3"), "uid").unwrap().alternatives, ["ada4", "ada5", "ada6", "ada7"]);
    let one = Fixture::new().directory(
        "  cn: {",
        "  uid: { candidates: [\"{{ first_name | lower }}\"], unique: true, mode: import_once }\n  cn: {",
    );
    let plan = Case::new(vec![Person::test("E2").first("Ada")], Vec::new()).config(one).plan();
    assert!(change(row(&plan, "E2"), "uid").unwrap().alternatives.is_empty(), "one candidate, no others");
}

// §4.7 managers -----------------------------------------------------------------------

#[test]
fn managers_are_created_before_their_reports() {
    let people = vec![
        Person::test("E3").manager("E2"),
        Person::test("E2").manager("E1"),
        Person::test("E1"),
        Person::test("E4").manager("E0"),
        Person::test("E0"),
    ];
    let live = vec![entry("E0")];
    let plan = Case::new(people, live).plan();
    let order: Vec<&str> = plan
        .rows
        .iter()
        .filter(|r| r.action == Action::Create)
        .map(|r| r.person.as_ref().unwrap().employee_number.as_deref().unwrap())
        .collect();
    assert_eq!(order, ["E1", "E4", "E2", "E3"]);
    assert_eq!(after(row(&plan, "E2"), "manager").as_deref(), Some("entry_of:hr:E1"));
    assert_eq!(
        after(row(&plan, "E4"), "manager").as_deref(),
        Some("E0"),
        "an existing manager is referenced by id"
    );
}

#[test]
fn out_of_scope_and_unknown_managers_leave_the_field_unset_with_a_warning() {
    let people = vec![
        Person::test("E1").kind("contractor"),
        Person::test("E2").manager("E1"),
        Person::test("E3").manager("E404"),
    ];
    let live = vec![set(entry("E2"), "manager", "E1")];
    let plan = Case::new(people, live).plan();
    let r = row(&plan, "E2");
    assert!(change(r, "manager").is_none(), "the field is not touched");
    assert_eq!(r.warnings, ["manager left unset: the manager is out of scope or has left"]);
    assert_eq!(row(&plan, "E3").warnings, ["manager left unset: no record of the manager in the source"]);
    assert_eq!(plan.summary.warnings, 2);
}

#[test]
fn manager_cycles_are_reported_not_looped_on() {
    let people = vec![
        Person::test("E1").manager("E2"),
        Person::test("E2").manager("E1"),
        Person::test("E3").manager("E3"),
    ];
    let plan = Case::new(people, vec![]).plan();
    for n in ["E1", "E2"] {
        let r = row(&plan, n);
        assert_eq!(r.action, Action::Create);
        assert_eq!(r.warnings, ["manager left unset: manager cycle of 2 people"], "{n}");
    }
    // Being one's own manager (common for the head of a company) is no manager.
    assert!(row(&plan, "E3").warnings.is_empty());
    assert!(change(row(&plan, "E3"), "manager").is_none());
}

// §4.8 guards --------------------------------------------------------------------------

#[test]
fn an_unhealthy_source_fails_the_plan() {
    let mut case = Case::new(vec![], vec![entry("E1"), entry("E2")]);
    case.health =
        Some(SourceHealth::Unhealthy { reason: "returned no people (the last good read had 2)".into() });
    let plan = case.plan();
    assert_eq!(plan.status, PlanStatus::Failed);
    assert_eq!(plan.summary.disable, 0, "nobody is a leaver because a source returned nobody");
    assert_eq!(plan.blocked_by, ["source `hr` is unhealthy: returned no people (the last good read had 2)"]);
}

#[test]
fn mass_disables_are_blocked_until_approved_by_id() {
    let live: Vec<Entry> = (1..=8).map(|i| entry(&format!("E{i}"))).collect();
    let people: Vec<Person> = (1..=8).map(|i| Person::test(&format!("E{i}"))).collect();
    let mut case = Case::new(people[..6].to_vec(), live);
    let plan = case.plan();
    assert_eq!(plan.summary.disable, 2);
    assert_eq!(plan.status, PlanStatus::Blocked);
    assert_eq!(
        plan.blocked_by,
        ["2 disables and deletes are 25.0 % of 8 managed entries, above max_disable_percent 20"]
    );
    assert!(guard::check(&plan).is_err());

    case.approvals.insert(plan.id.clone());
    let approved = case.plan();
    assert_eq!(approved.id, plan.id, "approving does not change the plan");
    assert_eq!(approved.status, PlanStatus::Ready);
    assert!(approved.approved);
    assert!(guard::check(&approved).is_ok());

    // An approval is for one exact plan: different inputs are blocked again.
    case.people = people[..5].to_vec();
    assert_eq!(case.plan().status, PlanStatus::Blocked);
}

#[test]
fn an_allowance_lets_a_plan_within_its_figures_through_until_it_expires() {
    let live: Vec<Entry> = (1..=8).map(|i| entry(&format!("E{i}"))).collect();
    let people: Vec<Person> = (1..=8).map(|i| Person::test(&format!("E{i}"))).collect();
    let allowing = |max: &str, until: &str| {
        Fixture::new().with(
            "hrsync.yaml",
            &format!(
                "{WORKSPACE}allowances:\n  - {{ directory: d, {max}, until: \"{until}\", reason: closing the Lyon office }}\n"
            ),
        )
    };
    let case = |fixture: Fixture, n: usize| {
        Case::new(people[..n].to_vec(), live.clone()).config(fixture).now("2026-12-01T09:00:00Z")
    };
    // Two disables are 25 %: blocked, but within an allowance of up to 3 until the 5th.
    let plan = case(allowing("max_disables: 3", "2026-12-05"), 6).plan();
    assert_eq!(plan.status, PlanStatus::Ready, "{:?}", plan.blocked_by);
    assert_eq!(
        plan.approved_by,
        Some(ApprovedBy::Allowance {
            index: 0,
            reason: "closing the Lyon office".into(),
            until: jiff::civil::date(2026, 12, 5),
            max_disables: Some(3),
            max_updates: None,
            commit: None,
        })
    );
    assert!(guard::check(&plan).is_ok());
    let blocked = case(Fixture::new(), 6).plan();
    assert_eq!(blocked.status, PlanStatus::Blocked);
    assert_eq!(plan.id, blocked.id, "an allowance does not change the plan id");
    // Beyond its figure, after its day, or for updates it gives no figure for: blocked.
    assert_eq!(case(allowing("max_disables: 3", "2026-12-05"), 4).plan().status, PlanStatus::Blocked);
    assert_eq!(case(allowing("max_disables: 3", "2026-11-30"), 6).plan().status, PlanStatus::Blocked);
    assert_eq!(case(allowing("max_updates: 100", "2026-12-05"), 6).plan().status, PlanStatus::Blocked);
    // The last day still holds.
    assert_eq!(case(allowing("max_disables: 3", "2026-12-01"), 6).plan().status, PlanStatus::Ready);
}

#[test]
fn a_saved_plan_applies_only_while_it_is_still_the_plan() {
    use guard::saved::{self, SavedPlanError};
    let mut case = Case::new(vec![Person::test("E1"), Person::test("E2")], vec![entry("E1")]);
    let saved = saved::SavedPlan::from(&case.plan());
    assert_eq!(saved::check(std::slice::from_ref(&saved), &case.plan()), Ok(()));
    // Someone new in HR: the plan made now is another plan.
    case.people.push(Person::test("E3"));
    let now = case.plan();
    match saved::check(std::slice::from_ref(&saved), &now) {
        Err(SavedPlanError::Stale { saved: s, now: n, .. }) => {
            assert_eq!((s, n), (saved.id.clone(), now.id.clone()))
        }
        other => panic!("expected a stale plan, got {other:?}"),
    }
    assert!(matches!(saved::check(&[], &now), Err(SavedPlanError::Missing(_))));
}

#[test]
fn update_limits_and_count_limits_block_too() {
    let live: Vec<Entry> = (1..=4).map(|i| set(entry(&format!("E{i}")), "department", "Old")).collect();
    let people: Vec<Person> = (1..=4).map(|i| Person::test(&format!("E{i}")).department("New")).collect();
    let plan = Case::new(people.clone(), live.clone()).plan();
    assert_eq!(plan.status, PlanStatus::Blocked);
    assert!(
        plan.blocked_by[0].contains("4 updates are 100.0 % of 4 managed entries"),
        "{:?}",
        plan.blocked_by
    );
    let fixture = Fixture::new().with(
        "hrsync.yaml",
        &format!("{WORKSPACE}safety: {{ max_update_percent: 100, max_update_count: 3 }}\n"),
    );
    let plan = Case::new(people, live).config(fixture).plan();
    assert_eq!(plan.blocked_by, ["4 updates are above max_update_count 3"]);
}

#[test]
fn a_first_sync_is_not_blocked() {
    let people: Vec<Person> = (1..=50).map(|i| Person::test(&format!("E{i}"))).collect();
    let plan = Case::new(people, vec![]).plan();
    assert_eq!(plan.status, PlanStatus::Ready);
    assert_eq!(plan.summary.create, 50);
}

// §4.9 determinism ------------------------------------------------------------------------

#[test]
fn the_same_inputs_give_the_same_plan_in_any_input_order() {
    let people = vec![
        Person::test("E3").manager("E1").title("A"),
        Person::test("E1"),
        Person::test("E2").manager("E1").kind("contractor"),
        Person::test("E4").ends("2026-01-01"),
    ];
    let live = vec![entry("E4"), entry("E9"), set(entry("E1"), "department", "x")];
    let a = Case::new(people.clone(), live.clone()).plan();
    let mut reversed = people;
    reversed.reverse();
    let mut live_reversed = live;
    live_reversed.reverse();
    let b = Case::new(reversed, live_reversed).plan();
    let json = |p: &Plan| super::render::json(p).unwrap();
    let (a_rows, b_rows) = (serde_json::to_string(&a.rows).unwrap(), serde_json::to_string(&b.rows).unwrap());
    assert_eq!(a_rows, b_rows);
    assert_eq!(json(&a), json(&Case::new(a_people(), a_live()).plan()));

    fn a_people() -> Vec<Person> {
        vec![
            Person::test("E3").manager("E1").title("A"),
            Person::test("E1"),
            Person::test("E2").manager("E1").kind("contractor"),
            Person::test("E4").ends("2026-01-01"),
        ]
    }
    fn a_live() -> Vec<Entry> {
        vec![entry("E4"), entry("E9"), set(entry("E1"), "department", "x")]
    }
}

#[test]
fn every_row_says_why() {
    let people = vec![Person::test("E1"), Person::test("E2").kind("contractor"), Person::test("E3")];
    let plan = Case::new(people, vec![entry("E3"), entry("E9")]).plan();
    // A row for each of the three people (a joiner, a contractor out of scope, one up to
    // date) and one for E9, which no one matches: without rows the loop proves nothing.
    assert_eq!(plan.rows.len(), 4, "{:#?}", plan.rows);
    for r in &plan.rows {
        assert!(r.reasons.len() >= 2, "{r:?}");
    }
}

// §4.10 target-aware comparison ---------------------------------------------------------------

#[test]
fn comparison_ignores_what_the_directory_ignores() {
    let fixture = Fixture::new().directory("{{ phone }}\" }", "{{ phone }}\", compare: phone }");
    let live = vec![set(set(entry("E1"), "mail", "E1@ACME.test"), "telephoneNumber", "+49 30 123-45")];
    let mut person = Person::test("E1");
    person.phone = Some("+493012345".into());
    let plan = Case::new(vec![person], live).config(fixture).plan();
    assert_eq!(row(&plan, "E1").action, Action::Noop, "{:#?}", row(&plan, "E1"));
}

#[test]
fn multi_valued_attributes_compare_as_sets() {
    let mut live = entry("E1");
    live.attributes.insert("department", Value::Many(vec!["Eng".into()]));
    let plan = Case::new(vec![Person::test("E1").department("Eng")], vec![live.clone()]).plan();
    assert_eq!(row(&plan, "E1").action, Action::Noop);
    live.attributes.insert("department", Value::Many(vec!["Eng".into(), "Ops".into()]));
    let plan = Case::new(vec![Person::test("E1").department("Eng")], vec![live]).plan();
    assert_eq!(row(&plan, "E1").action, Action::Update);
}

// §4.11 effective dates in a time zone -----------------------------------------------------------

#[test]
fn end_dates_are_read_in_the_persons_time_zone() {
    // 23:30 UTC on the 22nd is already the 23rd in Berlin: a Berlin end date of the
    // 22nd has passed there, not yet in UTC (the workspace zone).
    let fixture = Fixture::new().with(
        "hrsync.yaml",
        &format!("{WORKSPACE}timezones:\n  work_locations: {{ Berlin: Europe/Berlin }}\n"),
    );
    let people = vec![
        Person::test("E1").ends("2026-11-22").location("Berlin"),
        Person::test("E2").ends("2026-11-22").location("New York"),
    ];
    let plan =
        Case::new(people, vec![entry("E1"), entry("E2")]).config(fixture).now("2026-11-22T23:30:00Z").plan();
    assert_eq!(row(&plan, "E1").action, Action::Disable);
    assert_eq!(row(&plan, "E2").action, Action::Noop);
    assert_eq!(plan.as_of.to_string(), "2026-11-22");
}

// ownership ------------------------------------------------------------------------------------

#[test]
fn unmanaged_entries_are_never_disabled_and_matched_ones_are_taken_over() {
    let fixture = Fixture::new().directory(
        "mode: apply\n",
        "mode: apply\nscope: { marker: { attribute: managedBy, value: hrsync } }\n",
    );
    let mut live = vec![entry("E1"), entry("E9"), set(entry("E8"), "managedBy", "hrsync")];
    live.push(set(entry("E7"), "managedBy", "someone-else"));
    let people = vec![Person::test("E1"), Person::test("E7").status(EmploymentStatus::Terminated)];
    let plan = Case::new(people, live).config(fixture).plan();
    let r = row(&plan, "E1");
    assert_eq!(r.action, Action::Update);
    assert_eq!(after(r, "managedBy").as_deref(), Some("hrsync"));
    assert_eq!(row(&plan, "E8").action, Action::Disable, "managed and gone: a leaver");
    assert!(
        plan.rows.iter().all(|r| r.entry.as_deref() != Some("E9")),
        "unmanaged and unmatched: not in the plan"
    );
    let r = row(&plan, "E7");
    assert_eq!(r.action, Action::Noop);
    assert!(reasons(r).contains("not managed by hrsync"), "{}", reasons(r));
    assert_eq!(plan.summary.unmanaged, 1);
    assert_eq!(plan.safety.managed, 1);
}

#[test]
fn presence_markers_own_entries_that_carry_the_mapped_attribute() {
    let fixture = Fixture::new()
        .directory("mode: apply\n", "mode: apply\nscope: { marker: { attribute: employeeNumber } }\n");
    let mut foreign = entry("X9");
    foreign.attributes.remove("employeeNumber");
    let live = vec![entry("E9"), foreign];
    let plan = Case::new(vec![Person::test("E1")], live).config(fixture).plan();
    assert_eq!(row(&plan, "E9").action, Action::Disable, "carries the attribute: hrsync's");
    assert!(plan.rows.iter().all(|r| r.entry.as_deref() != Some("X9")), "without it: not hrsync's");
    let create = row(&plan, "E1");
    assert_eq!(after(create, "employeeNumber").as_deref(), Some("E1"), "set as a field");
    assert_eq!(create.changes.iter().filter(|c| c.attribute == "employeeNumber").count(), 1);
    let bad = Fixture::new()
        .directory("mode: apply\n", "mode: apply\nscope: { marker: { attribute: externalId } }\n");
    assert!(config::load(&bad.files).is_err(), "a presence marker must be mapped");
}

// Skipped rows (issue 10) ----------------------------------------------------------------

#[test]
fn a_person_whose_row_is_skipped_is_held_not_disabled() {
    // E2's row no longer reads (a bad start date); E3 is simply gone.
    let mut case = Case::new(vec![Person::test("E1")], vec![entry("E1"), entry("E2"), entry("E3")]);
    case.skipped = vec![skipped_row("E2", 3)];
    let plan = case.plan();
    let held = plan.rows.iter().find(|r| r.entry.as_deref() == Some("E2")).expect("a row for E2's entry");
    assert_eq!(held.action, Action::Skip, "{held:?}");
    assert!(
        reasons(held).contains("held: the row of this person at hr.csv:3 was skipped"),
        "{}",
        reasons(held)
    );
    assert!(!reasons(held).contains("FirstE2"), "no values in reasons");
    let gone = plan.rows.iter().find(|r| r.entry.as_deref() == Some("E3")).expect("a row for E3's entry");
    assert_eq!(gone.action, Action::Noop, "a read that skipped a row may hide E3: {gone:?}");
    assert!(
        reasons(gone)
            .contains("source `hr` skipped a row of people (hr.csv:3: start_date is not a valid date"),
        "{}",
        reasons(gone)
    );
    assert_eq!((plan.summary.disable, plan.summary.delete), (0, 0));
    assert!(plan.timers.is_empty(), "no timer starts for a held or held-back entry");
    assert_eq!(plan.sources[0].skipped.len(), 1, "the plan lists the skipped row");
    let markdown = render::markdown::render(&plan);
    assert!(markdown.contains("Skipped 1 row"), "{markdown}");
    assert!(markdown.contains("`hr` hr.csv:3: person skipped: start_date is not a valid date"), "{markdown}");

    // With the hold turned off, E3 leaves by absence; E2 is still held.
    let case = Case {
        skipped: vec![skipped_row("E2", 3)],
        ..Case::new(vec![Person::test("E1")], vec![entry("E1"), entry("E2"), entry("E3")])
    }
    .config(Fixture::new().with(
        "hrsync.yaml",
        &format!("{WORKSPACE}safety: {{ max_disable_percent: 100, hold_leavers_on_skipped_rows: false }}\n"),
    ));
    let plan = case.plan();
    let action = |id: &str| plan.rows.iter().find(|r| r.entry.as_deref() == Some(id)).map(|r| r.action);
    assert_eq!((action("E2"), action("E3")), (Some(Action::Skip), Some(Action::Disable)));
}

#[test]
fn a_skipped_row_changes_the_plan_id_and_a_clean_read_does_not() {
    let mut case = Case::new(vec![Person::test("E1")], vec![entry("E1"), entry("E2")]);
    let clean = case.plan();
    case.skipped = vec![skipped_row("E2", 3)];
    let skipping = case.plan();
    assert_ne!(clean.id, skipping.id);
    case.skipped = vec![skipped_row("E2", 4)];
    assert_ne!(case.plan().id, skipping.id, "where the row is is part of the plan");
    let mut other_key = skipped_row("E2", 3);
    if let Some(p) = other_key.partial.as_deref_mut() {
        p.work_email = Some("someone.else@example.com".into());
    }
    case.skipped = vec![other_key];
    assert_ne!(case.plan().id, skipping.id, "the match keys read of the row decide what it holds");
}

#[test]
fn a_skipped_row_holds_a_person_another_record_would_make_a_leaver() {
    // E2 is still described by a record that says terminated (another source, an older
    // read); their row that was skipped may say otherwise.
    let mut case = Case::new(
        vec![Person::test("E1"), Person::test("E2").status(EmploymentStatus::Terminated)],
        vec![entry("E1"), entry("E2")],
    );
    let plan = case.plan();
    assert_eq!(row(&plan, "E2").action, Action::Disable, "without the skipped row, E2 leaves");
    case.skipped = vec![skipped_row("E2", 7)];
    let plan = case.plan();
    let held = row(&plan, "E2");
    assert_eq!(held.action, Action::Skip, "{held:?}");
    assert!(
        reasons(held).contains("held: the row of this person at hr.csv:7 was skipped"),
        "{}",
        reasons(held)
    );
    assert!(!plan.timers.contains_key("E2"));
}

#[test]
fn a_held_person_starts_no_timer_in_the_grace_period_either() {
    // Found by the property tests: with grace days, E2's leaving is a no-op for now,
    // which the hold did not look at, and their timer started while their row was
    // skipped; the grace period would have run out unseen.
    let mut case = Case::new(
        vec![Person::test("E1"), Person::test("E2").status(EmploymentStatus::Terminated)],
        vec![entry("E1"), entry("E2")],
    )
    .config(Fixture::new().directory("grace_days: 0", "grace_days: 3"));
    assert!(case.plan().timers.contains_key("E2"), "without the skipped row, the grace period starts");
    case.skipped = vec![skipped_row("E2", 7)];
    let plan = case.plan();
    assert_eq!(row(&plan, "E2").action, Action::Noop, "{:?}", row(&plan, "E2"));
    assert!(plan.timers.is_empty(), "{:?}", plan.timers);
}

#[test]
fn skipped_rows_are_a_set_whatever_order_the_source_reported_them_in() {
    // Found by the property tests: the plan listed, hashed and held skipped rows in the
    // order it was handed them, so the same read made another plan id.
    let mut case = Case::new(vec![Person::test("E1")], vec![entry("E1"), entry("E2"), entry("E3")]);
    let mut second = skipped_row("E2", 9);
    second.partial = Some(Box::new(Person::test("E3")));
    case.skipped = vec![skipped_row("E2", 3), second];
    let a = case.plan();
    case.skipped.reverse();
    let b = case.plan();
    assert_eq!(a.id, b.id);
    assert_eq!(render::json(&a).unwrap(), render::json(&b).unwrap());
    assert_eq!(render::markdown::render(&a), render::markdown::render(&b));
    let lines: Vec<u64> = b.sources[0].skipped.iter().map(|r| r.location.line).collect();
    assert_eq!(lines, [3, 9], "listed by where they are");
}

#[test]
fn a_shrunk_read_cannot_be_approved_while_absence_is_held_back() {
    let people: Vec<Person> = (1..=5).map(|i| Person::test(&format!("E{i}"))).collect();
    let live: Vec<Entry> = (1..=10).map(|i| entry(&format!("E{i}"))).collect();
    let mut case = Case::new(people, live);
    case.health = Some(SourceHealth::Shrunk {
        reason: "returned 5 people, fewer than 80 % of the last good read (10)".into(),
    });
    let plan = case.plan();
    assert_eq!(plan.status, PlanStatus::Blocked, "{:?}", plan.blocked_by);
    assert_eq!(plan.summary.disable, 5, "the plan shows what accepting the drop does");
    // A skipped row holds removals back: the drop's disables would not show.
    case.skipped = vec![skipped_row("E99", 3)];
    case.approvals.insert(case.plan().id);
    let plan = case.plan();
    assert_eq!(plan.status, PlanStatus::Failed, "{:?}", plan.blocked_by);
    assert!(
        plan.blocked_by[0]
            .contains("the drop cannot be approved in this run because source `hr` skipped a row"),
        "{:?}",
        plan.blocked_by
    );
}

#[test]
fn a_skipped_employment_holds_its_person_by_record_id_with_no_update_either() {
    // E2's current employment row was skipped: what is left of them (an older
    // employment) says they ended and had another title. Their entry is left as it is.
    let mut e2 = Person::test("E2").status(EmploymentStatus::Terminated);
    e2.job_title = Some("Old title".into());
    e2.department = Some("Old department".into());
    let mut case = Case::new(vec![Person::test("E1"), e2], vec![entry("E1"), entry("E2")]);
    let plan = case.plan();
    assert_eq!(row(&plan, "E2").action, Action::Disable, "without the skipped row, E2 leaves");
    let mut employment = SkippedRecord::new(
        crate::model::RecordKind::Employment,
        crate::model::RecordLocation { file: "employments.csv".into(), line: 9 },
        "start_date is not a valid date in the form `%d.%m.%Y`",
    );
    // Only the record id of the person can be read: no match key.
    employment.partial = Some(Box::new(Person {
        source: crate::model::SourceId::new("hr").unwrap(),
        id: "E2".into(),
        ..Person::default()
    }));
    case.skipped = vec![employment];
    let plan = case.plan();
    let held = row(&plan, "E2");
    assert_eq!((held.action, held.changes.len(), &held.enabled), (Action::Skip, 0, &None), "{held:?}");
    assert!(
        reasons(held).contains("held: an employment row of this person at employments.csv:9 was skipped"),
        "{}",
        reasons(held)
    );
    assert!(!plan.timers.contains_key("E2"));
    assert_eq!(row(&plan, "E1").action, Action::Noop, "everyone else is planned as before");
}

#[test]
fn a_shrunk_read_blocks_only_a_plan_it_changes() {
    let shrunk = SourceHealth::Shrunk {
        reason: "returned 5 people, fewer than 80 % of the last good read (10)".into(),
    };
    // The five people the read no longer lists had no entry here: nothing to accept.
    let people: Vec<Person> = (1..=5).map(|i| Person::test(&format!("E{i}"))).collect();
    let live: Vec<Entry> = (1..=5).map(|i| entry(&format!("E{i}"))).collect();
    let mut case = Case::new(people.clone(), live);
    case.health = Some(shrunk.clone());
    let plan = case.plan();
    assert_eq!((plan.status, plan.blocked_by.len()), (PlanStatus::NoChanges, 0), "{:?}", plan.blocked_by);

    // With a grace period the drop writes nothing yet but starts leaver timers: that is
    // the drop taking effect, so it waits for the approval.
    let live: Vec<Entry> = (1..=6).map(|i| entry(&format!("E{i}"))).collect();
    let mut case =
        Case::new(people, live).config(Fixture::new().directory("grace_days: 0", "grace_days: 14"));
    case.health = Some(shrunk);
    let plan = case.plan();
    assert_eq!(plan.summary.changes(), 0);
    assert!(plan.timers.contains_key("E6"), "{:?}", plan.timers);
    assert_eq!(plan.status, PlanStatus::Blocked, "{:?}", plan.blocked_by);
}

// LDAP names: collisions of DNs are planned, not left to the server -------------------

const LDAP_DIRECTORY: &str = r#"version: 1
type: ldap
mode: apply
connection: { url: "ldap://127.0.0.1:1", bind_dn: "cn=admin,dc=t", password: "${env:LDAP_PASSWORD}" }
scope: { base: "ou=people,dc=t" }
entry: { rdn: RDN }
disable: { move_to: "ou=disabled,dc=t" }
match:
  - { person: employee_number, attribute: employeeNumber }
fields:
  employeeNumber: { value: "{{ employee_number }}" }
  uid:
    candidates: ["{{ first_name | lower }}", "{{ first_name | lower }}{{ n }}"]
    unique: true
    mode: import_once
  cn: { value: "{{ first_name }} {{ last_name }}" }
  title: { value: "{{ job_title }}" }
leavers: { action: disable, grace_days: 0 }
"#;

fn ldap_case(rdn: &str, people: Vec<Person>, live: Vec<Entry>) -> Case {
    let fixture = Fixture::new()
        .with("directories/d.yaml", &LDAP_DIRECTORY.replace("RDN", rdn))
        .with("hrsync.yaml", &format!("{WORKSPACE}safety: {{ max_disable_percent: 100 }}\n"));
    Case::new(people, live).config(fixture)
}

fn ldap_entry(dn: &str, number: Option<&str>, cn: &str) -> Entry {
    let mut e = Entry { id: dn.to_owned(), attributes: Default::default(), enabled: true, revision: None };
    if let Some(n) = number {
        e = set(e, "employeeNumber", n);
    }
    set(e, "cn", cn)
}

#[test]
fn a_unique_rdn_value_taken_by_a_dn_in_another_case_takes_the_next_candidate() {
    // An entry hrsync does not know is named uid=ADA (its uid attribute says nothing).
    let live = vec![ldap_entry("uid=ADA,ou=people,dc=t", None, "Someone")];
    let plan = ldap_case("uid", vec![Person::test("E1").first("Ada")], live).plan();
    let create = row(&plan, "E1");
    assert_eq!(
        (create.action, after(create, "uid").as_deref()),
        (Action::Create, Some("ada2")),
        "{create:?}"
    );
}

#[test]
fn a_rename_onto_a_taken_dn_is_left_out_and_a_move_onto_one_is_a_collision() {
    let live = vec![
        ldap_entry("cn=Ada Old,ou=people,dc=t", Some("E1"), "Ada Old"),
        ldap_entry("cn=bo   TWO,ou=people,dc=t", None, "bo   TWO"),
        ldap_entry("cn=Cy Three,ou=people,dc=t", Some("E3"), "Cy Three"),
        ldap_entry("cn=CY THREE,ou=disabled,dc=t", None, "CY THREE"),
    ];
    // E1 is renamed to a cn another entry has (as the server compares); E3 leaves, and
    // the disabled container holds their name already.
    let plan = ldap_case("cn", vec![Person::test("E1").first("Bo").last("Two")], live).plan();
    let renamed = row(&plan, "E1");
    assert_eq!(renamed.action, Action::Skip, "only the rename changed: {renamed:?}");
    assert!(reasons(renamed).contains("collision: the rename would give this entry the `cn` of an entry"));
    assert_eq!(renamed.collides_with, Some(Collision::Entry("cn=bo   TWO,ou=people,dc=t".into())));
    let moved = plan.rows.iter().find(|r| r.entry.as_deref() == Some("cn=Cy Three,ou=people,dc=t")).unwrap();
    assert_eq!(moved.action, Action::Skip, "{moved:?}");
    assert!(
        reasons(moved)
            .contains("collision: moving it to `ou=disabled,dc=t` would give it the `cn` of an entry"),
        "{}",
        reasons(moved)
    );
    assert_eq!(moved.collides_with, Some(Collision::Entry("cn=CY THREE,ou=disabled,dc=t".into())));
}

#[test]
fn a_rename_that_collides_keeps_the_rest_of_its_update() {
    let live = vec![
        ldap_entry("cn=Ada Old,ou=people,dc=t", Some("E1"), "Ada Old"),
        ldap_entry("cn=Bo Two,ou=people,dc=t", None, "Bo Two"),
    ];
    let plan = ldap_case("cn", vec![Person::test("E1").first("Bo").last("Two").title("CTO")], live).plan();
    let renamed = row(&plan, "E1");
    assert_eq!(renamed.action, Action::Update, "{renamed:?}");
    assert!(change(renamed, "cn").is_none(), "the rename is left out: {renamed:?}");
    assert_eq!(after(renamed, "title").as_deref(), Some("CTO"), "the rest is written");
    assert!(
        renamed.warnings.iter().any(|w| w.starts_with("not renamed: collision")),
        "{:?}",
        renamed.warnings
    );
}

#[test]
fn an_owner_marker_keeps_each_configuration_to_its_own_entries() {
    let fixture = Fixture::new()
        .directory(
            "mode: apply\n",
            "mode: apply\nscope: { marker: { attribute: owner, value: \"hrsync:{{ owner }}\" } }\n",
        )
        .with("hrsync.yaml", &format!("{WORKSPACE}safety: {{ max_disable_percent: 100 }}\n"));
    let mine = |n: &str| set(entry(n), "owner", "hrsync:t/d");
    let theirs = |n: &str| set(entry(n), "owner", "hrsync:other/corp");
    let live = vec![mine("E1"), theirs("E2"), theirs("E3"), mine("E4")];
    let people = vec![Person::test("E1"), Person::test("E2").title("CTO"), Person::test("E5")];
    let plan = Case::new(people, live).config(fixture).plan();
    let foreign = row(&plan, "E2");
    assert_eq!(foreign.action, Action::Skip, "{foreign:?}");
    assert!(
        reasons(foreign).contains("owned by another configuration: the entry's `owner` names `other/corp`")
    );
    assert_eq!(row(&plan, "E4").action, Action::Disable, "this configuration's own leaver");
    assert!(plan.rows.iter().all(|r| r.entry.as_deref() != Some("E3")), "theirs is not ours to disable");
    assert_eq!(plan.summary.unmanaged, 1);
    let create = row(&plan, "E5");
    assert_eq!(after(create, "owner").as_deref(), Some("hrsync:t/d"), "{create:?}");
}

#[test]
fn a_marker_value_holds_owner_once_and_nothing_else() {
    let fixture = Fixture::new().directory(
        "mode: apply\n",
        "mode: apply\nscope: { marker: { attribute: owner, value: \"{{ owner }}{{ n }}\" } }\n",
    );
    let err = config::load(&fixture.files).unwrap_err().to_string();
    assert!(err.contains("a marker value may hold `{{ owner }}` once and no other `{{ … }}`"), "{err}");
}

#[test]
fn a_file_create_named_as_an_entry_that_exists_is_a_collision() {
    // The entry named E2 lost its employee number by hand: E2's create would take its name.
    let mut squatter = entry("E2");
    squatter.attributes.remove("employeeNumber");
    squatter.attributes.remove("mail");
    let plan = Case::new(vec![Person::test("E2").record_id("r07")], vec![squatter]).plan();
    let create = plan.rows.iter().find(|r| r.person.is_some()).unwrap();
    assert_eq!(create.action, Action::Skip, "{create:?}");
    assert_eq!(create.collides_with, Some(Collision::Entry("E2".into())));
}

#[test]
fn a_disable_that_moves_the_entry_takes_its_timer_along() {
    let live = vec![ldap_entry("cn=Cy Three,ou=people,dc=t", Some("E3"), "Cy Three")];
    let plan = ldap_case("cn", vec![], live).plan();
    let disable = plan.rows.iter().find(|r| r.action == Action::Disable).expect("a disable");
    assert_eq!(disable.entry.as_deref(), Some("cn=Cy Three,ou=people,dc=t"));
    let since = plan.timers.get("cn=Cy Three,ou=people,dc=t").copied().expect("the leaver's timer");
    assert_eq!(plan.timers.get("cn=Cy Three,ou=disabled,dc=t"), Some(&since), "{:?}", plan.timers);
}

#[test]
fn an_ad_account_that_never_expires_is_not_drift_whichever_way_ad_spells_never() {
    let directory = LDAP_DIRECTORY.replace("RDN", "cn").replace(
        "  title: { value: \"{{ job_title }}\" }\n",
        "  accountExpires: { value: \"{{ end_date | account_expires | default(\\\"0\\\") }}\" }\n",
    );
    let fixture = Fixture::new().with("directories/d.yaml", &directory);
    let adopted = set(
        ldap_entry("cn=FirstE1 LastE1,ou=people,dc=t", Some("E1"), "FirstE1 LastE1"),
        "accountExpires",
        "9223372036854775807",
    );
    let plan = Case::new(vec![Person::test("E1")], vec![adopted]).config(fixture).plan();
    assert_eq!(plan.summary.update, 0, "{:?}", plan.rows);
}

#[test]
fn a_unique_value_held_outside_the_scope_is_taken_too() {
    let case = ldap_case("uid", vec![Person::test("E1").first("Ada")], vec![]);
    let free = case.plan();
    assert_eq!(after(row(&free, "E1"), "uid").as_deref(), Some("ada"));
    // Elsewhere in the domain (AD: CN=Users) someone is `ADA` already.
    let elsewhere =
        BTreeMap::from([("uid".to_owned(), vec![("ADA".to_owned(), "uid=ADA,ou=other,dc=t".to_owned())])]);
    let plan = case.plan_with(&elsewhere);
    assert_eq!(after(row(&plan, "E1"), "uid").as_deref(), Some("ada2"));
    assert_ne!(plan.id, free.id, "what is held elsewhere is part of the plan");
}

#[test]
fn a_masked_report_labels_people_apart_and_a_managers_reference_like_their_row() {
    use crate::config::Secret;
    use pii::{Pii, redact};
    let directory = LDAP_DIRECTORY.replace("RDN", "uid").replace(
        "  title: { value: \"{{ job_title }}\" }\n",
        "  title: { value: \"{{ job_title }}\" }\n  manager: { manager: true }\n",
    );
    let fixture = Fixture::new().with("directories/d.yaml", &directory);
    // 10001 and 10101 both mask to `10…01`; 10001 has drifted, 10101 is new and
    // reports to 10001.
    let live = vec![ldap_entry("uid=ada,ou=people,dc=t", Some("10001"), "Someone Else")];
    let people =
        vec![Person::test("10001").first("Ada"), Person::test("10101").first("Ada").manager("10001")];
    let plan = Case::new(people, live).config(fixture).plan();
    let masked = redact(&plan, &Pii::Masked(Some(Secret::new("key"))));
    let manager = masked.rows.iter().find(|r| r.action == Action::Update).expect("10001 drifted");
    let report = masked.rows.iter().find(|r| r.action == Action::Create).expect("10101 is new");
    let (m, r) = (&manager.person.as_ref().unwrap().key, &report.person.as_ref().unwrap().key);
    assert!(m.starts_with("hr:10…01#") && r.starts_with("hr:10…01#") && m != r, "{m} {r}");
    let entry = manager.entry.as_deref().unwrap();
    assert!(entry.starts_with("uid=a…#") && entry.ends_with(",ou=people,dc=t"), "{entry}");
    let reference = report.changes.iter().find(|c| c.attribute == "manager").unwrap();
    assert_eq!(reference.after, Some(Planned::Value(Value::One(entry.to_owned()))), "as the manager's row");
    assert!(!format!("{masked:?}").contains("10001"), "{masked:?}");
}

#[test]
fn a_terminated_persons_disabled_entry_is_not_enabled_before_their_end_date() {
    let mut off = entry("E1");
    off.enabled = false;
    let people = vec![Person::test("E1").status(EmploymentStatus::Terminated).ends("2026-12-31")];
    // Without the `staff` filter, which would make them a leaver by scope.
    let unfiltered =
        Fixture::new().with("sources/hr.yaml", &harness::SOURCE.replace("filters: [staff]\n", ""));
    let plan = Case::new(people, vec![off]).config(unfiltered).plan();
    let e1 = row(&plan, "E1");
    assert!(e1.enabled.is_none(), "{e1:?}");
    assert_ne!(e1.action, Action::Update, "{e1:?}");
}

#[test]
fn waiting_rows_carry_the_day_they_act() {
    let people = vec![
        Person::test("E1").status(EmploymentStatus::Pending).starts("2026-11-25"),
        Person::test("E2").status(EmploymentStatus::Pending).starts("2026-12-15"),
    ];
    let plan = Case::new(people, vec![]).plan();
    // Pre-provisioned now, enabled on the start date; created on its day.
    let e1 = row(&plan, "E1").due.clone().expect("the enabling is due");
    assert_eq!((e1.on.to_string(), e1.action), ("2026-11-25".to_owned(), Action::Update));
    let e2 = row(&plan, "E2").due.clone().expect("the create is due");
    assert_eq!((e2.on.to_string(), e2.action), ("2026-12-08".to_owned(), Action::Create));
    assert_eq!(e2.why, "7 days before the start date 2026-12-15 (joiners.pre_provision_days)");
    // Not in the plan as reports hold it: the reasons say it in words.
    let json = serde_json::to_string(&plan).unwrap();
    assert!(!json.contains("\"due\""), "{json}");
}

#[test]
fn unchanged_rows_are_listed_for_the_people_asked_about_only() {
    let people = vec![Person::test("E1"), Person::test("E2")];
    let live = vec![entry("E1"), entry("E2")];
    let all = Case::new(people.clone(), live.clone()).plan();
    let key = row(&all, "E2").person.as_ref().unwrap().key.clone();
    let mut case = Case::new(people, live);
    case.list_unchanged = false;
    assert!(case.plan().rows.is_empty(), "nothing to do, nothing listed");
    case.list_people = vec![key];
    let plan = case.plan();
    assert_eq!(plan.rows.len(), 1);
    assert_eq!(row(&plan, "E2").action, Action::Noop);
}
