//! The `csv` source: a people file, and optional employments and org unit files.
//!
//! Columns are found by header: `columns` renames, every other standard field is read
//! from a column of its own name when there is one. A header that lacks a renamed
//! column fails the source (every row would be wrong); a row with the wrong number of
//! cells, a cell longer than [`MAX_CELL_BYTES`], or a value that does not normalize, is
//! skipped with its line and a reason, keeping what can be read of its person (their id
//! and match keys) so the plan holds their entry.
//!
//! A cell with line breaks that holds as many delimiters as a whole row is taken for
//! rows an unbalanced quote joined into one record: the record is skipped, so the read
//! counts as one that may hide people (no one becomes a leaver by absence).
//!
//! A record that spans more than [`MAX_RECORD_LINES`] lines of the file (an unbalanced
//! quote joins the rows after it into one cell), or a file that cannot be read to its
//! end, makes the read incomplete: the people in those lines look gone, so the source
//! is unhealthy for this run rather than a reason to disable them.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Batch, Fetch, FetchRequest, Source, SourceError, dedupe, read_file};
use crate::config::files::RepoFiles;
use crate::config::{Columns, CsvSettings, SourceConfig};
use crate::model::SourceId;
use crate::model::{Person, RecordKind, RecordLocation, SkippedRecord};
use crate::transform::normalize::{Normalizer, PersonTarget, resolve_targets};

/// The most lines of the file one record may span before the read is taken for
/// incomplete. Cells with line breaks (addresses, notes) span a few; an unbalanced
/// quote swallows every line up to the next quote.
pub const MAX_RECORD_LINES: usize = 10;

/// The longest cell, in bytes, a row may have; a longer one skips its row. No HR field
/// comes near it; a cell this long is a quote that swallowed the file after it.
pub const MAX_CELL_BYTES: usize = 64 * 1024;

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
        batch.incomplete = table.rows(
            RecordKind::Employee,
            &mut batch.skipped,
            |location, row| normalizer.person(location, cells(&targets, row)),
            |location, row| normalizer.partial(location, cells(&targets, row)),
            &mut batch.people,
        );
        drop(bytes);

        if let Some((path, columns)) = &self.settings.employments {
            let bytes = read_file(&self.files, path).await?;
            let table = Table::read(path, &bytes, delimiter)?;
            let fields = table.fields(columns, crate::config::EMPLOYMENT_FIELDS)?;
            let person = fields.iter().find(|(f, _)| *f == "person").map(|(_, i)| *i);
            let incomplete = table.rows(
                RecordKind::Employment,
                &mut batch.skipped,
                |location, row| {
                    normalizer
                        .employment(location, fields.iter().map(|(f, i)| (*f, row.get(*i).unwrap_or(""))))
                },
                |location, row| normalizer.person_ref(person.and_then(|i| row.get(i))?, location),
                &mut batch.employments,
            );
            batch.incomplete = batch.incomplete.or(incomplete);
        }
        if let Some((path, columns)) = &self.settings.org_units {
            let bytes = read_file(&self.files, path).await?;
            let table = Table::read(path, &bytes, delimiter)?;
            let fields = table.fields(columns, crate::config::ORG_UNIT_FIELDS)?;
            let incomplete = table.rows(
                RecordKind::OrgUnit,
                &mut batch.skipped,
                |location, row| {
                    normalizer.org_unit(location, fields.iter().map(|(f, i)| (*f, row.get(*i).unwrap_or(""))))
                },
                |_, _| None,
                &mut batch.org_units,
            );
            batch.incomplete = batch.incomplete.or(incomplete);
        }
        Ok(Fetch::Records(dedupe(batch)))
    }
}

/// The cells of a row by the person field each is read into.
fn cells<'r>(
    targets: &'r [(PersonTarget, usize)],
    row: &'r csv::StringRecord,
) -> impl Iterator<Item = (&'r PersonTarget, &'r str)> {
    targets.iter().map(|(t, i)| (t, row.get(*i).unwrap_or("")))
}

