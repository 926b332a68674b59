//! Filters: who is synced, and the rule that decided it.
//!
//! A person is excluded when any `exclude` rule of a filter matches, else included when
//! every `include` rule matches. Several filters must all include a person. Every
//! decision names the filter and rule that made it, so `hrsync preview` and plan rows can
//! say why. A reason shows the value it tested only when the field is not personal data.

use std::fmt;

use serde::Serialize;

use super::ids::FilterId;
use super::record::{FieldRef, FieldValue};
use super::template::Vars;
use super::value::eq_ignore_case;

/// A compiled filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    /// Its id.
    pub id: FilterId,
    /// Rules that must all match.
    pub include: Vec<Rule>,
    /// Rules of which none may match.
    pub exclude: Vec<Rule>,
}

/// One rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The field it tests.
    pub field: FieldRef,
    /// The test.
    pub test: Test,
    /// The reason given in the config, if any.
    pub reason: Option<String>,
}

/// A rule's test. Text comparisons ignore case.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// The value is one of these (stored lowercase).
    In(Vec<String>),
    /// The value is none of these (stored lowercase).
    NotIn(Vec<String>),
    /// The value is present (`true`) or absent (`false`).
    Present(bool),
    /// The value starts with this (lowercase).
    StartsWith(String),
    /// The value ends with this (lowercase).
    EndsWith(String),
}

/// Which list of a filter a rule is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleList {
    /// `include`.
    Include,
    /// `exclude`.
    Exclude,
}

/// The outcome of filtering one person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Every filter included the person (or there were none).
    Included,
    /// A rule excluded the person.
    Excluded {
        /// The filter.
        filter: FilterId,
        /// Which list the deciding rule is in.
        list: RuleList,
        /// Its index in that list.
        index: usize,
        /// Why, in words.
        reason: String,
    },
}

impl Decision {
    /// Whether the person is included.
    pub fn is_included(&self) -> bool {
        matches!(self, Decision::Included)
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Included => f.write_str("included"),
            Decision::Excluded { filter, list, index, reason } => {
                let list = match list {
                    RuleList::Include => "include",
                    RuleList::Exclude => "exclude",
                };
                write!(f, "excluded by filter `{filter}` {list}[{index}]: {reason}")
            }
        }
    }
}

/// Applies `filters` in order; the first rule that excludes decides.
pub fn decide<'a>(filters: impl IntoIterator<Item = &'a Filter>, vars: &dyn Vars) -> Decision {
    for filter in filters {
        let decision = filter.decide(vars);
        if !decision.is_included() {
            return decision;
        }
    }
    Decision::Included
}

impl Filter {
    /// Decides for one person.
    pub fn decide(&self, vars: &dyn Vars) -> Decision {
        for (index, rule) in self.exclude.iter().enumerate() {
            let value = vars.get(&rule.field);
            if rule.test.matches(value) {
                return self.excluded(RuleList::Exclude, index, rule, value);
            }
        }
        for (index, rule) in self.include.iter().enumerate() {
            let value = vars.get(&rule.field);
            if !rule.test.matches(value) {
                return self.excluded(RuleList::Include, index, rule, value);
            }
        }
        Decision::Included
    }

    fn excluded(&self, list: RuleList, index: usize, rule: &Rule, value: Option<FieldValue<'_>>) -> Decision {
        let reason = match &rule.reason {
            Some(reason) => reason.clone(),
            None => rule.explain(list, value),
        };
        Decision::Excluded { filter: self.id.clone(), list, index, reason }
    }
}

