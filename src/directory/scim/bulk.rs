//! How the writes of users reach a SCIM service: one request each, or many in one
//! `/Bulk` request (RFC 7644 §3.7) where the service's `/ServiceProviderConfig` says it
//! supports them.
//!
//! Every create, update, disable and delete becomes an [`Op`] and is submitted on its
//! own to a [`Batcher`], which gathers the writes [`crate::apply`] has in flight at once
//! into one `/Bulk` request within the service's `maxOperations` and `maxPayloadSize`
//! (each operation's serialized bytes counted, less room for the envelope). Each write
//! awaits its own result, mapped as the same request sent alone would be: the answer's
//! `Operations[]` are matched to the writes by `bulkId`, which every operation carries
//! (RFC 7644 requires it of POSTs only; scim2-server echoes it for every method), and,
//! for an answer without one, by method and location when exactly one write has them.
//! An update, disable or delete carries the entry's ETag as its `version`, the bulk
//! form of `If-Match`. `failOnErrors` is left out, so the service goes on after a failed
//! operation (§3.7.3) and one bad write never stops the others.
//!
//! A batch of one write, and a write larger than the payload limit alone, go as single
//! requests. A `/Bulk` request refused as a whole for its size (413) or its content (400)
//! is split in halves and each sent again, down to single requests; one that finds no
//! `/Bulk` after all (404, 405, 501) turns bulk off for this directory and sends its
//! writes alone. A request whose answer was lost, and a write the answer does not
//! mention, or answers with 429 or 503, is sent again alone, a create only after looking
//! its user up (as [`crate::directory::rest::create`] does): a create is never doubled.
//! Any other failure of the whole request fails each write as that failure of a single
//! request would (502 and 504 make the directory unavailable, a 500 refuses the write).
//!
//! While `/Bulk` is in use, [`crate::apply`] sends every create at once, managers
//! first, each naming the creates it references that have not answered yet
//! ([`crate::directory::NewEntry::awaiting`]). A report whose manager's create is in
//! the same request references it as `bulkId:` (§3.7.2), and the service resolves it;
//! one whose manager's create went in another request waits for that answer and
//! references the new id. A reference is only ever to an earlier create, and a request
//! waits only for requests already on their way, so no two wait for each other. A
//! report refused because the create it referenced in its request failed is sent again
//! alone without the reference, with a warning: one manager's failure never fails
//! their reports. Groups are written by single requests (the `groups` module).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value as Json;

use super::{Path, ScimDirectory};
use crate::directory::DirectoryError;
use crate::directory::batch::{Batcher, Limits};
use crate::http::HttpError;
use crate::model::Value;

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// Room left in `maxPayloadSize` for the envelope of a `/Bulk` request (its `schemas`
/// and brackets take about 90 bytes).
const ENVELOPE: usize = 1024;

/// The most operations hrsync puts in one `/Bulk` request, whatever the service allows:
/// enough that the requests' overhead is small, few enough that one request's answer
/// comes back within the timeout and apply keeps a bounded number of writes in flight.
pub(super) const MAX_OPERATIONS: usize = 1000;

/// A write's result: the new user's id for a create, nothing for the others.
pub(super) type Answer = Result<Option<String>, DirectoryError>;

/// The longest a create waits for the answer to another create it references, sent in
/// another request. That request is on its way and times out on its own well before;
/// this bound only keeps a mistake from becoming a hang.
const REFERENCE_WAIT: Duration = Duration::from_secs(600);

/// Room counted in a request's size for each reference an operation fills in (`bulkId:`
/// and the id, or the new id).
const REFERENCE_BYTES: usize = 96;

/// How far a create of the running apply is, for the creates that reference it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    /// Made, not sent yet.
    Made,
    /// On its way: in a request, or waiting in the batcher for one.
    Sent,
    /// Answered: the new user's id, or `None` when it failed.
    Done(Option<String>),
}

/// Every create of the running apply by ticket ([`crate::directory::NewEntry::ticket`]).
#[derive(Debug, Default)]
pub(super) struct Creates {
    stages: Mutex<HashMap<String, tokio::sync::watch::Sender<Stage>>>,
}

