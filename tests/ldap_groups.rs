//! The groups of the `ldap` directory, through the library, against a real OpenLDAP
//! `slapd` (`groupOfNames` and `groupOfUniqueNames`, with the `auditlog` overlay
//! showing what each write sent) and a real Samba AD domain controller: groups created
//! with their members and key, read back, changed by their difference only (never the
//! membership replaced), emptied down to the placeholder, renamed and deleted, and
//! changes that find their work done (a member there already, one gone already, one
//! renamed by the server itself) succeed.

use std::collections::BTreeSet;

use hrsync::config::files::WorkTree;
use hrsync::directory::{Directory, DirectoryError, Group, GroupChange, NewGroup};
use hrsync::model::error_chain;

use crate::samba::{self, STAFF, SambaDc};
use crate::slapd::{self, SUFFIX, Slapd};
use crate::util::Example;

fn groups_ou() -> String {
    format!("ou=groups,{SUFFIX}")
}

/// A DN of someone in `ou=people` (OpenLDAP keeps members that do not exist as well).
fn person(uid: &str) -> String {
    format!("uid={uid},ou=people,{SUFFIX}")
}

/// The directory `corp` of `ex`, as the config builds it.
fn build(ex: &Example) -> Box<dyn Directory> {
    let config = hrsync::config::load(&WorkTree::new(ex.repo())).unwrap();
    hrsync::directory::build(&config.directories[0], &ex.path(".hrsync"))
}

/// The OpenLDAP example pointed at `slapd`, keeping groups as `groups` (YAML lines)
/// says, with `ou=groups` made.
fn openldap(slapd: &Slapd, groups: &str) -> (Example, Box<dyn Directory>) {
    slapd.ldapadd(&format!("dn: {}\nobjectClass: organizationalUnit\nou: groups\n", groups_ou()));
    let ex = crate::ldap::example(slapd);
    ex.secret_in_file("LDAP_PASSWORD", slapd::PASSWORD);
    let path = ex.path("directories/corp.yaml");
    let text = without_groups(&std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, format!("{text}{groups}")).unwrap();
    let directory = build(&ex);
    (ex, directory)
}

/// A directory file without its `groups:` block (the shipped example has one).
fn without_groups(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("groups:") {
            inside = true;
            continue;
        }
        if inside && (line.starts_with(' ') || line.is_empty()) {
            continue;
        }
        inside = false;
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn lower(values: &[String]) -> BTreeSet<String> {
    values.iter().map(|v| v.to_ascii_lowercase()).collect()
}

fn set(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|v| v.to_ascii_lowercase()).collect()
}

/// The values of `attribute` of the entry `dn`, by `ldapsearch`.
fn values(entries: &[Vec<(String, String)>], attribute: &str) -> Vec<String> {
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries[0].iter().filter(|(k, _)| k.eq_ignore_ascii_case(attribute)).map(|(_, v)| v.clone()).collect()
}

fn ldap_values(slapd: &Slapd, dn: &str, attribute: &str) -> Vec<String> {
    values(&slapd.search(dn, "(objectClass=*)", &[attribute]), attribute)
}

fn by_name<'a>(groups: &'a [Group], name: &str) -> &'a Group {
    groups.iter().find(|g| g.name == name).unwrap_or_else(|| panic!("no group {name} in {groups:#?}"))
}

/// The audit log's change records of `dn` since `from` (a length of the log): each as
/// its lines.
fn changes_of(slapd: &Slapd, from: usize, dn: &str) -> Vec<Vec<String>> {
    let audit = slapd.audit();
    audit[from..]
        .split("\n# end ")
        .filter(|r| r.lines().any(|l| l.eq_ignore_ascii_case(&format!("dn: {dn}"))))
        .map(|r| r.lines().filter(|l| !l.starts_with('#')).map(str::to_owned).collect())
        .collect()
}

