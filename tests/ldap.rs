//! The `ldap` directory against a real OpenLDAP `slapd` started for each test: the
//! example's 148 people synced into `ou=people`, then movers, leavers, names full of
//! DN metacharacters, TLS, preconditions, ownership and the Active Directory flavour.

use std::process::Command;

use crate::slapd::{ADMIN, PASSWORD, SUFFIX, Slapd};
use crate::util::{Example, Run, example_directory, json};

/// The variable `examples/directories/openldap.yaml` reads the bind password from.
const ENV: &str = "LDAP_PASSWORD";

/// The example repository with `examples/directories/openldap.yaml` pointed at `slapd`.
pub fn example(slapd: &Slapd) -> Example {
    Example::with_directory(
        "openldap.yaml",
        &[
            ("ldaps://ldap.acme.example:636", &slapd.url()),
            ("cn=hrsync,ou=services,dc=acme,dc=example", ADMIN),
        ],
    )
}

/// Runs hrsync with the bind password in the environment.
pub fn hrsync(ex: &Example, now: &str, args: &[&str]) -> Run {
    ex.run_with((ENV, PASSWORD), now, args)
}

const NOW: &str = "2026-11-22T09:00:00Z";

fn people(slapd: &Slapd) -> Vec<Vec<(String, String)>> {
    slapd.search(&format!("ou=people,{SUFFIX}"), "(objectClass=inetOrgPerson)", &["*"])
}

fn attr<'a>(entry: &'a [(String, String)], name: &str) -> Option<&'a str> {
    entry.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn by_number<'a>(entries: &'a [Vec<(String, String)>], number: &str) -> &'a [(String, String)] {
    entries
        .iter()
        .find(|e| attr(e, "employeeNumber") == Some(number))
        .unwrap_or_else(|| panic!("no entry for {number}"))
}

#[test]
fn a_full_sync_then_nothing_to_do() {
    let slapd = Slapd::start();
    let ex = example(&slapd);
    let first = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stdout.contains("Applied to `corp`: 143 created, 0 updated"), "{first:?}");

    let entries = people(&slapd);
    assert_eq!(entries.len(), 143);
    let dns: Vec<&str> = entries.iter().map(|e| attr(e, "dn").unwrap()).collect();
    // Managers are DNs of entries created in the same run.
    let ceo = by_number(&entries, "10001");
    let cto = by_number(&entries, "10002");
    assert_eq!(attr(cto, "manager"), attr(ceo, "dn"));
    let with_manager = entries.iter().filter(|e| attr(e, "manager").is_some()).count();
    assert!(with_manager > 130, "{with_manager}");
    for e in &entries {
        if let Some(m) = attr(e, "manager") {
            assert!(dns.iter().any(|d| d.eq_ignore_ascii_case(m)), "dangling manager {m}");
        }
        assert_eq!(attr(e, "businessCategory"), Some("hrsync:acme/corp"));
    }
    assert_eq!(attr(ceo, "dn"), Some("uid=katharina.vonderheide,ou=people,dc=acme,dc=example"));
    // Namesakes got numbered uids.
    assert!(entries.iter().any(|e| attr(e, "uid").is_some_and(|u| u.ends_with('2'))));

    let second = hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]);
    assert_eq!(second.code, 0, "the second run writes nothing: {second:?}");
}

