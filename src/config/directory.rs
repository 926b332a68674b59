//! The validated directories: how to reach each, which entries hrsync owns, and how
//! each attribute is made and compared.
//!
//! Runtime types only, every default filled in; they are built by `config::compile` and
//! read by `src/directory` and the planner. Nothing here parses YAML, reports problems or
//! talks to a directory.

use super::connection::HttpSettings;
use super::secret::SecretRef;
use super::spec::{self, FieldMode, JoinersSpec, LeaversSpec, Mode, SafetySpec};
use crate::model::template::Template;
use crate::model::{Compare, DirectoryId, FieldRef, FilterId};

/// A validated directory.
#[derive(Clone, Debug)]
pub struct DirectoryConfig {
    /// Its id.
    pub id: DirectoryId,
    /// The file it is declared in.
    pub file: String,
    /// What hrsync does with it.
    pub mode: Mode,
    /// What kind of directory, with its settings.
    pub kind: DirectoryKind,
    /// Filters restricting who gets an entry.
    pub filters: Vec<FilterId>,
    /// The match key chain.
    pub match_rules: Vec<MatchRule>,
    /// Mapped attributes, in config order.
    pub fields: Vec<Field>,
    /// Ownership marker.
    pub marker: Option<Marker>,
    /// Joiner policy.
    pub joiners: JoinersSpec,
    /// Leaver policy.
    pub leavers: LeaversSpec,
    /// Safety limits.
    pub safety: SafetySpec,
    /// How it keeps groups; `None`: no group is synced to it.
    pub groups: Option<GroupSettings>,
}

/// How a directory keeps groups (`groups` of its file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSettings {
    /// LDAP: the container groups are read from and created in.
    pub container: Option<String>,
    /// What kind of group the directory has.
    pub class: GroupClass,
    /// The attribute holding hrsync's key of a group it owns.
    pub key_attribute: String,
}

/// Kinds of group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupClass {
    /// LDAP `groupOfNames`, members in `member`.
    GroupOfNames,
    /// LDAP `groupOfUniqueNames`, members in `uniqueMember`.
    GroupOfUniqueNames,
    /// Active Directory `group`, members in `member`.
    ActiveDirectory,
    /// The groups of a SCIM service, Entra ID or the embedded directory.
    Native,
}

impl GroupClass {
    /// The LDAP object class of such groups (`None` outside LDAP).
    pub fn object_class(self) -> Option<&'static str> {
        match self {
            GroupClass::GroupOfNames => Some("groupOfNames"),
            GroupClass::GroupOfUniqueNames => Some("groupOfUniqueNames"),
            GroupClass::ActiveDirectory => Some("group"),
            GroupClass::Native => None,
        }
    }

    /// The LDAP attribute holding the members (`None` outside LDAP).
    pub fn member_attribute(self) -> Option<&'static str> {
        match self {
            GroupClass::GroupOfNames | GroupClass::ActiveDirectory => Some("member"),
            GroupClass::GroupOfUniqueNames => Some("uniqueMember"),
            GroupClass::Native => None,
        }
    }
}

impl DirectoryConfig {
    /// The mapped field for this attribute.
    pub fn field(&self, attribute: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.attribute == attribute)
    }
}

/// Kinds of directory.
#[derive(Clone, Debug)]
pub enum DirectoryKind {
    /// The embedded directory.
    File(FileSettings),
    /// An LDAP server.
    Ldap(Box<LdapSettings>),
    /// A SCIM 2.0 service.
    Scim(Box<ScimSettings>),
    /// Microsoft Entra ID through Graph.
    Entraid(Box<EntraSettings>),
}

/// A SCIM directory's settings.
#[derive(Clone, Debug)]
pub struct ScimSettings {
    /// How to reach the service.
    pub http: HttpSettings,
    /// Whether writes may go in `/Bulk` requests, where the service supports them.
    pub bulk: bool,
}

