//! The Active Directory example (`examples/directories/active-directory.yaml`, only its
//! URL, CA file and bind DN replaced) against a real Samba AD domain controller: what
//! `validate --online`, `plan` and `apply` do with the example's 148 people, and how a
//! leaver is disabled through `userAccountControl`, then deleted.

use crate::samba::{ADMIN, PASSWORD, STAFF, SambaDc};
use crate::util::{Example, Run, json};

/// The variable the example reads the bind password from.
const ENV: &str = "AD_PASSWORD";
const NOW: &str = "2026-11-22T09:00:00Z";
/// `userAccountControl`'s ACCOUNTDISABLE and NORMAL_ACCOUNT flags.
const ACCOUNTDISABLE: u32 = 0x2;
const NORMAL_ACCOUNT: u32 = 0x200;
/// `userAccountControl`'s DONT_EXPIRE_PASSWORD flag.
const DONT_EXPIRE_PASSWORD: u32 = 0x10000;

fn example(dc: &SambaDc) -> Example {
    Example::with_directory(
        "active-directory.yaml",
        &[
            ("ldaps://dc01.acme.example:636", dc.url()),
            ("/etc/ssl/certs/acme-root-ca.pem", dc.ca().to_str().unwrap()),
            ("CN=svc-hrsync,OU=Service Accounts,DC=acme,DC=example", ADMIN),
        ],
    )
}

fn hrsync(ex: &Example, now: &str, args: &[&str]) -> Run {
    ex.run_with((ENV, PASSWORD), now, args)
}

type Entry = Vec<(String, String)>;

fn users(dc: &SambaDc) -> Vec<Entry> {
    dc.search(STAFF, "(&(objectClass=user)(employeeID=*))", &["*"])
}

fn attr<'a>(entry: &'a [(String, String)], name: &str) -> Option<&'a str> {
    entry.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn by_id<'a>(entries: &'a [Entry], id: &str) -> &'a Entry {
    entries.iter().find(|e| attr(e, "employeeID") == Some(id)).unwrap_or_else(|| panic!("no user {id}"))
}

fn uac(entry: &[(String, String)]) -> u32 {
    attr(entry, "userAccountControl").unwrap().parse().unwrap()
}

