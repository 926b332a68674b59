//! JSON Schemas of the document kinds, generated from the spec types, and validation of
//! a parsed document against them.
//!
//! The same schemas are written to `schema/` (editors validate while people type; a
//! test fails when the checked-in copy is stale) and used by `load` to find every
//! structural problem of a document at once: unknown keys, wrong types, missing keys,
//! values out of range. Sources and directories are validated against the schema of
//! their `type` only, so errors talk about that kind and not about a `oneOf`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use schemars::{JsonSchema, Schema, schema_for};
use serde_json::{Value, json};

use super::diagnostic::{Diagnostic, article, did_you_mean, one_of};
use super::secret::{SecretError, SecretRef, reference_in};
use super::spec::{
    CsvSourceSpec, DirectorySpec, EntraDirectorySpec, FileDirectorySpec, FilterSpec, GroupSpec, HrSourceSpec,
    JsonSourceSpec, LdapDirectorySpec, OverridesSpec, RestSourceSpec, ScimDirectorySpec, SourceSpec,
    WorkspaceSpec,
};
use super::yaml::{Document, child};

/// The kinds of document in a sync repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// `hrsync.yaml`.
    Workspace,
    /// `sources/*.yaml`.
    Source,
    /// `directories/*.yaml`.
    Directory,
    /// `filters/*.yaml`.
    Filter,
    /// `overrides.yaml`.
    Overrides,
    /// `groups/*.yaml`.
    Group,
}

impl DocumentKind {
    /// Every kind.
    pub const ALL: [DocumentKind; 6] =
        [Self::Workspace, Self::Source, Self::Directory, Self::Filter, Self::Overrides, Self::Group];

    /// The schema's file name in `schema/`.
    pub fn schema_file(self) -> &'static str {
        match self {
            Self::Workspace => "hrsync.schema.json",
            Self::Source => "source.schema.json",
            Self::Directory => "directory.schema.json",
            Self::Filter => "filter.schema.json",
            Self::Overrides => "overrides.schema.json",
            Self::Group => "group.schema.json",
        }
    }

    /// The published schema of this kind.
    pub fn schema(self) -> Schema {
        let mut schema = match self {
            Self::Workspace => schema_for!(WorkspaceSpec),
            Self::Source => schema_for!(SourceSpec),
            Self::Directory => schema_for!(DirectorySpec),
            Self::Filter => schema_for!(FilterSpec),
            Self::Overrides => schema_for!(OverridesSpec),
            Self::Group => schema_for!(GroupSpec),
        };
        schema.insert("$id".into(), json!(format!("https://hrsync.dev/schema/{}", self.schema_file())));
        schema
    }

    /// The schema's text as written to `schema/`: pretty JSON with a final newline.
    ///
    /// An error, not an empty text: `hrsync schema` would write empty files, and
    /// `--check` would call a correct folder stale.
    pub fn schema_text(self) -> Result<String, serde_json::Error> {
        let mut text = serde_json::to_string_pretty(&self.schema())?;
        text.push('\n');
        Ok(text)
    }

    /// The `type` values of a tagged kind, with the schema of each.
    fn variants(self) -> Option<Vec<(&'static str, Schema)>> {
        match self {
            Self::Source => Some(vec![
                variant::<CsvSourceSpec>("csv"),
                variant::<JsonSourceSpec>("json"),
                variant::<RestSourceSpec>("rest"),
                variant::<HrSourceSpec>("bamboohr"),
                variant::<HrSourceSpec>("personio"),
                variant::<HrSourceSpec>("hibob"),
                variant::<HrSourceSpec>("afas"),
                variant::<HrSourceSpec>("kombo"),
                variant::<HrSourceSpec>("merge"),
                variant::<HrSourceSpec>("entraid"),
                variant::<HrSourceSpec>("workday"),
            ]),
            Self::Directory => Some(vec![
                variant::<FileDirectorySpec>("file"),
                variant::<LdapDirectorySpec>("ldap"),
                variant::<ScimDirectorySpec>("scim"),
                variant::<EntraDirectorySpec>("entraid"),
            ]),
            Self::Workspace | Self::Filter | Self::Overrides | Self::Group => None,
        }
    }
}

