//! The names of leaver timers: a keyed hash of the entry id, so `state.json` can be
//! committed to the reports branch and still name no one.

use crate::config::Secret;

/// The keys that name leaver timers: a keyed hash of the entry id, so `state.json`
/// names no one. The key comes from the state's random salt and, when it is set, the
/// reports' `pii_key` (which `pii: hashed` needs), so that someone who reads the reports branch cannot even
/// test a guessed entry id. A timer whose key cannot be found again (the salt or the
/// `pii_key` changed) starts afresh: that only ever delays a disable or delete.
#[derive(Clone)]
pub struct TimerKeys([u8; 32]);

impl std::fmt::Debug for TimerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TimerKeys(…)")
    }
}

impl TimerKeys {
    /// The keys made from `salt` and the reports' `pii_key`, if any.
    pub fn new(salt: &str, secret: Option<&Secret>) -> Self {
        let mut hasher = blake3::Hasher::new_derive_key("hrsync 2026-11 leaver timer ids");
        hasher.update(salt.as_bytes());
        hasher.update(&[0]);
        if let Some(secret) = secret {
            hasher.update(secret.expose().as_bytes());
        }
        TimerKeys(*hasher.finalize().as_bytes())
    }

    /// The name of the timer of entry `entry_id`: 128 bits, in hex.
    pub fn id(&self, entry_id: &str) -> String {
        let hash = blake3::keyed_hash(&self.0, entry_id.as_bytes());
        hash.to_hex()[..32].to_owned()
    }
}
