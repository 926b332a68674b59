//! The group methods of the SCIM, Entra ID and embedded directories, called directly:
//! against the real scim2-server (through the recording proxy of `scim_server.rs`), the
//! Graph fake of `graph.rs` (whose log tells what was sent) and the file system. Each
//! directory creates a group with members, reads it back, adds and removes members by
//! their difference only, renames it under the same id, finds a repeated change done,
//! and deletes it; a group of 2,000 changes by five members with five members sent.

use std::collections::BTreeSet;
use std::time::Duration;

use hrsync::config::spec::PasswordSpec;
use hrsync::config::{Auth, EntraSettings, GroupClass, GroupSettings, HttpSettings, SecretRef};
use hrsync::directory::entraid::EntraDirectory;
use hrsync::directory::file::FileDirectory;
use hrsync::directory::scim::ScimDirectory;
use hrsync::directory::{Directory, DirectoryError, Group, GroupChange, NewGroup, read_all};
use hrsync::model::DirectoryId;
use serde_json::{Value as Json, json};

use crate::graph::{CLIENT_ID, CLIENT_SECRET, Fault as GraphFault, Graph, REFERENCES_PER_REQUEST};
use crate::scim_server::{Fault, Proxy, Recorded, ScimServer, TOKEN};

const SCIM_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const SCIM_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn native_groups(key_attribute: &str) -> Option<GroupSettings> {
    Some(GroupSettings { container: None, class: GroupClass::Native, key_attribute: key_attribute.into() })
}

/// A file holding `secret`, kept as long as the returned guard.
fn secret_file(secret: &str) -> (tempfile::TempDir, SecretRef) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    std::fs::write(&path, secret).unwrap();
    let reference = SecretRef::File(path.to_string_lossy().into_owned());
    (dir, reference)
}

fn http_settings(url: String, auth: Auth, page_size: u32) -> HttpSettings {
    HttpSettings {
        url,
        auth,
        ca_file: None,
        timeout: Duration::from_secs(20),
        concurrency: 4,
        retries: 2,
        backoff: Duration::from_millis(50),
        page_size,
    }
}

fn new_group(name: &str, key: &str, members: &[String]) -> NewGroup {
    NewGroup { name: name.into(), key: key.into(), members: members.to_vec() }
}

fn change(add: &[&str], remove: &[&str]) -> GroupChange {
    GroupChange {
        rename: None,
        add: add.iter().map(|s| s.to_string()).collect(),
        remove: remove.iter().map(|s| s.to_string()).collect(),
    }
}

fn members(group: &Group) -> BTreeSet<String> {
    group.members.iter().cloned().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn find<'a>(groups: &'a [Group], id: &str) -> &'a Group {
    groups.iter().find(|g| g.id == id).unwrap_or_else(|| panic!("group {id} in {groups:#?}"))
}

// --- SCIM -----------------------------------------------------------------------------

struct Scim {
    server: ScimServer,
    proxy: Proxy,
    _secret: tempfile::TempDir,
    directory: ScimDirectory,
}

fn scim_with(rule: impl Fn(usize, &str, &str) -> Fault + Send + Sync + 'static, page_size: u32) -> Scim {
    let server = ScimServer::start();
    let proxy = Proxy::start(server.port, rule);
    let (secret, token) = secret_file(TOKEN);
    let settings = http_settings(proxy.url(), Auth::Bearer(token), page_size);
    let directory = ScimDirectory::new(DirectoryId::new_unchecked("scim"), &settings, vec![], None)
        .with_groups(native_groups("externalId"));
    Scim { server, proxy, _secret: secret, directory }
}

fn scim() -> Scim {
    scim_with(|_, _, _| Fault::None, 100)
}

impl Scim {
    /// A user made directly at the server; its id.
    fn user(&self, name: &str) -> String {
        let user = self.server.create(json!({"schemas": [SCIM_USER], "userName": name}));
        user["id"].as_str().unwrap().to_owned()
    }

    /// The PATCH requests sent to groups.
    fn patches(&self) -> Vec<Recorded> {
        self.proxy.received("PATCH", "/Groups/")
    }
}

