//! A stateful fake of the parts of Microsoft Graph v1.0 and the Microsoft identity
//! platform's token endpoint that the `entraid` directory uses, shaped after their
//! public references: client-credentials tokens, `/users` with `$select`, `$top`
//! (1–999), `$expand=manager` (at most 100 users a page), `$filter` on one property,
//! `$skiptoken` paging through an absolute `@odata.nextLink`, POST with the properties
//! Graph requires, PATCH answering 204, the manager `$ref`, DELETE, Graph's error bodies
//! (`Request_ResourceNotFound`, `Request_BadRequest`, `TooManyRequests` with
//! `Retry-After`), and AADSTS errors from the token endpoint.
//!
//! Groups, after "Create group", "Add members", "Remove member" and "List group
//! members" of the Graph v1.0 reference
//! (https://learn.microsoft.com/en-us/graph/api/group-post-groups,
//! https://learn.microsoft.com/en-us/graph/api/group-post-members,
//! https://learn.microsoft.com/en-us/graph/api/group-delete-members,
//! https://learn.microsoft.com/en-us/graph/api/group-list-members): `/groups` listed,
//! filtered and paged like users, POST with the properties Graph requires and at most 20
//! references (`members@odata.bind`, `owners@odata.bind`), PATCH binding at most 20
//! members and refusing the whole request when one is a member already, `$ref` adds and
//! removes one by one (404 for a non-member, naming the group as Graph does), the members
//! paged by `$top`, and DELETE. The fake's own words stand where the reference gives none
//! (the answer beyond 20 references).
//!
//! JSON batching, after "Combine multiple HTTP requests using JSON batching"
//! (https://learn.microsoft.com/en-us/graph/json-batching): `POST /v1.0/$batch` with
//! `requests`, each with a unique `id`, a `method`, a `url` relative to `/v1.0`, and a
//! `Content-Type` among its `headers` when it has a `body`; at most 20 requests ("JSON
//! batch requests are currently limited to 20 individual requests"), a batch breaking
//! these rules refused whole with 400 ("If the batch request itself is malformed, the
//! status code is 400"; the reference gives no words, so the fake uses those the
//! service answers, as users report them: "Number of requests inside batch exceeds the
//! limit.", "Write request id : … does not contain Content-Type header or body.").
//! Each request is served by the same handlers, on the same state, as alone; the batch
//! answers 200 with `responses` in the reverse order of the requests ("Individual
//! responses might appear in a different order than the requests"), each with its own
//! `status`, `headers` (a throttled one with its own `Retry-After`) and `body`. Faults
//! apply to each request inside a batch as to one alone, and to the batch itself (path
//! `/v1.0/$batch`); a slow request inside holds the batch's answer. The fake counts the
//! HTTP requests it received and the requests inside batches.
//!
//! Graph cannot run here, so this is the one HTTP mock of the directory tests; the LDAP
//! and SCIM directories are tested against real servers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;
use serde_json::{Map, Value as Json, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// The tenant the fake answers for.
pub const TENANT: &str = "5f0c3a9e-7d1b-4c62-9a0e-2b8f4d6e1a37";
/// The application (client) id it knows.
pub const CLIENT_ID: &str = "0b6e2c44-91d3-4f0a-8c57-3e1a9d2f6b80";
/// That application's client secret.
pub const CLIENT_SECRET: &str = "tQ8~graph-test-secret.Zk41";

/// What the fake does to one request, decided by the test before the request is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Serve it.
    None,
    /// Answer 429 with `Retry-After: 1`, without acting.
    TooManyRequests,
    /// Act, then hold the answer for five seconds (past the client's timeout).
    SlowAnswer,
    /// Answer with this status and a Graph error body, without acting: Graph's "no"
    /// about one item (400 `Request_BadRequest`, 404, 409 `Request_MultipleObjectsWithSameKeyValue`
    /// per https://learn.microsoft.com/en-us/graph/errors).
    Refuse(u16),
}

/// Decides the fault for the n-th Graph request (from 1, a batch and each request inside
/// it counted) from its method, path and body.
type FaultFn = Box<dyn Fn(usize, &str, &str, &str) -> Fault + Send + Sync>;

/// A password profile as Graph received it.
#[derive(Clone, Debug)]
pub struct PasswordProfile {
    pub user_principal_name: String,
    pub password: String,
    pub force_change: bool,
}

struct State {
    base: String,
    users: BTreeMap<String, Map<String, Json>>,
    groups: BTreeMap<String, Map<String, Json>>,
    /// Members by group.
    members: BTreeMap<String, BTreeSet<String>>,
    /// The bodies of the requests logged, `null` for none.
    bodies: Vec<Json>,
    managers: BTreeMap<String, String>,
    next_id: u64,
    tokens: BTreeSet<String>,
    passwords: Vec<PasswordProfile>,
    requests: usize,
    /// HTTP requests received, the token endpoint's aside.
    http_requests: usize,
    /// Requests served inside batches.
    inner_requests: usize,
    /// Batches served.
    batches: usize,
    /// The batch each logged request was served in, `None` for one alone.
    batch_of: Vec<Option<usize>>,
    /// The status each logged request was answered, and the body of the answer.
    answers: Vec<(u16, Json)>,
    /// When each logged request was served.
    times: Vec<std::time::Instant>,
    log: Vec<String>,
    faults: Vec<(usize, Fault)>,
    fault: FaultFn,
}

