//! The small template language of directory fields: `{{ field | filter | filter(arg) }}`.
//!
//! A template is literal text with expressions in `{{ }}`. An expression names a person
//! field (`first_name`, `custom.cost_center`, `org_unit_name`, `n` in candidates) or a
//! quoted string, followed by filters:
//!
//! | filter | effect |
//! |---|---|
//! | `lower`, `upper`, `trim` | letter case, surrounding spaces |
//! | `ascii` | transliterate to ASCII (`Jürgen Ørsted` → `Jurgen Orsted`) |
//! | `alnum` | keep only ASCII letters and digits |
//! | `initial` | the first character |
//! | `truncate(n)` | at most n characters |
//! | `replace("a", "b")` | replace text |
//! | `default(x)` | `x` (a field or a string) when the value is empty |
//! | `account_expires` | a date as Active Directory's `accountExpires`: the end of that day (UTC) in 100 ns intervals since 1601 |
//!
//! An absent field renders as empty text; a template whose result is empty after
//! trimming gives no value at all. Templates are compiled once, when the config is
//! loaded, so an unknown field or filter is reported with its column, and rendering a
//! hundred thousand people costs little more than copying their strings. hrsync uses
//! this instead of a general template engine because fields only ever need these
//! few operations, and a closed language can be checked completely before a run.
//!
//! A template is at most [`MAX_TEMPLATE_BYTES`] long, with at most [`MAX_PARTS`] texts
//! and expressions and [`MAX_FILTERS`] filters an expression, and its `replace` filters
//! may not make a value more than [`MAX_GROWTH`] times longer (`replace("a", "aa")`
//! twenty times over would make a million letters of one). Beyond that the template is
//! an error with its position, so parsing and rendering cost time linear in the
//! template and the values, never more.

use std::borrow::Cow;
use std::fmt;

use super::record::{FieldRef, FieldValue, Person};

/// The longest template, in bytes: field templates are a line or two.
pub const MAX_TEMPLATE_BYTES: usize = 4096;

/// The most texts and expressions in one template.
pub const MAX_PARTS: usize = 256;

/// The most filters in one expression.
pub const MAX_FILTERS: usize = 32;

/// How many times longer an expression's `replace` filters may make a value, at most.
pub const MAX_GROWTH: usize = 64;

/// A compiled template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Expr {
    operand: Operand,
    filters: Vec<Filter>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Operand {
    Field(FieldRef),
    Counter,
    Literal(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Filter {
    Lower,
    Upper,
    Trim,
    Ascii,
    Alnum,
    Initial,
    Truncate(usize),
    Replace(String, String),
    Default(Operand),
    AccountExpires,
}

const FILTERS: &[&str] = &[
    "lower",
    "upper",
    "trim",
    "ascii",
    "alnum",
    "initial",
    "truncate",
    "replace",
    "default",
    "account_expires",
];

/// A template that does not compile, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// Character offset of the problem in the template text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
    /// The unknown name, when the problem is one, with the names it could have meant;
    /// the config compiler turns it into a did-you-mean hint.
    pub unknown: Option<UnknownName>,
}

/// A name a template used that is not defined, and the names that are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    /// The name as written.
    pub name: String,
    /// The names that are defined in its place.
    pub known: Vec<&'static str>,
}

/// The values a template reads.
pub trait Vars {
    /// The value of a field, if present.
    fn get(&self, field: &FieldRef) -> Option<FieldValue<'_>>;
}

/// Whether `{{ n }}` may be used: only in `candidates`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// `n` is allowed.
    Allowed,
    /// `n` is an unknown name.
    Forbidden,
}

impl Template {
    /// Compiles a template.
    pub fn parse(source: &str, counter: Counter) -> Result<Template, TemplateError> {
        Self::parse_with(source, counter, &[])
    }