/// The schema of one tagged variant, with its `type` as a known, required key.
fn variant<T: JsonSchema>(tag: &'static str) -> (&'static str, Schema) {
    let mut schema = schema_for!(T);
    if let Some(obj) = schema.as_object_mut() {
        if let Some(Value::Object(props)) = obj.get_mut("properties") {
            props.insert("type".into(), json!({ "const": tag }));
        }
        if let Some(Value::Array(required)) = obj.get_mut("required") {
            required.push(json!("type"));
        }
    }
    (tag, schema)
}

struct Compiled {
    schema: Value,
    validator: jsonschema::Validator,
}

fn compile(schema: Schema) -> Option<Compiled> {
    let schema = schema.to_value();
    // The schemas are generated from our own types; failing to compile one is a bug
    // that the schema tests catch. Here it only disables structural validation.
    let validator = jsonschema::validator_for(&schema).ok()?;
    Some(Compiled { schema, validator })
}

struct Validators {
    plain: Vec<(DocumentKind, Compiled)>,
    tagged: Vec<(DocumentKind, Vec<(&'static str, Compiled)>)>,
}

fn validators() -> &'static Validators {
    static CELL: OnceLock<Validators> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut plain = Vec::new();
        let mut tagged = Vec::new();
        for kind in DocumentKind::ALL {
            match kind.variants() {
                Some(variants) => tagged.push((
                    kind,
                    variants.into_iter().filter_map(|(tag, s)| Some((tag, compile(s)?))).collect(),
                )),
                None => plain.extend(compile(kind.schema()).map(|c| (kind, c))),
            }
        }
        Validators { plain, tagged }
    })
}

/// A structural problem, and the node that causes it: without that node the rest of
/// the document can still be cross-checked.
#[derive(Debug)]
pub struct Problem {
    /// The problem.
    pub diagnostic: Diagnostic,
    /// The nodes to leave out so the rest can be checked; empty when the document
    /// cannot be checked further.
    pub culprits: Vec<String>,
}

/// Every structural problem of `doc` as a document of `kind`.
pub fn validate(kind: DocumentKind, doc: &Document) -> Vec<Problem> {
    let v = validators();
    if let Some((_, compiled)) = v.plain.iter().find(|(k, _)| *k == kind) {
        return check(compiled, doc);
    }
    let Some((_, variants)) = v.tagged.iter().find(|(k, _)| *k == kind) else {
        return Vec::new();
    };
    let tags: Vec<&str> = variants.iter().map(|(tag, _)| *tag).collect();
    let noun = if kind == DocumentKind::Source { "source" } else { "directory" };
    let fatal = |d: Diagnostic| vec![Problem { diagnostic: d, culprits: Vec::new() }];
    let Some(obj) = doc.value.as_object() else {
        return fatal(doc.error_at("", format!("a {noun} file must be a mapping of keys to values"), None));
    };
    match obj.get("type") {
        None => fatal(doc.error_at(
            "",
            "missing key `type`",
            Some(format!("add `type:` with one of: {}", tags.join(", "))),
        )),
        Some(Value::String(tag)) => match variants.iter().find(|(t, _)| t == tag) {
            Some((_, compiled)) => check(compiled, doc),
            None => fatal(doc.error_at(
                "/type",
                format!("unknown {noun} type `{tag}`"),
                Some(match did_you_mean(tag, tags.iter().copied()) {
                    Some(h) => h,
                    None => format!("this version of hrsync knows: {}", tags.join(", ")),
                }),
            )),
        },
        Some(_) => fatal(doc.error_at(
            "/type",
            "`type` must be a string",
            Some(format!("one of: {}", tags.join(", "))),
        )),
    }
}

/// The problems of `doc` against `compiled`: the schema's, and references where no
/// secret goes.
fn check(compiled: &Compiled, doc: &Document) -> Vec<Problem> {
    let mut problems = structure(compiled, doc);
    let reported: BTreeSet<String> = problems.iter().filter_map(|p| p.diagnostic.pointer.clone()).collect();
    problems.extend(
        misplaced_references(compiled, doc)
            .into_iter()
            .filter(|p| p.diagnostic.pointer.as_ref().is_none_or(|ptr| !reported.contains(ptr))),
    );
    problems
}