#[test]
fn the_example_syncs_into_a_samba_dc_and_then_has_nothing_to_do() {
    let dc = SambaDc::start();
    let ex = example(&dc);
    let out = hrsync(&ex, NOW, &["validate", "--online"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(
            "directory `corp`: ok, first page has 0 entries, every mapped attribute is in its schema"
        ),
        "{out:?}"
    );

    // The example names entries by cn, and six of its people share a name with another:
    // their cn takes the next candidate, "(2)", so everyone is created in one run.
    let plan = json(&hrsync(&ex, NOW, &["plan", "--format", "json", "--pii", "full"]).stdout);
    let summary = &plan[0]["summary"];
    assert_eq!((summary["create"].as_u64(), summary["skip"].as_u64()), (Some(143), Some(0)), "{summary:#}");

    let applied = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(applied.code, 0, "{applied:?}");
    assert!(
        applied
            .stdout
            .contains("Applied to `corp`: 143 created, 0 updated, 0 disabled, 0 deleted, 0 failed."),
        "{applied:?}"
    );
    assert!(!applied.stderr.contains("error:"), "{applied:?}");

    let entries = users(&dc);
    assert_eq!(entries.len(), 143);
    for e in &entries {
        // Enabled normal accounts, with an initial password to change at first sign-in
        // (AD would refuse to enable one without a password).
        assert_eq!(uac(e), NORMAL_ACCOUNT, "{e:?}");
        assert_eq!(attr(e, "pwdLastSet"), Some("0"), "{e:?}");
        if let Some(m) = attr(e, "manager") {
            assert!(entries.iter().any(|o| attr(o, "dn") == Some(m)), "dangling manager {m}");
        }
    }
    let namesakes = entries.iter().filter(|e| attr(e, "cn").is_some_and(|cn| cn.ends_with(" (2)"))).count();
    assert_eq!(namesakes, 6, "the later of each pair of namesakes");
    let ceo = by_id(&entries, "10001");
    assert_eq!(attr(ceo, "dn"), Some("CN=Katharina von der Heide,OU=Staff,DC=acme,DC=example"));
    assert_eq!(attr(ceo, "sAMAccountName"), Some("kvonderheide"));
    assert_eq!(attr(ceo, "userPrincipalName"), Some("katharina.vonderheide@acme.example"));
    assert_eq!(attr(by_id(&entries, "10002"), "manager"), attr(ceo, "dn"));
    // Everyone but the heads of the two companies has a manager.
    assert_eq!(entries.iter().filter(|e| attr(e, "manager").is_none()).count(), 2);

    let again = hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "the second run writes nothing: {again:?}");

    // Without the test CA the DC's certificate is not trusted.
    ex.edit_directory(&format!("  ca_file: {}\n", dc.ca().display()), "");
    let out = hrsync(&ex, NOW, &["validate", "--online"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("directory `corp`: FAILED"), "{out:?}");
}

#[test]
fn a_leaver_is_disabled_through_user_account_control_then_deleted() {
    let dc = SambaDc::start();
    let ex = example(&dc);
    assert_eq!(hrsync(&ex, NOW, &["apply"]).code, 0);
    // An administrator set "password never expires" on the account by hand.
    dc.add(&format!(
        "dn: CN=Jörg Richter,{STAFF}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: {}\n",
        NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
    ));
    // 10060 leaves on 2026-11-30.
    ex.set_german(&["10060"], 10, "30.11.2026");
    let disabled = hrsync(&ex, "2026-12-01T08:00:00Z", &["apply"]);
    assert_eq!(disabled.code, 0, "{disabled:?}");
    assert!(
        disabled.stdout.contains("0 created, 0 updated, 1 disabled, 0 deleted, 0 failed"),
        "{disabled:?}"
    );
    let entries = users(&dc);
    let leaver = by_id(&entries, "10060");
    assert_eq!(
        uac(leaver),
        NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD | ACCOUNTDISABLE,
        "disabled in place, other flags kept"
    );
    assert_eq!(attr(leaver, "dn"), Some("CN=Jörg Richter,OU=Staff,DC=acme,DC=example"));
    assert_eq!(entries.iter().filter(|e| uac(e) & ACCOUNTDISABLE != 0).count(), 1);
    // Still known, and not enabled again, while disabled.
    assert_eq!(hrsync(&ex, "2026-12-15T08:00:00Z", &["plan", "--detailed-exitcode"]).code, 0);
    // 90 days on it is deleted; by then the example's person whose contract ends on
    // 2027-01-31 has left too, and is disabled.
    let deleted = hrsync(&ex, "2027-03-01T08:00:00Z", &["apply"]);
    assert!(deleted.stdout.contains("0 created, 0 updated, 1 disabled, 1 deleted, 0 failed"), "{deleted:?}");
    let entries = users(&dc);
    assert!(entries.iter().all(|e| attr(e, "employeeID") != Some("10060")), "deleted");
    assert_eq!(entries.len(), 142);
    assert_eq!(entries.iter().filter(|e| uac(e) & ACCOUNTDISABLE != 0).count(), 1);
}

#[test]
fn names_taken_outside_the_scope_and_computers_and_hand_made_users_in_it_are_left_alone() {
    // Issue 11: hand-made accounts in CN=Users hold the CEO's first sAMAccountName
    // candidate and 10002's user principal name (AD keeps both unique in the whole
    // domain); a computer object and a user made by hand sit in the scope itself.
    let dc = SambaDc::start();
    dc.add(
        "dn: CN=K von der Heide (old),CN=Users,DC=acme,DC=example\nobjectClass: user\nsAMAccountName: kvonderheide\n\n\
         dn: CN=GB test,CN=Users,DC=acme,DC=example\nobjectClass: user\nsAMAccountName: gbtest\nuserPrincipalName: Gunther.Bohm@acme.example\n\n\
         dn: CN=WS-0042,OU=Staff,DC=acme,DC=example\nobjectClass: computer\nsAMAccountName: WS-0042$\n\n\
         dn: CN=Meeting Room,OU=Staff,DC=acme,DC=example\nobjectClass: user\nsAMAccountName: meetingroom\n",
    );
    // Every write to an object raises its uSNChanged: the two must keep theirs.
    let changed = |cn: &str| {
        let found = dc.search(STAFF, &format!("(cn={cn})"), &["uSNChanged"]);
        assert_eq!(found.len(), 1, "{cn}: {found:?}");
        attr(&found[0], "uSNChanged").unwrap().to_owned()
    };
    let (computer, room) = (changed("WS-0042"), changed("Meeting Room"));
    let ex = example(&dc);
    let applied = hrsync(&ex, NOW, &["apply"]);
    assert_eq!(applied.code, 0, "{applied:?}");
    // 10002's user principal name is held by the test account in CN=Users: a collision
    // in the plan, not a refusal of the server.
    assert!(
        applied.stdout.contains("142 created, 0 updated, 0 disabled, 0 deleted, 0 failed"),
        "{applied:?}"
    );
    let entries = users(&dc);
    assert_eq!(attr(by_id(&entries, "10001"), "sAMAccountName"), Some("kvonderheide2"), "the next candidate");
    assert!(entries.iter().all(|e| attr(e, "employeeID") != Some("10002")));
    let plan = json(&hrsync(&ex, NOW, &["plan", "--format", "json", "--pii", "full"]).stdout);
    let rows = plan[0]["rows"].as_array().unwrap();
    let skip = rows.iter().find(|r| r["person"]["employee_number"] == "10002").unwrap();
    assert_eq!(skip["action"], "skip", "{skip:#}");
    assert_eq!(skip["collides_with"]["entry"], "CN=GB test,CN=Users,DC=acme,DC=example", "{skip:#}");
    let again = hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "converged in one run: {again:?}");
    assert_eq!((changed("WS-0042"), changed("Meeting Room")), (computer, room), "never touched");
    // Entries in scope that no person matches and that carry no marker are counted as
    // unmanaged: the meeting room is one, the computer is not even read.
    let plan = json(&hrsync(&ex, NOW, &["plan", "--format", "json"]).stdout);
    assert_eq!(plan[0]["summary"]["unmanaged"], 1, "{:#}", plan[0]["summary"]);
}

