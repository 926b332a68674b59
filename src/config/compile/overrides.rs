//! `overrides.yaml` → [`Override`]s: who each names, what it does, until when.
//!
//! This module owns what an override means when it is read: one person field and a
//! value (and a source, if given), exactly one kind, a reason, dates that are dates,
//! and a pinned attribute some directory maps. It must not look for the person: who an
//! override names is the plan's to find, and an override that names nobody is a
//! warning of `validate --online` and of the run, not an error.

use super::Compiler;
use crate::config::loading::Parsed;
use crate::config::spec::{HiddenEntry, OverridesSpec};
use crate::config::{DirectoryConfig, Override, OverrideKind, SourceConfig};
use crate::model::{DirectoryId, FieldRef, SourceId};

impl Compiler {
    pub(super) fn overrides(
        &mut self,
        parsed: Option<&Parsed<OverridesSpec>>,
        sources: &[SourceConfig],
        directories: &[DirectoryConfig],
    ) -> Vec<Override> {
        let Some(p) = parsed else { return Vec::new() };
        let doc = &p.doc;
        let mut out = Vec::new();
        for (i, o) in p.spec.overrides.iter().enumerate() {
            let at = |key: &str| format!("/overrides/{i}/{key}");
            let errors_before = self.diags.len();
            let source = o.person.get("source").map(|s| {
                if !sources.iter().any(|c| c.id.as_str() == s) {
                    let ids: Vec<&str> = sources.iter().map(|c| c.id.as_str()).collect();
                    self.error(
                        doc,
                        &format!("{}/source", at("person")),
                        format!("there is no source `{s}`"),
                        Some(format!("the sources are: {}", ids.join(", "))),
                    );
                }
                SourceId::new_unchecked(s)
            });
            let keys: Vec<(&String, &String)> = o.person.iter().filter(|(k, _)| *k != "source").collect();
            let named = match keys.as_slice() {
                [(field, value)] => self
                    .field_ref(doc, &format!("{}/{field}", at("person")), field)
                    .map(|f| (f, value.trim().to_owned())),
                _ => {
                    self.error(
                        doc,
                        &at("person"),
                        "`person` names one person field and its value",
                        Some("for example `person: { employee_number: \"10042\" }` (and `source: <id>` if needed)".into()),
                    );
                    None
                }
            };
            if let Some((FieldRef::OrgUnitName | FieldRef::Source, _)) = &named {
                self.error(doc, &at("person"), "a person is named by one of their own fields", None);
            }
            if named.as_ref().is_some_and(|(_, v)| v.is_empty()) {
                self.error(doc, &at("person"), "the value naming the person is empty", None);
            }
            let date = |this: &mut Self, key: &str, text: &Option<String>| {
                let text = text.as_ref()?;
                match text.parse::<jiff::civil::Date>() {
                    Ok(d) => Some(d),
                    Err(_) => {
                        this.error(
                            doc,
                            &at(key),
                            format!("`{text}` is not a date"),
                            Some("write it `YYYY-MM-DD`".into()),
                        );
                        None
                    }
                }
            };
            let until = date(self, "until", &o.until);
            let delay = date(self, "delay_leaving_until", &o.delay_leaving_until);
            let kinds = usize::from(o.hide)
                + usize::from(o.keep_disabled)
                + usize::from(o.pin.is_some())
                + usize::from(o.delay_leaving_until.is_some());
            if kinds != 1 {
                self.error(
                    doc,
                    &format!("/overrides/{i}"),
                    if kinds == 0 { "an override that does nothing" } else { "an override does one thing" },
                    Some(
                        "give exactly one of `hide`, `keep_disabled`, `pin` and `delay_leaving_until`".into(),
                    ),
                );
            }
            if o.existing.is_some() && !o.hide {
                self.error(doc, &at("existing"), "`existing` goes with `hide`", Some("remove it".into()));
            }
            if o.reason.trim().is_empty() {
                self.error(doc, &at("reason"), "an override needs a reason", None);
            }
            let kind = if o.hide {
                Some(OverrideKind::Hide { disable_existing: o.existing == Some(HiddenEntry::Disable) })
            } else if o.keep_disabled {
                Some(OverrideKind::KeepDisabled)
            } else if let Some(pin) = &o.pin {
                let scope: Vec<&DirectoryConfig> = match &pin.directory {
                    Some(id) => {
                        let found: Vec<&DirectoryConfig> =
                            directories.iter().filter(|d| d.id.as_str() == id).collect();
                        if found.is_empty() {
                            let ids: Vec<&str> = directories.iter().map(|d| d.id.as_str()).collect();
                            self.error(
                                doc,
                                &format!("{}/directory", at("pin")),
                                format!("there is no directory `{id}`"),
                                Some(format!("the directories are: {}", ids.join(", "))),
                            );
                        }
                        found
                    }
                    None => directories.iter().collect(),
                };
                let mapped = scope.iter().any(|d| d.fields.iter().any(|f| f.attribute == pin.attribute));
                if !scope.is_empty() && !mapped {
                    self.error(
                        doc,
                        &format!("{}/attribute", at("pin")),
                        format!("no directory maps `{}`", pin.attribute),
                        Some("pin an attribute a directory's `fields` name".into()),
                    );
                }
                Some(OverrideKind::Pin {
                    directory: pin.directory.as_deref().map(DirectoryId::new_unchecked),
                    attribute: pin.attribute.clone(),
                    value: pin.value.clone(),
                })
            } else {
                delay.map(OverrideKind::DelayLeaving)
            };
            if self.diags.len() != errors_before {
                continue;
            }
            let (Some((field, value)), Some(kind)) = (named, kind) else { continue };
            out.push(Override {
                line: doc.position(&format!("/overrides/{i}")).line,
                source,
                field,
                value,
                kind,
                reason: o.reason.trim().to_owned(),
                until,
            });
        }
        out
    }
}