/// The schema's problems with `doc`.
fn structure(compiled: &Compiled, doc: &Document) -> Vec<Problem> {
    let mut problems = Vec::new();
    for e in compiled.validator.iter_errors(&doc.value) {
        let pointer = e.instance_path().as_str();
        let culprits = match e.kind() {
            ValidationErrorKind::Required { .. } => Vec::new(),
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                unexpected.iter().map(|k| child(pointer, k)).collect()
            }
            _ if pointer.is_empty() => Vec::new(),
            _ => vec![pointer.to_owned()],
        };
        let diagnostics =
            describe(&compiled.schema, doc, pointer, e.schema_path().as_str(), e.kind(), e.instance());
        problems.extend(
            diagnostics.into_iter().map(|diagnostic| Problem { diagnostic, culprits: culprits.clone() }),
        );
    }
    problems
}

/// The diagnostics of one schema error: one, except for unknown keys, which get one
/// each, at each key.
fn describe(
    schema: &Value,
    doc: &Document,
    pointer: &str,
    schema_path: &str,
    kind: &ValidationErrorKind,
    instance: &Value,
) -> Vec<Diagnostic> {
    use ValidationErrorKind as K;
    // The schema node the failing keyword belongs to.
    let node = || schema.pointer(schema_path.rsplit_once('/').map(|(p, _)| p).unwrap_or(""));
    let one = |d: Diagnostic| vec![d];
    match kind {
        K::AdditionalProperties { unexpected } | K::UnevaluatedProperties { unexpected } => {
            let allowed: Vec<&str> = node()
                .and_then(|node| node.get("properties"))
                .and_then(Value::as_object)
                .map(|props| props.keys().map(String::as_str).collect())
                .unwrap_or_default();
            // Every unknown key at its own line: a typo in one and a key misplaced from
            // another mapping are two mistakes.
            unexpected
                .iter()
                .map(|key| {
                    let hint = did_you_mean(key, allowed.iter().copied()).or_else(|| {
                        (!allowed.is_empty()).then(|| format!("known keys here: {}", allowed.join(", ")))
                    });
                    doc.error_at_key(&child(pointer, key), format!("unknown key `{key}`"), hint)
                })
                .collect()
        }
        K::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            one(doc.error_at(pointer, format!("missing key `{name}`"), None))
        }
        K::Type { kind } => {
            let want = match kind {
                jsonschema::error::TypeKind::Single(t) => article(&t.to_string()),
                jsonschema::error::TypeKind::Multiple(set) => {
                    set.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" or ")
                }
            };
            one(doc.error_at(pointer, format!("expected {want}, found {}", describe_value(instance)), None))
        }
        K::Enum { options } => {
            let allowed: Vec<&str> =
                options.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            one(not_one_of(doc, pointer, node(), &allowed, instance))
        }
        K::Constant { expected_value } => one(doc.error_at(
            pointer,
            format!("expected {expected_value}, found {}", describe_value(instance)),
            None,
        )),
        K::Minimum { limit } => one(doc.error_at(pointer, format!("must be at least {limit}"), None)),
        K::Maximum { limit } => one(doc.error_at(pointer, format!("must be at most {limit}"), None)),
        K::Pattern { .. } if schema_path.contains("SecretRef") => one(secret_problem(doc, pointer, instance)),
        K::AnyOf { context } | K::OneOfNotValid { context } => {
            // An enum with documented values is a `oneOf` of constants: say which values
            // are allowed, not what the first of them is.
            let keyword = schema_path.rsplit('/').next().unwrap_or_default();
            if let Some(allowed) = constants(node().and_then(|n| n.get(keyword))) {
                return one(not_one_of(doc, pointer, node(), &allowed, instance));
            }
            // `Option<T>` is `anyOf [T, null]`: report what is wrong with the non-null
            // branch rather than the combination; of several branches, the one that got
            // furthest into the value (a literal password in `{ basic: … }`, not "expected
            // `bearer`").
            let mut inner: Option<&jsonschema::ValidationError<'_>> = None;
            for e in context.iter().flatten() {
                let null = matches!(e.kind(), K::Type { kind: jsonschema::error::TypeKind::Single(t) } if t.to_string() == "null");
                let deeper = inner.is_none_or(|i| depth(e) > depth(i));
                if !null && deeper {
                    inner = Some(e);
                }
            }
            match inner {
                Some(e) => {
                    let mut found = describe(
                        schema,
                        doc,
                        e.instance_path().as_str(),
                        e.schema_path().as_str(),
                        e.kind(),
                        e.instance(),
                    );
                    // Wrong at this very value: say what the branches take.
                    if let Some(hint) = alternatives(node().and_then(|n| n.get(keyword))) {
                        for d in &mut found {
                            d.hint.get_or_insert_with(|| hint.clone());
                        }
                    }
                    found
                }
                None => one(doc.error_at(pointer, "this value is not allowed here", None)),
            }
        }
        // Never format the instance: it may be a literal secret someone pasted.
        _ => one(doc.error_at(
            pointer,
            "this value is not allowed here",
            Some("see the schema in schema/ for what this key takes".into()),
        )),
    }
}