#[test]
fn accounts_ad_made_never_expire_are_adopted_without_an_update_and_a_rehire_is_enabled() {
    let dc = SambaDc::start();
    let ex = example(&dc);
    assert_eq!(hrsync(&ex, NOW, &["apply"]).code, 0);
    // AD's own "never" for two accounts, as an account made in AD has it.
    let never = |cn: &str| {
        format!(
            "dn: CN={cn},OU=Staff,DC=acme,DC=example\nchangetype: modify\nreplace: accountExpires\naccountExpires: 9223372036854775807\n\n"
        )
    };
    dc.add(&format!("{}{}", never("Katharina von der Heide"), never("Günther Böhm")));
    let plan = json(&hrsync(&ex, NOW, &["plan", "--format", "json"]).stdout);
    assert_eq!(plan[0]["summary"]["update"], 0, "{:#}", plan[0]["summary"]);

    // 10060 leaves, then is rehired: disabled, then enabled with its other flags kept.
    ex.set_german(&["10060"], 10, "30.11.2026");
    assert!(hrsync(&ex, "2026-12-01T08:00:00Z", &["apply"]).stdout.contains("1 disabled"));
    ex.set_german(&["10060"], 10, "");
    let rehired = hrsync(&ex, "2026-12-02T08:00:00Z", &["apply"]);
    assert!(rehired.stdout.contains("0 created, 1 updated"), "{rehired:?}");
    assert_eq!(uac(by_id(&users(&dc), "10060")), NORMAL_ACCOUNT);
}

