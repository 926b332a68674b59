//! `directories/*.yaml` → [`DirectoryConfig`]s: how to reach each directory, which
//! entries hrsync owns, the match key chain and how each attribute is made and compared.
//!
//! This module owns what a directory document means, every default of its kind filled
//! in. It must not connect to a directory (that is `src/directory`'s, at run time), and
//! it takes filters and the workspace's safety defaults from the driver rather than
//! reading other documents.

use crate::config::directory::OWNER_PLACEHOLDER;
use crate::config::spec::MarkerSpec;
use std::collections::{BTreeMap, BTreeSet};

use super::Compiler;
use crate::config::loading::Parsed;
use crate::config::spec::{
    DirectoryCommonSpec, DirectoryGroupsSpec, DirectorySpec, EntraDirectorySpec, FieldMode, FieldSpec,
    GroupObjectClass, LdapDirectorySpec, LdapDisableSpec, LdapEntrySpec, LdapFlavor,
};
use crate::config::yaml::{Document, child};
use crate::config::{
    Auth, DirectoryConfig, DirectoryKind, EntraSettings, Field, FieldSource, FileSettings, GroupClass,
    GroupSettings, HttpSettings, LdapDisable, LdapSettings, LeaverAction, Marker, MatchRule, SafetySpec,
    ScimSettings, did_you_mean,
};
use crate::model::filter::Filter;
use crate::model::template::{Counter, Template};
use crate::model::{Compare, DirectoryId, FilterId, canonical};

impl Compiler {
    pub(super) fn directories(
        &mut self,
        docs: &[Parsed<DirectorySpec>],
        filters: &BTreeMap<FilterId, Filter>,
        safety: &SafetySpec,
        workspace: &str,
    ) -> Vec<DirectoryConfig> {
        let mut out: Vec<DirectoryConfig> = self
            .with_unique_ids(docs, "directory", |d| d.common().id.as_deref(), DirectoryId::new)
            .into_iter()
            .filter_map(|(p, id)| self.directory(p, id, p.spec.common(), filters, safety, workspace))
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        self.exclusive_scopes(docs, &out);
        out
    }