#[test]
fn ldap_groups_are_created_read_changed_by_their_difference_renamed_and_deleted() {
    let slapd = Slapd::start_audited();
    let (_ex, dir) = openldap(&slapd, &format!("groups:\n  container: \"{}\"\n", groups_ou()));
    let rt = rt();
    assert!(rt.block_on(dir.read_groups()).unwrap().is_empty());

    let members: Vec<String> = ["ada", "bob", "cy", "dee"].map(person).to_vec();
    let new = NewGroup { name: "Sales, DE".into(), key: "hrsync:sales:de".into(), members: members.clone() };
    let id = rt.block_on(dir.create_group(&new)).unwrap();
    assert_eq!(id, format!("cn=Sales\\2c DE,{}", groups_ou()));
    assert_eq!(ldap_values(&slapd, &id, "businessCategory"), ["hrsync:sales:de"]);
    assert_eq!(ldap_values(&slapd, &id, "objectClass"), ["groupOfNames"]);

    // Another group, not hrsync's, is read too (the plan decides what to do with it).
    slapd.ldapadd(&format!(
        "dn: cn=Admins,{}\nobjectClass: groupOfNames\ncn: Admins\nmember: {}\n",
        groups_ou(),
        person("root")
    ));
    let groups = rt.block_on(dir.read_groups()).unwrap();
    assert_eq!(groups.len(), 2);
    let sales = by_name(&groups, "Sales, DE");
    assert!(sales.id.eq_ignore_ascii_case(&id), "{sales:?}");
    assert_eq!(sales.key.as_deref(), Some("hrsync:sales:de"));
    assert_eq!(lower(&sales.members), lower(&members));
    let admins = by_name(&groups, "Admins");
    assert_eq!((admins.key.as_deref(), lower(&admins.members)), (None, set(&[&person("root")])));

    // The difference only: two members added, one removed, in one modify that names
    // exactly them; the others are untouched.
    let from = slapd.audit().len();
    let change =
        GroupChange { rename: None, add: vec![person("eve"), person("fay")], remove: vec![person("bob")] };
    assert_eq!(rt.block_on(dir.change_group(&id, &change)).unwrap(), id);
    let now = ldap_values(&slapd, &id, "member");
    assert_eq!(
        lower(&now),
        set(&[&person("ada"), &person("cy"), &person("dee"), &person("eve"), &person("fay")])
    );
    let records = changes_of(&slapd, from, &id);
    assert_eq!(records.len(), 1, "{records:#?}");
    let sent: BTreeSet<&str> = records[0]
        .iter()
        .map(String::as_str)
        .filter(|l| l.starts_with("member:") || l.ends_with(": member"))
        .collect();
    assert_eq!(
        sent,
        BTreeSet::from([
            "add: member",
            "delete: member",
            &*format!("member: {}", person("eve")),
            &*format!("member: {}", person("fay")),
            &*format!("member: {}", person("bob")),
        ]),
        "{records:#?}"
    );
    // (The server replaces its own modifiersName and modifyTimestamp.)
    assert!(!records[0].iter().any(|l| l.eq_ignore_ascii_case("replace: member")), "{records:#?}");

    // Down to no member: the placeholder (the empty DN) keeps the group valid, and is
    // not listed.
    let all = GroupChange { remove: now.clone(), ..Default::default() };
    rt.block_on(dir.change_group(&id, &all)).unwrap();
    assert_eq!(ldap_values(&slapd, &id, "member"), [""]);
    let groups = rt.block_on(dir.read_groups()).unwrap();
    assert!(by_name(&groups, "Sales, DE").members.is_empty());
    // Removing again finds nothing to do; the first member added replaces the placeholder.
    rt.block_on(dir.change_group(&id, &all)).unwrap();
    let one = GroupChange { add: vec![person("gus")], ..Default::default() };
    rt.block_on(dir.change_group(&id, &one)).unwrap();
    assert_eq!(ldap_values(&slapd, &id, "member"), [person("gus")]);

    // Renamed (with a member changed in the same change): the new DN, readable.
    let rename = GroupChange {
        rename: Some("Sales Germany".into()),
        add: vec![person("hal")],
        remove: vec![person("gus")],
    };
    let renamed = rt.block_on(dir.change_group(&id, &rename)).unwrap();
    assert_eq!(renamed, format!("cn=Sales Germany,{}", groups_ou()));
    assert_eq!(ldap_values(&slapd, &renamed, "cn"), ["Sales Germany"]);
    assert_eq!(ldap_values(&slapd, &renamed, "member"), [person("hal")]);
    assert!(slapd.search(&groups_ou(), "(cn=Sales, DE)", &["dn"]).is_empty());
    let groups = rt.block_on(dir.read_groups()).unwrap();
    let g = by_name(&groups, "Sales Germany");
    assert_eq!((g.id.as_str(), g.key.as_deref()), (renamed.as_str(), Some("hrsync:sales:de")));
    // A name taken by another group.
    let clash = GroupChange { rename: Some("Admins".into()), ..Default::default() };
    let e = rt.block_on(dir.change_group(&renamed, &clash)).unwrap_err();
    assert!(matches!(e, DirectoryError::AlreadyExists(ref dn, _) if dn.starts_with("cn=Admins,")), "{e:?}");

    rt.block_on(dir.delete_group(&renamed)).unwrap();
    assert!(slapd.search(&groups_ou(), "(cn=Sales Germany)", &["dn"]).is_empty());
    let groups = rt.block_on(dir.read_groups()).unwrap();
    assert_eq!(groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["Admins"]);
    let gone = rt.block_on(dir.delete_group(&renamed)).unwrap_err();
    assert!(matches!(gone, DirectoryError::NotFound(..)), "{gone:?}");
    let gone = rt.block_on(dir.change_group(&renamed, &one)).unwrap_err();
    assert!(matches!(gone, DirectoryError::NotFound(..)), "{gone:?}");
}