impl Rule {
    /// Explains a decision of this rule in words.
    fn explain(&self, list: RuleList, value: Option<FieldValue<'_>>) -> String {
        let shown = match value {
            None => "absent".to_owned(),
            Some(_) if self.field.is_personal() => "a value".to_owned(),
            Some(v) => format!("`{}`", v.to_text()),
        };
        let field = &self.field;
        let wanted = match &self.test {
            Test::In(values) => format!("one of {}", values.join(", ")),
            Test::NotIn(values) => format!("none of {}", values.join(", ")),
            Test::Present(true) => "present".to_owned(),
            Test::Present(false) => "absent".to_owned(),
            Test::StartsWith(s) => format!("starting with `{s}`"),
            Test::EndsWith(s) => format!("ending with `{s}`"),
        };
        match list {
            RuleList::Include => format!("{field} is {shown}, not {wanted}"),
            RuleList::Exclude => format!("{field} is {shown}, which is {wanted}"),
        }
    }
}

impl Test {
    /// Whether a value passes the test.
    pub fn matches(&self, value: Option<FieldValue<'_>>) -> bool {
        let owned;
        let text = match value {
            None => None,
            Some(FieldValue::Text(s)) => Some(s),
            Some(other) => {
                owned = other.to_text();
                Some(owned.as_str())
            }
        };
        // Rule values are stored lowercase; the person's value is compared without
        // regard to case, in place.
        let same = eq_ignore_case;
        match (self, text) {
            (Test::Present(want), v) => v.is_some() == *want,
            (Test::In(values), Some(v)) => values.iter().any(|x| same(x, v)),
            (Test::In(_), None) => false,
            (Test::NotIn(values), Some(v)) => !values.iter().any(|x| same(x, v)),
            (Test::NotIn(_), None) => true,
            (Test::StartsWith(s), Some(v)) => v.to_lowercase().starts_with(s.as_str()),
            (Test::EndsWith(s), Some(v)) => v.to_lowercase().ends_with(s.as_str()),
            (Test::StartsWith(_) | Test::EndsWith(_), None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EmploymentStatus, Person, PersonField};

    use crate::model::template::PersonOnly as P;

    fn staff() -> Filter {
        Filter {
            id: FilterId::new_unchecked("staff"),
            include: vec![Rule {
                field: FieldRef::Person(PersonField::EmploymentStatus),
                test: Test::In(vec!["active".into(), "pending".into(), "leave".into()]),
                reason: None,
            }],
            exclude: vec![Rule {
                field: FieldRef::Person(PersonField::EmploymentType),
                test: Test::In(vec!["contractor".into()]),
                reason: Some("contractors use the vendor portal".into()),
            }],
        }
    }

    #[test]
    fn exclude_wins_and_names_its_rule() {
        let p = P(&Person::test("E1").kind("Contractor"));
        let d = staff().decide(&p);
        assert_eq!(d.to_string(), "excluded by filter `staff` exclude[0]: contractors use the vendor portal");
    }

    #[test]
    fn failing_include_explains_with_the_value_of_non_personal_fields() {
        let p = P(&Person::test("E1").status(EmploymentStatus::Terminated));
        assert_eq!(
            staff().decide(&p).to_string(),
            "excluded by filter `staff` include[0]: employment_status is `terminated`, not one of active, pending, leave"
        );
        assert!(staff().decide(&P(&Person::test("E2"))).is_included());
    }

    #[test]
    fn personal_values_are_not_shown_in_reasons() {
        let f = Filter {
            id: FilterId::new_unchecked("domain"),
            include: vec![Rule {
                field: FieldRef::Person(PersonField::WorkEmail),
                test: Test::EndsWith("@acme.example".into()),
                reason: None,
            }],
            exclude: vec![],
        };
        let text = f.decide(&P(&Person::test("E1").email("secret.person@other.example"))).to_string();
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("work_email is a value, not ending with `@acme.example`"), "{text}");
    }

    #[test]
    fn tests_cover_absent_values() {
        assert!(!Test::In(vec!["x".into()]).matches(None));
        assert!(Test::NotIn(vec!["x".into()]).matches(None));
        assert!(Test::Present(false).matches(None));
        assert!(Test::StartsWith("ab".into()).matches(Some(FieldValue::Text("ABc"))));
    }
}
