//! The daemon's status page at `/`, opened in a real headless Chromium (Debian's
//! `chromium`) as an operator would: the daemon runs on a copy of the example with a
//! healthy directory (the embedded `file` one), a blocked one (a second `file`
//! directory whose safety limit stops a few leavers) and a failing one (an `ldap`
//! directory pointed at a closed loopback port, in mode `plan`). The DOM Chromium
//! dumps is checked row by row, a phone-sized screenshot is kept in
//! `target/test-artifacts/status-page.png`, and the page's credentials are checked
//! (bearer, then basic) as the config in force changes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use git2::Repository;
use reqwest::Method;

use crate::daemon::{commit_all, eventually, file_on_branch, leave};
use crate::util::{KillOnDrop, copy_dir, example_directory, json, root};

/// Debian's Chromium, or `HRSYNC_TEST_CHROMIUM`.
fn chromium() -> PathBuf {
    let path =
        std::env::var_os("HRSYNC_TEST_CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: install Debian's `chromium` (`apt-get install chromium`; scripts/test installs it)",
        path.display()
    );
    path
}

/// Runs headless Chromium on `url` with `args` (a fresh profile each time), within a
/// minute; its standard output.
fn browse(url: &str, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = KillOnDrop(
        Command::new(chromium())
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
            .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        out
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        assert!(Instant::now() < deadline, "chromium did not finish within a minute");
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

/// The element whose `id` is `id`, from its start tag to its end tag (the elements
/// looked for do not nest in their own kind).
fn element<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom.find(&format!(" id=\"{id}\"")).unwrap_or_else(|| panic!("no element #{id} in {dom}"));
    let start = dom[..at].rfind('<').unwrap();
    let tag: String = dom[start + 1..].chars().take_while(char::is_ascii_alphanumeric).collect();
    let end = dom[start..].find(&format!("</{tag}>")).unwrap() + start + tag.len() + 3;
    &dom[start..end]
}

/// The text of the `td` of `class` in `row`, tags stripped and spaces collapsed.
fn cell(row: &str, class: &str) -> String {
    let at = row.find(&format!("class=\"{class}\"")).unwrap_or_else(|| panic!("no .{class} in {row}"));
    let start = row[..at].rfind('<').unwrap();
    let end = row[start..].find("</td>").unwrap() + start;
    text(&row[start..end])
}

/// `html` as text: tags left out, entities decoded, spaces collapsed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    decode(&out).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `html` with the entities the page's escaping writes decoded.
fn decode(html: &str) -> String {
    let out = html.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'");
    out.replace("&#x2f;", "/").replace("&#x27;", "'").replace("&amp;", "&")
}

/// A request: status code, the `WWW-Authenticate` header, body.
fn get(url: &str, authorization: Option<&str>) -> (u16, String, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new().request(Method::GET, url);
        if let Some(a) = authorization {
            request = request.header("Authorization", a);
        }
        match request.send().await {
            Ok(r) => {
                let challenge = r
                    .headers()
                    .get("www-authenticate")
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                (r.status().as_u16(), challenge, r.text().await.unwrap_or_default())
            }
            Err(_) => (0, String::new(), String::new()),
        }
    })
}

/// The response headers of a GET.
fn headers_of(url: &str) -> std::collections::BTreeMap<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let r = reqwest::Client::new().get(url).send().await.unwrap();
        r.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned())).collect()
    })
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// The example in `sync/` of a new git repository, with two more directories:
/// `staging` (embedded, at most 2 disables) and `ldap` (nothing listens at its port).
fn repository() -> (tempfile::TempDir, Repository) {
    let tmp = tempfile::tempdir().unwrap();
    let sync = tmp.path().join("sync");
    copy_dir(&root().join("examples/sync-repo"), &sync);
    std::fs::write(tmp.path().join(".gitignore"), ".hrsync/\n").unwrap();
    let corp = std::fs::read_to_string(sync.join("directories/corp.yaml")).unwrap();
    let staging = corp.replace("groups: {}", "groups: {}\nsafety: { max_disable_count: 2 }");
    assert_ne!(staging, corp);
    std::fs::write(sync.join("directories/staging.yaml"), staging).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("ldap://127.0.0.1:{closed}");
    let ldap = example_directory("openldap.yaml", &[("ldaps://ldap.acme.example:636", &url)])
        .replace("\nmode: apply ", "\nmode: plan ");
    std::fs::write(sync.join("directories/ldap.yaml"), ldap).unwrap();
    let repo = Repository::init(tmp.path()).unwrap();
    commit_all(&repo, "the example with three directories");
    (tmp, repo)
}

