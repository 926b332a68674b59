//! The `ldap` directory: OpenLDAP and other RFC 4519 servers (inetOrgPerson), and
//! Active Directory.
//!
//! Reads are one paged search (RFC 2696) of the scope's subtree and filter, asking only
//! for the mapped attributes. An entry's id is its DN. Writes go over a small pool of
//! connections (`connection.connections`, 4 by default), several operations in flight
//! on each (LDAP multiplexes operations on a connection by message id): a directory
//! server's own bulk loaders write this way, and one connection waiting for each answer
//! leaves most of the server idle. Writes carry LDAP's own
//! precondition: a changed attribute is written as "delete exactly the old values, add
//! the new ones" in one atomic modify, so an attribute someone changed since the read
//! makes that item fail (and the next run plans it again) instead of being overwritten.
//! Values placed in a DN are escaped (RFC 4514); hrsync builds no search filter from
//! data. A change of the RDN attribute renames the entry. Accounts are disabled by an
//! attribute value, a move to another OU, or `userAccountControl` (Active Directory).
//! Groups (`groupOfNames`, `groupOfUniqueNames`, AD's `group`) are in the module `groups`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use ldap3::adapters::{EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Mod, Scope, SearchEntry, dn_escape};
use tokio::sync::Mutex;

mod groups;
mod refusal;
mod schema;

use schema::Schema;
pub(crate) use schema::schema_names;

use super::password::{generate_password, unicode_pwd};
use super::{
    Affects, Created, Directory, DirectoryError, Entry, Group, GroupChange, HeldElsewhere, NewEntry,
    NewGroup, Page, ReadWarning, Update,
};
use crate::config::{GroupSettings, LdapDisable, LdapSettings};
use crate::model::value::{first_rdn, parent_of};
use crate::model::{Attributes, Names, Value, canonical};
use crate::model::{Compare, DirectoryId};

/// How often a write is sent again after a busy answer or a lost connection.
const RETRIES: u32 = 3;

/// The pause before sending a write again: 0.2 s, 0.6 s, 1.8 s.
fn pause(attempt: u32) -> std::time::Duration {
    std::time::Duration::from_millis(200 * 3u64.pow(attempt))
}

/// Whether an operation's failure says nothing about the entry: the server was busy
/// or unavailable (51, 52), or the connection broke.
fn transient(e: &LdapError) -> bool {
    match e {
        LdapError::LdapResult { result } => matches!(result.rc, 51 | 52),
        _ => lost_connection(e),
    }
}

/// Whether the error is the connection breaking (reset, closed, timed out), not
/// something about the operation itself.
fn lost_connection(e: &LdapError) -> bool {
    matches!(
        e,
        LdapError::Io { .. }
            | LdapError::OpSend { .. }
            | LdapError::ResultRecv { .. }
            | LdapError::EndOfStream
            | LdapError::Timeout { .. }
    )
}

/// Whether a connection that could not be opened may open on a second try: not when
/// the bind was refused, or the TLS settings or the password cannot be read.
fn reconnectable(e: &DirectoryError) -> bool {
    let DirectoryError::Unavailable { source, .. } = e else { return false };
    !(source.is::<BindError>() || source.is::<TlsError>() || source.is::<crate::config::SecretError>())
}

/// Active Directory's "account disabled" flag in `userAccountControl`.
const ACCOUNTDISABLE: u32 = 0x2;
/// A normal account, enabled.
const NORMAL_ACCOUNT: u32 = 0x200;
const UAC: &str = "userAccountControl";

/// A connection of the pool, and how often it was opened.
#[derive(Default)]
struct Slot {
    ldap: Option<Ldap>,
    opened: u64,
}

/// An LDAP directory.
pub struct LdapDirectory {
    id: DirectoryId,
    settings: LdapSettings,
    /// Attributes read for each entry, as the config spells them.
    attributes: Vec<String>,
    /// The mapped ones among them (lowercase): others are read for bookkeeping only.
    mapped: HashSet<String>,
    /// Attributes whose values the server keeps unique, or hrsync keeps unique by
    /// config (`unique` fields): a refusal naming one is [`DirectoryError::Taken`].
    unique: Vec<String>,
    /// The connections writes and reads use, each opened on first use and reopened
    /// when it closed.
    pool: Vec<Mutex<Slot>>,
    /// The slot the next write takes (round robin).
    next: std::sync::atomic::AtomicUsize,
    names: std::sync::Mutex<Names>,
    /// What the last read found that writes will trip over.
    warnings: std::sync::Mutex<Vec<ReadWarning>>,
    /// How it keeps groups (`groups` of its file); `None`: it has no groups to sync.
    groups: Option<GroupSettings>,
}

impl std::fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapDirectory").field("id", &self.id).field("url", &self.settings.url).finish()
    }
}

impl LdapDirectory {
    /// This directory, keeping groups as `groups` says (`None`: it has none to sync).
    pub fn with_groups(mut self, groups: Option<GroupSettings>) -> Self {
        self.groups = groups;
        self
    }