impl Creates {
    /// Forgets the creates of the runs before.
    pub(super) fn clear(&self) {
        self.lock().clear();
    }

    /// Records how far the create `ticket` is.
    pub(super) fn set(&self, ticket: &str, stage: Stage) {
        let mut stages = self.lock();
        match stages.get(ticket) {
            Some(sender) => {
                sender.send_replace(stage);
            }
            None => {
                stages.insert(ticket.to_owned(), tokio::sync::watch::channel(stage).0);
            }
        }
    }

    /// The id the create `ticket` gave its user, waiting while it is on its way; why
    /// there is none when it failed or was never sent.
    async fn id(&self, ticket: &str) -> Result<String, &'static str> {
        let Some(mut stage) = self.lock().get(ticket).map(tokio::sync::watch::Sender::subscribe) else {
            return Err("was not made in this run");
        };
        let settled =
            tokio::time::timeout(REFERENCE_WAIT, stage.wait_for(|s| !matches!(s, Stage::Sent))).await;
        match settled.as_ref().map(|s| s.as_ref().map(|s| &**s)) {
            Ok(Ok(Stage::Done(Some(id)))) => Ok(id.clone()),
            Ok(Ok(Stage::Done(None))) => Err("failed"),
            Ok(Ok(_)) => Err("was not sent yet"),
            Ok(Err(_)) | Err(_) => Err("did not answer in time"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, tokio::sync::watch::Sender<Stage>>> {
        self.stages.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A reference of a create to another create of the same apply, not answered when it
/// was made.
#[derive(Debug)]
pub(super) struct Reference {
    /// The attribute, as the config names it.
    pub name: String,
    /// Where it goes in the resource.
    pub path: Path,
    /// Whether it is the manager reference (written as `{"value": id}`).
    pub manager: bool,
    /// The referenced create's ticket.
    pub ticket: String,
}

/// One write of a user.
#[derive(Debug)]
pub(super) struct Op {
    /// `POST`, `PATCH` or `DELETE`.
    pub method: Method,
    /// Below the base URL, as a single request names it: `Users`, `Users/{id}`.
    pub path: String,
    /// The entry's ETag, sent as `If-Match` or as the operation's `version`.
    pub version: Option<String>,
    /// The body: the new resource, or the PatchOp.
    pub data: Option<Json>,
    /// A create's lookup key (`externalId` or `userName`, and the value), for when its
    /// answer is lost.
    pub key: Option<(&'static str, String)>,
    /// What errors about the write name: the entry's id, or the create's key value.
    pub label: String,
    /// A create's ticket, by which other creates reference it.
    pub ticket: Option<String>,
    /// A create's references to creates not answered when it was made.
    pub references: Vec<Reference>,
    /// What did not go as asked though the write was done (a reference left unset).
    pub notes: Arc<Mutex<Vec<String>>>,
}

impl Op {
    /// A write with no ticket and no references.
    pub(super) fn new(
        method: Method,
        path: String,
        version: Option<String>,
        data: Option<Json>,
        key: Option<(&'static str, String)>,
        label: String,
    ) -> Op {
        Op {
            method,
            path,
            version,
            data,
            key,
            label,
            ticket: None,
            references: Vec::new(),
            notes: Arc::default(),
        }
    }
}

impl Op {
    /// The operation as a `/Bulk` request carries it, with `data` for its own.
    fn wire<'a>(&'a self, bulk_id: &'a str, data: Option<&'a Json>) -> Wire<'a> {
        Wire {
            method: self.method.as_str(),
            bulk_id,
            path: format!("/{}", self.path),
            version: self.version.as_deref(),
            data: data.or(self.data.as_ref()),
        }
    }
}

/// An operation of a BulkRequest (RFC 7644 §3.7).
#[derive(Serialize)]
struct Wire<'a> {
    method: &'a str,
    #[serde(rename = "bulkId")]
    bulk_id: &'a str,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Json>,
}

/// A write waiting in the batcher, with its `bulkId`.
#[derive(Debug)]
pub(super) struct Queued {
    op: Op,
    bulk_id: String,
    /// Its data with its references filled in, for the request being sent.
    filled: Option<Json>,
    /// The tickets of the creates of that request it references by `bulkId:`.
    in_request: Vec<String>,
}

impl Queued {
    fn new(op: Op, bulk_id: String) -> Queued {
        Queued { op, bulk_id, filled: None, in_request: Vec::new() }
    }
}

/// A write's data with its references filled in.
struct Filled {
    /// `None`: the write has no references, its data goes as it is.
    data: Option<Json>,
    /// The tickets referenced by `bulkId:`.
    in_request: Vec<String>,
}

/// `/Bulk` as the service offers it.
pub(super) struct Bulk {
    batcher: Batcher<Queued, Answer>,
    next_id: AtomicU64,
    /// Set when `/Bulk` turned out not to exist though the config said it does.
    off: AtomicBool,
}

impl std::fmt::Debug for Bulk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bulk").field("limits", &self.batcher.limits()).finish()
    }
}

impl Bulk {
    /// `/Bulk` within `limits`.
    pub(super) fn new(limits: Limits) -> Bulk {
        Bulk { batcher: Batcher::new(limits), next_id: AtomicU64::new(0), off: AtomicBool::new(false) }
    }