/// Names and e-mail addresses of the example's people, as a report must not show them
/// under `pii: masked`: full names, last names of six letters or more (shorter ones are
/// words of other texts too) and the local parts of e-mail addresses.
fn personal_texts() -> Vec<String> {
    let data = crate::util::root().join("examples/sync-repo/data");
    let mut out = Vec::new();
    let mut person = |first: &str, last: &str, email: &str| {
        out.push(format!("{first} {last}"));
        if last.chars().count() >= 6 {
            out.push(last.to_owned());
        }
        out.push(email.split('@').next().unwrap().to_owned());
    };
    let germany = std::fs::read_to_string(data.join("germany.csv")).unwrap();
    for line in germany.lines().skip(1) {
        let cells: Vec<&str> = line.split(';').collect();
        if cells.len() > 3 && !cells[3].is_empty() {
            person(cells[1], cells[2], cells[3]);
        }
    }
    let france = json(&std::fs::read_to_string(data.join("france.json")).unwrap());
    for e in france["employees"].as_array().unwrap() {
        if let (Some(first), Some(last), Some(email)) =
            (e["prenom"].as_str(), e["nom"].as_str(), e["contact"]["email"].as_str())
        {
            person(first, last, email);
        }
    }
    out
}

/// The personal texts `text` shows.
fn shown(text: &str, personal: &[String]) -> Vec<String> {
    let lower = text.to_lowercase();
    personal.iter().filter(|p| lower.contains(&p.to_lowercase())).cloned().collect()
}

