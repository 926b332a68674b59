//! What the connector tests share: a source built from a source file pointed at a
//! wiremock server, secrets in files, and a request log. The vendor fakes themselves
//! live beside each connector's tests, each fixture naming the reference page it
//! follows.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use wiremock::{Request, Respond, ResponseTemplate};

use crate::config::files::MemFiles;
use crate::source::{Batch, Fetch, FetchRequest, Probe, Source, SourceError};

/// A secret in a file, as `${file:…}` references it; removed on drop.
pub(crate) struct SecretFile {
    _dir: tempfile::TempDir,
    /// The reference to write in a source file.
    pub reference: String,
}

/// Writes `value` to a file and gives its reference.
pub(crate) fn secret(value: &str) -> SecretFile {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("secret");
    std::fs::write(&path, value).unwrap_or_else(|e| panic!("{e}"));
    SecretFile { reference: format!("${{file:{}}}", path.display()), _dir: dir }
}

/// The source `sources/s.yaml` declares (`yaml` is the whole file).
pub(crate) fn source(yaml: &str) -> Box<dyn Source> {
    let files =
        MemFiles::default().with("hrsync.yaml", "version: 1\nworkspace: t\n").with("sources/s.yaml", yaml);
    let config = crate::config::load(&files).unwrap_or_else(|e| panic!("{e}"));
    crate::source::build(&config.sources[0], Arc::new(files))
}

/// The diagnostics of loading `yaml` as `sources/s.yaml`.
pub(crate) fn problems(yaml: &str) -> String {
    let files =
        MemFiles::default().with("hrsync.yaml", "version: 1\nworkspace: t\n").with("sources/s.yaml", yaml);
    match crate::config::load(&files) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

/// A full read (`since: None`) or a delta read.
pub(crate) async fn read(
    source: &dyn Source,
    since: Option<&str>,
    cursor: Option<&str>,
) -> Result<Batch, SourceError> {
    let request = FetchRequest {
        since: since.map(|s| s.parse().unwrap_or_else(|e| panic!("{e}"))),
        cursor: cursor.map(str::to_owned),
        progress: None,
        today: Some(jiff::civil::date(2026, 11, 25)),
    };
    match source.fetch(&request).await? {
        Fetch::Records(batch) => Ok(batch),
        Fetch::Skip { reason } => panic!("skip: {reason}"),
    }
}

/// `validate --online`'s probe.
pub(crate) async fn probe(source: &dyn Source) -> Result<Probe, SourceError> {
    source.check().await
}

/// The requests a fake received, shared with the test.
#[derive(Clone, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<Request>>>);

impl Log {
    /// Records a request.
    pub fn push(&self, request: &Request) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(request.clone());
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Request> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The values of query parameter `name` of each request to `path`.
    pub fn params(&self, path: &str, name: &str) -> Vec<Option<String>> {
        self.requests()
            .iter()
            .filter(|r| r.url.path() == path)
            .map(|r| r.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()))
            .collect()
    }
}

/// A fake answering through a closure, logging every request.
pub(crate) struct Fake<F>(pub Log, pub F);

impl<F: Fn(&Request) -> ResponseTemplate + Send + Sync + 'static> Respond for Fake<F> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.push(request);
        (self.1)(request)
    }
}

/// Query parameter `name` of `request`.
pub(crate) fn param(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// A JSON answer.
pub(crate) fn answer(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}
