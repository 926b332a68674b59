//! Groups in the plan: memberships follow the people's rows, what the rows hold keeps
//! its memberships, members hrsync does not manage stay, groups it does not own are
//! never touched, and the group guard.

use super::harness::{Case, Fixture, set};
use crate::directory::Group;
use crate::model::{EmploymentStatus, OrgUnit, Person, SourceId};
use crate::plan::{GroupAction, GroupRow, Plan, PlanStatus};

const DEPARTMENTS: &str =
    "version: 1\nper: department\nname: \"dept-{{ value | ascii | lower }}\"\ndelete_empty: true\n";

fn fixture(groups: &[(&str, &str)]) -> Fixture {
    let mut f = Fixture::new().directory("leavers:", "groups: {}\nleavers:");
    for (name, text) in groups {
        f = f.with(&format!("groups/{name}.yaml"), text);
    }
    f
}

fn person(number: &str, department: &str) -> Person {
    Person { department: Some(department.to_owned()), ..Person::test(number) }
}

/// The entry of `person(number, department)`, up to date.
fn entry_in(number: &str, department: &str) -> crate::directory::Entry {
    set(super::harness::entry(number), "department", department)
}

fn group(id: &str, name: &str, key: Option<&str>, members: &[&str]) -> Group {
    Group {
        id: id.to_owned(),
        name: name.to_owned(),
        key: key.map(str::to_owned),
        members: members.iter().map(|m| (*m).to_owned()).collect(),
    }
}

fn groups_of(plan: &Plan) -> &[GroupRow] {
    &plan.groups.as_ref().expect("the directory keeps groups").rows
}

fn group_row<'p>(plan: &'p Plan, name: &str) -> &'p GroupRow {
    groups_of(plan)
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no group {name} in {:#?}", groups_of(plan)))
}

/// The members a row adds and removes: entry ids, or person keys of new entries.
fn ids(members: &[crate::plan::Member]) -> Vec<String> {
    members.iter().map(|m| m.id.clone().or(m.person.clone()).unwrap_or_default()).collect()
}

#[test]
fn a_department_change_moves_a_person_and_a_joiner_joins_once_created() {
    let people = vec![person("E1", "Sales"), person("E2", "Sales"), person("E3", "IT"), person("E4", "IT")];
    let live = vec![entry_in("E1", "Sales"), entry_in("E2", "Sales"), entry_in("E3", "IT")];
    let mut case = Case::new(people, live).config(fixture(&[("departments", DEPARTMENTS)]));
    // E3 moved from Sales to IT; E4 is new.
    case.groups =
        Some(vec![group("g-sales", "dept-sales", Some("hrsync:t/d:departments:sales"), &["E1", "E3"])]);
    let plan = case.plan();
    let sales = group_row(&plan, "dept-sales");
    assert_eq!(sales.action, GroupAction::Update, "{sales:#?}");
    assert_eq!(ids(&sales.add), ["E2"]);
    assert_eq!(ids(&sales.remove), ["E3"]);
    let it = group_row(&plan, "dept-it");
    assert_eq!(it.action, GroupAction::Create, "{it:#?}");
    assert_eq!(it.key, "hrsync:t/d:departments:it");
    assert_eq!(
        ids(&it.add),
        ["E3", "hr:E4"],
        "the joiner by person key: apply takes the id its create returns"
    );
    assert_eq!(it.members, 2);
    let s = &plan.groups.as_ref().unwrap().summary;
    assert_eq!((s.create, s.update, s.members_added, s.members_removed), (1, 1, 3, 1));
    assert_eq!(plan.status, PlanStatus::Ready);
}

#[test]
fn leavers_leave_their_groups_once_disabled_unless_the_definition_keeps_them() {
    let mut leaver = person("E2", "Sales");
    leaver.employment_status = Some(EmploymentStatus::Terminated);
    let people = vec![person("E1", "Sales"), leaver];
    let live = vec![entry_in("E1", "Sales"), entry_in("E2", "Sales")];
    let groups = vec![group("g", "dept-sales", Some("hrsync:t/d:departments:sales"), &["E1", "E2"])];
    let mut case = Case::new(people.clone(), live.clone()).config(fixture(&[("departments", DEPARTMENTS)]));
    case.groups = Some(groups.clone());
    let plan = case.plan();
    assert_eq!(ids(&group_row(&plan, "dept-sales").remove), ["E2"]);

    let keep = format!("{DEPARTMENTS}leavers: keep\n");
    let mut case = Case::new(people, live).config(fixture(&[("departments", &keep)]));
    case.groups = Some(groups);
    let plan = case.plan();
    assert!(groups_of(&plan).iter().all(|r| r.remove.is_empty()), "{:#?}", groups_of(&plan));
}

