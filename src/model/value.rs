//! Attribute values and how they compare: [`Value`], [`Attributes`] (an entry's values
//! by name, names shared through [`Names`]), the comparisons of [`Compare`] (exact,
//! case-insensitive, as DNs, as phone numbers) and hash [`Key`]s that compare the same
//! way.
//!
//! Config, transform, plan, digest, state and the directories all use these, so they
//! live on the ground floor. Nothing here does I/O.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a value is compared with the directory's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "comparison")]
pub enum Compare {
    /// Byte for byte.
    Exact,
    /// Ignoring letter case (mail, user principal names).
    IgnoreCase,
    /// As distinguished names: case and spacing around separators ignored.
    Dn,
    /// As phone numbers: spaces, dashes, dots and brackets ignored.
    Phone,
    /// As Active Directory's account expiry: `0` and `9223372036854775807` both mean
    /// "never" (AD gives new accounts the second; hrsync writes the first).
    AccountExpires,
}

/// The largest 64-bit integer, which Active Directory writes for "never expires".
const AD_NEVER: &str = "9223372036854775807";

/// An attribute value as a directory holds it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// One value.
    One(String),
    /// Several values (multi-valued attributes), compared as a set.
    Many(Vec<String>),
}

impl Value {
    /// The values, as a slice.
    pub fn values(&self) -> &[String] {
        match self {
            Value::One(v) => std::slice::from_ref(v),
            Value::Many(v) => v,
        }
    }

    /// The first value.
    pub fn first(&self) -> Option<&str> {
        self.values().first().map(String::as_str)
    }
}

/// An entry's attributes by name: the names in order, and a value for each.
///
/// An entry has a dozen or two attributes and a plan holds a million entries at once,
/// so the names are not the entry's own: entries with the same attribute names (most
/// of a directory's entries have one of a few such layouts) share one sorted list of
/// them ([`Names`]), and an entry holds only its values, in the same order. There is no
/// tree and no name per entry.
#[derive(Clone, PartialEq, Eq)]
pub struct Attributes {
    /// The names, sorted, without repeats; shared between entries.
    names: Layout,
    /// The value of each name, in the order of `names`.
    values: Box<[Value]>,
}

/// The sorted attribute names of entries: shared between entries that have the same.
type Layout = Arc<[Arc<str>]>;

impl Default for Attributes {
    fn default() -> Self {
        Attributes { names: Arc::new([]), values: Box::new([]) }
    }
}

impl std::fmt::Debug for Attributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pairs: Vec<(&str, &Value)> = self.iter().collect();
        f.debug_tuple("Attributes").field(&pairs).finish()
    }
}

impl Attributes {
    fn position(&self, name: &str) -> Result<usize, usize> {
        self.names.binary_search_by(|n| n.as_ref().cmp(name))
    }

    /// The value of an attribute.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.position(name).ok().map(|i| &self.values[i])
    }

    /// The value of an attribute, looking first at position `hint` (where the same
    /// name was in the previous entry: entries of a directory share their layout) and
    /// updating it. Much cheaper than [`Attributes::get`] over many entries.
    pub fn get_hinted(&self, name: &str, hint: &mut usize) -> Option<&Value> {
        if let Some(n) = self.names.get(*hint)
            && n.as_ref() == name
        {
            return Some(&self.values[*hint]);
        }
        let i = self.position(name).ok()?;
        *hint = i;
        Some(&self.values[i])
    }

    /// Sets an attribute, returning its previous value.
    pub fn insert(&mut self, name: impl Into<Arc<str>>, value: Value) -> Option<Value> {
        let name = name.into();
        match self.position(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.values[i], value)),
            Err(i) => {
                // A layout of its own: the shared one stays as other entries have it.
                let mut names = self.names.to_vec();
                names.insert(i, name);
                self.names = names.into();
                let mut values = std::mem::take(&mut self.values).into_vec();
                values.insert(i, value);
                self.values = values.into_boxed_slice();
                None
            }
        }
    }

    /// Removes an attribute, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.position(name).ok()?;
        let mut names = self.names.to_vec();
        names.remove(i);
        self.names = names.into();
        let mut values = std::mem::take(&mut self.values).into_vec();
        let value = values.remove(i);
        self.values = values.into_boxed_slice();
        Some(value)
    }

    /// Attributes in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.names.iter().map(|n| n.as_ref()).zip(self.values.iter())
    }

    /// How many attributes.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Attributes from a map, with names (and the layout of names) shared through
    /// `names`.
    pub fn from_map(map: BTreeMap<String, Value>, names: &mut Names) -> Self {
        // A BTreeMap iterates in name order: the layout is sorted as built.
        let layout = names.layout(map.keys().map(String::as_str));
        Attributes { names: layout, values: map.into_values().collect() }
    }

    /// The attributes as a map.
    pub fn to_map(&self) -> BTreeMap<String, Value> {
        self.iter().map(|(k, v)| (k.to_owned(), v.clone())).collect()
    }
}

