//! How hrsync reaches an HTTP service, shared by REST sources and by SCIM and Entra ID
//! directories.
//!
//! Runtime types only; secrets stay references until a run resolves them. Nothing here
//! builds a client (`src/http.rs` does).

use super::secret::SecretRef;

/// How hrsync authenticates to an HTTP service (a directory or an HR API).
#[derive(Clone, Debug)]
pub enum Auth {
    /// None.
    None,
    /// A static bearer token.
    Bearer(SecretRef),
    /// HTTP Basic (RFC 7617): a user and a password, either of which may be a secret
    /// (BambooHR sends its API key as the user, HiBob a service user and its token).
    Basic {
        /// The user.
        user: Credential,
        /// The password.
        password: Credential,
    },
    /// `Authorization: <scheme> <base64 of the secret>`, as AFAS's `AfasToken`.
    Encoded {
        /// The scheme word.
        scheme: &'static str,
        /// The secret, sent Base64-encoded.
        secret: SecretRef,
    },
    /// OAuth2 client credentials.
    ClientCredentials {
        /// Token endpoint.
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: SecretRef,
        /// Scope asked for.
        scope: Option<String>,
    },
}

/// A part of a credential: written in the config (a service user's id), or a secret.
#[derive(Clone, Debug)]
pub enum Credential {
    /// Not a secret.
    Plain(String),
    /// A secret reference.
    Secret(SecretRef),
}

/// How to reach an HTTP service: a directory (SCIM, Graph) or an HR API.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Base URL.
    pub url: String,
    /// Authentication.
    pub auth: Auth,
    /// PEM file of extra certificate authorities.
    pub ca_file: Option<String>,
    /// Per-request timeout.
    pub timeout: std::time::Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Retries of passing failures.
    pub retries: u32,
    /// Base of the exponential back-off.
    pub backoff: std::time::Duration,
    /// Entries per page.
    pub page_size: u32,
}