    /// What a `/ServiceProviderConfig` (RFC 7643 §5) says of `/Bulk`: its limits when it
    /// is supported with both limits given, `None` otherwise (a service that gives no
    /// limit is not guessed at).
    pub(super) fn limits(config: &Json) -> Option<Limits> {
        let bulk = config.get("bulk")?;
        if bulk.get("supported").and_then(Json::as_bool) != Some(true) {
            return None;
        }
        let number = |name: &str| bulk.get(name).and_then(Json::as_u64).filter(|n| *n > 0);
        let operations = usize::try_from(number("maxOperations")?).unwrap_or(usize::MAX);
        let bytes = usize::try_from(number("maxPayloadSize")?).unwrap_or(usize::MAX);
        Some(Limits {
            operations: operations.min(MAX_OPERATIONS),
            bytes: bytes.saturating_sub(ENVELOPE).max(1),
        })
    }

    /// The limits batches are made within, while `/Bulk` is in use.
    pub(super) fn in_use(&self) -> Option<Limits> {
        (!self.off.load(Ordering::Relaxed)).then(|| self.batcher.limits())
    }
}

/// The request of a batch of writes.
fn envelope(batch: &[Queued]) -> Json {
    let operations: Vec<Wire<'_>> = batch.iter().map(|q| q.op.wire(&q.bulk_id, q.filled.as_ref())).collect();
    serde_json::json!({ "schemas": [BULK_REQUEST], "Operations": operations })
}

/// What an answer's operation says of its write.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Done; a create's new id.
    Done(Option<String>),
    /// Refused with this status and the server's explanation.
    Failed(StatusCode, Option<String>),
    /// Not done, and the server says to ask again (429, 503): sent again alone.
    Again,
}

/// Matches the `Operations` of a BulkResponse to the writes, `(method, path, bulkId)`
/// each: by `bulkId`, else by method and location when exactly one write has them. A
/// write answered twice keeps the first; a write not answered, or answered with a status
/// that is no status, gets `None`. Linear in the writes and the answers.
fn outcomes(writes: &[(&str, &str, &str)], answer: &Json) -> Vec<Option<Outcome>> {
    let mut out: Vec<Option<Outcome>> = writes.iter().map(|_| None).collect();
    let by_id: HashMap<&str, usize> = writes.iter().enumerate().map(|(i, w)| (w.2, i)).collect();
    // Method and path → the one write with them (`None`: several).
    let mut by_path: HashMap<(String, &str), Option<usize>> = HashMap::new();
    for (i, (method, path, _)) in writes.iter().enumerate() {
        by_path.entry((method.to_ascii_uppercase(), path)).and_modify(|one| *one = None).or_insert(Some(i));
    }
    let answers = answer.get("Operations").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    for a in answers {
        let index = match a.get("bulkId").and_then(Json::as_str) {
            Some(id) => by_id.get(id).copied(),
            None => {
                let method = a.get("method").and_then(Json::as_str).unwrap_or_default().to_ascii_uppercase();
                let path = a.get("location").and_then(Json::as_str).and_then(location_path);
                path.and_then(|path| by_path.get(&(method, path)).copied().flatten())
            }
        };
        let Some(i) = index else { continue };
        if out[i].is_some() {
            continue;
        }
        let status = match a.get("status") {
            Some(Json::String(s)) => s.trim().parse::<u16>().ok(),
            Some(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            None => None,
        };
        let Some(status) = status.and_then(|s| StatusCode::from_u16(s).ok()) else { continue };
        out[i] = Some(if status.is_success() {
            // A create's new id: the resource's, or the last segment of its location.
            let id = (writes[i].0 == "POST")
                .then(|| {
                    a.pointer("/response/id")
                        .and_then(Json::as_str)
                        .map(str::to_owned)
                        .or_else(|| a.get("location").and_then(Json::as_str).and_then(last_segment))
                })
                .flatten();
            Outcome::Done(id)
        } else if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            Outcome::Again
        } else {
            let detail = a
                .pointer("/response/detail")
                .and_then(Json::as_str)
                .map(|d| d.chars().take(300).collect::<String>());
            Outcome::Failed(status, detail)
        });
    }
    out
}