#[test]
fn what_the_rows_hold_keeps_its_memberships_and_foreign_members_stay() {
    // E2 is hidden by an override: its entry is left exactly as it is, groups too.
    let f = fixture(&[("departments", DEPARTMENTS)]).with(
        "overrides.yaml",
        "version: 1\noverrides:\n  - person: { employee_number: E2 }\n    hide: true\n    reason: external\n",
    );
    let people = vec![person("E1", "Sales"), person("E2", "IT")];
    let mut case = Case::new(people, vec![entry_in("E1", "Sales"), entry_in("E2", "IT")]).config(f);
    case.groups = Some(vec![group(
        "g",
        "dept-sales",
        Some("hrsync:t/d:departments:sales"),
        &["E1", "E2", "svc-backup"],
    )]);
    let plan = case.plan();
    let sales = group_row(&plan, "dept-sales");
    assert!(sales.remove.is_empty() && sales.add.is_empty(), "{sales:#?}");
    assert_eq!(sales.action, GroupAction::Noop);
    // No IT group for the hidden person.
    assert!(groups_of(&plan).iter().all(|r| r.name != "dept-it"), "{:#?}", groups_of(&plan));
}

#[test]
fn a_group_hrsync_does_not_own_is_skipped_with_how_to_hand_it_over() {
    let mut case = Case::new(vec![person("E1", "Sales")], vec![entry_in("E1", "Sales")])
        .config(fixture(&[("departments", DEPARTMENTS)]));
    case.groups = Some(vec![group("g", "DEPT-SALES", None, &[])]);
    let plan = case.plan();
    let sales = group_row(&plan, "dept-sales");
    assert_eq!(sales.action, GroupAction::Skip, "{sales:#?}");
    assert!(
        sales.reasons.join(" ").contains("set its `key` to `hrsync:t/d:departments:sales`"),
        "{sales:#?}"
    );
    assert_eq!(plan.status, PlanStatus::NoChanges, "nothing is written to a group hrsync does not own");
}

#[test]
fn removing_most_of_a_groups_members_is_blocked_until_the_plan_is_approved() {
    let numbers: Vec<String> = (1..=10).map(|n| format!("E{n}")).collect();
    // Six of ten moved to IT.
    let people: Vec<Person> =
        numbers.iter().enumerate().map(|(n, e)| person(e, if n < 6 { "IT" } else { "Sales" })).collect();
    let live =
        numbers.iter().enumerate().map(|(k, e)| entry_in(e, if k < 6 { "IT" } else { "Sales" })).collect();
    let members: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let mut case = Case::new(people, live).config(fixture(&[("departments", DEPARTMENTS)]));
    case.groups = Some(vec![
        group("g-sales", "dept-sales", Some("hrsync:t/d:departments:sales"), &members),
        group("g-it", "dept-it", Some("hrsync:t/d:departments:it"), &[]),
    ]);
    let plan = case.plan();
    assert_eq!(plan.status, PlanStatus::Blocked, "{:?}", plan.blocked_by);
    assert!(
        plan.blocked_by.iter().any(|b| b.contains("removing 6 of 10 members (60.0 %) of group `dept-sales`")),
        "{:?}",
        plan.blocked_by
    );
    case.approvals.insert(plan.id.clone());
    assert_eq!(case.plan().status, PlanStatus::Ready);

    // Leavers leaving their groups are the disables guard's to weigh, not the group's.
    let people: Vec<Person> = numbers
        .iter()
        .enumerate()
        .map(|(n, e)| {
            let mut p = person(e, "Sales");
            if n < 6 {
                p.employment_status = Some(EmploymentStatus::Terminated);
            }
            p
        })
        .collect();
    let live = numbers.iter().map(|e| entry_in(e, "Sales")).collect();
    let mut case = Case::new(people, live).config(fixture(&[("departments", DEPARTMENTS)]));
    case.groups = Some(vec![group("g-sales", "dept-sales", Some("hrsync:t/d:departments:sales"), &members)]);
    let plan = case.plan();
    let sales = group_row(&plan, "dept-sales");
    assert_eq!((sales.remove.len(), sales.leavers), (6, 6), "{sales:#?}");
    assert!(plan.blocked_by.iter().all(|b| !b.contains("of group")), "{:?}", plan.blocked_by);
    assert!(plan.blocked_by.iter().any(|b| b.contains("disables and deletes")), "{:?}", plan.blocked_by);

    // Two removals never block, however small the group.
    let people = vec![person("E1", "IT"), person("E2", "IT"), person("E3", "Sales")];
    let live = vec![entry_in("E1", "IT"), entry_in("E2", "IT"), entry_in("E3", "Sales")];
    let mut case = Case::new(people, live).config(fixture(&[("departments", DEPARTMENTS)]));
    case.groups = Some(vec![
        group("g", "dept-sales", Some("hrsync:t/d:departments:sales"), &["E1", "E2", "E3"]),
        group("g-it", "dept-it", Some("hrsync:t/d:departments:it"), &["E1", "E2"]),
    ]);
    assert_eq!(case.plan().status, PlanStatus::Ready);
}

