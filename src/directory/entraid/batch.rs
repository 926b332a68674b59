//! User writes through Microsoft Graph JSON batching ("Combine multiple HTTP requests
//! using JSON batching", <https://learn.microsoft.com/en-us/graph/json-batching>): the
//! requests [`crate::apply`] has in flight at once go to `POST /$batch`, at most 20 a
//! batch, through [`crate::directory::batch::Batcher`]; each still succeeds or fails on
//! its own, as if it had been sent alone.
//!
//! Graph answers a batch it could parse with 200 and one response per request, in any
//! order, each with its own `status`, `headers` and `body`: answers are matched to the
//! requests by `id`, never by position, and an error maps to the same
//! [`DirectoryError`] as that request's error would alone. A request Graph throttled
//! (429, with its own `Retry-After` among its headers) or could not serve (503) was not
//! done; it is sent again alone after that wait, and so is a repeatable request that
//! failed with 500, 502 or 504 (as [`crate::http`] repeats those). A batch whose answer
//! was lost, or a request missing from the answer, may have been done: a create is
//! looked up by its user principal name before it is posted again, alone; other writes
//! are sent again alone, which is safe as they are idempotent. A batch of one is sent as
//! a plain request. Nothing here logs a body: creates carry initial passwords.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value as Json, json};

use super::EntraDirectory;
use crate::directory::DirectoryError;
use crate::directory::batch::Limits;
use crate::http::{HttpError, detail};

/// Graph's limit: "JSON batch requests are currently limited to 20 individual requests."
pub(super) const REQUESTS_PER_BATCH: usize = 20;

/// The longest `Retry-After` honoured, as [`crate::http`] caps its own.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The limits of a Graph batch: 20 requests; Graph documents no byte limit of its own.
pub(super) const LIMITS: Limits = Limits { operations: REQUESTS_PER_BATCH, bytes: usize::MAX };

/// One request to Graph about one user, sent alone or in a batch.
#[derive(Debug)]
pub(super) struct Call {
    /// Method.
    pub method: Method,
    /// Path from Graph's base (`users/{id}`).
    pub path: String,
    /// Query parameters.
    pub query: Vec<(&'static str, String)>,
    /// JSON body.
    pub body: Option<Json>,
    /// The entry its errors name.
    pub entry: String,
    /// A create: the user principal name it is looked up by when its answer is lost.
    pub lookup: Option<String>,
}

/// What a request's answer was: its body on success.
pub(super) type Answer = Result<Option<Json>, DirectoryError>;

/// What a batch says about one request of it.
pub(super) enum Outcome {
    /// Answered: the request's own result.
    Done(Answer),
    /// Not done (throttled, unavailable): send it again alone after the wait.
    Again(Call, Duration),
    /// Perhaps done, perhaps not: the answer was lost.
    Unknown(Call),
}

impl Call {
    /// A request without query about entry `entry`.
    pub fn new(method: Method, path: String, body: Option<Json>, entry: &str) -> Call {
        Call { method, path, query: Vec::new(), body, entry: entry.to_owned(), lookup: None }
    }

    /// The request's URL relative to Graph's base, with its query, as a batch takes it.
    fn relative_url(&self) -> String {
        let mut url = format!("/{}", self.path);
        if !self.query.is_empty() {
            // Encoded as `crate::http` encodes the query of a request of its own.
            if let Ok(mut encoded) = reqwest::Url::parse("http://graph.invalid/") {
                encoded.query_pairs_mut().extend_pairs(self.query.iter().map(|(k, v)| (*k, v.as_str())));
                url.push('?');
                url.push_str(encoded.query().unwrap_or_default());
            }
        }
        url
    }

    /// The request as an entry of a batch's `requests`.
    fn batch_request(&self, id: usize) -> Json {
        let mut request =
            json!({ "id": id.to_string(), "method": self.method.as_str(), "url": self.relative_url() });
        if let Some(body) = &self.body {
            // "When a body is included with the request, the headers object must contain
            // a value for Content-Type."
            request["body"] = body.clone();
            request["headers"] = json!({ "Content-Type": "application/json" });
        }
        request
    }
}

/// How long a throttled response inside a batch asks to wait: its `Retry-After` header
/// (seconds or an HTTP date, read as [`crate::http`] reads its own), at most a minute.
fn retry_after(headers: Option<&Json>) -> Duration {
    let value = headers
        .and_then(Json::as_object)
        .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("retry-after")))
        .and_then(|(_, v)| match v {
            Json::String(s) => Some(s.clone()),
            Json::Number(n) => Some(n.to_string()),
            _ => None,
        });
    value.and_then(|v| crate::http::parse_retry_after(&v)).unwrap_or(Duration::ZERO).min(MAX_RETRY_AFTER)
}