/// An Entra ID directory's settings.
#[derive(Clone, Debug)]
pub struct EntraSettings {
    /// How to reach Graph.
    pub http: HttpSettings,
    /// Initial passwords.
    pub passwords: spec::PasswordSpec,
    /// Whether user writes go in JSON `$batch` requests.
    pub batch: bool,
}

impl DirectoryKind {
    /// The `type` value.
    pub fn type_name(&self) -> &'static str {
        match self {
            DirectoryKind::File(_) => "file",
            DirectoryKind::Ldap(_) => "ldap",
            DirectoryKind::Scim(_) => "scim",
            DirectoryKind::Entraid(_) => "entraid",
        }
    }

    /// How this kind of directory compares an attribute when the config does not say.
    pub fn default_compare(&self, attribute: &str, manager: bool) -> Compare {
        let lower = attribute.to_ascii_lowercase();
        let phone =
            matches!(lower.as_str(), "telephonenumber" | "mobile" | "phone" | "facsimiletelephonenumber");
        match self {
            DirectoryKind::File(_) if manager => Compare::Exact,
            DirectoryKind::File(_) if phone => Compare::Phone,
            DirectoryKind::File(_) => match lower.as_str() {
                "mail" | "email" | "userprincipalname" | "username" => Compare::IgnoreCase,
                _ => Compare::Exact,
            },
            // Directory strings in LDAP compare without case (caseIgnoreMatch): a
            // server that keeps `ADA@acme` for `ada@acme` is not drift.
            DirectoryKind::Ldap(_) if manager => Compare::Dn,
            DirectoryKind::Ldap(_) if phone => Compare::Phone,
            DirectoryKind::Ldap(_) if lower == "accountexpires" => Compare::AccountExpires,
            DirectoryKind::Ldap(_) => Compare::IgnoreCase,
            DirectoryKind::Scim(_) if manager => Compare::Exact,
            DirectoryKind::Scim(_) if phone || lower.starts_with("phonenumbers") => Compare::Phone,
            // RFC 7643: userName and email values are not case-exact.
            DirectoryKind::Scim(_) if lower == "username" || lower.starts_with("emails") => {
                Compare::IgnoreCase
            }
            DirectoryKind::Scim(_) => Compare::Exact,
            DirectoryKind::Entraid(_) if manager => Compare::Exact,
            DirectoryKind::Entraid(_) if phone || lower == "businessphones" => Compare::Phone,
            // Entra ID compares these without case.
            DirectoryKind::Entraid(_)
                if matches!(lower.as_str(), "userprincipalname" | "mail" | "mailnickname" | "othermails") =>
            {
                Compare::IgnoreCase
            }
            DirectoryKind::Entraid(_) => Compare::Exact,
        }
    }
}

/// An LDAP directory's settings.
#[derive(Clone, Debug)]
pub struct LdapSettings {
    /// `ldap://` or `ldaps://` URL.
    pub url: String,
    /// Upgrade with StartTLS.
    pub starttls: bool,
    /// PEM file of trusted certificate authorities.
    pub ca_file: Option<String>,
    /// Bind DN (anonymous when absent).
    pub bind_dn: Option<String>,
    /// Bind password.
    pub password: Option<SecretRef>,
    /// Per-operation timeout.
    pub timeout: std::time::Duration,
    /// Entries per page of the paged search.
    pub page_size: u32,
    /// Connections writes are spread over.
    pub connections: usize,
    /// Writes in flight at once, over all connections.
    pub concurrency: usize,
    /// OpenLDAP or Active Directory.
    pub flavor: spec::LdapFlavor,
    /// The subtree in scope.
    pub base: String,
    /// The search filter of the scope.
    pub filter: String,
    /// Where new entries are created.
    pub parent: String,
    /// The RDN attribute.
    pub rdn: String,
    /// Object classes of new entries.
    pub object_classes: Vec<String>,
    /// How accounts are disabled.
    pub disable: LdapDisable,
    /// Active Directory: the initial password of new accounts.
    pub passwords: Option<spec::PasswordSpec>,
    /// Active Directory: the `unique` fields' attributes and `userPrincipalName`, whose
    /// values must be free in the whole domain (`sAMAccountName` domain-wide,
    /// `userPrincipalName` forest-wide), not only in the scope; empty for other servers.
    pub unique_in_domain: Vec<String>,
    /// Where those values are looked up: `unique_base`, or the domain (the `DC=` part
    /// of `base`).
    pub domain_base: String,
}