#[test]
fn a_mover_changes_exactly_what_hr_changed() {
    let slapd = Slapd::start();
    let ex = example(&slapd);
    assert_eq!(hrsync(&ex, NOW, &["apply"]).code, 0);
    // 10050 moves to Finance under the CFO (10003), with a new title (import_once).
    ex.set_german(&["10050"], 4, "DE-FIN");
    ex.set_german(&["10050"], 5, "Treasurer");
    ex.set_german(&["10050"], 6, "10003");
    let plan = json(&hrsync(&ex, NOW, &["plan", "--format", "json", "--pii", "full"]).stdout);
    let rows: Vec<_> = plan[0]["rows"].as_array().unwrap().iter().filter(|r| r["action"] != "noop").collect();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let attrs: Vec<&str> =
        rows[0]["changes"].as_array().unwrap().iter().map(|c| c["attribute"].as_str().unwrap()).collect();
    assert_eq!(attrs, ["departmentNumber", "ou", "manager"]);
    let applied = hrsync(&ex, NOW, &["apply"]);
    assert!(applied.stdout.contains("0 created, 1 updated"), "{applied:?}");
    let entries = people(&slapd);
    let mover = by_number(&entries, "10050");
    assert_eq!(attr(mover, "ou"), Some("Finanzen"));
    assert_eq!(attr(mover, "departmentNumber"), Some("DE-FIN"));
    assert_eq!(attr(mover, "manager"), attr(by_number(&entries, "10003"), "dn"));
    assert_ne!(attr(mover, "title"), Some("Treasurer"), "title is import_once");
    assert_eq!(hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn a_leaver_is_moved_to_the_disabled_ou_then_deleted() {
    let slapd = Slapd::start();
    let ex = example(&slapd);
    assert_eq!(hrsync(&ex, NOW, &["apply"]).code, 0);
    ex.set_german(&["10060"], 10, "30.11.2026");
    let disabled = hrsync(&ex, "2026-12-01T08:00:00Z", &["apply"]);
    assert!(disabled.stdout.contains("1 disabled"), "{disabled:?}");
    let moved = slapd.search(&format!("ou=disabled,{SUFFIX}"), "(employeeNumber=10060)", &["dn"]);
    assert_eq!(moved.len(), 1, "moved into ou=disabled");
    assert!(slapd.search(&format!("ou=people,{SUFFIX}"), "(employeeNumber=10060)", &["dn"]).is_empty());
    // Still known (and not re-enabled) while disabled.
    assert_eq!(hrsync(&ex, "2026-12-15T08:00:00Z", &["plan", "--detailed-exitcode"]).code, 0);
    let deleted = hrsync(&ex, "2026-12-31T08:00:00Z", &["apply"]);
    assert!(deleted.stdout.contains("1 deleted"), "{deleted:?}");
    assert!(slapd.search(SUFFIX, "(employeeNumber=10060)", &["dn"]).is_empty());
}

#[test]
fn a_leaver_by_absence_keeps_their_leave_date_when_moved() {
    // 10060 leaves the export: disabled and moved on 2026-12-01, so deleted 30 days on,
    // although their entry has another DN since the move.
    let slapd = Slapd::start();
    let ex = example(&slapd);
    ex.drop_malformed_row();
    assert_eq!(hrsync(&ex, NOW, &["apply"]).code, 0);
    ex.edit_germany(|_, line| (!line.starts_with("10060;")).then(|| line.to_owned()));
    let disabled = hrsync(&ex, "2026-12-01T08:00:00Z", &["apply"]);
    assert!(disabled.stdout.contains("1 disabled"), "{disabled:?}");
    assert_eq!(slapd.search(&format!("ou=disabled,{SUFFIX}"), "(employeeNumber=10060)", &["dn"]).len(), 1);
    let deleted = hrsync(&ex, "2026-12-31T08:00:00Z", &["apply"]);
    assert!(deleted.stdout.contains("1 deleted"), "the delete counts from the day they left: {deleted:?}");
    assert!(slapd.search(SUFFIX, "(employeeNumber=10060)", &["dn"]).is_empty());
}

#[test]
fn names_with_dn_metacharacters_and_accents() {
    let slapd = Slapd::start();
    let ex = example(&slapd);
    // Named by cn this time, so the name goes into the DN.
    let dir = ex.path("directories/corp.yaml");
    let text = std::fs::read_to_string(&dir).unwrap().replace("entry: { rdn: uid }", "entry: { rdn: cn }");
    std::fs::write(&dir, text).unwrap();
    let csv = ex.path("data/germany.csv");
    let header = std::fs::read_to_string(&csv).unwrap().lines().next().unwrap().to_owned();
    // Every character RFC 4514 escapes, in CSV quoting.
    let weird = "19001;\"Zoë \"\"Zo\"\" <Ž>\";\"O'Brien, Jr. + Söhne; (Ltd=1\\2*)\";weird@acme.example;DE-EXE;Chief;;Aktiv;Festangestellt;01.01.2020;;Berlin;ACME GmbH;";
    std::fs::write(&csv, format!("{header}\n{weird}\n")).unwrap();
    std::fs::write(ex.path("data/france.json"), r#"{"employees": [], "services": []}"#).unwrap();
    let src = ex.path("sources/france.yaml");
    let text = std::fs::read_to_string(&src).unwrap().replace("priority: 10", "priority: 10\nenabled: false");
    std::fs::write(&src, text).unwrap();

    let out = hrsync(&ex, NOW, &["apply"]);
    assert!(out.stdout.contains("1 created"), "{out:?}");
    let entries = people(&slapd);
    assert_eq!(entries.len(), 1);
    let cn = "Zoë \"Zo\" <Ž> O'Brien, Jr. + Söhne; (Ltd=1\\2*)";
    assert_eq!(attr(&entries[0], "cn"), Some(cn));
    let dn = attr(&entries[0], "dn").unwrap();
    assert!(dn.ends_with(",ou=people,dc=acme,dc=example"), "{dn}");
    assert_eq!(hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]).code, 0, "and found again");
}

#[test]
fn entries_outside_the_scope_or_not_owned_are_untouched() {
    let slapd = Slapd::start();
    // Someone else's account inside ou=people (no marker), and one outside the scope
    // whose employee number is the CEO's.
    slapd.ldapadd(&format!(
        "dn: uid=svc-backup,ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: svc-backup\ncn: Backup\nsn: Backup\nemployeeNumber: 99999\n\n\
dn: uid=printer,ou=services,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: printer\ncn: Printer\nsn: Printer\nemployeeNumber: 10001\n"
    ));
    let ex = example(&slapd);
    let first = hrsync(&ex, NOW, &["apply"]);
    assert!(first.stdout.contains("143 created"), "the CEO is not matched outside the scope: {first:?}");
    // Everyone in Germany but the CEO leaves; the mass disable is approved.
    ex.edit_germany(|i, line| (i == 1).then(|| line.to_owned()));
    let id =
        json(&hrsync(&ex, NOW, &["plan", "--format", "json"]).stdout)[0]["id"].as_str().unwrap().to_owned();
    let out = hrsync(&ex, NOW, &["apply", "--approve", &id]);
    assert_eq!(out.code, 0, "{out:?}");
    // 97 German entries leave; Camille, still employed in France, is updated from her
    // French record now that the German one (of higher priority) is gone.
    assert!(out.stdout.contains("0 created, 1 updated, 97 disabled"), "{out:?}");
    let svc = slapd.search(&format!("ou=people,{SUFFIX}"), "(uid=svc-backup)", &["*"]);
    assert_eq!(svc.len(), 1, "not owned: never disabled or moved");
    assert_eq!(attr(&svc[0], "businessCategory"), None, "not taken over either");
    let printer = slapd.search(&format!("ou=services,{SUFFIX}"), "(uid=printer)", &["*"]);
    assert_eq!(attr(&printer[0], "cn"), Some("Printer"));
    assert_eq!(printer[0].len(), 6, "untouched: {printer:?}");
}

#[test]
fn tls_and_starttls_with_a_ca_file() {
    let slapd = Slapd::start();
    let ca = slapd.ca();
    for (url, starttls) in [(slapd.tls_url(), "false"), (slapd.url(), "true")] {
        let ex = example(&slapd);
        let dir = ex.path("directories/corp.yaml");
        let text = std::fs::read_to_string(&dir).unwrap().replace(
            &format!("  url: {}\n", slapd.url()),
            &format!("  url: {url}\n  starttls: {starttls}\n  ca_file: {}\n", ca.display()),
        );
        std::fs::write(&dir, text).unwrap();
        let out = hrsync(&ex, NOW, &["validate", "--online"]);
        assert_eq!(out.code, 0, "{url} starttls={starttls}: {out:?}");
        assert!(out.stdout.contains("directory `corp`: ok"), "{out:?}");
    }
    // Without the CA the server is not trusted.
    let ex = example(&slapd);
    let dir = ex.path("directories/corp.yaml");
    let text = std::fs::read_to_string(&dir).unwrap().replace(&slapd.url(), &slapd.tls_url());
    std::fs::write(&dir, text).unwrap();
    let out = hrsync(&ex, NOW, &["validate", "--online"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("directory `corp`: FAILED"), "{out:?}");
}

#[test]
fn a_wrong_password_fails_clearly_and_never_prints_the_secret() {
    let slapd = Slapd::start();
    let ex = example(&slapd);
    let repo = ex.repo();
    let out = Command::new(env!("CARGO_BIN_EXE_hrsync"))
        .args(["--repo", repo.to_str().unwrap(), "--now", NOW, "plan", "-vv"])
        .env(ENV, "not-the-password-xyz")
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("cannot bind as `cn=admin,dc=acme,dc=example`"), "{all}");
    assert!(!all.contains("not-the-password-xyz"), "{all}");
}

#[test]
fn a_write_against_a_changed_entry_fails_for_that_entry_only() {
    let slapd = Slapd::start();
    let ex = example(&slapd);
    assert_eq!(hrsync(&ex, NOW, &["apply"]).code, 0);
    ex.set_german(&["10050", "10051"], 4, "DE-FIN");
    // The library, with the password in a file, so the test can act between plan and apply.
    ex.secret_in_file(ENV, PASSWORD);
    let applied = ex.race_the_plan(NOW, || {
        // Someone edits one of the two entries after the plan was made.
        let target = attr(by_number(&people(&slapd), "10050"), "dn").unwrap().to_owned();
        let ldif =
            format!("dn: {target}\nchangetype: modify\nreplace: departmentNumber\ndepartmentNumber: HAND\n");
        let path = slapd.dir.path().join("modify.ldif");
        std::fs::write(&path, ldif).unwrap();
        let status = Command::new("ldapmodify")
            .args(["-x", "-H", &slapd.url(), "-D", ADMIN, "-w", PASSWORD, "-f"])
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    });
    assert_eq!((applied.updated, applied.failed), (1, 1), "{:#?}", applied.items);
    let failed = applied.items.iter().find(|i| i.status != hrsync::apply::ItemStatus::Done).unwrap();
    assert!(format!("{:?}", failed.status).contains("changed since the plan was made"), "{failed:?}");
    // The hand edit was not overwritten blindly; the next run plans it again and converges.
    assert_eq!(attr(by_number(&people(&slapd), "10050"), "departmentNumber"), Some("HAND"));
    let out = hrsync(&ex, NOW, &["apply"]);
    assert!(out.stdout.contains("1 updated"), "{out:?}");
    assert_eq!(attr(by_number(&people(&slapd), "10050"), "departmentNumber"), Some("DE-FIN"));
}

#[test]
fn the_active_directory_flavour_disables_through_user_account_control() {
    let slapd = Slapd::start();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    for d in ["sources", "directories", "data"] {
        std::fs::create_dir_all(repo.join(d)).unwrap();
    }
    std::fs::write(repo.join("hrsync.yaml"), "version: 1\nworkspace: ad\ntimezone: Europe/Berlin\nsafety: { max_disable_percent: 100, max_update_percent: 100 }\n").unwrap();
    std::fs::write(repo.join("sources/hr.yaml"), "version: 1\ntype: csv\npath: data/hr.csv\n").unwrap();
    let write_csv = |rows: &str| {
        std::fs::write(
            repo.join("data/hr.csv"),
            format!(
                "employee_number,first_name,last_name,work_email,job_title,org_unit,manager,end_date\n{rows}"
            ),
        )
        .unwrap()
    };
    write_csv(
        "1,Ada,Lovelace,ada@acme.example,CEO,Board,,\n2,Grace,Hopper,grace@acme.example,CTO,Engineering,1,2026-12-31\n3,Alan,Turing,alan@acme.example,Engineer,Engineering,2,\n",
    );
    std::fs::write(
        repo.join("directories/ad.yaml"),
        example_directory(
            "active-directory.yaml",
            &[
                ("ldaps://dc01.acme.example:636", &slapd.tls_url()),
                ("/etc/ssl/certs/acme-root-ca.pem", slapd.ca().to_str().unwrap()),
                ("CN=svc-hrsync,OU=Service Accounts,DC=acme,DC=example", ADMIN),
                ("OU=Staff,DC=acme,DC=example", &format!("ou=people,{SUFFIX}")),
                ("AD_PASSWORD", ENV),
                // OpenLDAP's AD-like schema has no objectCategory (the Samba tests run
                // the example as it is).
                (
                    "filter: \"(&(objectCategory=person)(objectClass=user))\"",
                    "filter: \"(objectClass=user)\"",
                ),
            ],
        ),
    )
    .unwrap();
    let run = |now: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_hrsync"))
            .args(["--repo", repo.to_str().unwrap(), "--now", now, "apply"])
            .env(ENV, PASSWORD)
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{text}");
        text
    };
    let users = || slapd.search(&format!("ou=people,{SUFFIX}"), "(objectClass=user)", &["*"]);
    let by = |entries: &[Vec<(String, String)>], id: &str| -> Vec<(String, String)> {
        entries.iter().find(|e| attr(e, "employeeID") == Some(id)).cloned().unwrap()
    };

    let created = run(NOW);
    assert!(created.contains("3 created"), "{created}");
    let entries = users();
    assert_eq!(entries.len(), 3);
    let grace = by(&entries, "2");
    assert_eq!(attr(&grace, "userAccountControl"), Some("512"));
    // A random initial password in unicodePwd (quoted UTF-16LE), to change at first sign-in.
    let mut passwords = std::collections::BTreeSet::new();
    for e in &entries {
        use base64::Engine as _;
        assert_eq!(attr(e, "pwdLastSet"), Some("0"));
        let value = attr(e, "unicodePwd").unwrap_or_else(|| panic!("{e:?}"));
        let bytes = match value.strip_prefix("base64:") {
            Some(encoded) => base64::engine::general_purpose::STANDARD.decode(encoded).unwrap(),
            None => value.as_bytes().to_vec(),
        };
        let units: Vec<u16> = bytes.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        let quoted = String::from_utf16(&units).unwrap();
        let password = quoted.strip_prefix('"').and_then(|p| p.strip_suffix('"')).unwrap().to_owned();
        assert_eq!(password.chars().count(), 24);
        assert!(!created.contains(&password), "never printed");
        passwords.insert(password);
    }
    assert_eq!(passwords.len(), 3);
    assert_eq!(attr(&grace, "sAMAccountName"), Some("ghopper"));
    assert_eq!(attr(&grace, "userPrincipalName"), Some("grace@acme.example"));
    assert_eq!(attr(&grace, "accountExpires"), Some("134432352000000000"), "the end of 2026-12-31, UTC");
    assert_eq!(attr(&by(&entries, "1"), "accountExpires"), Some("0"), "never");
    assert_eq!(attr(&by(&entries, "3"), "manager"), attr(&grace, "dn"));

    // Grace leaves: the account is disabled in place, the other flags kept.
    let disabled = run("2027-01-02T08:00:00Z");
    assert!(disabled.contains("1 disabled"), "{disabled}");
    let grace = by(&users(), "2");
    assert_eq!(attr(&grace, "userAccountControl"), Some("514"));
    // Rehired: enabled again.
    write_csv(
        "1,Ada,Lovelace,ada@acme.example,CEO,Board,,\n2,Grace,Hopper,grace@acme.example,CTO,Engineering,1,\n3,Alan,Turing,alan@acme.example,Engineer,Engineering,2,\n",
    );
    let enabled = run("2027-01-03T08:00:00Z");
    assert!(enabled.contains("1 updated"), "{enabled}");
    let grace = by(&users(), "2");
    assert_eq!(attr(&grace, "userAccountControl"), Some("512"));
    assert_eq!(attr(&grace, "accountExpires"), Some("0"));
}

