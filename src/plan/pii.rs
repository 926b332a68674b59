//! Personal data in rendered plans: `full`, `masked` or `hashed` (DESIGN §6).
//!
//! [`redact`] returns a copy of a plan in which every personal value (names, employee
//! numbers, person keys, entry ids, values of attributes made from personal fields) is
//! masked or replaced by a keyed hash. Renderers only ever see the redacted copy, so
//! what reaches a report or a commit is decided here, in one place. Reasons and
//! warnings are written without personal values to begin with.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use std::collections::{BTreeSet, HashMap};

use super::{Plan, Planned, Row};
use crate::config::Secret;
use crate::model::Value;

/// How personal values are shown.
#[derive(Clone, Debug)]
pub enum Pii {
    /// As they are.
    Full,
    /// Shortened: a first letter, an email's domain, the ends of an identifier. With a
    /// key, the labels of people and entries also carry a short keyed hash (`#3fa2`),
    /// so that two people never read the same in a report (see [`redact`]); logs use
    /// no key.
    Masked(Option<Secret>),
    /// Replaced by a keyed hash: equal values can be recognised, not guessed back.
    Hashed(Secret),
}

/// The hex digits of a label's keyed hash in a masked report, at first: four tell
/// most people apart; [`redact`] lengthens the few that still read the same.
const TAG_DIGITS: usize = 4;

impl Pii {
    /// A personal text value (a name, a title made from personal fields …).
    pub fn value(&self, s: &str) -> String {
        match self {
            Pii::Full => s.to_owned(),
            Pii::Hashed(key) => hash(key, s),
            Pii::Masked(_) => match s.split_once('@') {
                Some((local, domain)) => format!("{}…@{domain}", first(local)),
                None => s.split_whitespace().map(|w| format!("{}…", first(w))).collect::<Vec<_>>().join(" "),
            },
        }
    }

    /// An identifier (employee number, entry id): its ends stay, so rows can be told
    /// apart in a review.
    pub fn id(&self, s: &str) -> String {
        match self {
            Pii::Full => s.to_owned(),
            Pii::Hashed(key) => hash(key, s),
            Pii::Masked(_) => {
                let chars: Vec<char> = s.chars().collect();
                if chars.len() <= 4 {
                    format!("{}…", first(s))
                } else {
                    let head: String = chars[..2].iter().collect();
                    let tail: String = chars[chars.len() - 2..].iter().collect();
                    format!("{head}…{tail}")
                }
            }
        }
    }

    /// A directory's or server's message about an entry: the entry's id masked as an
    /// id, and every quoted value ('…' or "…", as LDAP servers, AD, SCIM and Graph quote
    /// the values they refuse), every e-mail address and the naming value of every DN
    /// (`Entry CN=Jane Roe,OU=Staff,… already exists`) masked as a value. The words of
    /// the message stay, so a reviewer still sees why.
    pub fn message(&self, text: &str, entry: Option<&str>) -> String {
        if matches!(self, Pii::Full) {
            return text.to_owned();
        }
        // A message is a sentence or two; past this it is a server's page, cut short so
        // the masking below stays cheap (each quote looks ahead for its match).
        const MAX_MESSAGE_CHARS: usize = 2048;
        let cut: String;
        let text = match text.char_indices().nth(MAX_MESSAGE_CHARS) {
            Some((at, _)) => {
                cut = format!("{}…", &text[..at]);
                cut.as_str()
            }
            None => text,
        };
        let text = match entry.filter(|e| !e.is_empty()) {
            Some(id) => text.replace(id, &self.entry(id)),
            None => text.to_owned(),
        };
        // A quote opens a value where a word could start, and closes it where a word
        // could end: the apostrophe of "doesn't" does neither.
        let opens = |before: Option<char>| before.is_none_or(|c| !c.is_alphanumeric());
        let closes = |after: Option<char>| after.is_none_or(|c| !c.is_alphanumeric());
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        let mut before: Option<char> = None;
        loop {
            let found = rest.char_indices().find(|(i, c)| {
                matches!(c, '\'' | '"')
                    && opens(if *i == 0 { before } else { rest[..*i].chars().next_back() })
            });
            let Some((i, quote)) = found else { break };
            let after = &rest[i + 1..];
            let close =
                after.char_indices().find(|(j, c)| *c == quote && closes(after[j + 1..].chars().next()));
            match close {
                Some((j, _)) if j > 0 => {
                    out.push_str(&mask_plain(self, &rest[..i]));
                    out.push(quote);
                    out.push_str(&self.value(&after[..j]));
                    out.push(quote);
                    rest = &after[j + 1..];
                    before = Some(quote);
                }
                _ => {
                    out.push_str(&mask_plain(self, &rest[..=i]));
                    rest = after;
                    before = Some(quote);
                }
            }
        }
        out.push_str(&mask_plain(self, rest));
        out
    }

