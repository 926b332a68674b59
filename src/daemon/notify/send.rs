//! Delivering one message to one channel: an HTTPS POST (webhook, Slack, Teams) or an
//! e-mail over SMTP with STARTTLS or TLS, tried three times (ten seconds a try) with a
//! short back-off, within a bounded time.
//!
//! Secrets (the webhook's HMAC key, Slack's and Teams' URLs, the SMTP password) are
//! resolved here, just before sending, and never end up in an error: HTTP errors are
//! stripped of their URL, and errors name a secret's reference at most.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use lettre::AsyncTransport as _;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};

use super::message::Message;
use crate::config::{Channel, ChannelKind, EmailChannel, SecretError, SmtpTls};

/// Tries of one message within one run.
const TRIES: usize = 3;
/// The wait before the second and the third try.
const BACKOFF: [Duration; 2] = [Duration::from_millis(500), Duration::from_millis(1500)];
/// The longest one try may take: Teams Workflows (Power Automate) and SMTP relays that
/// scan a mail after DATA may take several seconds to answer.
const TRY_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest all tries of one message may take together: room for three whole tries
/// and the back-offs, and a bound on how long one message holds up the others.
const DEADLINE: Duration = Duration::from_secs(35);

/// The header of the generic webhook's signature: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "x-hrsync-signature-256";
/// The header of the generic webhook's event id, the same on every try of one change.
pub const EVENT_ID_HEADER: &str = "x-hrsync-event-id";