    /// Compiles a template in which the names of `aliases` stand for their fields, and
    /// no other field may be used (a group's name: `{{ value }}` is the value grouped
    /// by). Without aliases, every field may be used.
    pub fn parse_with(
        source: &str,
        counter: Counter,
        aliases: &[(&'static str, FieldRef)],
    ) -> Result<Template, TemplateError> {
        if source.len() > MAX_TEMPLATE_BYTES {
            let mut cut = MAX_TEMPLATE_BYTES;
            while !source.is_char_boundary(cut) {
                cut -= 1;
            }
            return Err(TemplateError {
                offset: char_len(&source[..cut]),
                message: format!("the template is longer than {MAX_TEMPLATE_BYTES} bytes"),
                hint: Some(
                    "a field's template is a line or two; build long values from several fields".into(),
                ),
                unknown: None,
            });
        }
        let mut parts = Vec::new();
        let mut rest = source;
        let mut offset = 0;
        let too_many = |offset: usize| TemplateError {
            offset,
            message: format!("the template has more than {MAX_PARTS} texts and expressions"),
            hint: None,
            unknown: None,
        };
        while let Some(start) = rest.find("{{") {
            if parts.len() + 2 > MAX_PARTS {
                return Err(too_many(offset));
            }
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| TemplateError {
                offset: offset + char_len(&rest[..start]),
                message: "`{{` is never closed".into(),
                hint: Some("close the expression with `}}`".into()),
                unknown: None,
            })?;
            let inner_offset = offset + char_len(&rest[..start + 2]);
            let expr =
                ExprParser { text: &after[..end], pos: 0, base: inner_offset, counter, aliases }.parse()?;
            parts.push(Part::Expr(expr));
            offset = inner_offset + char_len(&after[..end + 2]);
            rest = &after[end + 2..];
        }
        if let Some(i) = rest.find("}}") {
            return Err(TemplateError {
                offset: offset + char_len(&rest[..i]),
                message: "`}}` without a matching `{{`".into(),
                hint: None,
                unknown: None,
            });
        }
        if !rest.is_empty() {
            if parts.len() >= MAX_PARTS {
                return Err(too_many(offset));
            }
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { source: source.to_owned(), parts })
    }

    /// The template text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Every field the template reads, in order of appearance, without repeats.
    pub fn fields(&self) -> Vec<FieldRef> {
        let mut out: Vec<FieldRef> = Vec::new();
        let mut add = |op: &Operand| {
            if let Operand::Field(f) = op
                && !out.contains(f)
            {
                out.push(f.clone());
            }
        };
        for part in &self.parts {
            if let Part::Expr(expr) = part {
                add(&expr.operand);
                for filter in &expr.filters {
                    if let Filter::Default(op) = filter {
                        add(op);
                    }
                }
            }
        }
        out
    }

    /// Whether the template uses `{{ n }}`.
    pub fn uses_counter(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(p, Part::Expr(e) if e.operand == Operand::Counter
                || e.filters.iter().any(|f| f == &Filter::Default(Operand::Counter)))
        })
    }

    /// Renders the template. `n` is the value of `{{ n }}`. Returns `None` when the
    /// result is empty after trimming.
    pub fn render(&self, vars: &dyn Vars, n: Option<u32>) -> Option<String> {
        let mut out = String::new();
        if !self.render_into(vars, n, &mut out) {
            return None;
        }
        let trimmed = out.trim();
        if trimmed.len() == out.len() { Some(out) } else { Some(trimmed.to_owned()) }
    }

    /// Renders the template onto the end of `out`, without trimming; returns whether
    /// what it wrote has anything but white space. Lets a caller compare a value with
    /// what a directory holds without allocating.
    pub fn render_into(&self, vars: &dyn Vars, n: Option<u32>, out: &mut String) -> bool {
        let start = out.len();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Expr(expr) => expr.render(vars, n, out),
            }
        }
        !out[start..].trim().is_empty()
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Active Directory's `accountExpires` for someone whose last day is `date`: the start
/// of the next day, UTC, in 100-nanosecond intervals since 1601-01-01.
fn account_expires(date: jiff::civil::Date) -> Option<i128> {
    let next = date.tomorrow().ok()?;
    let seconds = next.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp().as_second();
    // 11,644,473,600 seconds lie between 1601-01-01 and 1970-01-01.
    Some((i128::from(seconds) + 11_644_473_600) * 10_000_000)
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

impl Operand {
    fn value<'a>(&'a self, vars: &'a dyn Vars, n: Option<u32>) -> Cow<'a, str> {
        match self {
            Operand::Literal(s) => Cow::Borrowed(s),
            Operand::Counter => Cow::Owned(n.map(|n| n.to_string()).unwrap_or_default()),
            Operand::Field(field) => match vars.get(field) {
                Some(FieldValue::Text(s)) => Cow::Borrowed(s),
                Some(other) => Cow::Owned(other.to_text()),
                None => Cow::Borrowed(""),
            },
        }
    }
}

impl Expr {
    fn render(&self, vars: &dyn Vars, n: Option<u32>, out: &mut String) {
        let mut value = self.operand.value(vars, n);
        for filter in &self.filters {
            value = filter.apply(value, vars, n);
        }
        out.push_str(&value);
    }
}

impl Filter {
    /// How many times longer the filter can make a value, at most (rounded up): only
    /// `replace` grows a value by more than a few bytes a character.
    fn growth(&self) -> usize {
        match self {
            // An empty pattern matches between every two characters.
            Filter::Replace(from, to) if from.is_empty() => to.len().saturating_add(1),
            Filter::Replace(from, to) => to.len().div_ceil(from.len()).max(1),
            _ => 1,
        }
    }

    fn apply<'a>(&'a self, value: Cow<'a, str>, vars: &'a dyn Vars, n: Option<u32>) -> Cow<'a, str> {
        match self {
            Filter::Lower if value.chars().any(char::is_uppercase) => Cow::Owned(value.to_lowercase()),
            Filter::Upper if value.chars().any(char::is_lowercase) => Cow::Owned(value.to_uppercase()),
            Filter::Trim => match value {
                Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
                Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
            },
            Filter::Ascii if !value.is_ascii() => Cow::Owned(deunicode::deunicode(&value)),
            Filter::Alnum if !value.chars().all(|c| c.is_ascii_alphanumeric()) => {
                Cow::Owned(value.chars().filter(char::is_ascii_alphanumeric).collect())
            }
            Filter::Initial => Cow::Owned(value.chars().next().map(String::from).unwrap_or_default()),
            Filter::Truncate(max) => match value.char_indices().nth(*max) {
                Some((cut, _)) => Cow::Owned(value[..cut].to_owned()),
                None => value,
            },
            Filter::Replace(from, to) if value.contains(from.as_str()) => Cow::Owned(value.replace(from, to)),
            Filter::Default(fallback) if value.trim().is_empty() => fallback.value(vars, n),
            Filter::AccountExpires => match value.trim().parse::<jiff::civil::Date>() {
                Ok(date) => Cow::Owned(account_expires(date).map(|t| t.to_string()).unwrap_or_default()),
                Err(_) => Cow::Borrowed(""),
            },
            _ => value,
        }
    }
}

