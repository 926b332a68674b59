//! Groups in an LDAP directory: `groupOfNames` or `groupOfUniqueNames` (OpenLDAP and
//! other RFC 4519 servers) and Active Directory's `group`, in the container
//! `groups.container` names.
//!
//! Reads are one paged search of the container's subtree for the class, asking for
//! `cn`, the member attribute and the key attribute. Active Directory sends a group of
//! more members than its `MaxValRange` (1,500 on Windows) one range at a time
//! (`member;range=0-1499`): the rest is read range by range until the one ending in
//! `*`, so a big group is never cut short. Samba sends every member at once unless
//! asked for a range; both are read the same way.
//!
//! Members change by their difference only, never by replacing the membership: before
//! a change hrsync reads the group's members and adds only those it lacks and deletes
//! only those it has (DNs compared as DNs), so a retried apply, an edit made meanwhile,
//! or a server that rewrote a renamed member itself (OpenLDAP's `refint`, Active
//! Directory's linked attributes) finds the work done rather than fail. A modify that
//! still trips over such an edit (the value exists, or does not) reads the group again
//! and sends what is left. A modify carries at most [`CHUNK`] values: Active Directory
//! limits the values of one modify (about 5,000 on Windows).
//!
//! `groupOfNames` and `groupOfUniqueNames` must have a member. An empty group holds the
//! placeholder [`PLACEHOLDER`], the empty DN (OpenLDAP takes it as a valid
//! `DistinguishedName` and `NameAndOptionalUID`); a change that removes the last real
//! member adds it in the same modify, and one that adds a real member removes it, so no
//! write ever breaks the schema. The placeholder is never listed as a member.

use std::collections::{HashMap, HashSet};

use ldap3::adapters::{EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapError, LdapResult, Mod, Scope, dn_escape};

use super::{LdapDirectory, LdapFailure, RETRIES, exists, refusal, search_entry};
use crate::config::GroupClass;
use crate::directory::{Directory, DirectoryError, Group, GroupChange, NewGroup, Reason};
use crate::model::value::{parent_of, rdn_key, rdn_value};
use crate::model::{Compare, canonical};

/// The most values one modify (or the add of a group) carries.
const CHUNK: usize = 1000;

/// The member of a `groupOfNames` or `groupOfUniqueNames` that has no real one: the
/// empty DN, which OpenLDAP accepts for `member` and `uniqueMember` alike (rather than
/// the group's own DN, which would make the group a member of itself).
const PLACEHOLDER: &str = "";

/// Active Directory's `groupType` of a global security group
/// (`GROUP_TYPE_ACCOUNT_GROUP | GROUP_TYPE_SECURITY_ENABLED`).
const GLOBAL_SECURITY: &str = "-2147483646";

/// The longest `sAMAccountName` Active Directory takes (its `rangeUpper`).
const SAM_MAX: usize = 256;

/// The characters Active Directory refuses in a `sAMAccountName`.
const SAM_FORBIDDEN: &str = "\"/\\[]:;|=,+*?<>@";

/// How this directory keeps groups, with the settings it needs resolved.
struct Scheme<'a> {
    container: &'a str,
    class: GroupClass,
    object_class: &'static str,
    member: &'static str,
    key: &'a str,
}

impl Scheme<'_> {
    /// Whether an empty group holds the [`PLACEHOLDER`] (every class but AD's).
    fn placeholder(&self) -> bool {
        self.class != GroupClass::ActiveDirectory
    }
}

/// The members of a group as read before a change: real ones by their DN as compared,
/// each with its value as the server holds it, and the placeholder if it has one.
#[derive(Debug, Default)]
struct Current {
    members: HashMap<String, String>,
    placeholder: Option<String>,
}

impl Current {
    /// The members `values` (as read) of a group of `scheme`'s class.
    fn of(values: Vec<String>, placeholder: bool) -> Current {
        let mut current = Current::default();
        for v in values {
            if placeholder && is_placeholder(&v) {
                current.placeholder = Some(v);
            } else {
                current.members.insert(canonical(Compare::Dn, &v), v);
            }
        }
        current
    }
}

/// Whether a member value is the placeholder of an empty group.
fn is_placeholder(value: &str) -> bool {
    value.trim().is_empty()
}

