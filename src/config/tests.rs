//! Validation reports every problem at once, each with file, line, column and a hint.

use super::*;
use crate::config::files::MemFiles;

const WORKSPACE: &str = "version: 1\nworkspace: t\n";
const SOURCE: &str = "version: 1\ntype: csv\npath: p.csv\nfilters: [staff]\n";
const FILTER: &str = "version: 1\ninclude:\n  - { field: employment_status, in: [active] }\n";
const DIRECTORY: &str = "version: 1\ntype: file\nmatch:\n  - { person: employee_number, attribute: employeeNumber }\nfields:\n  employeeNumber: { value: \"{{ employee_number }}\" }\n  cn: { value: \"{{ first_name }} {{ last_name }}\" }\n";

fn repo() -> MemFiles {
    MemFiles::default()
        .with("hrsync.yaml", WORKSPACE)
        .with("sources/hr.yaml", SOURCE)
        .with("filters/staff.yaml", FILTER)
        .with("directories/corp.yaml", DIRECTORY)
}

fn problems(files: &MemFiles) -> Vec<String> {
    match load(files) {
        Ok(_) => Vec::new(),
        Err(ConfigError::Invalid(d)) => d
            .iter()
            .map(|d| {
                format!(
                    "{}:{}:{} {}{}",
                    d.file,
                    d.line,
                    d.column,
                    d.message,
                    d.hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
                )
            })
            .collect(),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_valid_repository_loads() {
    let config = load(&repo()).unwrap();
    assert_eq!(config.sources[0].id.as_str(), "hr");
    assert_eq!(config.directories[0].id.as_str(), "corp");
    assert_eq!(config.directories[0].mode, Mode::Plan, "directories are simulations until turned on");
    assert_eq!(config.fingerprint.len(), 64);
}

#[test]
fn reports_two_mistakes_in_one_file_and_one_in_another() {
    let dir = DIRECTORY
        .replace("cn: { value:", "cn: { valeu: \"x\", value:")
        .replace("{{ last_name }}", "{{ lastname }}");
    let files = repo()
        .with("directories/corp.yaml", &dir)
        .with("sources/hr.yaml", &SOURCE.replace("[staff]", "[stafff]"));
    assert_eq!(
        problems(&files),
        [
            "directories/corp.yaml:7:9 unknown key `valeu` (did you mean `value`?)",
            "directories/corp.yaml:7:49 in template: unknown field `lastname` (did you mean `last_name`?)",
            "sources/hr.yaml:4:11 unknown filter `stafff` (did you mean `staff`?)",
        ]
    );
}

#[test]
fn a_misspelled_only_key_is_reported_once() {
    let dir = DIRECTORY.replace("cn: { value:", "cn: { valeu:");
    let p = problems(&repo().with("directories/corp.yaml", &dir));
    assert_eq!(p, ["directories/corp.yaml:7:9 unknown key `valeu` (did you mean `value`?)"]);
}

#[test]
fn cross_checks_ids_fields_and_match_keys() {
    let dir = DIRECTORY
        .replace("attribute: employeeNumber", "attribute: employeeNum")
        .replace("person: employee_number", "person: employee_numbr");
    let files = repo()
        .with("directories/corp.yaml", &dir)
        .with("directories/other.yaml", &format!("id: corp\n{DIRECTORY}"))
        .with("sources/Bad Name.yaml", SOURCE);
    assert_eq!(
        problems(&files),
        [
            "directories/corp.yaml:4:15 unknown person field `employee_numbr` (did you mean `employee_number`?)",
            "directories/corp.yaml:4:42 match attribute `employeeNum` is not mapped in `fields` (did you mean `employeeNumber`?)",
            "directories/other.yaml:1:5 directory id `corp` is already used by directories/corp.yaml (give each directory its own id)",
            "sources/Bad Name.yaml:1:1 `Bad Name` is not a valid id: use 1 to 63 lowercase letters, digits, `-` or `_`, starting with a letter or digit (rename the file, or set `id:` to a valid source id)",
        ]
    );
}

#[test]
fn reports_bad_yaml_types_and_unknown_kinds() {
    let files = repo()
        .with(
            "hrsync.yaml",
            "version: 1\nworkspace: t\ntimezone: Mars/Olympus\nsafety: { max_disable_percent: lots }\n",
        )
        .with("filters/staff.yaml", "version: 1\ninclude: [ { field: employment_status, in: [active] }\n")
        .with("directories/corp.yaml", "version: 1\ntype: okta\n");
    assert_eq!(
        problems(&files),
        [
            "directories/corp.yaml:2:7 unknown directory type `okta` (this version of hrsync knows: file, ldap, scim, entraid)",
            "filters/staff.yaml:3:1 invalid YAML: did not find expected ',' or ']' (check the indentation and quoting around this position)",
            "hrsync.yaml:3:11 unknown time zone `Mars/Olympus` (use an IANA name such as `Europe/Berlin` or `UTC`)",
            "hrsync.yaml:4:32 expected a number, found a string",
            "sources/hr.yaml:4:11 unknown filter `staff` (create filters/staff.yaml, or remove it from this list)",
        ]
    );
}

#[test]
fn checks_field_definitions_and_filter_rules() {
    let dir = DIRECTORY.replace(
        "  cn: {",
        "  uid: { candidates: [\"{{ first_name }}{{ n }}\"], unique: true }\n  x: { value: \"a\", manager: true }\n  y: { candidates: [\"{{ n }}\"] }\n  cn: {",
    );
    let filter = "version: 1\ninclude:\n  - { field: team }\n  - { field: team, in: [a], present: true }\n";
    let files = repo().with("directories/corp.yaml", &dir).with("filters/staff.yaml", filter);
    let p = problems(&files);
    assert_eq!(p.len(), 5, "{p:#?}");
    assert!(p[0].contains("unique field `uid` must be `mode: import_once`"), "{p:#?}");
    assert!(p[1].contains("more than one of `value`, `candidates`, `manager`"), "{p:#?}");
    assert!(p[2].contains("`{{ n }}` counts only in a `unique: true` field"), "{p:#?}");
    assert!(p[3].starts_with("filters/staff.yaml:3:5 the rule has no test"), "{p:#?}");
    assert!(p[4].starts_with("filters/staff.yaml:4:5 the rule has more than one test"), "{p:#?}");
}

#[test]
fn approvals_must_be_plan_ids_and_hashed_reports_need_a_key() {
    let files =
        repo().with("hrsync.yaml", "version: 1\nworkspace: t\napprovals: [nope]\nreports: { pii: hashed }\n");
    assert_eq!(
        problems(&files),
        [
            "hrsync.yaml:3:13 `nope` is not a plan id (copy the id from the blocked plan: 32 lowercase hex digits)",
            "hrsync.yaml:4:17 `pii: hashed` needs `pii_key` (add `pii_key: ${env:HRSYNC_PII_KEY}` and set that variable)",
        ]
    );
}

#[test]
fn a_missing_workspace_file_says_what_to_do() {
    let files = MemFiles::default();
    let p = problems(&files);
    assert_eq!(
        p,
        [
            "hrsync.yaml:1:1 no hrsync.yaml in memory (point --repo at a sync repository (for example examples/sync-repo))"
        ]
    );
}

#[test]
fn approvals_and_modes_do_not_change_the_fingerprint() {
    let a = load(&repo()).unwrap().fingerprint;
    let id = "0123456789abcdef0123456789abcdef";
    let approved = repo().with("hrsync.yaml", &format!("{WORKSPACE}approvals: [{id}]\n"));
    assert_eq!(load(&approved).unwrap().fingerprint, a);
    let applied = repo().with("directories/corp.yaml", &format!("{DIRECTORY}mode: apply\n"));
    assert_eq!(load(&applied).unwrap().fingerprint, a);
    let changed =
        repo().with("directories/corp.yaml", &DIRECTORY.replace("{{ first_name }}", "{{ preferred_name }}"));
    assert_ne!(load(&changed).unwrap().fingerprint, a);
}

#[test]
fn hostile_documents_are_refused_in_linear_time_with_a_position() {
    // 100,000 nested `[`: YAML parsers spend time per token in the depth (quadratic);
    // the depth check refuses it in one pass, at the bracket that goes too deep.
    let deep = format!("version: 1\ninclude: {}\n", "[".repeat(100_000));
    let found = problems(&repo().with("filters/deep.yaml", &deep));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("filters/deep.yaml:2:74 the document nests deeper than 64 levels"),
        "{found:?}"
    );
    // A quote inside plain text opens nothing, so it cannot hide the brackets after it.
    let sneaky = format!("version: 1\ninclude: [x', {}\n", "[".repeat(100_000));
    let found = problems(&repo().with("filters/deep.yaml", &sneaky));
    assert!(found[0].contains("nests deeper than 64 levels"), "{found:?}");
    let multi = format!("version: 1\ninclude: [\"a\n  b\", {}\n", "[".repeat(100_000));
    assert!(problems(&repo().with("filters/deep.yaml", &multi))[0].contains("nests deeper than 64 levels"));
    let compact = format!("version: 1\ninclude:\n{}x\n", "- ".repeat(100));
    assert!(problems(&repo().with("filters/deep.yaml", &compact))[0].contains("nests deeper than 64 levels"));
    // Brackets in quotes and comments do not count; real nesting does, up to the limit.
    let quoted = format!(
        "version: 1\ninclude:\n  - {{ field: team, in: [\"{}\"] }} # {}\n",
        "[".repeat(500),
        "{".repeat(500)
    );
    assert!(
        problems(&repo().with("filters/staff.yaml", &quoted)).iter().all(|p| !p.contains("nests deeper"))
    );
    let big =
        format!("version: 1\nworkspace: t\n# {}\n", "x".repeat(crate::config::yaml::MAX_DOCUMENT_BYTES));
    let found = problems(&repo().with("hrsync.yaml", &big));
    assert!(
        found[0]
            .starts_with("hrsync.yaml:1:1 the file is 1048603 bytes; a document may have at most 1048576"),
        "{found:?}"
    );
    // Aliases that expand a billion times are refused by the parser.
    let mut laughs =
        vec!["version: 1".to_owned(), "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]".to_owned()];
    for i in 1..9 {
        laughs.push(format!("x{i}: &a{i} [{}]", vec![format!("*a{}", i - 1); 9].join(", ")));
    }
    laughs.push("include: *a8".to_owned());
    let found = problems(&repo().with("filters/deep.yaml", &(laughs.join("\n") + "\n")));
    assert!(found[0].contains("invalid YAML: repetition limit exceeded"), "{found:?}");
}

#[test]
fn two_directories_may_not_manage_the_same_entries() {
    let ldap = |base: &str, marker: &str, move_to: &str| {
        format!(
            "version: 1\ntype: ldap\nconnection: {{ url: ldap://ldap.test }}\nscope:\n  base: \"{base}\"\n  marker: {{ attribute: businessCategory, value: {marker} }}\nentry: {{ rdn: uid }}\ndisable: {{ move_to: \"{move_to}\" }}\nmatch:\n  - {{ person: employee_number, attribute: employeeNumber }}\nfields:\n  uid: {{ value: \"{{{{ employee_number }}}}\" }}\n  employeeNumber: {{ value: \"{{{{ employee_number }}}}\" }}\n"
        )
    };
    let people = "ou=people,dc=acme";
    let files = |b: &str| {
        repo()
            .with("directories/a.yaml", &ldap(people, "hrsync", "ou=disabled,dc=acme"))
            .with("directories/b.yaml", b)
    };
    let found = problems(&files(&ldap("OU=People, dc=acme", "hrsync", "ou=gone,dc=acme")));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("directories/b.yaml:"), "{found:?}");
    assert!(found[0].contains("directories `a` and `b` would manage the same entries"), "{found:?}");
    // A subtree inside the other's, or a disable container inside the other's scope.
    assert_eq!(problems(&files(&ldap("ou=berlin,ou=people,dc=acme", "hrsync", "ou=x,dc=acme"))).len(), 1);
    assert_eq!(problems(&files(&ldap("dc=acme", "hrsync", "ou=x,dc=acme"))).len(), 1);
    assert_eq!(problems(&files(&ldap("ou=staff,dc=acme", "hrsync", "ou=people,dc=acme"))).len(), 1);
    // One disable container for both, a base inside the other's container, or markers on
    // two attributes (an entry may carry both): they would manage each other's entries.
    assert_eq!(problems(&files(&ldap("ou=staff,dc=acme", "hrsync", "ou=disabled,dc=acme"))).len(), 1);
    assert_eq!(problems(&files(&ldap("ou=old,ou=disabled,dc=acme", "hrsync", "ou=x,dc=acme"))).len(), 1);
    let other_attribute =
        ldap(people, "hrsync-b", "ou=disabled,dc=acme").replace("businessCategory", "description");
    assert_eq!(problems(&files(&other_attribute)).len(), 1);
    // Their own marker values, or trees apart: fine.
    assert!(problems(&files(&ldap(people, "hrsync-b", "ou=disabled,dc=acme"))).is_empty());
    assert!(problems(&files(&ldap("ou=staff,dc=acme", "hrsync", "ou=staff-disabled,dc=acme"))).is_empty());
}