#[test]
fn ldap_group_changes_that_find_their_work_done_succeed() {
    let slapd = Slapd::start_audited();
    let (_ex, dir) = openldap(&slapd, &format!("groups:\n  container: \"{}\"\n", groups_ou()));
    let rt = rt();
    // Created empty: the placeholder is its member.
    let new = NewGroup { name: "Ops".into(), key: "hrsync:ops".into(), members: vec![] };
    let id = rt.block_on(dir.create_group(&new)).unwrap();
    assert_eq!(ldap_values(&slapd, &id, "member"), [""]);
    assert!(rt.block_on(dir.read_groups()).unwrap()[0].members.is_empty());
    let add = GroupChange { add: vec![person("ada"), person("bob")], ..Default::default() };
    rt.block_on(dir.change_group(&id, &add)).unwrap();

    // Applied twice (a retried apply): the second finds nothing to write.
    let from = slapd.audit().len();
    rt.block_on(dir.change_group(&id, &add)).unwrap();
    // A member spelt otherwise is the same DN; removing one that is not a member is
    // nothing to do either.
    let same = GroupChange {
        add: vec![format!("UID=ADA, OU=People, {SUFFIX}")],
        remove: vec![person("zed")],
        ..Default::default()
    };
    rt.block_on(dir.change_group(&id, &same)).unwrap();
    assert!(changes_of(&slapd, from, &id).is_empty(), "{}", &slapd.audit()[from..]);
    assert_eq!(lower(&ldap_values(&slapd, &id, "member")), set(&[&person("ada"), &person("bob")]));

    // Someone removed bob meanwhile (or the server did, as refint does for a member
    // deleted): the planned removal is done, the rest goes through.
    slapd.ldapadd(&format!("dn: {id}\nchangetype: modify\ndelete: member\nmember: {}\n", person("bob")));
    let planned = GroupChange { add: vec![person("cy")], remove: vec![person("bob")], ..Default::default() };
    rt.block_on(dir.change_group(&id, &planned)).unwrap();
    assert_eq!(lower(&ldap_values(&slapd, &id, "member")), set(&[&person("ada"), &person("cy")]));

    // A group created again finds its DN taken; a rename to its own name does nothing.
    let again = rt.block_on(dir.create_group(&new)).unwrap_err();
    assert!(matches!(again, DirectoryError::AlreadyExists(..)), "{again:?}");
    let same_name = GroupChange { rename: Some("Ops".into()), ..Default::default() };
    assert_eq!(rt.block_on(dir.change_group(&id, &same_name)).unwrap(), id);

    // A container that does not exist is made when it is an OU whose parent exists,
    // and said so when it cannot be.
    let at = |container: &str| {
        let ex = crate::ldap::example(&slapd);
        ex.secret_in_file("LDAP_PASSWORD", slapd::PASSWORD);
        let path = ex.path("directories/corp.yaml");
        let text = without_groups(&std::fs::read_to_string(&path).unwrap());
        std::fs::write(&path, format!("{text}groups:\n  container: \"{container}\"\n")).unwrap();
        let d = build(&ex);
        (ex, d)
    };
    let (_ex2, made) = at(&format!("ou=made,{SUFFIX}"));
    assert!(rt.block_on(made.read_groups()).unwrap().is_empty());
    rt.block_on(made.create_group(&new)).unwrap();
    assert_eq!(slapd.search(&format!("ou=made,{SUFFIX}"), "(cn=Ops)", &["dn"]).len(), 1);
    let (_ex3, elsewhere) = at(&format!("ou=nowhere,ou=missing,{SUFFIX}"));
    assert!(rt.block_on(elsewhere.read_groups()).unwrap().is_empty());
    let e = rt.block_on(elsewhere.create_group(&new)).unwrap_err();
    assert!(
        error_chain(&e).contains(
            "the container `ou=nowhere,ou=missing,dc=acme,dc=example` that `groups.container` names does not exist"
        ),
        "{}",
        error_chain(&e)
    );
}

