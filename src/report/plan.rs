//! The plan as committed to the reports branch: files that stay small at any size of
//! plan, so the branch can always be pushed (GitHub refuses files over 100 MB, and warns
//! past 50 MB).
//!
//! For a directory `<dir>`, below the reports folder:
//!
//! ```text
//! <dir>/plan.md                        for people: the head whole, then the first rows of
//!                                      each action, within a budget of rows and bytes
//! <dir>/plan.json                      the index: the plan without its rows and without
//!                                      the sources' skipped rows, plus `parts`
//! <dir>/plan/<action>-0001.jsonl       the rows, one JSON object a line, in plan order,
//! <dir>/plan/skipped_records-0001.jsonl  the sources' skipped rows, each with its `source`
//! <dir>/plan/groups-0001.jsonl         the group rows (`groups.rows`), in plan order
//! ```
//!
//! Each entry of `parts` names a file (`path`, relative to `plan.json`), what it holds
//! (`holds`: an action or `skipped_records`), its `rows`, its `bytes` and its BLAKE3
//! hash. The plan is the index with `rows` put back as the row parts' lines in the
//! order listed, and each source's `skipped` as the lines of the `skipped_records`
//! parts naming it.
//!
//! A part ends at a row chosen by the row's own content (its hash), once the part holds
//! [`Limits::part_min_rows`] rows, or before it would pass [`Limits::part_bytes`]: a row
//! added, removed or changed moves the boundaries of its own part at most, so a git
//! diff between two plans shows the rows that changed rather than every part after
//! them. The same plan gives the same bytes.
//!
//! Everything here is made from the plan as [`pii`](crate::plan::pii) redacts it:
//! nothing personal reaches a part that the policy keeps out of `plan.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::model::{SkippedRecord, SourceId};
use crate::plan::pii::{self, Pii};
use crate::plan::render::markdown::{self, Budget};
use crate::plan::{Action, Plan};

/// The caps of a committed plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A part holds at most this many bytes; only a row longer than that on its own
    /// (it has a part to itself) makes a part longer.
    pub part_bytes: usize,
    /// A part ends at a row its content chooses only once it holds this many rows.
    pub part_min_rows: usize,
    /// One row in this many (by its hash) ends a part, past `part_min_rows`.
    pub part_odds: u64,
    /// `plan.md` lists at most this many rows.
    pub markdown_rows: usize,
    /// `plan.md` holds at most this many bytes, unless its head alone is longer (the
    /// status, the plan id, the counts, the sources and the guards are never cut).
    pub markdown_bytes: usize,
}

impl Default for Limits {
    /// 16 MiB parts of about 5,000 rows on average; a `plan.md` of at most 2,000 rows
    /// and 1 MB.
    fn default() -> Self {
        Limits {
            part_bytes: 16 * 1024 * 1024,
            part_min_rows: 1_000,
            part_odds: 4_000,
            markdown_rows: 2_000,
            markdown_bytes: 1_000_000,
        }
    }
}

/// What `holds` says of a part of skipped source rows.
pub const SKIPPED_RECORDS: &str = "skipped_records";

/// What the parts holding group rows hold.
pub const GROUPS: &str = "groups";

/// One part of a committed plan: a file of JSON Lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The file, relative to `plan.json` (`plan/create-0001.jsonl`).
    pub path: String,
    /// What it holds: an action's rows, or [`SKIPPED_RECORDS`].
    pub holds: String,
    /// Its lines.
    pub rows: usize,
    /// Its size.
    pub bytes: usize,
    /// The BLAKE3 hash of its bytes, in hex.
    pub blake3: String,
}

/// The files of one directory's committed plan.
#[derive(Debug)]
pub struct PlanReport {
    /// Paths below the reports folder and their bytes: `plan.md`, `plan.json` and the
    /// parts.
    pub files: Vec<(String, Vec<u8>)>,
    /// The folder of the parts (`<dir>/plan`): the commit replaces it whole, so parts of
    /// an earlier, larger plan go.
    pub parts_folder: String,
    /// The parts, as the index lists them.
    pub parts: Vec<Part>,
}

/// The folder of the parts, relative to `plan.json`.
const PARTS: &str = "plan";

/// Why a committed plan cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadBackError {
    /// A file the index names is not there.
    #[error("`{0}` is missing from the reports")]
    Missing(String),
    /// A file is not what its index says (size or hash), or not the JSON it should be.
    #[error("`{path}` of the reports cannot be read back: {why}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// The plan of `directory` as committed to the reports (by [`render`]), read back