    /// Two LDAP directories of one repository on one server must not manage the same
    /// entries: each would plan to disable and delete the other's. Their scopes overlap
    /// when one base lies inside the other (or one's `disable.move_to` inside the
    /// other's base) and their markers do not tell their entries apart.
    fn exclusive_scopes(&mut self, docs: &[Parsed<DirectorySpec>], dirs: &[DirectoryConfig]) {
        let ldap: Vec<(&DirectoryConfig, &LdapSettings)> = dirs
            .iter()
            .filter_map(|d| match &d.kind {
                DirectoryKind::Ldap(s) => Some((d, &**s)),
                _ => None,
            })
            .collect();
        let dn = |s: &str| canonical(Compare::Dn, s);
        let within = |child: &str, ancestor: &str| {
            let (c, a) = (dn(child), dn(ancestor));
            c == a || c.ends_with(&format!(",{a}"))
        };
        // Markers tell entries apart only as one attribute with two values: an entry may
        // carry two marker attributes, and a marker without a value marks every entry
        // that has the attribute.
        let apart = |a: &Option<Marker>, b: &Option<Marker>| match (a, b) {
            (Some(a), Some(b)) => {
                a.attribute.eq_ignore_ascii_case(&b.attribute)
                    && matches!((&a.value, &b.value), (Some(x), Some(y)) if x != y)
            }
            _ => false,
        };
        for (i, (a, sa)) in ldap.iter().enumerate() {
            for (b, sb) in &ldap[i + 1..] {
                if !sa.url.eq_ignore_ascii_case(&sb.url) || apart(&a.marker, &b.marker) {
                    continue;
                }
                // The subtrees each reads: its base, and its disable container.
                let trees = |s: &'_ LdapSettings| -> Vec<String> {
                    let mut t = vec![s.base.clone()];
                    if let LdapDisable::MoveTo(ou) = &s.disable {
                        t.push(ou.clone());
                    }
                    t
                };
                let overlap =
                    trees(sa).iter().any(|x| trees(sb).iter().any(|y| within(x, y) || within(y, x)));
                if !overlap {
                    continue;
                }
                let Some(doc) = docs.iter().find(|p| p.doc.file == b.file).map(|p| &p.doc) else { continue };
                self.error(
                    doc,
                    "/scope",
                    format!(
                        "directories `{}` and `{}` would manage the same entries: their scopes on {} overlap and their markers do not tell their entries apart",
                        a.id, b.id, sa.url
                    ),
                    Some("give each its own `scope.marker` value, or bases (and `disable.move_to`) that do not lie inside each other".into()),
                );
            }
        }
    }

    /// The marker as written, with `{{ owner }}` in its value replaced by `owner` (and
    /// the text around it kept, to recognise other owners' entries). Any other `{{` in a
    /// marker value is an error: it is not a template.
    fn marker(&mut self, doc: &Document, m: &MarkerSpec, owner: &str) -> Marker {
        let mut marker =
            Marker { attribute: m.attribute.clone(), value: m.value.clone(), owner_pattern: None };
        let Some(value) = &m.value else { return marker };
        let normalized = value.replace("{{owner}}", OWNER_PLACEHOLDER);
        match normalized.split_once(OWNER_PLACEHOLDER) {
            Some((prefix, suffix)) if !prefix.contains("{{") && !suffix.contains("{{") => {
                marker.value = Some(format!("{prefix}{owner}{suffix}"));
                marker.owner_pattern = Some((prefix.to_owned(), suffix.to_owned()));
            }
            None if !value.contains("{{") => {}
            _ => self.error(
                doc,
                "/scope/marker/value",
                "a marker value may hold `{{ owner }}` once and no other `{{ … }}`".to_owned(),
                Some(
                    "write e.g. `hrsync:{{ owner }}`: hrsync puts `<workspace>/<directory>` in its place"
                        .into(),
                ),
            ),
        }
        marker
    }

    fn directory(
        &mut self,
        p: &Parsed<DirectorySpec>,
        id: DirectoryId,
        common: &DirectoryCommonSpec,
        filters: &BTreeMap<FilterId, Filter>,
        safety: &SafetySpec,
        workspace: &str,
    ) -> Option<DirectoryConfig> {
        let doc = &p.doc;
        let errors_before = self.diags.len();
        let filter_ids = self.filter_refs(doc, "/filters", &common.filters, filters);
        let kind_for_defaults = match &p.spec {
            DirectorySpec::File(spec) => DirectoryKind::File(FileSettings {
                path: spec.path.clone().unwrap_or_else(|| format!("directories/{id}")),
                id_attribute: spec
                    .id_attribute
                    .clone()
                    .or_else(|| common.match_rules.first().map(|r| r.attribute.clone()))
                    .unwrap_or_default(),
                page_size: spec.page_size.unwrap_or(200).max(1),
            }),
            DirectorySpec::Ldap(spec) => DirectoryKind::Ldap(Box::new(self.ldap(doc, spec, common))),
            DirectorySpec::Scim(spec) => DirectoryKind::Scim(Box::new(ScimSettings {
                http: self.http(doc, &spec.connection.http),
                bulk: spec.connection.bulk.unwrap_or(true),
            })),
            DirectorySpec::Entraid(spec) => DirectoryKind::Entraid(Box::new(self.entra(doc, spec))),
        };
        let fields: Vec<Field> = common
            .fields
            .iter()
            .filter_map(|(attr, spec)| self.field(doc, &kind_for_defaults, attr, spec))
            .collect();
        let declared: BTreeSet<&str> = common.fields.keys().map(String::as_str).collect();

        if common.match_rules.is_empty() {
            self.error(doc, "/match", "`match` is empty", Some("add at least one rule, for example `{ person: employee_number, attribute: employeeNumber }`".into()));
        }
        let mut match_rules = Vec::new();
        for (i, rule) in common.match_rules.iter().enumerate() {
            let at = format!("/match/{i}");
            let person = self.field_ref(doc, &format!("{at}/person"), &rule.person);
            match common.fields.get(&rule.attribute) {
                None => self.error(
                    doc,
                    &format!("{at}/attribute"),
                    format!("match attribute `{}` is not mapped in `fields`", rule.attribute),
                    did_you_mean(&rule.attribute, declared.iter().copied()).or_else(|| {
                        Some(format!(
                            "add `{}` to fields, so entries hrsync creates can be found again",
                            rule.attribute
                        ))
                    }),
                ),
                Some(f) if f.mode == FieldMode::Ignore || f.manager => self.error(
                    doc,
                    &format!("{at}/attribute"),
                    format!("match attribute `{}` is never written", rule.attribute),
                    Some("map it with a value and mode `continuous` or `import_once`".into()),
                ),
                Some(_) => {}
            }
            if let Some(person) = person {
                match_rules.push(MatchRule { person, attribute: rule.attribute.clone() });
            }
        }

        let marker = common
            .scope
            .as_ref()
            .and_then(|s| s.marker.as_ref())
            .map(|m| self.marker(doc, m, &Marker::owner(workspace, id.as_str())))
            // A SCIM service's entries are hrsync's when they have an externalId, an
            // Entra tenant's when they have the first match attribute (employeeId).
            .or_else(|| match &p.spec {
                DirectorySpec::Scim(_) => {
                    Some(Marker { attribute: "externalId".into(), value: None, owner_pattern: None })
                }
                DirectorySpec::Entraid(_) => common.match_rules.first().map(|r| Marker {
                    attribute: r.attribute.clone(),
                    value: None,
                    owner_pattern: None,
                }),
                _ => None,
            });
        match &marker {
            Some(m) if m.value.is_some() && declared.contains(m.attribute.as_str()) => self.error(
                doc,
                "/scope/marker/attribute",
                format!("`{}` is both the ownership marker and a mapped field", m.attribute),
                Some("use an attribute of its own for the marker, or drop `value` to own entries by the field's presence".into()),
            ),
            Some(m) if m.value.is_none() && !common.fields.get(&m.attribute).is_some_and(|f| f.mode != FieldMode::Ignore && !f.manager) => self.error(
                doc,
                "/scope/marker/attribute",
                format!("marker `{}` has no value, so it must be a mapped field", m.attribute),
                Some("map it (hrsync sets it on the entries it owns), or give the marker a `value`".into()),
            ),
            _ => {}
        }
        let kind = match (&p.spec, kind_for_defaults) {
            (DirectorySpec::File(spec), DirectoryKind::File(settings)) => {
                // By default the id attribute is the first match attribute, whose own
                // check already reports it when it is not mapped.
                if spec.id_attribute.is_some() && !declared.contains(settings.id_attribute.as_str()) {
                    self.error(
                        doc,
                        "/id_attribute",
                        format!("id attribute `{}` is not mapped in `fields`", settings.id_attribute),
                        Some("new entries are named by this attribute, so it must be one of `fields`".into()),
                    );
                }
                if common.scope.as_ref().is_some_and(|s| s.base.is_some() || s.filter.is_some()) {
                    self.error(
                        doc,
                        "/scope",
                        "`scope.base` and `scope.filter` are for LDAP directories",
                        Some(
                            "a file directory's scope is its folder; use `scope.marker` to limit ownership"
                                .into(),
                        ),
                    );
                }
                DirectoryKind::File(settings)
            }
            (DirectorySpec::Entraid(_), DirectoryKind::Entraid(settings)) => {
                if common.scope.as_ref().is_some_and(|s| s.base.is_some() || s.filter.is_some()) {
                    self.error(
                        doc,
                        "/scope",
                        "`scope.base` and `scope.filter` are for LDAP directories",
                        Some("Entra ID users are hrsync's by `scope.marker`".into()),
                    );
                }
                for required in ["displayName", "userPrincipalName"] {
                    if !declared.contains(required) {
                        self.error(
                            doc,
                            "/fields",
                            format!("Entra ID needs `{required}` to create a user; map it in `fields`"),
                            None,
                        );
                    }
                }
                DirectoryKind::Entraid(settings)
            }
            (DirectorySpec::Scim(_), DirectoryKind::Scim(settings)) => {
                if common.scope.as_ref().is_some_and(|s| s.base.is_some() || s.filter.is_some()) {
                    self.error(
                        doc,
                        "/scope",
                        "`scope.base` and `scope.filter` are for LDAP directories",
                        None,
                    );
                }
                DirectoryKind::Scim(settings)
            }
            (DirectorySpec::Ldap(_), DirectoryKind::Ldap(settings)) => {
                match common.fields.get(&settings.rdn) {
                    Some(f) if f.mode != FieldMode::Ignore && !f.manager => {}
                    _ => self.error(
                        doc,
                        "/entry/rdn",
                        format!("RDN attribute `{}` is not mapped in `fields`", settings.rdn),
                        Some(format!(
                            "map `{}` with a value: it names every entry hrsync creates",
                            settings.rdn
                        )),
                    ),
                }
                if settings.disable == LdapDisable::Unconfigured
                    && common.leavers.action == LeaverAction::Disable
                {
                    self.error(
                        doc,
                        "/leavers/action",
                        "leavers are disabled, but this LDAP directory has no way to disable an account",
                        Some("add `disable: { attribute: pwdAccountLockedTime, value: \"000001010000Z\" }` or `disable: { move_to: <OU> }`, or use `leavers: { action: delete }`".into()),
                    );
                }
                DirectoryKind::Ldap(settings)
            }
            _ => return None,
        };
        let groups = common.groups.as_ref().map(|g| self.group_settings(doc, &kind, g));
        if self.diags.len() != errors_before {
            return None;
        }
        Some(DirectoryConfig {
            id,
            file: doc.file.clone(),
            mode: common.mode,
            kind,
            filters: filter_ids,
            match_rules,
            fields,
            marker,
            joiners: common.joiners.clone(),
            leavers: common.leavers.clone(),
            safety: common.safety.clone().unwrap_or_else(|| safety.clone()),
            groups,
        })
    }

    /// The `groups` block of a directory of `kind`.
    fn group_settings(
        &mut self,
        doc: &Document,
        kind: &DirectoryKind,
        spec: &DirectoryGroupsSpec,
    ) -> GroupSettings {
        let ldap = match kind {
            DirectoryKind::Ldap(s) => Some(s.flavor),
            _ => None,
        };
        let class = match (ldap, spec.object_class) {
            (Some(LdapFlavor::ActiveDirectory), Some(_)) => {
                self.error(
                    doc,
                    "/groups/object_class",
                    "Active Directory groups are always `group`",
                    Some("remove `object_class`".into()),
                );
                GroupClass::ActiveDirectory
            }
            (Some(LdapFlavor::ActiveDirectory), None) => GroupClass::ActiveDirectory,
            (Some(_), Some(GroupObjectClass::GroupOfUniqueNames)) => GroupClass::GroupOfUniqueNames,
            (Some(_), _) => GroupClass::GroupOfNames,
            (None, Some(_)) => {
                self.error(
                    doc,
                    "/groups/object_class",
                    "`groups.object_class` is for LDAP directories",
                    Some("remove it: this directory has one kind of group".into()),
                );
                GroupClass::Native
            }
            (None, None) => GroupClass::Native,
        };
        let container = match (ldap, &spec.container) {
            (Some(_), None) => {
                self.error(
                    doc,
                    "/groups",
                    "an LDAP directory's `groups` needs a `container`",
                    Some("add `container: ou=groups,<your base DN>`: hrsync reads and creates its groups there".into()),
                );
                None
            }
            (None, Some(_)) => {
                self.error(
                    doc,
                    "/groups/container",
                    "`groups.container` is for LDAP directories",
                    Some("remove it: hrsync reads every group of this directory".into()),
                );
                None
            }
            (_, c) => c.clone(),
        };
        let key_attribute = spec.key_attribute.clone().unwrap_or_else(|| {
            match (kind, class) {
                (_, GroupClass::ActiveDirectory) => "adminDescription",
                (DirectoryKind::Ldap(_), _) => "businessCategory",
                (DirectoryKind::Scim(_), _) => "externalId",
                (DirectoryKind::Entraid(_), _) => "description",
                (DirectoryKind::File(_), _) => "key",
            }
            .to_owned()
        });
        GroupSettings { container, class, key_attribute }
    }

    fn field(&mut self, doc: &Document, kind: &DirectoryKind, attr: &str, spec: &FieldSpec) -> Option<Field> {
        let at = child("/fields", attr);
        let given = usize::from(spec.value.is_some())
            + usize::from(spec.candidates.is_some())
            + usize::from(spec.manager);
        if given != 1 {
            let message = if given == 0 {
                "the field has no value"
            } else {
                "the field has more than one of `value`, `candidates`, `manager`"
            };
            self.push(doc.error_at_key(
                &at,
                message,
                Some("give exactly one of `value`, `candidates` or `manager: true`".into()),
            ));
            return None;
        }
        if spec.unique && spec.mode == FieldMode::Continuous {
            self.push(doc.error_at_key(
                &at,
                format!("unique field `{attr}` must be `mode: import_once`"),
                Some("hrsync picks a unique value once, when it creates the entry; recomputing it later would rename people".into()),
            ));
            return None;
        }
        let compare = spec.compare.unwrap_or_else(|| kind.default_compare(attr, spec.manager));
        if spec.manager {
            return Some(Field {
                attribute: attr.to_owned(),
                source: FieldSource::Manager,
                mode: spec.mode,
                compare,
                personal: true,
            });
        }
        let mut candidates = Vec::new();
        let mut ok = true;
        if let Some(text) = &spec.value {
            match self.template(doc, &format!("{at}/value"), text, Counter::Forbidden) {
                Some(t) => candidates.push(t),
                None => ok = false,
            }
        }
        for (i, text) in spec.candidates.iter().flatten().enumerate() {
            match self.template(doc, &format!("{at}/candidates/{i}"), text, Counter::Allowed) {
                Some(t) => {
                    if t.uses_counter() && !spec.unique {
                        self.error(
                            doc,
                            &format!("{at}/candidates/{i}"),
                            "`{{ n }}` counts only in a `unique: true` field",
                            Some("add `unique: true`, or remove `{{ n }}`".into()),
                        );
                        ok = false;
                    }
                    candidates.push(t);
                }
                None => ok = false,
            }
        }
        if spec.candidates.as_ref().is_some_and(Vec::is_empty) {
            self.push(doc.error_at_key(&at, "`candidates` is empty", None));
            ok = false;
        }
        if !ok {
            return None;
        }
        let personal = candidates.iter().flat_map(Template::fields).any(|f| f.is_personal());
        Some(Field {
            attribute: attr.to_owned(),
            source: FieldSource::Templates { candidates, unique: spec.unique },
            mode: spec.mode,
            compare,
            personal,
        })
    }

    fn entra(&mut self, doc: &Document, spec: &EntraDirectorySpec) -> EntraSettings {
        let c = &spec.connection;
        let url = c.url.clone().unwrap_or_else(|| "https://graph.microsoft.com/v1.0".to_owned());
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            self.error(doc, "/connection/url", format!("`{url}` is not an HTTP URL"), None);
        }
        if c.tenant.trim().is_empty() || c.tenant.contains('/') {
            self.error(
                doc,
                "/connection/tenant",
                format!("`{}` is not a tenant id", c.tenant),
                Some("give the directory (tenant) id from the app registration's overview".into()),
            );
        }
        let token_url = c.token_url.clone().unwrap_or_else(|| {
            format!("https://login.microsoftonline.com/{}/oauth2/v2.0/token", c.tenant.trim())
        });
        EntraSettings {
            http: HttpSettings {
                url,
                auth: Auth::ClientCredentials {
                    token_url,
                    client_id: c.client_id.clone(),
                    client_secret: c.client_secret.clone(),
                    scope: Some("https://graph.microsoft.com/.default".to_owned()),
                },
                ca_file: None,
                timeout: std::time::Duration::from_secs(c.timeout_seconds.unwrap_or(30)),
                concurrency: c.concurrency.unwrap_or(4),
                retries: c.retries.unwrap_or(5),
                backoff: std::time::Duration::from_millis(200),
                page_size: c.page_size.unwrap_or(999),
            },
            passwords: spec.passwords.clone(),
            batch: c.batch.unwrap_or(true),
        }
    }

    fn ldap(
        &mut self,
        doc: &Document,
        spec: &LdapDirectorySpec,
        common: &DirectoryCommonSpec,
    ) -> LdapSettings {
        let c = &spec.connection;
        if !(c.url.starts_with("ldap://") || c.url.starts_with("ldaps://")) {
            self.error(
                doc,
                "/connection/url",
                format!("`{}` is not an LDAP URL", c.url),
                Some("write `ldap://host:389` or `ldaps://host:636`".into()),
            );
        }
        if c.starttls && c.url.starts_with("ldaps://") {
            self.error(
                doc,
                "/connection/starttls",
                "StartTLS is for `ldap://` URLs; `ldaps://` is encrypted already",
                None,
            );
        }
        if c.bind_dn.is_some() != c.password.is_some() {
            self.error(
                doc,
                "/connection",
                "give both `bind_dn` and `password`, or neither (anonymous)",
                None,
            );
        }
        let scope = common.scope.as_ref();
        let base = scope.and_then(|s| s.base.clone()).unwrap_or_default();
        if base.is_empty() {
            self.error(
                doc,
                "/scope",
                "an LDAP directory needs `scope.base`",
                Some("the subtree hrsync owns, for example `ou=people,dc=acme,dc=example`".into()),
            );
        }
        let ad = spec.flavor == LdapFlavor::ActiveDirectory;
        let entry = spec.entry.clone().unwrap_or(LdapEntrySpec {
            rdn: "cn".into(),
            object_classes: Vec::new(),
            parent: None,
        });
        let object_classes = if !entry.object_classes.is_empty() {
            entry.object_classes.clone()
        } else if ad {
            ["top", "person", "organizationalPerson", "user"].map(str::to_owned).to_vec()
        } else {
            vec!["inetOrgPerson".to_owned()]
        };
        let filter = match scope.and_then(|s| s.filter.clone()) {
            Some(f) if !(f.starts_with('(') && f.ends_with(')')) => {
                self.error(
                    doc,
                    "/scope/filter",
                    format!("`{f}` is not an LDAP filter"),
                    Some("enclose it in parentheses, for example `(objectClass=inetOrgPerson)`".into()),
                );
                f
            }
            Some(f) => f,
            // In AD a computer is a `user` too; people are `objectCategory=person`.
            None if ad => "(&(objectCategory=person)(objectClass=user))".to_owned(),
            None => format!("(objectClass={})", object_classes.last().map(String::as_str).unwrap_or("*")),
        };
        let disable = match &spec.disable {
            None if ad => LdapDisable::UserAccountControl,
            None => LdapDisable::Unconfigured,
            Some(LdapDisableSpec { attribute: Some(a), value: Some(v), move_to: None }) => {
                LdapDisable::Attribute { attribute: a.clone(), value: v.clone() }
            }
            Some(LdapDisableSpec { attribute: None, value: None, move_to: Some(ou) }) => {
                LdapDisable::MoveTo(ou.clone())
            }
            Some(_) => {
                self.error(doc, "/disable", "give `attribute` with `value`, or `move_to`", None);
                LdapDisable::Unconfigured
            }
        };
        let passwords = if ad {
            let encrypted = c.url.starts_with("ldaps://") || c.starttls;
            if !encrypted && c.url.starts_with("ldap://") {
                self.error(
                    doc,
                    "/connection/url",
                    "Active Directory sets passwords only over an encrypted connection",
                    Some("use an `ldaps://` URL, or `starttls: true`".into()),
                );
            }
            Some(spec.passwords.clone().unwrap_or_default())
        } else {
            if spec.passwords.is_some() {
                self.error(
                    doc,
                    "/passwords",
                    "initial passwords are set in Active Directory only",
                    Some("remove `passwords`, or set `flavor: active_directory`".into()),
                );
            }
            None
        };
        // AD keeps sAMAccountName and userPrincipalName unique across the domain: a
        // unique field's value taken in CN=Users is as taken as one in the scope.
        let unique_in_domain = if ad {
            common
                .fields
                .iter()
                .filter(|(name, f)| f.unique || name.eq_ignore_ascii_case("userPrincipalName"))
                .map(|(name, _)| name.clone())
                .collect()
        } else {
            Vec::new()
        };
        let domain_base = base
            .split(',')
            .skip_while(|rdn| !rdn.trim().to_ascii_lowercase().starts_with("dc="))
            .collect::<Vec<_>>()
            .join(",");
        if spec.unique_base.is_some() && !ad {
            self.error(
                doc,
                "/unique_base",
                "`unique_base` is for Active Directory, which keeps names unique beyond the scope",
                Some("remove `unique_base`, or set `flavor: active_directory`".into()),
            );
        }
        let domain_base = match &spec.unique_base {
            Some(configured) => configured.clone(),
            None if domain_base.is_empty() => base.clone(),
            None => domain_base,
        };
        LdapSettings {
            unique_in_domain,
            domain_base,
            url: c.url.clone(),
            starttls: c.starttls,
            ca_file: c.ca_file.clone(),
            bind_dn: c.bind_dn.clone(),
            password: c.password.clone(),
            timeout: std::time::Duration::from_secs(c.timeout_seconds.unwrap_or(30)),
            page_size: c.page_size.unwrap_or(500).max(1),
            connections: c.connections.unwrap_or(4).clamp(1, 16),
            concurrency: c.concurrency.unwrap_or(4 * c.connections.unwrap_or(4).clamp(1, 16)).clamp(1, 256),
            flavor: spec.flavor,
            parent: entry.parent.clone().unwrap_or_else(|| base.clone()),
            base,
            filter,
            rdn: entry.rdn,
            object_classes,
            disable,
            passwords,
        }
    }
}