/// The fake, serving on a loopback port until dropped.
pub struct Graph {
    // Declared first so it is dropped before the runtime that started it.
    server: MockServer,
    _runtime: tokio::runtime::Runtime,
    state: Arc<Mutex<State>>,
}

impl Graph {
    /// A fake with an empty tenant and no faults.
    pub fn start() -> Graph {
        Graph::with_faults(|_, _, _, _| Fault::None)
    }

    /// A fake that consults `fault` before serving each Graph request.
    pub fn with_faults(fault: impl Fn(usize, &str, &str, &str) -> Fault + Send + Sync + 'static) -> Graph {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let server = runtime.block_on(MockServer::start());
        let state = Arc::new(Mutex::new(State {
            base: server.uri(),
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            members: BTreeMap::new(),
            bodies: Vec::new(),
            managers: BTreeMap::new(),
            next_id: 1,
            tokens: BTreeSet::new(),
            passwords: Vec::new(),
            requests: 0,
            http_requests: 0,
            inner_requests: 0,
            batches: 0,
            batch_of: Vec::new(),
            answers: Vec::new(),
            times: Vec::new(),
            log: Vec::new(),
            faults: Vec::new(),
            fault: Box::new(fault),
        }));
        runtime.block_on(Mock::given(any()).respond_with(Responder(state.clone())).mount(&server));
        Graph { server, _runtime: runtime, state }
    }

    /// Graph's base URL, as `connection.url` takes it.
    pub fn url(&self) -> String {
        format!("{}/v1.0", self.server.uri())
    }

    /// The token endpoint, as `connection.token_url` takes it.
    pub fn token_url(&self) -> String {
        format!("{}/{TENANT}/oauth2/v2.0/token", self.server.uri())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every user, in creation order, with `managerId` added when one is set.
    pub fn users(&self) -> Vec<Json> {
        let state = self.state();
        state
            .users
            .iter()
            .map(|(id, user)| {
                let mut user = user.clone();
                if let Some(m) = state.managers.get(id) {
                    user.insert("managerId".into(), json!(m));
                }
                Json::Object(user)
            })
            .collect()
    }

    /// Adds a user the way an administrator would, returning its id.
    pub fn insert(&self, user: Json) -> String {
        let mut state = self.state();
        let id = state.new_id();
        let mut user = user.as_object().cloned().unwrap();
        user.insert("id".into(), json!(id));
        state.users.insert(id.clone(), user);
        id
    }

    /// Changes properties of a user behind hrsync's back.
    pub fn edit(&self, id: &str, changes: Json) {
        let mut state = self.state();
        let user = state.users.get_mut(id).unwrap();
        for (k, v) in changes.as_object().unwrap() {
            user.insert(k.clone(), v.clone());
        }
    }

    /// The password profiles sent with creates.
    pub fn passwords(&self) -> Vec<PasswordProfile> {
        self.state().passwords.clone()
    }

    /// `METHOD path?query` of every Graph request served, faults included.
    pub fn log(&self) -> Vec<String> {
        self.state().log.clone()
    }

    /// Every group, with `members` (their ids) added.
    pub fn groups(&self) -> Vec<Json> {
        let state = self.state();
        state
            .groups
            .iter()
            .map(|(id, group)| {
                let mut group = group.clone();
                let members: Vec<&String> = state.members.get(id).into_iter().flatten().collect();
                group.insert("members".into(), json!(members));
                Json::Object(group)
            })
            .collect()
    }

    /// Adds a group the way an administrator would, with `members`, returning its id.
    pub fn insert_group(&self, group: Json, members: &[&str]) -> String {
        let mut state = self.state();
        let id = state.new_id();
        let mut group = group.as_object().cloned().unwrap();
        group.insert("id".into(), json!(id));
        state.groups.insert(id.clone(), group);
        state.members.insert(id.clone(), members.iter().map(|m| m.to_string()).collect());
        id
    }

    /// `METHOD path?query` and the JSON body (`null` for none) of every Graph request
    /// served, faults included.
    pub fn requests(&self) -> Vec<(String, Json)> {
        let state = self.state();
        state.log.iter().cloned().zip(state.bodies.iter().cloned()).collect()
    }

    /// How many requests got `fault`.
    pub fn injected(&self, fault: Fault) -> usize {
        self.state().faults.iter().filter(|(_, f)| *f == fault).count()
    }

    /// The requests that wrote something: POST, PATCH, PUT and DELETE, alone or inside
    /// a batch (the `$batch` requests carrying them aside).
    pub fn writes(&self) -> Vec<String> {
        self.log().into_iter().filter(|l| !l.starts_with("GET ") && !Self::is_batch(l)).collect()
    }

    fn is_batch(line: &str) -> bool {
        line == "POST /v1.0/$batch"
    }

    /// HTTP requests Graph received (`$batch` requests counted once), the token
    /// endpoint's aside.
    pub fn http_requests(&self) -> usize {
        self.state().http_requests
    }

    /// Requests served inside batches.
    pub fn inner_requests(&self) -> usize {
        self.state().inner_requests
    }

    /// Every request served, in order: alone or inside a batch, the `$batch` requests
    /// themselves included.
    pub fn exchanges(&self) -> Vec<Exchange> {
        let state = self.state();
        (0..state.log.len())
            .map(|i| Exchange {
                line: state.log[i].clone(),
                body: state.bodies[i].clone(),
                batch: state.batch_of[i],
                status: state.answers[i].0,
                answer: state.answers[i].1.clone(),
                at: state.times[i],
            })
            .collect()
    }

    /// The requests of each batch, `METHOD path?query`, in batch order.
    pub fn batches(&self) -> Vec<Vec<String>> {
        let mut batches: Vec<Vec<String>> = vec![Vec::new(); self.state().batches];
        for e in self.exchanges() {
            if let Some(b) = e.batch {
                batches[b - 1].push(e.line);
            }
        }
        batches
    }
}

/// One request the fake served and its answer.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// `METHOD path?query`.
    pub line: String,
    /// Its JSON body, `null` for none.
    pub body: Json,
    /// The batch (from 1) it came in, `None` alone.
    pub batch: Option<usize>,
    /// The status it was answered.
    pub status: u16,
    /// The body of the answer, `null` for none.
    pub answer: Json,
    /// When it was served.
    pub at: std::time::Instant,
}