/// One value a modify of a group's members adds or deletes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Add(String),
    Delete(String),
}

/// The values to write for a change of `current` by `add` and `remove`: members added
/// that it lacks, members deleted that it has (with the value the server holds), and
/// the placeholder added when no real member stays or deleted when one does
/// (`placeholder`: the class needs one). Adds come first, so that a group never lacks a
/// member between two modifies; a group that will be empty gets its placeholder in the
/// first one. Nothing when the group already is as asked.
fn member_ops(current: &Current, add: &[String], remove: &[String], placeholder: bool) -> Vec<Op> {
    let mut seen = HashSet::new();
    let adds: Vec<&String> = add
        .iter()
        .filter(|v| !is_placeholder(v))
        .filter(|v| {
            let key = canonical(Compare::Dn, v);
            !current.members.contains_key(&key) && seen.insert(key)
        })
        .collect();
    let mut gone = HashSet::new();
    let deletes: Vec<&String> = remove
        .iter()
        .filter_map(|v| {
            let key = canonical(Compare::Dn, v);
            let held = current.members.get(&key)?;
            gone.insert(key).then_some(held)
        })
        .collect();
    if adds.is_empty() && deletes.is_empty() {
        return Vec::new();
    }
    // Deletes are of members it has, adds of members it lacks: this does not underflow.
    let remaining = current.members.len() + adds.len() - deletes.len();
    let mut ops = Vec::with_capacity(adds.len() + deletes.len() + 1);
    if placeholder && remaining == 0 && current.placeholder.is_none() {
        ops.push(Op::Add(PLACEHOLDER.to_owned()));
    }
    ops.extend(adds.into_iter().cloned().map(Op::Add));
    if let Some(held) = &current.placeholder
        && remaining > 0
    {
        // After the adds, in the modify of the last of them or the first delete: the
        // group has a real member by then, and keeps one to the end.
        ops.push(Op::Delete(held.clone()));
    }
    ops.extend(deletes.into_iter().cloned().map(Op::Delete));
    ops
}

/// `ops` as modifies of `attribute`, [`CHUNK`] values each at most. A modify's values
/// to delete are never empty: an empty delete would remove the whole attribute.
fn modifies(attribute: &str, ops: Vec<Op>) -> Vec<Vec<Mod<String>>> {
    ops.chunks(CHUNK)
        .map(|chunk| {
            let mut adds = HashSet::new();
            let mut deletes = HashSet::new();
            for op in chunk {
                match op {
                    Op::Add(v) => adds.insert(v.clone()),
                    Op::Delete(v) => deletes.insert(v.clone()),
                };
            }
            let mut mods = Vec::with_capacity(2);
            if !adds.is_empty() {
                mods.push(Mod::Add(attribute.to_owned(), adds));
            }
            if !deletes.is_empty() {
                mods.push(Mod::Delete(attribute.to_owned(), deletes));
            }
            mods
        })
        .collect()
}

/// Why the members of a group as a server sent them cannot be read.
#[derive(Debug, PartialEq, Eq)]
struct BadRange(String);

/// The values of `attribute` among a search result's attributes, and where the rest
/// starts when the server sent only a range of them (Active Directory's
/// `member;range=0-1499`: the rest from 1500; `member;range=1500-*` is the last
/// range). An attribute the server did not send has no values, and no rest.
fn member_values(
    attrs: &HashMap<String, Vec<String>>,
    attribute: &str,
) -> Result<(Vec<String>, Option<u64>), BadRange> {
    let mut values = Vec::new();
    let mut next = None;
    let mut ranged = false;
    for (name, vals) in attrs {
        let mut parts = name.split(';');
        if !parts.next().is_some_and(|base| base.eq_ignore_ascii_case(attribute)) {
            continue;
        }
        let range = parts.find_map(|option| {
            option.get(..6).filter(|p| p.eq_ignore_ascii_case("range=")).map(|_| &option[6..])
        });
        if let Some(range) = range {
            if ranged {
                return Err(BadRange(format!("two ranges of `{attribute}` in one answer")));
            }
            ranged = true;
            next = range_end(range).ok_or_else(|| BadRange(format!("`{name}` is not a range")))?;
        }
        values.extend(vals.iter().cloned());
    }
    Ok((values, next))
}

