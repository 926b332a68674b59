//! `filters/*.yaml` → named [`Filter`]s.
//!
//! This module owns what a filter's rules mean. It must not know who uses a filter:
//! sources and directories refer to filters by id, and those references are checked
//! where they are made.

use std::collections::BTreeMap;

use super::Compiler;
use crate::config::loading::Parsed;
use crate::config::one_of;
use crate::config::spec::{FilterSpec, RuleSpec};
use crate::config::yaml::Document;
use crate::model::FilterId;
use crate::model::filter::{Filter, Rule, Test};

impl Compiler {
    pub(super) fn filters(&mut self, docs: &[Parsed<FilterSpec>]) -> BTreeMap<FilterId, Filter> {
        let mut out = BTreeMap::new();
        for p in docs {
            let Some(id) = self.id(p, None, "filter", FilterId::new) else { continue };
            let include = self.rules(&p.doc, "/include", &p.spec.include);
            let exclude = self.rules(&p.doc, "/exclude", &p.spec.exclude);
            out.insert(id.clone(), Filter { id, include, exclude });
        }
        out
    }

    fn rules(&mut self, doc: &Document, pointer: &str, specs: &[RuleSpec]) -> Vec<Rule> {
        let mut out = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let at = format!("{pointer}/{i}");
            let field = self.field_ref(doc, &format!("{at}/field"), &spec.field);
            // A value a closed field never takes makes the rule match nobody (or
            // everybody), silently.
            if let Some((what, allowed)) = field.as_ref().and_then(|f| f.closed_values()) {
                for (key, list) in [("in", &spec.in_), ("not_in", &spec.not_in)] {
                    for (j, value) in list.iter().flatten().enumerate() {
                        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
                            let (message, hint) = one_of(Some(value), Some(what), allowed);
                            self.push(doc.error_at(&format!("{at}/{key}/{j}"), message, hint));
                        }
                    }
                }
            }
            let lower = |v: &Vec<String>| v.iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
            let mut tests: Vec<Test> = Vec::new();
            tests.extend(spec.in_.as_ref().map(|v| Test::In(lower(v))));
            tests.extend(spec.not_in.as_ref().map(|v| Test::NotIn(lower(v))));
            tests.extend(spec.present.map(Test::Present));
            tests.extend(spec.starts_with.as_ref().map(|s| Test::StartsWith(s.to_lowercase())));
            tests.extend(spec.ends_with.as_ref().map(|s| Test::EndsWith(s.to_lowercase())));
            if tests.len() != 1 {
                let message =
                    if tests.is_empty() { "the rule has no test" } else { "the rule has more than one test" };
                self.error(doc, &at, message, Some("give exactly one of `in`, `not_in`, `present`, `starts_with`, `ends_with`; use two rules to combine".into()));
                continue;
            }
            if let (Some(field), Some(test)) = (field, tests.pop()) {
                out.push(Rule { field, test, reason: spec.reason.clone() });
            }
        }
        out
    }
}
