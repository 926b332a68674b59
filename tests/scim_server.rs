//! A real SCIM server for tests (`scim2-server` from PyPI, in the venv scripts/test
//! makes), on a free loopback port, killed by its process id when dropped; and a proxy
//! in front of it that can answer 429, refuse, answer for the server or drop a
//! connection after the server answered, and records every request with its body.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

pub const TOKEN: &str = "scim-test-token";

pub struct ScimServer {
    child: Child,
    pub port: u16,
    /// The `/ServiceProviderConfig` it announces, when a test gave one.
    _config: Option<tempfile::NamedTempFile>,
}

fn executable() -> PathBuf {
    if let Ok(path) = std::env::var("HRSYNC_TEST_SCIM_SERVER") {
        return PathBuf::from(path);
    }
    let default = crate::util::root().join("target/scim-venv/bin/scim2-server");
    assert!(
        default.is_file(),
        "scim2-server is not installed: run scripts/test, which makes target/scim-venv"
    );
    default
}

impl ScimServer {
    pub fn start() -> ScimServer {
        ScimServer::start_with(None)
    }

    /// A server announcing `config` as its `/ServiceProviderConfig` (RFC 7643 §5), which
    /// it also keeps to (`bulk.maxOperations`, `bulk.maxPayloadSize`, `bulk.supported`).
    pub fn with_config(config: &Json) -> ScimServer {
        ScimServer::start_with(Some(config))
    }

    fn start_with(config: Option<&Json>) -> ScimServer {
        let exe = executable();
        let config = config.map(|c| {
            let mut file = tempfile::NamedTempFile::new().unwrap();
            file.write_all(c.to_string().as_bytes()).unwrap();
            file
        });
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let mut command = Command::new(&exe);
            command.args(["--hostname", "127.0.0.1", "--port", &port.to_string(), "--bearer-token", TOKEN]);
            if let Some(file) = &config {
                command.arg("--service-provider-config").arg(file.path());
            }
            let mut child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return ScimServer { child, port, _config: config };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("scim2-server did not start");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every user, through the API.
    pub fn users(&self) -> Vec<Json> {
        self.users_in_pages(200)
    }

    /// Every user, read `count` at a time.
    pub fn users_in_pages(&self, count: usize) -> Vec<Json> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let mut out = Vec::new();
            let mut start = 1;
            loop {
                let page: Json = client
                    .get(format!("{}/Users?startIndex={start}&count={count}", self.url()))
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let resources = page["Resources"].as_array().cloned().unwrap_or_default();
                if resources.is_empty() {
                    return out;
                }
                start += resources.len();
                out.extend(resources);
            }
        })
    }

    /// Every group with its members, through the API.
    pub fn groups(&self) -> Vec<Json> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let page: Json = reqwest::Client::new()
                .get(format!("{}/Groups?count=1000", self.url()))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            page["Resources"].as_array().cloned().unwrap_or_default()
        })
    }

    /// Creates a group directly.
    pub fn create_group(&self, group: Json) -> Json {
        self.send(reqwest::Method::POST, "Groups", &group).1.unwrap()
    }

    /// Creates a user directly.
    pub fn create(&self, user: Json) -> Json {
        self.send(reqwest::Method::POST, "Users", &user).1.unwrap()
    }

    /// Sends a PATCH of `operations` to user `id`, as an administrator would.
    pub fn patch(&self, id: &str, operations: Json) -> reqwest::StatusCode {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        });
        self.send(reqwest::Method::PATCH, &format!("Users/{id}"), &body).0
    }

    fn send(&self, method: reqwest::Method, path: &str, body: &Json) -> (reqwest::StatusCode, Option<Json>) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let response = reqwest::Client::new()
                .request(method, format!("{}/{path}", self.url()))
                .bearer_auth(TOKEN)
                .header("Content-Type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (response.status(), response.json().await.ok())
        })
    }
}

impl Drop for ScimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the proxy does with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Pass it on.
    None,
    /// Answer 429 with `Retry-After: 1`, without passing it on.
    TooManyRequests,
    /// Pass it on, then close the connection without answering.
    DropAnswer,
    /// Wait this many milliseconds, then pass it on (even if the client went away).
    Delay(u64),
    /// Answer with this status and a SCIM error body (RFC 7644 §3.12), without passing
    /// it on: the server's "no" about one item.
    Refuse(u16),
    /// Answer 400 with `scimType` `noTarget` (RFC 7644 §3.12), without passing it on: what
    /// a server may say to a PATCH removing a member the group does not have.
    NoTarget,
    /// Answer 200 with this JSON body, without passing it on.
    Answer(&'static str),
}