impl<K: Into<Arc<str>>> FromIterator<(K, Value)> for Attributes {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut pairs: Vec<(Arc<str>, Value)> = iter.into_iter().map(|(k, v)| (k.into(), v)).collect();
        // The last value of a name repeated wins, as with one insert after the other.
        pairs.reverse();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, earlier| later.0 == earlier.0);
        let (names, values): (Vec<Arc<str>>, Vec<Value>) = pairs.into_iter().unzip();
        Attributes { names: names.into(), values: values.into_boxed_slice() }
    }
}

impl Serialize for Attributes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Attributes::from_map(BTreeMap::deserialize(d)?, &mut Names::default()))
    }
}

/// Shared attribute names: each distinct name is allocated once, and each distinct
/// list of names an entry has (its layout) once.
#[derive(Clone, Debug, Default)]
pub struct Names {
    names: rustc_hash::FxHashSet<Arc<str>>,
    /// Layouts by a hash of their names.
    layouts: rustc_hash::FxHashMap<u64, Vec<Layout>>,
}

impl Names {
    /// The shared copy of `name`.
    pub fn get(&mut self, name: &str) -> Arc<str> {
        match self.names.get(name) {
            Some(n) => n.clone(),
            None => {
                let n: Arc<str> = Arc::from(name);
                self.names.insert(n.clone());
                n
            }
        }
    }

    /// The shared layout of these names (sorted, without repeats).
    fn layout<'n>(&mut self, names: impl Iterator<Item = &'n str> + Clone) -> Layout {
        let mut h = rustc_hash::FxHasher::default();
        for n in names.clone() {
            h.write(n.as_bytes());
            // A separator, so `ab`,`c` and `a`,`bc` hash apart.
            h.write_u8(0xff);
        }
        let hash = h.finish();
        if let Some(found) = self
            .layouts
            .get(&hash)
            .and_then(|ls| ls.iter().find(|l| l.iter().map(|n| n.as_ref()).eq(names.clone())))
        {
            return found.clone();
        }
        let layout: Layout = names.map(|n| self.get(n)).collect();
        self.layouts.entry(hash).or_default().push(layout.clone());
        layout
    }
}

/// Canonical form of one value under a comparison, so equal values compare equal.
pub fn canonical(compare: Compare, value: &str) -> String {
    match compare {
        Compare::Exact => value.to_owned(),
        Compare::IgnoreCase => value.to_lowercase(),
        Compare::Phone => value.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/')).collect(),
        Compare::Dn => canonical_dn(value),
        Compare::AccountExpires if value.trim() == AD_NEVER => "0".to_owned(),
        Compare::AccountExpires => value.trim().to_owned(),
    }
}

/// A DN with insignificant differences removed: spaces around `,` `=` `+`, and case.
/// Escaped characters (`\,`) stay escaped.
fn canonical_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut chars = dn.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(n) = chars.next() {
                    out.extend(n.to_lowercase());
                }
            }
            ',' | '=' | '+' => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push(c);
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
            }
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// A value as a comparison sees it, usable as a hash key. Exact and case-insensitive
/// keys borrow the text (comparing case-insensitively on the fly); DN and phone keys
/// hold their canonical form. The hash is computed once, when the key is made, so a
/// lookup followed by an insert hashes the text once.
#[derive(Clone, Debug)]
pub struct Key<'a> {
    hash: u64,
    compare: Compare,
    text: Cow<'a, str>,
}

impl<'a> Key<'a> {
    /// The key of `text` under `compare`.
    pub fn new(compare: Compare, text: &'a str) -> Key<'a> {
        let text = match compare {
            Compare::Exact | Compare::IgnoreCase => Cow::Borrowed(text),
            Compare::Dn | Compare::Phone | Compare::AccountExpires => Cow::Owned(canonical(compare, text)),
        };
        let mut h = rustc_hash::FxHasher::default();
        if compare == Compare::IgnoreCase {
            hash_lowercase(&text, &mut h);
        } else {
            h.write(text.as_bytes());
        }
        Key { hash: h.finish(), compare, text }
    }

    /// The same key owning its text.
    pub fn into_owned(self) -> Key<'static> {
        Key { hash: self.hash, compare: self.compare, text: Cow::Owned(self.text.into_owned()) }
    }