struct ExprParser<'a> {
    text: &'a str,
    pos: usize,
    base: usize,
    counter: Counter,
    /// Names standing for fields; when given, the only names allowed.
    aliases: &'a [(&'static str, FieldRef)],
}

impl ExprParser<'_> {
    fn offset(&self) -> usize {
        self.base + char_len(&self.text[..self.pos])
    }

    fn error(&self, message: impl Into<String>, hint: Option<String>) -> TemplateError {
        TemplateError { offset: self.offset(), message: message.into(), hint, unknown: None }
    }

    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> &str {
        let rest = &self.text[self.pos..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))
            .unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    fn parse(mut self) -> Result<Expr, TemplateError> {
        self.skip_ws();
        if self.pos == self.text.len() {
            return Err(self.error(
                "empty expression `{{ }}`",
                Some("name a field, for example `{{ first_name }}`".into()),
            ));
        }
        let operand = self.operand()?;
        let mut filters = Vec::new();
        let mut growth = 1usize;
        while self.eat('|') {
            if filters.len() == MAX_FILTERS {
                return Err(self.error(format!("an expression may have at most {MAX_FILTERS} filters"), None));
            }
            self.skip_ws();
            let at = self.offset();
            let filter = self.filter()?;
            growth = growth.saturating_mul(filter.growth());
            if growth > MAX_GROWTH {
                return Err(TemplateError {
                    offset: at,
                    message: format!(
                        "these `replace` filters can make a value more than {MAX_GROWTH} times longer"
                    ),
                    hint: Some("replace with shorter text, or fewer times".into()),
                    unknown: None,
                });
            }
            filters.push(filter);
        }
        self.skip_ws();
        if self.pos != self.text.len() {
            return Err(self.error(
                format!("unexpected `{}`", &self.text[self.pos..]),
                Some("separate filters with `|`, for example `{{ last_name | lower }}`".into()),
            ));
        }
        Ok(Expr { operand, filters })
    }

    fn operand(&mut self) -> Result<Operand, TemplateError> {
        self.skip_ws();
        if let Some(quote @ ('"' | '\'')) = self.peek() {
            return self.string(quote).map(Operand::Literal);
        }
        let start = self.offset();
        let name = self.word().to_owned();
        if name.is_empty() {
            return Err(self.error("expected a field name or a quoted string", None));
        }
        if name == "n" {
            return match self.counter {
                Counter::Allowed => Ok(Operand::Counter),
                Counter::Forbidden => Err(TemplateError {
                    offset: start,
                    message: "`n` is only defined in `candidates`".into(),
                    hint: Some("use `candidates: [...]` with `unique: true` to number values".into()),
                    unknown: None,
                }),
            };
        }
        if !self.aliases.is_empty() {
            return match self.aliases.iter().find(|(alias, _)| *alias == name) {
                Some((_, field)) => Ok(Operand::Field(field.clone())),
                None => {
                    let known: Vec<&'static str> = self.aliases.iter().map(|(a, _)| *a).collect();
                    Err(TemplateError {
                        offset: start,
                        message: format!("unknown name `{name}`"),
                        hint: Some(format!(
                            "use {}",
                            known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" or ")
                        )),
                        unknown: Some(UnknownName { name: name.clone(), known }),
                    })
                }
            };
        }
        name.parse::<FieldRef>().map(Operand::Field).map_err(|()| TemplateError {
            offset: start,
            message: format!("unknown field `{name}`"),
            hint: Some("custom attributes are written `custom.<name>`".into()),
            unknown: Some(UnknownName { name: name.clone(), known: FieldRef::known_names().collect() }),
        })
    }

    fn string(&mut self, quote: char) -> Result<String, TemplateError> {
        let start = self.pos;
        self.pos += 1;
        match self.text[self.pos..].find(quote) {
            Some(len) => {
                let s = self.text[self.pos..self.pos + len].to_owned();
                self.pos += len + 1;
                Ok(s)
            }
            None => {
                self.pos = start;
                Err(self.error("string is never closed", None))
            }
        }
    }

    fn number(&mut self) -> Result<usize, TemplateError> {
        self.skip_ws();
        let at = self.pos;
        let word = self.word().to_owned();
        word.parse().map_err(|_| {
            self.pos = at;
            self.error(format!("expected a number, found `{word}`"), None)
        })
    }

    fn filter(&mut self) -> Result<Filter, TemplateError> {
        self.skip_ws();
        let start = self.offset();
        let name = self.word().to_owned();
        let filter = match name.as_str() {
            "lower" => Filter::Lower,
            "upper" => Filter::Upper,
            "trim" => Filter::Trim,
            "ascii" => Filter::Ascii,
            "alnum" => Filter::Alnum,
            "initial" => Filter::Initial,
            "account_expires" => Filter::AccountExpires,
            "truncate" => {
                self.expect_open(&name)?;
                let n = self.number()?;
                self.expect_close()?;
                Filter::Truncate(n)
            }
            "replace" => {
                self.expect_open(&name)?;
                self.skip_ws();
                let from = self.quoted_arg()?;
                if !self.eat(',') {
                    return Err(self.error("`replace` takes two strings: `replace(\"from\", \"to\")`", None));
                }
                self.skip_ws();
                let to = self.quoted_arg()?;
                self.expect_close()?;
                Filter::Replace(from, to)
            }
            "default" => {
                self.expect_open(&name)?;
                let op = self.operand()?;
                self.expect_close()?;
                Filter::Default(op)
            }
            "" => return Err(self.error("expected a filter name after `|`", None)),
            other => {
                return Err(TemplateError {
                    offset: start,
                    message: format!("unknown filter `{other}`"),
                    hint: Some(format!("filters are {}", FILTERS.join(", "))),
                    unknown: Some(UnknownName { name: other.to_owned(), known: FILTERS.to_vec() }),
                });
            }
        };
        Ok(filter)
    }

    fn quoted_arg(&mut self) -> Result<String, TemplateError> {
        match self.peek() {
            Some(q @ ('"' | '\'')) => self.string(q),
            _ => Err(self.error("expected a quoted string", None)),
        }
    }

    fn expect_open(&mut self, name: &str) -> Result<(), TemplateError> {
        if self.eat('(') {
            Ok(())
        } else {
            Err(self.error(format!("`{name}` needs an argument in parentheses"), None))
        }
    }

    fn expect_close(&mut self) -> Result<(), TemplateError> {
        if self.eat(')') { Ok(()) } else { Err(self.error("expected `)`", None)) }
    }
}