/// A request the proxy received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The path, with its query.
    pub path: String,
    /// The body as JSON, `null` for none.
    pub body: Json,
}

/// A proxy deciding per request (numbered from 1, with method and path) what to do.
pub struct Proxy {
    pub port: u16,
    pub faults: Arc<Mutex<Vec<(usize, String, Fault)>>>,
    /// Every request, in the order received.
    pub requests: Arc<Mutex<Vec<Recorded>>>,
}

type Rule = Arc<dyn Fn(usize, &str, &str) -> Fault + Send + Sync>;

impl Proxy {
    pub fn start(upstream: u16, rule: impl Fn(usize, &str, &str) -> Fault + Send + Sync + 'static) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let faults = Arc::new(Mutex::new(Vec::new()));
        let rule: Rule = Arc::new(rule);
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let (counter, log, record) = (requests.clone(), faults.clone(), recorded.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (counter, log, record, rule) =
                    (counter.clone(), log.clone(), record.clone(), rule.clone());
                std::thread::spawn(move || {
                    let _ = serve(client, upstream, &counter, &log, &record, &rule);
                });
            }
        });
        Proxy { port, faults, requests: recorded }
    }

    /// The requests received so far whose method is `method` and whose path starts with
    /// `prefix`.
    pub fn received(&self, method: &str, prefix: &str) -> Vec<Recorded> {
        let requests = self.requests.lock().unwrap();
        requests.iter().filter(|r| r.method == method && r.path.starts_with(prefix)).cloned().collect()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn injected(&self, fault: Fault) -> usize {
        self.faults.lock().unwrap().iter().filter(|(_, _, f)| *f == fault).count()
    }
}

/// One request per client connection; the answer closes it.
fn serve(
    mut client: TcpStream,
    upstream: u16,
    counter: &AtomicUsize,
    log: &Mutex<Vec<(usize, String, Fault)>>,
    record: &Mutex<Vec<Recorded>>,
    rule: &Rule,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = Vec::new();
    let mut buf = [0u8; 8192];
    let header_end = loop {
        let n = client.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
        if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..header_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    while request.len() < header_end + length {
        let n = client.read(&mut buf)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or("").to_owned(), words.next().unwrap_or("").to_owned());
    let body = serde_json::from_slice(&request[header_end..]).unwrap_or(Json::Null);
    record.lock().unwrap().push(Recorded { method: method.clone(), path: path.clone(), body });
    let number = counter.fetch_add(1, Ordering::SeqCst) + 1;
    let fault = rule(number, &method, &path);
    if fault != Fault::None {
        log.lock().unwrap().push((number, format!("{method} {path}"), fault));
    }
    if fault == Fault::TooManyRequests {
        client.write_all(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    }
    let refusal = match fault {
        Fault::Refuse(status) => Some((status, "invalidValue")),
        Fault::NoTarget => Some((400, "noTarget")),
        _ => None,
    };
    if let Fault::Answer(body) = fault {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        client.write_all(head.as_bytes())?;
        return client.write_all(body.as_bytes());
    }
    if let Some((status, scim_type)) = refusal {
        let body = format!(
            r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"{status}","scimType":"{scim_type}","detail":"refused by the test proxy"}}"#
        );
        let head = format!(
            "HTTP/1.1 {status} Refused\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        client.write_all(head.as_bytes())?;
        return client.write_all(body.as_bytes());
    }
    if let Fault::Delay(ms) = fault {
        std::thread::sleep(Duration::from_millis(ms));
    }
    // Ask the server to close after answering, so its answer ends at EOF.
    let head = head.replacen("\r\n", "\r\nConnection: close\r\n", 1);
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream))?;
    upstream.write_all(head.as_bytes())?;
    upstream.write_all(&request[header_end..])?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer)?;
    if fault == Fault::DropAnswer {
        // The server did it; the client never hears.
        return Ok(());
    }
    client.write_all(&answer)
}