    /// Whether `text`, as it is held (not yet in canonical form), has this key under
    /// the key's comparison.
    pub fn matches(&self, text: &str) -> bool {
        match self.compare {
            Compare::Exact => self.text == text,
            Compare::IgnoreCase => eq_ignore_case(&self.text, text),
            Compare::Dn | Compare::Phone | Compare::AccountExpires => {
                self.text == canonical(self.compare, text).as_str()
            }
        }
    }
}

/// Feeds the UTF-8 bytes of the lowercased text, in fixed 64-byte chunks, so texts
/// equal without regard to case feed the same writes whether they are ASCII (fast
/// path) or not.
fn hash_lowercase(text: &str, state: &mut impl Hasher) {
    let mut chunk = [0u8; 64];
    let mut len = 0;
    if text.is_ascii() {
        for b in text.bytes() {
            if len == chunk.len() {
                state.write(&chunk);
                len = 0;
            }
            chunk[len] = b.to_ascii_lowercase();
            len += 1;
        }
    } else {
        let mut utf8 = [0u8; 4];
        for c in text.chars().flat_map(char::to_lowercase) {
            for b in c.encode_utf8(&mut utf8).as_bytes() {
                if len == chunk.len() {
                    state.write(&chunk);
                    len = 0;
                }
                chunk[len] = *b;
                len += 1;
            }
        }
    }
    state.write(&chunk[..len]);
}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        if self.hash != other.hash {
            return false;
        }
        let (a, b) = (self.text.as_ref(), other.text.as_ref());
        let ignore_case = self.compare == Compare::IgnoreCase || other.compare == Compare::IgnoreCase;
        if ignore_case { eq_ignore_case(a, b) } else { a == b }
    }
}

/// Whether two values are equal under a comparison.
fn equal(compare: Compare, a: &str, b: &str) -> bool {
    match compare {
        Compare::Exact => a == b,
        Compare::IgnoreCase => eq_ignore_case(a, b),
        Compare::Dn | Compare::Phone | Compare::AccountExpires => {
            canonical(compare, a) == canonical(compare, b)
        }
    }
}

/// Whether two texts are equal without regard to letter case (Unicode lowercase).
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
    }
}

impl Eq for Key<'_> {}

/// A hash index from keys to items (numbers: entries, groups of records) for texts held
/// elsewhere: each distinct key takes 16 bytes — part of its hash, its items (inline
/// when there is one), and a `locator` that says where the first text of that key is —
/// instead of the key itself. A million keys take 35 MB where a map of [`Key`]s to
/// [`Slot`]s took 136. The caller numbers the places its texts are in (`locator`) and
/// resolves them again (`text_at`) when a lookup meets a bucket of the same hash.
#[derive(Clone, Debug, Default)]
pub struct KeyIndex {
    table: hashbrown::HashTable<Bucket>,
    /// The items of keys that have several, each in the order they were added, with
    /// the largest of them: an item above it is new without a search, so items added in
    /// ascending order (as entries are) cost no more for a value every entry holds.
    many: Vec<(u32, Vec<u32>)>,
}

/// One key of a [`KeyIndex`].
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// The upper half of the key's hash.
    hash: u32,
    /// The item, or [`MANY`] and the index of the key's items in `many`.
    items: u32,
    /// Where the key's first text is.
    locator: u64,
}

/// Marks [`Bucket::items`] as an index into [`KeyIndex::many`].
const MANY: u32 = 1 << 31;

/// The hash a [`KeyIndex`] probes with, from the half of a key's hash it keeps, with
/// the bits spread again (the table probes with the low bits and tags with the high).
fn spread(hash: u32) -> u64 {
    let x = u64::from(hash).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^ (x >> 32)
}

impl KeyIndex {
    /// An index with room for `n` keys.
    pub fn with_capacity(n: usize) -> KeyIndex {
        KeyIndex { table: hashbrown::HashTable::with_capacity(n), many: Vec::new() }
    }