#[test]
fn ldap_groups_without_a_groups_block_are_none_and_not_written() {
    let slapd = Slapd::start();
    let (_ex, dir) = openldap(&slapd, "");
    let rt = rt();
    slapd.ldapadd(&format!(
        "dn: cn=Admins,{}\nobjectClass: groupOfNames\ncn: Admins\nmember: {}\n",
        groups_ou(),
        person("root")
    ));
    assert!(rt.block_on(dir.read_groups()).unwrap().is_empty());
    let new = NewGroup { name: "Ops".into(), key: "hrsync:ops".into(), members: vec![] };
    let e = rt.block_on(dir.create_group(&new)).unwrap_err();
    assert!(error_chain(&e).contains("does not manage groups"), "{}", error_chain(&e));
    assert!(slapd.search(&groups_ou(), "(cn=Ops)", &["dn"]).is_empty());
}

#[test]
fn ldap_groups_of_unique_names_keep_members_in_unique_member() {
    let slapd = Slapd::start();
    let groups = format!("groups:\n  container: \"{}\"\n  object_class: groupOfUniqueNames\n", groups_ou());
    let (_ex, dir) = openldap(&slapd, &groups);
    let rt = rt();
    let new = NewGroup { name: "Finance".into(), key: "hrsync:finance".into(), members: vec![person("ada")] };
    let id = rt.block_on(dir.create_group(&new)).unwrap();
    assert_eq!(ldap_values(&slapd, &id, "objectClass"), ["groupOfUniqueNames"]);
    assert_eq!(ldap_values(&slapd, &id, "uniqueMember"), [person("ada")]);
    assert!(ldap_values(&slapd, &id, "member").is_empty());
    // groupOfNames are not this directory's groups.
    slapd.ldapadd(&format!(
        "dn: cn=Admins,{}\nobjectClass: groupOfNames\ncn: Admins\nmember: {}\n",
        groups_ou(),
        person("root")
    ));
    let change = GroupChange { add: vec![person("bob")], remove: vec![person("ada")], ..Default::default() };
    rt.block_on(dir.change_group(&id, &change)).unwrap();
    let read = rt.block_on(dir.read_groups()).unwrap();
    assert_eq!(read.len(), 1, "{read:#?}");
    assert_eq!((read[0].name.as_str(), read[0].key.as_deref()), ("Finance", Some("hrsync:finance")));
    assert_eq!(lower(&read[0].members), set(&[&person("bob")]));
    let empty = GroupChange { remove: vec![person("bob")], ..Default::default() };
    rt.block_on(dir.change_group(&id, &empty)).unwrap();
    assert_eq!(ldap_values(&slapd, &id, "uniqueMember"), [""]);
    assert!(rt.block_on(dir.read_groups()).unwrap()[0].members.is_empty());
    rt.block_on(dir.delete_group(&id)).unwrap();
    assert!(rt.block_on(dir.read_groups()).unwrap().is_empty());
}