#[test]
fn an_emptied_group_is_deleted_only_with_delete_empty_and_not_with_foreign_members() {
    let people = vec![person("E1", "Sales")];
    let groups = vec![
        group("g-old", "dept-old", Some("hrsync:t/d:departments:old"), &["E1"]),
        group("g-kept", "dept-kept", Some("hrsync:t/d:departments:kept"), &["E1", "svc"]),
    ];
    let mut case = Case::new(people.clone(), vec![entry_in("E1", "Sales")])
        .config(fixture(&[("departments", DEPARTMENTS)]));
    case.groups = Some(groups.clone());
    let plan = case.plan();
    assert_eq!(group_row(&plan, "dept-old").action, GroupAction::Delete);
    let kept = group_row(&plan, "dept-kept");
    assert_eq!((kept.action, ids(&kept.remove)), (GroupAction::Update, vec!["E1".to_owned()]), "{kept:#?}");

    let no_delete = DEPARTMENTS.replace("delete_empty: true\n", "");
    let mut case =
        Case::new(people, vec![entry_in("E1", "Sales")]).config(fixture(&[("departments", &no_delete)]));
    case.groups = Some(groups);
    let plan = case.plan();
    assert_eq!(group_row(&plan, "dept-old").action, GroupAction::Update);
}

#[test]
fn org_unit_groups_nest_along_the_tree_and_take_the_units_names() {
    let teams = "version: 1\nper: org_unit\nname: \"team-{{ name | ascii | lower }}\"\nnesting: true\n";
    let unit = |id: &str, name: &str, parent: Option<&str>| OrgUnit {
        source: SourceId::new_unchecked("hr"),
        id: id.to_owned(),
        name: name.to_owned(),
        parent: parent.map(str::to_owned),
        location: Default::default(),
    };
    let mut p = Person::test("E1");
    p.org_unit = Some("OU2".into());
    let mut case = Case::new(vec![p], vec![super::harness::entry("E1")]).config(fixture(&[("teams", teams)]));
    case.org_units = vec![unit("OU1", "Engineering", None), unit("OU2", "Platform Ünits", Some("OU1"))];
    case.groups = Some(Vec::new());
    let plan = case.plan();
    let platform = group_row(&plan, "team-platform units");
    assert_eq!(ids(&platform.add), ["E1"]);
    let engineering = group_row(&plan, "team-engineering");
    assert_eq!(engineering.add.len(), 1, "{engineering:#?}");
    assert_eq!(engineering.add[0].group.as_deref(), Some("hrsync:t/d:teams:ou2"));
}

#[test]
fn group_definitions_are_checked_against_the_repository() {
    let problems = |text: &str| match crate::config::load(&fixture(&[("g", text)]).files) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    };
    assert_eq!(problems(DEPARTMENTS), "");
    let p = problems("version: 1\nper: department\nname: dept\n");
    assert!(p.contains("every group of this definition would get the same name"), "{p}");
    let p = problems("version: 1\nname: \"all-{{ value }}\"\n");
    assert!(p.contains("unknown field `value`"), "a static group's name has no value: {p}");
    let p = problems("version: 1\nper: department\nname: \"d-{{ value }}\"\nnesting: true\n");
    assert!(p.contains("`nesting` follows the org-unit tree"), "{p}");
    let p = problems("version: 1\nper: last_name\nname: \"d-{{ value }}\"\n");
    assert!(p.contains("personal data"), "{p}");
    let p = problems("version: 1\nper: department\nname: \"d-{{ first_name }}\"\n");
    assert!(p.contains("unknown name `first_name`"), "{p}");
    let p = problems("version: 1\ndirectories: [nope]\nper: department\nname: \"d-{{ value }}\"\n");
    assert!(p.contains("there is no directory `nope`"), "{p}");
    let p = problems("version: 1\nper: department\nname: \"d-{{ value }}\"\nfilter: nope\n");
    assert!(p.contains("unknown filter `nope`"), "{p}");
    // A directory without `groups:` gets no groups, and its people are planned.
    let bare = Fixture::new().with("groups/g.yaml", DEPARTMENTS);
    let config = bare.config();
    assert!(config.groups[0].directories.is_empty());
    let plan = Case::new(vec![person("E1", "Sales")], Vec::new()).config(bare).plan();
    assert!(plan.groups.is_none());
}