/// Where the values after the range `low-high` start (`high + 1`), `None` after the
/// last range (`low-*`); `Err` (as `None` outside) when it is not a range.
fn range_end(range: &str) -> Option<Option<u64>> {
    let (low, high) = range.split_once('-')?;
    let low: u64 = low.parse().ok()?;
    if high == "*" {
        return Some(None);
    }
    let high: u64 = high.parse().ok()?;
    (high >= low).then_some(Some(high.checked_add(1)?))
}

/// The `sAMAccountName` of a new Active Directory group, made from its name: the
/// characters AD refuses (`" / \ [ ] : ; | = , + * ? < > @` and control characters) as
/// `_`, spaces and periods at the ends dropped (AD refuses a trailing period), at most
/// [`SAM_MAX`] characters. `None` when nothing is left.
fn sam_account_name(name: &str) -> Option<String> {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_control() || SAM_FORBIDDEN.contains(c) { '_' } else { c })
        .take(SAM_MAX)
        .collect();
    let trimmed = cleaned.trim_start().trim_end_matches([' ', '.']);
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// The name of a group: the `cn` value that names its entry (its RDN), else its first
/// `cn`, else its RDN's value.
fn group_name(dn: &str, cns: &[String]) -> String {
    let rdn = rdn_value(dn).filter(|(attribute, _)| attribute.eq_ignore_ascii_case("cn")).map(|(_, v)| v);
    if let Some(rdn) = &rdn {
        let key = rdn_key(rdn);
        if let Some(cn) = cns.iter().find(|cn| rdn_key(cn) == key) {
            return cn.clone();
        }
    }
    cns.first().cloned().or(rdn).unwrap_or_default()
}

/// The values of `name` (case aside) among a search result's attributes.
fn attribute<'a>(attrs: &'a HashMap<String, Vec<String>>, name: &str) -> &'a [String] {
    attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice()).unwrap_or_default()
}

/// The result codes of a modify that tripped over the group's members as they are now,
/// not as they were read: a value that exists already (20, and Samba's 68 for a
/// linked attribute) or no longer (16, and Samba's 53), or a last member removed
/// meanwhile (65). The group is read again and what is left sent.
fn stale(rc: u32) -> bool {
    matches!(rc, 16 | 20 | 53 | 65 | 68)
}