#[test]
fn validate_online_checks_mapped_attributes_against_the_subschema() {
    let slapd = Slapd::start();
    let ex = example(&slapd);
    let out = hrsync(&ex, NOW, &["validate", "--online"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("every mapped attribute is in its schema"), "{out:?}");
    ex.edit_directory("fields:\n", "fields:\n  favouriteColour: { value: \"{{ first_name }}\" }\n");
    ex.edit_directory(
        "entry: { rdn: uid }",
        "entry: { rdn: uid, object_classes: [inetOrgPerson, acmePerson] }",
    );
    let out = hrsync(&ex, NOW, &["validate", "--online"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("attribute `favouriteColour` is not in the server's schema"), "{out:?}");
    assert!(out.stdout.contains("object class `acmePerson` is not in the server's schema"), "{out:?}");
    assert!(!out.stdout.contains("`givenName`"), "only what is missing: {out:?}");
}

#[test]
fn a_create_the_server_refuses_fails_alone_and_the_rest_is_written() {
    // Issue 10, case 2: named by cn, one person's name is longer than back-mdb takes
    // in a DN; the server answers that create with resultCode 80 ("other").
    let slapd = Slapd::start();
    let ex = example(&slapd);
    let dir = ex.path("directories/corp.yaml");
    let text = std::fs::read_to_string(&dir).unwrap().replace("entry: { rdn: uid }", "entry: { rdn: cn }");
    std::fs::write(&dir, text).unwrap();
    let long = "L".repeat(600);
    ex.set_german(&["10040"], 2, &long);
    let out = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(out.code, 1, "an item failed: {out:?}");
    let failure = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error: create germany:10…40"))
        .expect("the long name's create");
    assert!(failure.ends_with("the directory refused the change: LDAP result 80, other"), "{failure}");
    assert!(!out.stderr.contains("not attempted"), "nothing else stopped: {out:?}");
    assert!(!out.stderr.contains("already exists"), "namesakes are caught when planning: {out:?}");
    // Issue 10, case 4: namesakes would take one DN twice; the plan skips the later
    // creates as collisions (the example has 5), so only the refused create fails.
    assert!(out.stdout.contains("137 created, 0 updated, 0 disabled, 0 deleted, 1 failed"), "{out:?}");
    assert_eq!(people(&slapd).len(), 137);
    let again = json(&hrsync(&ex, NOW, &["plan", "--format", "json", "--pii", "full"]).stdout);
    assert_eq!(again[0]["summary"]["create"], 1, "the refused create is planned again, and only it");
    let collisions: Vec<&serde_json::Value> = again[0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x.as_str().unwrap().starts_with("collision: this entry would have the `cn`"))
        })
        .collect();
    assert_eq!(collisions.len(), 5, "{collisions:#?}");
    assert!(
        collisions.iter().all(|r| r["action"] == "skip"
            && r["collides_with"]["entry"].as_str().is_some_and(|dn| dn.starts_with("cn="))),
        "{collisions:#?}"
    );
}

