//! Groups end to end: the example repository's groups (per department, nested as the org
//! chart; per team; a static one) synced by the binary into a real `slapd` and a real
//! `scim2-server`, then a department change, a renamed person, a mass removal held
//! back until approved, and a large group changed by its difference.

use serde_json::Value as Json;

use crate::ldap::{example as ldap_example, hrsync as ldap_hrsync};
use crate::scim_server::{Fault, Proxy, ScimServer, TOKEN};
use crate::slapd::{SUFFIX, Slapd};
use crate::util::{Example, json};

const NOW: &str = "2026-11-22T09:00:00Z";

/// The groups under `ou=groups`: cn → member DNs (lower case, placeholder left out).
fn ldap_groups(slapd: &Slapd) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out = std::collections::BTreeMap::new();
    for g in slapd.search(&format!("ou=groups,{SUFFIX}"), "(objectClass=groupOfNames)", &["cn", "member"]) {
        let cn = g.iter().find(|(k, _)| k == "cn").map(|(_, v)| v.clone()).unwrap();
        let mut members: Vec<String> =
            g.iter().filter(|(k, v)| k == "member" && !v.is_empty()).map(|(_, v)| v.to_lowercase()).collect();
        members.sort();
        out.insert(cn, members);
    }
    out
}

/// The DN of the entry of employee `number`.
fn dn_of(slapd: &Slapd, number: &str) -> String {
    let found = slapd.search(&format!("ou=people,{SUFFIX}"), &format!("(employeeNumber={number})"), &["dn"]);
    found[0].iter().find(|(k, _)| k == "dn").map(|(_, v)| v.to_lowercase()).unwrap()
}

/// The plan's group rows that write, as (name, action, added, removed).
fn group_changes(plan: &Json) -> Vec<(String, String, usize, usize)> {
    plan["groups"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] != "skip" && r["action"] != "noop")
        .map(|r| {
            let n = |k: &str| r[k].as_array().map_or(0, Vec::len);
            (
                r["name"].as_str().unwrap().to_owned(),
                r["action"].as_str().unwrap().to_owned(),
                n("add"),
                n("remove"),
            )
        })
        .collect()
}

/// Moves the German employees `numbers` to org unit `to`.
fn move_to(ex: &Example, numbers: &[&str], to: &str) {
    ex.edit_germany(|_, line| {
        let mut fields: Vec<String> = line.split(';').map(str::to_owned).collect();
        if numbers.contains(&fields[0].as_str()) {
            fields[4] = to.to_owned();
        }
        Some(fields.join(";"))
    });
}

