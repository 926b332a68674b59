//! Notifications of `hrsync daemon --once` and of the watching daemon against a local HTTP
//! receiver (the generic webhook, with its HMAC checked, and Slack- and Teams-shaped
//! webhooks) and real SMTP servers (aiosmtpd with STARTTLS, with a login, with SMTPS and
//! without TLS; certificates for 127.0.0.1; Maildirs): one message per change of state on
//! each channel, nothing for the same state again (another run, SIGHUP), a receiver that
//! is down failing no run and getting the change exactly once when it is back, and no
//! secret in the logs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use git2::Repository;
use hmac::{KeyInit, Mac};

use crate::daemon::{commit_all, eventually, file_on_branch, leave};
use crate::util::{KillOnDrop, Run, command, copy_dir, json, root};

const HMAC_KEY: &str = "hm4c-s3cr3t-value";
const SLACK_SECRET: &str = "sl4ck-s3cr3t-path";
const TEAMS_SECRET: &str = "t34ms-s3cr3t-sig";
const SMTP_PASSWORD: &str = "sm7p-s3cr3t-pw";
const WRONG_PASSWORD: &str = "wr0ng-s3cr3t-pw";

/// A request the receiver got.
#[derive(Clone, Debug)]
struct Request {
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Request {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

type Requests = Arc<Mutex<Vec<Request>>>;

/// An HTTP server on 127.0.0.1 that records every request and answers 200.
struct Receiver {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Listens on `port` (0: any free one) and records into `requests`; the port.
    fn start(port: u16, requests: Requests) -> (Receiver, u16) {
        let (ready, bound) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                // SO_REUSEADDR: the same port again after a stop, past TIME_WAIT.
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.set_reuseaddr(true).unwrap();
                socket.bind(([127, 0, 0, 1], port).into()).unwrap();
                let listener = socket.listen(64).unwrap();
                ready.send(listener.local_addr().unwrap().port()).unwrap();
                let app = axum::Router::new().fallback(
                    move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                        let requests = requests.clone();
                        async move {
                            let headers = headers
                                .iter()
                                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                                .collect();
                            requests.lock().unwrap().push(Request {
                                path: uri.path().to_owned(),
                                headers,
                                body: body.to_vec(),
                            });
                            "ok"
                        }
                    },
                );
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let port = bound.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        (Receiver { stop: Some(stop), thread: Some(thread) }, port)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The aiosmtpd executable: `HRSYNC_TEST_AIOSMTPD`, or where `scripts/test` installs it.
fn aiosmtpd() -> PathBuf {
    if let Ok(path) = std::env::var("HRSYNC_TEST_AIOSMTPD") {
        return PathBuf::from(path);
    }
    let default = root().join("target/scim-venv/bin/aiosmtpd");
    assert!(
        default.is_file(),
        "aiosmtpd is not installed: run scripts/test, which installs it in target/scim-venv"
    );
    default
}

/// A free loopback port (bound and let go).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// How an SMTP server of the tests protects its connections.
#[derive(Clone, Copy)]
enum SmtpTls<'a> {
    /// STARTTLS, required, with the certificates in the folder.
    Starttls(&'a Path),
    /// TLS from the first byte (SMTPS).
    Implicit(&'a Path),
    /// None: no STARTTLS offered.
    None,
}

/// aiosmtpd on 127.0.0.1 delivering into `maildir`.
fn smtp_server(tls: SmtpTls<'_>, maildir: &Path) -> (KillOnDrop, u16) {
    let port = free_port();
    let mut cmd = std::process::Command::new(aiosmtpd());
    cmd.args(["-n", "-l", &format!("127.0.0.1:{port}")]);
    let (cert, key, certs) = match tls {
        SmtpTls::Starttls(certs) => ("--tlscert", "--tlskey", Some(certs)),
        SmtpTls::Implicit(certs) => ("--smtpscert", "--smtpskey", Some(certs)),
        SmtpTls::None => ("", "", None),
    };
    if let Some(certs) = certs {
        cmd.arg(cert).arg(certs.join("server.pem")).arg(key).arg(certs.join("server.key"));
    }
    let child = cmd
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    (wait_for(KillOnDrop(child), port), port)
}

/// An SMTP server that wants STARTTLS and then a login as `hrsync` with `password`
/// (aiosmtpd's command line cannot ask for one, so its library, from the same venv).
fn smtp_server_with_login(certs: &Path, maildir: &Path, password: &str) -> (KillOnDrop, u16) {
    const SERVER: &str = r#"
import asyncio, ssl, sys
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
port, cert, key, maildir, password = sys.argv[1:]
tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
tls.load_cert_chain(cert, key)
def check(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"hrsync" and data.password == password.encode()
    return AuthResult(success=ok)
handler = Mailbox(maildir)
loop = asyncio.new_event_loop()
factory = lambda: SMTP(handler, tls_context=tls, require_starttls=True, authenticator=check, auth_required=True)
loop.run_until_complete(loop.create_server(factory, "127.0.0.1", int(port)))
loop.run_forever()
"#;
    let python = aiosmtpd().with_file_name("python");
    let port = free_port();
    let child = std::process::Command::new(python)
        .args(["-c", SERVER, &port.to_string()])
        .arg(certs.join("server.pem"))
        .arg(certs.join("server.key"))
        .arg(maildir)
        .arg(password)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    (wait_for(KillOnDrop(child), port), port)
}

/// `server`, once something listens on `port`.
fn wait_for(server: KillOnDrop, port: u16) -> KillOnDrop {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "no SMTP server listens on {port}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    server
}

/// The mails delivered to `maildir`, oldest first.
fn mails(maildir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else { return Vec::new() };
    let mut files: Vec<(std::time::SystemTime, String)> = entries
        .map(|e| {
            let e = e.unwrap();
            (e.metadata().unwrap().modified().unwrap(), std::fs::read_to_string(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, text)| text).collect()
}

/// The body of a mail, decoded when it is quoted-printable (lettre picks that for
/// lines longer than 76 characters).
fn body_of(mail: &str) -> String {
    let (head, body) = mail.split_once("\n\n").unwrap();
    if !head.contains("Content-Transfer-Encoding: quoted-printable") {
        return body.to_owned();
    }
    let joined = body.replace("=\r\n", "").replace("=\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()),
        ) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

fn subject_of(mail: &str) -> &str {
    mail.lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap_or("")
}

/// An e-mail channel named `name` to the server on `port`, trusting only `ca`, with
/// `smtp` added to its `smtp` settings (`, tls: tls`, say).
fn email_channel(name: &str, port: u16, ca: &Path, smtp: &str) -> String {
    format!(
        concat!(
            "    - name: {name}\n",
            "      email:\n",
            "        smtp: {{ host: 127.0.0.1, port: {port}, ca_file: {ca}{smtp} }}\n",
            "        from: hrsync@acme.example\n",
            "        to: [idm-oncall@acme.example]\n",
        ),
        name = name,
        port = port,
        ca = ca.display(),
        smtp = smtp,
    )
}

/// The example in a git repository, with `notify` pointed at a local receiver (and
/// SMTP servers), and the secrets of its channels for the daemon's environment.
struct Setup {
    tmp: tempfile::TempDir,
    repo: Repository,
    env: Vec<(&'static str, String)>,
}

impl Setup {
    /// The example with the three webhooks on `http_port` and the channels of `more`
    /// (see [`email_channel`]).
    fn new(http_port: u16, more: &str) -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(&root().join("examples/sync-repo"), &tmp.path().join("sync"));
        std::fs::write(tmp.path().join(".gitignore"), ".hrsync/\n").unwrap();
        let notify = format!(
            concat!(
                "notify:\n",
                "  link: https://git.acme.example/idm/sync\n",
                "  channels:\n",
                "    - webhook: {{ url: \"http://127.0.0.1:{port}/hook\", secret: \"${{env:NOTIFY_HMAC}}\" }}\n",
                "    - slack: {{ url: \"${{env:NOTIFY_SLACK_URL}}\" }}\n",
                "    - teams: {{ url: \"${{env:NOTIFY_TEAMS_URL}}\" }}\n",
                "{more}",
            ),
            port = http_port,
            more = more,
        );
        let ws = tmp.path().join("sync/hrsync.yaml");
        let text = std::fs::read_to_string(&ws).unwrap();
        std::fs::write(&ws, format!("{text}{notify}")).unwrap();
        let repo = Repository::init(tmp.path()).unwrap();
        commit_all(&repo, "the example, with notifications");
        let env = vec![
            ("NOTIFY_HMAC", HMAC_KEY.to_owned()),
            ("NOTIFY_SLACK_URL", format!("http://127.0.0.1:{http_port}/slack/T000/B000/{SLACK_SECRET}")),
            ("NOTIFY_TEAMS_URL", format!("http://127.0.0.1:{http_port}/teams/workflows/{TEAMS_SECRET}")),
        ];
        Setup { tmp, repo, env }
    }

    fn once(&self, now: &str) -> Run {
        let sync = self.tmp.path().join("sync");
        let mut cmd = command(&["--repo", sync.to_str().unwrap(), "--now", now, "daemon", "--once"]);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        for secret in [HMAC_KEY, SLACK_SECRET, TEAMS_SECRET, SMTP_PASSWORD, WRONG_PASSWORD] {
            assert!(
                !run.stderr.contains(secret) && !run.stdout.contains(secret),
                "a secret is shown: {run:?}"
            );
        }
        run
    }

    /// 30 people leave at once: over the safety limit of 20 %, the plan is blocked.
    fn thirty_leave(&self) {
        leave(&self.tmp.path().join("sync"), 50..80);
        commit_all(&self.repo, "thirty leave");
    }

    fn approve(&self, id: &str) {
        let ws = self.tmp.path().join("sync/hrsync.yaml");
        let text =
            std::fs::read_to_string(&ws).unwrap().replace("approvals: []", &format!("approvals: [{id}]"));
        std::fs::write(&ws, text).unwrap();
        commit_all(&self.repo, "approve the leavers");
    }

    fn plan_id(&self) -> String {
        file_on_branch(&self.repo, "reports/corp/plan.json")["id"].as_str().unwrap().to_owned()
    }
}

/// The requests of `requests` to paths starting with `prefix`.
fn to(requests: &Requests, prefix: &str) -> Vec<Request> {
    requests.lock().unwrap().iter().filter(|r| r.path.starts_with(prefix)).cloned().collect()
}

/// Checks the generic webhook's signature and returns its body.
fn verified(request: &Request) -> serde_json::Value {
    let signature = request.headers["x-hrsync-signature-256"].strip_prefix("sha256=").unwrap();
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(HMAC_KEY.as_bytes()).unwrap();
    mac.update(&request.body);
    mac.verify_slice(&hex::decode(signature).unwrap()).expect("the HMAC of the body with the secret");
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.headers["x-hrsync-event-id"].len(), 32, "{request:?}");
    request.json()
}

#[test]
fn a_blocked_plan_is_told_once_on_every_channel_and_its_approval_once_as_recovered() {
    let certs = tempfile::tempdir().unwrap();
    crate::certs::write_certificates(certs.path(), "127.0.0.1");
    let maildir = certs.path().join("mail");
    let (_smtp, smtp_port) = smtp_server(SmtpTls::Starttls(certs.path()), &maildir);
    let requests = Requests::default();
    let (_receiver, port) = Receiver::start(0, requests.clone());
    let setup = Setup::new(port, &email_channel("email", smtp_port, &certs.path().join("ca.pem"), ""));

    // The first run syncs: all is well, and the first run tells only what is not.
    let first = setup.once("2026-11-22T09:00:00Z");
    assert_eq!(first.code, 0, "{first:?}");
    assert!(requests.lock().unwrap().is_empty(), "{:?}", requests.lock().unwrap());
    assert!(mails(&maildir).is_empty());
    let told = json(&std::fs::read_to_string(setup.tmp.path().join("sync/.hrsync/notify.json")).unwrap());
    assert_eq!(told["channels"]["webhook"]["told"]["directory/corp"]["state"], "ok", "{told:#}");
    assert!(!told.to_string().contains(HMAC_KEY), "references only: {told:#}");

    // Blocked: one message on each channel, with the approval to give.
    setup.thirty_leave();
    let blocked = setup.once("2026-11-22T10:00:00Z");
    assert_eq!(blocked.code, 1, "a blocked plan fails the run, as without notifications: {blocked:?}");
    let id = setup.plan_id();
    let approval = format!("hrsync apply --approve {id}");
    let hooks = to(&requests, "/hook");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let body = verified(&hooks[0]);
    assert_eq!(
        (&body["event"], &body["state"], &body["previous"], &body["plan_id"], &body["workspace"]),
        (
            &serde_json::json!("blocked"),
            &serde_json::json!("blocked"),
            &serde_json::json!("ok"),
            &serde_json::json!(id),
            &serde_json::json!("acme")
        ),
        "{body:#}"
    );
    assert_eq!(body["subject"], serde_json::json!({ "kind": "directory", "id": "corp" }));
    assert!(body["approval"].as_str().unwrap().contains(&approval), "{body:#}");
    assert_eq!(body["revision"].as_str().unwrap(), setup.repo.head().unwrap().target().unwrap().to_string());
    let slack = to(&requests, "/slack/T000/B000/");
    assert_eq!(slack.len(), 1, "{slack:?}");
    let text = slack[0].json()["text"].as_str().unwrap().to_owned();
    assert!(text.starts_with("*[hrsync acme] corp: plan blocked*") && text.contains(&approval), "{text}");
    let teams = to(&requests, "/teams/");
    assert_eq!(teams.len(), 1, "{teams:?}");
    let card = &teams[0].json()["attachments"][0];
    assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
    assert!(card["content"]["body"].to_string().contains(&approval), "{card:#}");
    let mail = mails(&maildir);
    assert_eq!(mail.len(), 1, "{mail:#?}");
    assert_eq!(subject_of(&mail[0]), "[hrsync acme] corp: plan blocked", "{}", mail[0]);
    assert!(mail[0].contains("\nTo: idm-oncall@acme.example\n"), "{}", mail[0]);
    let body = body_of(&mail[0]);
    assert!(body.starts_with("corp: plan blocked\n"), "{body}");
    assert!(
        body.contains(&format!("Plan {id} waits for an approval: approve this exact plan with `{approval}`")),
        "{body}"
    );
    assert!(!body.contains("Günther") && !body.contains("gunther"), "no personal data: {body}");

    // The same blocked plan again: nothing new anywhere.
    let again = setup.once("2026-11-22T10:30:00Z");
    assert_eq!(again.code, 1, "{again:?}");
    assert_eq!(setup.plan_id(), id, "the same plan");
    assert_eq!(requests.lock().unwrap().len(), 3);
    assert_eq!(mails(&maildir).len(), 1);

    // Approved: one "recovered" on each channel, and then quiet.
    setup.approve(&id);
    let approved = setup.once("2026-11-22T11:00:00Z");
    assert_eq!(approved.code, 0, "{approved:?}");
    let hooks = to(&requests, "/hook");
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    let body = verified(&hooks[1]);
    assert_eq!(
        (&body["event"], &body["previous"], &body["state"]),
        (&"recovered".into(), &"blocked".into(), &"ok".into())
    );
    assert_ne!(hooks[0].headers["x-hrsync-event-id"], hooks[1].headers["x-hrsync-event-id"]);
    assert_eq!(to(&requests, "/slack/").len(), 2);
    assert_eq!(to(&requests, "/teams/").len(), 2);
    let mail = mails(&maildir);
    assert_eq!(mail.len(), 2, "{mail:#?}");
    assert_eq!(subject_of(&mail[1]), "[hrsync acme] corp: recovered", "{}", mail[1]);
    let quiet = setup.once("2026-11-22T12:00:00Z");
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert_eq!(requests.lock().unwrap().len(), 6);
    assert_eq!(mails(&maildir).len(), 2);
}

#[test]
fn a_receiver_that_is_down_fails_no_run_and_gets_the_change_once_it_is_back() {
    let requests = Requests::default();
    let (receiver, port) = Receiver::start(0, requests.clone());
    let setup = Setup::new(port, "");
    assert_eq!(setup.once("2026-11-22T09:00:00Z").code, 0);
    setup.thirty_leave();
    assert_eq!(setup.once("2026-11-22T10:00:00Z").code, 1);
    assert_eq!(requests.lock().unwrap().len(), 3, "blocked, on each channel");
    let id = setup.plan_id();

    // The receiver goes down; the approval's run applies and succeeds all the same.
    drop(receiver);
    setup.approve(&id);
    let down = setup.once("2026-11-22T11:00:00Z");
    assert_eq!(down.code, 0, "{down:?}");
    let result = json(&down.stdout);
    // The example's skipped rows make it a warning, as without notifications.
    assert_eq!(
        (&result["status"], &result["directories"]["corp"]["disabled"]),
        (&"warning".into(), &30.into())
    );
    assert!(down.stderr.contains("notification not delivered"), "said at WARN: {down:?}");
    for kind in ["webhook", "slack", "teams"] {
        assert!(
            down.stderr.contains(&format!("kind=\"{kind}\""))
                || down.stderr.contains(&format!("kind={kind}")),
            "{kind}: {down:?}"
        );
    }
    assert_eq!(requests.lock().unwrap().len(), 3);

    // Back up: the next run (nothing else changed) tells the recovery, exactly once.
    let (_receiver, _) = Receiver::start(port, requests.clone());
    let back = setup.once("2026-11-22T12:00:00Z");
    assert_eq!(back.code, 0, "{back:?}");
    let hooks = to(&requests, "/hook");
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    let body = verified(&hooks[1]);
    assert_eq!((&body["event"], &body["previous"]), (&"recovered".into(), &"blocked".into()), "{body:#}");
    assert_eq!(to(&requests, "/slack/").len(), 2);
    assert_eq!(to(&requests, "/teams/").len(), 2);
    assert_eq!(setup.once("2026-11-22T13:00:00Z").code, 0);
    assert_eq!(requests.lock().unwrap().len(), 6, "nothing more");
}

#[test]
fn a_directory_that_cannot_be_reached_and_a_config_that_does_not_load_are_told_as_failures() {
    let requests = Requests::default();
    let (_receiver, port) = Receiver::start(0, requests.clone());
    let mut setup = Setup::new(port, "");
    setup.env.push(("SCIM_TOKEN", "t0ken".to_owned()));
    assert_eq!(setup.once("2026-11-22T09:00:00Z").code, 0);

    // A SCIM application nobody answers for: that directory failed.
    let unreachable = crate::util::example_directory(
        "scim.yaml",
        &[("https://app.acme.example/scim/v2", "http://127.0.0.1:9/scim/v2")],
    );
    std::fs::write(setup.tmp.path().join("sync/directories/zz.yaml"), unreachable).unwrap();
    commit_all(&setup.repo, "a SCIM application");
    let failed = setup.once("2026-11-22T10:00:00Z");
    assert_eq!(failed.code, 1, "{failed:?}");
    let hooks = to(&requests, "/hook");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let body = verified(&hooks[0]);
    assert_eq!(
        (&body["event"], &body["subject"]["id"], &body["state"]),
        (&"run_failed".into(), &"zz".into(), &"failed".into())
    );
    assert!(body["reason"].as_str().unwrap().contains("127.0.0.1:9"), "{body:#}");
    assert_eq!(body["message"], "zz: directory failed");
    // Failing again, perhaps in other words: the same state, nothing new.
    assert_eq!(setup.once("2026-11-22T11:00:00Z").code, 1);
    assert_eq!(to(&requests, "/hook").len(), 1);

    // A commit that breaks the config: the run fails as a whole, and the channels of the
    // last config that loaded are told.
    let corp = setup.tmp.path().join("sync/directories/corp.yaml");
    let text = std::fs::read_to_string(&corp).unwrap();
    std::fs::write(&corp, text.replace("mode: apply", "mode: [apply")).unwrap();
    commit_all(&setup.repo, "a typo");
    assert_eq!(setup.once("2026-11-22T12:00:00Z").code, 1);
    let hooks = to(&requests, "/hook");
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    let body = verified(&hooks[1]);
    assert_eq!(
        (&body["event"], &body["subject"]["kind"], &body["message"]),
        (&"run_failed".into(), &"run".into(), &"run failed".into())
    );
    assert!(body["reason"].as_str().unwrap().contains("not valid"), "{body:#}");

    // Fixed, and the SCIM application removed: the run and `zz` recover (a removed
    // directory is not looked at, so `zz` stays as told until it comes back).
    std::fs::write(&corp, text).unwrap();
    std::fs::remove_file(setup.tmp.path().join("sync/directories/zz.yaml")).unwrap();
    commit_all(&setup.repo, "fixed");
    assert_eq!(setup.once("2026-11-22T13:00:00Z").code, 0);
    let hooks = to(&requests, "/hook");
    let events: Vec<(String, String)> = hooks[2..]
        .iter()
        .map(verified)
        .map(|b| (b["event"].as_str().unwrap().to_owned(), b["subject"]["id"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(events, [("recovered".to_owned(), "run".to_owned())]);
}

#[test]
fn an_unhealthy_source_is_told_once_and_a_server_without_starttls_gets_nothing() {
    let certs = tempfile::tempdir().unwrap();
    crate::certs::write_certificates(certs.path(), "127.0.0.1");
    let maildir = certs.path().join("mail");
    // A server that offers no STARTTLS: hrsync refuses to send it anything.
    let (_smtp, smtp_port) = smtp_server(SmtpTls::None, &maildir);
    let requests = Requests::default();
    let (_receiver, port) = Receiver::start(0, requests.clone());
    let setup = Setup::new(port, &email_channel("email", smtp_port, &certs.path().join("ca.pem"), ""));
    assert_eq!(setup.once("2026-11-22T09:00:00Z").code, 0);

    // The German export arrives empty: the source is unhealthy, and that is the news
    // (the plan that fails because of it is not a second message).
    let csv = setup.tmp.path().join("sync/data/germany.csv");
    let full = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, format!("{}\n", full.lines().next().unwrap())).unwrap();
    commit_all(&setup.repo, "an empty export");
    let unhealthy = setup.once("2026-11-22T10:00:00Z");
    assert_eq!(unhealthy.code, 1, "{unhealthy:?}");
    let hooks = to(&requests, "/hook");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let body = verified(&hooks[0]);
    assert_eq!(
        (&body["event"], &body["subject"], &body["message"]),
        (
            &"source_unhealthy".into(),
            &serde_json::json!({ "kind": "source", "id": "germany" }),
            &"germany: source unhealthy".into()
        ),
        "{body:#}"
    );
    assert_eq!(to(&requests, "/slack/").len(), 1);
    assert!(mails(&maildir).is_empty(), "nothing in the clear");
    assert!(
        unhealthy.stderr.contains("notification not delivered")
            && unhealthy.stderr.contains("kind=\"email\""),
        "{unhealthy:?}"
    );

    // The export is back: recovered, once; the e-mail channel is still refused.
    std::fs::write(&csv, &full).unwrap();
    commit_all(&setup.repo, "the export is back");
    assert_eq!(setup.once("2026-11-22T11:00:00Z").code, 0);
    let events: Vec<(String, String)> = to(&requests, "/hook")
        .iter()
        .map(verified)
        .map(|b| (b["event"].as_str().unwrap().to_owned(), b["message"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        events,
        [
            ("source_unhealthy".to_owned(), "germany: source unhealthy".to_owned()),
            ("recovered".to_owned(), "germany: source recovered".to_owned())
        ]
    );
    assert!(mails(&maildir).is_empty());
}

#[test]
fn e_mail_logs_in_after_starttls_and_speaks_tls_from_the_first_byte() {
    let certs = tempfile::tempdir().unwrap();
    crate::certs::write_certificates(certs.path(), "127.0.0.1");
    let ca = certs.path().join("ca.pem");
    let (login_mail, smtps_mail) = (certs.path().join("login"), certs.path().join("smtps"));
    let (_login, login_port) = smtp_server_with_login(certs.path(), &login_mail, SMTP_PASSWORD);
    let (_smtps, smtps_port) = smtp_server(SmtpTls::Implicit(certs.path()), &smtps_mail);
    let requests = Requests::default();
    let (_receiver, port) = Receiver::start(0, requests.clone());
    let channels = [
        email_channel(
            "login",
            login_port,
            &ca,
            ", username: hrsync, password: \"${env:NOTIFY_SMTP_PASSWORD}\"",
        ),
        email_channel("smtps", smtps_port, &ca, ", tls: tls"),
    ];
    let mut setup = Setup::new(port, &channels.concat());
    setup.env.push(("NOTIFY_SMTP_PASSWORD", WRONG_PASSWORD.to_owned()));
    assert_eq!(setup.once("2026-11-22T09:00:00Z").code, 0);
    setup.thirty_leave();

    // A wrong password: refused (and never shown); SMTPS delivers.
    let refused = setup.once("2026-11-22T10:00:00Z");
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(mails(&login_mail).is_empty());
    assert!(refused.stderr.contains("channel=login"), "{refused:?}");
    let smtps = mails(&smtps_mail);
    assert_eq!(smtps.iter().map(|m| subject_of(m)).collect::<Vec<_>>(), ["[hrsync acme] corp: plan blocked"]);

    // The right password: the login channel gets the change it missed, SMTPS nothing new.
    setup.env.retain(|(k, _)| *k != "NOTIFY_SMTP_PASSWORD");
    setup.env.push(("NOTIFY_SMTP_PASSWORD", SMTP_PASSWORD.to_owned()));
    let delivered = setup.once("2026-11-22T10:30:00Z");
    assert_eq!(delivered.code, 1, "{delivered:?}");
    assert!(!delivered.stderr.contains("notification not delivered"), "{delivered:?}");
    let login = mails(&login_mail);
    assert_eq!(login.iter().map(|m| subject_of(m)).collect::<Vec<_>>(), ["[hrsync acme] corp: plan blocked"]);
    assert_eq!(mails(&smtps_mail).len(), 1);
    assert_eq!(to(&requests, "/hook").len(), 1, "the webhook was told once, at the first of the two runs");
}

#[test]
fn the_watching_daemon_tells_each_change_once_across_sighup_and_new_commits() {
    let requests = Requests::default();
    let (_receiver, port) = Receiver::start(0, requests.clone());
    let setup = Setup::new(port, "");
    assert_eq!(setup.once("2026-11-22T09:00:00Z").code, 0);
    setup.thirty_leave();
    let log = setup.tmp.path().join("daemon.log");
    let sync = setup.tmp.path().join("sync");
    let mut cmd = command(&["--repo", sync.to_str().unwrap(), "--now", "2026-11-22T10:00:00Z", "daemon"]);
    for (k, v) in &setup.env {
        cmd.env(k, v);
    }
    let mut daemon = KillOnDrop(
        cmd.stdout(std::process::Stdio::null()).stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap(),
    );
    // A run's last log line comes after its notifications.
    let runs = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines().filter(|l| l.contains("run failed") || l.contains("run finished")).count()
    };
    eventually("the first run", || runs() == 1);
    assert_eq!(to(&requests, "/hook").len(), 1, "blocked, told at start");
    assert_eq!(requests.lock().unwrap().len(), 3);
    // SIGHUP: another run, the same blocked plan, nothing new.
    let hup = std::process::Command::new("kill").args(["-HUP", &daemon.id().to_string()]).status().unwrap();
    assert!(hup.success());
    eventually("the run SIGHUP starts", || runs() == 2);
    assert_eq!(requests.lock().unwrap().len(), 3);
    // The approval's commit starts a run: recovered, once on each channel.
    setup.approve(&setup.plan_id());
    eventually("the approval's run", || runs() == 3);
    let hooks = to(&requests, "/hook");
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert_eq!(verified(&hooks[1])["event"], "recovered");
    assert_eq!(requests.lock().unwrap().len(), 6);

    let term = std::process::Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap();
    assert!(term.success());
    let mut stopped = None;
    eventually("the daemon to stop", || {
        stopped = daemon.try_wait().unwrap();
        stopped.is_some()
    });
    let text = std::fs::read_to_string(&log).unwrap();
    for secret in [HMAC_KEY, SLACK_SECRET, TEAMS_SECRET] {
        assert!(!text.contains(secret), "a secret is shown: {text}");
    }
}