#[test]
fn an_ldap_group_of_2000_members_changes_by_a_few() {
    let slapd = Slapd::start_audited();
    let (_ex, dir) = openldap(&slapd, &format!("groups:\n  container: \"{}\"\n", groups_ou()));
    let rt = rt();
    let everyone: Vec<String> = (0..2000).map(|i| person(&format!("p{i:04}"))).collect();
    let new = NewGroup { name: "Everyone".into(), key: "hrsync:everyone".into(), members: everyone.clone() };
    let id = rt.block_on(dir.create_group(&new)).unwrap();
    assert_eq!(ldap_values(&slapd, &id, "member").len(), 2000);
    // Sent as an add of 1,000 and a modify adding the other 1,000.
    let records = changes_of(&slapd, 0, &id);
    let counts: Vec<usize> =
        records.iter().map(|r| r.iter().filter(|l| l.starts_with("member: ")).count()).collect();
    assert_eq!(counts, [1000, 1000], "{:?}", records.iter().map(|r| &r[..3]).collect::<Vec<_>>());
    let groups = rt.block_on(dir.read_groups()).unwrap();
    assert_eq!(lower(&groups[0].members), lower(&everyone));

    let from = slapd.audit().len();
    let change = GroupChange {
        rename: None,
        add: vec![person("new1"), person("new2"), person("p0007")],
        remove: vec![person("p0001"), person("p1999"), person("gone")],
    };
    rt.block_on(dir.change_group(&id, &change)).unwrap();
    let records = changes_of(&slapd, from, &id);
    assert_eq!(records.len(), 1, "one modify");
    let sent: Vec<&str> =
        records[0].iter().map(String::as_str).filter(|l| l.starts_with("member: ")).collect();
    assert_eq!(
        sent.into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            &*format!("member: {}", person("new1")),
            &*format!("member: {}", person("new2")),
            &*format!("member: {}", person("p0001")),
            &*format!("member: {}", person("p1999")),
        ])
    );
    let mut expected = lower(&everyone);
    expected.remove(&person("p0001"));
    expected.remove(&person("p1999"));
    expected.extend([person("new1"), person("new2")]);
    assert_eq!(lower(&ldap_values(&slapd, &id, "member")), expected);
}

/// The Active Directory example pointed at the DC, keeping groups in `OU=Groups`.
fn active_directory(dc: &SambaDc) -> (Example, Box<dyn Directory>) {
    let ex = Example::with_directory(
        "active-directory.yaml",
        &[
            ("ldaps://dc01.acme.example:636", dc.url()),
            ("/etc/ssl/certs/acme-root-ca.pem", dc.ca().to_str().unwrap()),
            ("CN=svc-hrsync,OU=Service Accounts,DC=acme,DC=example", samba::ADMIN),
        ],
    );
    ex.secret_in_file("AD_PASSWORD", samba::PASSWORD);
    let path = ex.path("directories/corp.yaml");
    let text = without_groups(&std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, format!("{text}groups:\n  container: \"OU=Groups,{}\"\n", samba::BASE)).unwrap();
    let directory = build(&ex);
    (ex, directory)
}

fn user(cn: &str) -> String {
    format!("CN={cn},{STAFF}")
}

fn dc_values(dc: &SambaDc, dn: &str, attribute: &str) -> Vec<String> {
    values(&dc.search(dn, "(objectClass=*)", &[attribute]), attribute)
}