#[test]
fn an_entry_kept_disabled_stays_a_member_and_a_leaver_in_grace_gains_no_group() {
    let f = Fixture::new()
        .directory("leavers: { action: disable, grace_days: 0", "groups: {}\nleavers: { action: disable, grace_days: 5")
        .with("groups/departments.yaml", DEPARTMENTS)
        .with(
            "overrides.yaml",
            "version: 1\noverrides:\n  - person: { employee_number: E1 }\n    keep_disabled: true\n    reason: under investigation\n",
        );
    let mut leaving = person("E2", "IT");
    leaving.employment_status = Some(EmploymentStatus::Terminated);
    let people = vec![person("E1", "Sales"), leaving];
    let mut case = Case::new(people, vec![entry_in("E1", "Sales"), entry_in("E2", "Sales")]).config(f);
    // E2 moved to IT while leaving: still in Sales' group, and not added to IT's.
    case.groups = Some(vec![
        group("g-sales", "dept-sales", Some("hrsync:t/d:departments:sales"), &["E1", "E2"]),
        group("g-it", "dept-it", Some("hrsync:t/d:departments:it"), &[]),
    ]);
    let plan = case.plan();
    assert!(
        groups_of(&plan).iter().all(|r| r.add.is_empty() && r.remove.is_empty()),
        "{:#?}",
        groups_of(&plan)
    );
    // Next run, E1's entry is disabled: still a member, nothing to do.
    let mut off = entry_in("E1", "Sales");
    off.enabled = false;
    case.live[0] = off;
    let plan = case.plan();
    assert!(groups_of(&plan).iter().all(|r| r.remove.is_empty()), "{:#?}", groups_of(&plan));
}

#[test]
fn two_groups_of_one_name_are_never_created_and_a_key_carried_twice_is_named() {
    // `| lower` makes "Sales" and "SALES " one value; `| ascii` makes "Müller" and
    // "Muller" two values of one name.
    let per = "version: 1\nper: team\nname: \"team-{{ value | ascii | lower }}\"\n";
    let people = vec![
        Person { team: Some("Müller".into()), ..Person::test("E1") },
        Person { team: Some("Muller".into()), ..Person::test("E2") },
    ];
    let mut case = Case::new(people, vec![]).config(fixture(&[("teams", per)]));
    case.groups = Some(vec![
        group("g1", "other", Some("hrsync:t/d:teams:x"), &[]),
        group("g2", "other-copy", Some("hrsync:t/d:teams:x"), &[]),
    ]);
    let plan = case.plan();
    let muller: Vec<&GroupRow> = groups_of(&plan).iter().filter(|r| r.name == "team-muller").collect();
    assert_eq!(muller.len(), 2, "{:#?}", groups_of(&plan));
    assert!(muller.iter().all(|r| r.action == GroupAction::Skip), "{muller:#?}");
    assert!(muller[0].reasons.join(" ").contains("another group of this plan would be named"), "{muller:#?}");
    let copy = group_row(&plan, "other-copy");
    assert_eq!(copy.action, GroupAction::Skip);
    assert!(copy.reasons[0].contains("another group (`g1`) carries the same key"), "{copy:#?}");
}

#[test]
fn the_entry_of_a_row_the_source_skipped_keeps_its_groups() {
    // E2's row could not be read: its entry is held, and so are its memberships, though
    // no person of this read matches it.
    let mut case =
        Case::new(vec![person("E1", "Sales")], vec![entry_in("E1", "Sales"), entry_in("E2", "Sales")])
            .config(fixture(&[("departments", DEPARTMENTS)]));
    // E2's entry is disabled already: without the hold it would leave its groups.
    case.live[1].enabled = false;
    case.skipped = vec![super::harness::skipped_row("E2", 3)];
    case.groups = Some(vec![group("g", "dept-sales", Some("hrsync:t/d:departments:sales"), &["E1", "E2"])]);
    let plan = case.plan();
    assert!(groups_of(&plan).iter().all(|r| r.remove.is_empty()), "{:#?}", groups_of(&plan));
    // Without the skipped row, E2 is gone from HR: a leaver, removed once disabled.
    case.skipped.clear();
    let plan = case.plan();
    let sales = group_row(&plan, "dept-sales");
    assert_eq!(ids(&sales.remove), ["E2"], "{sales:#?}");
}
