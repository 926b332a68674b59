//! Reading the sync repository: its files through [`RepoFiles`], each YAML document
//! with the positions of its nodes, checked against its JSON Schema and deserialized
//! into its spec type.
//!
//! This module owns everything that looks at one document on its own. It must not
//! look across documents (ids, references between them) nor build runtime types: that
//! is `compile`'s, which gets what is read here as a [`Loaded`]. The only hard failure
//! is a file that cannot be read; every problem with a document's content is a
//! diagnostic, so one pass reports them all.

use std::collections::BTreeMap;
use std::io;

use serde::de::DeserializeOwned;

use super::files::RepoFiles;
use super::schema::{self, DocumentKind};
use super::spec::{DirectorySpec, FilterSpec, GroupSpec, OverridesSpec, SourceSpec, WorkspaceSpec};
use super::yaml::Document;
use super::{ConfigError, Diagnostic, Diagnostics};

/// A document that parsed and fits its spec type.
pub(super) struct Parsed<T> {
    /// The document, for positions.
    pub(super) doc: Document,
    /// What it says.
    pub(super) spec: T,
    /// Its file name without `.yaml`: the id of a document that does not give one.
    pub(super) stem: String,
}

/// Everything read from a sync repository, before any cross-check.
pub(super) struct Loaded {
    /// `hrsync.yaml`, unless it is missing or does not parse.
    pub(super) workspace: Option<Parsed<WorkspaceSpec>>,
    /// `filters/*.yaml` that parsed, sorted by file.
    pub(super) filters: Vec<Parsed<FilterSpec>>,
    /// `sources/*.yaml` that parsed, sorted by file.
    pub(super) sources: Vec<Parsed<SourceSpec>>,
    /// `directories/*.yaml` that parsed, sorted by file.
    pub(super) directories: Vec<Parsed<DirectorySpec>>,
    /// `groups/*.yaml` that parsed, sorted by file.
    pub(super) groups: Vec<Parsed<GroupSpec>>,
    /// `overrides.yaml`, when there is one and it parses.
    pub(super) overrides: Option<Parsed<OverridesSpec>>,
    /// The problems found so far.
    pub(super) diags: Diagnostics,
    /// Nodes left out of salvaged documents, by file.
    pub(super) culprits: BTreeMap<String, Vec<String>>,
    /// The git commit the files were read from, when read from git.
    pub(super) revision: Option<String>,
}