/// How deep into the document a schema error is.
fn depth(e: &jsonschema::ValidationError<'_>) -> usize {
    e.instance_path().as_str().matches('/').count()
}

/// What the `branches` of a `oneOf` of constants and mappings take, as a hint: "write
/// `bearer` or `{ basic: … }`"; `None` unless every branch is one of those.
fn alternatives(branches: Option<&Value>) -> Option<String> {
    let branches = branches?.as_array()?;
    let shown: Option<Vec<String>> = branches
        .iter()
        .map(|b| {
            match (b.get("const").and_then(Value::as_str), b.get("required").and_then(Value::as_array)) {
                (Some(c), _) => Some(format!("`{c}`")),
                (None, Some(keys)) => match keys.as_slice() {
                    [key] => key.as_str().map(|k| format!("`{{ {k}: … }}`")),
                    _ => None,
                },
                (None, None) => None,
            }
        })
        .collect();
    let shown = shown.filter(|s| s.len() > 1)?;
    Some(format!("write {}", shown.join(" or ")))
}

/// The values of `branches` when every one of them is a string constant (how an enum
/// with documented values is written), else `None`.
fn constants(branches: Option<&Value>) -> Option<Vec<&str>> {
    let branches = branches?.as_array()?;
    let values: Option<Vec<&str>> = branches.iter().map(|b| b.get("const")?.as_str()).collect();
    values.filter(|v| !v.is_empty())
}

/// A value where a secret reference belongs that is not one: an unknown scheme (with the
/// closest known one), a reference that names nothing, or literal text. Only the scheme
/// of the text is ever shown: the rest may be a secret someone pasted.
fn secret_problem(doc: &Document, pointer: &str, instance: &Value) -> Diagnostic {
    let literal = || {
        doc.error_at(
            pointer,
            "a secret must be a reference, not a literal value",
            Some(
                "write `${env:NAME}` or `${file:/run/secrets/name}` and provide the value at run time".into(),
            ),
        )
    };
    let Some(text) = instance.as_str() else { return literal() };
    match SecretRef::parse(text) {
        Err(e @ SecretError::UnknownScheme(_)) => {
            let scheme = reference_in(text).map(|r| r.scheme).unwrap_or_default();
            doc.error_at(pointer, e.to_string(), Some(scheme_hint(scheme)))
        }
        Err(e @ SecretError::Empty(_)) => doc.error_at(
            pointer,
            e.to_string(),
            Some("write `${env:NAME}` or `${file:/run/secrets/name}`".into()),
        ),
        _ => literal(),
    }
}

/// What to write instead of the unknown scheme `scheme`.
fn scheme_hint(scheme: &str) -> String {
    let lower = scheme.to_ascii_lowercase();
    if SecretRef::SCHEMES.contains(&lower.as_str()) {
        return format!("did you mean `{lower}`? schemes are lowercase");
    }
    did_you_mean(scheme, SecretRef::SCHEMES)
        .unwrap_or_else(|| "write `${env:NAME}` or `${file:/run/secrets/name}`".into())
}

