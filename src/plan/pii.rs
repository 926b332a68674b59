//! Personal data in rendered plans: `full`, `masked` or `hashed` (DESIGN §6).
//!
//! [`redact`] returns a copy of a plan in which every personal value (names, employee
//! numbers, person keys, entry ids, values of attributes made from personal fields) is
//! masked or replaced by a keyed hash. Renderers only ever see the redacted copy, so
//! what reaches a report or a commit is decided here, in one place. Reasons and
//! warnings are written without personal values to begin with.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use super::{Plan, Planned, Row};
use crate::config::Secret;
use crate::model::Value;

/// How personal values are shown.
#[derive(Clone, Debug)]
pub enum Pii {
    /// As they are.
    Full,
    /// Shortened: a first letter, an email's domain, the ends of an identifier.
    Masked,
    /// Replaced by a keyed hash: equal values can be recognised, not guessed back.
    Hashed(Secret),
}

impl Pii {
    /// A personal text value (a name, a title made from personal fields …).
    pub fn value(&self, s: &str) -> String {
        match self {
            Pii::Full => s.to_owned(),
            Pii::Hashed(key) => hash(key, s),
            Pii::Masked => match s.split_once('@') {
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
            Pii::Masked => {
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
            Some(id) => text.replace(id, &self.id(id)),
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
        match key.split_once(':') {
            Some((source, id)) if !matches!(self, Pii::Full) => format!("{source}:{}", self.id(id)),
            _ => self.id(key),
        }
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
pub fn redact(plan: &Plan, pii: &Pii) -> Plan {
    let mut out = redact_head(plan, pii);
    out.rows = plan.rows.iter().map(|row| redact_row(row, pii)).collect();
    out
}

/// A copy of `plan` without its rows, with personal values shown as `pii` says: with
/// [`redact_row`], what a renderer that goes through the rows one at a time (a
/// committed plan's parts) needs, without a copy of every row at once.
pub fn redact_head(plan: &Plan, pii: &Pii) -> Plan {
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
        summary: plan.summary.clone(),
        safety: plan.safety.clone(),
        // Skipped rows carry where and why, never values.
        sources: plan.sources.clone(),
        rows: Vec::new(),
        timers: plan.timers.iter().map(|(k, v)| (pii.id(k), *v)).collect(),
    }
}

/// A copy of one row of a plan with personal values shown as `pii` says.
pub fn redact_row(row: &Row, pii: &Pii) -> Row {
    let mut row = row.clone();
    if matches!(pii, Pii::Full) {
        return row;
    }
    if let Some(p) = &mut row.person {
        p.key = pii.key(&p.key);
        p.employee_number = p.employee_number.as_deref().map(|n| pii.id(n));
        p.name = p.name.as_deref().map(|n| pii.value(n));
    }
    if row.entry_personal {
        row.entry = row.entry.as_deref().map(|e| pii.id(e));
    }
    row.collides_with = row.collides_with.take().map(|c| match c {
        super::Collision::Person(key) => super::Collision::Person(pii.key(&key)),
        super::Collision::Entry(id) => super::Collision::Entry(pii.id(&id)),
    });
    for c in &mut row.changes {
        if c.personal {
            c.before = c.before.as_ref().map(|v| pii.directory_value(v));
            c.after = c.after.as_ref().map(|v| pii.planned(v));
        } else if let Some(Planned::EntryOf { entry_of }) = &c.after {
            c.after = Some(Planned::EntryOf { entry_of: pii.key(entry_of) });
        }
    }
    row
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
        let masked = Pii::Masked.message(ad, None);
        assert_eq!(
            masked,
            "00002071: samldb: userPrincipalName 'j…@acme.example' is already in use (LDAP result 19)"
        );
        let scim = r#"POST Users answered 409 Conflict: User "Jane Roe" doesn't fit, mail jane.roe@acme.example taken"#;
        let masked = Pii::Masked.message(scim, None);
        assert!(!masked.contains("Jane") && !masked.contains("jane.roe"), "{masked}");
        assert!(masked.contains("doesn't fit") && masked.contains("@acme.example"), "{masked}");
        let dn = "uid=jane.roe,ou=people,dc=acme";
        let masked = Pii::Masked.message(&format!("entry `{dn}` does not exist"), Some(dn));
        assert!(!masked.contains("jane"), "{masked}");
        assert_eq!(Pii::Full.message(ad, None), ad);
        // DNs in a server's text: their naming values go, the rest of the DN stays.
        let samba = "Entry CN=Jane Roe,OU=Staff,DC=acme,DC=example already exists (LDAP result 68)";
        assert_eq!(
            Pii::Masked.message(samba, None),
            "Entry CN=J… R…,OU=Staff,DC=acme,DC=example already exists (LDAP result 68)"
        );
        let container = "the container `ou=gone,dc=acme,dc=example` does not exist";
        assert_eq!(Pii::Masked.message(container, None), container, "a container names no one");
        let escaped = r"no such entry uid=roe\, jane,ou=people,dc=acme; data 52e, v4563 a=b";
        assert_eq!(
            Pii::Masked.message(escaped, None),
            r"no such entry uid=r… j…,ou=people,dc=acme; data 52e, v4563 a=b"
        );
        let hostile = "cn=".repeat(50_000);
        assert!(Pii::Masked.message(&hostile, None).len() <= 2049 * 3);
        let long = "'".repeat(100_000);
        assert!(Pii::Masked.message(&long, None).chars().count() <= 2049);
    }

    #[test]
    fn masks_values_ids_and_keys() {
        let m = Pii::Masked;
        assert_eq!(m.value("Ada Lovelace"), "A… L…");
        assert_eq!(m.value("ada.lovelace@acme.example"), "a…@acme.example");
        assert_eq!(m.id("E1001"), "E1…01");
        assert_eq!(m.id("42"), "4…");
        assert_eq!(m.key("germany:E1001"), "germany:E1…01");
        assert_eq!(Pii::Full.value("Ada"), "Ada");
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