/// Why a message was not delivered. No variant holds a secret or a secret URL.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// A secret of the channel cannot be read.
    #[error("cannot read the channel's secret")]
    Secret(#[source] SecretError),
    /// The secret URL is not a URL (its value is not shown).
    #[error(
        "the channel's URL (from its secret reference) is not an https URL (http only to a loopback address)"
    )]
    BadUrl,
    /// The receiver answered with an error status.
    #[error("the receiver answered {0}")]
    Status(reqwest::StatusCode),
    /// The receiver could not be reached, or did not answer in time.
    #[error("cannot reach the receiver")]
    Http(#[source] reqwest::Error),
    /// The HTTP client cannot be set up.
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The CA file of the SMTP server cannot be read or holds no certificate.
    #[error("cannot use CA file `{0}`")]
    CaFile(String, #[source] Box<dyn std::error::Error + Send + Sync>),
    /// The body cannot be written as JSON.
    #[error("cannot write the message as JSON")]
    Json(#[source] serde_json::Error),
    /// An e-mail address or the message cannot be built.
    #[error("cannot build the e-mail")]
    Email(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The SMTP server refused or could not be reached.
    #[error("the SMTP server did not take the message")]
    Smtp(#[source] lettre::transport::smtp::Error),
    /// All tries together took too long.
    #[error("no delivery within {} s", DEADLINE.as_secs())]
    TimedOut,
}

impl SendError {
    /// Whether trying again in this run could help (a refusal such as 400 or 404 will not
    /// change within seconds; the next run tries again all the same).
    fn transient(&self) -> bool {
        match self {
            SendError::Status(s) => s.is_server_error() || s.as_u16() == 408 || s.as_u16() == 429,
            SendError::Http(_) | SendError::Smtp(_) | SendError::TimedOut => true,
            _ => false,
        }
    }
}

/// Sends messages; one per dispatch, shared by its channels.
pub struct Sender {
    http: reqwest::Client,
}

impl Sender {
    /// A sender with its HTTP client (no redirects: a webhook that moves is a
    /// misconfiguration, and a secret URL's redirect could carry the body elsewhere).
    pub fn new() -> Result<Self, SendError> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TRY_TIMEOUT)
            .connect_timeout(TRY_TIMEOUT)
            .user_agent(concat!("hrsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(SendError::Client)?;
        Ok(Sender { http })
    }

    /// Delivers `message` to `channel`: up to three tries of ten seconds each, within 35
    /// seconds in all.
    pub async fn deliver(&self, channel: &Channel, message: &Message<'_>) -> Result<(), SendError> {
        let tries = async {
            let mut last = None;
            for attempt in 0..TRIES {
                if let Some(wait) = attempt.checked_sub(1).and_then(|i| BACKOFF.get(i)) {
                    tokio::time::sleep(*wait).await;
                }
                match self.send(channel, message).await {
                    Ok(()) => return Ok(()),
                    Err(e) if e.transient() => {
                        tracing::debug!(channel = %channel.name, attempt = attempt + 1, error = %crate::model::error_chain(&e), "notification not delivered, trying again");
                        last = Some(e);
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(last.unwrap_or(SendError::TimedOut))
        };
        tokio::time::timeout(DEADLINE, tries).await.unwrap_or(Err(SendError::TimedOut))
    }

    /// One try.
    async fn send(&self, channel: &Channel, message: &Message<'_>) -> Result<(), SendError> {
        match &channel.kind {
            ChannelKind::Webhook { url, secret } => {
                let key = secret.resolve().map_err(SendError::Secret)?;
                let body = serde_json::to_vec(&message.webhook()).map_err(SendError::Json)?;
                let signature = sign(key.expose().as_bytes(), &body);
                let request = self
                    .http
                    .post(url)
                    .header(SIGNATURE_HEADER, format!("sha256={signature}"))
                    .header(EVENT_ID_HEADER, message.id);
                self.post(request, body).await
            }
            ChannelKind::Slack { url } | ChannelKind::Teams { url } => {
                let url = url.resolve().map_err(SendError::Secret)?;
                let parsed = reqwest::Url::parse(url.expose()).map_err(|_| SendError::BadUrl)?;
                let loopback = parsed.host_str().is_some_and(crate::config::is_loopback);
                // As for the generic webhook: HTTPS, plain HTTP only to this machine.
                if !(parsed.scheme() == "https" || parsed.scheme() == "http" && loopback) {
                    return Err(SendError::BadUrl);
                }
                let json = match &channel.kind {
                    ChannelKind::Slack { .. } => message.slack(),
                    _ => message.teams(),
                };
                let body = serde_json::to_vec(&json).map_err(SendError::Json)?;
                self.post(self.http.post(parsed), body).await
            }
            ChannelKind::Email(email) => send_email(email, message).await,
        }
    }

    async fn post(&self, request: reqwest::RequestBuilder, body: Vec<u8>) -> Result<(), SendError> {
        let response = request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            // The URL may be the secret itself (Slack, Teams): never in an error.
            .map_err(|e| SendError::Http(e.without_url()))?;
        let status = response.status();
        if status.is_success() { Ok(()) } else { Err(SendError::Status(status)) }
    }
}

/// The hex HMAC-SHA256 of `body` keyed by `key`.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = match <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Sends `message` as a plain-text e-mail through `email`'s server.
async fn send_email(email: &EmailChannel, message: &Message<'_>) -> Result<(), SendError> {
    use lettre::message::{Mailbox, header::ContentType};
    let mailbox = |a: &str| a.parse::<Mailbox>().map_err(|e| SendError::Email(e.into()));
    let mut builder = lettre::Message::builder().from(mailbox(&email.from)?).subject(message.subject_line());
    for to in &email.to {
        builder = builder.to(mailbox(to)?);
    }
    let mail = builder
        .header(ContentType::TEXT_PLAIN)
        .body(message.email_body())
        .map_err(|e| SendError::Email(e.into()))?;
    let mut tls = TlsParameters::builder(email.host.clone());
    if let Some(path) = &email.ca_file {
        let shown = path.display().to_string();
        let pem = std::fs::read(path).map_err(|e| SendError::CaFile(shown.clone(), e.into()))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| SendError::CaFile(shown, e.into()))?;
        tls = tls.certificate_store(CertificateStore::None).add_root_certificate(cert);
    }
    let tls = match email.tls {
        SmtpTls::None => Tls::None,
        mode => {
            crate::tls::install_crypto_provider();
            let parameters = tls.build_rustls().map_err(SendError::Smtp)?;
            if mode == SmtpTls::Tls { Tls::Wrapper(parameters) } else { Tls::Required(parameters) }
        }
    };
    let mut transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(&email.host)
        .port(email.port)
        .tls(tls)
        .timeout(Some(TRY_TIMEOUT));
    if let Some((user, password)) = &email.login {
        let password = password.resolve().map_err(SendError::Secret)?;
        transport = transport.credentials(lettre::transport::smtp::authentication::Credentials::new(
            user.clone(),
            password.expose().to_owned(),
        ));
    }
    transport.build().send(mail).await.map(|_| ()).map_err(SendError::Smtp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hex_hmac_sha256_of_the_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn refusals_are_not_tried_again_within_the_run_but_outages_are() {
        assert!(SendError::Status(reqwest::StatusCode::SERVICE_UNAVAILABLE).transient());
        assert!(SendError::Status(reqwest::StatusCode::TOO_MANY_REQUESTS).transient());
        assert!(!SendError::Status(reqwest::StatusCode::NOT_FOUND).transient());
        assert!(!SendError::BadUrl.transient());
    }

    #[test]
    fn the_deadline_leaves_room_for_every_try_and_its_back_off() {
        let all = TRY_TIMEOUT * TRIES as u32 + BACKOFF.iter().sum::<Duration>();
        assert!(all <= DEADLINE, "{all:?} > {DEADLINE:?}");
        assert!(TRY_TIMEOUT >= Duration::from_secs(10), "slow receivers need time");
    }

    #[tokio::test]
    async fn a_receiver_that_takes_seconds_to_answer_gets_the_message_once() {
        use super::super::message::Context;
        use super::super::states::{Change, State, Subject};
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = tokio::spawn(async move {
            let mut connections = 0;
            // Every connection within the deadline, answered after 4 s (longer than a
            // try used to be allowed).
            while let Ok(Ok((mut socket, _))) =
                tokio::time::timeout(Duration::from_secs(2), listener.accept()).await
            {
                connections += 1;
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                tokio::time::sleep(Duration::from_secs(4)).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
            connections
        });
        let key = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(key.path(), "k").unwrap();
        let secret = crate::config::SecretRef::parse(&format!("${{file:{}}}", key.path().display())).unwrap();
        let channel = Channel {
            name: "webhook".into(),
            kind: ChannelKind::Webhook { url: format!("http://127.0.0.1:{port}/hook"), secret },
            events: crate::config::NotifyEvent::ALL.into_iter().collect(),
        };
        let change = Change {
            subject: Subject::Run,
            previous: State::Ok,
            state: State::Failed { reason: "why".into() },
            event: crate::config::NotifyEvent::RunFailed,
            send: true,
        };
        let cx = Context { workspace: "acme", revision: None, link: None, at: jiff::Timestamp::UNIX_EPOCH };
        let message = Message { cx, change: &change, id: "0" };
        let sent = Sender::new().unwrap().deliver(&channel, &message).await;
        assert!(sent.is_ok(), "{sent:?}");
        assert_eq!(receiver.await.unwrap(), 1, "one try, not cut short and tried again");
    }
}
