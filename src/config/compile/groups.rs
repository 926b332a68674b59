//! `groups/*.yaml` → [`GroupDef`]s.
//!
//! This module owns the checks of a group definition against the rest of the
//! repository: the field it groups by, its filter and the directories it names, which
//! must keep groups.

use std::collections::BTreeMap;

use super::Compiler;
use crate::config::groups::{GroupDef, name_aliases};
use crate::config::loading::Parsed;
use crate::config::spec::GroupSpec;
use crate::config::{DirectoryConfig, did_you_mean};
use crate::model::filter::Filter;
use crate::model::template::{Counter, Template, TemplateError};
use crate::model::{FieldRef, FilterId, GroupDefId, PersonField};

impl Compiler {
    pub(super) fn groups(
        &mut self,
        docs: &[Parsed<GroupSpec>],
        filters: &BTreeMap<FilterId, Filter>,
        directories: &[DirectoryConfig],
    ) -> Vec<GroupDef> {
        let mut out = Vec::new();
        for (p, id) in self.with_unique_ids(docs, "group definition", |s| s.id.as_deref(), GroupDefId::new) {
            let doc = &p.doc;
            let spec = &p.spec;
            let per = spec.per.as_ref().and_then(|f| self.field_ref(doc, "/per", f));
            if per.as_ref().is_some_and(|f| matches!(f, FieldRef::Source | FieldRef::OrgUnitName)) {
                self.error(
                    doc,
                    "/per",
                    format!("groups cannot be made per `{}`", spec.per.as_deref().unwrap_or_default()),
                    Some(
                        "group by `org_unit` for org units (its name is `{{ name }}`), or by a person field"
                            .into(),
                    ),
                );
                continue;
            }
            if per.as_ref().is_some_and(|f| f.is_personal()) && !matches!(per, Some(FieldRef::Custom(_))) {
                self.error(
                    doc,
                    "/per",
                    format!("`{}` is personal data: a group per value would name a person", spec.per.as_deref().unwrap_or_default()),
                    Some("group by an organizational field: department, team, org_unit, legal_entity, work_location, employment_type, or a custom attribute".into()),
                );
                continue;
            }
            if spec.per.is_some() && per.is_none() {
                continue;
            }
            let aliases = name_aliases(per.as_ref());
            let name = match Template::parse_with(&spec.name, Counter::Forbidden, &aliases) {
                Ok(t) => t,
                Err(TemplateError { offset, message, hint, unknown }) => {
                    let suggestion = unknown.and_then(|u| did_you_mean(&u.name, u.known.iter().copied()));
                    let pos = doc.position_in("/name", offset);
                    self.push(doc.diagnostic(pos, format!("in template: {message}"), suggestion.or(hint)));
                    continue;
                }
            };
            if per.is_none() && !name.fields().is_empty() {
                self.error(
                    doc,
                    "/name",
                    "a static group's name is plain text",
                    Some("add `per: <field>` for one group per value, or remove the `{{ … }}`".into()),
                );
                continue;
            }
            if per.is_some() && name.fields().is_empty() {
                self.error(
                    doc,
                    "/name",
                    "every group of this definition would get the same name",
                    Some(
                        "use `{{ value }}` in the name, for example `dept-{{ value | ascii | lower }}`"
                            .into(),
                    ),
                );
                continue;
            }
            let filter = spec.filter.as_ref().and_then(|f| {
                self.filter_refs(doc, "/filter", std::slice::from_ref(f), filters).into_iter().next()
            });
            if spec.filter.is_some() && filter.is_none() {
                continue;
            }
            if spec.nesting && per != Some(FieldRef::Person(PersonField::OrgUnit)) {
                self.error(
                    doc,
                    "/nesting",
                    "`nesting` follows the org-unit tree, so it needs `per: org_unit`",
                    Some("set `per: org_unit`, or remove `nesting`".into()),
                );
                continue;
            }
            let with_groups: Vec<&DirectoryConfig> =
                directories.iter().filter(|d| d.groups.is_some()).collect();
            let targets = match &spec.directories {
                // Without a directory that keeps groups, the definition applies to none
                // (`validate` warns): a repository tried against another directory
                // still plans its people.
                None => with_groups.iter().map(|d| d.id.clone()).collect(),
                Some(names) => {
                    let mut ids = Vec::new();
                    for (i, name) in names.iter().enumerate() {
                        let at = format!("/directories/{i}");
                        match directories.iter().find(|d| d.id.as_str() == name) {
                            None => self.error(
                                doc,
                                &at,
                                format!("there is no directory `{name}`"),
                                did_you_mean(name, directories.iter().map(|d| d.id.as_str())),
                            ),
                            Some(d) if d.groups.is_none() => self.error(
                                doc,
                                &at,
                                format!("directory `{name}` does not keep groups"),
                                Some(format!("add a `groups:` block to {}", d.file)),
                            ),
                            Some(d) => ids.push(d.id.clone()),
                        }
                    }
                    if ids.len() != names.len() {
                        continue;
                    }
                    ids
                }
            };
            out.push(GroupDef {
                id,
                file: doc.file.clone(),
                directories: targets,
                per,
                name,
                filter,
                nesting: spec.nesting,
                leavers: spec.leavers.unwrap_or_default(),
                delete_empty: spec.delete_empty,
            });
        }
        out
    }
}