#[test]
fn active_directory_groups_follow_their_members_and_change_by_difference() {
    let dc = SambaDc::start();
    dc.add(&format!("dn: OU=Groups,{}\nobjectClass: organizationalUnit\nou: Groups\n", samba::BASE));
    let mut ldif = String::new();
    for name in ["Ada", "Bob", "Cy", "Dee"] {
        ldif.push_str(&format!(
            "dn: {}\nobjectClass: user\nsAMAccountName: {}\n\n",
            user(name),
            name.to_lowercase()
        ));
    }
    dc.add(&ldif);
    let (_ex, dir) = active_directory(&dc);
    let rt = rt();

    let new = NewGroup {
        name: "Sales DE".into(),
        key: "hrsync:sales:de".into(),
        members: vec![user("Ada"), user("Bob")],
    };
    let id = rt.block_on(dir.create_group(&new)).unwrap();
    assert!(id.eq_ignore_ascii_case(&format!("CN=Sales DE,OU=Groups,{}", samba::BASE)), "{id}");
    assert_eq!(dc_values(&dc, &id, "sAMAccountName"), ["Sales DE"]);
    assert_eq!(dc_values(&dc, &id, "groupType"), ["-2147483646"]);
    assert_eq!(dc_values(&dc, &id, "adminDescription"), ["hrsync:sales:de"]);
    let groups = rt.block_on(dir.read_groups()).unwrap();
    let g = by_name(&groups, "Sales DE");
    assert_eq!(g.key.as_deref(), Some("hrsync:sales:de"));
    assert_eq!(lower(&g.members), set(&[&user("Ada"), &user("Bob")]));

    // Samba refuses an existing member (68) and the removal of a non-member (53): the
    // change reads the group first, and writes only the difference.
    let change =
        GroupChange { add: vec![user("Bob"), user("Cy")], remove: vec![user("Dee")], ..Default::default() };
    rt.block_on(dir.change_group(&id, &change)).unwrap();
    rt.block_on(dir.change_group(&id, &change)).unwrap();
    assert_eq!(lower(&dc_values(&dc, &id, "member")), set(&[&user("Ada"), &user("Bob"), &user("Cy")]));

    // A member renamed: AD rewrites the group's member itself. A change planned
    // against the old DN finds its removal done.
    dc.add(&format!("dn: {}\nchangetype: modrdn\nnewrdn: CN=Bob Smith\ndeleteoldrdn: 1\n", user("Bob")));
    let groups = rt.block_on(dir.read_groups()).unwrap();
    assert_eq!(
        lower(&by_name(&groups, "Sales DE").members),
        set(&[&user("Ada"), &user("Bob Smith"), &user("Cy")])
    );
    let stale = GroupChange { remove: vec![user("Bob")], ..Default::default() };
    rt.block_on(dir.change_group(&id, &stale)).unwrap();
    assert_eq!(dc_values(&dc, &id, "member").len(), 3);

    // A member that does not exist: refused, saying so without the DN.
    let ghost = GroupChange { add: vec![user("Nobody Here")], ..Default::default() };
    let e = rt.block_on(dir.change_group(&id, &ghost)).unwrap_err();
    let said = error_chain(&e);
    assert!(matches!(e, DirectoryError::Rejected(_)), "{said}");
    assert!(said.contains("a member to add does not exist in the directory"), "{said}");
    assert!(!said.contains("Nobody"), "{said}");
    let e = rt
        .block_on(dir.create_group(&NewGroup {
            name: "Ghosts".into(),
            key: "hrsync:g".into(),
            members: vec![user("Nobody Here")],
        }))
        .unwrap_err();
    assert!(error_chain(&e).contains("does not exist in the directory"), "{}", error_chain(&e));

    // Emptied: AD groups may be empty, no placeholder.
    let all = GroupChange { remove: dc_values(&dc, &id, "member"), ..Default::default() };
    rt.block_on(dir.change_group(&id, &all)).unwrap();
    assert!(dc_values(&dc, &id, "member").is_empty());
    assert!(by_name(&rt.block_on(dir.read_groups()).unwrap(), "Sales DE").members.is_empty());

    // A name whose sAMAccountName another object holds (the user `ada`).
    let e = rt
        .block_on(dir.create_group(&NewGroup {
            name: "ada".into(),
            key: "hrsync:ada".into(),
            members: vec![],
        }))
        .unwrap_err();
    let said = error_chain(&e);
    assert!(
        matches!(e, DirectoryError::Taken { ref attribute, .. } if attribute == "sAMAccountName"),
        "{said}"
    );
    assert!(said.contains("another object holds `ada`"), "{said}");

    // Renamed, then deleted.
    let rename =
        GroupChange { rename: Some("Sales Germany".into()), add: vec![user("Dee")], ..Default::default() };
    let renamed = rt.block_on(dir.change_group(&id, &rename)).unwrap();
    assert_eq!(renamed, format!("cn=Sales Germany,OU=Groups,{}", samba::BASE));
    assert_eq!(dc_values(&dc, &renamed, "member"), [user("Dee")]);
    let groups = rt.block_on(dir.read_groups()).unwrap();
    assert!(by_name(&groups, "Sales Germany").id.eq_ignore_ascii_case(&renamed));
    rt.block_on(dir.delete_group(&renamed)).unwrap();
    assert!(rt.block_on(dir.read_groups()).unwrap().is_empty());
}