    /// A person key `<source>:<record id>`: the source stays.
    pub fn key(&self, key: &str) -> String {
        self.key_tagged(key, TAG_DIGITS)
    }

    fn key_tagged(&self, key: &str, digits: usize) -> String {
        match key.split_once(':') {
            Some((source, id)) if !matches!(self, Pii::Full) => {
                format!("{source}:{}{}", self.id(id), self.tag(key, digits))
            }
            _ => format!("{}{}", self.id(key), self.tag(key, digits)),
        }
    }

    /// An entry's id: a DN keeps its structure and only its naming value is masked
    /// (`CN=J… R…#3fa2,OU=Staff,DC=acme,DC=example`); any other id is masked as an id.
    pub fn entry(&self, id: &str) -> String {
        self.entry_tagged(id, TAG_DIGITS)
    }

    fn entry_tagged(&self, id: &str, digits: usize) -> String {
        if !matches!(self, Pii::Masked(_)) {
            return self.id(id);
        }
        let rdn = crate::model::value::first_rdn(id);
        let parent = crate::model::value::parent_of(id);
        match rdn.split_once('=') {
            Some((attribute, value)) if !parent.is_empty() && !attribute.is_empty() => {
                format!("{attribute}={}{},{parent}", self.value(value), self.tag(id, digits))
            }
            _ => format!("{}{}", self.id(id), self.tag(id, digits)),
        }
    }

    /// The keyed-hash suffix of a masked label: `#` and `digits` hex digits; nothing
    /// without a key, or when not masked.
    fn tag(&self, s: &str, digits: usize) -> String {
        match self {
            Pii::Masked(Some(key)) => {
                let h = hash(key, s);
                let hex = h.strip_prefix("h:").unwrap_or(&h);
                let mut out = String::from("#");
                // 12 digits from one hash; past that, a hash of the hash (never needed in
                // practice, but labels must stay distinct for any input).
                out.push_str(&hex[..digits.min(hex.len())]);
                if digits > hex.len() {
                    out.push_str(&hash(key, hex).replace("h:", ""));
                }
                out
            }
            _ => String::new(),
        }
    }

    /// Whether labels tell everyone apart by a keyed hash.
    fn tagged(&self) -> bool {
        matches!(self, Pii::Masked(Some(_)))
    }

    fn planned(&self, v: &Planned) -> Planned {
        match v {
            Planned::Value(v) => Planned::Value(self.directory_value(v)),
            Planned::EntryOf { entry_of } => Planned::EntryOf { entry_of: self.key(entry_of) },
        }
    }

    fn directory_value(&self, v: &Value) -> Value {
        match v {
            Value::One(s) => Value::One(self.value(s)),
            Value::Many(vs) => Value::Many(vs.iter().map(|s| self.value(s)).collect()),
        }
    }
}

fn first(s: &str) -> String {
    s.chars().next().map(String::from).unwrap_or_default()
}