/// through `read` (a path below the reports folder to its bytes): the index with its
/// rows put back, without the sources' skipped rows and the group rows. Each part is
/// checked against the size and hash its index gives. Values are as the policy of the
/// reports left them. `None` when no plan of `directory` was committed.
pub fn read_back(
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
    directory: &str,
) -> Result<Option<Plan>, ReadBackError> {
    let index_path = format!("{directory}/plan.json");
    let Some(index) = read(&index_path) else { return Ok(None) };
    let invalid = |path: &str, why: String| ReadBackError::Invalid { path: path.to_owned(), why };
    let mut index: Json = serde_json::from_slice(&index).map_err(|e| invalid(&index_path, e.to_string()))?;
    let parts: Vec<Part> = index
        .get("parts")
        .map(|p| serde_json::from_value(p.clone()))
        .transpose()
        .map_err(|e| invalid(&index_path, e.to_string()))?
        .unwrap_or_default();
    let mut rows = Vec::new();
    for part in parts.iter().filter(|p| p.holds != SKIPPED_RECORDS && p.holds != GROUPS) {
        let path = format!("{directory}/{}", part.path);
        let bytes = read(&path).ok_or_else(|| ReadBackError::Missing(path.clone()))?;
        if bytes.len() != part.bytes || blake3::hash(&bytes).to_hex().as_str() != part.blake3 {
            return Err(invalid(&path, "its size or hash is not the one plan.json gives".into()));
        }
        let text = std::str::from_utf8(&bytes).map_err(|e| invalid(&path, e.to_string()))?;
        for line in text.lines() {
            rows.push(serde_json::from_str::<Json>(line).map_err(|e| invalid(&path, e.to_string()))?);
        }
    }
    if let Some(object) = index.as_object_mut() {
        object.remove("parts");
        object.insert("rows".into(), Json::Array(rows));
        // The groups are not read back: the answer is about people.
        object.remove("groups");
    }
    serde_json::from_value(index).map(Some).map_err(|e| invalid(&index_path, e.to_string()))
}

/// A skipped source row as a part holds it.
#[derive(Serialize)]
struct SkippedLine<'a> {
    source: &'a SourceId,
    #[serde(flatten)]
    record: &'a SkippedRecord,
}

/// Cuts lines into parts of one kind.
struct Cutter<'a> {
    limits: &'a Limits,
    holds: &'static str,
    parts: Vec<(Part, Vec<u8>)>,
    current: Vec<u8>,
    rows: usize,
}

impl<'a> Cutter<'a> {
    fn new(limits: &'a Limits, holds: &'static str) -> Self {
        Cutter { limits, holds, parts: Vec::new(), current: Vec::new(), rows: 0 }
    }

    /// Adds one line (with its final newline).
    fn push(&mut self, line: &[u8]) {
        if self.rows > 0 && self.current.len() + line.len() > self.limits.part_bytes {
            self.close();
        }
        self.current.extend_from_slice(line);
        self.rows += 1;
        if self.rows >= self.limits.part_min_rows.max(1) && ends_part(line, self.limits.part_odds) {
            self.close();
        }
    }

    fn close(&mut self) {
        if self.rows == 0 {
            return;
        }
        let bytes = std::mem::take(&mut self.current);
        let part = Part {
            path: format!("{PARTS}/{}-{:04}.jsonl", self.holds, self.parts.len() + 1),
            holds: self.holds.to_owned(),
            rows: self.rows,
            bytes: bytes.len(),
            blake3: blake3::hash(&bytes).to_hex().to_string(),
        };
        self.rows = 0;
        self.parts.push((part, bytes));
    }

    fn finish(mut self) -> Vec<(Part, Vec<u8>)> {
        self.close();
        self.parts
    }
}

/// Whether a part ends after `line`: one line in `odds`, by the line's hash (the same
/// on every machine).
fn ends_part(line: &[u8], odds: u64) -> bool {
    let hash = blake3::hash(line);
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first) % odds.max(1) == 0
}