/// An answer of the fake: what a response or a response inside a batch carries.
#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Option<Json>,
}

impl Answer {
    fn new(status: u16) -> Answer {
        Answer { status, headers: Vec::new(), body: None }
    }

    fn set_body_json(mut self, body: Json) -> Answer {
        self.body = Some(body);
        self
    }

    fn insert_header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn template(&self) -> ResponseTemplate {
        let mut template = ResponseTemplate::new(self.status);
        for (name, value) in &self.headers {
            template = template.insert_header(name.as_str(), value.as_str());
        }
        match &self.body {
            Some(body) => template.set_body_json(body),
            None => template,
        }
    }

    /// The answer as an entry of a batch's `responses`.
    fn batch_response(&self, id: &str) -> Json {
        let mut headers: Map<String, Json> =
            self.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let mut response = json!({ "id": id, "status": self.status });
        if let Some(body) = &self.body {
            headers.insert("Content-Type".into(), json!("application/json"));
            response["body"] = body.clone();
        }
        response["headers"] = Json::Object(headers);
        response
    }
}

/// The most requests Graph takes in one batch.
pub const REQUESTS_PER_BATCH: usize = 20;

struct Responder(Arc<Mutex<State>>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        state.respond(request)
    }
}

/// A Graph error body.
fn graph_error(status: u16, code: &str, message: &str) -> Answer {
    Answer::new(status).set_body_json(json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": "2026-11-22T09:00:00",
                "request-id": "8c1f0a52-1111-4e6e-9f57-b1d0c2a4e001",
                "client-request-id": "8c1f0a52-1111-4e6e-9f57-b1d0c2a4e001"
            }
        }
    }))
}

