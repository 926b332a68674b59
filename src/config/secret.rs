//! Secret references (`${env:NAME}`, `${file:/path}`) and the resolved [`Secret`].
//!
//! A sync repository never holds a secret literally: only a reference, resolved when a
//! run needs it. The resolved value lives in [`Secret`], whose `Debug` and `Display`
//! print a redaction marker, so it cannot leak through logs, reports or errors by
//! accident. Nothing here logs.

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
            SecretError::MissingEnv(_) => "missing_env",
            SecretError::File { .. } => "file",
        }
    }
}

impl SecretRef {
    /// Parses `${env:NAME}` or `${file:/path}`.
    pub fn parse(s: &str) -> Result<Self, SecretError> {
        let inner = s.strip_prefix("${").and_then(|s| s.strip_suffix('}')).ok_or(SecretError::Literal)?;
        match inner.split_once(':') {
            Some(("env", name)) if !name.is_empty() => Ok(SecretRef::Env(name.to_owned())),
            Some(("file", path)) if !path.is_empty() => Ok(SecretRef::File(path.to_owned())),
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
        assert!(matches!(SecretRef::parse("${vault:x}"), Err(SecretError::Literal)));
        assert!(matches!(SecretRef::parse("${env:}"), Err(SecretError::Literal)));
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
