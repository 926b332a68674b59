//! Raw source values → normalized records (DESIGN §4.1).
//!
//! Every source hands its rows here as (field, raw text) pairs. Values are trimmed,
//! brought to Unicode NFC, mapped through the source's `values` table, and empty text
//! is treated as absent. Dates are parsed strictly with the source's `date_format`; an
//! invalid date, an unknown employment status or a record without an id makes the row
//! a skipped record with a reason. Reasons name the field, never a personal value.

use std::borrow::Cow;
use std::collections::BTreeMap;

use jiff::civil::Date;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use crate::config::SourceConfig;
use crate::model::SourceId;
use crate::model::{
    Employment, EmploymentStatus, FieldRef, OrgUnit, Person, PersonField, RecordKind, RecordLocation,
    SkippedRecord,
};

/// Where a column or key of a person row goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersonTarget {
    /// A standard field.
    Field(PersonField),
    /// A custom attribute.
    Custom(String),
}

impl PersonTarget {
    /// Parses a field name as written in `columns`/`fields` (no derived fields).
    pub fn parse(name: &str) -> Option<PersonTarget> {
        match name.parse::<FieldRef>().ok()? {
            FieldRef::Person(f) => Some(PersonTarget::Field(f)),
            FieldRef::Custom(c) => Some(PersonTarget::Custom(c)),
            FieldRef::OrgUnitName | FieldRef::Source => None,
        }
    }

    /// Every standard field, as the default targets of a source.
    pub fn standard() -> impl Iterator<Item = PersonTarget> {
        PersonField::ALL.iter().map(|f| PersonTarget::Field(*f))
    }

    /// The name used in config.
    pub fn name(&self) -> Cow<'_, str> {
        match self {
            PersonTarget::Field(f) => Cow::Borrowed(f.name()),
            PersonTarget::Custom(c) => Cow::Owned(format!("custom.{c}")),
        }
    }
}

/// Which source column or key holds each field: the renamed ones from `columns`, else
/// a column named like the field. `header` is the list of available names.
pub fn resolve_targets<'h>(
    columns: &BTreeMap<String, String>,
    header: impl Iterator<Item = (usize, &'h str)> + Clone,
) -> Result<Vec<(PersonTarget, usize)>, String> {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for (name, column) in columns {
        let Some(target) = PersonTarget::parse(name) else { continue };
        match header.clone().find(|(_, h)| h.trim() == column) {
            Some((i, _)) => out.push((target, i)),
            None => missing.push(format!("`{column}` (for {name})")),
        }
    }
    match missing.len() {
        0 => {}
        1 => return Err(format!("column {} is missing", missing[0])),
        _ => return Err(format!("columns {} are missing", missing.join(", "))),
    }
    for target in PersonTarget::standard() {
        if columns.contains_key(target.name().as_ref()) {
            continue;
        }
        if let Some((i, _)) = header.clone().find(|(_, h)| h.trim() == target.name()) {
            out.push((target, i));
        }
    }
    Ok(out)
}

/// Trims, NFC-normalizes and drops empty text.
pub fn text(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    Some(match is_nfc_quick(t.chars()) {
        IsNormalized::Yes => t.to_owned(),
        _ => t.nfc().collect(),
    })
}

/// Normalizes the rows of one source.
#[derive(Clone, Debug)]
pub struct Normalizer {
    source: SourceId,
    values: BTreeMap<FieldRef, BTreeMap<String, String>>,
    date_format: String,
}

impl Normalizer {
    /// A normalizer for `source`.
    pub fn new(source: &SourceConfig) -> Normalizer {
        Normalizer {
            source: source.id.clone(),
            values: source.values.clone(),
            date_format: source.date_format.clone(),
        }
    }

