//! Secret references (`${env:NAME}`, `${file:/path}`) and the resolved [`Secret`].
//!
//! A sync repository never holds a secret literally: only a reference, resolved when a
//! run needs it. The resolved value lives in [`Secret`], whose `Debug` and `Display`
//! print a redaction marker, so it cannot leak through logs, reports or errors by
//! accident. Nothing here logs.
//!
//! Text of the shape `${word:…}` (a word of ASCII letters, digits, `_` or `-`, a colon,
//! and a closing brace later on) is a reference wherever it appears: where a secret
//! belongs its scheme must be one of [`SecretRef::SCHEMES`], and anywhere else it is
//! refused by validation, since hrsync expands references only where secrets go. Text
//! with a `$` of any other shape (`$5`, `$HOME`, `${HOME}`, `${ x }`) is taken as
//! written.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A reference to a secret, as written in the repository.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `${env:NAME}`: an environment variable of the hrsync process.
    Env(String),
    /// `${file:/path}`: a file's content, without a trailing newline.
    File(String),
}

/// Why a reference could not be parsed or resolved. Messages name the reference,
/// never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The text is not a reference at all.
    #[error(
        "a secret must be a reference such as `${{env:NAME}}` or `${{file:/run/secrets/name}}`, not a literal value"
    )]
    Literal,
    /// A reference with a scheme hrsync does not know (`${envv:X}`).
    #[error("unknown secret scheme `{0}`: hrsync knows `env` and `file`")]
    UnknownScheme(String),
    /// A reference that names nothing (`${env:}`).
    #[error("`${{{0}:}}` names no {what}", what = if *.0 == "env" { "environment variable" } else { "file" })]
    Empty(&'static str),
    /// The environment variable is not set.
    #[error("environment variable `{0}` is not set")]
    MissingEnv(String),
    /// The file could not be read.
    #[error("cannot read secret file `{path}`")]
    File {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl SecretError {
    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            SecretError::Literal => "literal",
            SecretError::UnknownScheme(_) => "unknown_scheme",
            SecretError::Empty(_) => "empty",
            SecretError::MissingEnv(_) => "missing_env",
            SecretError::File { .. } => "file",
        }
    }
}

impl SecretRef {
    /// The schemes of a reference.
    pub const SCHEMES: [&'static str; 2] = ["env", "file"];

    /// Parses `${env:NAME}` or `${file:/path}`.
    pub fn parse(s: &str) -> Result<Self, SecretError> {
        match reference_in(s) {
            Some(Reference { offset: 0, scheme, end }) if end == s.len() => {
                let rest = &s[2 + scheme.len() + 1..end - 1];
                match (scheme, rest.is_empty()) {
                    ("env", false) => Ok(SecretRef::Env(rest.to_owned())),
                    ("file", false) => Ok(SecretRef::File(rest.to_owned())),
                    ("env", true) => Err(SecretError::Empty("env")),
                    ("file", true) => Err(SecretError::Empty("file")),
                    (other, _) => Err(SecretError::UnknownScheme(other.to_owned())),
                }
            }
            _ => Err(SecretError::Literal),
        }
    }

    /// Reads the secret now.
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        match self {
            SecretRef::Env(name) => {
                std::env::var(name).map(Secret).map_err(|_| SecretError::MissingEnv(name.clone()))
            }
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map(|s| Secret(s.trim_end_matches(['\n', '\r']).to_owned()))
                .map_err(|source| SecretError::File { path: path.clone(), source }),
        }
    }
}

/// A `${scheme:…}` in a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reference<'a> {
    /// Where it starts (the `$`), in bytes.
    pub offset: usize,
    /// Its scheme: the word before the colon.
    pub scheme: &'a str,
    /// Where it ends, in bytes: just after the first `}` following the colon.
    pub end: usize,
}

/// The longest word taken for a scheme: longer words are text, not a reference.
const MAX_SCHEME: usize = 32;

