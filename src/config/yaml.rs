//! YAML documents with positions: every node's line and column by JSON pointer.
//!
//! serde gives types but not positions of values, and JSON Schema errors come as JSON
//! pointers. This module parses a document twice: with `serde_yaml` into a JSON value
//! (the instance that schema validation and typed deserialization read), and with
//! yaml-rust2's event parser into an index from JSON pointer to position, so any
//! problem found later can point at its file, line and column.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::diagnostic::Diagnostic;

/// Where a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The node is a quoted scalar: its text starts one column further.
    pub quoted: bool,
}

/// A parsed YAML document and the positions of its nodes.
#[derive(Debug)]
pub struct Document {
    /// The file, relative to the sync repository.
    pub file: String,
    /// The document as JSON.
    pub value: serde_json::Value,
    values: HashMap<String, Position>,
    keys: HashMap<String, Position>,
}

impl Document {
    /// Parses `text`. A syntax error comes back as a diagnostic with its position.
    pub fn parse(file: &str, text: &str) -> Result<Document, Diagnostic> {
        check_limits(file, text)?;
        let value: serde_json::Value = match serde_yaml::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
                let message = e.to_string();
                // serde_yaml appends " at line X column Y"; the position is shown anyway.
                let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
                return Err(Diagnostic {
                    file: file.to_owned(),
                    line,
                    column,
                    message: format!("invalid YAML: {message}"),
                    hint: Some("check the indentation and quoting around this position".into()),
                    pointer: None,
                });
            }
        };
        let mut index = Indexer::default();
        let mut parser = Parser::new_from_str(text);
        // serde_yaml accepted the text, so the event parser does too; if it does not,
        // positions fall back to the top of the file.
        let _ = parser.load(&mut index, false);
        Ok(Document { file: file.to_owned(), value, values: index.values, keys: index.keys })
    }

    /// The position of the node at `pointer`, or of its nearest ancestor that has one.
    pub fn position(&self, pointer: &str) -> Position {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.values.get(p) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Position { line: 1, column: 1, quoted: false },
            }
        }
    }

    /// The position of the key of the member at `pointer` (falls back to its value).
    pub fn key_position(&self, pointer: &str) -> Position {
        self.keys.get(pointer).copied().unwrap_or_else(|| self.position(pointer))
    }

    /// The position `offset` characters into the scalar at `pointer`, for errors inside
    /// a template. Exact for scalars written on one line.
    pub fn position_in(&self, pointer: &str, offset: usize) -> Position {
        let pos = self.position(pointer);
        Position { column: pos.column + offset + usize::from(pos.quoted), ..pos }
    }

    /// A diagnostic at the node at `pointer`.
    pub fn error_at(&self, pointer: &str, message: impl Into<String>, hint: Option<String>) -> Diagnostic {
        Diagnostic {
            pointer: Some(pointer.to_owned()),
            ..self.diagnostic(self.position(pointer), message, hint)
        }
    }

    /// A diagnostic at the key of the member at `pointer`.
    pub fn error_at_key(
        &self,
        pointer: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            pointer: Some(pointer.to_owned()),
            ..self.diagnostic(self.key_position(pointer), message, hint)
        }
    }

    /// A diagnostic at a position.
    pub fn diagnostic(&self, pos: Position, message: impl Into<String>, hint: Option<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
            hint,
            pointer: None,
        }
    }
}

/// Removes the node at `pointer` from `value` (nothing when absent or the root).
pub fn remove(value: &mut serde_json::Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else { return };
    let last = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(serde_json::Value::Object(map)) => {
            map.remove(&last);
        }
        Some(serde_json::Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                // Replace rather than shift, so sibling pointers stay valid.
                items[i] = serde_json::Value::Null;
            }
        }
        _ => {}
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn escape_segment(segment: &str) -> Cow<'_, str> {
    if segment.contains(['~', '/']) {
        Cow::Owned(segment.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(segment)
    }
}

use std::borrow::Cow;

/// Joins a pointer and a segment.
pub fn child(pointer: &str, segment: &str) -> String {
    format!("{pointer}/{}", escape_segment(segment))
}

enum Frame {
    Mapping { pointer: String, key: Option<(String, Marker)> },
    Sequence { pointer: String, next: usize },
}

#[derive(Default)]
struct Indexer {
    stack: Vec<Frame>,
    values: HashMap<String, Position>,
    keys: HashMap<String, Position>,
}

impl Indexer {
    /// The pointer of the node that starts now, or `None` when the event is a key.
    fn next_pointer(&mut self, key_text: Option<&str>, mark: Marker) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Sequence { pointer, next }) => {
                let p = child(pointer, &next.to_string());
                *next += 1;
                Some(p)
            }
            Some(Frame::Mapping { pointer, key }) => match key.take() {
                Some((k, key_mark)) => {
                    let p = child(pointer, &k);
                    self.keys.insert(p.clone(), pos(key_mark, false));
                    Some(p)
                }
                None => {
                    // A key. Complex (non-scalar) keys do not occur in hrsync documents;
                    // they are indexed under an empty name.
                    *key = Some((key_text.unwrap_or_default().to_owned(), mark));
                    // A block mapping's start event is marked after its first key; the
                    // mapping starts where its first key does.
                    let key_pos = pos(mark, false);
                    if let Some(start) = self.values.get_mut(pointer.as_str())
                        && (key_pos.line, key_pos.column) < (start.line, start.column)
                    {
                        *start = key_pos;
                    }
                    None
                }
            },
        }
    }
}

