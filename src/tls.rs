//! TLS set-up shared by every client hrsync opens (HTTP and LDAP).

/// Makes ring the process's TLS crypto provider (once), for connections that use the
/// system's trusted roots: rustls refuses to guess between providers.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Fails only when a provider is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