/// The first `${word:…}` in `text`, if any. Linear in the text: each `${` is looked at
/// once, and a closing brace is found at most once per reference.
pub fn reference_in(text: &str) -> Option<Reference<'_>> {
    let bytes = text.as_bytes();
    for (offset, _) in text.match_indices("${") {
        let start = offset + 2;
        let word = bytes[start..]
            .iter()
            .take(MAX_SCHEME + 1)
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'-')
            .count();
        let colon = start + word;
        let starts_with_letter = bytes.get(start).is_some_and(u8::is_ascii_alphabetic);
        if !starts_with_letter || word > MAX_SCHEME || bytes.get(colon) != Some(&b':') {
            continue;
        }
        // A brace after the colon closes it; no brace at all means none further on does.
        let close = text[colon..].find('}')?;
        return Some(Reference { offset, scheme: &text[start..colon], end: colon + close + 1 });
    }
    None
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "${{env:{name}}}"),
            SecretRef::File(path) => write!(f, "${{file:{path}}}"),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for SecretRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SecretRef::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for SecretRef {
    fn schema_name() -> Cow<'static, str> {
        "SecretRef".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A secret reference, resolved at run time: `${env:NAME}` or `${file:/path}`. Literal secrets are refused.",
            "pattern": "^\\$\\{(env|file):[^}]+\\}$"
        })
    }
}

/// A resolved secret. Prints as `[redacted]`; use [`Secret::expose`] where the value
/// must be sent (an Authorization header, a bind request, a MAC key).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (tests and values obtained at run time, like OAuth tokens).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Never log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references_and_refuses_literals() {
        assert_eq!(SecretRef::parse("${env:X}").ok(), Some(SecretRef::Env("X".into())));
        assert_eq!(SecretRef::parse("${file:/run/s}").ok(), Some(SecretRef::File("/run/s".into())));
        assert!(matches!(SecretRef::parse("hunter2"), Err(SecretError::Literal)));
        assert!(matches!(SecretRef::parse("${vault:x}"), Err(SecretError::UnknownScheme(s)) if s == "vault"));
        assert!(matches!(SecretRef::parse("${envv:X}"), Err(SecretError::UnknownScheme(s)) if s == "envv"));
        assert!(matches!(SecretRef::parse("${env:}"), Err(SecretError::Empty("env"))));
        assert_eq!(SecretRef::parse("${file:}").unwrap_err().to_string(), "`${file:}` names no file");
        // Text with a `$` of any other shape is literal text.
        for literal in ["${env:X} and more", "${HOME}", "${ env:X }", "$env:X", "${1x:y}", "${env:X"] {
            assert!(matches!(SecretRef::parse(literal), Err(SecretError::Literal)), "{literal}");
        }
    }

    #[test]
    fn references_are_found_in_text_in_one_pass() {
        let r = reference_in("https://${env:HOST}/scim").unwrap();
        assert_eq!((r.offset, r.scheme, r.end), (8, "env", 19));
        assert_eq!(reference_in("costs $5, ${HOME}, ${ x:y }, a$b:c}"), None);
        assert_eq!(reference_in("${a:${b:c}").map(|r| r.scheme), Some("a"));
        assert_eq!(reference_in(&format!("${{{}:x}}", "w".repeat(33))), None, "a word too long for a scheme");
        // No closing brace anywhere: a long run of openings is still one pass.
        assert_eq!(reference_in(&"${a:".repeat(100_000)), None);
    }

    #[test]
    fn resolved_secrets_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "s3cr3t-value\n").unwrap();
        let secret = SecretRef::File(path.display().to_string()).resolve().unwrap();
        assert_eq!(secret.expose(), "s3cr3t-value");
        assert_eq!(format!("{secret} {secret:?}"), "[redacted] [redacted]");
        let err = SecretRef::Env("HRSYNC_TEST_SURELY_UNSET".into()).resolve().unwrap_err();
        assert!(err.to_string().contains("HRSYNC_TEST_SURELY_UNSET"));
    }
}
