//! Validated identifiers: sources, directories and filters ([`SourceId`],
//! [`DirectoryId`], [`FilterId`], [`GroupDefId`]) and plans ([`PlanId`]).
//!
//! Ids name files and appear in reports, metrics and commit trailers, so they are
//! restricted to lowercase ASCII letters, digits, `-` and `_` (at most 63 characters).
//! A plan id is a content hash: 32 lowercase hex digits. Across modules they travel as
//! these newtypes, never as bare strings.

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
id_newtype!(
    /// The id of a group definition (`groups/<id>.yaml`).
    GroupDefId
);

/// Why a string is not a plan id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a plan id: a plan id is 32 lowercase hex digits")]
pub struct InvalidPlanId(pub String);

/// The content id of a plan: the first 128 bits of a hash of everything the plan
/// depends on, as 32 lowercase hex digits. Approvals name it; a saved plan is checked
/// against it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlanId(Arc<str>);

impl PlanId {
    /// The number of hex digits in a plan id.
    pub const LEN: usize = 32;

    /// Validates and wraps a plan id.
    pub fn new(s: &str) -> Result<PlanId, InvalidPlanId> {
        if s.len() == Self::LEN && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(PlanId(Arc::from(s)))
        } else {
            Err(InvalidPlanId(s.to_owned()))
        }
    }

    /// The plan id of a content hash: its first 128 bits, as lowercase hex.
    pub fn from_digest(digest: [u8; 16]) -> PlanId {
        PlanId(Arc::from(hex::encode(digest)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::str::FromStr for PlanId {
    type Err = InvalidPlanId;
    fn from_str(s: &str) -> Result<PlanId, InvalidPlanId> {
        PlanId::new(s)
    }
}

impl Serialize for PlanId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PlanId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PlanId::new(&s).map_err(serde::de::Error::custom)
    }
}

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

    #[test]
    fn plan_ids_are_validated() {
        let hex = "0123456789abcdef0123456789abcdef";
        assert_eq!(PlanId::new(hex).unwrap().as_str(), hex);
        assert!(PlanId::new(&hex[1..]).is_err());
        assert!(PlanId::new(&hex.to_uppercase()).is_err());
        assert!(PlanId::new(&format!("{}g", &hex[1..])).is_err());
        let digest =
            [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        assert_eq!(PlanId::from_digest(digest).as_str(), hex);
        assert!(serde_json::from_str::<PlanId>("\"nope\"").is_err());
        assert_eq!(serde_json::to_string(&PlanId::new(hex).unwrap()).unwrap(), format!("\"{hex}\""));
    }
}