impl EntraDirectory {
    /// Sends `call`, in a batch with the others in flight when batching is on, and
    /// returns its answer.
    pub(super) async fn call(&self, call: Call) -> Answer {
        let Some(batcher) = &self.batcher else { return self.single(&call).await };
        let outcome = batcher
            .submit(
                call,
                1,
                |calls| self.send_batch(calls),
                || {
                    Outcome::Done(Err(DirectoryError::refused(
                        "the batch carrying this write was abandoned; the next run checks again",
                    )))
                },
            )
            .await;
        match outcome {
            Outcome::Done(answer) => answer,
            Outcome::Again(call, wait) => {
                tokio::time::sleep(wait).await;
                self.single(&call).await
            }
            Outcome::Unknown(call) => self.recover(&call).await,
        }
    }

    /// Sends `call` as a request of its own ([`crate::http`] retries it as it retries any).
    pub(super) async fn single(&self, call: &Call) -> Answer {
        let http = self.http()?;
        let send = || http.send(call.method.clone(), &call.path, &call.query, call.body.as_ref(), &[]);
        match &call.lookup {
            Some(upn) => {
                let id = crate::directory::rest::create(
                    send,
                    || async move { if upn.is_empty() { Ok(None) } else { self.find(upn).await } },
                    |e| self.error(&call.entry, e),
                    "Graph created a user but returned no id",
                )
                .await?;
                Ok(Some(json!({ "id": id })))
            }
            None => send().await.map(|r| r.body).map_err(|e| self.error(&call.entry, e)),
        }
    }

    /// A request whose answer was lost: a create is looked up before it is posted again;
    /// other requests are idempotent and sent again, and a delete sent again that finds
    /// the entry gone was done by the lost one.
    async fn recover(&self, call: &Call) -> Answer {
        if let Some(upn) = call.lookup.as_deref().filter(|u| !u.is_empty())
            && let Some(id) = self.find(upn).await?
        {
            return Ok(Some(json!({ "id": id })));
        }
        match self.single(call).await {
            // The lost request was a delete that Graph did: the entry is gone, as asked.
            Err(DirectoryError::NotFound(..)) if call.method == Method::DELETE => Ok(None),
            answer => answer,
        }
    }

    /// Sends one batch and splits its answer, one outcome per call, in order.
    async fn send_batch(&self, calls: Vec<Call>) -> Vec<Outcome> {
        if let [call] = calls.as_slice() {
            return vec![Outcome::Done(self.single(call).await)];
        }
        let Ok(http) = self.http() else {
            return calls.iter().map(|_| Outcome::Done(self.http().map(|_| None))).collect();
        };
        let requests: Vec<Json> = calls.iter().enumerate().map(|(i, c)| c.batch_request(i + 1)).collect();
        let envelope = json!({ "requests": requests });
        match http.send(Method::POST, "$batch", &[], Some(&envelope), &[]).await {
            Ok(response) => self.split(calls, response.body),
            Err(HttpError::Lost { .. }) => calls.into_iter().map(Outcome::Unknown).collect(),
            Err(e) => {
                // The batch failed as a whole, after the retries of `crate::http`: each of
                // its requests fails as a request of its own with that answer would.
                let e = std::sync::Arc::new(e);
                calls.iter().map(|c| Outcome::Done(Err(self.batch_error(c, &e)))).collect()
            }
        }
    }

    /// The error of `call` when its batch failed as a whole with `e`.
    fn batch_error(&self, call: &Call, e: &std::sync::Arc<HttpError>) -> DirectoryError {
        match e.as_ref() {
            HttpError::Status { method, path, status, detail } => self.error(
                &call.entry,
                HttpError::Status {
                    method: method.clone(),
                    path: path.clone(),
                    status: *status,
                    detail: detail.clone(),
                },
            ),
            _ => DirectoryError::Unavailable {
                directory: self.id.clone(),
                source: Box::new(std::sync::Arc::clone(e)),
            },
        }
    }