#[test]
fn reports_of_a_manager_whose_create_failed_are_written_without_them_and_get_them_next_run() {
    // Named by cn, the head of the company (10001, everyone's manager up the chain) gets
    // a name the server refuses in a DN: their create fails, their reports' do not.
    let slapd = Slapd::start();
    let ex = example(&slapd);
    ex.edit_directory("entry: { rdn: uid }", "entry: { rdn: cn }");
    let original = std::fs::read_to_string(ex.path("data/germany.csv")).unwrap();
    ex.set_german(&["10001"], 2, &"L".repeat(600));
    let out = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.lines().any(|l| l.starts_with("error: create germany:10…01")), "{out:?}");
    let unset: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: create ") && l.contains("the manager was left unset"))
        .collect();
    assert!(!unset.is_empty(), "{out:?}");
    let entries = people(&slapd);
    let report = by_number(&entries, "10002");
    assert_eq!(attr(report, "manager"), None, "written without the manager");
    std::fs::write(ex.path("data/germany.csv"), original).unwrap();
    let again = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(again.code, 0, "{again:?}");
    let entries = people(&slapd);
    assert_eq!(attr(by_number(&entries, "10002"), "manager"), attr(by_number(&entries, "10001"), "dn"));
}

/// A TCP proxy in front of `target` that cuts its first connection once `after` bytes
/// went from the client to the server, as a reset mid-apply would; later connections
/// pass untouched. Its threads end with the connections (and the test process).
fn cutting_proxy(
    target: std::net::SocketAddr,
    after: usize,
) -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let cut = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            counted.fetch_add(1, Ordering::SeqCst);
            let Ok(server) = TcpStream::connect(target) else { return };
            let first = !cut.swap(true, Ordering::SeqCst);
            let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut s_read, mut c_write) = (server, client);
            let (c_shut, s_shut) = (c_write.try_clone().unwrap(), s_write.try_clone().unwrap());
            std::thread::spawn(move || {
                let mut sent = 0;
                let mut buf = [0u8; 8192];
                while let Ok(n) = c_read.read(&mut buf) {
                    if n == 0 || s_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                    if first && sent >= after {
                        let _ = c_shut.shutdown(Shutdown::Both);
                        let _ = s_shut.shutdown(Shutdown::Both);
                        break;
                    }
                }
                let _ = s_write.shutdown(Shutdown::Write);
            });
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = s_read.read(&mut buf) {
                    if n == 0 || c_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = c_write.shutdown(Shutdown::Write);
            });
        }
    });
    (addr, accepted)
}