/// References outside the places secrets go: hrsync resolves `${scheme:…}` only where a
/// secret belongs, so anywhere else it would be used as written (a URL of
/// `https://${env:HOST}/`). Found by walking the document along its schema, so the
/// places secrets go are the schema's (`$ref` to `SecretRef`), not a list of key names.
fn misplaced_references(compiled: &Compiled, doc: &Document) -> Vec<Problem> {
    let mut walk = Walk { root: &compiled.schema, path: Vec::new(), found: BTreeMap::new() };
    walk.visit(&compiled.schema, &doc.value, 0);
    let keys = secret_keys();
    walk.found
        .into_iter()
        .map(|(pointer, (offset, scheme))| {
            let known = SecretRef::SCHEMES.contains(&scheme.as_str());
            let (message, hint) = if known {
                (
                    format!("`${{{scheme}:…}}` is not resolved here: only keys that hold a secret ({keys}) take references"),
                    "write the value itself, or put the secret under one of those keys; hrsync expands references nowhere else".to_owned(),
                )
            } else {
                (
                    format!("unknown secret scheme `{scheme}`: hrsync knows `env` and `file`, and only in keys that hold a secret ({keys})"),
                    match did_you_mean(&scheme, SecretRef::SCHEMES) {
                        Some(h) => h,
                        None => "write the value itself; `$` in other shapes is taken as written".into(),
                    },
                )
            };
            // Positions count characters; the offset is in bytes.
            let column = doc.value.pointer(&pointer).and_then(Value::as_str).map_or(0, |t| t[..offset].chars().count());
            let diagnostic = Diagnostic {
                pointer: Some(pointer.clone()),
                ..doc.diagnostic(doc.position_in(&pointer, column), message, Some(hint))
            };
            Problem { diagnostic, culprits: vec![pointer] }
        })
        .collect()
}

/// The most misplaced references reported for one document: each is an error, and the
/// first ones say what to fix.
const MAX_REFERENCES_REPORTED: usize = 20;

/// A walk of a document along its schema, collecting the strings outside the places
/// secrets go that hold a `${scheme:…}`. It keeps the path as borrowed segments and
/// writes a pointer only for what it reports, so a long key over many items costs its
/// length once, not once per item.
struct Walk<'a> {
    root: &'a Value,
    /// The keys and indices from the root to the value being visited.
    path: Vec<Segment<'a>>,
    /// By pointer: where the reference starts in the text, and its scheme.
    found: BTreeMap<String, (usize, String)>,
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> Walk<'a> {
    /// `schema` with its `$ref` followed; `None` for a place where a secret goes (or a
    /// reference to nothing).
    fn resolve(&self, schema: &'a Value) -> Option<&'a Value> {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) if r.ends_with("/SecretRef") => None,
            Some(r) => r.strip_prefix('#').and_then(|p| self.root.pointer(p)),
            None => Some(schema),
        }
    }

    /// Whether `schema`, or one of its alternatives, is where a secret goes.
    fn takes_a_secret(&self, schema: &'a Value, depth: usize) -> bool {
        if schema.get("$ref").and_then(Value::as_str).is_some_and(|r| r.ends_with("/SecretRef")) {
            return true;
        }
        let Some(schema) = self.resolve(schema).filter(|_| depth < 16) else { return false };
        ["anyOf", "oneOf"].iter().any(|k| {
            let branches = schema.get(k).and_then(Value::as_array);
            branches.is_some_and(|b| b.iter().any(|b| self.takes_a_secret(b, depth + 1)))
        })
    }

    fn visit(&mut self, schema: &'a Value, value: &'a Value, depth: usize) {
        // A document nests 64 levels at most; the bound only guards against a schema
        // whose references would loop without going deeper into the document.
        if depth > 256 || self.found.len() >= MAX_REFERENCES_REPORTED {
            return;
        }
        if value.is_string() && self.takes_a_secret(schema, 0) {
            return;
        }
        let Some(schema) = self.resolve(schema) else { return };
        for keyword in ["anyOf", "oneOf", "allOf"] {
            for branch in schema.get(keyword).and_then(Value::as_array).into_iter().flatten() {
                self.visit(branch, value, depth + 1);
            }
        }
        match value {
            Value::String(text) => {
                if let Some(r) = reference_in(text) {
                    let pointer = self.pointer();
                    self.found.entry(pointer).or_insert_with(|| (r.offset, r.scheme.to_owned()));
                }
            }
            Value::Object(members) => {
                let properties = schema.get("properties").and_then(Value::as_object);
                for (key, member) in members {
                    // A key the schema does not know is reported as unknown already.
                    let sub = properties
                        .and_then(|p| p.get(key))
                        .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
                    if let Some(sub) = sub {
                        self.path.push(Segment::Key(key));
                        self.visit(sub, member, depth + 1);
                        self.path.pop();
                    }
                }
            }
            Value::Array(items) => {
                if let Some(sub) = schema.get("items").filter(|i| i.is_object()) {
                    for (i, item) in items.iter().enumerate() {
                        self.path.push(Segment::Index(i));
                        self.visit(sub, item, depth + 1);
                        self.path.pop();
                    }
                }
            }
            _ => {}
        }
    }

    /// The JSON pointer of the value being visited.
    fn pointer(&self) -> String {
        let mut pointer = String::new();
        for segment in &self.path {
            match segment {
                Segment::Key(k) => pointer = child(&pointer, k),
                Segment::Index(i) => pointer.push_str(&format!("/{i}")),
            }
        }
        pointer
    }
}