#[test]
fn allowances_name_a_directory_a_date_a_figure_and_a_reason() {
    let good = format!(
        "{WORKSPACE}allowances:\n  - {{ directory: corp, max_disables: 300, until: \"2026-12-05\", reason: closing the Lyon office }}\n"
    );
    let config = load(&repo().with("hrsync.yaml", &good)).unwrap();
    let a = &config.workspace.allowances[0];
    assert_eq!((a.directory.as_str(), a.max_disables, a.line), ("corp", Some(300), 4));
    assert_eq!(a.until, jiff::civil::date(2026, 12, 5));
    let fingerprint = load(&repo()).unwrap().fingerprint;
    assert_eq!(config.fingerprint, fingerprint, "an allowance does not change plan ids");

    let bad = format!(
        "{WORKSPACE}allowances:\n  - {{ directory: hr, max_disables: 3, until: \"2026-12-05\", reason: x }}\n  - {{ directory: corp, until: \"5.12.2026\", reason: \" \" }}\n"
    );
    assert_eq!(
        problems(&repo().with("hrsync.yaml", &bad)),
        [
            "hrsync.yaml:4:18 there is no directory `hr` (the directories are: corp)",
            "hrsync.yaml:5:5 an allowance without `max_disables` or `max_updates` allows nothing (give the most disables (and deletes) or updates it allows)",
            "hrsync.yaml:5:31 `5.12.2026` is not a date (write the last day it holds as `YYYY-MM-DD`)",
            "hrsync.yaml:5:52 an allowance needs a reason (say why, as the reviewers agreed)",
        ]
    );
}

#[test]
fn values_of_a_closed_field_are_checked_in_sources_and_filters() {
    // An employment status hrsync does not have would skip every row that maps to it
    // (a source's `values`) or match nobody (a filter): refused when loading instead.
    let source = format!("{SOURCE}values:\n  employment_status: {{ Aktiv: actve, Weg: Terminated }}\n");
    let filter = "version: 1\ninclude:\n  - { field: employment_status, in: [active, pendng] }\nexclude:\n  - { field: employment_status, not_in: [zzz] }\n  - { field: employment_type, in: [anything] }\n";
    let files = repo().with("sources/hr.yaml", &source).with("filters/staff.yaml", filter);
    let expected = "is not an employment status: expected one of `active`, `pending`, `leave`, `terminated`";
    assert_eq!(
        problems(&files),
        [
            format!("filters/staff.yaml:3:46 `pendng` {expected} (did you mean `pending`?)"),
            format!("filters/staff.yaml:5:42 `zzz` {expected}"),
            format!("sources/hr.yaml:6:31 `actve` {expected} (did you mean `active`?)"),
        ]
    );
}