/// The members a PATCH adds and removes, from its operations.
fn scim_patch_members(patch: &Recorded) -> (Vec<String>, Vec<String>) {
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for op in patch.body["Operations"].as_array().unwrap() {
        match (op["op"].as_str().unwrap(), op["path"].as_str().unwrap()) {
            ("add", "members") => added.extend(
                op["value"].as_array().unwrap().iter().map(|v| v["value"].as_str().unwrap().to_owned()),
            ),
            ("remove", path) => {
                let filter = path.strip_prefix("members[value eq ").unwrap().strip_suffix(']').unwrap();
                removed.push(serde_json::from_str::<String>(filter).unwrap());
            }
            ("replace", "displayName") => {}
            other => panic!("an operation hrsync must not send: {other:?} in {}", patch.body),
        }
    }
    (added, removed)
}

#[test]
fn scim_groups_are_created_read_changed_by_their_difference_and_deleted() {
    let scim = scim();
    let rt = runtime();
    let [ada, bob, cy] = ["ada", "bob", "cy"].map(|n| scim.user(n));
    // A group someone made by hand: listed, without a key.
    scim.server.create_group(json!({"schemas": [SCIM_GROUP], "displayName": "Printers"}));

    let id = rt
        .block_on(scim.directory.create_group(&new_group(
            "R&D",
            "hrsync:dept:rd",
            &[ada.clone(), bob.clone()],
        )))
        .unwrap();
    let posts = scim.proxy.received("POST", "/Groups");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].body["externalId"], "hrsync:dept:rd", "{}", posts[0].body);
    assert_eq!(posts[0].body["schemas"], json!([SCIM_GROUP]));

    let groups = rt.block_on(scim.directory.read_groups()).unwrap();
    assert_eq!(groups.len(), 2, "{groups:#?}");
    let rd = find(&groups, &id);
    assert_eq!((rd.name.as_str(), rd.key.as_deref()), ("R&D", Some("hrsync:dept:rd")));
    assert_eq!(members(rd), set(&[&ada, &bob]));
    let printers = groups.iter().find(|g| g.name == "Printers").unwrap();
    assert_eq!((printers.key.as_deref(), printers.members.len()), (None, 0));

    // Cy joins, Ada leaves: one PATCH with those two, nothing else.
    let delta = change(&[&cy], &[&ada]);
    assert_eq!(rt.block_on(scim.directory.change_group(&id, &delta)).unwrap(), id);
    let patches = scim.patches();
    assert_eq!(patches.len(), 1, "{patches:#?}");
    assert_eq!(scim_patch_members(&patches[0]), (vec![cy.clone()], vec![ada.clone()]));
    let groups = rt.block_on(scim.directory.read_groups()).unwrap();
    assert_eq!(members(find(&groups, &id)), set(&[&bob, &cy]));

    // The same change again (a retried apply) finds its work done.
    rt.block_on(scim.directory.change_group(&id, &delta)).unwrap();
    let groups = rt.block_on(scim.directory.read_groups()).unwrap();
    assert_eq!(members(find(&groups, &id)), set(&[&bob, &cy]));
    assert_eq!(find(&groups, &id).members.len(), 2, "no member twice");

    // A rename keeps the id and the members.
    let rename = GroupChange { rename: Some("Research".into()), ..GroupChange::default() };
    assert_eq!(rt.block_on(scim.directory.change_group(&id, &rename)).unwrap(), id);
    let last = scim.patches().pop().unwrap();
    assert_eq!(
        last.body["Operations"],
        json!([{"op": "replace", "path": "displayName", "value": "Research"}])
    );
    let groups = rt.block_on(scim.directory.read_groups()).unwrap();
    let research = find(&groups, &id);
    assert_eq!((research.name.as_str(), members(research)), ("Research", set(&[&bob, &cy])));
    assert_eq!(research.key.as_deref(), Some("hrsync:dept:rd"));

    // Never the membership as a whole: no PUT, no replace of `members`.
    let requests = scim.proxy.requests.lock().unwrap().clone();
    assert!(requests.iter().all(|r| r.method != "PUT"), "{requests:#?}");
    for patch in scim.patches() {
        scim_patch_members(&patch);
    }

    rt.block_on(scim.directory.delete_group(&id)).unwrap();
    let groups = rt.block_on(scim.directory.read_groups()).unwrap();
    assert!(groups.iter().all(|g| g.id != id), "{groups:#?}");
    assert!(matches!(rt.block_on(scim.directory.delete_group(&id)), Err(DirectoryError::NotFound(..))));
    assert!(matches!(
        rt.block_on(scim.directory.change_group(&id, &change(&[&ada], &[]))),
        Err(DirectoryError::NotFound(..))
    ));
}

