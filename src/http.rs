//! The HTTP client of everything hrsync reaches over HTTP: directories with a REST API
//! (SCIM, Microsoft Graph) and HR APIs. Authentication, per-request timeouts, retries
//! and a limit on requests in flight.
//!
//! A request that gets 429 or 503 (the server did not do it) or cannot connect is
//! retried with exponential back-off and full jitter, waiting at least what a
//! `Retry-After` header asks (at most a minute); a token endpoint that answers 429 or
//! 5xx is asked again the same way. Redirects are followed on the same host only, and
//! credentials go only to the API's own host. 500, 502 and 504, and connections that
//! break after the request was sent, are retried only for methods that are safe to
//! repeat: a POST whose answer was lost is handed back to the caller, which checks
//! whether it happened before trying again (a create must never be doubled). Bearer
//! tokens come from a secret reference; OAuth2 client-credentials tokens are fetched,
//! cached until shortly before they expire, and fetched again after a 401. Nothing here
//! logs a token or a body.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value as Json;
use tokio::sync::{Mutex, Semaphore};

use base64::Engine as _;

use crate::config::{Auth, Credential, HttpSettings, Secret};

/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A response.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// The `ETag` header.
    pub etag: Option<String>,
    /// The body, parsed as JSON when it is JSON.
    pub body: Option<Json>,
    /// Why a body that is not empty is not JSON, with the line and column (serde_json
    /// refuses nesting deeper than 128 levels, so a hostile body costs no deep
    /// recursion).
    pub body_error: Option<String>,
    /// The URL of the `Link` header's `rel="next"` (RFC 8288), when there is one.
    pub next_link: Option<String>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The server answered with an error status (after retries).
    #[error("{method} {path} answered {status}{}", detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Status {
        /// Method.
        method: Method,
        /// Path, without query.
        path: String,
        /// Status.
        status: StatusCode,
        /// The server's explanation (SCIM `detail`, Graph `error.message`).
        detail: Option<String>,
    },
    /// The request may have reached the server, but no answer came back.
    #[error("{method} {path}: no answer")]
    Lost {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The server could not be reached.
    #[error("{method} {path}: cannot connect")]
    Connect {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// Credentials could not be obtained.
    #[error("cannot authenticate")]
    Auth(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The CA file cannot be read.
    #[error("cannot set up the HTTP client: cannot read CA file `{path}`")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The CA file holds no certificate the client can use.
    #[error("cannot set up the HTTP client: CA file `{path}` holds no usable certificate")]
    CaCertificates {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The client could not be built (no TLS back end, say).
    #[error("cannot set up the HTTP client")]
    Setup(#[source] reqwest::Error),
    /// A link to another host than the API's: credentials are sent nowhere else.
    #[error("`{0}` is not on the API's host; hrsync sends its credentials nowhere else")]
    ElsewhereLink(String),
    /// The client is shutting down: no request is sent any more.
    #[error("the HTTP client is shutting down")]
    Closed,
}

impl HttpError {
    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            HttpError::Status { .. } => "status",
            HttpError::Lost { .. } => "lost",
            HttpError::Connect { .. } => "connect",
            HttpError::Auth(_) => "auth",
            HttpError::CaFile { .. } | HttpError::CaCertificates { .. } => "ca_file",
            HttpError::Setup(_) => "setup",
            HttpError::ElsewhereLink(_) => "elsewhere",
            HttpError::Closed => "closed",
        }
    }

    /// The status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An HTTP client for one service (a directory or an HR API).
pub struct Http {
    client: reqwest::Client,
    base: String,
    auth: Auth,
    token: Mutex<Option<(Secret, Instant)>>,
    retries: u32,
    in_flight: Semaphore,
    backoff: Duration,
    content_type: &'static str,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("base", &self.base).finish()
    }
}

impl Http {
    /// A client for the API at `settings.url`, sending bodies as `content_type`.
    pub fn new(settings: &HttpSettings, content_type: &'static str) -> Result<Http, HttpError> {
        crate::tls::install_crypto_provider();
        // Redirects are followed on the API's own host only: a redirect elsewhere would
        // carry headers (an account token) reqwest does not know are secret.
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt.previous().first().map(|u| u.origin());
            if attempt.previous().len() > 5 || first.is_some_and(|o| o != attempt.url().origin()) {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .redirect(redirects)
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("hrsync/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &settings.ca_file {
            let pem = std::fs::read(ca).map_err(|source| HttpError::CaFile { path: ca.clone(), source })?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|source| HttpError::CaCertificates { path: ca.clone(), source })?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(HttpError::Setup)?;
        Ok(Http {
            client,
            base: settings.url.trim_end_matches('/').to_owned(),
            auth: settings.auth.clone(),
            token: Mutex::new(None),
            retries: settings.retries,
            in_flight: Semaphore::new(settings.concurrency.max(1)),
            backoff: settings.backoff,
            content_type,
        })
    }

    /// The absolute URL of `path` (a path below the base, or an absolute URL).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("https://") || path.starts_with("http://") {
            path.to_owned()
        } else {
            format!("{}/{}", self.base, path.trim_start_matches('/'))
        }
    }

    /// The `Authorization` header's value, if the service takes one.
    async fn authorization(&self, renew: bool) -> Result<Option<Secret>, HttpError> {
        let resolve = |c: &Credential| match c {
            Credential::Plain(text) => Ok(Secret::new(text.clone())),
            Credential::Secret(secret) => secret.resolve().map_err(|e| HttpError::Auth(Box::new(e))),
        };
        Ok(Some(match &self.auth {
            Auth::Basic { user, password } => {
                let pair = format!("{}:{}", resolve(user)?.expose(), resolve(password)?.expose());
                Secret::new(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
            }
            Auth::Encoded { scheme, secret } => {
                let secret = secret.resolve().map_err(|e| HttpError::Auth(Box::new(e)))?;
                Secret::new(format!(
                    "{scheme} {}",
                    base64::engine::general_purpose::STANDARD.encode(secret.expose())
                ))
            }
            _ => match self.bearer(renew).await? {
                Some(token) => Secret::new(format!("Bearer {}", token.expose())),
                None => return Ok(None),
            },
        }))
    }

    // A cached token expires by the monotonic clock, read here at the edge.
    #[allow(clippy::disallowed_methods)]
    async fn bearer(&self, renew: bool) -> Result<Option<Secret>, HttpError> {
        match &self.auth {
            Auth::None | Auth::Basic { .. } | Auth::Encoded { .. } => Ok(None),
            Auth::Bearer(secret) => secret.resolve().map(Some).map_err(|e| HttpError::Auth(Box::new(e))),
            Auth::ClientCredentials { token_url, client_id, client_secret, scope } => {
                let mut cached = self.token.lock().await;
                if !renew
                    && let Some((token, until)) = cached.as_ref()
                    && Instant::now() < *until
                {
                    return Ok(Some(token.clone()));
                }
                let secret = client_secret.resolve().map_err(|e| HttpError::Auth(Box::new(e)))?;
                let mut form = vec![
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id.as_str()),
                    ("client_secret", secret.expose()),
                ];
                if let Some(scope) = scope {
                    form.push(("scope", scope));
                }
                let response = self
                    .client
                    .post(token_url)
                    .form(&form)
                    .send()
                    .await
                    .map_err(|e| HttpError::Auth(Box::new(e)))?;
                let status = response.status();
                let body: Json = response.json().await.unwrap_or(Json::Null);
                // A token endpoint that is throttled or down says nothing of the
                // credentials: the caller waits and asks again.
                if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                    return Err(HttpError::Status {
                        method: Method::POST,
                        path: token_url.split('?').next().unwrap_or(token_url).to_owned(),
                        status,
                        detail: detail(Some(&body)),
                    });
                }
                let token = body.get("access_token").and_then(Json::as_str).ok_or_else(|| {
                    let why =
                        body.get("error_description").or_else(|| body.get("error")).and_then(Json::as_str);
                    HttpError::Auth(
                        format!(
                            "the token endpoint answered {status}{}",
                            why.map(|w| format!(": {w}")).unwrap_or_default()
                        )
                        .into(),
                    )
                })?;
                let lifetime = body.get("expires_in").and_then(Json::as_u64).unwrap_or(300);
                let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(1));
                let token = Secret::new(token);
                *cached = Some((token.clone(), until));
                Ok(Some(token))
            }
        }
    }

    /// Sends a request; retries as the module says. `headers` are added as given.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Json>,
        headers: &[(&str, String)],
    ) -> Result<Response, HttpError> {
        let _permit = self.in_flight.acquire().await.map_err(|_| HttpError::Closed)?;
        let display_path = path.split('?').next().unwrap_or(path).to_owned();
        // A link an API hands out (a next page, a delta link) is followed with the
        // credentials only on the API's own host.
        if !matches!(self.auth, Auth::None) && !same_origin(&self.base, &self.url(path)) {
            return Err(HttpError::ElsewhereLink(display_path));
        }
        let repeatable = method != Method::POST;
        let mut attempt = 0;
        let mut renewed = false;
        loop {
            attempt += 1;
            let mut request = self.client.request(method.clone(), self.url(path)).query(query);
            let authorization = match self.authorization(false).await {
                Ok(value) => value,
                Err(HttpError::Status { status, .. })
                    if attempt <= self.retries
                        && (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()) =>
                {
                    tokio::time::sleep(self.backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Some(value) = authorization {
                let mut value = reqwest::header::HeaderValue::from_str(value.expose())
                    .map_err(|_| HttpError::Auth("the credentials hold characters a header cannot".into()))?;
                value.set_sensitive(true);
                request = request.header(reqwest::header::AUTHORIZATION, value);
            }
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            if let Some(body) = body {
                request = request.header("Content-Type", self.content_type).body(body.to_string());
            }
            let wait = match request.send().await {
                Err(e) => {
                    // Only a failed connect proves the request never left.
                    let lost = !e.is_connect();
                    if attempt > self.retries || (lost && !repeatable) {
                        return Err(if lost {
                            HttpError::Lost { method, path: display_path, source: e }
                        } else {
                            HttpError::Connect { method, path: display_path, source: e }
                        });
                    }
                    None
                }
                Ok(response) => {
                    let status = response.status();
                    let retry_after = throttle_wait(response.headers());
                    // BambooHR explains errors in `X-BambooHR-Error-Message` (one of its own
                    // pages spells it `…-Messsage`): any `x-…-error-mess…` header will do.
                    let header_detail = response
                        .headers()
                        .iter()
                        .find(|(name, _)| {
                            let name = name.as_str();
                            name.starts_with("x-") && name.contains("-error-mess")
                        })
                        .and_then(|(_, v)| v.to_str().ok())
                        .map(|v| v.chars().take(300).collect::<String>());
                    let etag =
                        response.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
                    let next_link = response
                        .headers()
                        .get_all("link")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .find_map(link_next);
                    let bytes = response.bytes().await.unwrap_or_default();
                    let (body, body_error) = match serde_json::from_slice::<Json>(&bytes) {
                        Ok(body) => (Some(body), None),
                        Err(_) if bytes.is_empty() => (None, None),
                        Err(e) => (None, Some(e.to_string())),
                    };
                    if status == StatusCode::UNAUTHORIZED
                        && !renewed
                        && matches!(self.auth, Auth::ClientCredentials { .. })
                    {
                        // The token may have expired early: fetch a new one, once.
                        renewed = true;
                        self.bearer(true).await?;
                        continue;
                    }
                    // A 500 that explains itself as a business error (AFAS's
                    // `profitLogReference`: an unknown field, a blocked connector) fails
                    // the same way every time.
                    let business = body.as_ref().is_some_and(|b| {
                        b.get("profitLogReference").is_some() || b.get("errorNumber").is_some()
                    });
                    let transient = status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::SERVICE_UNAVAILABLE
                        || (repeatable
                            && !business
                            && matches!(
                                status,
                                StatusCode::INTERNAL_SERVER_ERROR
                                    | StatusCode::BAD_GATEWAY
                                    | StatusCode::GATEWAY_TIMEOUT
                            ));
                    if status.is_success() || status == StatusCode::NOT_MODIFIED {
                        return Ok(Response { status, etag, body, body_error, next_link });
                    }
                    // AFAS says how long its maintenance lasts in the body of a 503.
                    let retry_after = retry_after.or_else(|| {
                        let seconds = body.as_ref()?.get("retry_after")?.as_u64()?;
                        Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
                    });
                    if !transient || attempt > self.retries {
                        return Err(HttpError::Status {
                            method,
                            path: display_path,
                            status,
                            detail: detail(body.as_ref()).or(header_detail),
                        });
                    }
                    retry_after
                }
            };
            let delay = wait.unwrap_or_else(|| self.backoff(attempt));
            tracing::debug!(path = %display_path, attempt, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Exponential back-off with full jitter: a random wait up to base × 2^(attempt−1),
    /// capped at 30 s.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap =
            self.backoff.saturating_mul(1 << attempt.min(16).saturating_sub(1)).min(Duration::from_secs(30));
        cap.mul_f64(fastrand::f64())
    }
}

/// Whether two URLs have the same scheme, host and port.
fn same_origin(a: &str, b: &str) -> bool {
    match (reqwest::Url::parse(a), reqwest::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// The `rel="next"` URL of a `Link` header value: `<https://…>; rel="next", <…>; rel="last"`.
fn link_next(header: &str) -> Option<String> {
    header.split(',').find_map(|link| {
        let (url, params) = link.split_once(';')?;
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        let next = params.split(';').any(|p| {
            let Some((key, value)) = p.split_once('=') else { return false };
            key.trim().eq_ignore_ascii_case("rel")
                && value.trim().trim_matches('"').split_whitespace().any(|r| r.eq_ignore_ascii_case("next"))
        });
        next.then(|| url.to_owned())
    })
}

/// How long a throttled response asks to wait: `Retry-After`, else `retry-after-ms`
/// (Kombo's SDK reads it), else `X-RateLimit-Reset` (HiBob: the Unix time the window
/// resets; a small number is read as seconds from now).
#[allow(clippy::disallowed_methods)]
fn throttle_wait(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(wait) = header("retry-after").and_then(parse_retry_after) {
        return Some(wait);
    }
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()).filter(|ms| *ms >= 0.0) {
        return Some(Duration::from_secs_f64(ms.min(1e9) / 1000.0).min(MAX_RETRY_AFTER));
    }
    let reset = header("x-ratelimit-reset")?.parse::<u64>().ok()?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    let wait = if reset > 1_000_000_000 { reset.saturating_sub(now) } else { reset };
    Some(Duration::from_secs(wait).min(MAX_RETRY_AFTER))
}

/// `Retry-After`: seconds, or an HTTP date (how long until then, by the clock).
#[allow(clippy::disallowed_methods)]
pub(crate) fn parse_retry_after(v: &str) -> Option<Duration> {
    let wait = match v.trim().parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            httpdate::parse_http_date(v.trim()).ok()?.duration_since(std::time::SystemTime::now()).ok()?
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The explanation in an error body: SCIM `detail`, Graph `error.message`. Bodies are
/// the server's words about the request, never values hrsync sent.
pub(crate) fn detail(body: Option<&Json>) -> Option<String> {
    let body = body?;
    // SCIM `detail`, Graph `error.message`, then the common shapes of other APIs.
    let message = [
        body.get("detail"),
        body.get("error").and_then(|e| e.get("message")),
        body.get("message"),
        body.get("error_description"),
        body.get("externalMessage"),
        // RFC 7807 lists (Personio v2: `{"errors": [{"title", "detail"}]}`).
        body.pointer("/errors/0/detail"),
        body.pointer("/errors/0/title"),
        body.get("error"),
    ]
    .into_iter()
    .flatten()
    .find_map(Json::as_str)?;
    // A vendor's error code says more than its words (Kombo's
    // `INTEGRATION.SETUP_SYNC_PENDING`, Graph's `syncStateNotFound`); AFAS's log
    // reference is what its administrators look up.
    let code = body
        .get("error")
        .and_then(|e| e.get("code"))
        .or_else(|| body.get("profitLogReference"))
        .and_then(Json::as_str)
        .filter(|c| c.len() <= 80);
    let text: String = message.chars().take(300).collect();
    Some(match code {
        Some(code) if !text.contains(code) => format!("{text} ({code})"),
        _ => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn retry_after_takes_seconds_and_dates_capped_at_a_minute() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("3600"), Some(MAX_RETRY_AFTER));
        let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(20));
        let d = parse_retry_after(&later).unwrap();
        assert!(d <= Duration::from_secs(20) && d >= Duration::from_secs(18), "{d:?}");
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn throttles_are_read_from_every_vendor_header() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let with = |name: &'static str, value: &str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_str(value).unwrap());
            h
        };
        assert_eq!(throttle_wait(&with("retry-after", "3")), Some(Duration::from_secs(3)));
        assert_eq!(throttle_wait(&with("retry-after-ms", "1500")), Some(Duration::from_millis(1500)));
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let reset = throttle_wait(&with("x-ratelimit-reset", &(now + 10).to_string())).unwrap();
        assert!(reset <= Duration::from_secs(10) && reset >= Duration::from_secs(8), "{reset:?}");
        assert_eq!(throttle_wait(&with("x-ratelimit-reset", "7")), Some(Duration::from_secs(7)));
        assert_eq!(throttle_wait(&with("retry-after-ms", "-1")), None);
        assert_eq!(throttle_wait(&HeaderMap::new()), None);
    }

    #[test]
    fn credentials_go_only_to_the_apis_own_host() {
        assert!(same_origin("https://api.personio.de", "https://api.personio.de/v2/persons?cursor=x"));
        assert!(!same_origin("https://api.personio.de", "https://evil.example/v2/persons"));
        assert!(!same_origin("https://api.personio.de", "http://api.personio.de/v2"));
        assert!(!same_origin("https://a.example:8443", "https://a.example/x"));
        assert!(!same_origin("not a url", "https://a.example/x"));
    }

    #[test]
    fn link_headers_give_the_next_page() {
        let github =
            r#"<https://api.example/x?page=2>; rel="next", <https://api.example/x?page=9>; rel="last""#;
        assert_eq!(link_next(github).as_deref(), Some("https://api.example/x?page=2"));
        assert_eq!(
            link_next(r#"<https://a/9>; rel="last", <https://a/3>; rel=next"#).as_deref(),
            Some("https://a/3")
        );
        assert_eq!(
            link_next(r#"<https://a/3>; title="x"; rel="prefetch next""#).as_deref(),
            Some("https://a/3")
        );
        assert_eq!(link_next(r#"<https://a/1>; rel="prev""#), None);
        assert_eq!(link_next("garbage"), None);
    }

    #[test]
    fn details_come_from_scim_and_graph_errors() {
        let scim = serde_json::json!({"detail": "userName is taken", "status": "409"});
        assert_eq!(detail(Some(&scim)).as_deref(), Some("userName is taken"));
        let graph = serde_json::json!({"error": {"code": "Request_BadRequest", "message": "Invalid value"}});
        assert_eq!(detail(Some(&graph)).as_deref(), Some("Invalid value (Request_BadRequest)"));
        let kombo = serde_json::json!({"status": "error", "error": {"code": "INTEGRATION.SETUP_SYNC_PENDING", "title": "t", "message": "The first sync is not done."}});
        assert_eq!(
            detail(Some(&kombo)).as_deref(),
            Some("The first sync is not done. (INTEGRATION.SETUP_SYNC_PENDING)")
        );
        let afas = serde_json::json!({"externalMessage": "Connector-veld 'X' niet gevonden", "profitLogReference": "3A4C"});
        assert_eq!(detail(Some(&afas)).as_deref(), Some("Connector-veld 'X' niet gevonden (3A4C)"));
        assert_eq!(detail(Some(&serde_json::json!({"error": "db down"}))).as_deref(), Some("db down"));
        assert_eq!(detail(Some(&serde_json::json!({"message": "slow down"}))).as_deref(), Some("slow down"));
        let personio = serde_json::json!({"personio_trace_id": "t", "errors": [{"title": "Bad filter", "detail": "updated_at.gt must be a date"}]});
        assert_eq!(detail(Some(&personio)).as_deref(), Some("updated_at.gt must be a date"));
    }
}

#[cfg(test)]
mod wire {
    //! The client against wiremock servers: redirects, token endpoints, business errors.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    use super::*;
    use crate::config::SecretRef;

    fn settings(url: &str, auth: Auth) -> HttpSettings {
        HttpSettings {
            url: url.to_owned(),
            auth,
            ca_file: None,
            timeout: Duration::from_secs(5),
            concurrency: 2,
            retries: 3,
            backoff: Duration::from_millis(1),
            page_size: 10,
        }
    }

    fn counter(
        server_hits: &Arc<AtomicUsize>,
        answer: ResponseTemplate,
    ) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
        let hits = server_hits.clone();
        move |_: &Request| {
            hits.fetch_add(1, Ordering::SeqCst);
            answer.clone()
        }
    }

    #[tokio::test]
    async fn a_redirect_to_another_host_is_not_followed() {
        let (api, elsewhere) = (MockServer::start().await, MockServer::start().await);
        let hits = Arc::new(AtomicUsize::new(0));
        Mock::given(path("/people"))
            .respond_with(
                ResponseTemplate::new(302).insert_header("location", format!("{}/steal", elsewhere.uri())),
            )
            .mount(&api)
            .await;
        Mock::given(path("/steal"))
            .respond_with(counter(&hits, ResponseTemplate::new(200)))
            .mount(&elsewhere)
            .await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t"), "tok").unwrap();
        let auth = Auth::Bearer(SecretRef::File(dir.path().join("t").display().to_string()));
        let http = Http::new(&settings(&api.uri(), auth), "application/json").unwrap();
        let err = http
            .send(Method::GET, "people", &[], None, &[("X-Account-Token", "acct".into())])
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::FOUND), "{err}");
        assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the other host");
        let err =
            http.send(Method::GET, &format!("{}/steal", elsewhere.uri()), &[], None, &[]).await.unwrap_err();
        assert!(matches!(err, HttpError::ElsewhereLink(_)), "{err}");
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_throttled_token_endpoint_is_asked_again_and_a_business_error_is_not() {
        let server = MockServer::start().await;
        let tokens = Arc::new(AtomicUsize::new(0));
        let t = tokens.clone();
        Mock::given(path("/token"))
            .respond_with(move |_: &Request| {
                if t.fetch_add(1, Ordering::SeqCst) == 0 {
                    ResponseTemplate::new(503)
                        .set_body_json(serde_json::json!({"error": "temporarily_unavailable"}))
                } else {
                    ResponseTemplate::new(200)
                        .set_body_json(serde_json::json!({"access_token": "abc", "expires_in": 3600}))
                }
            })
            .mount(&server)
            .await;
        let business = Arc::new(AtomicUsize::new(0));
        Mock::given(method("GET"))
            .and(path("/connectors/x"))
            .respond_with(counter(
                &business,
                ResponseTemplate::new(500).set_body_json(serde_json::json!({
                    "externalMessage": "Connector-veld 'X' niet gevonden", "errorNumber": -2147180999, "profitLogReference": "3A4C"
                })),
            ))
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s"), "secret").unwrap();
        let auth = Auth::ClientCredentials {
            token_url: format!("{}/token", server.uri()),
            client_id: "id".into(),
            client_secret: SecretRef::File(dir.path().join("s").display().to_string()),
            scope: None,
        };
        let http = Http::new(&settings(&server.uri(), auth), "application/json").unwrap();
        let err = http.send(Method::GET, "connectors/x", &[], None, &[]).await.unwrap_err();
        assert_eq!(tokens.load(Ordering::SeqCst), 2, "the 503 of the token endpoint was waited out");
        assert_eq!(business.load(Ordering::SeqCst), 1, "a business error is not retried");
        assert!(err.to_string().contains("niet gevonden (3A4C)"), "{err}");
    }
}