    /// A directory reading `attributes` (the mapped ones and the ownership marker).
    pub fn new(id: DirectoryId, settings: LdapSettings, attributes: Vec<String>) -> Self {
        let mapped = attributes.iter().map(|a| a.to_ascii_lowercase()).collect();
        let mut attributes = attributes;
        match &settings.disable {
            LdapDisable::Attribute { attribute, .. } => attributes.push(attribute.clone()),
            LdapDisable::UserAccountControl => attributes.push(UAC.to_owned()),
            LdapDisable::MoveTo(_) | LdapDisable::Unconfigured => {}
        }
        attributes.sort();
        attributes.dedup();
        let pool = (0..settings.connections.max(1)).map(|_| Mutex::new(Slot::default())).collect();
        LdapDirectory {
            id,
            settings,
            attributes,
            mapped,
            unique: Vec::new(),
            pool,
            next: Default::default(),
            names: Default::default(),
            warnings: Default::default(),
            groups: None,
        }
    }

    /// This directory, knowing the attributes `unique` fields write: a refusal that
    /// says one's value is taken lets a create take its next candidate. AD's
    /// domain-wide unique attributes are added to them.
    pub fn with_unique(mut self, unique: Vec<String>) -> Self {
        self.unique = unique;
        for a in &self.settings.unique_in_domain {
            if !self.unique.iter().any(|u| u.eq_ignore_ascii_case(a)) {
                self.unique.push(a.clone());
            }
        }
        self
    }

    fn unavailable(&self, e: impl std::error::Error + Send + Sync + 'static) -> DirectoryError {
        let source: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
        // ldap3's result error names its result twice (as text and as its cause).
        let source = match source.downcast::<LdapError>() {
            Ok(ldap) => Box::new(LdapFailure::from(*ldap)),
            Err(other) => other,
        };
        DirectoryError::Unavailable { directory: self.id.clone(), source }
    }

    /// The read of `base` stops at an entry the server encoded wrongly: the plan fails
    /// rather than miss an entry.
    fn malformed(&self, base: &str) -> DirectoryError {
        self.unavailable(std::io::Error::other(format!(
            "the server sent an entry under `{base}` that is not valid LDAP (bad BER or a name that is not UTF-8)"
        )))
    }

    /// The first connection of the pool, which reads (and the checks around writes) use.
    async fn ldap(&self) -> Result<Ldap, DirectoryError> {
        self.connection(0).await.map(|(ldap, _)| ldap)
    }

    /// The pool's next connection in turn, its slot and which opening of the slot it is.
    async fn next_connection(&self) -> (usize, Result<(Ldap, u64), DirectoryError>) {
        let slot = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.pool.len();
        (slot, self.connection(slot).await)
    }

    /// The bound connection of `slot` and which opening of the slot it is, opened on
    /// first use and opened again when it closed or was dropped.
    async fn connection(&self, slot: usize) -> Result<(Ldap, u64), DirectoryError> {
        crate::tls::install_crypto_provider();
        let mut guard = self.pool[slot % self.pool.len()].lock().await;
        if let Some(ldap) = guard.ldap.as_mut()
            && !ldap.is_closed()
        {
            return Ok((ldap.clone(), guard.opened));
        }
        let s = &self.settings;
        let mut conn_settings = LdapConnSettings::new().set_conn_timeout(s.timeout).set_starttls(s.starttls);
        if let Some(ca) = &s.ca_file {
            conn_settings =
                conn_settings.set_config(Arc::new(tls_config(ca).map_err(|e| self.unavailable(e))?));
        }
        let (conn, mut ldap) =
            LdapConnAsync::with_settings(conn_settings, &s.url).await.map_err(|e| self.unavailable(e))?;
        ldap3::drive!(conn);
        ldap.with_timeout(s.timeout);
        if let (Some(dn), Some(password)) = (&s.bind_dn, &s.password) {
            let password = password.resolve().map_err(|e| self.unavailable(e))?;
            ldap.simple_bind(dn, password.expose())
                .await
                .and_then(|r| r.success())
                .map_err(|e| self.unavailable(BindError(dn.clone(), LdapFailure::from(e))))?;
        }
        guard.opened += 1;
        guard.ldap = Some(ldap.clone());
        Ok((ldap, guard.opened))
    }

    /// Runs the write `op` on the pool's next connection, again after a busy or unavailable answer (51,
    /// 52) and on a new connection after the old one was lost, [`RETRIES`] times at most
    /// with a growing pause. Sending a write again is safe: updates carry the old values
    /// as preconditions (16 or 20 when the first one went through), deletes and moves
    /// find nothing (32), and an add finds its DN taken (68), so nothing is done twice.
    async fn write<T, F, Fut>(&self, dn: &str, mut op: F) -> Result<T, DirectoryError>
    where
        F: FnMut(Ldap) -> Fut,
        Fut: std::future::Future<Output = Result<T, LdapError>>,
    {
        let mut attempt = 0;
        loop {
            let (slot, ldap) = self.next_connection().await;
            let outcome = match ldap {
                Ok((ldap, opened)) => match op(ldap).await {
                    Ok(v) => return Ok(v),
                    Err(e) if attempt < RETRIES && transient(&e) => {
                        if !matches!(e, LdapError::LdapResult { .. }) {
                            // The connection is gone (reset, closed, timed out): drop it,
                            // unless another write on it has already opened it again.
                            let mut guard = self.pool[slot].lock().await;
                            if guard.opened == opened {
                                guard.ldap = None;
                            }
                        }
                        // The code or the connection's error only: a server's text may quote the entry.
                        let error = match &e {
                            LdapError::LdapResult { result } => refusal::describe(result.rc, ""),
                            other => other.to_string(),
                        };
                        tracing::warn!(directory = %self.id, attempt = attempt + 1, %error, "LDAP write interrupted; trying again");
                        Ok(())
                    }
                    Err(e) => Err(self.error(dn, e)),
                },
                Err(e) if attempt < RETRIES && reconnectable(&e) => {
                    tracing::warn!(directory = %self.id, attempt = attempt + 1, error = %crate::model::error_chain(&e), "LDAP server unreachable; trying again");
                    Ok(())
                }
                Err(e) => Err(e),
            };
            outcome?;
            tokio::time::sleep(pause(attempt)).await;
            attempt += 1;
        }
    }