fn format_error(path: &str, message: &str) -> SourceError {
    SourceError::Format { path: path.to_owned(), message: message.to_owned() }
}

/// One record of a CSV file, as parsed.
enum Parsed<'r> {
    /// A row of the header's shape.
    Row(&'r csv::StringRecord),
    /// A row that cannot be used as it is, but whose cells may still say who it is.
    Misshapen(&'r csv::StringRecord, String),
    /// A row that could not be parsed at all.
    Broken(String),
}

/// A CSV file being read: its header, then its rows, each built as it is read (a
/// million-row file is never held twice, once as cells and once as records). Rows
/// that do not parse are skipped, each with its own line and reason.
struct Table<'b> {
    path: String,
    file: String,
    header: Vec<String>,
    reader: csv::Reader<&'b [u8]>,
    lines: Lines<'b>,
    delimiter: u8,
    /// Why the rows may not be all the file holds, once they are read.
    incomplete: Option<String>,
}

impl<'b> Table<'b> {
    fn read(path: &str, bytes: &'b [u8], delimiter: u8) -> Result<Table<'b>, SourceError> {
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
        Ok(Table {
            path: path.to_owned(),
            file: file_name(path),
            header,
            reader,
            lines: Lines::new(bytes),
            delimiter,
            incomplete: None,
        })
    }

    /// Reads every record after the header, handing each to `each` with its line.
    fn each(&mut self, mut each: impl FnMut(u64, Parsed<'_>)) {
        let width = self.header.len();
        let mut record = csv::StringRecord::new();
        loop {
            let start = self.reader.position().byte();
            let line = self.lines.at(start);
            match self.reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(line, |p| self.lines.at(p.byte()));
                    let spans = self.lines.between(
                        record.position().map_or(start, |p| p.byte()),
                        self.reader.position().byte(),
                    );
                    if spans > MAX_RECORD_LINES && self.incomplete.is_none() {
                        self.incomplete = Some(format!(
                            "the record at line {line} of `{}` spans {spans} lines; an unbalanced quote may have joined the rows after it into one cell",
                            self.file
                        ));
                    }
                    if record.iter().all(|c| c.trim().is_empty()) {
                        continue;
                    }
                    match misshapen(&record, width, self.delimiter) {
                        Some(reason) => each(line, Parsed::Misshapen(&record, reason)),
                        None => each(line, Parsed::Row(&record)),
                    }
                }
                Err(e) => {
                    let line = e.position().map_or(line, |p| self.lines.at(p.byte()));
                    let message = match e.kind() {
                        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".to_owned(),
                        _ => "the row is not valid CSV".to_owned(),
                    };
                    each(line, Parsed::Broken(message));
                    if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                        let file = &self.file;
                        self.incomplete.get_or_insert_with(|| {
                            format!("`{file}` cannot be read past line {line}: the row is not valid CSV")
                        });
                        break;
                    }
                }
            }
        }
    }

    fn fields<'a>(&self, columns: &Columns, known: &[&'a str]) -> Result<Vec<(&'a str, usize)>, SourceError> {
        let mut out = Vec::new();
        for field in known {
            let column = columns.get(*field).map(String::as_str).unwrap_or(field);
            match self.header.iter().position(|h| h == column) {
                Some(i) => out.push((*field, i)),
                None if columns.contains_key(*field) => {
                    return Err(format_error(
                        &self.path,
                        &format!("column `{column}` (for {field}) is missing"),
                    ));
                }
                None => {}
            }
        }
        Ok(out)
    }

    /// Reads the rows and builds each with `build`; a row that cannot be built is
    /// skipped, with what `partial` can read of the person it belongs to when its cells
    /// are misshapen. Returns why the rows may not be all the file holds.
    fn rows<T>(
        mut self,
        kind: RecordKind,
        skipped: &mut Vec<SkippedRecord>,
        mut build: impl FnMut(RecordLocation, &csv::StringRecord) -> Result<T, SkippedRecord>,
        partial: impl Fn(RecordLocation, &csv::StringRecord) -> Option<Box<Person>>,
        out: &mut Vec<T>,
    ) -> Option<String> {
        // Reserved once, so a million rows are not copied as the list grows.
        out.reserve(self.lines.most_rows(self.header.len(), self.delimiter));
        let file = self.file.clone();
        self.each(|line, row| {
            let location = RecordLocation { file: file.clone(), line };
            match row {
                Parsed::Row(record) => match build(location, record) {
                    Ok(r) => out.push(r),
                    Err(s) => skipped.push(s),
                },
                Parsed::Misshapen(record, reason) => skipped.push(SkippedRecord {
                    partial: partial(location.clone(), record),
                    ..SkippedRecord::new(kind, location, reason)
                }),
                Parsed::Broken(reason) => skipped.push(SkippedRecord::new(kind, location, reason)),
            }
        });
        self.incomplete
    }
}