#[test]
fn a_scim_group_of_2000_is_made_in_small_requests_and_changes_by_five_members() {
    let scim = scim();
    let rt = runtime();
    // scim2-server does not check member references: ids of users it does not hold do
    // for counting what is sent.
    let all: Vec<String> = (0..2000).map(|i| format!("user-{i:04}")).collect();
    let id = rt.block_on(scim.directory.create_group(&new_group("All", "hrsync:all:x", &all))).unwrap();
    let post = &scim.proxy.received("POST", "/Groups")[0];
    assert_eq!(post.body["members"].as_array().unwrap().len(), 100);
    let patches = scim.patches();
    assert_eq!(patches.len(), 19, "the other 1,900, 100 a request");
    let mut sent: BTreeSet<String> = post.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    for patch in &patches {
        let (added, removed) = scim_patch_members(patch);
        assert!(added.len() <= 100 && removed.is_empty());
        sent.extend(added);
    }
    assert_eq!(sent.len(), 2000);
    let groups = rt.block_on(scim.directory.read_groups()).unwrap();
    assert_eq!(find(&groups, &id).members.len(), 2000);

    let before = scim.proxy.requests.lock().unwrap().len();
    let delta = change(&["new-1", "new-2", "new-3"], &["user-0007", "user-1999"]);
    rt.block_on(scim.directory.change_group(&id, &delta)).unwrap();
    let requests: Vec<Recorded> = scim.proxy.requests.lock().unwrap()[before..].to_vec();
    assert_eq!(requests.len(), 1, "one PATCH, no read: {requests:#?}");
    let (added, removed) = scim_patch_members(&requests[0]);
    assert_eq!(added, vec!["new-1", "new-2", "new-3"]);
    assert_eq!(removed, vec!["user-0007", "user-1999"]);

    let groups = rt.block_on(scim.directory.read_groups()).unwrap();
    let now = members(find(&groups, &id));
    assert_eq!(now.len(), 2001);
    assert!(now.contains("new-2") && !now.contains("user-0007") && now.contains("user-0008"));
    let at_server = scim.server.groups();
    assert_eq!(at_server.len(), 1);
    assert_eq!(at_server[0]["members"].as_array().unwrap().len(), 2001, "as the server holds it");
}

#[test]
fn a_scim_server_that_refuses_work_already_done_gets_only_what_is_left() {
    // The first PATCH of a group is answered noTarget, as a server may answer a removal
    // of a member the group does not have (RFC 7644 §3.12).
    let first = std::sync::atomic::AtomicBool::new(true);
    let scim = scim_with(
        move |_, method, path| {
            let patch = method == "PATCH" && path.starts_with("/Groups/");
            if patch && first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                Fault::NoTarget
            } else {
                Fault::None
            }
        },
        100,
    );
    let rt = runtime();
    let [ada, bob] = ["ada", "bob"].map(|n| scim.user(n));
    let id = rt
        .block_on(scim.directory.create_group(&new_group("Ops", "hrsync:ops:x", std::slice::from_ref(&ada))))
        .unwrap();
    // Ada is a member already, "gone" never was: only Bob is left to add.
    rt.block_on(scim.directory.change_group(&id, &change(&[&ada, &bob], &["gone"]))).unwrap();
    assert_eq!(scim.proxy.injected(Fault::NoTarget), 1);
    let reads = scim.proxy.received("GET", &format!("/Groups/{id}"));
    assert_eq!(reads.len(), 1, "the members are read once");
    assert!(reads[0].path.contains("attributes=members"), "{}", reads[0].path);
    let patches = scim.patches();
    assert_eq!(patches.len(), 2);
    assert_eq!(scim_patch_members(&patches[1]), (vec![bob.clone()], vec![]));
    let groups = rt.block_on(scim.directory.read_groups()).unwrap();
    assert_eq!(members(find(&groups, &id)), set(&[&ada, &bob]));
}