#[test]
fn the_example_groups_follow_a_department_change_a_rename_and_hold_a_mass_removal_in_slapd() {
    let slapd = Slapd::start();
    let ex = ldap_example(&slapd);
    // Entries named by cn, so a new last name renames the entry.
    let dir = ex.path("directories/corp.yaml");
    let text = std::fs::read_to_string(&dir).unwrap().replace("entry: { rdn: uid }", "entry: { rdn: cn }");
    std::fs::write(&dir, text).unwrap();

    let first = ldap_hrsync(&ex, NOW, &["apply"]);
    assert_eq!(first.code, 0, "{first:?}");
    // 12 departments, 6 teams (France's), the static group.
    assert!(first.stdout.contains("Groups of `corp`: 19 created, 0 changed"), "{first:?}");
    let groups = ldap_groups(&slapd);
    // 23 people of Platform; Engineering holds its CTO and the groups of its three units.
    assert_eq!(groups["dept-platform"].len(), 23, "{:?}", groups["dept-platform"]);
    let platform_dn = format!("cn=dept-platform,ou=groups,{SUFFIX}").to_lowercase();
    assert!(groups["dept-engineering"].contains(&platform_dn), "{:?}", groups["dept-engineering"]);
    assert_eq!(groups["dept-engineering"].len(), 4);
    let again = ldap_hrsync(&ex, NOW, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "nothing left to do: {again:?}");
    let online = ldap_hrsync(&ex, NOW, &["validate", "--online"]);
    assert!(
        online
            .stdout
            .contains("directory `corp` groups: ok, 19 groups read, 19 of them this configuration's"),
        "{online:?}"
    );

    // One person of Platform moves to Apps: one remove and one add, nothing else.
    let platform: Vec<String> = groups["dept-platform"].clone();
    // Someone nobody reports to (a manager's rename reaches the reports' `manager` in
    // the next run, which is not what this test is about).
    let csv = std::fs::read_to_string(ex.path("data/germany.csv")).unwrap();
    let managers: Vec<&str> = csv.lines().filter_map(|l| l.split(';').nth(6)).collect();
    let mover = csv
        .lines()
        .map(|l| l.split(';').collect::<Vec<_>>())
        .find(|f| f[4] == "DE-PLT" && !managers.contains(&f[0]))
        .map(|f| f[0].to_owned())
        .unwrap();
    let mover_dn = dn_of(&slapd, &mover);
    assert!(platform.contains(&mover_dn));
    move_to(&ex, &[&mover], "DE-APP");
    let plan = json(&ldap_hrsync(&ex, NOW, &["plan", "--format", "json", "--pii", "full"]).stdout);
    assert_eq!(
        group_changes(&plan[0]),
        [
            ("dept-apps".to_owned(), "update".to_owned(), 1, 0),
            ("dept-platform".to_owned(), "update".to_owned(), 0, 1)
        ]
    );
    let moved = ldap_hrsync(&ex, NOW, &["apply"]);
    assert_eq!(moved.code, 0, "{moved:?}");
    let groups = ldap_groups(&slapd);
    assert!(groups["dept-apps"].contains(&mover_dn) && !groups["dept-platform"].contains(&mover_dn));
    assert_eq!(groups["dept-platform"].len(), 22);

    // A new last name renames the entry (its cn is its RDN): it stays a member, under
    // its new DN, in the same run.
    ex.edit_germany(|_, line| {
        let mut fields: Vec<String> = line.split(';').map(str::to_owned).collect();
        if fields[0] == mover {
            fields[2] = "Neumann-Umbenannt".to_owned();
        }
        Some(fields.join(";"))
    });
    let renamed = ldap_hrsync(&ex, NOW, &["apply"]);
    assert_eq!(renamed.code, 0, "{renamed:?}");
    let new_dn = dn_of(&slapd, &mover);
    assert_ne!(new_dn, mover_dn);
    let groups = ldap_groups(&slapd);
    assert!(groups["dept-apps"].contains(&new_dn), "{:?}", groups["dept-apps"]);
    assert!(!groups["dept-apps"].contains(&mover_dn), "no member left under the old DN");
    let after = ldap_hrsync(&ex, NOW, &["plan", "--detailed-exitcode", "--pii", "full"]);
    assert_eq!(after.code, 0, "{after:?}");

    // Twenty of Apps move to Platform: removing most of a group's members is blocked
    // until the plan's id is approved.
    let apps: Vec<String> = std::fs::read_to_string(ex.path("data/germany.csv"))
        .unwrap()
        .lines()
        .filter(|l| l.split(';').nth(4) == Some("DE-APP"))
        .take(20)
        .map(|l| l.split(';').next().unwrap().to_owned())
        .collect();
    let before = ldap_groups(&slapd);
    let (apps_before, platform_before) = (before["dept-apps"].len(), before["dept-platform"].len());
    // Of those twenty, the ones with an entry (a name two people share gets none here).
    let with_entry = apps
        .iter()
        .filter(|n| {
            !slapd
                .search(&format!("ou=people,{SUFFIX}"), &format!("(employeeNumber={n})"), &["dn"])
                .is_empty()
        })
        .count();
    assert!(with_entry > apps_before / 2, "most of the group: {with_entry} of {apps_before}");
    move_to(&ex, &apps.iter().map(String::as_str).collect::<Vec<_>>(), "DE-PLT");
    let blocked = ldap_hrsync(&ex, NOW, &["apply"]);
    assert_ne!(blocked.code, 0, "{blocked:?}");
    assert!(
        blocked.stdout.contains("of group `dept-apps` is above max_group_member_removal_percent 30"),
        "{blocked:?}"
    );
    assert_eq!(ldap_groups(&slapd)["dept-apps"].len(), apps_before, "nothing written while blocked");
    let plan = json(&ldap_hrsync(&ex, NOW, &["plan", "--format", "json"]).stdout);
    let id = plan[0]["id"].as_str().unwrap().to_owned();
    let approved = ldap_hrsync(&ex, NOW, &["apply", "--approve", &id]);
    assert_eq!(approved.code, 0, "{approved:?}");
    let groups = ldap_groups(&slapd);
    assert_eq!(groups["dept-apps"].len(), apps_before - with_entry);
    assert_eq!(groups["dept-platform"].len(), platform_before + with_entry);
}