fn pos(mark: Marker, quoted: bool) -> Position {
    // yaml-rust2 columns are 0-based.
    Position { line: mark.line(), column: mark.col() + 1, quoted }
}

impl MarkedEventReceiver for Indexer {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(text, style, ..) => {
                if let Some(p) = self.next_pointer(Some(&text), mark) {
                    let quoted = matches!(style, TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted);
                    self.values.insert(p, pos(mark, quoted));
                }
            }
            Event::Alias(_) => {
                if let Some(p) = self.next_pointer(None, mark) {
                    self.values.insert(p, pos(mark, false));
                }
            }
            Event::MappingStart(..) => {
                let p = self.next_pointer(None, mark).unwrap_or_default();
                self.values.insert(p.clone(), pos(mark, false));
                self.stack.push(Frame::Mapping { pointer: p, key: None });
            }
            Event::SequenceStart(..) => {
                let p = self.next_pointer(None, mark).unwrap_or_default();
                self.values.insert(p.clone(), pos(mark, false));
                self.stack.push(Frame::Sequence { pointer: p, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

/// The largest document hrsync reads: config files are a few kilobytes.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// The deepest nesting of a document (flow brackets and block levels): config files
/// nest a handful of levels.
pub const MAX_DEPTH: usize = 64;

/// Refuses, in one linear pass, what would make the YAML parsers slow or deep: a
/// document over [`MAX_DOCUMENT_BYTES`], or nesting over [`MAX_DEPTH`] (YAML parsers
/// spend time per token in the depth, so a file of nested `[` costs the square of its
/// length). Quoted text and comments do not count; the count is an upper bound of the
/// real nesting, so a document it lets through is within the limit.
fn check_limits(file: &str, text: &str) -> Result<(), Diagnostic> {
    let error = |line: usize, column: usize, message: String, hint: &str| Diagnostic {
        file: file.to_owned(),
        line,
        column,
        message,
        hint: Some(hint.to_owned()),
        pointer: None,
    };
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(error(
            1,
            1,
            format!("the file is {} bytes; a document may have at most {MAX_DOCUMENT_BYTES}", text.len()),
            "split it, or keep data in the source files rather than in the config",
        ));
    }
    let mut flow = 0usize;
    let mut quote: Option<char> = None;
    for (n, raw) in text.lines().enumerate() {
        let (line, mut column) = (n + 1, 0usize);
        // Block levels: indentation, and compact `- - -` sequences on one line.
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        let mut block = indent / 2;
        let mut rest = raw.trim_start_matches(' ');
        while let Some(after) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
            block += 1;
            rest = after.trim_start_matches(' ');
        }
        if block + flow > MAX_DEPTH {
            return Err(error(
                line,
                indent + 1,
                format!("the document nests deeper than {MAX_DEPTH} levels"),
                "config documents nest a few levels: look for an indentation or a sequence that runs away",
            ));
        }
        // Quoted scalars do not count: a quote opens one only where a scalar starts (a
        // quote inside plain text is text), and it may span lines. Counting too much is
        // safe: the count is an upper bound of the nesting the parser will see.
        let (mut escaped, mut previous) = (false, ' ');
        let mut significant: Option<char> = None;
        for c in raw.chars() {
            column += 1;
            match quote {
                Some('"') if escaped => escaped = false,
                Some('"') if c == '\\' => escaped = true,
                Some(q) if c == q => {
                    quote = None;
                    significant = Some(c);
                }
                Some(_) => {}
                None => {
                    match c {
                        '"' | '\'' if significant.is_none_or(|s| "-:[{,?".contains(s)) => quote = Some(c),
                        '#' if previous == ' ' || column == 1 => break,
                        '[' | '{' => {
                            flow += 1;
                            if block + flow > MAX_DEPTH {
                                return Err(error(
                                    line,
                                    column,
                                    format!("the document nests deeper than {MAX_DEPTH} levels"),
                                    "config documents nest a few levels: look for brackets that are never closed",
                                ));
                            }
                        }
                        ']' | '}' => flow = flow.saturating_sub(1),
                        _ => {}
                    }
                    if c != ' ' {
                        significant = Some(c);
                    }
                }
            }
            previous = c;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "version: 1\nfields:\n  cn: { value: \"{{ first_name }}\" }\n  mail:\n    value: x\nlist:\n  - a\n  - b: 2\n";

    #[test]
    fn indexes_values_and_keys_by_pointer() {
        let doc = Document::parse("d.yaml", TEXT).unwrap();
        assert_eq!(doc.position("/version"), Position { line: 1, column: 10, quoted: false });
        assert_eq!(doc.key_position("/fields/mail"), Position { line: 4, column: 3, quoted: false });
        assert_eq!(doc.position("/fields/mail/value").line, 5);
        let cn = doc.position("/fields/cn/value");
        assert_eq!((cn.line, cn.column, cn.quoted), (3, 16, true));
        assert_eq!(doc.position("/list/1/b").line, 8);
        assert_eq!(doc.position("/list/0").line, 7);
        // unknown pointers fall back to the nearest ancestor
        assert_eq!(doc.position("/fields/mail/nope").line, 5);
        assert_eq!(doc.position_in("/fields/cn/value", 3).column, 20);
        assert_eq!(doc.value["list"][1]["b"], 2);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = Document::parse("bad.yaml", "a: 1\n b: [\n").unwrap_err();
        assert_eq!(err.file, "bad.yaml");
        assert!(err.line >= 2, "{err}");
        assert!(err.message.starts_with("invalid YAML"), "{err}");
    }
}