/// The keys whose values are secret references in any kind of document, for messages:
/// "`password`, `token`, …", read off the schemas.
fn secret_keys() -> &'static str {
    fn is_secret(v: &Value) -> bool {
        v.get("$ref").and_then(Value::as_str).is_some_and(|r| r.ends_with("/SecretRef"))
            || ["anyOf", "oneOf"]
                .iter()
                .any(|k| v.get(k).and_then(Value::as_array).is_some_and(|b| b.iter().any(is_secret)))
            || v.get("additionalProperties").is_some_and(is_secret)
    }
    static KEYS: OnceLock<String> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = BTreeSet::new();
        let schemas: Vec<Value> = DocumentKind::ALL.iter().map(|k| k.schema().to_value()).collect();
        let mut stack: Vec<&Value> = schemas.iter().collect();
        while let Some(node) = stack.pop() {
            match node {
                Value::Object(map) => {
                    if let Some(Value::Object(props)) = map.get("properties") {
                        keys.extend(props.iter().filter(|(_, v)| is_secret(v)).map(|(k, _)| k.clone()));
                    }
                    stack.extend(map.values());
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
        keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
    })
}

/// `instance` is none of `allowed`: every allowed value, and the closest. `node` is the
/// enum's schema, whose `title` names the kind of value.
fn not_one_of(
    doc: &Document,
    pointer: &str,
    node: Option<&Value>,
    allowed: &[&str],
    instance: &Value,
) -> Diagnostic {
    let what = node.and_then(|n| n.get("title")).and_then(Value::as_str);
    let (message, hint) = one_of(instance.as_str(), what, allowed);
    let message = match instance {
        Value::String(_) => message,
        other => format!("{message}; found {}", describe_value(other)),
    };
    doc.error_at(pointer, message, hint)
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(kind: DocumentKind, text: &str) -> Vec<String> {
        let doc = Document::parse("x.yaml", text).unwrap();
        validate(kind, &doc)
            .into_iter()
            .map(|p| p.diagnostic)
            .map(|d| {
                format!(
                    "{}:{} {}{}",
                    d.line,
                    d.column,
                    d.message,
                    d.hint.map(|h| format!(" ({h})")).unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn every_schema_compiles() {
        for kind in DocumentKind::ALL {
            assert!(compile(kind.schema()).is_some(), "{kind:?}");
            for (tag, s) in kind.variants().unwrap_or_default() {
                assert!(compile(s).is_some(), "{kind:?} {tag}");
            }
        }
    }

    #[test]
    fn reports_all_structural_problems_with_positions() {
        let p = problems(
            DocumentKind::Workspace,
            "version: 1\nworkspace: acme\nsafety:\n  max_disable_percnt: 5\n  max_update_percent: fifty\n",
        );
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p.contains(
                &"4:3 unknown key `max_disable_percnt` (did you mean `max_disable_percent`?)".to_owned()
            ),
            "{p:?}"
        );
        assert!(p.contains(&"5:23 expected a number, found a string".to_owned()), "{p:?}");
    }

    #[test]
    fn validates_tagged_kinds_against_their_variant() {
        let p = problems(DocumentKind::Source, "version: 1\ntype: csv\npath: a.csv\ncolumns: {}\npaht: x\n");
        assert_eq!(p, vec!["5:1 unknown key `paht` (did you mean `path`?)".to_owned()]);
        let p = problems(DocumentKind::Source, "version: 1\ntype: cvs\n");
        assert_eq!(p, vec!["2:7 unknown source type `cvs` (did you mean `csv`?)".to_owned()]);
        let p = problems(DocumentKind::Directory, "version: 1\ntype: okta\n");
        assert_eq!(
            p,
            vec![
                "2:7 unknown directory type `okta` (this version of hrsync knows: file, ldap, scim, entraid)"
                    .to_owned()
            ]
        );
        let p = problems(DocumentKind::Source, "version: 1\ntype: json\n");
        assert_eq!(p, vec!["1:1 missing key `path`".to_owned()]);
    }

    #[test]
    fn every_unknown_key_is_named_at_its_own_position() {
        let p = problems(
            DocumentKind::Workspace,
            "version: 1\nworkspace: acme\nsafety:\n  max_disable_percnt: 5\n  max_update_prcent: 5\n  zzz: 1\n",
        );
        assert_eq!(
            p,
            [
                "4:3 unknown key `max_disable_percnt` (did you mean `max_disable_percent`?)",
                "5:3 unknown key `max_update_prcent` (did you mean `max_update_percent`?)",
                &format!("6:3 unknown key `zzz` (known keys here: {})", safety_keys()),
            ],
        );
    }

    fn safety_keys() -> String {
        let schema = DocumentKind::Workspace.schema().to_value();
        let props = schema.pointer("/$defs/SafetySpec/properties").and_then(Value::as_object).unwrap();
        props.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    #[test]
    fn enum_values_are_listed_with_the_closest_one() {
        let dir = |extra: &str| {
            let fields = if extra.starts_with("fields:") { "" } else { "fields: { n: { value: x } }\n" };
            format!(
                "version: 1\ntype: file\nmatch: [{{ person: employee_number, attribute: n }}]\n{extra}{fields}"
            )
        };
        // A documented enum (a `oneOf` of constants), a plain one, one inside an
        // `Option`, in each kind of document: the same message.
        let cases = [
            (
                DocumentKind::Directory,
                dir("mode: aply\n"),
                "4:7 `aply` is not a directory mode: expected one of `plan`, `apply`, `off` (did you mean `apply`?)",
            ),
            (
                DocumentKind::Directory,
                dir("fields:\n  n: { value: x, mode: importonce }\n"),
                "5:24 `importonce` is not a field mode: expected one of `continuous`, `import_once`, `ignore` (did you mean `import_once`?)",
            ),
            (
                DocumentKind::Directory,
                dir("fields:\n  n: { value: x, compare: ignorecase }\n"),
                "5:27 `ignorecase` is not a comparison: expected one of `exact`, `ignore_case`, `dn`, `phone`, `account_expires` (did you mean `ignore_case`?)",
            ),
            (
                DocumentKind::Directory,
                dir("leavers: { action: disabel }\n"),
                "4:20 `disabel` is not a leaver action: expected one of `disable`, `delete`, `ignore` (did you mean `disable`?)",
            ),
            (
                DocumentKind::Workspace,
                "version: 1\nworkspace: a\nreports: { pii: maskd }\n".into(),
                "3:17 `maskd` is not a personal data policy: expected one of `full`, `masked`, `hashed` (did you mean `masked`?)",
            ),
            (
                DocumentKind::Source,
                "version: 1\ntype: rest\nconnection: { url: \"https://x\" }\npagination: { style: cursr }\n"
                    .into(),
                "4:22 `cursr` is not a paging style: expected one of `none`, `page`, `offset`, `cursor`, `link` (did you mean `cursor`?)",
            ),
            (
                DocumentKind::Directory,
                dir("mode: zzz\n"),
                "4:7 `zzz` is not a directory mode: expected one of `plan`, `apply`, `off`",
            ),
            (
                DocumentKind::Directory,
                dir("mode: 5\n"),
                "4:7 expected a directory mode, one of `plan`, `apply`, `off`; found the number 5",
            ),
        ];
        for (kind, text, expected) in cases {
            assert_eq!(problems(kind, &text), [expected], "{text}");
        }
    }

    #[test]
    fn every_enum_of_the_config_has_a_title_to_name_it_in_errors() {
        for kind in DocumentKind::ALL {
            let schema = kind.schema().to_value();
            for (name, def) in schema.get("$defs").and_then(Value::as_object).into_iter().flatten() {
                let is_enum = constants(def.get("oneOf")).is_some() || def.get("enum").is_some();
                if is_enum {
                    assert!(def.get("title").is_some(), "{kind:?}: give `{name}` a #[schemars(title = …)]");
                }
            }
        }
    }

    #[test]
    fn unknown_secret_schemes_are_named_with_the_known_ones() {
        let ws =
            |key: &str| format!("version: 1\nworkspace: a\nreports: {{ pii: hashed, pii_key: \"{key}\" }}\n");
        let one = |key: &str| {
            let p = problems(DocumentKind::Workspace, &ws(key));
            assert_eq!(p.len(), 1, "{p:?}");
            p.into_iter().next().unwrap()
        };
        assert_eq!(
            one("${envv:SECRET_NAME}"),
            "3:34 unknown secret scheme `envv`: hrsync knows `env` and `file` (did you mean `env`?)"
        );
        assert!(one("${ENV:X}").ends_with("(did you mean `env`? schemes are lowercase)"));
        assert!(one("${vault:kv/x}").contains("unknown secret scheme `vault`"));
        assert!(one("${env:}").contains("`${env:}` names no environment variable"));
        let literal = one("hunter2 ${HOME} $5");
        assert!(literal.contains("a secret must be a reference, not a literal value"), "{literal}");
        for p in [one("${envv:SECRET_NAME}"), literal] {
            assert!(!p.contains("SECRET_NAME") && !p.contains("hunter2"), "only the scheme is shown: {p}");
        }
        assert!(problems(DocumentKind::Workspace, &ws("${file:/run/secrets/k}")).is_empty());
    }

    #[test]
    fn references_where_no_secret_goes_are_refused_and_other_dollars_are_text() {
        let scim = |url: &str, title: &str| {
            format!(
                "version: 1\ntype: scim\nconnection: {{ url: \"{url}\", token: \"${{env:T}}\" }}\nmatch: [{{ person: employee_number, attribute: externalId }}]\nfields:\n  title: {{ value: \"{title}\" }}\n"
            )
        };
        let p = problems(DocumentKind::Directory, &scim("https://${env:HOST}/scim", "x"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("3:29 `${env:…}` is not resolved here: only keys that hold a secret ("),
            "{p:?}"
        );
        assert!(p[0].contains("`password`") && p[0].contains("`token`"), "{p:?}");
        let p = problems(DocumentKind::Directory, &scim("https://x/scim", "Kosten ${envv:X}"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("6:27 unknown secret scheme `envv`"), "{p:?}");
        assert!(p[0].ends_with("(did you mean `env`?)"), "{p:?}");
        // `$` in any other shape is text, taken as written.
        let p = problems(DocumentKind::Directory, &scim("https://x/$5/${HOME}", "$5 ${ a:b } ${1:2} a$b:c}"));
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn the_walk_for_references_stays_linear_in_a_long_key_over_many_items() {
        // A pointer per visited string would be 50 KB × 50,000 = 2.5 GB here.
        let key = "k".repeat(50_000);
        let items: String = (0..50_000).map(|i| format!("    v{i}: active\n")).collect();
        let text = format!("version: 1\ntype: csv\npath: a.csv\nvalues:\n  ? {key}\n  :\n{items}");
        let doc = Document::parse("s.yaml", &text).unwrap();
        let v = validators();
        let (_, variants) = v.tagged.iter().find(|(k, _)| *k == DocumentKind::Source).unwrap();
        let (_, csv) = variants.iter().find(|(t, _)| *t == "csv").unwrap();
        assert!(misplaced_references(csv, &doc).is_empty());
        let text = text.replace("v49999: active", "v49999: \"${env:X}\"");
        let doc = Document::parse("s.yaml", &text).unwrap();
        let found = misplaced_references(csv, &doc);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].diagnostic.line, 50_006);
    }

    #[test]
    fn refuses_literal_secrets() {
        let p = problems(
            DocumentKind::Workspace,
            "version: 1\nworkspace: a\nreports: { pii: hashed, pii_key: hunter2 }\n",
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("a secret must be a reference"), "{p:?}");
        assert!(!p[0].contains("hunter2"), "{p:?}");
    }
}