#[test]
fn a_scim_group_whose_create_answer_is_lost_is_found_by_its_key_not_made_twice() {
    // The server makes the group, then the connection drops before its answer.
    let first = std::sync::atomic::AtomicBool::new(true);
    let scim = scim_with(
        move |_, method, path| {
            let create = method == "POST" && path.starts_with("/Groups");
            if create && first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                Fault::DropAnswer
            } else {
                Fault::None
            }
        },
        100,
    );
    let rt = runtime();
    let ada = scim.user("ada");
    let id = rt
        .block_on(scim.directory.create_group(&new_group("Ops", "hrsync:ops:x", std::slice::from_ref(&ada))))
        .unwrap();
    assert_eq!(scim.proxy.injected(Fault::DropAnswer), 1);
    assert_eq!(scim.proxy.received("POST", "/Groups").len(), 1, "looked up, not posted again");
    let groups = rt.block_on(scim.directory.read_groups()).unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].id, id);
    assert_eq!(members(&groups[0]), set(&[&ada]));
}

#[test]
fn scim_groups_are_read_page_by_page_and_a_short_list_is_an_error() {
    // The third page of the second read claims more groups than it lists.
    let reads = std::sync::atomic::AtomicUsize::new(0);
    let scim = scim_with(
        move |_, method, path| {
            if method == "GET" && path.starts_with("/Groups?") && path.contains("startIndex=7") {
                let n = reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n == 1 {
                    return Fault::Answer(
                        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":7,"startIndex":7,"itemsPerPage":0,"Resources":[]}"#,
                    );
                }
            }
            Fault::None
        },
        3,
    );
    let rt = runtime();
    let mut ids = BTreeSet::new();
    for i in 0..7 {
        ids.insert(
            rt.block_on(scim.directory.create_group(&new_group(
                &format!("G{i}"),
                &format!("hrsync:g:{i}"),
                &[],
            )))
            .unwrap(),
        );
    }
    let groups = rt.block_on(scim.directory.read_groups()).unwrap();
    assert_eq!(groups.iter().map(|g| g.id.clone()).collect::<BTreeSet<_>>(), ids);
    assert_eq!(scim.proxy.received("GET", "/Groups?").len(), 3, "pages of 3");
    let short = rt.block_on(scim.directory.read_groups());
    assert!(matches!(&short, Err(DirectoryError::Unavailable { .. })), "{short:?}");
    let message = hrsync::model::error_chain(&short.unwrap_err());
    assert!(message.contains("6 of 7"), "{message}");
}

#[test]
fn without_groups_a_scim_directory_reads_none_and_writes_none() {
    let server = ScimServer::start();
    let proxy = Proxy::start(server.port, |_, _, _| Fault::None);
    let (_secret, token) = secret_file(TOKEN);
    let settings = http_settings(proxy.url(), Auth::Bearer(token), 100);
    let directory = ScimDirectory::new(DirectoryId::new_unchecked("scim"), &settings, vec![], None);
    let rt = runtime();
    assert!(rt.block_on(directory.read_groups()).unwrap().is_empty());
    let create = rt.block_on(directory.create_group(&new_group("A", "hrsync:a:a", &[])));
    assert!(matches!(create, Err(DirectoryError::Rejected(_))), "{create:?}");
    assert!(proxy.requests.lock().unwrap().is_empty(), "nothing asked of the server");
}

// --- Entra ID -------------------------------------------------------------------------

struct Entra {
    graph: Graph,
    _secret: tempfile::TempDir,
    directory: EntraDirectory,
}

fn entra_with(graph: Graph) -> Entra {
    let (secret, client_secret) = secret_file(CLIENT_SECRET);
    let auth = Auth::ClientCredentials {
        token_url: graph.token_url(),
        client_id: CLIENT_ID.into(),
        client_secret,
        scope: Some("https://graph.microsoft.com/.default".into()),
    };
    let settings = EntraSettings {
        http: http_settings(graph.url(), auth, 100),
        passwords: PasswordSpec { length: 24, change_at_first_sign_in: true },
        batch: true,
    };
    let directory = EntraDirectory::new(DirectoryId::new_unchecked("entra"), &settings, vec![], None)
        .with_groups(native_groups("description"));
    Entra { graph, _secret: secret, directory }
}

impl Entra {
    fn user(&self, name: &str) -> String {
        self.graph.insert(json!({
            "displayName": name,
            "userPrincipalName": format!("{name}@acme.example"),
            "accountEnabled": true,
        }))
    }

    /// Requests after the first `skip`, as `(line, body)`, without token requests.
    fn since(&self, skip: usize) -> Vec<(String, Json)> {
        self.graph.requests()[skip..].to_vec()
    }
}