/// The `Users/{id}` of a location (`https://host/scim/v2/Users/{id}`), matched against
/// the path of a write.
fn location_path(location: &str) -> Option<&str> {
    let location = location.split(['?', '#']).next()?.trim_end_matches('/');
    let start = location.rfind("/Users/").or_else(|| location.rfind("/Users"))?;
    Some(&location[start + 1..])
}

/// The last segment of a location: a new resource's id.
fn last_segment(location: &str) -> Option<String> {
    let location = location.split(['?', '#']).next()?.trim_end_matches('/');
    let (_, id) = location.rsplit_once('/')?;
    (!id.is_empty()).then(|| id.to_owned())
}

type Pending<'a> = Pin<Box<dyn Future<Output = Vec<Answer>> + Send + 'a>>;

impl ScimDirectory {
    /// Sends a write: in a `/Bulk` request with the others in flight when the service
    /// has `/Bulk` and hrsync may use it, else alone.
    pub(super) async fn write(&self, op: Op) -> Answer {
        if let Some(ticket) = &op.ticket {
            self.creates.set(ticket, Stage::Sent);
        }
        let Some(bulk) = self.bulk().await else { return self.single(op).await };
        let Some(limits) = bulk.in_use() else { return self.single(op).await };
        let bulk_id = format!("w{}", bulk.next_id.fetch_add(1, Ordering::Relaxed));
        // Its bytes in the request, with the comma after it and its references filled.
        let size = serde_json::to_vec(&op.wire(&bulk_id, None))
            .map(|b| b.len() + 1 + REFERENCE_BYTES * op.references.len())
            .unwrap_or(usize::MAX);
        if size > limits.bytes {
            return self.single(op).await;
        }
        bulk.batcher
            .submit(
                Queued::new(op, bulk_id),
                size,
                |batch| self.send_bulk(bulk, batch),
                || {
                    Err(DirectoryError::refused(
                        "the bulk request carrying this write was abandoned; the next run checks again",
                    ))
                },
            )
            .await
    }