/// The files of `plan`'s report for its directory, with personal values shown as
/// `pii` says.
pub fn render(plan: &Plan, pii: &Pii, limits: &Limits) -> Result<PlanReport, serde_json::Error> {
    // One row redacted at a time: a plan of a million rows is not copied whole. The
    // Markdown gets the first rows of each action, as many as it could list.
    let redactor = pii::Redactor::new(plan, pii);
    let mut head = redactor.head(plan);
    let dir = head.directory.as_str().to_owned();
    let mut totals: BTreeMap<Action, usize> = BTreeMap::new();

    // The rows, per action (plan order is action order); within an action in plan order.
    let mut cutters: BTreeMap<Action, Cutter<'_>> = BTreeMap::new();
    let mut line = Vec::new();
    for row in &plan.rows {
        let row = redactor.row(row);
        line.clear();
        serde_json::to_writer(&mut line, &row)?;
        line.push(b'\n');
        cutters.entry(row.action).or_insert_with(|| Cutter::new(limits, row.action.as_str())).push(&line);
        let seen = totals.entry(row.action).or_default();
        *seen += 1;
        if *seen <= limits.markdown_rows {
            head.rows.push(row);
        }
    }
    // Group rows: all in parts of their own, the first ones in the Markdown.
    let mut group_parts = Cutter::new(limits, GROUPS);
    if let Some(groups) = head.groups.as_mut() {
        let rows = std::mem::take(&mut groups.rows);
        for (n, row) in rows.into_iter().enumerate() {
            line.clear();
            serde_json::to_writer(&mut line, &row)?;
            line.push(b'\n');
            group_parts.push(&line);
            if n < limits.markdown_rows {
                groups.rows.push(row);
            }
        }
    }
    let mut skipped = Cutter::new(limits, SKIPPED_RECORDS);
    for source in &head.sources {
        for record in &source.skipped {
            line.clear();
            serde_json::to_writer(&mut line, &SkippedLine { source: &source.id, record })?;
            line.push(b'\n');
            skipped.push(&line);
        }
    }
    let mut parts: Vec<(Part, Vec<u8>)> = Vec::new();
    let mut rows_in: BTreeMap<Action, Vec<String>> = BTreeMap::new();
    for (action, cutter) in cutters {
        let cut = cutter.finish();
        rows_in.insert(action, cut.iter().map(|(p, _)| p.path.clone()).collect());
        parts.extend(cut);
    }
    let skipped = skipped.finish();
    let skipped_in = skipped.iter().map(|(p, _)| p.path.clone()).collect();
    parts.extend(skipped);
    let group_parts = group_parts.finish();
    let groups_in: Vec<String> = group_parts.iter().map(|(p, _)| p.path.clone()).collect();
    parts.extend(group_parts);

    let budget = Budget {
        rows: limits.markdown_rows,
        bytes: limits.markdown_bytes,
        rows_in,
        skipped_in,
        totals,
        groups_in,
    };
    let markdown = markdown::render_within(&head, &budget).into_bytes();

    // The index: the plan without what the parts hold.
    head.rows = Vec::new();
    if let Some(groups) = head.groups.as_mut() {
        groups.rows = Vec::new();
    }
    let skipped_counts: Vec<usize> = head.sources.iter().map(|s| s.skipped.len()).collect();
    for source in &mut head.sources {
        source.skipped = Vec::new();
    }
    let index = index(&head, &skipped_counts, parts.iter().map(|(p, _)| p))?;

    let mut files = Vec::with_capacity(parts.len() + 2);
    files.push((format!("{dir}/plan.md"), markdown));
    files.push((format!("{dir}/plan.json"), index));
    let listed: Vec<Part> = parts.iter().map(|(p, _)| p.clone()).collect();
    for (part, bytes) in parts {
        files.push((format!("{dir}/{}", part.path), bytes));
    }
    Ok(PlanReport { files, parts_folder: format!("{dir}/{PARTS}"), parts: listed })
}

/// `plan.json`: `plan` (its rows and skipped rows taken out) with `parts` where `rows`
/// was, and each source's count of skipped rows as `skipped_records`; pretty, with a
/// final newline.
fn index<'a>(
    plan: &Plan,
    skipped: &[usize],
    parts: impl Iterator<Item = &'a Part>,
) -> Result<Vec<u8>, serde_json::Error> {
    let parts = serde_json::to_value(parts.collect::<Vec<_>>())?;
    let Json::Object(fields) = serde_json::to_value(plan)? else {
        return Err(serde::ser::Error::custom("a plan is not a JSON object"));
    };
    let mut index = serde_json::Map::new();
    let mut parts = Some(parts);
    for (key, mut value) in fields {
        match key.as_str() {
            "rows" => {
                index.insert("parts".into(), parts.take().unwrap_or_default());
            }
            "sources" => {
                for (source, n) in value.as_array_mut().into_iter().flatten().zip(skipped) {
                    if let (Some(source), true) = (source.as_object_mut(), *n > 0) {
                        source.insert("skipped_records".into(), Json::from(*n));
                    }
                }
                index.insert(key, value);
            }
            _ => {
                index.insert(key, value);
            }
        }
    }
    if let Some(parts) = parts {
        index.insert("parts".into(), parts);
    }
    let mut bytes = serde_json::to_vec_pretty(&Json::Object(index))?;
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
mod tests;