fn not_found(id: &str) -> Answer {
    graph_error(
        404,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

fn bad_request(message: &str) -> Answer {
    graph_error(400, "Request_BadRequest", message)
}

/// User properties the fake accepts in writes (a subset of Graph's user resource).
const PROPERTIES: &[&str] = &[
    "accountEnabled",
    "ageGroup",
    "businessPhones",
    "city",
    "companyName",
    "country",
    "department",
    "displayName",
    "employeeHireDate",
    "employeeId",
    "employeeLeaveDateTime",
    "employeeOrgData",
    "employeeType",
    "givenName",
    "jobTitle",
    "mail",
    "mailNickname",
    "mobilePhone",
    "officeLocation",
    "onPremisesExtensionAttributes",
    "onPremisesImmutableId",
    "otherMails",
    "passwordPolicies",
    "passwordProfile",
    "postalCode",
    "preferredLanguage",
    "state",
    "streetAddress",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

/// Collections Graph answers as `[]` when empty.
const COLLECTIONS: &[&str] = &["businessPhones", "otherMails"];

/// Exchange's alias rule: ASCII letters, digits and a few marks, no leading or trailing dot.
fn valid_nickname(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && !n.starts_with('.')
        && !n.ends_with('.')
        && n.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
}

/// Azure AD's default password rule: 8–256 characters, three of four classes.
fn complex_enough(p: &str) -> bool {
    let classes = [
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    (8..=256).contains(&p.chars().count()) && classes.iter().filter(|c| **c).count() >= 3
}

impl State {
    fn new_id(&mut self) -> String {
        let n = self.next_id;
        self.next_id += 1;
        format!("a1b2c3d4-0000-4000-8000-{n:012x}")
    }

    fn respond(&mut self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().to_owned();
        if path == format!("/{TENANT}/oauth2/v2.0/token") && request.method.as_str() == "POST" {
            return self.token(request).template();
        }
        if path.ends_with("/oauth2/v2.0/token") {
            return Answer::new(400)
                .set_body_json(json!({
                    "error": "invalid_request",
                    "error_description": "AADSTS90002: Tenant not found. Check to make sure you have the correct tenant ID.",
                    "error_codes": [90002]
                }))
                .template();
        }
        self.http_requests += 1;
        let (answer, slow) = self.serve(request, None);
        let template = answer.template();
        if slow { template.set_delay(Duration::from_secs(5)) } else { template }
    }

    /// Serves one Graph request, alone (`batch` `None`) or inside batch `batch`: the
    /// answer, and whether it is to be held (a slow answer).
    fn serve(&mut self, request: &Request, batch: Option<usize>) -> (Answer, bool) {
        let path = request.url.path().to_owned();
        let method = request.method.as_str().to_owned();
        self.requests += 1;
        let n = self.requests;
        let query = request.url.query().map(|q| format!("?{q}")).unwrap_or_default();
        self.log.push(format!("{method} {path}{query}"));
        self.bodies.push(request.body_json::<Json>().unwrap_or(Json::Null));
        self.batch_of.push(batch);
        self.answers.push((0, Json::Null));
        self.times.push(std::time::Instant::now());
        let at = self.answers.len() - 1;
        let (answer, slow) = self.serve_logged(n, &method, &path, request, batch);
        self.answers[at] = (answer.status, answer.body.clone().unwrap_or(Json::Null));
        (answer, slow)
    }

    fn serve_logged(
        &mut self,
        n: usize,
        method: &str,
        path: &str,
        request: &Request,
        batch: Option<usize>,
    ) -> (Answer, bool) {
        let fault = (self.fault)(n, method, path, &String::from_utf8_lossy(&request.body));
        if fault != Fault::None {
            self.faults.push((n, fault));
        }
        if fault == Fault::TooManyRequests {
            let answer = graph_error(
                429,
                "TooManyRequests",
                "Too many requests have been sent. Retry after the time in the Retry-After header.",
            )
            .insert_header("Retry-After", "1");
            return (answer, false);
        }
        // Requests inside a batch are the batch's, signed in with its token.
        if batch.is_none() {
            let bearer = request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if !bearer.is_some_and(|t| self.tokens.contains(t)) {
                let answer =
                    graph_error(401, "InvalidAuthenticationToken", "Access token validation failure.");
                return (answer, false);
            }
        }
        if let Fault::Refuse(status) = fault {
            let code = match status {
                404 => "Request_ResourceNotFound",
                409 => "Request_MultipleObjectsWithSameKeyValue",
                _ => "Request_BadRequest",
            };
            return (graph_error(status, code, "Refused by the test for this one user."), false);
        }
        let (answer, slow) = if path == "/v1.0/$batch" && method == "POST" && batch.is_none() {
            self.batch(request)
        } else {
            (self.graph(method, path, request), false)
        };
        (answer, slow || fault == Fault::SlowAnswer)
    }

    /// `POST /v1.0/$batch`: each request served in turn, the answers in reverse order.
    fn batch(&mut self, request: &Request) -> (Answer, bool) {
        let envelope = request.body_json::<Json>().unwrap_or(Json::Null);
        let Some(requests) = envelope.get("requests").and_then(Json::as_array) else {
            return (graph_error(400, "BadRequest", "Invalid batch payload format."), false);
        };
        if requests.len() > REQUESTS_PER_BATCH {
            return (
                graph_error(400, "BadRequest", "Number of requests inside batch exceeds the limit."),
                false,
            );
        }
        let mut inner = Vec::with_capacity(requests.len());
        let mut ids = BTreeSet::new();
        for r in requests {
            let (Some(id), Some(method), Some(url)) = (
                r.get("id").and_then(Json::as_str),
                r.get("method").and_then(Json::as_str),
                r.get("url").and_then(Json::as_str),
            ) else {
                return (graph_error(400, "BadRequest", "Invalid batch payload format."), false);
            };
            // "Must be unique in the batch, otherwise, the batch request fails with a 400
            // error code." (The words are the fake's.)
            if !ids.insert(id.to_ascii_lowercase()) {
                return (
                    graph_error(400, "BadRequest", &format!("Batch request id '{id}' is not unique.")),
                    false,
                );
            }
            let content_type = r
                .get("headers")
                .and_then(Json::as_object)
                .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")));
            if r.get("body").is_some() && !content_type {
                let message =
                    format!("Write request id : {id} does not contain Content-Type header or body.");
                return (graph_error(400, "BadRequest", &message), false);
            }
            let relative = url.strip_prefix('/').unwrap_or(url);
            let (Ok(url), Ok(method)) = (
                Url::parse(&format!("{}/v1.0/{relative}", self.base)),
                method.parse::<wiremock::http::Method>(),
            ) else {
                return (graph_error(400, "BadRequest", "Invalid batch payload format."), false);
            };
            let body = r.get("body").map(|b| b.to_string().into_bytes()).unwrap_or_default();
            let request = Request { url, method, headers: Default::default(), body };
            inner.push((id.to_owned(), request));
        }
        self.batches += 1;
        let number = self.batches;
        let mut responses = Vec::with_capacity(inner.len());
        let mut slow = false;
        for (id, request) in &inner {
            self.inner_requests += 1;
            let (answer, held) = self.serve(request, Some(number));
            slow |= held;
            responses.push(answer.batch_response(id));
        }
        responses.reverse();
        (Answer::new(200).set_body_json(json!({ "responses": responses })), slow)
    }

    fn token(&mut self, request: &Request) -> Answer {
        let body = String::from_utf8_lossy(&request.body);
        let form: BTreeMap<String, String> =
            Url::parse(&format!("http://form/?{body}")).unwrap().query_pairs().into_owned().collect();
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        if field("grant_type") != "client_credentials" {
            return Answer::new(400).set_body_json(json!({
                "error": "unsupported_grant_type",
                "error_description": "AADSTS70003: The app requested an unsupported grant type.",
            }));
        }
        if field("client_id") != CLIENT_ID {
            return Answer::new(400).set_body_json(json!({
                "error": "unauthorized_client",
                "error_description": "AADSTS700016: Application was not found in the directory.",
            }));
        }
        if field("client_secret") != CLIENT_SECRET {
            return Answer::new(401).set_body_json(json!({
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
                "error_codes": [7000215]
            }));
        }
        if field("scope") != "https://graph.microsoft.com/.default" {
            return Answer::new(400).set_body_json(json!({
                "error": "invalid_scope",
                "error_description": "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
            }));
        }
        let token = format!("eyJ0eXAiOiJKV1QifQ.fake-{}", self.tokens.len() + 1);
        self.tokens.insert(token.clone());
        Answer::new(200).set_body_json(json!({
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": token,
        }))
    }

    fn graph(&mut self, method: &str, path: &str, request: &Request) -> Answer {
        if let Some(rest) = path.strip_prefix("/v1.0/groups") {
            return self.groups_api(method, rest, request);
        }
        let Some(rest) = path.strip_prefix("/v1.0/users") else {
            return graph_error(400, "BadRequest", &format!("Resource not found for the segment '{path}'."));
        };
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let query: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
        let body = || request.body_json::<Json>().ok().and_then(|b| b.as_object().cloned());
        if method == "GET"
            && let Some(select) = query.get("$select")
            && let Some(unknown) = select
                .split(',')
                .find(|p| *p != "id" && !p.starts_with("extension_") && !PROPERTIES.contains(p))
        {
            return bad_request(&format!(
                "Could not find a property named '{unknown}' on type 'microsoft.graph.user'."
            ));
        }
        match (method, segments.as_slice()) {
            ("GET", []) => self.list(&query),
            ("POST", []) => match body() {
                Some(b) => self.create(b),
                None => bad_request("Unable to read JSON request payload."),
            },
            ("GET", [id]) => match self.users.get(*id) {
                Some(_) => Answer::new(200).set_body_json(self.render(id, &query)),
                None => not_found(id),
            },
            ("PATCH", [id]) => match body() {
                Some(b) => self.patch(id, b),
                None => bad_request("Unable to read JSON request payload."),
            },
            ("DELETE", [id]) => {
                if self.users.remove(*id).is_none() {
                    return not_found(id);
                }
                self.managers.remove(*id);
                self.managers.retain(|_, m| m != id);
                for members in self.members.values_mut() {
                    members.remove(*id);
                }
                Answer::new(204)
            }
            ("PUT", [id, "manager", "$ref"]) => {
                let target = body()
                    .and_then(|b| b.get("@odata.id").and_then(Json::as_str).map(str::to_owned))
                    .and_then(|u| u.rsplit('/').next().map(str::to_owned));
                let Some(manager) = target else {
                    return bad_request(
                        "Write requests (excluding DELETE) must contain the Content-Type header declaration.",
                    );
                };
                if !self.users.contains_key(*id) {
                    return not_found(id);
                }
                if !self.users.contains_key(&manager) {
                    return not_found(&manager);
                }
                self.managers.insert((*id).to_owned(), manager);
                Answer::new(204)
            }
            ("DELETE", [id, "manager", "$ref"]) => match self.managers.remove(*id) {
                Some(_) => Answer::new(204),
                None => not_found(id),
            },
            _ => graph_error(
                405,
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.",
            ),
        }
    }

    /// A user as Graph renders it for `$select` and `$expand`.
    fn render(&self, id: &str, query: &BTreeMap<String, String>) -> Json {
        let user = &self.users[id];
        let mut out = Map::new();
        match query.get("$select") {
            Some(select) => {
                for p in select.split(',') {
                    let empty = if COLLECTIONS.contains(&p) { json!([]) } else { Json::Null };
                    out.insert(p.to_owned(), user.get(p).cloned().unwrap_or(empty));
                }
            }
            None => out = user.clone(),
        }
        if query.get("$expand").is_some_and(|e| e.starts_with("manager"))
            && let Some(m) = self.managers.get(id)
        {
            out.insert("manager".into(), json!({ "@odata.type": "#microsoft.graph.user", "id": m }));
        }
        Json::Object(out)
    }

    fn list(&self, query: &BTreeMap<String, String>) -> Answer {
        let top = match query.get("$top") {
            None => 100,
            Some(t) => match t.parse::<usize>() {
                Ok(n) if (1..=999).contains(&n) => n,
                _ => {
                    return graph_error(
                        400,
                        "Request_UnsupportedQuery",
                        &format!("Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."),
                    );
                }
            },
        };
        let expand = query.contains_key("$expand");
        let size = if expand { top.min(100) } else { top };
        let matching: Vec<&String> = match query.get("$filter") {
            None => self.users.keys().collect(),
            Some(filter) => {
                let Some((prop, literal)) = filter.split_once(" eq ") else {
                    return graph_error(400, "Request_UnsupportedQuery", "Unsupported query.");
                };
                let Some(value) = literal.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) else {
                    return graph_error(400, "BadRequest", &format!("Invalid filter clause: {filter}"));
                };
                if value.replace("''", "").contains('\'') {
                    return graph_error(
                        400,
                        "BadRequest",
                        "Invalid filter clause: unterminated string literal.",
                    );
                }
                let value = value.replace("''", "'");
                self.users
                    .iter()
                    .filter(|(_, u)| {
                        u.get(prop).and_then(Json::as_str).is_some_and(|v| v.eq_ignore_ascii_case(&value))
                    })
                    .map(|(id, _)| id)
                    .collect()
            }
        };
        let skip = match query.get("$skiptoken") {
            None => 0,
            Some(t) => match t.strip_prefix("X'").and_then(|t| usize::from_str_radix(t, 16).ok()) {
                Some(n) => n,
                None => {
                    return graph_error(
                        400,
                        "Directory_ExpiredPageToken",
                        "The specified page token value has expired and can no longer be included in your request.",
                    );
                }
            },
        };
        let page: Vec<Json> =
            matching.iter().skip(skip).take(size).map(|id| self.render(id, query)).collect();
        let mut body = Map::new();
        body.insert("@odata.context".into(), json!(format!("{}/v1.0/$metadata#users", self.base)));
        if skip + size < matching.len() {
            let mut next = Url::parse(&format!("{}/v1.0/users", self.base)).unwrap();
            {
                let mut pairs = next.query_pairs_mut();
                for (k, v) in query {
                    if k != "$skiptoken" {
                        pairs.append_pair(k, v);
                    }
                }
                pairs.append_pair("$skiptoken", &format!("X'{:x}", skip + size));
            }
            body.insert("@odata.nextLink".into(), json!(next.as_str()));
        }
        body.insert("value".into(), Json::Array(page));
        Answer::new(200).set_body_json(Json::Object(body))
    }

    /// The first property of `body` the fake does not know, if any.
    fn unknown_property(body: &Map<String, Json>) -> Option<Answer> {
        let unknown = body.keys().find(|k| !PROPERTIES.contains(&k.as_str()))?;
        Some(bad_request(&format!(
            "Property '{unknown}' does not exist as a declared property or extension property."
        )))
    }

    fn upn_taken(&self, upn: &str, except: Option<&str>) -> bool {
        self.users.iter().any(|(id, u)| {
            Some(id.as_str()) != except
                && u.get("userPrincipalName")
                    .and_then(Json::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(upn))
        })
    }

    fn create(&mut self, mut body: Map<String, Json>) -> Answer {
        if let Some(bad) = Self::unknown_property(&body) {
            return bad;
        }
        for required in ["accountEnabled", "displayName", "mailNickname", "userPrincipalName"] {
            if body.get(required).is_none_or(Json::is_null) {
                return bad_request(&format!(
                    "Invalid value specified for property '{required}' of resource 'User'."
                ));
            }
        }
        let Some(profile) = body.remove("passwordProfile") else {
            return bad_request("Invalid value specified for property 'passwordProfile' of resource 'User'.");
        };
        let password = profile.get("password").and_then(Json::as_str).unwrap_or_default().to_owned();
        if !complex_enough(&password) {
            return bad_request(
                "The specified password does not comply with password complexity requirements. Please provide a different password.",
            );
        }
        if !body["mailNickname"].as_str().is_some_and(valid_nickname) {
            return bad_request("Invalid value specified for property 'mailNickname' of resource 'User'.");
        }
        let upn = body["userPrincipalName"].as_str().unwrap_or_default().to_owned();
        if !upn.contains('@') {
            return bad_request(
                "Invalid value specified for property 'userPrincipalName' of resource 'User'.",
            );
        }
        if self.upn_taken(&upn, None) {
            return bad_request(
                "Another object with the same value for property userPrincipalName already exists.",
            );
        }
        self.passwords.push(PasswordProfile {
            user_principal_name: upn,
            password,
            force_change: profile
                .get("forceChangePasswordNextSignIn")
                .and_then(Json::as_bool)
                .unwrap_or(true),
        });
        let id = self.new_id();
        body.insert("id".into(), json!(id));
        self.users.insert(id.clone(), body.clone());
        body.insert("@odata.context".into(), json!(format!("{}/v1.0/$metadata#users/$entity", self.base)));
        Answer::new(201).set_body_json(Json::Object(body))
    }

    fn patch(&mut self, id: &str, body: Map<String, Json>) -> Answer {
        if !self.users.contains_key(id) {
            return not_found(id);
        }
        if let Some(bad) = Self::unknown_property(&body) {
            return bad;
        }
        if let Some(upn) = body.get("userPrincipalName").and_then(Json::as_str)
            && self.upn_taken(upn, Some(id))
        {
            return bad_request(
                "Another object with the same value for property userPrincipalName already exists.",
            );
        }
        let user = self.users.get_mut(id).unwrap();
        for (k, v) in body {
            match (v, user.get_mut(&k)) {
                (Json::Null, _) => {
                    user.remove(&k);
                }
                // Complex properties merge, as Graph's PATCH does.
                (Json::Object(new), Some(Json::Object(old))) => {
                    for (nk, nv) in new {
                        if nv.is_null() {
                            old.remove(&nk);
                        } else {
                            old.insert(nk, nv);
                        }
                    }
                }
                (v, _) => {
                    user.insert(k, v);
                }
            }
        }
        Answer::new(204)
    }
}

/// Group properties the fake knows (a subset of Graph's group resource).
const GROUP_PROPERTIES: &[&str] =
    &["description", "displayName", "groupTypes", "mail", "mailEnabled", "mailNickname", "securityEnabled"];

/// The most references Graph takes in one request: "up to 20 members can be added in a
/// single request" (Add members), "a maximum of 20 relationships, such as owners and
/// members, can be added as part of group creation" (Create group).
pub const REFERENCES_PER_REQUEST: usize = 20;

/// Graph's answer to adding a member that is one already (Add members: "400 Bad
/// Request response code when the object is already a member of the group").
const ALREADY_MEMBER: &str =
    "One or more added object references already exist for the following modified properties: 'members'.";

/// A group's mail alias as "Create group" allows it: at most 64 ASCII characters, none of
/// `@ () \ [] " ; : . <> ,` and space.
fn valid_group_nickname(n: &str) -> bool {
    !n.is_empty() && n.len() <= 64 && n.chars().all(|c| c.is_ascii() && !"@()\\[]\";:.<>, ".contains(c))
}

impl State {
    /// The directory object a reference (`https://…/directoryObjects/{id}`) names.
    fn referenced(&self, reference: &Json) -> Result<String, Box<Answer>> {
        let Some(url) = reference.as_str() else {
            return Err(Box::new(bad_request("Invalid object identifier.")));
        };
        let Some(id) = url.rsplit('/').next().filter(|_| url.contains("/v1.0/")) else {
            return Err(Box::new(bad_request(&format!("Invalid object identifier '{url}'."))));
        };
        if !self.users.contains_key(id) && !self.groups.contains_key(id) {
            return Err(Box::new(not_found(id)));
        }
        Ok(id.to_owned())
    }

    /// The first property of a group write the fake does not know, if any.
    fn unknown_group_property(body: &Map<String, Json>) -> Option<Answer> {
        let unknown = body.keys().find(|k| {
            !GROUP_PROPERTIES.contains(&k.as_str())
                && !k.starts_with("extension_")
                && *k != "members@odata.bind"
                && *k != "owners@odata.bind"
        })?;
        Some(bad_request(&format!(
            "Property '{unknown}' does not exist as a declared property or extension property."
        )))
    }

    /// The references of `members@odata.bind`, at most 20, all existing.
    fn bound(&self, body: &Map<String, Json>, limit: usize) -> Result<Vec<String>, Box<Answer>> {
        let refs = match body.get("members@odata.bind") {
            None => return Ok(Vec::new()),
            Some(Json::Array(refs)) => refs,
            Some(_) => return Err(Box::new(bad_request("Invalid value for 'members@odata.bind'."))),
        };
        if refs.len() > limit {
            // Graph's words for this are not in its reference; these are the fake's.
            return Err(Box::new(bad_request(&format!(
                "The request binds {} references; at most {REFERENCES_PER_REQUEST} are allowed in one request.",
                refs.len()
            ))));
        }
        refs.iter().map(|r| self.referenced(r)).collect()
    }

    fn groups_api(&mut self, method: &str, rest: &str, request: &Request) -> Answer {
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let query: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
        let body = || request.body_json::<Json>().ok().and_then(|b| b.as_object().cloned());
        if method == "GET"
            && segments.len() < 2
            && let Some(select) = query.get("$select")
            && let Some(unknown) = select
                .split(',')
                .find(|p| *p != "id" && !p.starts_with("extension_") && !GROUP_PROPERTIES.contains(p))
        {
            return bad_request(&format!(
                "Could not find a property named '{unknown}' on type 'microsoft.graph.group'."
            ));
        }
        match (method, segments.as_slice()) {
            ("GET", []) => self.list_groups(&query),
            ("POST", []) => match body() {
                Some(b) => self.create_group(b),
                None => bad_request("Unable to read JSON request payload."),
            },
            ("GET", [id]) => match self.groups.get(*id) {
                Some(group) => Answer::new(200).set_body_json(select(group, &query)),
                None => not_found(id),
            },
            ("PATCH", [id]) => match body() {
                Some(b) => self.patch_group(id, b),
                None => bad_request("Unable to read JSON request payload."),
            },
            ("DELETE", [id]) => {
                if self.groups.remove(*id).is_none() {
                    return not_found(id);
                }
                self.members.remove(*id);
                for members in self.members.values_mut() {
                    members.remove(*id);
                }
                Answer::new(204)
            }
            ("GET", [id, "members"]) => self.list_members(id, &query),
            ("POST", [id, "members", "$ref"]) => {
                if !self.groups.contains_key(*id) {
                    return not_found(id);
                }
                let member = match body().and_then(|b| b.get("@odata.id").cloned()) {
                    Some(reference) => match self.referenced(&reference) {
                        Ok(member) => member,
                        Err(answer) => return *answer,
                    },
                    None => return bad_request("Invalid object identifier."),
                };
                if !self.members.entry((*id).to_owned()).or_default().insert(member) {
                    return bad_request(ALREADY_MEMBER);
                }
                Answer::new(204)
            }
            // Graph answers a non-member as it answers a missing group: the group's id in
            // `Request_ResourceNotFound`.
            ("DELETE", [id, "members", member, "$ref"]) => {
                let removed = self.groups.contains_key(*id)
                    && self.members.get_mut(*id).is_some_and(|members| members.remove(*member));
                if removed { Answer::new(204) } else { not_found(id) }
            }
            _ => graph_error(
                405,
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.",
            ),
        }
    }

    /// One page of `items` as Graph pages a collection at `path`: `$top` (1–999,
    /// default 100) and `$skiptoken` in an absolute `@odata.nextLink`.
    fn paged(&self, path: &str, items: Vec<Json>, query: &BTreeMap<String, String>) -> Answer {
        let size = match query.get("$top") {
            None => 100,
            Some(t) => match t.parse::<usize>() {
                Ok(n) if (1..=999).contains(&n) => n,
                _ => {
                    return graph_error(
                        400,
                        "Request_UnsupportedQuery",
                        &format!("Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."),
                    );
                }
            },
        };
        let skip = match query.get("$skiptoken") {
            None => 0,
            Some(t) => match t.strip_prefix("X'").and_then(|t| usize::from_str_radix(t, 16).ok()) {
                Some(n) => n,
                None => {
                    return graph_error(
                        400,
                        "Directory_ExpiredPageToken",
                        "The specified page token value has expired and can no longer be included in your request.",
                    );
                }
            },
        };
        let total = items.len();
        let page: Vec<Json> = items.into_iter().skip(skip).take(size).collect();
        let mut body = Map::new();
        body.insert("@odata.context".into(), json!(format!("{}/v1.0/$metadata#{path}", self.base)));
        if skip + size < total {
            let mut next = Url::parse(&format!("{}/v1.0/{path}", self.base)).unwrap();
            {
                let mut pairs = next.query_pairs_mut();
                for (k, v) in query {
                    if k != "$skiptoken" {
                        pairs.append_pair(k, v);
                    }
                }
                pairs.append_pair("$skiptoken", &format!("X'{:x}", skip + size));
            }
            body.insert("@odata.nextLink".into(), json!(next.as_str()));
        }
        body.insert("value".into(), Json::Array(page));
        Answer::new(200).set_body_json(Json::Object(body))
    }

    fn list_groups(&self, query: &BTreeMap<String, String>) -> Answer {
        let matching: Vec<&Map<String, Json>> = match query.get("$filter") {
            None => self.groups.values().collect(),
            Some(filter) => {
                let Some((prop, literal)) = filter.split_once(" eq ") else {
                    return graph_error(400, "Request_UnsupportedQuery", "Unsupported query.");
                };
                let Some(value) = literal.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) else {
                    return graph_error(400, "BadRequest", &format!("Invalid filter clause: {filter}"));
                };
                let value = value.replace("''", "'");
                self.groups.values().filter(|g| g.get(prop).and_then(Json::as_str) == Some(&value)).collect()
            }
        };
        let items = matching.into_iter().map(|g| select(g, query)).collect();
        self.paged("groups", items, query)
    }

    fn list_members(&self, id: &str, query: &BTreeMap<String, String>) -> Answer {
        let Some(members) = self.members.get(id).filter(|_| self.groups.contains_key(id)) else {
            return not_found(id);
        };
        let items = members
            .iter()
            .map(|m| {
                let kind = if self.groups.contains_key(m) { "group" } else { "user" };
                json!({ "@odata.type": format!("#microsoft.graph.{kind}"), "id": m })
            })
            .collect();
        self.paged(&format!("groups/{id}/members"), items, query)
    }

    fn create_group(&mut self, mut body: Map<String, Json>) -> Answer {
        if let Some(bad) = Self::unknown_group_property(&body) {
            return bad;
        }
        for required in ["displayName", "mailEnabled", "mailNickname", "securityEnabled"] {
            if body.get(required).is_none_or(Json::is_null) {
                return bad_request(&format!(
                    "Invalid value specified for property '{required}' of resource 'Group'."
                ));
            }
        }
        if !body["mailNickname"].as_str().is_some_and(valid_group_nickname) {
            return bad_request("Invalid value specified for property 'mailNickname' of resource 'Group'.");
        }
        let unified =
            body.get("groupTypes").and_then(Json::as_array).is_some_and(|t| t.iter().any(|t| t == "Unified"));
        if body.get("mailEnabled") == Some(&json!(true)) && !unified {
            return bad_request("Cannot Create a mail-enabled security groups and or distribution list.");
        }
        let owners = body.get("owners@odata.bind").and_then(Json::as_array).map_or(0, Vec::len);
        let members = match self.bound(&body, REFERENCES_PER_REQUEST.saturating_sub(owners)) {
            Ok(members) => members,
            Err(answer) => return *answer,
        };
        body.remove("members@odata.bind");
        body.remove("owners@odata.bind");
        let id = self.new_id();
        body.insert("id".into(), json!(id));
        self.groups.insert(id.clone(), body.clone());
        self.members.insert(id.clone(), members.into_iter().collect());
        body.insert("@odata.context".into(), json!(format!("{}/v1.0/$metadata#groups/$entity", self.base)));
        Answer::new(201).set_body_json(Json::Object(body))
    }

    fn patch_group(&mut self, id: &str, mut body: Map<String, Json>) -> Answer {
        if !self.groups.contains_key(id) {
            return not_found(id);
        }
        if let Some(bad) = Self::unknown_group_property(&body) {
            return bad;
        }
        let added = match self.bound(&body, REFERENCES_PER_REQUEST) {
            Ok(added) => added,
            Err(answer) => return *answer,
        };
        // "If an error condition exists in the request body, no members are added."
        let members = self.members.entry(id.to_owned()).or_default();
        if added.iter().any(|m| members.contains(m)) {
            return bad_request(ALREADY_MEMBER);
        }
        members.extend(added);
        body.remove("members@odata.bind");
        body.remove("owners@odata.bind");
        let group = self.groups.get_mut(id).unwrap();
        for (k, v) in body {
            if v.is_null() {
                group.remove(&k);
            } else {
                group.insert(k, v);
            }
        }
        Answer::new(204)
    }
}

/// A resource as Graph renders it for `$select`.
fn select(resource: &Map<String, Json>, query: &BTreeMap<String, String>) -> Json {
    match query.get("$select") {
        Some(select) => Json::Object(
            select
                .split(',')
                .map(|p| (p.to_owned(), resource.get(p).cloned().unwrap_or(Json::Null)))
                .collect(),
        ),
        None => Json::Object(resource.clone()),
    }
}