    /// Sends a batch as one `/Bulk` request and returns each write's result, in order.
    fn send_bulk<'a>(&'a self, bulk: &'a Bulk, mut batch: Vec<Queued>) -> Pending<'a> {
        Box::pin(async move {
            if batch.len() <= 1 || bulk.in_use().is_none() {
                return futures::future::join_all(batch.into_iter().map(|q| self.single(q.op))).await;
            }
            // A client that could not be built fails each write as it would alone.
            let Ok(http) = self.http() else {
                return futures::future::join_all(batch.into_iter().map(|q| self.single(q.op))).await;
            };
            // The creates of this request, by ticket: references to them go as `bulkId:`.
            let request: HashMap<String, String> =
                batch.iter().filter_map(|q| Some((q.op.ticket.clone()?, q.bulk_id.clone()))).collect();
            let fills = futures::future::join_all(batch.iter().map(|q| self.fill(&q.op, &request))).await;
            for (q, fill) in batch.iter_mut().zip(fills) {
                q.filled = fill.data;
                q.in_request = fill.in_request;
            }
            tracing::debug!(directory = %self.id, operations = batch.len(), "bulk request");
            let sent = http.send(Method::POST, "Bulk", &[], Some(&envelope(&batch)), &[]).await;
            match sent {
                Ok(response) => self.answered(batch, response.body.unwrap_or(Json::Null)).await,
                Err(e)
                    if matches!(
                        e.status(),
                        Some(StatusCode::PAYLOAD_TOO_LARGE | StatusCode::BAD_REQUEST)
                    ) =>
                {
                    let right = batch.split_off(batch.len() / 2);
                    let (mut left, right) =
                        futures::future::join(self.send_bulk(bulk, batch), self.send_bulk(bulk, right)).await;
                    left.extend(right);
                    left
                }
                Err(e)
                    if matches!(
                        e.status(),
                        Some(
                            StatusCode::NOT_FOUND
                                | StatusCode::METHOD_NOT_ALLOWED
                                | StatusCode::NOT_IMPLEMENTED
                        )
                    ) =>
                {
                    if !bulk.off.swap(true, Ordering::Relaxed) {
                        tracing::warn!(directory = %self.id, status = e.status().map(|s| s.as_u16()), "the service has no /Bulk though its config says so: writes go one request each");
                    }
                    futures::future::join_all(batch.into_iter().map(|q| self.single(q.op))).await
                }
                Err(HttpError::Lost { .. }) => {
                    futures::future::join_all(batch.into_iter().map(|q| self.again(q.op))).await
                }
                Err(HttpError::Status { method, path, status, detail }) => batch
                    .iter()
                    .map(|q| {
                        let e = HttpError::Status {
                            method: method.clone(),
                            path: path.clone(),
                            status,
                            detail: detail.clone(),
                        };
                        Err(self.error(&q.op.label, e))
                    })
                    .collect(),
                Err(e) => {
                    let cause = std::sync::Arc::new(e);
                    batch.iter().map(|_| Err(self.unavailable(&cause))).collect()
                }
            }
        })
    }

    /// Each write's result from the answer to its `/Bulk` request; the writes it does not
    /// settle are sent again alone.
    async fn answered(&self, batch: Vec<Queued>, answer: Json) -> Vec<Answer> {
        let writes: Vec<(&str, &str, &str)> =
            batch.iter().map(|q| (q.op.method.as_str(), q.op.path.as_str(), q.bulk_id.as_str())).collect();
        let outcomes = outcomes(&writes, &answer);
        // The creates settled now are settled for the creates that wait on them.
        let mut settled: HashMap<&str, bool> = HashMap::new();
        for (q, outcome) in batch.iter().zip(&outcomes) {
            let Some(ticket) = &q.op.ticket else { continue };
            match outcome {
                Some(Outcome::Done(id)) => {
                    self.creates.set(ticket, Stage::Done(id.clone()));
                    settled.insert(ticket, true);
                }
                Some(Outcome::Failed(..)) => {
                    settled.insert(ticket, false);
                }
                _ => {}
            }
        }
        // A write refused while a create it references in this request was not done
        // is sent again alone: the reference is then filled in, or left unset, from
        // what became of that create; the manager's failure is not the report's.
        let alone: Vec<bool> = batch
            .iter()
            .zip(&outcomes)
            .map(|(q, outcome)| {
                matches!(outcome, Some(Outcome::Failed(..)))
                    && q.in_request.iter().any(|t| settled.get(t.as_str()) != Some(&true))
            })
            .collect();
        for (q, alone) in batch.iter().zip(&alone) {
            if let Some(ticket) = &q.op.ticket
                && !alone
                && settled.get(ticket.as_str()) == Some(&false)
            {
                self.creates.set(ticket, Stage::Done(None));
            }
        }
        drop(settled);
        let results = batch.into_iter().zip(outcomes).zip(alone).map(|((q, outcome), alone)| async move {
            if alone {
                return self.single(q.op).await;
            }
            match outcome {
                Some(Outcome::Done(id)) if q.op.method == Method::POST => id
                    .map(Some)
                    .ok_or_else(|| DirectoryError::refused("the service created a user but returned no id")),
                Some(Outcome::Done(_)) => Ok(None),
                Some(Outcome::Failed(status, detail)) => {
                    let e = HttpError::Status {
                        method: q.op.method.clone(),
                        path: q.op.path.clone(),
                        status,
                        detail,
                    };
                    Err(self.error(&q.op.label, e))
                }
                Some(Outcome::Again) => self.single(q.op).await,
                None => self.again(q.op).await,
            }
        });
        futures::future::join_all(results).await
    }