impl LdapDirectory {
    /// The group settings, resolved; `None` when the directory has no groups to sync.
    fn scheme(&self) -> Result<Option<Scheme<'_>>, DirectoryError> {
        let Some(g) = &self.groups else { return Ok(None) };
        let (Some(object_class), Some(member)) = (g.class.object_class(), g.class.member_attribute()) else {
            return Err(DirectoryError::refused(format!(
                "directory `{}` keeps LDAP groups: `groups.object_class` must be an LDAP class",
                self.id
            )));
        };
        let Some(container) = g.container.as_deref() else {
            return Err(DirectoryError::refused(format!(
                "directory `{}` has no `groups.container` to read and create groups in",
                self.id
            )));
        };
        Ok(Some(Scheme { container, class: g.class, object_class, member, key: &g.key_attribute }))
    }

    /// The group settings for a write, or the error of a directory without groups.
    fn write_scheme(&self) -> Result<Scheme<'_>, DirectoryError> {
        self.scheme()?.ok_or_else(|| self.groups_unsupported())
    }

    /// Every group of the container, with its members (the placeholder left out).
    pub(super) async fn read_all_groups(&self) -> Result<Vec<Group>, DirectoryError> {
        let Some(g) = self.scheme()? else { return Ok(Vec::new()) };
        let mut ldap = self.ldap().await?;
        let filter = format!("(objectClass={})", g.object_class);
        let attrs = vec!["cn".to_owned(), g.member.to_owned(), g.key.to_owned()];
        let adapters: Vec<Box<dyn ldap3::adapters::Adapter<_, _>>> =
            vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(self.settings.page_size as i32))];
        let mut stream = ldap
            .streaming_search_with(adapters, g.container, Scope::Subtree, &filter, attrs)
            .await
            .map_err(|e| self.error(g.container, e))?;
        let mut found = Vec::new();
        while let Some(entry) = stream.next().await.map_err(|e| self.error(g.container, e))? {
            found.push(search_entry(entry).ok_or_else(|| self.malformed(g.container))?);
        }
        let result = stream.finish().await;
        // A container that does not exist yet holds no groups (a create names it).
        if result.rc == 32 {
            return Ok(Vec::new());
        }
        result.success().map_err(|e| self.error(g.container, e))?;
        let mut groups = Vec::with_capacity(found.len());
        for entry in found {
            let (mut values, next) =
                member_values(&entry.attrs, g.member).map_err(|e| self.bad_range(&entry.dn, e))?;
            if let Some(next) = next {
                values.extend(self.rest_of_range(&mut ldap, &entry.dn, g.member, next).await?);
            }
            let mut seen = HashSet::with_capacity(values.len());
            let members = values
                .into_iter()
                .filter(|v| !(g.placeholder() && is_placeholder(v)))
                .filter(|v| seen.insert(canonical(Compare::Dn, v)))
                .collect();
            // A multi-valued key attribute (`businessCategory`) may hold other values
            // beside hrsync's key: the key is the one that reads as one.
            let values = attribute(&entry.attrs, g.key);
            let key = values
                .iter()
                .find(|v| v.trim().starts_with(crate::config::groups::KEY_PREFIX))
                .or(values.first())
                .cloned();
            let name = group_name(&entry.dn, attribute(&entry.attrs, "cn"));
            groups.push(Group { id: entry.dn, name, key, members });
        }
        Ok(groups)
    }

    /// The members of `dn` after the range the server sent, from `next` on, range by
    /// range until the last one.
    async fn rest_of_range(
        &self,
        ldap: &mut Ldap,
        dn: &str,
        attribute: &str,
        mut next: u64,
    ) -> Result<Vec<String>, DirectoryError> {
        let mut out = Vec::new();
        loop {
            let wanted = vec![format!("{attribute};range={next}-*")];
            let (entries, _) = ldap
                .search(dn, Scope::Base, "(objectClass=*)", wanted)
                .await
                .and_then(|r| r.success())
                .map_err(|e| self.error(dn, e))?;
            let Some(entry) = entries.into_iter().next() else {
                return Err(DirectoryError::NotFound(dn.to_owned(), None));
            };
            let entry = search_entry(entry).ok_or_else(|| self.malformed(dn))?;
            let (values, after) =
                member_values(&entry.attrs, attribute).map_err(|e| self.bad_range(dn, e))?;
            out.extend(values);
            match after {
                None => return Ok(out),
                Some(after) if after > next => next = after,
                Some(_) => {
                    return Err(self.bad_range(dn, BadRange(format!("a range of `{attribute}` went back"))));
                }
            }
        }
    }

    /// The read stops at members sent in a range it cannot follow: the plan fails
    /// rather than see a group cut short.
    fn bad_range(&self, dn: &str, e: BadRange) -> DirectoryError {
        self.unavailable(std::io::Error::other(format!(
            "the server sent the members of `{dn}` in ranges hrsync cannot follow ({})",
            e.0
        )))
    }

    /// The members of the group `dn` as they are now.
    async fn current_members(&self, g: &Scheme<'_>, dn: &str) -> Result<Current, DirectoryError> {
        let mut ldap = self.ldap().await?;
        let filter = format!("(objectClass={})", g.object_class);
        let (entries, _) = ldap
            .search(dn, Scope::Base, &filter, vec![g.member])
            .await
            .and_then(|r| r.success())
            .map_err(|e| self.error(dn, e))?;
        let Some(entry) = entries.into_iter().next() else {
            // Something else than a group of the class has that DN.
            return Err(DirectoryError::NotFound(dn.to_owned(), None));
        };
        let entry = search_entry(entry).ok_or_else(|| self.malformed(dn))?;
        let (mut values, next) = member_values(&entry.attrs, g.member).map_err(|e| self.bad_range(dn, e))?;
        if let Some(next) = next {
            values.extend(self.rest_of_range(&mut ldap, dn, g.member, next).await?);
        }
        Ok(Current::of(values, g.placeholder()))
    }

    /// Adds `add` to and removes `remove` from the members of `dn`, by what it lacks
    /// and has: as `known` says (a group just created), else as read now; read again
    /// when a modify trips over a change made meanwhile.
    async fn change_members(
        &self,
        g: &Scheme<'_>,
        dn: &str,
        add: &[String],
        remove: &[String],
        mut known: Option<Current>,
    ) -> Result<(), DirectoryError> {
        let mut attempt = 0;
        loop {
            let current = match known.take() {
                Some(current) => current,
                None => self.current_members(g, dn).await?,
            };
            let ops = member_ops(&current, add, remove, g.placeholder());
            let mut outcome = Ok(());
            for mods in modifies(g.member, ops) {
                let result = self.modify_members(dn, mods).await?;
                if result.rc != 0 {
                    outcome = Err(result);
                    break;
                }
            }
            match outcome {
                Ok(()) => return Ok(()),
                Err(result) if attempt < RETRIES && stale(result.rc) => {
                    let error = refusal::describe(result.rc, "");
                    tracing::debug!(directory = %self.id, %error, "group changed meanwhile; reading its members again");
                }
                Err(result) => return Err(self.member_error(dn, result).await),
            }
            attempt += 1;
        }
    }

    /// One modify of a group's members; the server's answer, whatever it is, after
    /// [`LdapDirectory::write`]'s retries of a busy server or a lost connection.
    async fn modify_members(&self, dn: &str, mods: Vec<Mod<String>>) -> Result<LdapResult, DirectoryError> {
        self.write(dn, |mut ldap| {
            let mods = mods.clone();
            async move {
                let result = ldap.modify(dn, mods).await?;
                match result.rc {
                    51 | 52 => Err(LdapError::LdapResult { result }),
                    _ => Ok(result),
                }
            }
        })
        .await
    }

    /// The error of a modify of the members of `dn` the server refused. A member that
    /// does not exist (Active Directory keeps only members that do, and answers 32 as
    /// for a group that does not) is said without its DN: people's names stay out of
    /// logs.
    async fn member_error(&self, dn: &str, result: LdapResult) -> DirectoryError {
        if result.rc == 32 {
            let group_exists = match self.ldap().await {
                Ok(mut ldap) => exists(&mut ldap, dn).await.ok(),
                Err(_) => None,
            };
            if group_exists == Some(true) {
                return DirectoryError::refused(format!(
                    "a member to add does not exist in the directory, which keeps only members that do ({}): the next run reads the directory again",
                    refusal::describe(result.rc, "")
                ));
            }
        }
        // Still tripping over the members after reading them again: someone keeps
        // changing them; the next run plans the group again.
        if matches!(result.rc, 16 | 20 | 68) {
            return DirectoryError::Conflict(
                dn.to_owned(),
                Some(Box::new(LdapFailure::from(LdapError::LdapResult { result }))),
            );
        }
        self.error(dn, LdapError::LdapResult { result })
    }

    /// Creates the groups container `dn` when it is an OU (`ou=…`) whose parent exists:
    /// the config names it as hrsync's. Whether it was made (or now exists).
    async fn make_container(&self, dn: &str) -> bool {
        let Some((attribute, ou)) = crate::model::value::rdn_value(dn) else { return false };
        if !attribute.eq_ignore_ascii_case("ou") {
            return false;
        }
        let attrs = vec![
            ("objectClass".to_owned(), HashSet::from(["organizationalUnit".to_owned()])),
            ("ou".to_owned(), HashSet::from([ou])),
        ];
        let made = self
            .write(dn, |mut ldap| {
                let attrs = attrs.clone();
                async move { ldap.add(dn, attrs).await.and_then(|r| r.success()).map(|_| ()) }
            })
            .await;
        match made {
            Ok(()) => {
                tracing::info!(directory = %self.id, container = dn, "created the groups container");
                true
            }
            Err(DirectoryError::AlreadyExists(..)) => true,
            Err(e) => {
                tracing::warn!(directory = %self.id, kind = e.label(), "cannot create the groups container");
                false
            }
        }
    }

    /// Creates a group in the container; its first [`CHUNK`] members with it, the rest
    /// by modifies. A container that does not exist is created first when it is an OU.
    pub(super) async fn add_group(&self, group: &NewGroup) -> Result<String, DirectoryError> {
        let g = self.write_scheme()?;
        if group.name.trim().is_empty() {
            return Err(DirectoryError::refused("a group needs a name"));
        }
        let dn = format!("cn={},{}", dn_escape(&group.name), g.container);
        let mut seen = HashSet::new();
        let members: Vec<String> = group
            .members
            .iter()
            .filter(|m| !is_placeholder(m))
            .filter(|m| seen.insert(canonical(Compare::Dn, m)))
            .cloned()
            .collect();
        let (first, rest) = members.split_at(members.len().min(CHUNK));
        let mut attrs: Vec<(String, HashSet<String>)> = vec![
            ("objectClass".to_owned(), HashSet::from([g.object_class.to_owned()])),
            ("cn".to_owned(), HashSet::from([group.name.clone()])),
            (g.key.to_owned(), HashSet::from([group.key.clone()])),
        ];
        if !first.is_empty() {
            attrs.push((g.member.to_owned(), first.iter().cloned().collect()));
        } else if g.placeholder() {
            attrs.push((g.member.to_owned(), HashSet::from([PLACEHOLDER.to_owned()])));
        }
        let sam = if g.class == GroupClass::ActiveDirectory {
            let sam = sam_account_name(&group.name).ok_or_else(|| {
                DirectoryError::refused(
                    "the group's name makes no sAMAccountName (Active Directory refuses names of only periods, spaces and `\" / \\ [ ] : ; | = , + * ? < > @`): name it otherwise",
                )
            })?;
            attrs.push(("sAMAccountName".to_owned(), HashSet::from([sam.clone()])));
            attrs.push(("groupType".to_owned(), HashSet::from([GLOBAL_SECURITY.to_owned()])));
            Some(sam)
        } else {
            None
        };
        let dn_ref = dn.as_str();
        let sent = std::sync::atomic::AtomicU32::new(0);
        // A missing container is made once (an OU the config names), then the add again.
        let mut made_container = false;
        loop {
            let added = self
                .write(dn_ref, |mut ldap| {
                    let attrs = attrs.clone();
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    async move { ldap.add(dn_ref, attrs).await.and_then(|r| r.success()).map(|_| ()) }
                })
                .await;
            match added {
                Ok(()) => {}
                Err(DirectoryError::AlreadyExists(_, cause) | DirectoryError::Taken { cause, .. }) => {
                    let said =
                        cause.as_deref().and_then(|c| c.downcast_ref::<LdapFailure>()).and_then(
                            |f| match f {
                                LdapFailure::Result(r) => Some(r),
                                LdapFailure::Other(_) => None,
                            },
                        );
                    let sam_taken = said.is_some_and(|r| {
                        refusal::taken_attribute(r.rc, &r.text, &["sAMAccountName".to_owned()]).is_some()
                    });
                    return Err(match (sam, said) {
                        (Some(sam), Some(r))
                            if sam_taken && sent.load(std::sync::atomic::Ordering::Relaxed) == 1 =>
                        {
                            DirectoryError::Taken {
                                entry: dn,
                                attribute: "sAMAccountName".to_owned(),
                                cause: Some(Box::new(Reason(format!(
                                    "Active Directory keeps a group's sAMAccountName unique in the domain, and another object holds `{sam}`, which hrsync makes from the group's name: rename that object, or give the group another name ({})",
                                    refusal::describe(r.rc, &r.text)
                                )))),
                            }
                        }
                        _ => DirectoryError::AlreadyExists(dn, cause),
                    });
                }
                Err(DirectoryError::NotFound(_, cause)) => {
                    let container_exists = match self.ldap().await {
                        Ok(mut ldap) => exists(&mut ldap, g.container).await.ok(),
                        Err(_) => None,
                    };
                    if container_exists == Some(false)
                        && !made_container
                        && self.make_container(g.container).await
                    {
                        made_container = true;
                        continue;
                    }
                    return Err(match container_exists {
                        Some(false) => DirectoryError::refused(format!(
                            "the container `{}` that `groups.container` names does not exist: create it",
                            g.container
                        )),
                        Some(true) if !first.is_empty() => DirectoryError::refused(
                            "a member of the group does not exist in the directory, which keeps only members that do (LDAP result 32, noSuchObject): the next run reads the directory again",
                        ),
                        _ => DirectoryError::NotFound(dn, cause),
                    });
                }
                Err(e) => return Err(e),
            }
            break;
        }
        if !rest.is_empty() {
            let known = Current::of(first.to_vec(), g.placeholder());
            self.change_members(&g, &dn, rest, &[], Some(known)).await?;
        }
        Ok(dn)
    }

    /// Changes the members of the group `id`, then renames it (a modifyDN of its RDN);
    /// its DN after.
    pub(super) async fn change_one_group(
        &self,
        id: &str,
        change: &GroupChange,
    ) -> Result<String, DirectoryError> {
        let g = self.write_scheme()?;
        if !change.add.is_empty() || !change.remove.is_empty() {
            self.change_members(&g, id, &change.add, &change.remove, None).await?;
        }
        let Some(name) = &change.rename else { return Ok(id.to_owned()) };
        if name.trim().is_empty() {
            return Err(DirectoryError::refused("a group needs a name"));
        }
        if rdn_value(id).is_some_and(|(_, value)| value == *name) {
            return Ok(id.to_owned());
        }
        let rdn = format!("cn={}", dn_escape(name));
        let target = format!("{rdn},{}", parent_of(id));
        let rdn_ref = rdn.as_str();
        let renamed = self
            .write(id, |mut ldap| async move {
                ldap.modifydn(id, rdn_ref, true, None).await.and_then(|r| r.success()).map(|_| ())
            })
            .await;
        match renamed {
            // What exists is a group (or entry) of the new name, not the one renamed.
            Err(DirectoryError::AlreadyExists(_, cause) | DirectoryError::Taken { cause, .. }) => {
                Err(DirectoryError::AlreadyExists(target, cause))
            }
            Err(e) => Err(e),
            Ok(()) => Ok(target),
        }
    }

    /// Deletes the group `id`.
    pub(super) async fn delete_one_group(&self, id: &str) -> Result<(), DirectoryError> {
        self.write_scheme()?;
        self.write(id, |mut ldap| async move { ldap.delete(id).await.and_then(|r| r.success()).map(|_| ()) })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(n: std::ops::Range<usize>) -> Vec<String> {
        n.map(|i| format!("uid=u{i},ou=people,dc=x")).collect()
    }

    fn attrs(pairs: &[(&str, &[&str])]) -> HashMap<String, Vec<String>> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn active_directory_ranges_are_read_to_their_end() {
        let whole = attrs(&[("member", &["a", "b"]), ("cn", &["g"])]);
        assert_eq!(member_values(&whole, "member"), Ok((vec!["a".into(), "b".into()], None)));
        let first = attrs(&[("member;range=0-1499", &["a"])]);
        assert_eq!(member_values(&first, "member"), Ok((vec!["a".into()], Some(1500))));
        let case = attrs(&[("Member;Range=1500-2999", &["b"])]);
        assert_eq!(member_values(&case, "member"), Ok((vec!["b".into()], Some(3000))));
        let last = attrs(&[("member;range=3000-*", &["c"])]);
        assert_eq!(member_values(&last, "member"), Ok((vec!["c".into()], None)));
        // Past the end Samba sends no attribute at all.
        assert_eq!(member_values(&attrs(&[]), "member"), Ok((vec![], None)));
        // Another attribute of a similar name is not the members.
        let other = attrs(&[("memberOf", &["x"]), ("member;binary", &["y"])]);
        assert_eq!(member_values(&other, "member"), Ok((vec!["y".into()], None)));
        for bad in ["member;range=a-b", "member;range=10-5", "member;range=5", "member;range=-*"] {
            assert!(member_values(&attrs(&[(bad, &["x"])]), "member").is_err(), "{bad}");
        }
        let two = attrs(&[("member;range=0-1", &["a"]), ("member;range=2-*", &["b"])]);
        assert!(member_values(&two, "member").is_err());
    }

    #[test]
    fn a_change_writes_only_what_the_group_lacks_and_has() {
        let current = Current::of(dns(0..5), true);
        let add = vec!["UID=u1, ou=People,dc=x".to_owned(), "uid=u9,ou=people,dc=x".to_owned()];
        let remove = vec!["uid=u2,ou=people,dc=x".to_owned(), "uid=u7,ou=people,dc=x".to_owned()];
        assert_eq!(
            member_ops(&current, &add, &remove, true),
            [Op::Add("uid=u9,ou=people,dc=x".into()), Op::Delete("uid=u2,ou=people,dc=x".into())]
        );
        // Already as asked: nothing at all.
        assert!(member_ops(&current, &add[..1], &remove[1..], true).is_empty());
        // A member deleted is the value as the server holds it.
        let ops = member_ops(&current, &[], &["UID=U3,OU=PEOPLE,DC=X".to_owned()], true);
        assert_eq!(ops, [Op::Delete("uid=u3,ou=people,dc=x".into())]);
    }

    #[test]
    fn an_empty_group_keeps_its_placeholder_in_the_same_modify() {
        let current = Current::of(dns(0..2), true);
        let ops = member_ops(&current, &[], &dns(0..2), true);
        assert_eq!(ops[0], Op::Add(PLACEHOLDER.into()));
        let mods = modifies("member", ops);
        assert_eq!(mods.len(), 1, "one modify: the group is never without a member");
        // Active Directory's groups may be empty.
        assert_eq!(member_ops(&Current::of(dns(0..2), false), &[], &dns(0..2), false).len(), 2);
        // The first real member replaces the placeholder.
        let empty = Current::of(vec![String::new()], true);
        assert!(empty.members.is_empty());
        let ops = member_ops(&empty, &dns(0..1), &[], true);
        assert_eq!(ops, [Op::Add("uid=u0,ou=people,dc=x".into()), Op::Delete(String::new())]);
        // A placeholder that is there already is not added again.
        let both = Current::of(vec![String::new(), "uid=u0,ou=people,dc=x".into()], true);
        assert_eq!(member_ops(&both, &[], &dns(0..1), true), [Op::Delete("uid=u0,ou=people,dc=x".into())]);
    }

    #[test]
    fn large_changes_are_sent_in_chunks_adds_first() {
        let current = Current::of(dns(0..2500), true);
        let ops = member_ops(&current, &dns(2500..4000), &dns(0..2500), true);
        let mods = modifies("member", ops);
        let sizes: Vec<Vec<(bool, usize)>> = mods
            .iter()
            .map(|m| {
                m.iter()
                    .map(|m| match m {
                        Mod::Add(_, v) => (true, v.len()),
                        Mod::Delete(_, v) => (false, v.len()),
                        _ => unreachable!(),
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            sizes,
            [vec![(true, 1000)], vec![(true, 500), (false, 500)], vec![(false, 1000)], vec![(false, 1000)],]
        );
        // No modify deletes with an empty value set (that would delete every member).
        assert!(mods.iter().flatten().all(|m| !matches!(m, Mod::Delete(_, v) if v.is_empty())));
    }

    #[test]
    fn active_directory_group_names_are_made_from_the_name() {
        assert_eq!(sam_account_name("Sales DE").as_deref(), Some("Sales DE"));
        assert_eq!(sam_account_name(" R&D: Team [x]. ").as_deref(), Some("R&D_ Team _x_"));
        assert_eq!(sam_account_name("a@b,c").as_deref(), Some("a_b_c"));
        assert_eq!(sam_account_name(&"é".repeat(300)).map(|s| s.chars().count()), Some(256));
        assert_eq!(sam_account_name(" . . "), None);
    }

    #[test]
    fn a_groups_name_is_the_cn_that_names_it() {
        let cns = ["Alias".to_owned(), "Sales, DE".to_owned()];
        assert_eq!(group_name("cn=Sales\\2c DE,ou=g", &cns), "Sales, DE");
        assert_eq!(group_name("CN=sales\\, de,ou=g", &cns), "Sales, DE");
        assert_eq!(group_name("ou=g2,ou=g", &cns), "Alias");
        assert_eq!(group_name("cn=Only,ou=g", &[]), "Only");
    }
}