    /// Maps an LDAP failure of an operation on `dn` to a directory error.
    fn error(&self, dn: &str, e: LdapError) -> DirectoryError {
        if let LdapError::LdapResult { result } = &e
            && let Some(attribute) = refusal::taken_attribute(result.rc, &result.text, &self.unique)
        {
            let attribute = attribute.to_owned();
            return DirectoryError::Taken {
                entry: dn.to_owned(),
                attribute,
                cause: Some(Box::new(LdapFailure::from(e))),
            };
        }
        match &e {
            LdapError::LdapResult { result } => match result.rc {
                // noSuchAttribute, attributeOrValueExists: the entry changed since it was read.
                16 | 20 => DirectoryError::Conflict(dn.to_owned(), Some(Box::new(LdapFailure::from(e)))),
                32 => DirectoryError::NotFound(dn.to_owned(), Some(Box::new(LdapFailure::from(e)))),
                68 => DirectoryError::AlreadyExists(dn.to_owned(), Some(Box::new(LdapFailure::from(e)))),
                // busy, unavailable: the server as a whole, after the retries of `write`.
                51 | 52 => self.unavailable(e),
                _ => DirectoryError::Rejected(Box::new(LdapFailure::from(e))),
            },
            // The connection, after the retries of `write`: the directory is unreachable.
            other if lost_connection(other) => self.unavailable(e),
            // Anything else is about this operation (an empty value set, say).
            _ => DirectoryError::Rejected(Box::new(LdapFailure::from(e))),
        }
    }

    /// A search result entry as an [`Entry`]: the mapped attributes in the config's
    /// spelling, and whether it is enabled.
    pub(crate) fn to_entry(&self, e: SearchEntry, names: &mut Names) -> Entry {
        // Attribute names are case-insensitive in LDAP; keep the config's spelling.
        let by_lower: HashMap<String, &String> =
            self.attributes.iter().map(|a| (a.to_ascii_lowercase(), a)).collect();
        let mut map = BTreeMap::new();
        for (name, values) in e.attrs {
            let Some(configured) = by_lower.get(&name.to_ascii_lowercase()) else { continue };
            let value = match values.len() {
                0 => continue,
                1 => Value::One(values.into_iter().next().unwrap_or_default()),
                _ => Value::Many(values),
            };
            map.insert((*configured).clone(), value);
        }
        let enabled = match &self.settings.disable {
            LdapDisable::Attribute { attribute, value } => !map
                .get(attribute)
                .is_some_and(|v: &Value| v.values().iter().any(|x| x.eq_ignore_ascii_case(value))),
            LdapDisable::MoveTo(ou) => canonical(Compare::Dn, parent_of(&e.dn)) != canonical(Compare::Dn, ou),
            LdapDisable::UserAccountControl => map
                .get(UAC)
                .and_then(Value::first)
                .and_then(|v| v.parse::<u32>().ok())
                .is_none_or(|uac| uac & ACCOUNTDISABLE == 0),
            LdapDisable::Unconfigured => true,
        };
        // Bookkeeping attributes (how an account is disabled) are not values to compare.
        map.retain(|name, _| self.mapped.contains(&name.to_ascii_lowercase()));
        Entry { id: e.dn, attributes: Attributes::from_map(map, names), enabled, revision: None }
    }