    /// A write whose bulk answer was lost or said nothing of it, sent again alone; a
    /// create only when its user is not there yet.
    async fn again(&self, op: Op) -> Answer {
        if op.method == Method::POST
            && let Some((attribute, value)) = &op.key
            && let Some(id) = self.find(attribute, value).await?
        {
            if let Some(ticket) = &op.ticket {
                self.creates.set(ticket, Stage::Done(Some(id.clone())));
            }
            return Ok(Some(id));
        }
        self.single(op).await
    }

    /// The data of `op` with its references filled in: `bulkId:` for a create in the
    /// same request (`request`, ticket → `bulkId`), else the id the create gave, waiting
    /// for its answer while it is on its way. A reference whose create failed or was
    /// never sent is left out, with a note.
    async fn fill(&self, op: &Op, request: &HashMap<String, String>) -> Filled {
        let mut filled = Filled { data: None, in_request: Vec::new() };
        if op.references.is_empty() {
            return filled;
        }
        // The notes are this attempt's.
        op.notes.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let mut data = op.data.clone().unwrap_or(Json::Null);
        for r in &op.references {
            let value = match request.get(&r.ticket) {
                Some(bulk_id) => {
                    filled.in_request.push(r.ticket.clone());
                    Ok(format!("bulkId:{bulk_id}"))
                }
                None => self.creates.id(&r.ticket).await,
            };
            match value {
                Ok(value) => r.path.set(&mut data, &Value::One(value), r.manager),
                Err(why) => op.notes.lock().unwrap_or_else(|p| p.into_inner()).push(format!(
                    "`{}` was left unset because the create of the entry it references {why}; the next run sets it",
                    r.name
                )),
            }
        }
        filled.data = Some(data);
        filled
    }

    /// Sends a write as a request of its own.
    pub(super) async fn single(&self, op: Op) -> Answer {
        let answer = self.single_request(&op).await;
        if let Some(ticket) = &op.ticket {
            self.creates.set(ticket, Stage::Done(answer.as_ref().ok().cloned().flatten()));
        }
        answer
    }

    async fn single_request(&self, op: &Op) -> Answer {
        let http = self.http()?;
        let filled = self.fill(op, &HashMap::new()).await.data;
        if op.method == Method::POST {
            let (body, key) = (filled.as_ref().or(op.data.as_ref()), &op.key);
            return crate::directory::rest::create(
                || http.send(Method::POST, &op.path, &[], body, &[]),
                || async move {
                    match key {
                        Some((attribute, value)) => self.find(attribute, value).await,
                        None => Ok(None),
                    }
                },
                |e| self.error(&op.label, e),
                "the service created a user but returned no id",
            )
            .await
            .map(Some);
        }
        let headers: Vec<(&str, String)> = op.version.iter().map(|v| ("If-Match", v.clone())).collect();
        http.send(op.method.clone(), &op.path, &[], op.data.as_ref(), &headers)
            .await
            .map(|_| None)
            .map_err(|e| self.error(&op.label, e))
    }