/// Why a parsed record cannot be used as a row of a table `width` columns wide, if it
/// cannot: the wrong number of cells, a cell too long, or cells with line breaks that
/// hold as many delimiters as a whole row (an unbalanced quote joined rows into it).
fn misshapen(record: &csv::StringRecord, width: usize, delimiter: u8) -> Option<String> {
    if record.len() != width {
        return Some(format!("expected {width} columns, found {}", record.len()));
    }
    if let Some((i, cell)) = record.iter().enumerate().find(|(_, c)| c.len() > MAX_CELL_BYTES) {
        return Some(format!(
            "cell {} is {} bytes long, more than the {MAX_CELL_BYTES} a cell may hold; an unbalanced quote may have joined the rows after it into it",
            i + 1,
            cell.len()
        ));
    }
    let joined: usize = record
        .iter()
        .filter(|c| c.contains('\n'))
        .map(|c| c.bytes().filter(|b| *b == delimiter).count())
        .sum();
    (joined >= width.saturating_sub(1).max(1)).then(|| {
        "a cell with line breaks holds as many delimiters as a whole row; an unbalanced quote may have joined rows into this one".to_owned()
    })
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

    /// How many line breaks lie between two byte offsets: the lines a record ending
    /// with its line break spans.
    fn between(&self, start: u64, end: u64) -> usize {
        let index = |offset: u64| {
            let at = usize::try_from(offset).unwrap_or(usize::MAX);
            self.newlines.partition_point(|n| *n < at)
        };
        index(end).saturating_sub(index(start))
    }

    /// The most rows of `width` cells the text can hold: a bound, not a guess, so a
    /// hostile file cannot make it huge. At most one row a line, a row holds a
    /// character that is no line break, and a delimiter between each two of its cells
    /// (a file of blank lines, or of lines with too few cells, holds none).
    fn most_rows(&self, width: usize, delimiter: u8) -> usize {
        let (bytes, newlines) = (self.bytes.len(), self.newlines.len());
        let rows = (newlines + 1).min(bytes - newlines);
        if width < 2 {
            return rows;
        }
        rows.min(self.bytes.iter().filter(|b| **b == delimiter).count() / (width - 1))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rows_reserved_are_bounded_by_what_the_text_can_hold() {
        let rows = |text: &str, width: usize| Lines::new(text.as_bytes()).most_rows(width, b';');
        // Every row counted, with a line to spare at most.
        assert_eq!(rows("a;b;c\nd;e;f\ng;h;i\n", 3), 3);
        assert_eq!(rows("a;b;c\nd;e;f", 3), 2);
        assert_eq!(rows("a\nb\nc\n", 1), 3);
        // Lines that can be no row reserve nothing: blank, or with too few cells.
        assert_eq!(rows(&"\n".repeat(100_000), 1), 0);
        assert_eq!(rows(&"\r\n".repeat(100_000), 15), 0);
        assert_eq!(rows(&"x;y\n".repeat(100_000), 15), 7_142);
        assert_eq!(rows("", 3), 0);
    }
}