fn hash(key: &Secret, s: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key.expose().as_bytes()) else {
        return "h:?".to_owned();
    };
    mac.update(s.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("h:{}", hex::encode(&digest[..6]))
}

/// A copy of `plan` with personal values shown as `pii` says.
///
/// Under `masked` with a key, every person key and entry id gets one label for the whole
/// plan (a manager's reference reads as the manager's own row), and labels that would
/// still read the same get longer hashes until none do.
pub fn redact(plan: &Plan, pii: &Pii) -> Plan {
    let redactor = Redactor::new(plan, pii);
    let mut out = redactor.head(plan);
    out.rows = plan.rows.iter().map(|row| redactor.row(row)).collect();
    out
}

/// The labels of one plan's people and entries, made once, for redacting its head and
/// then its rows one at a time (a committed plan's parts) without a copy of every row
/// at once.
pub struct Redactor<'a> {
    pii: &'a Pii,
    keys: HashMap<String, String>,
    entries: HashMap<String, String>,
}

impl<'a> Redactor<'a> {
    /// The labels of every person key and entry id `plan` names.
    pub fn new(plan: &Plan, pii: &'a Pii) -> Redactor<'a> {
        if matches!(pii, Pii::Full) {
            return Redactor { pii, keys: HashMap::new(), entries: HashMap::new() };
        }
        let mut keys: BTreeSet<&str> = BTreeSet::new();
        let mut entries: BTreeSet<&str> = BTreeSet::new();
        for row in &plan.rows {
            keys.extend(row.person.as_ref().map(|p| p.key.as_str()));
            if row.entry_personal {
                entries.extend(row.entry.as_deref());
            }
            match &row.collides_with {
                Some(super::Collision::Person(key)) => {
                    keys.insert(key);
                }
                Some(super::Collision::Entry(id)) => {
                    entries.insert(id);
                }
                None => {}
            }
            for c in &row.changes {
                if let Some(Planned::EntryOf { entry_of }) = &c.after {
                    keys.insert(entry_of);
                }
                if c.reference {
                    let after = match &c.after {
                        Some(Planned::Value(v)) => Some(v),
                        _ => None,
                    };
                    entries.extend(c.before.iter().chain(after).flat_map(|v| v.values()).map(String::as_str));
                }
            }
        }
        entries.extend(plan.timers.keys().map(String::as_str));
        if let Some(g) = &plan.groups {
            for m in g.rows.iter().flat_map(|r| r.add.iter().chain(&r.remove).chain(&r.follow)) {
                keys.extend(m.person.as_deref());
                if g.members_personal && m.group.is_none() {
                    entries.extend(m.id.as_deref());
                }
            }
        }
        let owned = |m: HashMap<&str, String>| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let keys = owned(distinct(pii, keys, |s, digits| pii.key_tagged(s, digits)));
        let entries = owned(distinct(pii, entries, |s, digits| pii.entry_tagged(s, digits)));
        Redactor { pii, keys, entries }
    }

    fn key(&self, k: &str) -> String {
        self.keys.get(k).cloned().unwrap_or_else(|| self.pii.key(k))
    }

    fn entry(&self, e: &str) -> String {
        self.entries.get(e).cloned().unwrap_or_else(|| self.pii.entry(e))
    }

    fn reference(&self, v: &Value) -> Value {
        match v {
            Value::One(s) => Value::One(self.entry(s)),
            Value::Many(vs) => Value::Many(vs.iter().map(|s| self.entry(s)).collect()),
        }
    }

    /// A copy of `plan` without its rows, with personal values shown as `pii` says.
    pub fn head(&self, plan: &Plan) -> Plan {
        Plan {
            format: plan.format,
            id: plan.id.clone(),
            directory: plan.directory.clone(),
            directory_type: plan.directory_type.clone(),
            mode: plan.mode,
            as_of: plan.as_of,
            timezone: plan.timezone.clone(),
            status: plan.status,
            blocked_by: plan.blocked_by.clone(),
            approved: plan.approved,
            approved_by: plan.approved_by.clone(),
            summary: plan.summary.clone(),
            safety: plan.safety.clone(),
            // Skipped rows carry where and why, never values.
            sources: plan.sources.clone(),
            rows: Vec::new(),
            groups: plan.groups.as_ref().map(|g| self.groups(g)),
            timers: plan.timers.iter().map(|(k, v)| (self.entry(k), *v)).collect(),
        }
    }

    /// A copy of a plan's groups with their members shown as `pii` says: person keys
    /// as in the rows, member ids masked where they name people (LDAP DNs). Group
    /// names and keys are organizational, never personal (`per` refuses personal
    /// fields).
    fn groups(&self, groups: &super::GroupPlan) -> super::GroupPlan {
        let mut out = groups.clone();
        if matches!(self.pii, Pii::Full) {
            return out;
        }
        for m in out
            .rows
            .iter_mut()
            .flat_map(|r| r.add.iter_mut().chain(r.remove.iter_mut()).chain(r.follow.iter_mut()))
        {
            m.person = m.person.as_deref().map(|k| self.key(k));
            if groups.members_personal && m.group.is_none() {
                m.id = m.id.as_deref().map(|e| self.entry(e));
            }
        }
        out
    }

    /// A copy of one row of the plan with personal values shown as `pii` says.
    pub fn row(&self, row: &Row) -> Row {
        let mut row = row.clone();
        let pii = self.pii;
        if matches!(pii, Pii::Full) {
            return row;
        }
        if let Some(p) = &mut row.person {
            p.key = self.key(&p.key);
            p.employee_number = p.employee_number.as_deref().map(|n| pii.id(n));
            p.name = p.name.as_deref().map(|n| pii.value(n));
        }
        if row.entry_personal {
            row.entry = row.entry.as_deref().map(|e| self.entry(e));
        }
        row.collides_with = row.collides_with.take().map(|c| match c {
            super::Collision::Person(k) => super::Collision::Person(self.key(&k)),
            super::Collision::Entry(id) => super::Collision::Entry(self.entry(&id)),
        });
        for c in &mut row.changes {
            if c.reference {
                c.before = c.before.as_ref().map(|v| self.reference(v));
                c.after = c.after.as_ref().map(|p| match p {
                    Planned::Value(v) => Planned::Value(self.reference(v)),
                    Planned::EntryOf { entry_of } => Planned::EntryOf { entry_of: self.key(entry_of) },
                });
            } else if c.personal {
                c.before = c.before.as_ref().map(|v| pii.directory_value(v));
                c.after = c.after.as_ref().map(|v| pii.planned(v));
            } else if let Some(Planned::EntryOf { entry_of }) = &c.after {
                c.after = Some(Planned::EntryOf { entry_of: self.key(entry_of) });
            }
        }
        row
    }
}

/// One label per item, distinct: items whose labels read the same get `label` with
/// more hash digits, until none do (at most four rounds; only a keyed `masked` has
/// digits to add).
fn distinct<'a>(
    pii: &Pii,
    items: BTreeSet<&'a str>,
    label: impl Fn(&str, usize) -> String,
) -> HashMap<&'a str, String> {
    let mut out = HashMap::with_capacity(items.len());
    let mut pending: Vec<&str> = items.into_iter().collect();
    let mut digits = TAG_DIGITS;
    while !pending.is_empty() {
        let mut by_label: HashMap<String, Vec<&str>> = HashMap::with_capacity(pending.len());
        for item in pending.drain(..) {
            by_label.entry(label(item, digits)).or_default().push(item);
        }
        let last = !pii.tagged() || digits >= 4 * TAG_DIGITS;
        for (l, group) in by_label {
            if group.len() == 1 || last {
                out.extend(group.into_iter().map(|item| (item, l.clone())));
            } else {
                pending.extend(group);
            }
        }
        digits += TAG_DIGITS;
    }
    out
}