#[test]
fn a_connection_cut_mid_apply_is_reopened_and_the_apply_goes_on() {
    // Issue 10, case 3: one TCP reset in the middle of 143 creates.
    let slapd = Slapd::start();
    let url = slapd.url();
    let target: std::net::SocketAddr =
        url.trim_start_matches("ldap://").trim_end_matches('/').parse().unwrap();
    // The first connection (the read's, then a quarter of the writes: four connections
    // share them) is cut about a dozen creates in.
    let (proxy, connections) = cutting_proxy(target, 10_000);
    let ex = Example::with_directory(
        "openldap.yaml",
        &[
            ("ldaps://ldap.acme.example:636", &format!("ldap://{proxy}")),
            ("cn=hrsync,ou=services,dc=acme,dc=example", ADMIN),
        ],
    );
    let out = hrsync(&ex, NOW, &["apply"]);
    assert!(!out.stderr.contains("not attempted"), "the apply went on: {out:?}");
    assert!(
        out.stderr.contains("LDAP write interrupted; trying again"),
        "the cut happened mid-apply: {out:?}"
    );
    let applied = out.stdout.lines().find(|l| l.starts_with("Applied to `corp`")).expect("applied");
    // The creates whose answers were lost in the cut (several were in flight on that
    // connection) find their DN taken when sent again, holding what they sent: their
    // own first try, so created.
    assert!(applied.contains("143 created, 0 updated, 0 disabled, 0 deleted, 0 failed"), "{out:?}");
    assert_eq!(people(&slapd).len(), 143, "every entry once");
    // The pool's four connections, and the one cut opened again.
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 5, "{out:?}");
    let again = hrsync(&ex, NOW, &["apply"]);
    assert!(again.stdout.contains("0 created") || again.stdout.contains("No changes"), "{again:?}");
    assert_eq!(people(&slapd).len(), 143, "no duplicate");
}