/// The directory object ids a `members@odata.bind` holds.
fn bound(body: &Json) -> Vec<String> {
    body["members@odata.bind"]
        .as_array()
        .map(|refs| refs.iter().map(|r| r.as_str().unwrap().rsplit('/').next().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[test]
fn entra_groups_are_created_read_changed_by_their_difference_and_deleted() {
    let entra = entra_with(Graph::start());
    let rt = runtime();
    let [ada, bob, cy] = ["ada", "bob", "cy"].map(|n| entra.user(n));
    let foreign = entra.graph.insert_group(
        json!({"displayName": "All staff", "mailEnabled": false, "securityEnabled": true, "mailNickname": "allstaff"}),
        &[&ada, &bob],
    );

    let id = rt
        .block_on(entra.directory.create_group(&new_group(
            "R&D Berlin",
            "hrsync:dept:rd",
            &[ada.clone(), bob.clone()],
        )))
        .unwrap();
    let (line, body) = entra.graph.requests().into_iter().find(|(l, _)| l == "POST /v1.0/groups").unwrap();
    assert_eq!(line, "POST /v1.0/groups");
    assert_eq!(body["mailEnabled"], false);
    assert_eq!(body["securityEnabled"], true);
    assert_eq!(body["mailNickname"], "RDBerlin");
    assert_eq!(body["description"], "hrsync:dept:rd");
    assert_eq!(bound(&body), vec![ada.clone(), bob.clone()]);

    let before = entra.graph.requests().len();
    let groups = rt.block_on(entra.directory.read_groups()).unwrap();
    assert_eq!(groups.len(), 2);
    let rd = find(&groups, &id);
    assert_eq!((rd.name.as_str(), rd.key.as_deref()), ("R&D Berlin", Some("hrsync:dept:rd")));
    assert_eq!(members(rd), set(&[&ada, &bob]));
    let all_staff = find(&groups, &foreign);
    assert!(all_staff.members.is_empty(), "a group hrsync does not own is listed without its members");
    let lines: Vec<String> = entra.since(before).into_iter().map(|(l, _)| l).collect();
    assert!(lines.iter().all(|l| !l.contains(&format!("/groups/{foreign}/members"))), "{lines:#?}");

    // Cy joins, Ada leaves: one bind of Cy, one removal of Ada.
    let before = entra.graph.requests().len();
    assert_eq!(rt.block_on(entra.directory.change_group(&id, &change(&[&cy], &[&ada]))).unwrap(), id);
    let sent = entra.since(before);
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(sent[0].0, format!("PATCH /v1.0/groups/{id}"));
    assert_eq!(bound(&sent[0].1), vec![cy.clone()]);
    assert_eq!(sent[1].0, format!("DELETE /v1.0/groups/{id}/members/{ada}/$ref"));
    let groups = rt.block_on(entra.directory.read_groups()).unwrap();
    assert_eq!(members(find(&groups, &id)), set(&[&bob, &cy]));

    // The same change again (a retried apply): Graph refuses the bind of a member and
    // knows no Ada to remove; both are work done.
    let before = entra.graph.requests().len();
    rt.block_on(entra.directory.change_group(&id, &change(&[&cy], &[&ada]))).unwrap();
    let lines: Vec<String> = entra.since(before).into_iter().map(|(l, _)| l).collect();
    assert_eq!(
        lines,
        vec![
            format!("PATCH /v1.0/groups/{id}"),
            format!("POST /v1.0/groups/{id}/members/$ref"),
            format!("DELETE /v1.0/groups/{id}/members/{ada}/$ref"),
        ],
        "the refused bind is sent again one by one"
    );
    let groups = rt.block_on(entra.directory.read_groups()).unwrap();
    assert_eq!(members(find(&groups, &id)), set(&[&bob, &cy]));

    let rename = GroupChange { rename: Some("Research".into()), ..GroupChange::default() };
    let before = entra.graph.requests().len();
    assert_eq!(rt.block_on(entra.directory.change_group(&id, &rename)).unwrap(), id);
    let sent = entra.since(before);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, json!({"displayName": "Research"}));
    let groups = rt.block_on(entra.directory.read_groups()).unwrap();
    let research = find(&groups, &id);
    assert_eq!((research.name.as_str(), research.key.as_deref()), ("Research", Some("hrsync:dept:rd")));
    assert_eq!(members(research), set(&[&bob, &cy]));

    // A member Graph does not know is refused with Graph's answer; the group is there.
    let unknown = rt.block_on(entra.directory.change_group(&id, &change(&["0000-gone"], &[])));
    assert!(matches!(&unknown, Err(DirectoryError::Rejected(_))), "{unknown:?}");
    assert!(hrsync::model::error_chain(&unknown.unwrap_err()).contains("0000-gone"));
    let create =
        rt.block_on(entra.directory.create_group(&new_group("Bad", "hrsync:bad:x", &["0000-gone".into()])));
    assert!(matches!(&create, Err(DirectoryError::Rejected(_))), "{create:?}");
    assert_eq!(entra.graph.groups().len(), 2, "Graph made no group");

    rt.block_on(entra.directory.delete_group(&id)).unwrap();
    assert!(rt.block_on(entra.directory.read_groups()).unwrap().iter().all(|g| g.id != id));
    assert!(matches!(rt.block_on(entra.directory.delete_group(&id)), Err(DirectoryError::NotFound(..))));
}

#[test]
fn an_entra_group_of_2000_is_bound_20_at_a_time_and_changes_by_five_members() {
    let entra = entra_with(Graph::start());
    let rt = runtime();
    let users: Vec<String> = (0..2005).map(|i| entra.user(&format!("u{i:04}"))).collect();
    let (all, extra) = users.split_at(2000);
    let id = rt.block_on(entra.directory.create_group(&new_group("All", "hrsync:all:x", all))).unwrap();
    let writes: Vec<(String, Json)> =
        entra.graph.requests().into_iter().filter(|(l, _)| !l.starts_with("GET ")).collect();
    assert_eq!(writes.len(), 100, "one POST and 99 PATCHes of 20");
    let mut sent = BTreeSet::new();
    for (_, body) in &writes {
        let refs = bound(body);
        assert!(refs.len() <= REFERENCES_PER_REQUEST, "{}", refs.len());
        sent.extend(refs);
    }
    assert_eq!(sent.len(), 2000);
    let groups = rt.block_on(entra.directory.read_groups()).unwrap();
    assert_eq!(find(&groups, &id).members.len(), 2000);

    let before = entra.graph.requests().len();
    let delta = GroupChange {
        rename: None,
        add: extra[..3].to_vec(),
        remove: vec![all[7].clone(), all[1999].clone()],
    };
    rt.block_on(entra.directory.change_group(&id, &delta)).unwrap();
    let sent = entra.since(before);
    assert_eq!(sent.len(), 3, "one bind of three, two removals: {sent:#?}");
    assert_eq!(bound(&sent[0].1), extra[..3].to_vec());
    let removed: BTreeSet<String> = sent[1..].iter().map(|(l, _)| l.clone()).collect();
    let expected: BTreeSet<String> =
        [&all[7], &all[1999]].iter().map(|m| format!("DELETE /v1.0/groups/{id}/members/{m}/$ref")).collect();
    assert_eq!(removed, expected);
    let groups = rt.block_on(entra.directory.read_groups()).unwrap();
    let now = members(find(&groups, &id));
    assert_eq!(now.len(), 2001);
    assert!(now.contains(&extra[2]) && !now.contains(&all[7]) && now.contains(&all[8]));
}

#[test]
fn members_graph_does_not_know_yet_in_a_new_group_are_asked_again() {
    // Graph's replicas may not know a group created a moment ago ("Add members"): the
    // first bind after the create is refused once.
    let first = std::sync::atomic::AtomicBool::new(true);
    let graph = Graph::with_faults(move |_, method, path, _| {
        let bind = method == "PATCH" && path.starts_with("/v1.0/groups/");
        if bind && first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            GraphFault::Refuse(404)
        } else {
            GraphFault::None
        }
    });
    let entra = entra_with(graph);
    let rt = runtime();
    let users: Vec<String> = (0..25).map(|i| entra.user(&format!("u{i}"))).collect();
    let id = rt.block_on(entra.directory.create_group(&new_group("Team", "hrsync:team:x", &users))).unwrap();
    assert_eq!(entra.graph.injected(GraphFault::Refuse(404)), 1);
    let patches: Vec<Json> =
        entra.graph.requests().into_iter().filter(|(l, _)| l.starts_with("PATCH ")).map(|(_, b)| b).collect();
    assert_eq!(patches.len(), 2, "the refused bind, asked again");
    assert_eq!(patches[0], patches[1]);
    let groups = rt.block_on(entra.directory.read_groups()).unwrap();
    assert_eq!(members(find(&groups, &id)), users.iter().cloned().collect());
}

#[test]
fn the_graph_fake_refuses_what_graph_refuses() {
    let graph = Graph::start();
    let users: Vec<String> = (0..21).map(|i| graph.insert(json!({"displayName": format!("u{i}")}))).collect();
    let group = graph.insert_group(json!({"displayName": "G"}), &[&users[0]]);
    let rt = runtime();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let token: Json = client
            .post(graph.token_url())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"].as_str().unwrap().to_owned();
        let refs = |ids: &[String]| -> Vec<String> {
            ids.iter().map(|id| format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")).collect()
        };
        let patch = |body: Json| {
            client.patch(format!("{}/groups/{group}", graph.url())).bearer_auth(&token).json(&body).send()
        };
        let too_many = patch(json!({"members@odata.bind": refs(&users)})).await.unwrap();
        assert_eq!(too_many.status(), 400, "21 references");
        let duplicate = patch(json!({"members@odata.bind": refs(&users[..2])})).await.unwrap();
        assert_eq!(duplicate.status(), 400);
        let error: Json = duplicate.json().await.unwrap();
        assert!(error["error"]["message"].as_str().unwrap().contains("already exist"), "{error}");
        let twenty = patch(json!({"members@odata.bind": refs(&users[1..])})).await.unwrap();
        assert_eq!(twenty.status(), 204);
        let remove = |member: String| {
            client
                .delete(format!("{}/groups/{group}/members/{member}/$ref", graph.url()))
                .bearer_auth(&token)
                .send()
        };
        assert_eq!(remove(users[3].clone()).await.unwrap().status(), 204);
        assert_eq!(remove(users[3].clone()).await.unwrap().status(), 404, "not a member any more");
    });
    let groups = graph.groups();
    assert_eq!(groups[0]["members"].as_array().unwrap().len(), 20, "the refused binds added no one");
}