    fn unavailable(
        &self,
        cause: &std::sync::Arc<impl std::error::Error + Send + Sync + 'static>,
    ) -> DirectoryError {
        DirectoryError::Unavailable {
            directory: self.id.clone(),
            source: Box::new(std::sync::Arc::clone(cause)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_config_gives_limits_only_when_bulk_is_supported_with_both() {
        let config = |bulk: Json| json!({ "bulk": bulk });
        let limits = Bulk::limits(&config(
            json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1_048_576}),
        ));
        assert_eq!(limits, Some(Limits { operations: 1000, bytes: 1_048_576 - ENVELOPE }));
        let huge = Bulk::limits(&config(
            json!({"supported": true, "maxOperations": 1_000_000_000u64, "maxPayloadSize": 10}),
        ));
        assert_eq!(huge, Some(Limits { operations: MAX_OPERATIONS, bytes: 1 }));
        for off in [
            json!({"supported": false, "maxOperations": 1000, "maxPayloadSize": 1000}),
            json!({"supported": true, "maxPayloadSize": 1000}),
            json!({"supported": true, "maxOperations": 0, "maxPayloadSize": 1000}),
            json!({"supported": "true", "maxOperations": 10, "maxPayloadSize": 1000}),
            json!(null),
        ] {
            assert_eq!(Bulk::limits(&config(off.clone())), None, "{off}");
        }
        assert_eq!(Bulk::limits(&json!({})), None);
    }

    #[test]
    fn answers_are_matched_by_bulk_id_never_by_position() {
        let writes = [("POST", "Users", "w1"), ("PATCH", "Users/a", "w2"), ("DELETE", "Users/b", "w3")];
        // In another order than sent, one twice, one unknown, one missing.
        let answer = json!({"Operations": [
            {"method": "PATCH", "bulkId": "w2", "status": "412", "response": {"detail": "changed"}},
            {"method": "POST", "bulkId": "w1", "status": "201", "location": "https://h/scim/v2/Users/new-1"},
            {"method": "PATCH", "bulkId": "w2", "status": "200"},
            {"method": "POST", "bulkId": "w9", "status": "201", "location": "https://h/Users/x"},
        ]});
        let out = outcomes(&writes, &answer);
        assert_eq!(
            out,
            [
                Some(Outcome::Done(Some("new-1".into()))),
                Some(Outcome::Failed(StatusCode::PRECONDITION_FAILED, Some("changed".into()))),
                None
            ]
        );
    }

    #[test]
    fn answers_without_bulk_id_match_by_method_and_location_when_unambiguous() {
        let writes = [("PATCH", "Users/a", "w1"), ("DELETE", "Users/b", "w2"), ("DELETE", "Users/b", "w3")];
        let answer = json!({"Operations": [
            {"method": "PATCH", "location": "https://h/v2/Users/a", "status": 200},
            {"method": "DELETE", "location": "https://h/v2/Users/b", "status": "204"},
        ]});
        assert_eq!(outcomes(&writes, &answer), [Some(Outcome::Done(None)), None, None]);
    }

    #[test]
    fn throttled_operations_are_asked_again_and_garbage_is_no_answer() {
        let writes = [("POST", "Users", "w1"), ("POST", "Users", "w2"), ("POST", "Users", "w3")];
        let answer = json!({"Operations": [
            {"bulkId": "w1", "status": "429"},
            {"bulkId": "w2", "status": "two hundred"},
            {"bulkId": "w3", "status": "201", "response": {"id": "from-body"}, "location": "https://h/Users/other"},
        ]});
        assert_eq!(
            outcomes(&writes, &answer),
            [Some(Outcome::Again), None, Some(Outcome::Done(Some("from-body".into())))]
        );
        assert_eq!(outcomes(&writes, &json!("not a bulk response")), [None, None, None]);
    }

    #[test]
    fn operations_carry_bulk_id_path_version_and_data() {
        let op = Op::new(
            Method::PATCH,
            "Users/a".into(),
            Some("W/\"3\"".into()),
            Some(json!({"Operations": []})),
            None,
            "a".into(),
        );
        let batch = [Queued::new(op, "w7".into())];
        assert_eq!(
            envelope(&batch),
            json!({"schemas": [BULK_REQUEST], "Operations": [
                {"method": "PATCH", "bulkId": "w7", "path": "/Users/a", "version": "W/\"3\"", "data": {"Operations": []}}
            ]})
        );
        assert_eq!(location_path("https://h/scim/v2/Users/a?x=1"), Some("Users/a"));
        assert_eq!(last_segment("https://h/scim/v2/Users/a/"), Some("a".into()));
        assert_eq!(last_segment("nothing"), None);
    }
}
