//! The `json` source: a file holding an array of people, or an object whose arrays hold
//! people, employments and org units (located by JSON pointers).
//!
//! Keys are found per item: `fields` renames (dots reach into nested objects), every
//! other standard field is read from a key of its own name. Numbers and booleans are
//! read as text; an item that is not an object, or a value that is a list or object
//! where text is expected, is skipped with a reason.
//!
//! A file larger than [`MAX_JSON_BYTES`] or nesting arrays and objects deeper than
//! [`MAX_JSON_DEPTH`] fails the source with its position, found in one pass over the
//! bytes before the parser builds anything: a hostile file costs linear time and
//! memory bounded by the limit, never a deep recursion.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::{Batch, Fetch, FetchRequest, Source, SourceError, dedupe, read_file};
use crate::config::files::RepoFiles;
use crate::config::{Columns, JsonSettings, SourceConfig};
use crate::model::SourceId;
use crate::model::{RecordKind, RecordLocation, SkippedRecord};
use crate::transform::normalize::{Normalizer, PersonTarget};

/// The deepest a JSON data file may nest arrays and objects. HR exports nest a few
/// levels; the parser's own guard (128) is a safety net, not a message.
pub const MAX_JSON_DEPTH: usize = 64;

/// The largest JSON data file read: 256 MiB, some hundred thousand people with
/// their employments. The parsed document takes a few times as much memory.
pub const MAX_JSON_BYTES: usize = 256 << 20;

/// A JSON source.
pub struct JsonSource {
    config: SourceConfig,
    settings: JsonSettings,
    files: Arc<dyn RepoFiles>,
}

impl JsonSource {
    /// A JSON source reading through `files`.
    pub fn new(config: SourceConfig, settings: JsonSettings, files: Arc<dyn RepoFiles>) -> Self {
        JsonSource { config, settings, files }
    }
}

#[async_trait]
impl Source for JsonSource {
    fn id(&self) -> &SourceId {
        &self.config.id
    }

    async fn fetch(&self, _request: &FetchRequest) -> Result<Fetch, SourceError> {
        let path = &self.settings.path;
        let bytes = read_file(&self.files, path).await?;
        let doc = parse(&bytes).map_err(|message| SourceError::Format { path: path.clone(), message })?;
        let normalizer = Normalizer::new(&self.config);
        let mut batch = Batch::default();
        let file = path.clone();

        let people_pointer = match (&self.settings.people, &doc) {
            (Some(p), _) => p.clone(),
            (None, Value::Array(_)) => String::new(),
            (None, _) => "/people".to_owned(),
        };
        let people = array(&doc, &people_pointer, path)?;
        let targets = targets(&self.settings.fields);
        read_people(people, &file, &targets, &normalizer, &mut batch);

        if let Some((pointer, fields)) = &self.settings.employments {
            let items = array(&doc, pointer, path)?;
            read_employments(items, &file, fields, &normalizer, &mut batch);
        }
        if let Some((pointer, fields)) = &self.settings.org_units {
            let items = array(&doc, pointer, path)?;
            read_org_units(items, &file, fields, &normalizer, &mut batch);
        }
        Ok(Fetch::Records(dedupe(batch)))
    }
}

/// Parses a JSON data file within [`MAX_JSON_BYTES`] and [`MAX_JSON_DEPTH`]; the
/// error says what is wrong and where.
fn parse(bytes: &[u8]) -> Result<Value, String> {
    parse_within(bytes, MAX_JSON_BYTES, MAX_JSON_DEPTH)
}

/// [`parse`] with other limits, so tests need not build a 256 MiB file.
pub(super) fn parse_within(bytes: &[u8], max_bytes: usize, max_depth: usize) -> Result<Value, String> {
    if bytes.len() > max_bytes {
        return Err(format!(
            "the file is {} bytes; hrsync reads JSON files of at most {}",
            bytes.len(),
            size(max_bytes)
        ));
    }
    if let Some(at) = too_deep(bytes, max_depth) {
        let (line, column) = line_column(bytes, at);
        return Err(format!(
            "nests arrays and objects deeper than {max_depth} levels (line {line}, column {column})"
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        // serde_json's message ends with the position, which is said once, here.
        let message = e.to_string();
        let reason = message.rsplit_once(" at line ").map_or(message.as_str(), |(reason, _)| reason);
        format!("not valid JSON: {reason} (line {}, column {})", e.line(), e.column())
    })
}

/// A byte count as people write it: whole MiB, else bytes.
fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// The byte offset of the first `[` or `{` that opens level `max + 1`, outside strings.
/// One pass; brackets that do not balance are left to the parser to report.
fn too_deep(bytes: &[u8], max: usize) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Line and column (from 1, the column in bytes, as serde_json counts) of an offset.
fn line_column(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = at - before.iter().rposition(|&b| b == b'\n').map_or(0, |nl| nl + 1) + 1;
    (line, column)
}

fn array<'a>(doc: &'a Value, pointer: &str, path: &str) -> Result<&'a [Value], SourceError> {
    match doc.pointer(pointer) {
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(SourceError::Format {
            path: path.to_owned(),
            message: format!(
                "`{}` is not an array",
                if pointer.is_empty() { "the document" } else { pointer }
            ),
        }),
        None => Err(SourceError::Format {
            path: path.to_owned(),
            message: format!("there is no `{pointer}`; set the pointer in the source file"),
        }),
    }
}