/// Replaces `from` with `to` in `hrsync.yaml` and commits it.
fn edit_workspace(repo: &Repository, sync: &Path, from: &str, to: &str, message: &str) -> git2::Oid {
    let path = sync.join("hrsync.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "hrsync.yaml holds no `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    commit_all(repo, message)
}

#[test]
fn the_page_shows_a_healthy_a_blocked_and_a_failing_directory_in_chromium_and_asks_for_credentials() {
    chromium();
    let (tmp, repo) = repository();
    let sync = tmp.path().join("sync");
    let hrsync = env!("CARGO_BIN_EXE_hrsync");
    let password = ("LDAP_PASSWORD", "not-used-nothing-listens");
    // A first run fills both embedded directories; then five people leave.
    let first = Command::new(hrsync)
        .args(["--repo", sync.to_str().unwrap(), "--now", "2026-11-22T09:00:00Z", "daemon", "--once"])
        .env(password.0, password.1)
        .output()
        .unwrap();
    let first_result = json(&String::from_utf8_lossy(&first.stdout));
    assert_eq!(first_result["directories"]["staging"]["created"], 143, "{first_result:#}");
    leave(&sync, 50..55);
    let head = commit_all(&repo, "five leave");

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let (token, page_password) = ("page-token-Kq7", "page-password-Zr4");
    let mut daemon = KillOnDrop(
        Command::new(hrsync)
            .args(["--repo", sync.to_str().unwrap(), "--now", "2026-11-22T10:00:00Z", "daemon"])
            // A port alone: on loopback.
            .args(["--listen", &port.to_string()])
            .env(password.0, password.1)
            .env("HRSYNC_RUNS_TOKEN", token)
            .env("HRSYNC_PAGE_PASSWORD", page_password)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    eventually("/readyz", || get(&format!("{base}/readyz"), None).0 == 200);
    let (code, _, status) = get(&format!("{base}/status"), None);
    assert_eq!(code, 200);
    let status = json(&status);
    let dirs = &status["directories"];
    assert_eq!(
        (&dirs["corp"]["plan_status"], &dirs["staging"]["plan_status"], &dirs["ldap"]["status"]),
        (&"ready".into(), &"blocked".into(), &"failed".into()),
        "{status:#}"
    );
    let blocked_id = dirs["staging"]["plan"].as_str().unwrap().to_owned();
    assert_eq!(file_on_branch(&repo, "reports/staging/plan.json")["id"], blocked_id.as_str());
    let ldap_reason = dirs["ldap"]["reason"].as_str().unwrap().to_owned();

    // The page as an operator opens it, and as a phone shows it.
    let dom = browse(&format!("{base}/"), &["--dump-dom"]);
    let headers = headers_of(&format!("{base}/"));
    assert_eq!(headers.get("content-type").map(String::as_str), Some("text/html; charset=utf-8"));
    assert_eq!(headers.get("cache-control").map(String::as_str), Some("no-store"));
    let csp = headers.get("content-security-policy").map(String::as_str).unwrap_or_default();
    assert!(csp.starts_with("default-src 'none'; style-src 'unsafe-inline'"), "{headers:?}");
    let artifacts = root().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("status-page.png");
    let desktop = artifacts.join("status-page-desktop.png");
    for old in [&shot, &desktop] {
        let _ = std::fs::remove_file(old);
    }
    browse(
        &format!("{base}/"),
        &[&format!("--screenshot={}", shot.display()), "--window-size=390,2600", "--hide-scrollbars"],
    );
    browse(&format!("{base}/"), &[&format!("--screenshot={}", desktop.display()), "--window-size=1400,900"]);
    for shot in [&shot, &desktop] {
        let png = std::fs::read(shot).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a screenshot in {}", shot.display());
    }

    // Landmarks, table headers, the refresh and no script.
    for needle in [
        "<html lang=\"en\">",
        "<header>",
        "<main>",
        "<footer>",
        "<nav ",
        "<caption>",
        "<th scope=\"col\" role=\"columnheader\">Directory</th>",
        "<th scope=\"row\" role=\"rowheader\" data-label=\"Directory\">",
        "<th scope=\"col\" role=\"columnheader\">Source</th>",
        "http-equiv=\"refresh\" content=\"30\"",
        "name=\"viewport\"",
    ] {
        assert!(dom.contains(needle), "{needle} in {dom}");
    }
    // No script (and the CSP would refuse to run one): it works with scripts off.
    assert!(!dom.contains("<script"), "no script: {dom}");
    assert_eq!(text(element(&dom, "revision")), &head.to_string()[..12]);
    assert!(element(&dom, "revision").contains(&format!("title=\"{head}\"")));
    assert!(text(element(&dom, "branch")).contains("refs/heads/"), "{}", element(&dom, "branch"));
    assert!(text(element(&dom, "next-run")).contains('T'), "{}", element(&dom, "next-run"));

    let time = |s: &str| s.len() >= 20 && s.as_bytes()[4] == b'-' && s.contains('T') && s.contains('Z');
    let healthy = element(&dom, "directory-corp");
    assert_eq!(cell(healthy, "mode"), "active (apply)");
    assert_eq!(cell(healthy, "kind"), "file");
    assert_eq!(cell(healthy, "health-cell"), "healthy");
    assert!(cell(healthy, "plan").ends_with("ready · applied"), "{healthy}");
    assert_eq!(cell(healthy, "counts"), "0 to create, 0 to update, 5 to disable, 0 to delete");
    assert!(time(&cell(healthy, "last-sync")), "{healthy}");
    assert!(cell(healthy, "last-sync").starts_with("2026-11-22T10:00:00Z"), "{healthy}");
    assert!(time(&cell(healthy, "next-run")), "{healthy}");
    assert_eq!(cell(healthy, "what"), "—");

    let blocked = element(&dom, "directory-staging");
    assert_eq!(cell(blocked, "mode"), "active (apply)");
    assert_eq!(cell(blocked, "health-cell"), "blocked");
    assert_eq!(cell(blocked, "plan"), format!("{blocked_id} · blocked"));
    assert!(cell(blocked, "last-sync").contains("not since the daemon started"), "{blocked}");
    assert!(time(&cell(blocked, "next-run")), "{blocked}");
    let what = cell(blocked, "what");
    assert!(
        what.starts_with(
            "Blocked by the safety limits: 5 disables and deletes are above max_disable_count 2."
        ),
        "{what}"
    );
    assert!(
        what.contains(&format!(
            "approve this exact plan with hrsync apply --approve {blocked_id}, or add {blocked_id} to approvals in hrsync.yaml through a reviewed commit"
        )),
        "{what}"
    );

    let failing = element(&dom, "directory-ldap");
    assert_eq!(cell(failing, "mode"), "simulation (plan)");
    assert_eq!(cell(failing, "kind"), "ldap");
    assert_eq!(cell(failing, "health-cell"), "failed");
    assert!(cell(failing, "last-sync").contains("not since the daemon started"), "{failing}");
    assert!(time(&cell(failing, "next-run")), "{failing}");
    assert_eq!(cell(failing, "what"), text(&ldap_reason));
    assert!(ldap_reason.contains("Connection refused"), "{ldap_reason}");

    let germany = element(&dom, "source-germany");
    assert_eq!(cell(germany, "health-cell"), "warning", "one skipped row");
    assert!(cell(germany, "records").ends_with("1 row skipped"), "{germany}");
    assert!(cell(germany, "last-sync").starts_with("2026-11-22T10:00:00Z"), "{germany}");
    assert_eq!(cell(element(&dom, "source-france"), "health-cell"), "healthy");
    assert_eq!(text(element(&dom, "overall")), "failed");

    // Bearer credentials, from the config in force, for / and /status; the probes and
    // the metrics stay open.
    let config = edit_workspace(
        &repo,
        &sync,
        "approvals: []",
        "approvals: []\nstatus_page:\n  history_url: \"https://git.acme.example/idm/sync/commits/{branch}/{path}\"\n  auth: bearer",
        "the page needs the runs token",
    );
    eventually("the bearer guard", || get(&format!("{base}/"), None).0 == 401);
    let (_, challenge, _) = get(&format!("{base}/"), None);
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert_eq!(get(&format!("{base}/status"), None).0, 401);
    assert_eq!(get(&format!("{base}/"), Some("Bearer wrong")).0, 401);
    assert_eq!(get(&format!("{base}/"), Some(&basic("ops", token))).0, 401);
    for open in ["healthz", "readyz", "metrics"] {
        assert_eq!(get(&format!("{base}/{open}"), None).0, 200, "/{open} stays open");
    }
    let bearer = format!("Bearer {token}");
    eventually("the new config's page", || {
        get(&format!("{base}/"), Some(&bearer)).2.contains(&config.to_string()[..12])
    });
    let (code, _, page) = get(&format!("{base}/"), Some(&bearer));
    assert_eq!(code, 200);
    let page = decode(&page);
    assert!(
        page.contains(
            "href=\"https://git.acme.example/idm/sync/commits/hrsync/reports/reports/staging\" class=\"history\""
        ),
        "{page}"
    );
    assert!(
        page.contains("href=\"https://git.acme.example/idm/sync/commits/hrsync/reports/reports\""),
        "{page}"
    );
    assert_eq!(get(&format!("{base}/status"), Some(&bearer)).0, 200);

    // Basic credentials with a password reference.
    edit_workspace(
        &repo,
        &sync,
        "  auth: bearer",
        "  auth: { basic: { username: ops, password: \"${env:HRSYNC_PAGE_PASSWORD}\" } }",
        "the page needs a password",
    );
    eventually("the basic guard", || get(&format!("{base}/"), Some(&bearer)).0 == 401);
    let (_, challenge, _) = get(&format!("{base}/"), None);
    assert!(challenge.starts_with("Basic realm="), "{challenge}");
    assert_eq!(get(&format!("{base}/"), Some(&basic("ops", "wrong"))).0, 401);
    assert_eq!(get(&format!("{base}/"), Some(&basic("root", page_password))).0, 401);
    assert_eq!(get(&format!("{base}/"), Some(&basic("ops", page_password))).0, 200);
    assert_eq!(get(&format!("{base}/status"), Some(&basic("ops", page_password))).0, 200);

    Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap();
    eventually("the daemon to stop", || daemon.try_wait().unwrap().is_some());
    let mut log = String::new();
    std::io::Read::read_to_string(&mut daemon.stderr.take().unwrap(), &mut log).unwrap();
    assert!(!log.contains(token) && !log.contains(page_password), "secrets stay out of logs: {log}");
    assert!(log.contains(&format!("127.0.0.1:{port}")), "a port alone listens on loopback: {log}");
}

#[test]
fn explain_answers_from_the_page_masked_and_behind_the_pages_credentials() {
    chromium();
    let tmp = tempfile::tempdir().unwrap();
    let sync = tmp.path().join("sync");
    copy_dir(&root().join("examples/sync-repo"), &sync);
    std::fs::write(tmp.path().join(".gitignore"), ".hrsync/\n").unwrap();
    let repo = Repository::init(tmp.path()).unwrap();
    commit_all(&repo, "the example");
    let hrsync = env!("CARGO_BIN_EXE_hrsync");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let token = "page-token-Xb2";
    let mut daemon = KillOnDrop(
        Command::new(hrsync)
            .args(["--repo", sync.to_str().unwrap(), "--now", "2026-11-22T09:00:00Z", "daemon"])
            .args(["--listen", &port.to_string()])
            .env("HRSYNC_RUNS_TOKEN", token)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    eventually("/readyz", || get(&format!("{base}/readyz"), None).0 == 200);
    // The status page offers the question.
    let page = browse(&format!("{base}/"), &["--dump-dom"]);
    let form = element(&page, "explain");
    assert!(form.contains("action=\"/explain\"") && form.contains("name=\"person\""), "{form}");
    // Asked by e-mail, in Chromium: the answer on top, the example's `pii: masked` kept.
    let dom = browse(&format!("{base}/explain?person=mila.schuster%40acme.example"), &["--dump-dom"]);
    let answer = element(&dom, "answer");
    assert!(answer.contains("data-verdict=\"future_joiner\""), "{answer}");
    assert_eq!(
        decode(&text(answer)).trim(),
        "M… S…: will be created in corp on 2027-03-18, 14 days before the start date 2027-04-01 (joiners.pre_provision_days)."
    );
    assert!(answer.contains("<code>corp</code>"), "the Markdown's code spans are code: {answer}");
    for personal in ["Mila", "Schuster", "mila.schuster", "10098"] {
        assert!(!dom.contains(personal), "{personal} in {dom}");
    }
    assert!(dom.contains("data-check=\"filter\""), "the checks follow: {dom}");
    // The same as JSON, by employee number.
    let (code, _, body) = get(&format!("{base}/explain?person=10097&format=json"), None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["verdict"], "filtered_out");
    let (code, _, body) = get(&format!("{base}/explain?person=%20"), None);
    assert_eq!(code, 400, "{body}");
    // Behind the page's credentials when the config asks for them.
    edit_workspace(
        &repo,
        &sync,
        "approvals: []",
        "approvals: []\nstatus_page:\n  auth: bearer",
        "guard the page",
    );
    eventually("the bearer guard", || get(&format!("{base}/explain?person=10097"), None).0 == 401);
    let (code, _, body) =
        get(&format!("{base}/explain?person=10097&format=json"), Some(&format!("Bearer {token}")));
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["verdict"], "filtered_out");
    assert!(daemon.try_wait().unwrap().is_none(), "the daemon still runs");
}
