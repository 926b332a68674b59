//! `overrides.yaml` in the plan: hidden people, entries kept disabled, pinned
//! attributes, delayed leavers; expired overrides ignored; every row an override
//! changes says so.

use super::harness::{Case, Fixture, entry, set};
use super::{reasons, row};
use crate::model::{EmploymentStatus, Person};
use crate::plan::Action;

fn with(overrides: &str) -> Fixture {
    Fixture::new().with("overrides.yaml", &format!("version: 1\noverrides:\n{overrides}"))
}

/// The problems of the repository with `overrides`, or nothing.
fn problems(overrides: &str) -> String {
    match crate::config::load(&with(overrides).files) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_hidden_person_is_never_created_and_an_existing_entry_is_left_or_disabled() {
    let fixture = with(
        "  - person: { employee_number: E1 }\n    hide: true\n    reason: external accountant\n  - person: { employee_number: E2 }\n    hide: true\n    reason: left the group\n  - person: { source: hr, employee_number: E3 }\n    hide: true\n    existing: disable\n    reason: moved to the partner company\n",
    );
    let people = vec![Person::test("E1"), Person::test("E2"), Person::test("E3"), Person::test("E4")];
    let plan = Case::new(people, vec![entry("E2"), entry("E3")]).config(fixture).plan();
    let e1 = row(&plan, "E1");
    assert_eq!(e1.action, Action::Noop, "{e1:?}");
    assert!(
        reasons(e1).contains("override (overrides.yaml:3): hidden: external accountant"),
        "{}",
        reasons(e1)
    );
    let e2 = row(&plan, "E2");
    assert_eq!(e2.action, Action::Skip, "left exactly as it is: {e2:?}");
    assert!(reasons(e2).contains("hidden: left the group"), "{}", reasons(e2));
    let e3 = row(&plan, "E3");
    assert_eq!(e3.action, Action::Disable, "{e3:?}");
    assert!(
        reasons(e3).contains("hidden, the entry disabled: moved to the partner company"),
        "{}",
        reasons(e3)
    );
    assert_eq!(row(&plan, "E4").action, Action::Create, "nobody else is touched");
}

#[test]
fn an_entry_kept_disabled_is_disabled_created_disabled_and_never_enabled() {
    let fixture = with(
        "  - person: { employee_number: E1 }\n    keep_disabled: true\n    reason: under investigation\n  - person: { employee_number: E2 }\n    keep_disabled: true\n    reason: under investigation\n  - person: { work_email: E3@ACME.test }\n    keep_disabled: true\n    reason: on garden leave\n",
    );
    let mut off = entry("E2");
    off.enabled = false;
    let plan =
        Case::new(vec![Person::test("E1"), Person::test("E2"), Person::test("E3")], vec![entry("E1"), off])
            .config(fixture)
            .plan();
    let e1 = row(&plan, "E1");
    assert_eq!(e1.action, Action::Disable, "{e1:?}");
    assert!(reasons(e1).contains("kept disabled: under investigation"), "{}", reasons(e1));
    let e2 = row(&plan, "E2");
    assert!(e2.enabled.is_none(), "an active person's disabled entry stays disabled: {e2:?}");
    let e3 = row(&plan, "E3");
    assert_eq!((e3.action, e3.enabled.as_ref().map(|e| e.after)), (Action::Create, Some(false)), "{e3:?}");
}

#[test]
fn a_pinned_attribute_holds_its_value_on_create_and_after() {
    let fixture = with(
        "  - person: { employee_number: E1 }\n    pin: { attribute: title, value: Chief of Staff }\n    reason: agreed with HR\n  - person: { employee_number: E2 }\n    pin: { directory: d, attribute: department, value: Board }\n    reason: sits on the board\n",
    );
    let people = vec![Person::test("E1").title("Assistant"), Person::test("E2").department("Sales")];
    let plan = Case::new(people.clone(), vec![]).config(fixture.clone()).plan();
    assert_eq!(super::after(row(&plan, "E1"), "title").as_deref(), Some("Chief of Staff"));
    assert_eq!(super::after(row(&plan, "E2"), "department").as_deref(), Some("Board"));
    // An existing entry: the pin is written whatever the field's mode (title is
    // import_once), and then holds.
    let live = vec![set(entry("E1"), "title", "Assistant"), set(entry("E2"), "department", "Board")];
    let plan = Case::new(people, live).config(fixture).plan();
    let e1 = row(&plan, "E1");
    assert_eq!(e1.action, Action::Update, "{e1:?}");
    assert_eq!(super::after(e1, "title").as_deref(), Some("Chief of Staff"));
    assert!(reasons(e1).contains("`title` pinned: agreed with HR"), "{}", reasons(e1));
    let e2 = row(&plan, "E2");
    assert!(super::change(e2, "department").is_none(), "HR's Sales does not undo the pin: {e2:?}");
}

#[test]
fn a_delayed_leaver_stays_until_the_date_and_an_expired_override_is_ignored() {
    let fixture = with(
        "  - person: { employee_number: E1 }\n    delay_leaving_until: 2026-12-15\n    reason: handover of the ledger\n  - person: { employee_number: E2 }\n    hide: true\n    reason: old exception\n    until: 2026-11-01\n",
    );
    let people = vec![Person::test("E1").ends("2026-11-15"), Person::test("E2")];
    let plan = Case::new(people.clone(), vec![entry("E1"), entry("E2")]).config(fixture.clone()).plan();
    let e1 = row(&plan, "E1");
    assert_ne!(e1.action, Action::Disable, "{e1:?}");
    assert!(
        reasons(e1).contains("not a leaver before 2026-12-15: handover of the ledger"),
        "{}",
        reasons(e1)
    );
    let e2 = row(&plan, "E2");
    assert_ne!(e2.action, Action::Skip, "expired on 2026-11-01: {e2:?}");
    assert!(!reasons(e2).contains("override"), "{}", reasons(e2));
    let later =
        Case::new(people, vec![entry("E1"), entry("E2")]).config(fixture).now("2026-12-16T10:00:00Z").plan();
    assert_eq!(row(&later, "E1").action, Action::Disable, "the day after the date");
    let _ = EmploymentStatus::Active;
}

#[test]
fn overrides_are_checked_when_they_load() {
    let p = problems("  - person: { employee_number: E1 }\n    reason: nothing\n");
    assert!(p.contains("overrides.yaml:3:5: error: an override that does nothing"), "{p}");
    let p = problems(
        "  - person: { employee_number: E1 }\n    hide: true\n    keep_disabled: true\n    reason: two\n",
    );
    assert!(p.contains("an override does one thing"), "{p}");
    let p = problems("  - person: { employe_number: E1 }\n    hide: true\n    reason: typo\n");
    assert!(p.contains("unknown person field `employe_number`"), "{p}");
    let p = problems("  - person: { employee_number: E1, source: nowhere }\n    hide: true\n    reason: r\n");
    assert!(p.contains("there is no source `nowhere`"), "{p}");
    let p = problems(
        "  - person: { employee_number: E1 }\n    pin: { attribute: carLicense, value: x }\n    reason: r\n",
    );
    assert!(p.contains("no directory maps `carLicense`"), "{p}");
    let p =
        problems("  - person: { employee_number: E1 }\n    hide: true\n    reason: \"\"\n    until: soon\n");
    assert!(p.contains("an override needs a reason") && p.contains("`soon` is not a date"), "{p}");
    let p = problems(
        "  - person: { employee_number: E1 }\n    keep_disabled: true\n    existing: leave\n    reason: r\n",
    );
    assert!(p.contains("`existing` goes with `hide`"), "{p}");
    assert_eq!(problems("  - person: { employee_number: E1 }\n    hide: true\n    reason: r\n"), "");
}

#[test]
fn a_delay_never_makes_an_entry_and_the_leaving_counts_from_the_day_after_it() {
    let fixture = with(
        "  - person: { employee_number: E1 }\n    delay_leaving_until: 2026-12-15\n    reason: handover\n  - person: { employee_number: E2 }\n    delay_leaving_until: 2026-12-15\n    reason: handover\n",
    );
    let people = vec![
        Person::test("E1").ends("2026-11-15").status(EmploymentStatus::Terminated),
        Person::test("E2").ends("2026-11-15").status(EmploymentStatus::Terminated),
    ];
    let plan = Case::new(people.clone(), vec![entry("E1")]).config(fixture.clone()).plan();
    assert_ne!(row(&plan, "E1").action, Action::Disable);
    assert_eq!(row(&plan, "E2").action, Action::Noop, "no entry, and a delay makes none");
    // Disabled the day after the delay; deleted 30 days (delete_after_days) after that,
    // not 30 days after the end date.
    let mut off = entry("E1");
    off.enabled = false;
    let later = Case::new(people.clone(), vec![off.clone()])
        .config(fixture.clone())
        .now("2027-01-10T10:00:00Z")
        .plan();
    assert_eq!(row(&later, "E1").action, Action::Noop, "{:?}", row(&later, "E1"));
    let much_later = Case::new(people, vec![off]).config(fixture).now("2027-01-16T10:00:00Z").plan();
    assert_eq!(row(&much_later, "E1").action, Action::Delete);
}

#[test]
fn a_kept_disabled_entry_is_disabled_first_with_its_attributes_in_step() {
    let fixture = with(
        "  - person: { employee_number: E1 }\n    keep_disabled: true\n    reason: under investigation\n",
    );
    let plan =
        Case::new(vec![Person::test("E1").department("Audit")], vec![entry("E1")]).config(fixture).plan();
    let e1 = row(&plan, "E1");
    assert_eq!(e1.action, Action::Disable);
    assert_eq!(super::after(e1, "department").as_deref(), Some("Audit"), "{e1:?}");
}

#[test]
fn overrides_name_one_person_and_pins_leave_what_identifies_entries_alone() {
    let p = problems("  - person: { department: Finance }\n    hide: true\n    reason: r\n");
    assert!(p.contains("`department` does not name one person"), "{p}");
    let p = problems(
        "  - person: { employee_number: E1 }\n    pin: { attribute: mail, value: x@y }\n    reason: r\n",
    );
    assert!(p.contains("`mail` cannot be pinned: it matches people to entries"), "{p}");
    let p = problems(
        "  - person: { employee_number: E1 }\n    hide: true\n    reason: a\n  - person: { employee_number: e1 }\n    keep_disabled: true\n    reason: b\n",
    );
    assert!(p.contains("overrides.yaml:3 already decides this person's entry"), "{p}");
}

#[test]
fn reports_keep_a_delayed_manager_and_say_when_their_manager_is_hidden() {
    let fixture = with(
        "  - person: { employee_number: E1 }\n    delay_leaving_until: 2026-12-15\n    reason: handover\n  - person: { employee_number: E3 }\n    hide: true\n    reason: external\n",
    );
    let people = vec![
        Person::test("E1").ends("2026-11-15"),
        Person::test("E2").manager("E1"),
        Person::test("E3"),
        Person::test("E4").manager("E3"),
    ];
    let plan = Case::new(people, vec![entry("E1")]).config(fixture).plan();
    let e2 = row(&plan, "E2");
    assert!(super::change(e2, "manager").is_some(), "the delayed manager is still referenced: {e2:?}");
    let e4 = row(&plan, "E4");
    assert!(
        e4.warnings.iter().any(|w| w.contains("hidden by the override at overrides.yaml:6")),
        "{:?}",
        e4.warnings
    );
}
