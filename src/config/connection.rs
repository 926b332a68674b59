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
