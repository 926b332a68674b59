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
    /// Every node's position, as a tree (node 0 is the root): a key's text is kept once,
    /// in its parent, so the index is as large as the document however deep it nests.
    nodes: Vec<Node>,
}

/// One node of the position index.
#[derive(Debug)]
struct Node {
    /// Where its value starts.
    value: Position,
    /// Where its key is, for a member of a mapping.
    key: Option<Position>,
    /// Its members or items.
    children: Children,
}

#[derive(Debug)]
enum Children {
    Leaf,
    Mapping(HashMap<String, usize>),
    Sequence(Vec<usize>),
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
        Ok(Document { file: file.to_owned(), value, nodes: index.nodes })
    }

    /// The node at `pointer`, or its nearest ancestor; and whether it is the node itself.
    fn find(&self, pointer: &str) -> Option<(&Node, bool)> {
        let mut node = self.nodes.first()?;
        if pointer.is_empty() {
            return Some((node, true));
        }
        let Some(rest) = pointer.strip_prefix('/') else { return Some((node, false)) };
        for segment in rest.split('/') {
            let next = match &node.children {
                Children::Leaf => None,
                Children::Mapping(members) => {
                    let name: Cow<'_, str> = if segment.contains('~') {
                        Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
                    } else {
                        Cow::Borrowed(segment)
                    };
                    members.get(name.as_ref()).copied()
                }
                Children::Sequence(items) => {
                    segment.parse::<usize>().ok().and_then(|i| items.get(i).copied())
                }
            };
            match next.and_then(|i| self.nodes.get(i)) {
                Some(n) => node = n,
                None => return Some((node, false)),
            }
        }
        Some((node, true))
    }

    /// The position of the node at `pointer`, or of its nearest ancestor that has one.
    pub fn position(&self, pointer: &str) -> Position {
        self.find(pointer).map_or(Position { line: 1, column: 1, quoted: false }, |(n, _)| n.value)
    }

    /// The position of the key of the member at `pointer` (falls back to its value).
    pub fn key_position(&self, pointer: &str) -> Position {
        match self.find(pointer) {
            Some((node, true)) => node.key.unwrap_or(node.value),
            _ => self.position(pointer),
        }
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
    /// A mapping (its node), and the key whose value comes next.
    Mapping { node: usize, key: Option<(String, Marker)> },
    /// A sequence (its node).
    Sequence { node: usize },
    /// A mapping or sequence used as a key: nothing in it is indexed.
    Key,
}

#[derive(Default)]
struct Indexer {
    stack: Vec<Frame>,
    nodes: Vec<Node>,
}

impl Indexer {
    /// Adds the node that starts now at `mark`, under its parent, unless the event is a
    /// key (`None`). `key_text` is the scalar's text, should it be a key.
    fn next_node(&mut self, key_text: Option<&str>, mark: Marker, quoted: bool) -> Option<usize> {
        let index = self.nodes.len();
        let mut key_pos = None;
        match self.stack.last_mut() {
            None if index > 0 => return None,
            None => {}
            Some(Frame::Key) => return None,
            Some(Frame::Sequence { node }) => {
                if let Children::Sequence(items) = &mut self.nodes[*node].children {
                    items.push(index);
                }
            }
            Some(Frame::Mapping { node, key }) => match key.take() {
                Some((k, key_mark)) => {
                    key_pos = Some(pos(key_mark, false));
                    if let Children::Mapping(members) = &mut self.nodes[*node].children {
                        members.insert(k, index);
                    }
                }
                None => {
                    // A key. Complex (non-scalar) keys do not occur in hrsync documents;
                    // they are indexed under an empty name.
                    *key = Some((key_text.unwrap_or_default().to_owned(), mark));
                    // A block mapping's start event is marked after its first key; the
                    // mapping starts where its first key does.
                    let first = pos(mark, false);
                    let start = &mut self.nodes[*node].value;
                    if (first.line, first.column) < (start.line, start.column) {
                        *start = first;
                    }
                    return None;
                }
            },
        }
        self.nodes.push(Node { value: pos(mark, quoted), key: key_pos, children: Children::Leaf });
        Some(index)
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
                let quoted = matches!(style, TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted);
                self.next_node(Some(&text), mark, quoted);
            }
            Event::Alias(_) => {
                self.next_node(None, mark, false);
            }
            Event::MappingStart(..) => {
                let frame = match self.next_node(None, mark, false) {
                    Some(node) => {
                        self.nodes[node].children = Children::Mapping(HashMap::new());
                        Frame::Mapping { node, key: None }
                    }
                    None => Frame::Key,
                };
                self.stack.push(frame);
            }
            Event::SequenceStart(..) => {
                let frame = match self.next_node(None, mark, false) {
                    Some(node) => {
                        self.nodes[node].children = Children::Sequence(Vec::new());
                        Frame::Sequence { node }
                    }
                    None => Frame::Key,
                };
                self.stack.push(frame);
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
    fn escaped_and_complex_keys_are_found_or_fall_back() {
        let doc = Document::parse("d.yaml", "a/b:\n  c~d: 1\nlist: [x, {y: 2}]\n").unwrap();
        assert_eq!(doc.position("/a~1b/c~0d"), Position { line: 2, column: 8, quoted: false });
        assert_eq!(doc.position("/list/1/y").line, 3);
        assert_eq!(doc.position("/list/7").line, 3, "a missing item falls back to its list");
        assert_eq!(doc.position("/nope").line, 1);
        // A complex key is not indexed, and does not take its value's place.
        let index = {
            let mut index = Indexer::default();
            let _ = Parser::new_from_str("? [k, l]\n: v\nm: 3\n").load(&mut index, false);
            index
        };
        let doc = Document { file: "k.yaml".into(), value: serde_json::Value::Null, nodes: index.nodes };
        assert_eq!(doc.position("/m"), Position { line: 3, column: 4, quoted: false });
    }

    #[test]
    fn the_index_stays_linear_in_a_long_key_over_many_items() {
        // The index once held each node's whole pointer: a 50 KB key over 50,000 items
        // was 2.5 GB. Now a key is kept once.
        let key = "k".repeat(50_000);
        let text = format!("? {key}\n:\n{}", "  - 1\n".repeat(50_000));
        let doc = Document::parse("d.yaml", &text).unwrap();
        assert_eq!(doc.nodes.len(), 50_002);
        assert_eq!(doc.position(&format!("/{key}/49999")).line, 50_002);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = Document::parse("bad.yaml", "a: 1\n b: [\n").unwrap_err();
        assert_eq!(err.file, "bad.yaml");
        assert!(err.line >= 2, "{err}");
        assert!(err.message.starts_with("invalid YAML"), "{err}");
    }
}