    fn find<'t>(&self, key: &Key<'_>, text_at: impl Fn(u64) -> &'t str) -> Option<&Bucket> {
        let hash = (key.hash >> 32) as u32;
        self.table.find(spread(hash), |b| b.hash == hash && key.matches(text_at(b.locator)))
    }

    /// The items of `key`, in the order they were added (empty when there are none).
    /// `text_at` gives the text at a locator the index was given.
    pub fn get<'t>(&self, key: &Key<'_>, text_at: impl Fn(u64) -> &'t str) -> &[u32] {
        match self.find(key, text_at) {
            None => &[],
            Some(b) if b.items & MANY != 0 => &self.many[(b.items & !MANY) as usize].1,
            Some(b) => std::slice::from_ref(&b.items),
        }
    }

    /// Adds `item` under `key` unless it is there already; `locator` says where the
    /// key's text is, `text_at` gives the text at a locator the index was given. Items
    /// are below 2³¹.
    pub fn add<'t>(&mut self, key: &Key<'_>, locator: u64, item: u32, text_at: impl Fn(u64) -> &'t str) {
        debug_assert!(item & MANY == 0, "item {item} out of range");
        let hash = (key.hash >> 32) as u32;
        let found = self.table.find_mut(spread(hash), |b| b.hash == hash && key.matches(text_at(b.locator)));
        match found {
            None => {
                self.table
                    .insert_unique(spread(hash), Bucket { hash, items: item, locator }, |b| spread(b.hash));
            }
            Some(b) if b.items & MANY != 0 => {
                let (max, items) = &mut self.many[(b.items & !MANY) as usize];
                if item > *max || !items.contains(&item) {
                    items.push(item);
                    *max = item.max(*max);
                }
            }
            Some(b) if b.items != item => {
                let first = b.items;
                b.items = MANY | self.many.len() as u32;
                self.many.push((first.max(item), vec![first, item]));
            }
            Some(_) => {}
        }
    }
}

/// What an index key points at: almost always one item, kept inline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    /// One item.
    One(u32),
    /// Several items, in the order they were added, without repeats.
    Many(Vec<u32>),
}

impl Slot {
    /// The items.
    pub fn items(&self) -> &[u32] {
        match self {
            Slot::One(i) => std::slice::from_ref(i),
            Slot::Many(is) => is,
        }
    }

    /// Adds an item, unless it is there already.
    pub fn add(&mut self, i: u32) {
        match self {
            Slot::One(first) if *first != i => *self = Slot::Many(vec![*first, i]),
            Slot::Many(is) if !is.contains(&i) => is.push(i),
            _ => {}
        }
    }
}

/// Whether a desired value equals what the directory holds, without allocating in
/// the common cases. Several live values equal one desired value only when each of
/// them does; an absent value equals only an absent one.
pub fn same_text(compare: Compare, desired: Option<&str>, live: Option<&Value>) -> bool {
    match (desired, live) {
        (None, None) => true,
        (Some(d), Some(l)) => {
            let values = l.values();
            !values.is_empty() && values.iter().all(|v| v == d || equal(compare, v, d))
        }
        _ => false,
    }
}

/// The first RDN of a DN (up to the first unescaped comma).
pub fn first_rdn(dn: &str) -> &str {
    let mut escaped = false;
    for (i, c) in dn.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            ',' if !escaped => return &dn[..i],
            _ => escaped = false,
        }
    }
    dn
}

/// The attribute and the value of a DN's first RDN, the value unescaped (`\,` and
/// `\2c` alike); `None` when the RDN has no `=` or is multi-valued (`a=1+b=2`).
pub fn rdn_value(dn: &str) -> Option<(&str, String)> {
    let (attribute, raw) = first_rdn(dn).split_once('=')?;
    let mut value = Vec::with_capacity(raw.len());
    let mut bytes = raw.trim().bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => {
                let first = bytes.next()?;
                let hex = |c: u8| (c as char).to_digit(16);
                match hex(first) {
                    Some(high) => {
                        let low = bytes.next().and_then(hex)?;
                        value.push((high * 16 + low) as u8);
                    }
                    None => value.push(first),
                }
            }
            b'+' => return None,
            b => value.push(b),
        }
    }
    Some((attribute.trim(), String::from_utf8(value).ok()?))
}