// --- The embedded directory -----------------------------------------------------------

#[test]
fn file_groups_change_by_their_difference_and_stay_apart_from_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("people");
    let directory = FileDirectory::new(DirectoryId::new_unchecked("file"), folder.clone(), "uid".into())
        .with_groups(native_groups("key"));
    let rt = runtime();
    let entry = hrsync::directory::NewEntry::new(
        [("uid".to_owned(), hrsync::model::Value::One("ada".into()))].into(),
        true,
    );
    rt.block_on(directory.create(&entry)).unwrap();
    let all: Vec<String> = (0..2000).map(|i| format!("user-{i:04}")).collect();
    let id = rt.block_on(directory.create_group(&new_group("All", "hrsync:all:x", &all))).unwrap();
    let other = rt.block_on(directory.create_group(&new_group("Few", "hrsync:few:x", &[]))).unwrap();
    assert_ne!(id, other);
    let entries = rt.block_on(read_all(&directory)).unwrap();
    assert_eq!(
        entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        vec!["ada"],
        "groups are not entries"
    );

    let untouched = std::fs::read(folder.join("groups").join(format!("{other}.json"))).unwrap();
    let delta = change(&["new-1", "new-2", "new-3"], &["user-0007", "user-1999"]);
    assert_eq!(rt.block_on(directory.change_group(&id, &delta)).unwrap(), id);
    rt.block_on(directory.change_group(&id, &delta)).unwrap();
    let rename = GroupChange { rename: Some("Everyone".into()), ..GroupChange::default() };
    assert_eq!(rt.block_on(directory.change_group(&id, &rename)).unwrap(), id);
    assert_eq!(std::fs::read(folder.join("groups").join(format!("{other}.json"))).unwrap(), untouched);

    let groups = rt.block_on(directory.read_groups()).unwrap();
    let everyone = find(&groups, &id);
    assert_eq!((everyone.name.as_str(), everyone.key.as_deref()), ("Everyone", Some("hrsync:all:x")));
    let now = members(everyone);
    assert_eq!(now.len(), 2001);
    assert!(now.contains("new-3") && !now.contains("user-1999"));
    let leftovers: Vec<_> = std::fs::read_dir(folder.join("groups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    rt.block_on(directory.delete_group(&id)).unwrap();
    assert_eq!(rt.block_on(directory.read_groups()).unwrap().len(), 1);
    assert!(matches!(rt.block_on(directory.delete_group(&id)), Err(DirectoryError::NotFound(..))));
}