/// Reads people from `items`, with the keys of `targets`.
pub(super) fn read_people(
    items: &[Value],
    file: &str,
    targets: &[(PersonTarget, String)],
    normalizer: &Normalizer,
    batch: &mut Batch,
) {
    let Batch { skipped, people, .. } = batch;
    each(items, file, RecordKind::Employee, skipped, people, |location, item| {
        let values: Vec<(&PersonTarget, String)> = targets
            .iter()
            .filter_map(|(t, key)| text_at(item, key).transpose().map(|v| v.map(|v| (t, v))))
            .collect::<Result<_, String>>()
            .map_err(|reason| SkippedRecord {
                partial: normalizer.partial(
                    location.clone(),
                    targets.iter().filter_map(|(t, key)| Some((t, text_at(item, key).ok()??))),
                ),
                ..SkippedRecord::new(RecordKind::Employee, location.clone(), reason)
            })?;
        normalizer.person(location, values.iter().map(|(t, v)| (*t, v.as_str())))
    });
}

/// Reads employments from `items`, with the keys `fields` renames.
pub(super) fn read_employments(
    items: &[Value],
    file: &str,
    fields: &Columns,
    normalizer: &Normalizer,
    batch: &mut Batch,
) {
    let keys = table_keys(fields, crate::config::EMPLOYMENT_FIELDS);
    let Batch { skipped, employments, .. } = batch;
    each(items, file, RecordKind::Employment, skipped, employments, |location, item| {
        let values = table_values(item, &keys, RecordKind::Employment, &location)?;
        normalizer.employment(location, values.iter().map(|(f, v)| (*f, v.as_str())))
    });
}

/// Reads org units from `items`, with the keys `fields` renames.
pub(super) fn read_org_units(
    items: &[Value],
    file: &str,
    fields: &Columns,
    normalizer: &Normalizer,
    batch: &mut Batch,
) {
    let keys = table_keys(fields, crate::config::ORG_UNIT_FIELDS);
    let Batch { skipped, org_units, .. } = batch;
    each(items, file, RecordKind::OrgUnit, skipped, org_units, |location, item| {
        let values = table_values(item, &keys, RecordKind::OrgUnit, &location)?;
        normalizer.org_unit(location, values.iter().map(|(f, v)| (*f, v.as_str())))
    });
}

/// The key of each person field: `fields` where given, else the field's own name.
pub(super) fn targets(fields: &Columns) -> Vec<(PersonTarget, String)> {
    let mut out: Vec<(PersonTarget, String)> =
        fields.iter().filter_map(|(name, key)| Some((PersonTarget::parse(name)?, key.clone()))).collect();
    for t in PersonTarget::standard() {
        if !fields.contains_key(t.name().as_ref()) {
            let key = t.name().into_owned();
            out.push((t, key));
        }
    }
    out
}

fn table_keys<'a>(fields: &Columns, known: &[&'a str]) -> Vec<(&'a str, String)> {
    known.iter().map(|f| (*f, fields.get(*f).cloned().unwrap_or_else(|| (*f).to_owned()))).collect()
}

fn table_values<'a>(
    item: &Value,
    keys: &[(&'a str, String)],
    kind: RecordKind,
    location: &RecordLocation,
) -> Result<Vec<(&'a str, String)>, SkippedRecord> {
    keys.iter()
        .filter_map(|(f, key)| text_at(item, key).transpose().map(|v| v.map(|v| (*f, v))))
        .collect::<Result<_, String>>()
        .map_err(|reason| SkippedRecord::new(kind, location.clone(), reason))
}

/// The text at a dotted key of an item; `Ok(None)` when absent or null.
pub(super) fn text_at(item: &Value, key: &str) -> Result<Option<String>, String> {
    let mut node = item;
    for part in key.split('.') {
        match node.get(part) {
            Some(next) => node = next,
            None => return Ok(None),
        }
    }
    match node {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => Err(format!("`{key}` is a list or object, not a text value")),
    }
}

fn each<T>(
    items: &[Value],
    file: &str,
    kind: RecordKind,
    skipped: &mut Vec<SkippedRecord>,
    out: &mut Vec<T>,
    mut build: impl FnMut(RecordLocation, &Value) -> Result<T, SkippedRecord>,
) {
    for (i, item) in items.iter().enumerate() {
        // Items are numbered from 1, like lines.
        let location = RecordLocation { file: file.to_owned(), line: i as u64 + 1 };
        if !item.is_object() {
            skipped.push(SkippedRecord::new(kind, location, "the item is not an object"));
            continue;
        }
        match build(location, item) {
            Ok(r) => out.push(r),
            Err(s) => skipped.push(s),
        }
    }
}