    /// Reads the entries below `base` into `out`; `false` when `base` does not exist.
    async fn search(
        &self,
        ldap: &mut Ldap,
        base: &str,
        out: &mut Vec<Entry>,
    ) -> Result<bool, DirectoryError> {
        let s = &self.settings;
        let adapters: Vec<Box<dyn ldap3::adapters::Adapter<_, _>>> =
            vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(s.page_size as i32))];
        let mut stream = ldap
            .streaming_search_with(adapters, base, Scope::Subtree, &s.filter, self.attributes.clone())
            .await
            .map_err(|e| self.error(base, e))?;
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner()).clone();
        while let Some(entry) = stream.next().await.map_err(|e| self.error(base, e))? {
            let entry = search_entry(entry).ok_or_else(|| self.malformed(base))?;
            out.push(self.to_entry(entry, &mut names));
        }
        *self.names.lock().unwrap_or_else(|p| p.into_inner()) = names;
        let result = stream.finish().await;
        // An OU that does not exist yet holds no entries.
        if result.rc == 32 {
            return Ok(false);
        }
        result.success().map(|_| true).map_err(|e| self.error(base, e))
    }

    async fn modify(&self, dn: &str, mods: Vec<Mod<String>>) -> Result<(), DirectoryError> {
        if mods.is_empty() {
            return Ok(());
        }
        self.write(dn, |mut ldap| {
            let mods = mods.clone();
            async move { ldap.modify(dn, mods).await.and_then(|r| r.success()).map(|_| ()) }
        })
        .await
    }

    async fn move_to(&self, dn: &str, superior: &str) -> Result<String, DirectoryError> {
        let rdn = first_rdn(dn);
        let moved = self
            .write(dn, |mut ldap| async move {
                ldap.modifydn(dn, rdn, true, Some(superior)).await.and_then(|r| r.success()).map(|_| ())
            })
            .await;
        match moved {
            // 32 is about the entry or its new container; an entry hrsync just read is
            // more likely there than a container no one checked.
            Err(DirectoryError::NotFound(..)) => {
                return Err(DirectoryError::refused(format!(
                    "the entry, or the container `{superior}` it is moved to, does not exist (LDAP result 32); `hrsync validate --online` checks the container"
                )));
            }
            other => other?,
        }
        Ok(format!("{rdn},{superior}"))
    }

    /// Whether the entry `dn` exists and holds exactly `attributes` (each with the
    /// same set of values): an add sent again after its answer was lost finds its own
    /// first try this way. `false` when it cannot tell.
    async fn holds(&self, dn: &str, attributes: &BTreeMap<String, Value>) -> bool {
        let Ok(mut ldap) = self.ldap().await else { return false };
        let names: Vec<&str> = attributes.keys().map(String::as_str).collect();
        let Ok((entries, _)) =
            ldap.search(dn, Scope::Base, "(objectClass=*)", names).await.and_then(|r| r.success())
        else {
            return false;
        };
        let Some(found) = entries.into_iter().next().and_then(search_entry) else { return false };
        let found: HashMap<String, HashSet<String>> = found
            .attrs
            .into_iter()
            .map(|(name, values)| (name.to_ascii_lowercase(), values.into_iter().collect()))
            .collect();
        attributes.iter().all(|(name, value)| found.get(&name.to_ascii_lowercase()) == Some(&values(value)))
    }

    /// The modifications setting the enabled state, for an entry that exists.
    async fn set_enabled(&self, dn: &str, enabled: bool) -> Result<String, DirectoryError> {
        match &self.settings.disable {
            LdapDisable::Attribute { attribute, value } => {
                let values = HashSet::from([value.clone()]);
                let m = if enabled {
                    Mod::Delete(attribute.clone(), values)
                } else {
                    Mod::Add(attribute.clone(), values)
                };
                match self.modify(dn, vec![m]).await {
                    // Already in the wanted state: enabling a value that is not there, or
                    // disabling with the value present.
                    Err(DirectoryError::Conflict(..)) => Ok(dn.to_owned()),
                    other => other.map(|()| dn.to_owned()),
                }
            }
            LdapDisable::MoveTo(ou) => {
                let target = if enabled { &self.settings.parent } else { ou };
                if canonical(Compare::Dn, parent_of(dn)) == canonical(Compare::Dn, target) {
                    return Ok(dn.to_owned());
                }
                self.move_to(dn, target).await
            }
            LdapDisable::UserAccountControl => {
                let mut ldap = self.ldap().await?;
                let (entries, _) = ldap
                    .search(dn, Scope::Base, "(objectClass=*)", vec![UAC])
                    .await
                    .and_then(|r| r.success())
                    .map_err(|e| self.error(dn, e))?;
                let current = entries
                    .into_iter()
                    .next()
                    .and_then(search_entry)
                    .and_then(|e| {
                        e.attrs.get(UAC).and_then(|v| v.first()).and_then(|v| v.parse::<u32>().ok())
                    })
                    .unwrap_or(NORMAL_ACCOUNT);
                let next = if enabled { current & !ACCOUNTDISABLE } else { current | ACCOUNTDISABLE };
                // Replacing the exact value read keeps the other flags; the delete of the
                // old value makes a concurrent change fail this item.
                self.modify(
                    dn,
                    vec![
                        Mod::Delete(UAC.to_owned(), HashSet::from([current.to_string()])),
                        Mod::Add(UAC.to_owned(), HashSet::from([next.to_string()])),
                    ],
                )
                .await?;
                Ok(dn.to_owned())
            }
            LdapDisable::Unconfigured => Err(DirectoryError::refused(
                "this directory has no way to disable an account: configure `disable`",
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot bind as `{0}`")]
struct BindError(String, #[source] LdapFailure);

/// An LDAP failure said once: ldap3's `LdapError::LdapResult` shows its result in its
/// message and again as its cause, so a chain of causes repeated it.
#[derive(Debug, thiserror::Error)]
enum LdapFailure {
    /// The server answered with an error result.
    #[error("{}", refusal::describe(.0.rc, &.0.text))]
    Result(ldap3::LdapResult),
    /// Anything else (connection, protocol, timeout).
    #[error(transparent)]
    Other(LdapError),
}

impl From<LdapError> for LdapFailure {
    fn from(e: LdapError) -> LdapFailure {
        match e {
            LdapError::LdapResult { result } => LdapFailure::Result(result),
            other => LdapFailure::Other(other),
        }
    }
}

/// Whether the entry `dn` exists (noSuchObject says it does not).
async fn exists(ldap: &mut Ldap, dn: &str) -> Result<bool, LdapError> {
    match ldap.search(dn, Scope::Base, "(objectClass=*)", vec!["1.1"]).await.and_then(|r| r.success()) {
        Ok(_) => Ok(true),
        Err(LdapError::LdapResult { result }) if result.rc == 32 => Ok(false),
        Err(e) => Err(e),
    }
}

/// A TLS configuration trusting the certificate authorities of a PEM file.
fn tls_config(ca_file: &str) -> Result<rustls::ClientConfig, TlsError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let path = || ca_file.to_owned();
    let mut roots = rustls::RootCertStore::empty();
    let certs =
        CertificateDer::pem_file_iter(ca_file).map_err(|source| TlsError::CaFile { path: path(), source })?;
    for cert in certs {
        let cert = cert.map_err(|source| TlsError::CaFile { path: path(), source })?;
        roots.add(cert).map_err(|source| TlsError::Certificate { path: path(), source })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Why the TLS settings of an LDAP connection cannot be made.
#[derive(Debug, thiserror::Error)]
enum TlsError {
    /// The CA file cannot be read, or is not PEM.
    #[error("cannot read CA file `{path}`")]
    CaFile { path: String, source: rustls_pki_types::pem::Error },
    /// A certificate of the CA file is refused.
    #[error("CA file `{path}` holds a certificate that cannot be trusted")]
    Certificate { path: String, source: rustls::Error },
    /// The TLS library cannot be set up.
    #[error("cannot set up TLS")]
    Setup(#[source] rustls::Error),
}

fn values(v: &Value) -> HashSet<String> {
    v.values().iter().cloned().collect()
}

/// `SearchEntry::construct` without its panics: an entry the server encoded wrongly (bad
/// BER, a DN or attribute name that is not UTF-8) is `None`, never a crash. Values that
/// are not all UTF-8 go to `bin_attrs`, as ldap3 does.
fn search_entry(entry: ldap3::ResultEntry) -> Option<SearchEntry> {
    parse_entry(entry.0)
}

pub(crate) fn parse_entry(entry: ldap3::asn1::StructureTag) -> Option<SearchEntry> {
    let mut tags = entry.match_id(4)?.expect_constructed()?.into_iter();
    let dn = String::from_utf8(tags.next()?.expect_primitive()?).ok()?;
    let mut attrs = HashMap::new();
    let mut bin_attrs = HashMap::new();
    for attribute in tags.next()?.expect_constructed()? {
        let mut parts = attribute.expect_constructed()?.into_iter();
        let name = String::from_utf8(parts.next()?.expect_primitive()?).ok()?;
        let raw: Vec<Vec<u8>> = parts
            .next()?
            .expect_constructed()?
            .into_iter()
            .map(|v| v.expect_primitive())
            .collect::<Option<_>>()?;
        match raw.iter().map(|v| String::from_utf8(v.clone())).collect::<Result<Vec<String>, _>>() {
            Ok(text) => attrs.insert(name, text).map(drop),
            Err(_) => bin_attrs.insert(name, raw).map(drop),
        };
    }
    Some(SearchEntry { dn, attrs, bin_attrs })
}

#[async_trait]
impl Directory for LdapDirectory {
    fn id(&self) -> &DirectoryId {
        &self.id
    }

    fn concurrency(&self) -> usize {
        self.settings.concurrency.max(1)
    }

    async fn schema_problems(&self) -> Result<Option<Vec<String>>, DirectoryError> {
        let mut ldap = self.ldap().await?;
        let s = &self.settings;
        // The containers hrsync reads and writes must exist: the scope, where creates
        // go, and where disables with `move_to` move entries.
        let mut containers = vec![("`scope.base`", s.base.as_str())];
        if canonical(Compare::Dn, &s.parent) != canonical(Compare::Dn, &s.base) {
            containers.push(("`entry.parent`", s.parent.as_str()));
        }
        if let LdapDisable::MoveTo(ou) = &s.disable {
            containers.push(("`disable.move_to`", ou.as_str()));
        }
        let mut problems = Vec::new();
        for (key, dn) in containers {
            if !exists(&mut ldap, dn).await.map_err(|e| self.unavailable(e))? {
                problems.push(format!("the container `{dn}` that {key} names does not exist: create it"));
            }
        }
        let first = |r: Result<ldap3::SearchResult, LdapError>| -> Result<Option<SearchEntry>, LdapError> {
            let (entries, _) = r?.success()?;
            Ok(entries.into_iter().next().and_then(search_entry))
        };
        let root = first(
            ldap.search("", Scope::Base, "(objectClass=*)", vec!["subschemaSubentry", "schemaNamingContext"])
                .await,
        )
        .map_err(|e| self.unavailable(e))?;
        let root_value =
            |name: &str| root.as_ref().and_then(|e| e.attrs.get(name)).and_then(|v| v.first().cloned());
        let subschema = root_value("subschemaSubentry").unwrap_or_else(|| "cn=Subschema".to_owned());
        let filter = "(objectClass=subschema)";
        let definitions = first(
            ldap.search(&subschema, Scope::Base, filter, vec!["attributeTypes", "objectClasses"]).await,
        )
        .map_err(|e| self.unavailable(e))?;
        let Some(definitions) = definitions else {
            return Ok((!problems.is_empty()).then_some(problems));
        };
        let values = |attr: &str| definitions.attrs.get(attr).into_iter().flatten();
        let mut schema = Schema::new(values("attributeTypes"), values("objectClasses"));
        // Active Directory links auxiliary classes in its schema partition.
        if let Some(schema_nc) = root_value("schemaNamingContext") {
            let linked = "(&(objectClass=classSchema)(|(auxiliaryClass=*)(systemAuxiliaryClass=*)))";
            let attrs = vec!["lDAPDisplayName", "auxiliaryClass", "systemAuxiliaryClass"];
            let (entries, _) = ldap
                .search(&schema_nc, Scope::OneLevel, linked, attrs)
                .await
                .and_then(|r| r.success())
                .map_err(|e| self.unavailable(e))?;
            for e in entries.into_iter().filter_map(search_entry) {
                let get = |name: &'static str| {
                    e.attrs.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).flat_map(|(_, v)| v)
                };
                let Some(class) = get("lDAPDisplayName").next() else { continue };
                let aux = get("auxiliaryClass").chain(get("systemAuxiliaryClass"));
                schema
                    .auxiliaries
                    .insert(class.to_ascii_lowercase(), aux.map(|a| a.to_ascii_lowercase()).collect());
            }
        }
        for a in &self.attributes {
            if schema.attribute_type(a).is_none() {
                problems.push(format!("attribute `{a}` is not in the server's schema"));
            }
        }
        for c in &s.object_classes {
            if !schema.classes.contains_key(&c.to_ascii_lowercase()) {
                problems.push(format!("object class `{c}` is not in the server's schema"));
            }
        }
        let allowed = schema.allowed(&s.object_classes);
        let classes = allowed.classes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
        let mut written: HashSet<String> = HashSet::from(["objectclass".to_owned()]);
        for a in self.attributes.iter().chain([&s.rdn]) {
            let Some(t) = schema.attribute_type(a) else { continue };
            written.insert(t.to_owned());
            if !allowed.may.contains(t) {
                problems.push(format!(
                    "attribute `{a}` is not allowed on entries of the object classes {classes} (with their superior and auxiliary classes): the server would refuse every create (objectClassViolation, 65); map another attribute, or add a class that allows it to `entry.object_classes`"
                ));
            }
        }
        // Active Directory sets these itself (a random sAMAccountName when none is given).
        let ad_sets =
            ["objectcategory", "ntsecuritydescriptor", "instancetype", "objectsid", "samaccountname"];
        for (a, class) in &allowed.must {
            let set_by_server =
                s.flavor == crate::config::spec::LdapFlavor::ActiveDirectory && ad_sets.contains(&a.as_str());
            if !written.contains(a) && !set_by_server {
                problems.push(format!(
                    "object class `{class}` requires `{a}`, which no field maps: the server would refuse every create (objectClassViolation, 65); map it"
                ));
            }
        }
        Ok(Some(problems))
    }

    async fn held_elsewhere(&self) -> Result<HeldElsewhere, DirectoryError> {
        let s = &self.settings;
        let mut out = HeldElsewhere::new();
        if s.unique_in_domain.is_empty() {
            return Ok(out);
        }
        let mut ldap = self.ldap().await?;
        let filter =
            format!("(|{})", s.unique_in_domain.iter().map(|a| format!("({a}=*)")).collect::<String>());
        let adapters: Vec<Box<dyn ldap3::adapters::Adapter<_, _>>> =
            vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(s.page_size as i32))];
        let mut stream = ldap
            .streaming_search_with(
                adapters,
                &s.domain_base,
                Scope::Subtree,
                &filter,
                s.unique_in_domain.clone(),
            )
            .await
            .map_err(|e| self.error(&s.domain_base, e))?;
        while let Some(entry) = stream.next().await.map_err(|e| self.error(&s.domain_base, e))? {
            let entry = search_entry(entry).ok_or_else(|| self.malformed(&s.domain_base))?;
            for attribute in &s.unique_in_domain {
                let values =
                    entry.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(attribute)).map(|(_, v)| v);
                let held = values.into_iter().flatten().map(|v| (v.clone(), entry.dn.clone()));
                out.entry(attribute.clone()).or_default().extend(held);
            }
        }
        stream.finish().await.success().map_err(|e| self.error(&s.domain_base, e))?;
        Ok(out)
    }

    fn read_warnings(&self) -> Vec<ReadWarning> {
        self.warnings.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn read_page(&self, _cursor: Option<String>) -> Result<Page, DirectoryError> {
        let mut ldap = self.ldap().await?;
        let mut entries = Vec::new();
        self.search(&mut ldap, &self.settings.base, &mut entries).await?;
        let mut warnings = Vec::new();
        // Disabled entries moved out of the scope's subtree are still hrsync's.
        if let LdapDisable::MoveTo(ou) = &self.settings.disable {
            let base = canonical(Compare::Dn, &self.settings.base);
            let exists = if !canonical(Compare::Dn, ou).ends_with(&base) {
                self.search(&mut ldap, ou, &mut entries).await?
            } else {
                exists(&mut ldap, ou).await.map_err(|e| self.error(ou, e))?
            };
            if !exists {
                warnings.push(ReadWarning {
                    affects: Affects::Disables,
                    message: format!(
                        "the container `{ou}` that `disable.move_to` names does not exist, so this move will fail: create it"
                    ),
                });
            }
        }
        *self.warnings.lock().unwrap_or_else(|p| p.into_inner()) = warnings;
        Ok(Page { entries, next: None })
    }

    async fn create(&self, entry: &NewEntry) -> Result<Created, DirectoryError> {
        let s = &self.settings;
        let rdn_value = entry.attributes.get(&s.rdn).and_then(Value::first).ok_or_else(|| {
            DirectoryError::refused(format!("the entry has no `{}`, which names entries here", s.rdn))
        })?;
        let parent = match (&s.disable, entry.enabled) {
            (LdapDisable::MoveTo(ou), false) => ou,
            _ => &s.parent,
        };
        let dn = format!("{}={},{}", s.rdn, dn_escape(rdn_value), parent);
        let mut attrs: Vec<(String, HashSet<String>)> =
            vec![("objectClass".to_owned(), s.object_classes.iter().cloned().collect())];
        for (name, value) in &entry.attributes {
            attrs.push((name.clone(), values(value)));
        }
        match &s.disable {
            LdapDisable::Attribute { attribute, value } if !entry.enabled => {
                attrs.push((attribute.clone(), HashSet::from([value.clone()])));
            }
            LdapDisable::UserAccountControl => {
                let uac = if entry.enabled { NORMAL_ACCOUNT } else { NORMAL_ACCOUNT | ACCOUNTDISABLE };
                attrs.push((UAC.to_owned(), HashSet::from([uac.to_string()])));
            }
            _ => {}
        }
        let mut attrs: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = attrs
            .into_iter()
            .map(|(name, values)| (name.into_bytes(), values.into_iter().map(String::into_bytes).collect()))
            .collect();
        if let Some(passwords) = &s.passwords {
            let password = generate_password(passwords.length).map_err(|e| DirectoryError::Unavailable {
                directory: self.id.clone(),
                source: format!("cannot generate a password: {e}").into(),
            })?;
            attrs.push((b"unicodePwd".to_vec(), HashSet::from([unicode_pwd(&password)])));
            if passwords.change_at_first_sign_in {
                attrs.push((b"pwdLastSet".to_vec(), HashSet::from([b"0".to_vec()])));
            }
        }
        let dn_ref = dn.as_str();
        let sent = std::sync::atomic::AtomicU32::new(0);
        let added = self
            .write(dn_ref, |mut ldap| {
                let attrs = attrs.clone();
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                async move { ldap.add(dn_ref, attrs).await.and_then(|r| r.success()).map(|_| ()) }
            })
            .await;
        match added {
            // Sent again after a lost answer, the add may find its own first try: that is
            // no name to pass over for the next candidate. It is the first try when the
            // entry holds exactly what was sent; otherwise the next run matches it.
            Err(DirectoryError::AlreadyExists(_, cause) | DirectoryError::Taken { cause, .. })
                if sent.load(std::sync::atomic::Ordering::Relaxed) > 1 =>
            {
                if self.holds(&dn, &entry.attributes).await {
                    return Ok(dn.into());
                }
                Err(DirectoryError::AlreadyExists(dn, cause))
            }
            // The DN is taken: its naming value, when a `unique` field gives it, is.
            Err(DirectoryError::AlreadyExists(entry, cause))
                if self.unique.iter().any(|u| u.eq_ignore_ascii_case(&s.rdn)) =>
            {
                Err(DirectoryError::Taken { entry, attribute: s.rdn.clone(), cause })
            }
            Err(e) => Err(e),
            Ok(()) => Ok(dn.into()),
        }
    }

    async fn update(
        &self,
        id: &str,
        update: &Update,
        _revision: Option<&str>,
    ) -> Result<String, DirectoryError> {
        let s = &self.settings;
        let mut dn = id.to_owned();
        // A new RDN value renames the entry; the old RDN value is removed with it.
        if let Some(Some(new_rdn)) = update.set.get(&s.rdn) {
            let value = new_rdn.first().unwrap_or_default();
            let rdn = format!("{}={}", s.rdn, dn_escape(value));
            if !first_rdn(&dn).eq_ignore_ascii_case(&rdn) {
                let (from, to) = (dn.as_str(), rdn.as_str());
                let target = format!("{rdn},{}", parent_of(&dn));
                let renamed = self
                    .write(from, |mut ldap| async move {
                        ldap.modifydn(from, to, true, None).await.and_then(|r| r.success()).map(|_| ())
                    })
                    .await;
                match renamed {
                    // What exists is the entry of the new name, not the one renamed.
                    Err(DirectoryError::AlreadyExists(_, cause) | DirectoryError::Taken { cause, .. }) => {
                        return Err(DirectoryError::AlreadyExists(target, cause));
                    }
                    other => other?,
                }
                dn = target;
            }
        }
        let mut mods = Vec::new();
        for (name, new) in &update.set {
            if name == &s.rdn {
                continue;
            }
            match (update.expect.get(name), new) {
                // The old values must still be there: delete exactly them.
                (Some(Some(old)), new) => {
                    mods.push(Mod::Delete(name.clone(), values(old)));
                    if let Some(new) = new {
                        mods.push(Mod::Add(name.clone(), values(new)));
                    }
                }
                // The attribute was absent: adding fails if someone set it meanwhile.
                (Some(None), Some(new)) => mods.push(Mod::Add(name.clone(), values(new))),
                (Some(None), None) => {}
                (None, new) => {
                    mods.push(Mod::Replace(name.clone(), new.as_ref().map(values).unwrap_or_default()))
                }
            }
        }
        self.modify(&dn, mods).await?;
        if let Some(enabled) = update.enabled {
            dn = self.set_enabled(&dn, enabled).await?;
        }
        Ok(dn)
    }

    async fn disable(&self, id: &str, _revision: Option<&str>) -> Result<String, DirectoryError> {
        self.set_enabled(id, false).await
    }

    async fn delete(&self, id: &str, _revision: Option<&str>) -> Result<(), DirectoryError> {
        self.write(id, |mut ldap| async move { ldap.delete(id).await.and_then(|r| r.success()).map(|_| ()) })
            .await
    }

    async fn read_groups(&self) -> Result<Vec<Group>, DirectoryError> {
        self.read_all_groups().await
    }

    async fn create_group(&self, group: &NewGroup) -> Result<String, DirectoryError> {
        self.add_group(group).await
    }

    async fn change_group(&self, id: &str, change: &GroupChange) -> Result<String, DirectoryError> {
        self.change_one_group(id, change).await
    }

    async fn delete_group(&self, id: &str) -> Result<(), DirectoryError> {
        self.delete_one_group(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ldap_result_is_said_once_in_the_chain_of_causes() {
        let result = |rc: u32, text: &str| ldap3::LdapResult {
            rc,
            matched: String::new(),
            text: text.to_owned(),
            refs: Vec::new(),
            ctrls: Vec::new(),
        };
        let busy = DirectoryError::Unavailable {
            directory: DirectoryId::new_unchecked("corp"),
            source: Box::new(LdapFailure::from(LdapError::LdapResult {
                result: result(80, "index generation failed"),
            })),
        };
        let chain = crate::model::error_chain(&busy);
        assert_eq!(chain, "directory `corp` is unavailable: index generation failed (LDAP result 80, other)");
        let refused = DirectoryError::Rejected(Box::new(LdapFailure::from(LdapError::LdapResult {
            result: result(19, ""),
        })));
        assert_eq!(
            crate::model::error_chain(&refused),
            "the directory refused the change: LDAP result 19, constraintViolation"
        );
        assert_eq!((busy.label(), refused.label()), ("unavailable", "rejected"));
    }

    #[test]
    fn malformed_entries_are_refused_not_panicked_on() {
        use ldap3::asn1::{PL, StructureTag, TagClass};
        let octets =
            |b: &[u8]| StructureTag { class: TagClass::Universal, id: 4, payload: PL::P(b.to_vec()) };
        let constructed = |id, items| StructureTag { class: TagClass::Universal, id, payload: PL::C(items) };
        let attribute = |name: &[u8], values: &[&[u8]]| {
            constructed(16, vec![octets(name), constructed(17, values.iter().map(|v| octets(v)).collect())])
        };
        let entry = |dn: &[u8], attributes| StructureTag {
            class: TagClass::Application,
            id: 4,
            payload: PL::C(vec![octets(dn), constructed(16, attributes)]),
        };
        let good = parse_entry(entry(
            b"uid=zoe,ou=people",
            vec![attribute(b"cn", &[b"Zo\xc3\xab"]), attribute(b"jpegPhoto", &[b"\xff\xd8"])],
        ))
        .unwrap();
        assert_eq!(good.dn, "uid=zoe,ou=people");
        assert_eq!(good.attrs["cn"], ["Zoë"]);
        assert_eq!(good.bin_attrs["jpegPhoto"], [vec![0xff, 0xd8]]);
        // Each of these makes ldap3's SearchEntry::construct panic.
        assert!(parse_entry(entry(b"uid=\xff", Vec::new())).is_none(), "a DN that is not UTF-8");
        assert!(parse_entry(entry(b"uid=a", vec![octets(b"not a sequence")])).is_none());
        assert!(
            parse_entry(entry(b"uid=a", vec![constructed(16, vec![octets(b"cn")])])).is_none(),
            "no values"
        );
        let short =
            StructureTag { class: TagClass::Application, id: 4, payload: PL::C(vec![octets(b"uid=a")]) };
        assert!(parse_entry(short).is_none(), "no attribute list");
        let wrong = StructureTag { class: TagClass::Application, id: 5, payload: PL::C(Vec::new()) };
        assert!(parse_entry(wrong).is_none(), "not an entry");
    }

    #[test]
    fn splits_dns_at_unescaped_commas() {
        assert_eq!(first_rdn("cn=Doe\\, Jane,ou=people,dc=x"), "cn=Doe\\, Jane");
        assert_eq!(parent_of("cn=Doe\\, Jane,ou=people,dc=x"), "ou=people,dc=x");
        assert_eq!(parent_of("dc=x"), "");
        assert_eq!(first_rdn("cn=a\\\\,ou=p"), "cn=a\\\\");
        assert_eq!(dn_escape("O'Brien, \"Jo\" <x>;+=#"), "O'Brien\\2c \\22Jo\\22 \\3cx\\3e\\3b\\2b\\3d#");
    }
}
