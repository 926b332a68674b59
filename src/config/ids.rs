//! Validated identifiers for sources, directories and filters.
//!
//! Ids name files and appear in reports, metrics and commit trailers, so they are
//! restricted to lowercase ASCII letters, digits, `-` and `_` (at most 63 characters).
//! Across modules they travel as these newtypes, never as bare strings.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a valid id: use 1 to 63 lowercase letters, digits, `-` or `_`, starting with a letter or digit"
)]
pub struct InvalidId(pub String);

/// Whether `s` is a valid id.
pub fn is_valid_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Validates and wraps an id.
            pub fn new(s: &str) -> Result<Self, InvalidId> {
                if is_valid_id(s) {
                    Ok(Self(Arc::from(s)))
                } else {
                    Err(InvalidId(s.to_owned()))
                }
            }

            /// Wraps a string already known to be valid (tests and constants).
            pub fn new_unchecked(s: &str) -> Self {
                debug_assert!(is_valid_id(s), "invalid id {s:?}");
                Self(Arc::from(s))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self(Arc::from("default"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_newtype!(
    /// The id of an HR source (`sources/<id>.yaml`).
    SourceId
);
id_newtype!(
    /// The id of a target directory (`directories/<id>.yaml`).
    DirectoryId
);
id_newtype!(
    /// The id of a named filter (`filters/<id>.yaml`).
    FilterId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        assert!(SourceId::new("germany").is_ok());
        assert!(SourceId::new("de_01-x").is_ok());
        assert!(SourceId::new("Germany").is_err());
        assert!(SourceId::new("").is_err());
        assert!(SourceId::new("-x").is_err());
        assert!(SourceId::new(&"a".repeat(64)).is_err());
        let e = DirectoryId::new("a b").unwrap_err();
        assert!(e.to_string().contains("`a b`"));
    }
}