/// How an LDAP account is disabled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LdapDisable {
    /// No way configured (only valid when leavers are not disabled).
    Unconfigured,
    /// An attribute holds a value while the account is disabled.
    Attribute {
        /// The attribute.
        attribute: String,
        /// Its value.
        value: String,
    },
    /// Disabled entries live in this OU.
    MoveTo(String),
    /// Active Directory's `userAccountControl` flag 2 (ACCOUNTDISABLE).
    UserAccountControl,
}

/// The embedded directory's settings.
#[derive(Clone, Debug)]
pub struct FileSettings {
    /// Folder of entries, relative to the state directory.
    pub path: String,
    /// Attribute naming new entries.
    pub id_attribute: String,
    /// Entries per page when reading.
    pub page_size: usize,
}

/// One step of the match key chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchRule {
    /// The person field.
    pub person: FieldRef,
    /// The directory attribute.
    pub attribute: String,
}

/// A mapped attribute.
#[derive(Clone, Debug)]
pub struct Field {
    /// The directory attribute.
    pub attribute: String,
    /// How its value is made.
    pub source: FieldSource,
    /// Its mode.
    pub mode: FieldMode,
    /// How it is compared.
    pub compare: Compare,
    /// Whether its values are personal data (reports mask them).
    pub personal: bool,
}

/// How a mapped attribute's value is made.
#[derive(Clone, Debug)]
pub enum FieldSource {
    /// The first candidate template that gives a value (with `unique`, a value no other
    /// entry has).
    Templates {
        /// Candidates, in order.
        candidates: Vec<Template>,
        /// The value must be free in the directory.
        unique: bool,
    },
    /// The entry of the person's manager.
    Manager,
}

/// The ownership marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// The attribute.
    pub attribute: String,
    /// Its value; `None`: the attribute's presence marks the entry (it is a mapped field).
    /// `{{ owner }}` in the written value is already replaced by [`Marker::owner`].
    pub value: Option<String>,
    /// When the value was written with `{{ owner }}`: the text around it, so that an
    /// entry another configuration owns can be told from one nobody owns.
    pub owner_pattern: Option<(String, String)>,
}

/// The placeholder of a marker value that stands for the owning configuration.
pub const OWNER_PLACEHOLDER: &str = "{{ owner }}";

impl Marker {
    /// The owner text a marker value's `{{ owner }}` stands for: the workspace and the
    /// directory, `<workspace>/<directory>`.
    pub fn owner(workspace: &str, directory: &str) -> String {
        format!("{workspace}/{directory}")
    }

    /// Whether an entry with this value of the attribute is marked.
    pub fn marks(&self, value: Option<&crate::model::Value>) -> bool {
        match (&self.value, value) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(want), Some(v)) => v.values().iter().any(|x| x == want),
        }
    }

    /// The other configuration that owns an entry with this value of the attribute, if
    /// another one does (its value has the marker's shape with another owner in it).
    pub fn foreign_owner<'v>(&self, value: Option<&'v crate::model::Value>) -> Option<&'v str> {
        let (prefix, suffix) = self.owner_pattern.as_ref()?;
        let mine = self.value.as_deref()?;
        value?.values().iter().find_map(|v| {
            let owner = v.strip_prefix(prefix.as_str())?.strip_suffix(suffix.as_str())?;
            (v != mine && !owner.is_empty()).then_some(owner)
        })
    }
}