/// An RDN value as the server compares it under its usual matching rules
/// (`caseIgnoreMatch`): case aside, leading and trailing spaces dropped, and runs of
/// spaces inside as one.
pub fn rdn_key(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The parent of a DN.
pub fn parent_of(dn: &str) -> &str {
    let rdn = first_rdn(dn);
    dn[rdn.len()..].trim_start_matches(',').trim_start()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Value {
        Value::One(s.into())
    }

    #[test]
    fn rdn_values_are_unescaped_and_compared_as_the_server_does() {
        assert_eq!(rdn_value("cn=O\\2cBrien\\, Jo,ou=p"), Some(("cn", "O,Brien, Jo".to_owned())));
        assert_eq!(rdn_value("uid = ada ,ou=p"), Some(("uid", "ada".to_owned())));
        assert_eq!(rdn_value("cn=a+sn=b,ou=p"), None);
        assert_eq!(rdn_value("cn=bad\\2"), None);
        assert_eq!(rdn_value("cn=J\\c3\\bcrgen"), Some(("cn", "Jürgen".to_owned())));
        assert_eq!(rdn_key("  Jane   DOE "), "jane doe");
    }

    #[test]
    fn active_directorys_two_spellings_of_never_compare_equal() {
        let never = one("9223372036854775807");
        assert!(same_text(Compare::AccountExpires, Some("0"), Some(&never)));
        assert!(!same_text(Compare::AccountExpires, Some("134432352000000000"), Some(&never)));
        assert!(!same_text(Compare::Exact, Some("0"), Some(&never)));
    }

    #[test]
    fn comparison_is_target_aware() {
        assert!(same_text(Compare::IgnoreCase, Some("Ada@Acme.test"), Some(&one("ada@acme.test"))));
        assert!(!same_text(Compare::Exact, Some("Ada"), Some(&one("ada"))));
        assert!(same_text(Compare::Phone, Some("+49 30 1234-56"), Some(&one("+4930123456"))));
        assert!(same_text(
            Compare::Dn,
            Some("CN=Ada Lovelace, OU=People,dc=acme"),
            Some(&one("cn=ada lovelace,ou=people, DC=ACME"))
        ));
        assert!(!same_text(Compare::Dn, Some("cn=a\\,b,dc=x"), Some(&one("cn=a,b,dc=x"))));
        let many = Value::Many(vec!["b".into(), "A".into()]);
        assert!(!same_text(Compare::Exact, Some("a"), Some(&many)));
        assert!(same_text(Compare::IgnoreCase, Some("a"), Some(&Value::Many(vec!["A".into(), "a".into()]))));
        assert!(same_text(Compare::Exact, Some("a"), Some(&Value::Many(vec!["a".into()]))));
        assert!(!same_text(Compare::Exact, None, Some(&one("a"))));
        assert!(!same_text(Compare::Exact, Some("a"), None));
        assert!(same_text(Compare::Exact, None, None));
        let attrs: Attributes = [("a", one("1")), ("b", one("2")), ("c", one("3"))].into_iter().collect();
        let mut hint = 0;
        assert_eq!(attrs.get_hinted("c", &mut hint), Some(&one("3")));
        assert_eq!(hint, 2);
        assert_eq!(attrs.get_hinted("c", &mut hint), Some(&one("3")));
        assert_eq!(attrs.get_hinted("zz", &mut hint), None);
        assert_eq!(attrs.get_hinted("a", &mut hint), Some(&one("1")));
        assert!(same_text(Compare::IgnoreCase, Some("Zoë@X"), Some(&one("zoë@x"))));
        assert!(!same_text(Compare::Exact, Some("a"), Some(&Value::Many(vec![]))));
    }

    #[test]
    fn keys_hash_and_compare_like_their_comparison() {
        use std::collections::HashSet;
        let set: HashSet<Key<'_>> =
            ["Ada@Acme", "ZOË"].iter().map(|s| Key::new(Compare::IgnoreCase, s)).collect();
        assert!(set.contains(&Key::new(Compare::IgnoreCase, "ada@acme")));
        assert!(set.contains(&Key::new(Compare::IgnoreCase, "zoë")));
        assert!(!set.contains(&Key::new(Compare::IgnoreCase, "zoe")));
        let exact: HashSet<Key<'_>> = ["Ada"].iter().map(|s| Key::new(Compare::Exact, s)).collect();
        assert!(!exact.contains(&Key::new(Compare::Exact, "ada")));
        // Long keys cross the hashing chunk boundary the same way in both paths.
        let long = "X".repeat(70) + "Ä";
        let set: HashSet<Key<'_>> =
            [long.as_str()].iter().map(|s| Key::new(Compare::IgnoreCase, s)).collect();
        assert!(set.contains(&Key::new(Compare::IgnoreCase, &("x".repeat(70) + "ä"))));
        let kelvin: HashSet<Key<'_>> =
            ["\u{212A}"].iter().map(|s| Key::new(Compare::IgnoreCase, s)).collect();
        assert!(kelvin.contains(&Key::new(Compare::IgnoreCase, "k")), "the Kelvin sign lowercases to k");
        let phones: HashSet<Key<'_>> = ["+49 30 1"].iter().map(|s| Key::new(Compare::Phone, s)).collect();
        assert!(phones.contains(&Key::new(Compare::Phone, "+49301")));
    }
}