/// A bare person record as template and filter variables (no merged extras).
pub struct PersonOnly<'a>(pub &'a Person);

impl Vars for PersonOnly<'_> {
    fn get(&self, field: &FieldRef) -> Option<FieldValue<'_>> {
        match field {
            FieldRef::Person(f) => self.0.get(*f),
            FieldRef::Custom(name) => self.0.custom.get(name).map(|v| FieldValue::Text(v)),
            FieldRef::OrgUnitName => None,
            FieldRef::Source => Some(FieldValue::Text(self.0.source.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Person, PersonField};

    use super::PersonOnly as P;

    fn render(t: &str, p: &Person) -> Option<String> {
        Template::parse(t, Counter::Allowed).unwrap().render(&P(p), Some(2))
    }

    #[test]
    fn renders_fields_and_filters() {
        let p = Person::test("E1").first("Jürgen").last("O'Brien Ørsted").custom("cc", "4711");
        assert_eq!(render("{{ first_name }} {{ last_name }}", &p).as_deref(), Some("Jürgen O'Brien Ørsted"));
        assert_eq!(
            render("{{ first_name | ascii | lower }}.{{ last_name | ascii | alnum | lower }}{{ n }}", &p)
                .as_deref(),
            Some("jurgen.obrienorsted2")
        );
        assert_eq!(render("{{ first_name | initial | upper }}", &p).as_deref(), Some("J"));
        assert_eq!(render("{{ last_name | truncate(3) }}", &p).as_deref(), Some("O'B"));
        assert_eq!(render("{{ custom.cc | replace(\"47\", \"x\") }}", &p).as_deref(), Some("x11"));
        assert_eq!(render("{{ preferred_name | default(first_name) }}", &p).as_deref(), Some("Jürgen"));
        assert_eq!(render("{{ preferred_name | default('n/a') }}", &p).as_deref(), Some("n/a"));
        assert_eq!(
            render("{{ start_date }}", &p.clone().starts("2026-01-02")).as_deref(),
            Some("2026-01-02")
        );
        assert_eq!(render("{{ employment_status }}", &p).as_deref(), Some("active"));
        // 2027-01-01T00:00:00Z as a Windows FILETIME (computed independently).
        assert_eq!(
            render("{{ end_date | account_expires }}", &p.clone().ends("2026-12-31")).as_deref(),
            Some("134432352000000000")
        );
        assert_eq!(render("{{ end_date | account_expires | default(\"0\") }}", &p).as_deref(), Some("0"));
    }

    #[test]
    fn empty_results_are_absent_and_trimmed() {
        let p = Person::test("E1").last("");
        let mut p2 = p.clone();
        p2.last_name = None;
        assert_eq!(render("{{ preferred_name }}", &p2), None);
        assert_eq!(render("{{ first_name }} {{ last_name }}", &p2).as_deref(), Some("FirstE1"));
    }

    #[test]
    fn reports_errors_with_offsets_and_hints() {
        let e = Template::parse("x {{ frist_name }}", Counter::Forbidden).unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (5, "unknown field `frist_name`"));
        let unknown = e.unknown.expect("the unknown name");
        assert_eq!(unknown.name, "frist_name");
        assert!(unknown.known.contains(&"first_name") && unknown.known.contains(&"org_unit_name"));
        let e = Template::parse("{{ first_name | lowr }}", Counter::Forbidden).unwrap_err();
        assert_eq!(e.offset, 16);
        let unknown = e.unknown.expect("the unknown filter");
        assert_eq!((unknown.name.as_str(), unknown.known.contains(&"lower")), ("lowr", true));
        assert!(e.hint.is_some_and(|h| h.starts_with("filters are lower, upper")));
        let e = Template::parse("{{ n }}", Counter::Forbidden).unwrap_err();
        assert!(e.message.contains("only defined in `candidates`"));
        assert!(Template::parse("{{ first_name ", Counter::Forbidden).is_err());
        assert!(Template::parse("a }}", Counter::Forbidden).is_err());
        assert!(Template::parse("{{ first_name last_name }}", Counter::Forbidden).is_err());
        assert!(Template::parse("{{ x | truncate(a) }}", Counter::Forbidden).is_err());
    }

    #[test]
    fn limits_are_errors_with_their_position() {
        let long = format!("{}{{{{ first_name }}}}", "é".repeat(MAX_TEMPLATE_BYTES / 2));
        let e = Template::parse(&long, Counter::Forbidden).unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (2048, "the template is longer than 4096 bytes"));
        assert!(Template::parse(&"x".repeat(MAX_TEMPLATE_BYTES), Counter::Forbidden).is_ok());

        let parts = "{{ n }}-".repeat(200);
        let e = Template::parse(&parts, Counter::Allowed).unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (128 * 8 - 1, "the template has more than 256 texts and expressions")
        );
        assert_eq!(Template::parse(&"{{ n }}-".repeat(128), Counter::Allowed).unwrap().parts.len(), 256);

        let filters = format!("{{{{ first_name{} }}}}", " | trim".repeat(33));
        let e = Template::parse(&filters, Counter::Forbidden).unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (13 + 32 * 7 + 2, "an expression may have at most 32 filters")
        );

        // Each doubles the value: 2^7 > 64.
        let doubling = format!("{{{{ first_name{} }}}}", " | replace('a', 'aa')".repeat(7));
        let e = Template::parse(&doubling, Counter::Forbidden).unwrap_err();
        assert_eq!(e.offset, 13 + 6 * 21 + 3, "the seventh `replace`");
        assert_eq!(e.message, "these `replace` filters can make a value more than 64 times longer");
        let p = Person::test("E1").first("aa");
        let six = format!("{{{{ first_name{} }}}}", " | replace('a', 'aa')".repeat(6));
        assert_eq!(render(&six, &p).map(|s| s.len()), Some(128));
        assert!(
            Template::parse(
                "{{ first_name | replace('', 'x') | replace('', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx') }}",
                Counter::Forbidden
            )
            .is_err()
        );
        // Replacing with shorter or equal text never counts.
        let same = format!("{{{{ first_name{} }}}}", " | replace('ä', 'ae')".repeat(32));
        assert!(Template::parse(&same, Counter::Forbidden).is_ok());
    }

    #[test]
    fn lists_fields_read() {
        let t = Template::parse(
            "{{ preferred_name | default(first_name) }} {{ last_name }} {{ n }}",
            Counter::Allowed,
        )
        .unwrap();
        assert_eq!(
            t.fields(),
            vec![
                FieldRef::Person(PersonField::PreferredName),
                FieldRef::Person(PersonField::FirstName),
                FieldRef::Person(PersonField::LastName)
            ]
        );
        assert!(t.uses_counter());
    }
}
