//! JSON Schemas of the document kinds, generated from the spec types, and validation of
//! a parsed document against them.
//!
//! The same schemas are written to `schema/` (editors validate while people type; a
//! test fails when the checked-in copy is stale) and used by `load` to find every
//! structural problem of a document at once: unknown keys, wrong types, missing keys,
//! values out of range. Sources and directories are validated against the schema of
//! their `type` only, so errors talk about that kind and not about a `oneOf`.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use schemars::{JsonSchema, Schema, schema_for};
use serde_json::{Value, json};

use super::diagnostic::{Diagnostic, did_you_mean};
use super::spec::{
    CsvSourceSpec, DirectorySpec, EntraDirectorySpec, FileDirectorySpec, FilterSpec, JsonSourceSpec,
    LdapDirectorySpec, RestSourceSpec, ScimDirectorySpec, SourceSpec, WorkspaceSpec,
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
}

impl DocumentKind {
    /// Every kind.
    pub const ALL: [DocumentKind; 4] = [Self::Workspace, Self::Source, Self::Directory, Self::Filter];

    /// The schema's file name in `schema/`.
    pub fn schema_file(self) -> &'static str {
        match self {
            Self::Workspace => "hrsync.schema.json",
            Self::Source => "source.schema.json",
            Self::Directory => "directory.schema.json",
            Self::Filter => "filter.schema.json",
        }
    }

    /// The published schema of this kind.
    pub fn schema(self) -> Schema {
        let mut schema = match self {
            Self::Workspace => schema_for!(WorkspaceSpec),
            Self::Source => schema_for!(SourceSpec),
            Self::Directory => schema_for!(DirectorySpec),
            Self::Filter => schema_for!(FilterSpec),
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
            ]),
            Self::Directory => Some(vec![
                variant::<FileDirectorySpec>("file"),
                variant::<LdapDirectorySpec>("ldap"),
                variant::<ScimDirectorySpec>("scim"),
                variant::<EntraDirectorySpec>("entraid"),
            ]),
            Self::Workspace | Self::Filter => None,
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
            None if kind == DocumentKind::Source && PLANNED_SOURCES.contains(&tag.as_str()) => {
                fatal(doc.error_at(
                    "/type",
                    format!("the `{tag}` source is not built yet"),
                    Some(format!(
                        "this version of hrsync reads {}; export the HR data to one of those meanwhile",
                        tags.join(", ")
                    )),
                ))
            }
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

/// Source types of DESIGN §9 that this version does not have yet: they get "not built
/// yet", not "unknown".
const PLANNED_SOURCES: &[&str] = &["kombo", "merge", "personio", "bamboohr", "afas", "entraid"];

fn check(compiled: &Compiled, doc: &Document) -> Vec<Problem> {
    compiled
        .validator
        .iter_errors(&doc.value)
        .map(|e| {
            let pointer = e.instance_path().as_str();
            let diagnostic =
                describe(&compiled.schema, doc, pointer, e.schema_path().as_str(), e.kind(), e.instance());
            let culprits = match e.kind() {
                ValidationErrorKind::Required { .. } => Vec::new(),
                ValidationErrorKind::AdditionalProperties { unexpected }
                | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                    unexpected.iter().map(|k| child(pointer, k)).collect()
                }
                _ if pointer.is_empty() => Vec::new(),
                _ => vec![pointer.to_owned()],
            };
            Problem { diagnostic, culprits }
        })
        .collect()
}

fn describe(
    schema: &Value,
    doc: &Document,
    pointer: &str,
    schema_path: &str,
    kind: &ValidationErrorKind,
    instance: &Value,
) -> Diagnostic {
    use ValidationErrorKind as K;
    let allowed = || -> Vec<String> {
        let parent = schema_path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
        schema
            .pointer(parent)
            .and_then(|node| node.get("properties"))
            .and_then(Value::as_object)
            .map(|props| props.keys().cloned().collect())
            .unwrap_or_default()
    };
    match kind {
        K::AdditionalProperties { unexpected } | K::UnevaluatedProperties { unexpected } => {
            let key = unexpected.first().map(String::as_str).unwrap_or_default();
            let allowed = allowed();
            let hint = did_you_mean(key, allowed.iter().map(String::as_str)).or_else(|| {
                (!allowed.is_empty()).then(|| format!("known keys here: {}", allowed.join(", ")))
            });
            let more = if unexpected.len() > 1 {
                format!(" (and {} more)", unexpected.len() - 1)
            } else {
                String::new()
            };
            doc.error_at_key(&child(pointer, key), format!("unknown key `{key}`{more}"), hint)
        }
        K::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            doc.error_at(pointer, format!("missing key `{name}`"), None)
        }
        K::Type { kind } => {
            let want = match kind {
                jsonschema::error::TypeKind::Single(t) => article(&t.to_string()),
                jsonschema::error::TypeKind::Multiple(set) => {
                    set.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" or ")
                }
            };
            doc.error_at(pointer, format!("expected {want}, found {}", describe_value(instance)), None)
        }
        K::Enum { options } => {
            let options: Vec<String> = options
                .as_array()
                .map(|a| {
                    a.iter().map(|o| o.as_str().map(str::to_owned).unwrap_or_else(|| o.to_string())).collect()
                })
                .unwrap_or_default();
            let found = instance.as_str().map(str::to_owned).unwrap_or_else(|| instance.to_string());
            doc.error_at(
                pointer,
                format!("`{found}` is not allowed here"),
                did_you_mean(&found, options.iter().map(String::as_str))
                    .or_else(|| Some(format!("use one of: {}", options.join(", ")))),
            )
        }
        K::Constant { expected_value } => doc.error_at(
            pointer,
            format!("expected {expected_value}, found {}", describe_value(instance)),
            None,
        ),
        K::Minimum { limit } => doc.error_at(pointer, format!("must be at least {limit}"), None),
        K::Maximum { limit } => doc.error_at(pointer, format!("must be at most {limit}"), None),
        K::Pattern { .. } if schema_path.contains("SecretRef") => doc.error_at(
            pointer,
            "a secret must be a reference, not a literal value",
            Some(
                "write `${env:NAME}` or `${file:/run/secrets/name}` and provide the value at run time".into(),
            ),
        ),
        K::AnyOf { context } | K::OneOfNotValid { context } => {
            // `Option<T>` is `anyOf [T, null]`: report what is wrong with the non-null
            // branch rather than the combination.
            let inner = context
                .iter()
                .flatten()
                .find(|e| !matches!(e.kind(), K::Type { kind: jsonschema::error::TypeKind::Single(t) } if t.to_string() == "null"));
            match inner {
                Some(e) => describe(
                    schema,
                    doc,
                    e.instance_path().as_str(),
                    e.schema_path().as_str(),
                    e.kind(),
                    e.instance(),
                ),
                None => doc.error_at(pointer, "this value is not allowed here", None),
            }
        }
        // Never format the instance: it may be a literal secret someone pasted.
        _ => doc.error_at(
            pointer,
            "this value is not allowed here",
            Some("see the schema in schema/ for what this key takes".into()),
        ),
    }
}

fn article(word: &str) -> String {
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {word}"),
        _ => format!("a {word}"),
    }
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
