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
    assert_eq!(uac(leaver), NORMAL_ACCOUNT | ACCOUNTDISABLE, "disabled in place, other flags kept");
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