#[test]
fn a_missing_disable_container_is_found_by_validate_online_and_named_by_the_apply() {
    // Issue 10, case 5: `disable: { move_to: ... }` names an OU that does not exist.
    let slapd = Slapd::start();
    let ex = example(&slapd);
    ex.edit_directory("ou=disabled,dc=acme,dc=example", "ou=gone,dc=acme,dc=example");
    let out = hrsync(&ex, NOW, &["validate", "--online"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("the container `ou=gone,dc=acme,dc=example` that `disable.move_to` names does not exist: create it"),
        "{out:?}"
    );
    assert_eq!(hrsync(&ex, NOW, &["apply"]).code, 0);
    ex.edit_germany(|_, line| {
        (!line.starts_with("10060;") && !line.starts_with("10103;")).then(|| line.to_owned())
    });
    let plan = hrsync(&ex, NOW, &["plan", "--pii", "full"]);
    assert!(
        plan.stdout.contains("disables by moving the entry to `ou=gone,dc=acme,dc=example`"),
        "the plan shows the move: {plan:?}"
    );
    assert!(
        plan.stdout.contains(
            "the container `ou=gone,dc=acme,dc=example` that `disable.move_to` names does not exist, so this move will fail: create it"
        ),
        "the plan says the move will fail: {plan:?}"
    );
    let out = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(
            "the container `ou=gone,dc=acme,dc=example` it is moved to, does not exist (LDAP result 32)"
        ),
        "{out:?}"
    );
}

