//! The `csv` source: a people file, and optional employments and org unit files.
//!
//! Columns are found by header: `columns` renames, every other standard field is read
//! from a column of its own name when there is one. A header that lacks a renamed
//! column fails the source (every row would be wrong); a row with the wrong number of
//! cells, or a value that does not normalize, is skipped with its line and a reason.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Batch, Fetch, FetchRequest, Source, SourceError, dedupe, read_file};
use crate::config::files::RepoFiles;
use crate::config::{Columns, CsvSettings, SourceConfig};
use crate::model::SourceId;
use crate::model::{RecordKind, RecordLocation, SkippedRecord};
use crate::transform::normalize::{Normalizer, resolve_targets};

/// A CSV source.
pub struct CsvSource {
    config: SourceConfig,
    settings: CsvSettings,
    files: Arc<dyn RepoFiles>,
}

impl CsvSource {
    /// A CSV source reading through `files`.
    pub fn new(config: SourceConfig, settings: CsvSettings, files: Arc<dyn RepoFiles>) -> Self {
        CsvSource { config, settings, files }
    }
}

#[async_trait]
impl Source for CsvSource {
    fn id(&self) -> &SourceId {
        &self.config.id
    }

    async fn fetch(&self, _request: &FetchRequest) -> Result<Fetch, SourceError> {
        let normalizer = Normalizer::new(&self.config);
        let delimiter = self.settings.delimiter;
        let mut batch = Batch::default();

        let path = &self.settings.path;
        let bytes = read_file(&self.files, path).await?;
        let table = Table::read(path, &bytes, delimiter)?;
        let targets =
            resolve_targets(&self.settings.columns, table.header.iter().map(String::as_str).enumerate())
                .map_err(|m| format_error(path, &m))?;
        if !targets.iter().any(|(t, _)| matches!(t.name().as_ref(), "id" | "employee_number")) {
            return Err(format_error(
                path,
                "there is neither an `id` nor an `employee_number` column; rename one under `columns`",
            ));
        }
        table.rows(
            RecordKind::Employee,
            &mut batch.skipped,
            |location, row| {
                normalizer.person(location, targets.iter().map(|(t, i)| (t, row.get(*i).unwrap_or(""))))
            },
            &mut batch.people,
        );

        if let Some((path, columns)) = &self.settings.employments {
            let bytes = read_file(&self.files, path).await?;
            let table = Table::read(path, &bytes, delimiter)?;
            let fields = table.fields(path, columns, crate::config::EMPLOYMENT_FIELDS)?;
            table.rows(
                RecordKind::Employment,
                &mut batch.skipped,
                |location, row| {
                    normalizer
                        .employment(location, fields.iter().map(|(f, i)| (*f, row.get(*i).unwrap_or(""))))
                },
                &mut batch.employments,
            );
        }
        if let Some((path, columns)) = &self.settings.org_units {
            let bytes = read_file(&self.files, path).await?;
            let table = Table::read(path, &bytes, delimiter)?;
            let fields = table.fields(path, columns, crate::config::ORG_UNIT_FIELDS)?;
            table.rows(
                RecordKind::OrgUnit,
                &mut batch.skipped,
                |location, row| {
                    normalizer.org_unit(location, fields.iter().map(|(f, i)| (*f, row.get(*i).unwrap_or(""))))
                },
                &mut batch.org_units,
            );
        }
        Ok(Fetch::Records(dedupe(batch)))
    }
}

fn format_error(path: &str, message: &str) -> SourceError {
    SourceError::Format { path: path.to_owned(), message: message.to_owned() }
}

/// A CSV file, parsed into rows with line numbers. Rows that do not parse are kept as
/// errors so each can be skipped with its own reason.
struct Table {
    file: String,
    header: Vec<String>,
    rows: Vec<(u64, Result<csv::StringRecord, String>)>,
}

impl Table {
    fn read(path: &str, bytes: &[u8], delimiter: u8) -> Result<Table, SourceError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(bytes);
        let header = reader
            .headers()
            .map_err(|e| format_error(path, &format!("cannot read the header line: {e}")))?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect::<Vec<_>>();
        if header.iter().all(String::is_empty) {
            return Err(format_error(path, "the file is empty or has no header line"));
        }
        let width = header.len();
        let lines = Lines::new(bytes);
        let mut rows = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            let line = lines.at(reader.position().byte());
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(line, |p| lines.at(p.byte()));
                    if record.iter().all(|c| c.trim().is_empty()) {
                        continue;
                    }
                    let row = if record.len() == width {
                        Ok(record.clone())
                    } else {
                        Err(format!("expected {width} columns, found {}", record.len()))
                    };
                    rows.push((line, row));
                }
                Err(e) => {
                    let line = e.position().map_or(line, |p| lines.at(p.byte()));
                    let message = match e.kind() {
                        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".to_owned(),
                        _ => "the row is not valid CSV".to_owned(),
                    };
                    rows.push((line, Err(message)));
                    if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                        break;
                    }
                }
            }
        }
        Ok(Table { file: file_name(path), header, rows })
    }

    fn fields<'a>(
        &self,
        path: &str,
        columns: &Columns,
        known: &[&'a str],
    ) -> Result<Vec<(&'a str, usize)>, SourceError> {
        let mut out = Vec::new();
        for field in known {
            let column = columns.get(*field).map(String::as_str).unwrap_or(field);
            match self.header.iter().position(|h| h == column) {
                Some(i) => out.push((*field, i)),
                None if columns.contains_key(*field) => {
                    return Err(format_error(path, &format!("column `{column}` (for {field}) is missing")));
                }
                None => {}
            }
        }
        Ok(out)
    }

    fn rows<T>(
        &self,
        kind: RecordKind,
        skipped: &mut Vec<SkippedRecord>,
        mut build: impl FnMut(RecordLocation, &csv::StringRecord) -> Result<T, SkippedRecord>,
        out: &mut Vec<T>,
    ) {
        out.reserve(self.rows.len());
        for (line, row) in &self.rows {
            let location = RecordLocation { file: self.file.clone(), line: *line };
            match row {
                Ok(record) => match build(location, record) {
                    Ok(r) => out.push(r),
                    Err(s) => skipped.push(s),
                },
                Err(reason) => skipped.push(SkippedRecord { kind, location, reason: reason.clone() }),
            }
        }
    }
}

/// Line numbers by byte offset. A record "starts" where the reader left off, which may
/// be before blank lines it skips; its line is that of its first character.
struct Lines<'a> {
    bytes: &'a [u8],
    newlines: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Lines {
            bytes,
            newlines: bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect(),
        }
    }

    fn at(&self, offset: u64) -> u64 {
        let mut at = usize::try_from(offset).unwrap_or(usize::MAX).min(self.bytes.len());
        while at < self.bytes.len() && matches!(self.bytes[at], b'\n' | b'\r') {
            at += 1;
        }
        self.newlines.partition_point(|n| *n < at) as u64 + 1
    }
}

/// The path as shown in locations: relative paths as written, absolute ones by name.
fn file_name(path: &str) -> String {
    if path.starts_with('/') { path.rsplit('/').next().unwrap_or(path).to_owned() } else { path.to_owned() }
}