    /// Text of `field` after trimming, NFC and the `values` map.
    fn value(&self, field: &FieldRef, raw: &str) -> Option<String> {
        let t = text(raw)?;
        let Some(map) = self.values.get(field) else { return Some(t) };
        let mapped =
            map.get(&t).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(&t)).map(|(_, v)| v));
        match mapped {
            Some(v) => text(v),
            None => Some(t),
        }
    }

    fn date(&self, field: &str, raw: String) -> Result<Date, String> {
        Date::strptime(&self.date_format, &raw)
            .map_err(|_| format!("{field} is not a valid date in the form `{}`", self.date_format))
    }

    /// Builds a person from (target, raw text) pairs. A person that cannot be built is
    /// skipped with the first problem as its reason, and keeps what could be read of
    /// it ([`SkippedRecord::partial`]) so that their entry can be held as it is.
    pub fn person<'r>(
        &self,
        location: RecordLocation,
        values: impl IntoIterator<Item = (&'r PersonTarget, &'r str)>,
    ) -> Result<Person, SkippedRecord> {
        let (p, problem) = self.read_person(location.clone(), values);
        let problem = problem.or_else(|| {
            (p.id.is_empty()).then(|| "the record has neither an id nor an employee_number".to_owned())
        });
        let problem = problem.or_else(|| match (p.start_date, p.end_date) {
            (Some(start), Some(end)) if end < start => Some("end_date is before start_date".to_owned()),
            _ => None,
        });
        match problem {
            None => Ok(p),
            Some(reason) => Err(SkippedRecord {
                partial: Some(Box::new(p)),
                ..SkippedRecord::new(RecordKind::Employee, location, reason)
            }),
        }
    }

    /// What can be read of a person from (target, raw text) pairs, whatever else is
    /// wrong with the record (for a record skipped before it reached [`Self::person`]).
    pub fn partial<'r>(
        &self,
        location: RecordLocation,
        values: impl IntoIterator<Item = (&'r PersonTarget, impl AsRef<str> + 'r)>,
    ) -> Option<Box<Person>> {
        let values: Vec<(&PersonTarget, String)> =
            values.into_iter().map(|(t, v)| (t, v.as_ref().to_owned())).collect();
        let (p, _) = self.read_person(location, values.iter().map(|(t, v)| (*t, v.as_str())));
        Some(Box::new(p))
    }

    /// Reads every field it can, and the first problem of those it cannot.
    fn read_person<'r>(
        &self,
        location: RecordLocation,
        values: impl IntoIterator<Item = (&'r PersonTarget, &'r str)>,
    ) -> (Person, Option<String>) {
        let mut p = Person { source: self.source.clone(), location, ..Person::default() };
        let mut id = None;
        let mut problem: Option<String> = None;
        let mut note = |reason: String| {
            if problem.is_none() {
                problem = Some(reason);
            }
        };
        for (target, raw) in values {
            let field = match target {
                PersonTarget::Custom(name) => {
                    if let Some(v) = self.value(&FieldRef::Custom(name.clone()), raw) {
                        p.custom.insert(name.clone(), v);
                    }
                    continue;
                }
                PersonTarget::Field(f) => *f,
            };
            let Some(v) = self.value(&FieldRef::Person(field), raw) else { continue };
            use PersonField as F;
            match field {
                F::Id => id = Some(v),
                F::EmployeeNumber => p.employee_number = Some(v),
                F::FirstName => p.first_name = Some(v),
                F::LastName => p.last_name = Some(v),
                F::PreferredName => p.preferred_name = Some(v),
                F::DisplayName => p.display_name = Some(v),
                F::WorkEmail => p.work_email = Some(v),
                F::PersonalEmail => p.personal_email = Some(v),
                F::Phone => p.phone = Some(v),
                F::JobTitle => p.job_title = Some(v),
                F::Department => p.department = Some(v),
                F::Team => p.team = Some(v),
                F::OrgUnit => p.org_unit = Some(v),
                F::LegalEntity => p.legal_entity = Some(v),
                F::WorkLocation => p.work_location = Some(v),
                F::Manager => p.manager = Some(v),
                F::EmploymentType => p.employment_type = Some(v),
                F::EmploymentStatus => match v.parse::<EmploymentStatus>() {
                    Ok(status) => p.employment_status = Some(status),
                    // The value itself stays out of the reason: reports are committed, and
                    // a free-text status can say why someone left.
                    Err(()) => note(
                        "employment_status is not one of active, pending, leave, terminated; map the source's value under `values` in the source"
                            .to_owned(),
                    ),
                },
                F::StartDate => match self.date("start_date", v) {
                    Ok(d) => p.start_date = Some(d),
                    Err(reason) => note(reason),
                },
                F::EndDate => match self.date("end_date", v) {
                    Ok(d) => p.end_date = Some(d),
                    Err(reason) => note(reason),
                },
            }
        }
        p.id = id.or_else(|| p.employee_number.clone()).unwrap_or_default();
        (p, problem)
    }

    /// Builds an employment from (field name, raw text) pairs. An employment that cannot
    /// be built is skipped with the first problem as its reason; when the person it
    /// belongs to can be read, the skipped record names them
    /// ([`SkippedRecord::partial`] with that id), so that the person is held rather than
    /// judged by an older employment.
    pub fn employment<'r>(
        &self,
        location: RecordLocation,
        values: impl IntoIterator<Item = (&'r str, &'r str)>,
    ) -> Result<Employment, SkippedRecord> {
        let mut e = Employment {
            source: self.source.clone(),
            id: String::new(),
            person: String::new(),
            employment_type: None,
            legal_entity: None,
            job_title: None,
            start_date: None,
            end_date: None,
            location: location.clone(),
        };
        let mut problem: Option<String> = None;
        for (field, raw) in values {
            let Some(v) = text(raw) else { continue };
            let mut date = |field: &str, v: String| match self.date(field, v) {
                Ok(d) => Some(d),
                Err(reason) => {
                    problem.get_or_insert(reason);
                    None
                }
            };
            match field {
                "id" => e.id = v,
                "person" => e.person = v,
                "employment_type" => {
                    e.employment_type = self.value(&FieldRef::Person(PersonField::EmploymentType), &v)
                }
                "legal_entity" => e.legal_entity = Some(v),
                "job_title" => e.job_title = Some(v),
                "start_date" => e.start_date = date("start_date", v),
                "end_date" => e.end_date = date("end_date", v),
                _ => {}
            }
        }
        if e.id.is_empty() || e.person.is_empty() {
            problem.get_or_insert_with(|| "an employment needs an id and a person".into());
        }
        match problem {
            None => Ok(e),
            Some(reason) => Err(SkippedRecord {
                partial: self.person_ref(&e.person, location.clone()),
                ..SkippedRecord::new(RecordKind::Employment, location, reason)
            }),
        }
    }

    /// What a skipped record that belongs to a person (an employment) says of them: their
    /// record id, if it can be read.
    pub fn person_ref(&self, id: &str, location: RecordLocation) -> Option<Box<Person>> {
        let id = text(id)?;
        Some(Box::new(Person { source: self.source.clone(), id, location, ..Person::default() }))
    }

    /// Builds an org unit from (field name, raw text) pairs.
    pub fn org_unit<'r>(
        &self,
        location: RecordLocation,
        values: impl IntoIterator<Item = (&'r str, &'r str)>,
    ) -> Result<OrgUnit, SkippedRecord> {
        let mut u = OrgUnit {
            source: self.source.clone(),
            id: String::new(),
            name: String::new(),
            parent: None,
            location: location.clone(),
        };
        for (field, raw) in values {
            let Some(v) = text(raw) else { continue };
            match field {
                "id" => u.id = v,
                "name" => u.name = v,
                "parent" => u.parent = Some(v),
                _ => {}
            }
        }
        if u.id.is_empty() || u.name.is_empty() {
            return Err(SkippedRecord::new(
                RecordKind::OrgUnit,
                location,
                "an org unit needs an id and a name",
            ));
        }
        Ok(u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalizer(date_format: &str) -> Normalizer {
        let mut values = BTreeMap::new();
        values.insert(
            FieldRef::Person(PersonField::EmploymentStatus),
            BTreeMap::from([
                ("Aktiv".to_owned(), "active".to_owned()),
                ("Ausgetreten".to_owned(), "terminated".to_owned()),
            ]),
        );
        Normalizer::new(&SourceConfig { values, date_format: date_format.into(), ..SourceConfig::test("de") })
    }

    fn loc() -> RecordLocation {
        RecordLocation { file: "de.csv".into(), line: 7 }
    }

    fn targets(names: &[&str]) -> Vec<PersonTarget> {
        names.iter().map(|n| PersonTarget::parse(n).unwrap()).collect()
    }

    #[test]
    fn trims_normalizes_and_drops_empty_values() {
        let t = targets(&[
            "employee_number",
            "first_name",
            "last_name",
            "phone",
            "employment_status",
            "custom.cc",
        ]);
        // "Zoe\u{308}" is decomposed; NFC composes it to "Zoë".
        let raw = [" 1001 ", "Zoe\u{308}", "  ", "", "aktiv", " 4711 "];
        let p = normalizer("%Y-%m-%d").person(loc(), t.iter().zip(raw)).unwrap();
        assert_eq!(p.id, "1001");
        assert_eq!(p.first_name.as_deref(), Some("Zoë"));
        assert_eq!(p.last_name, None);
        assert_eq!(p.phone, None);
        assert_eq!(p.employment_status, Some(EmploymentStatus::Active));
        assert_eq!(p.custom.get("cc").map(String::as_str), Some("4711"));
    }

    #[test]
    fn dates_are_strict_and_reasons_hold_no_values() {
        let t = targets(&["employee_number", "start_date"]);
        let n = normalizer("%d.%m.%Y");
        assert_eq!(
            n.person(loc(), t.iter().zip(["1", "01.02.2026"])).unwrap().start_date,
            "2026-02-01".parse().ok()
        );
        let err = n.person(loc(), t.iter().zip(["1", "31.02.2026"])).unwrap_err();
        assert_eq!(err.reason, "start_date is not a valid date in the form `%d.%m.%Y`");
        assert_eq!(
            err.to_string(),
            "de.csv:7: person skipped: start_date is not a valid date in the form `%d.%m.%Y`"
        );
        assert!(n.person(loc(), t.iter().zip(["1", "2026-02-01"])).is_err());
    }

    #[test]
    fn unknown_status_and_missing_id_are_skipped() {
        let n = normalizer("%Y-%m-%d");
        let t = targets(&["employee_number", "employment_status"]);
        let err = n.person(loc(), t.iter().zip(["1", "freelance"])).unwrap_err();
        assert!(err.reason.starts_with("employment_status is not one of"), "{}", err.reason);
        assert!(!err.reason.contains("freelance"), "the value stays out of reports: {}", err.reason);
        let t = targets(&["first_name"]);
        assert!(n.person(loc(), t.iter().zip(["Ada"])).unwrap_err().reason.contains("neither an id"));
        let t = targets(&["employee_number", "start_date", "end_date"]);
        assert!(n.person(loc(), t.iter().zip(["1", "2026-02-01", "2026-01-01"])).is_err());
    }

    #[test]
    fn resolves_renamed_and_default_columns() {
        let columns = BTreeMap::from([("employee_number".to_owned(), "Personalnummer".to_owned())]);
        let header = ["Personalnummer", "first_name", "Other"];
        let t = resolve_targets(&columns, header.iter().copied().enumerate()).unwrap();
        assert_eq!(
            t,
            vec![
                (PersonTarget::Field(PersonField::EmployeeNumber), 0),
                (PersonTarget::Field(PersonField::FirstName), 1)
            ]
        );
        let missing = BTreeMap::from([("last_name".to_owned(), "Nachname".to_owned())]);
        assert!(
            resolve_targets(&missing, header.iter().copied().enumerate()).unwrap_err().contains("`Nachname`")
        );
    }
}