#[test]
fn a_scim_group_of_2000_changes_by_patching_only_its_difference() {
    let server = ScimServer::start();
    let proxy = Proxy::start(server.port, |_, _, _| Fault::None);
    let ex = Example::with_directory("scim.yaml", &[("https://app.acme.example/scim/v2", &proxy.url())]);
    // 2,000 more permanent staff of ACME GmbH (the static group's filter).
    let csv = ex.path("data/germany.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    for i in 0..2000 {
        text.push_str(&format!(
            "3{i:04};Viele{i};Leute{i};viele.leute{i}@acme.example;DE-PLT;Engineer;10002;Aktiv;Festangestellt;01.01.2020;;Berlin;ACME GmbH;\n"
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let first = ex.run_with(("SCIM_TOKEN", TOKEN), NOW, &["apply"]);
    assert_eq!(first.code, 0, "{first:?}");
    let group = |name: &str| -> Json {
        server.groups().into_iter().find(|g| g["displayName"] == name).unwrap_or_else(|| panic!("no {name}"))
    };
    let members = |g: &Json| g["members"].as_array().map_or(0, Vec::len);
    let permanent = group("acme-gmbh-permanent");
    assert!(members(&permanent) > 2000, "{}", members(&permanent));
    let before = members(&permanent);

    // Three leave the company's permanent staff (become contractors), two join it.
    ex.edit_germany(|_, line| {
        let mut fields: Vec<String> = line.split(';').map(str::to_owned).collect();
        if ["30001", "30002", "30003"].contains(&fields[0].as_str()) {
            fields[8] = "Werkstudent".to_owned();
        }
        Some(fields.join(";"))
    });
    let plan = json(&ex.run_with(("SCIM_TOKEN", TOKEN), NOW, &["plan", "--format", "json"]).stdout);
    let rows = &plan[0]["groups"]["rows"];
    let row = rows.as_array().unwrap().iter().find(|r| r["name"] == "acme-gmbh-permanent").unwrap();
    assert_eq!((row["add"].as_array().map_or(0, Vec::len), row["remove"].as_array().unwrap().len()), (0, 3));
    let seen = proxy.received("PATCH", "/Groups/").len();
    let applied = ex.run_with(("SCIM_TOKEN", TOKEN), NOW, &["apply"]);
    assert_eq!(applied.code, 0, "{applied:?}");
    let group_patches = proxy.received("PATCH", "/Groups/")[seen..].to_vec();
    assert_eq!(group_patches.len(), 1, "one PATCH for the one group that changed: {group_patches:?}");
    let body = &group_patches[0].body;
    let ops = body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 3, "only the difference: {body}");
    assert!(ops.iter().all(|op| op["op"] == "remove"), "{body}");
    assert_eq!(members(&group("acme-gmbh-permanent")), before - 3);
}

#[test]
fn a_department_change_in_entra_id_is_one_member_reference_removed_and_one_bound() {
    let graph = crate::graph::Graph::start();
    let ex = crate::entraid::example(&graph, "");
    let first = crate::entraid::hrsync(&ex, NOW, &["apply"]);
    assert_eq!(first.code, 0, "{first:?}");
    let user_id = |number: &str| -> String {
        let users = graph.users();
        let u = users.iter().find(|u| u["employeeId"] == number).unwrap();
        u["id"].as_str().unwrap().to_owned()
    };
    let members = |name: &str| -> Vec<String> {
        let groups = graph.groups();
        let g = groups.iter().find(|g| g["displayName"] == name).unwrap_or_else(|| panic!("no {name}"));
        g["members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_owned()).collect()
    };
    let mover = user_id("10050");
    let from = graph.users().iter().find(|u| u["employeeId"] == "10050").unwrap()["department"].clone();
    assert!(members("dept-finanzen").len() > 1);
    assert!(!members("dept-finanzen").contains(&mover), "10050 is not in Finance yet ({from})");
    let before = graph.requests().len();
    ex.set_german(&["10050"], 4, "DE-FIN");
    let moved = crate::entraid::hrsync(&ex, "2026-11-23T09:00:00Z", &["apply"]);
    assert_eq!(moved.code, 0, "{moved:?}");
    let group_writes: Vec<(String, Json)> = graph.requests()[before..]
        .iter()
        .filter(|(line, _)| line.contains("/groups/") && !line.starts_with("GET "))
        .cloned()
        .collect();
    let removals: Vec<&String> =
        group_writes.iter().map(|(l, _)| l).filter(|l| l.starts_with("DELETE ")).collect();
    let binds: Vec<&Json> =
        group_writes.iter().filter(|(l, _)| l.starts_with("PATCH ")).map(|(_, b)| b).collect();
    assert_eq!(removals.len(), 1, "{group_writes:#?}");
    assert!(removals[0].ends_with(&format!("/members/{mover}/$ref")), "{removals:?}");
    assert_eq!(binds.len(), 1, "{group_writes:#?}");
    let bound = binds[0]["members@odata.bind"].as_array().unwrap();
    assert_eq!(bound.len(), 1);
    assert!(bound[0].as_str().unwrap().ends_with(&format!("/directoryObjects/{mover}")), "{bound:?}");
    assert!(members("dept-finanzen").contains(&mover));
}

#[test]
fn groups_the_service_may_not_read_hold_back_no_account() {
    let server = ScimServer::start();
    // The SCIM service refuses its groups to this client, nothing else.
    let proxy = Proxy::start(server.port, |_, method, path| {
        if method == "GET" && path.starts_with("/Groups") { Fault::Refuse(403) } else { Fault::None }
    });
    let ex = Example::with_directory("scim.yaml", &[("https://app.acme.example/scim/v2", &proxy.url())]);
    let out = ex.run_with(("SCIM_TOKEN", TOKEN), NOW, &["run"]);
    let job = json(&out.stdout);
    let corp = &job["directories"]["corp"];
    assert_eq!(corp["created"], 143, "{out:?}");
    assert_eq!(corp["status"], "warning", "{out:?}");
    assert!(corp.get("groups").is_none(), "{corp:#}");
    let warnings = corp["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("the directory's groups could not be read (")),
        "{corp:#}"
    );
    assert!(server.groups().is_empty(), "no group written");
    assert!(proxy.received("POST", "/Groups").is_empty() && proxy.received("PATCH", "/Groups").is_empty());
}
