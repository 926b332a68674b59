//! Each HR connector end to end: the `hrsync` binary reads `examples/sources/<type>.yaml`
//! (pointed at an HTTP fake of the vendor's API, built from its public reference) and
//! syncs into a real OpenLDAP `slapd` through `examples/directories/openldap.yaml`. The
//! fakes run in this process on a runtime of their own; the binary reaches them over
//! loopback.

mod afas;
mod bamboohr;
mod entraid;
mod hibob;
mod kombo;
mod merge;
mod personio;
mod workday;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

use crate::slapd::{ADMIN, PASSWORD, SUFFIX, Slapd};
use crate::util::{Run, example_directory, root};

/// A sync repository of one connector source and the example LDAP directory.
pub struct Repo {
    pub tmp: tempfile::TempDir,
    pub slapd: Slapd,
    /// The variables the source's secrets are read from, and their values.
    secrets: Vec<(String, String)>,
}

impl Repo {
    /// `examples/sources/<file>` with each `(from, to)` replaced (every `from` must
    /// occur), as `sources/hr.yaml`, beside the example LDAP directory on a new `slapd`.
    pub fn new(file: &str, replacements: &[(&str, &str)], secret: (&str, &str)) -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(repo.join("sources")).unwrap();
        std::fs::create_dir_all(repo.join("directories")).unwrap();
        std::fs::write(
            repo.join("hrsync.yaml"),
            "version: 1\nworkspace: acme\ntimezone: Europe/Berlin\nsafety: { max_disable_percent: 50, min_source_share: 0.5 }\nreports: { branch: hrsync/reports, path: reports, pii: masked }\n",
        )
        .unwrap();
        let mut source = std::fs::read_to_string(root().join("examples/sources").join(file)).unwrap();
        for (from, to) in replacements {
            assert!(source.contains(from), "examples/sources/{file} no longer holds `{from}`");
            source = source.replace(from, to);
        }
        std::fs::write(repo.join("sources/hr.yaml"), source).unwrap();
        let slapd = Slapd::start();
        let directory = example_directory(
            "openldap.yaml",
            &[
                ("ldaps://ldap.acme.example:636", &slapd.url()),
                ("cn=hrsync,ou=services,dc=acme,dc=example", ADMIN),
            ],
        );
        std::fs::write(repo.join("directories/corp.yaml"), directory).unwrap();
        Repo { tmp, slapd, secrets: vec![(secret.0.to_owned(), secret.1.to_owned())] }
    }

    /// With a further secret the source reads from the variable `name`.
    pub fn with_secret(mut self, name: &str, value: &str) -> Repo {
        self.secrets.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A run as of `now` against a failing API fails, saying `why` on stderr, and
    /// disables no one.
    pub fn fails_and_disables_no_one(&self, now: &str, why: &str) {
        let out = self.run(now, &["run"]);
        assert_ne!(out.code, 0, "{out:?}");
        let job = crate::util::json(&out.stdout);
        assert_eq!(job["directories"]["corp"]["disabled"], 0, "{out:?}");
        assert!(out.stderr.contains(why), "{out:?}");
    }

    /// `validate --online` as of `now` passes, its first page holding `people` people
    /// and every mapped field.
    pub fn first_page_ok(&self, now: &str, people: usize) {
        let out = self.run(now, &["validate", "--online"]);
        assert_eq!(out.code, 0, "{out:?}");
        let ok = format!("source `hr`: ok, first page has {people} people, every mapped field arrived");
        assert!(out.stdout.contains(&ok), "{out:?}");
    }

    pub fn repo(&self) -> PathBuf {
        self.tmp.path().join("repo")
    }

    /// Runs hrsync as of `now` with the source's secret and the LDAP password set.
    pub fn run(&self, now: &str, args: &[&str]) -> Run {
        let repo = self.repo();
        // HRSYNC_TEST_BINARY runs another build (the release binary) through the same
        // scenarios.
        let mut command = crate::util::command(&["--repo", repo.to_str().unwrap(), "--now", now]);
        if let Ok(binary) = std::env::var("HRSYNC_TEST_BINARY") {
            let mut other = std::process::Command::new(binary);
            other.args(["--repo", repo.to_str().unwrap(), "--now", now]).env_remove("HRSYNC_TEST_BINARY");
            command = other;
        }
        command.args(args).env("LDAP_PASSWORD", PASSWORD);
        for (name, value) in &self.secrets {
            command.env(name, value);
        }
        let out = command.output().unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        for (_, secret) in &self.secrets {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "a secret is shown: {run:?}"
            );
        }
        run
    }

    /// The people entries: employee number → (dn, attributes), enabled ones only
    /// (disabled ones move to `ou=disabled`).
    pub fn people(&self) -> Vec<Vec<(String, String)>> {
        self.slapd.search(&format!("ou=people,{SUFFIX}"), "(objectClass=inetOrgPerson)", &["*"])
    }

    /// Entries moved to `ou=disabled`.
    pub fn disabled(&self) -> Vec<Vec<(String, String)>> {
        self.slapd.search(&format!("ou=disabled,{SUFFIX}"), "(objectClass=inetOrgPerson)", &["*"])
    }

    /// Everything the reports and state hold, to check no secret was kept.
    pub fn assert_no_secret_kept(&self) {
        let mut stack = vec![self.repo()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    for (_, secret) in &self.secrets {
                        assert!(!text.contains(secret), "{} holds a secret", path.display());
                    }
                }
            }
        }
    }
}

/// The value of attribute `name` of an entry.
pub fn attr<'a>(entry: &'a [(String, String)], name: &str) -> Option<&'a str> {
    entry.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// The employee numbers of `entries`, sorted.
pub fn numbers(entries: &[Vec<(String, String)>]) -> Vec<String> {
    let mut out: Vec<String> =
        entries.iter().filter_map(|e| attr(e, "employeeNumber").map(str::to_owned)).collect();
    out.sort();
    out
}

/// A fake vendor API: answers through `respond`, logging every request, on a runtime
/// of its own, until dropped.
pub struct Api {
    pub server: MockServer,
    pub requests: Arc<Mutex<Vec<Request>>>,
    _runtime: tokio::runtime::Runtime,
}

struct Logged<F>(Arc<Mutex<Vec<Request>>>, F);

impl<F: Fn(&Request) -> ResponseTemplate + Send + Sync + 'static> Respond for Logged<F> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.lock().unwrap().push(request.clone());
        (self.1)(request)
    }
}

impl Api {
    pub fn start(respond: impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static) -> Api {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let server = runtime.block_on(MockServer::start());
        let requests = Arc::new(Mutex::new(Vec::new()));
        runtime.block_on(Mock::given(any()).respond_with(Logged(requests.clone(), respond)).mount(&server));
        Api { server, requests, _runtime: runtime }
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }

    /// Query parameter `name` of each request to `path`, in order.
    pub fn params(&self, path: &str, name: &str) -> Vec<Option<String>> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == path)
            .map(|r| r.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()))
            .collect()
    }
}

/// Query parameter `name` of `request`.
pub fn param(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}
