//! `overrides.yaml` end to end against a real OpenLDAP `slapd`: a hidden person is
//! never created, an override keeps a terminated person's entry exactly as it is until
//! it expires, and the plan and `preview` say why.

use crate::ldap::{example, hrsync};
use crate::slapd::{SUFFIX, Slapd};
use crate::util::{Example, json};

fn numbers(slapd: &Slapd, base: &str) -> Vec<String> {
    slapd
        .search(&format!("{base},{SUFFIX}"), "(objectClass=inetOrgPerson)", &["employeeNumber"])
        .iter()
        .filter_map(|e| {
            e.iter().find(|(k, _)| k.eq_ignore_ascii_case("employeeNumber")).map(|(_, v)| v.clone())
        })
        .collect()
}

#[test]
fn a_hidden_person_is_never_created_and_an_override_holds_a_leaver_until_it_expires() {
    let slapd = Slapd::start();
    let ex = example(&slapd);
    ex.drop_malformed_row();
    std::fs::write(
        ex.path("overrides.yaml"),
        "version: 1\noverrides:\n  - person: { employee_number: \"10005\" }\n    hide: true\n    reason: external accountant, works through the vendor portal\n",
    )
    .unwrap();
    let preview = hrsync(&ex, "2026-11-22T09:00:00Z", &["preview"]);
    assert!(
        preview.stdout.contains("override (overrides.yaml:3): hidden: external accountant"),
        "{preview:?}"
    );
    let out = hrsync(&ex, "2026-11-22T09:00:00Z", &["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    let people = numbers(&slapd, "ou=people");
    assert!(!people.contains(&"10005".to_owned()), "hidden: never created");
    assert_eq!(people.len(), 142, "everyone else is");

    // 10006 leaves in HR; an override holds their entry exactly as it is until 30 November.
    ex.set_german(&["10006"], 7, "Ausgetreten");
    std::fs::write(
        ex.path("overrides.yaml"),
        "version: 1\noverrides:\n  - person: { employee_number: \"10005\" }\n    hide: true\n    reason: external accountant, works through the vendor portal\n  - person: { employee_number: \"10006\" }\n    hide: true\n    reason: handing over the payroll run\n    until: 2026-11-30\n",
    )
    .unwrap();
    let plan = hrsync(&ex, "2026-11-25T09:00:00Z", &["plan", "--format", "json"]);
    let plans = json(&plan.stdout);
    let row = plans[0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reasons"].to_string().contains("handing over the payroll run"))
        .unwrap_or_else(|| panic!("{plan:?}"));
    assert_eq!(row["action"], "skip", "{row}");
    assert_eq!(plans[0]["summary"]["disable"], 0, "{plan:?}");
    assert!(hrsync(&ex, "2026-11-25T09:00:00Z", &["apply"]).stdout.contains("0 disabled"));
    assert!(numbers(&slapd, "ou=people").contains(&"10006".to_owned()));

    // The override expired: validate says so, and the leaver is disabled.
    let validate = hrsync(&ex, "2026-12-01T09:00:00Z", &["validate"]);
    assert!(validate.stdout.contains("warning: overrides.yaml:6: the override for `employee_number` (handing over the payroll run) expired on 2026-11-30 and is ignored: remove it"), "{validate:?}");
    let out = hrsync(&ex, "2026-12-01T09:00:00Z", &["apply"]);
    assert!(out.stdout.contains("1 disabled"), "{out:?}");
    assert_eq!(numbers(&slapd, "ou=disabled"), ["10006"]);
    assert!(!numbers(&slapd, "ou=people").contains(&"10005".to_owned()), "still hidden");
}

#[test]
fn the_examples_commented_overrides_load_and_each_changes_the_rows_it_names() {
    let ex = Example::new();
    let path = ex.path("overrides.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\noverrides: []\n"), "examples/sync-repo/overrides.yaml no longer ships empty");
    let uncommented: String = text
        .lines()
        .map(|l| match l {
            "overrides: []" => "overrides:".to_owned(),
            l if l.starts_with("#  ") && !l.starts_with("#  #") => l[1..].to_owned(),
            l => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&path, uncommented).unwrap();
    let plan = ex.run(&["plan", "--format", "json"]);
    let plans = json(&plan.stdout);
    let rows = plans[0]["rows"].as_array().unwrap();
    let with =
        |words: &str| rows.iter().filter(|r| r["reasons"].to_string().contains(words)).collect::<Vec<_>>();
    for words in [
        "hidden: external accountant",
        "kept disabled: under investigation (ticket SEC-1123)",
        "`title` pinned: board decision of 2026-10-12",
        "not a leaver before 2026-12-31",
    ] {
        assert_eq!(with(words).len(), 1, "{words}: {plan:?}");
    }
    assert_eq!(with("kept disabled")[0]["enabled"]["after"], false, "created disabled");
    assert_eq!(with("hidden: external")[0]["action"], "noop", "never created");
}

#[test]
fn an_override_naming_nobody_is_a_warning_of_validate_online() {
    let ex = Example::new();
    std::fs::write(
        ex.path("overrides.yaml"),
        "version: 1\noverrides:\n  - person: { employee_number: \"99999\" }\n    hide: true\n    reason: a typo\n  - person: { employee_number: \"10005\" }\n    hide: true\n    reason: real\n",
    )
    .unwrap();
    let out = ex.run(&["validate", "--online"]);
    assert!(
        out.stdout.contains(
            "warning: overrides.yaml:3: the override for `employee_number` names nobody the sources hold"
        ),
        "{out:?}"
    );
    assert!(!out.stdout.contains("overrides.yaml:6"), "10005 is in the export: {out:?}");
}