/// Unquoted text of a server's message with its e-mail addresses and the naming values
/// of its DNs masked.
fn mask_plain(pii: &Pii, text: &str) -> String {
    mask_addresses(pii, &mask_dns(pii, text))
}

/// `text` with the value of the first RDN of every DN in it masked as a value: an
/// `attribute=value` that starts a word and ends at an unescaped comma followed by
/// another `attribute=`. Containers (`ou=`, `dc=`, `o=`, `c=`, `l=`, `st=`) name no
/// one and stay. A value runs 256 bytes at most, so this stays linear.
fn mask_dns(pii: &Pii, text: &str) -> String {
    const MAX_VALUE: usize = 256;
    let bytes = text.as_bytes();
    let name_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    // Where an `attribute=` ends, if one starts at `at`.
    let attribute_at = |at: usize| -> Option<usize> {
        let len = bytes[at..].iter().take(33).take_while(|b| name_char(**b)).count();
        (len > 0 && bytes[at].is_ascii_alphabetic() && bytes.get(at + len) == Some(&b'='))
            .then_some(at + len + 1)
    };
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut at) = (0, 0);
    while at < bytes.len() {
        let starts_word =
            at == 0 || !(name_char(bytes[at - 1]) || matches!(bytes[at - 1], b'=' | b',' | b'\\'));
        let Some(value_start) = starts_word.then(|| attribute_at(at)).flatten() else {
            at += 1;
            continue;
        };
        // The value ends at the first comma that no backslash escapes.
        let mut end = None;
        let mut i = value_start;
        while i < bytes.len() && i - value_start <= MAX_VALUE {
            match bytes[i] {
                b'\\' => i += 2,
                b',' => {
                    end = Some(i);
                    break;
                }
                _ => i += 1,
            }
        }
        let container = ["ou", "dc", "o", "c", "l", "st"]
            .iter()
            .any(|c| text[at..value_start - 1].eq_ignore_ascii_case(c));
        match end {
            Some(end) if end > value_start && !container && attribute_at(end + 1).is_some() => {
                out.push_str(&text[copied..value_start]);
                out.push_str(&pii.value(&text[value_start..end]));
                copied = end;
                at = end + 1;
            }
            _ => at = value_start,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// `text` with every word that holds an `@` (an e-mail address) masked as a value.
fn mask_addresses(pii: &Pii, text: &str) -> String {
    if !text.contains('@') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let trimmed = word.trim_matches(|c: char| matches!(c, ',' | ';' | '.' | '(' | ')' | '<' | '>' | ':'));
        if trimmed.contains('@') && !trimmed.is_empty() {
            out.push_str(&word.replacen(trimmed, &pii.value(trimmed), 1));
        } else {
            out.push_str(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_keep_their_words_and_lose_their_values() {
        let ad =
            "00002071: samldb: userPrincipalName 'jane.roe@acme.example' is already in use (LDAP result 19)";
        let masked = Pii::Masked(None).message(ad, None);
        assert_eq!(
            masked,
            "00002071: samldb: userPrincipalName 'j…@acme.example' is already in use (LDAP result 19)"
        );
        let scim = r#"POST Users answered 409 Conflict: User "Jane Roe" doesn't fit, mail jane.roe@acme.example taken"#;
        let masked = Pii::Masked(None).message(scim, None);
        assert!(!masked.contains("Jane") && !masked.contains("jane.roe"), "{masked}");
        assert!(masked.contains("doesn't fit") && masked.contains("@acme.example"), "{masked}");
        let dn = "uid=jane.roe,ou=people,dc=acme";
        let masked = Pii::Masked(None).message(&format!("entry `{dn}` does not exist"), Some(dn));
        assert!(!masked.contains("jane"), "{masked}");
        assert_eq!(Pii::Full.message(ad, None), ad);
        // DNs in a server's text: their naming values go, the rest of the DN stays.
        let samba = "Entry CN=Jane Roe,OU=Staff,DC=acme,DC=example already exists (LDAP result 68)";
        assert_eq!(
            Pii::Masked(None).message(samba, None),
            "Entry CN=J… R…,OU=Staff,DC=acme,DC=example already exists (LDAP result 68)"
        );
        let container = "the container `ou=gone,dc=acme,dc=example` does not exist";
        assert_eq!(Pii::Masked(None).message(container, None), container, "a container names no one");
        let escaped = r"no such entry uid=roe\, jane,ou=people,dc=acme; data 52e, v4563 a=b";
        assert_eq!(
            Pii::Masked(None).message(escaped, None),
            r"no such entry uid=r… j…,ou=people,dc=acme; data 52e, v4563 a=b"
        );
        let hostile = "cn=".repeat(50_000);
        assert!(Pii::Masked(None).message(&hostile, None).len() <= 2049 * 3);
        let long = "'".repeat(100_000);
        assert!(Pii::Masked(None).message(&long, None).chars().count() <= 2049);
    }

    #[test]
    fn masks_values_ids_and_keys() {
        let m = Pii::Masked(None);
        assert_eq!(m.value("Ada Lovelace"), "A… L…");
        assert_eq!(m.value("ada.lovelace@acme.example"), "a…@acme.example");
        assert_eq!(m.id("E1001"), "E1…01");
        assert_eq!(m.id("42"), "4…");
        assert_eq!(m.key("germany:E1001"), "germany:E1…01");
        assert_eq!(Pii::Full.value("Ada"), "Ada");
    }

    #[test]
    fn masked_labels_never_read_the_same() {
        let pii = Pii::Masked(Some(Secret::new("k")));
        // Every key masks to `s:10…01`: only the hash tells them apart, and 2,000 of
        // them share some four-digit hashes.
        let keys: Vec<String> = (0..2000).map(|i| format!("s:10{i:05}01")).collect();
        let labels = distinct(&pii, keys.iter().map(String::as_str).collect(), |k, d| pii.key_tagged(k, d));
        let unique: BTreeSet<&String> = labels.values().collect();
        assert_eq!((labels.len(), unique.len()), (2000, 2000));
        assert!(labels.values().all(|l| l.starts_with("s:10…01#")), "{labels:?}");
        assert!(labels.values().any(|l| l.len() > "s:10…01#abcd".len()), "some needed more digits");
        assert!(labels.values().filter(|l| l.len() == "s:10…01#abcd".len()).count() > 1900);
        // The same key, the same label; another key, another; no key, no hash.
        assert_eq!(pii.key("germany:10001"), pii.key("germany:10001"));
        assert_ne!(pii.key("germany:10001"), pii.key("germany:10101"));
        assert_eq!(Pii::Masked(None).key("germany:10001"), "germany:10…01");
        // A DN keeps its structure: only the naming value is masked.
        let dn = pii.entry("CN=Jane Roe,OU=Staff,DC=acme,DC=example");
        assert!(dn.starts_with("CN=J… R…#") && dn.ends_with(",OU=Staff,DC=acme,DC=example"), "{dn}");
        assert!(pii.entry("2819c223-7f76-453a-919d-413861904646").starts_with("28…46#"));
        assert_eq!(Pii::Full.entry("uid=jane,dc=x"), "uid=jane,dc=x");
        let hashed = Pii::Hashed(Secret::new("k")).entry("uid=jane,dc=x");
        assert!(hashed.starts_with("h:") && !hashed.contains("jane"), "{hashed}");
    }

    #[test]
    fn hashes_are_keyed_and_stable() {
        let a = Pii::Hashed(Secret::new("k1"));
        let b = Pii::Hashed(Secret::new("k2"));
        assert_eq!(a.value("E1001"), a.value("E1001"));
        assert_ne!(a.value("E1001"), b.value("E1001"));
        assert!(a.id("E1001").starts_with("h:") && !a.id("E1001").contains("1001"));
    }
}
