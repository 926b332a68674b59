//! `overrides.yaml` → [`Override`]s: who each names, what it does, until when.
//!
//! This module owns what an override means when it is read: one person field and a
//! value (and a source, if given), exactly one kind, a reason, dates that are dates,
//! a pinned attribute some directory maps and that does not identify the entry, and one
//! override deciding a person's entry. It must not look for the person: who an override
//! names is the plan's to find, and an override that names nobody (or several people)
//! is a warning, not an error.

use super::Compiler;
use crate::config::loading::Parsed;
use crate::config::spec::{HiddenEntry, OverridesSpec};
use crate::config::{DirectoryConfig, DirectoryKind, Override, OverrideKind, SourceConfig};
use crate::model::{DirectoryId, FieldRef, PersonField, SourceId};

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
            // A person is named by a key: a value that names one person, not a group of
            // them (a department, a last name).
            let key = |f: &FieldRef| {
                matches!(
                    f,
                    FieldRef::Person(PersonField::Id | PersonField::EmployeeNumber | PersonField::WorkEmail)
                )
            };
            if let Some((field, _)) = &named
                && !key(field)
            {
                self.error(
                    doc,
                    &at("person"),
                    format!("`{field}` does not name one person"),
                    Some("name the person by `employee_number`, `work_email` or `id` (with `source`)".into()),
                );
            }
            if let Some((FieldRef::Person(PersonField::Id), _)) = &named
                && source.is_none()
                && sources.len() > 1
            {
                self.error(
                    doc,
                    &at("person"),
                    "a record id names a person only within its source",
                    Some("add `source: <id>`".into()),
                );
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
                // Attributes that identify or name the entry, or that hrsync keeps
                // unique or owns, are not for pinning: a pin there would lose the match,
                // rename the entry, or pass by the checks that keep values unique.
                let identifying = scope.iter().find_map(|d| {
                    let same = |a: &str| a.eq_ignore_ascii_case(&pin.attribute);
                    if d.match_rules.iter().any(|m| same(&m.attribute)) {
                        Some("it matches people to entries")
                    } else if d.fields.iter().any(|f| {
                        same(&f.attribute)
                            && matches!(f.source, crate::config::FieldSource::Templates { unique: true, .. })
                    }) {
                        Some("its values are kept unique")
                    } else if d.marker.as_ref().is_some_and(|m| same(&m.attribute)) {
                        Some("it marks the entries hrsync owns")
                    } else {
                        match &d.kind {
                            DirectoryKind::Ldap(l) if same(&l.rdn) => Some("it names the entry (its RDN)"),
                            DirectoryKind::File(f) if same(&f.id_attribute) => Some("it names the entry"),
                            _ => None,
                        }
                    }
                });
                if let Some(why) = identifying {
                    self.error(
                        doc,
                        &format!("{}/attribute", at("pin")),
                        format!("`{}` cannot be pinned: {why}", pin.attribute),
                        Some(
                            "pin an attribute that only describes the person (a title, a phone number)"
                                .into(),
                        ),
                    );
                }
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
            let lifecycle = |k: &OverrideKind| !matches!(k, OverrideKind::Pin { .. });
            let same_person =
                |o: &Override| o.source == source && o.field == field && o.value.eq_ignore_ascii_case(&value);
            if lifecycle(&kind)
                && let Some(other) = out.iter().find(|o: &&Override| same_person(o) && lifecycle(&o.kind))
            {
                self.error(
                    doc,
                    &format!("/overrides/{i}"),
                    format!("{} already decides this person's entry", other.place()),
                    Some("keep one of `hide`, `keep_disabled` and `delay_leaving_until` per person".into()),
                );
                continue;
            }
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