    /// The outcome of each call from a batch's answer, matched by `id`.
    fn split(&self, calls: Vec<Call>, body: Option<Json>) -> Vec<Outcome> {
        let mut answers: HashMap<String, Json> = HashMap::new();
        if let Some(Json::Array(responses)) = body.and_then(|mut b| b.get_mut("responses").map(Json::take)) {
            for response in responses {
                if let Some(id) = response.get("id").and_then(Json::as_str) {
                    // Ids are unique in a batch; a second answer for one is not trusted over the first.
                    answers.entry(id.to_ascii_lowercase()).or_insert(response);
                }
            }
        }
        calls
            .into_iter()
            .enumerate()
            .map(|(i, call)| match answers.remove(&(i + 1).to_string()) {
                Some(response) => self.outcome(call, response),
                // No answer for it: it may or may not have been done.
                None => Outcome::Unknown(call),
            })
            .collect()
    }

    /// The outcome of `call` from its response inside a batch.
    fn outcome(&self, call: Call, mut response: Json) -> Outcome {
        let status = response
            .get("status")
            .and_then(Json::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .and_then(|s| StatusCode::from_u16(s).ok());
        let Some(status) = status else { return Outcome::Unknown(call) };
        let body = response.get_mut("body").map(Json::take).filter(|b| !b.is_null());
        if status.is_success() {
            return Outcome::Done(Ok(body));
        }
        let repeatable = call.method != Method::POST;
        match status {
            // Not done: "Requests in a batch are evaluated individually against the
            // applicable throttling limits and if any request exceeds the limits, it fails
            // with a status of 429."
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                let wait = retry_after(response.get("headers"));
                Outcome::Again(call, wait)
            }
            StatusCode::INTERNAL_SERVER_ERROR | StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT
                if repeatable =>
            {
                Outcome::Again(call, Duration::ZERO)
            }
            _ => {
                let e = HttpError::Status {
                    method: call.method.clone(),
                    path: call.path.clone(),
                    status,
                    detail: detail(body.as_ref()),
                };
                Outcome::Done(Err(self.error(&call.entry, e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_requests_wait_what_their_own_headers_ask_at_most_a_minute() {
        assert_eq!(retry_after(Some(&json!({ "Retry-After": "7" }))), Duration::from_secs(7));
        assert_eq!(retry_after(Some(&json!({ "retry-after": 3 }))), Duration::from_secs(3));
        assert_eq!(retry_after(Some(&json!({ "Retry-After": "3600" }))), MAX_RETRY_AFTER);
        assert_eq!(retry_after(Some(&json!({ "Retry-After": "soon" }))), Duration::ZERO);
        assert_eq!(retry_after(None), Duration::ZERO);
    }

    #[test]
    fn batch_requests_carry_relative_urls_with_their_query_and_a_content_type_with_a_body() {
        let call = Call {
            method: Method::GET,
            path: "users/a1".into(),
            query: vec![("$select", "id,accountEnabled".into()), ("$expand", "manager($select=id)".into())],
            body: None,
            entry: "a1".into(),
            lookup: None,
        };
        let request = call.batch_request(3);
        assert_eq!(request["id"], "3");
        assert_eq!(request["method"], "GET");
        let url = request["url"].as_str().unwrap();
        assert!(url.starts_with("/users/a1?"), "{url}");
        let parsed = reqwest::Url::parse(&format!("https://graph.example/v1.0{url}")).unwrap();
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("$select".to_owned(), "id,accountEnabled".to_owned()),
                ("$expand".to_owned(), "manager($select=id)".to_owned())
            ]
        );
        assert!(request.get("headers").is_none() && request.get("body").is_none());
        let patch =
            Call { method: Method::PATCH, body: Some(json!({ "city": "Bonn" })), query: vec![], ..call };
        let request = patch.batch_request(1);
        assert_eq!(request["url"], "/users/a1");
        assert_eq!(request["headers"]["Content-Type"], "application/json");
        assert_eq!(request["body"]["city"], "Bonn");
    }

    #[test]
    fn errors_inside_a_batch_read_like_graphs_own() {
        let body = json!({ "error": { "code": "Request_BadRequest", "message": "Invalid value." } });
        assert_eq!(detail(Some(&body)).as_deref(), Some("Invalid value. (Request_BadRequest)"));
        let body = json!({ "error": { "code": "", "message": "No." } });
        assert_eq!(detail(Some(&body)).as_deref(), Some("No."));
        assert_eq!(detail(Some(&json!({ "value": [] }))), None);
    }
}