#[test]
fn a_second_repository_on_the_same_tree_leaves_the_first_ones_entries_alone() {
    // Issue 10, item 5: two repositories (workspaces `acme` and `other`) share one tree,
    // its `ou=disabled` and the marker attribute. `other` lists only three people.
    let slapd = Slapd::start();
    let first = example(&slapd);
    assert_eq!(hrsync(&first, NOW, &["apply"]).code, 0);
    let second = example(&slapd);
    let workspace = std::fs::read_to_string(second.path("hrsync.yaml")).unwrap();
    std::fs::write(second.path("hrsync.yaml"), workspace.replace("workspace: acme", "workspace: other"))
        .unwrap();
    second.edit_germany(|i, line| (i <= 3).then(|| line.to_owned()));
    std::fs::write(second.path("data/france.json"), "[]").unwrap();
    std::fs::remove_file(second.path("sources/france.yaml")).unwrap();
    let plans = json(&hrsync(&second, NOW, &["plan", "--format", "json", "--pii", "full"]).stdout);
    let plan = &plans[0];
    assert_eq!(
        (
            plan["summary"]["create"].as_u64(),
            plan["summary"]["disable"].as_u64(),
            plan["summary"]["delete"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{:#}",
        plan["summary"]
    );
    let skips: Vec<&serde_json::Value> =
        plan["rows"].as_array().unwrap().iter().filter(|r| r["action"] == "skip").collect();
    assert!(!skips.is_empty());
    assert!(
        skips.iter().all(|r| r["reasons"].as_array().unwrap().iter().any(|x| x
            .as_str()
            .unwrap()
            .starts_with(
                "owned by another configuration: the entry's `businessCategory` names `acme/corp`"
            ))),
        "{skips:#?}"
    );
    assert_eq!(plan["summary"]["unmanaged"], 143 - skips.len() as u64, "{:#}", plan["summary"]);
    let out = hrsync(&second, NOW, &["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(people(&slapd).len(), 143, "nothing of the first repository's was touched");
    assert!(people(&slapd).iter().all(|e| attr(e, "businessCategory") == Some("hrsync:acme/corp")));
}