#[test]
fn a_name_taken_where_the_read_cannot_see_takes_the_next_candidate_and_a_masked_run_names_no_one() {
    // The CEO's first sAMAccountName and 10002's user principal name are held in
    // CN=Users, which this repository's service account is not given to read
    // (`unique_base` is the scope): the plan cannot see them, the DC refuses them.
    let dc = SambaDc::start();
    dc.add(
        "dn: CN=K von der Heide (old),CN=Users,DC=acme,DC=example\nobjectClass: user\nsAMAccountName: kvonderheide\n\n\
         dn: CN=GB test,CN=Users,DC=acme,DC=example\nobjectClass: user\nsAMAccountName: gbtest\nuserPrincipalName: Gunther.Bohm@acme.example\n",
    );
    let ex = example(&dc);
    ex.edit_directory("passwords: {", &format!("unique_base: \"{STAFF}\"\npasswords: {{"));
    // Run as the daemon runs, committing its reports (`pii: masked`) to git.
    std::fs::write(ex.path(".gitignore"), ".hrsync/\n").unwrap();
    let repo = git2::Repository::init(ex.repo()).unwrap();
    crate::daemon::commit_all(&repo, "the example, against a Samba DC");
    let out = hrsync(&ex, NOW, &["daemon", "--once"]);
    let committed = crate::daemon::reports(&repo);
    assert!(
        committed.iter().any(|(_, files)| files.iter().any(|f| f.ends_with("result.json"))),
        "{out:?}\n{committed:#?}"
    );
    let job = crate::daemon::file_on_branch(&repo, "reports/result.json");
    let result = &job["directories"]["corp"];
    let counts = (&result["created"], &result["failed"]);
    assert_eq!((counts.0.as_u64(), counts.1.as_u64()), (Some(142), Some(1)), "{out:?}\n{result:#}");

    let entries = users(&dc);
    assert_eq!(attr(by_id(&entries, "10001"), "sAMAccountName"), Some("kvonderheide2"), "the next candidate");
    assert!(entries.iter().all(|e| attr(e, "employeeID") != Some("10002")), "its only value is taken");
    let text = serde_json::to_string(&job).unwrap();
    assert!(text.contains("the planned `sAMAccountName` was already in use when written"), "{result:#}");
    assert!(text.contains("`userPrincipalName`") && text.contains("already in use"), "{result:#}");
    assert!(text.contains("(LDAP result 19, constraintViolation)"), "the server's code: {result:#}");

    // Nothing the run logged, printed or committed names a person.
    let personal = personal_texts();
    assert!(personal.len() > 300, "{}", personal.len());
    let mut seen = shown(&format!("{}\n{}", out.stdout, out.stderr), &personal);
    let tip = repo.find_reference("refs/heads/hrsync/reports").unwrap().peel_to_commit().unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push(tip.id()).unwrap();
    for oid in walk {
        let commit = repo.find_commit(oid.unwrap()).unwrap();
        seen.extend(shown(commit.message().unwrap(), &personal));
    }
    let mut files = 0;
    tip.tree()
        .unwrap()
        .walk(git2::TreeWalkMode::PreOrder, |_, item| {
            if let Ok(blob) = item.to_object(&repo).and_then(|o| o.peel_to_blob()) {
                files += 1;
                seen.extend(shown(&String::from_utf8_lossy(blob.content()), &personal));
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap();
    assert!(files >= 4, "plan.md, plan.json, result.json, the run state: {files}");
    assert!(seen.is_empty(), "personal data in a masked run: {seen:?}");
}

#[test]
fn validate_online_names_what_the_dc_would_refuse_and_a_wrong_password_says_why_once() {
    let dc = SambaDc::start();
    let ex = example(&dc);
    // dNSHostName is in AD's schema, but only computers may hold it; and the scope's
    // OU does not exist.
    ex.edit_directory(
        "  manager: { manager: true }\n",
        "  manager: { manager: true }\n  dNSHostName: { value: \"{{ employee_number }}.acme.example\" }\n",
    );
    ex.edit_directory(&format!("base: \"{STAFF}\""), "base: \"OU=People,DC=acme,DC=example\"");
    let out = hrsync(&ex, NOW, &["validate", "--online"]);
    assert_eq!(out.code, 1, "{out:?}");
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains(
            "the container `OU=People,DC=acme,DC=example` that `scope.base` names does not exist: create it"
        ),
        "{out:?}"
    );
    assert!(
        text.contains("attribute `dNSHostName` is not allowed on entries of the object classes `top`, `person`, `organizationalPerson`, `user`"),
        "{out:?}"
    );
    assert!(text.contains("(objectClassViolation, 65)"), "{out:?}");
    // What the user class allows through its auxiliary classes (sAMAccountName from
    // securityPrincipal) and what AD sets itself (objectSid) are no problem.
    assert_eq!(text.matches("is not allowed").count(), 1, "{out:?}");
    assert!(!text.contains("requires"), "{out:?}");

    let wrong = ex.run_with((ENV, "not-the-password"), NOW, &["validate", "--online"]);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    let text = format!("{}{}", wrong.stdout, wrong.stderr);
    assert_eq!(text.matches("data 52e").count(), 1, "the cause once: {wrong:?}");
    assert!(text.contains("wrong password for the bind DN: check the password secret"), "{wrong:?}");
    assert!(!text.contains("not-the-password"), "{wrong:?}");
}

#[test]
fn initial_passwords_meet_the_domain_policy_and_an_end_date_sets_account_expires() {
    let dc = SambaDc::start();
    // The strictest length Samba's policy takes, with complexity: the example's 24
    // characters pass it.
    dc.tool(&["domain", "passwordsettings", "set", "--min-pwd-length=14", "--complexity=on"]);
    let ex = example(&dc);
    let applied = hrsync(&ex, NOW, &["apply"]);
    assert!(
        applied.stdout.contains("143 created, 0 updated, 0 disabled, 0 deleted, 0 failed"),
        "{applied:?}"
    );
    // unicodePwd is never readable over LDAP; the DC's own tool shows its hash.
    for sam in ["kvonderheide", "gbohm", "jrichter"] {
        let shown = dc.tool(&["user", "getpassword", sam, "--attributes=unicodePwd,pwdLastSet"]);
        assert!(shown.contains("unicodePwd:: ") && shown.contains("pwdLastSet: 0"), "{sam}: {shown}");
    }
    // Shorter passwords than the policy wants are refused, and the refusal says what to
    // change.
    ex.edit_directory("passwords: { length: 24,", "passwords: { length: 12,");
    dc.add("dn: CN=Jörg Richter,OU=Staff,DC=acme,DC=example\nchangetype: delete\n");
    let refused = hrsync(&ex, NOW, &["apply"]);
    assert!(refused.stdout.contains("0 created, 0 updated, 0 disabled, 0 deleted, 1 failed"), "{refused:?}");
    assert!(
        refused.stderr.contains(
            "the initial password does not meet the domain's password policy: raise `passwords.length`"
        ),
        "{refused:?}"
    );
    // 10061's contract ends on 31 March 2027: the account expires at the end of that
    // day, in AD's 100-nanosecond intervals since 1601.
    ex.set_german(&["10061"], 10, "31.03.2027");
    let ended = hrsync(&ex, NOW, &["apply"]);
    assert!(ended.stdout.contains("1 updated"), "{ended:?}");
    assert_eq!(attr(by_id(&users(&dc), "10061"), "accountExpires"), Some("134510112000000000"));
}

#[test]
fn a_renamed_manager_keeps_the_links_of_their_reports_and_a_taken_name_is_named() {
    let dc = SambaDc::start();
    let ex = example(&dc);
    // Entries renamed when HR renames: cn continuous (namesakes are then collisions).
    let cn_block = "  cn:                              # names the entry (the RDN): namesakes get \"(2)\"\n    candidates:\n      - \"{{ first_name }} {{ last_name }}\"\n      - \"{{ first_name }} {{ last_name }} ({{ n }})\"\n    unique: true\n    mode: import_once\n";
    ex.edit_directory(cn_block, "  cn: { value: \"{{ first_name }} {{ last_name }}\" }\n");
    assert!(hrsync(&ex, NOW, &["apply"]).stdout.contains(" 0 failed"));
    let old = "CN=Günther Böhm,OU=Staff,DC=acme,DC=example";
    let reports = users(&dc).iter().filter(|e| attr(e, "manager") == Some(old)).count();
    assert!(reports > 2, "{reports}");
    // A group made by hand holds the name 10060 is to take: not a person, so the read
    // does not see it, and the DC refuses the rename.
    dc.add(
        "dn: CN=Jörg Richter-Neu,OU=Staff,DC=acme,DC=example\nobjectClass: group\nsAMAccountName: jrneu\n",
    );
    ex.set_german(&["10002"], 2, "Böhm-Weber");
    ex.set_german(&["10060"], 2, "Richter-Neu");
    let renamed = hrsync(&ex, NOW, &["apply", "--pii", "full"]);
    assert!(renamed.stdout.contains("1 updated, 0 disabled, 0 deleted, 1 failed"), "{renamed:?}");
    assert!(
        renamed.stderr.contains("an entry `cn=Jörg Richter-Neu,OU=Staff,DC=acme,DC=example` already exists"),
        "the taken target, not the entry renamed: {renamed:?}"
    );
    // AD moved the reports' manager links with the entry itself.
    let new = "CN=Günther Böhm-Weber,OU=Staff,DC=acme,DC=example";
    let entries = users(&dc);
    assert_eq!(attr(by_id(&entries, "10002"), "dn"), Some(new));
    assert_eq!(entries.iter().filter(|e| attr(e, "manager") == Some(new)).count(), reports);
    assert!(entries.iter().all(|e| attr(e, "manager") != Some(old)));
    let plan = json(&hrsync(&ex, NOW, &["plan", "--format", "json"]).stdout);
    assert_eq!(plan[0]["summary"]["update"], 1, "only the rename that failed: {:#}", plan[0]["summary"]);
}