/// Reads and parses every document of the repository behind `files`.
pub(super) fn read(files: &dyn RepoFiles) -> Result<Loaded, ConfigError> {
    let mut diags = Diagnostics::default();
    let mut culprits: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let read_error = |path: &str, source: io::Error| ConfigError::Read {
        path: path.to_owned(),
        origin: files.describe(),
        source,
    };

    let workspace = match files.read(super::WORKSPACE_FILE) {
        Ok(bytes) => parse::<WorkspaceSpec>(
            DocumentKind::Workspace,
            super::WORKSPACE_FILE,
            &bytes,
            &mut diags,
            &mut culprits,
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            diags.push(Diagnostic {
                file: "hrsync.yaml".into(),
                line: 1,
                column: 1,
                message: format!("no hrsync.yaml in {}", files.describe()),
                hint: Some("point --repo at a sync repository (for example examples/sync-repo)".into()),
                pointer: None,
            });
            None
        }
        Err(e) => return Err(read_error("hrsync.yaml", e)),
    };

    let overrides = match files.read(super::OVERRIDES_FILE) {
        Ok(bytes) => parse::<OverridesSpec>(
            DocumentKind::Overrides,
            super::OVERRIDES_FILE,
            &bytes,
            &mut diags,
            &mut culprits,
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(read_error(super::OVERRIDES_FILE, e)),
    };

    let mut read_kind =
        |dir: &str, kind: DocumentKind| -> Result<Vec<Parsed<serde_json::Value>>, ConfigError> {
            let mut out = Vec::new();
            let names = files.list(dir).map_err(|e| read_error(dir, e))?;
            for name in names {
                let Some(stem) = name.strip_suffix(".yaml").or_else(|| name.strip_suffix(".yml")) else {
                    continue;
                };
                let path = format!("{dir}/{name}");
                let bytes = files.read(&path).map_err(|e| read_error(&path, e))?;
                if let Some(doc) = parse_document(kind, &path, &bytes, &mut diags, &mut culprits) {
                    out.push(Parsed { spec: serde_json::Value::Null, doc, stem: stem.to_owned() });
                }
            }
            Ok(out)
        };
    let filter_docs = read_kind("filters", DocumentKind::Filter)?;
    let source_docs = read_kind("sources", DocumentKind::Source)?;
    let directory_docs = read_kind("directories", DocumentKind::Directory)?;
    let group_docs = read_kind("groups", DocumentKind::Group)?;

    let filters = typed::<FilterSpec>(filter_docs, &mut diags, &culprits);
    let sources = typed::<SourceSpec>(source_docs, &mut diags, &culprits);
    let directories = typed::<DirectorySpec>(directory_docs, &mut diags, &culprits);
    let groups = typed::<GroupSpec>(group_docs, &mut diags, &culprits);

    Ok(Loaded {
        workspace,
        filters,
        sources,
        directories,
        groups,
        overrides,
        diags,
        culprits,
        revision: files.revision(),
    })
}

/// Parses and structurally validates a document. A document with structural problems
/// is salvaged when it can be: the offending nodes are left out so the rest can still
/// be cross-checked (their problems are already reported), and `culprits` remembers them
/// so follow-up problems of the same mistake are not reported twice.
fn parse_document(
    kind: DocumentKind,
    path: &str,
    bytes: &[u8],
    diags: &mut Diagnostics,
    culprits: &mut BTreeMap<String, Vec<String>>,
) -> Option<Document> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        diags.push(Diagnostic {
            file: path.to_owned(),
            line: 1,
            column: 1,
            message: "the file is not UTF-8 text".into(),
            hint: Some("save it as UTF-8".into()),
            pointer: None,
        });
        return None;
    };
    let mut doc = match Document::parse(path, text) {
        Ok(doc) => doc,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let problems = schema::validate(kind, &doc);
    if problems.is_empty() {
        return Some(doc);
    }
    let salvageable = problems.iter().all(|p| !p.culprits.is_empty());
    let mut removed = Vec::new();
    for p in problems {
        removed.extend(p.culprits);
        diags.push(p.diagnostic);
    }
    if !salvageable {
        return None;
    }
    // Deepest first, so removing one node does not move another.
    removed.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for pointer in &removed {
        super::yaml::remove(&mut doc.value, pointer);
    }
    culprits.insert(path.to_owned(), removed);
    Some(doc)
}

fn parse<T: DeserializeOwned>(
    kind: DocumentKind,
    path: &str,
    bytes: &[u8],
    diags: &mut Diagnostics,
    culprits: &mut BTreeMap<String, Vec<String>>,
) -> Option<Parsed<T>> {
    let doc = parse_document(kind, path, bytes, diags, culprits)?;
    let stem = path.rsplit('/').next().unwrap_or(path).trim_end_matches(".yaml").to_owned();
    typed(vec![Parsed { doc, spec: serde_json::Value::Null, stem }], diags, culprits).pop()
}

fn typed<T: DeserializeOwned>(
    docs: Vec<Parsed<serde_json::Value>>,
    diags: &mut Diagnostics,
    culprits: &BTreeMap<String, Vec<String>>,
) -> Vec<Parsed<T>> {
    docs.into_iter()
        .filter_map(|p| match serde_json::from_value::<T>(p.doc.value.clone()) {
            Ok(spec) => Some(Parsed { doc: p.doc, spec, stem: p.stem }),
            // A salvaged document that still does not fit: its problems are reported.
            Err(_) if culprits.contains_key(&p.doc.file) => None,
            Err(e) => {
                diags.push(p.doc.error_at("", e.to_string(), None));
                None
            }
        })
        .collect()
}
