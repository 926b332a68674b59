//! The normalized HR records every source produces: [`Person`], [`Employment`] and
//! [`OrgUnit`], and the names templates, filters and match keys use to refer to a
//! person's fields ([`PersonField`], [`FieldRef`]).
//!
//! This module only describes data. Parsing raw rows into these records lives in
//! `transform::normalize`; nothing here does I/O or reads the clock.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::ids::SourceId;

/// Where a person is in their employment, normalized across HR systems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentStatus {
    /// Working now.
    Active,
    /// Hired, not started yet.
    Pending,
    /// Employed but away (parental leave, sabbatical …); keeps their account.
    Leave,
    /// No longer employed.
    Terminated,
}

impl EmploymentStatus {
    /// Every status, in declaration order.
    pub const ALL: [EmploymentStatus; 4] = [Self::Active, Self::Pending, Self::Leave, Self::Terminated];

    /// The spelling of each status in config and reports, in declaration order.
    pub const NAMES: [&'static str; 4] = ["active", "pending", "leave", "terminated"];

    /// The spelling used in config and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Leave => "leave",
            Self::Terminated => "terminated",
        }
    }
}

impl FromStr for EmploymentStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|status| status.as_str().eq_ignore_ascii_case(s)).ok_or(())
    }
}

macro_rules! person_fields {
    ($($(#[$doc:meta])* $variant:ident => $name:literal, personal: $personal:literal;)*) => {
        /// A standard field of the person record (DESIGN §3).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum PersonField {
            $($(#[$doc])* $variant,)*
        }

        impl PersonField {
            /// Every standard field, in record order.
            pub const ALL: &'static [PersonField] = &[$(PersonField::$variant,)*];

            /// The snake_case name used in config, templates and reports.
            pub fn name(self) -> &'static str {
                match self { $(PersonField::$variant => $name,)* }
            }

            /// Whether a value of this field can identify a person on its own or
            /// together with a few others (names, numbers, addresses, dates).
            /// Reports mask these under `reports.pii: masked`.
            pub fn is_personal(self) -> bool {
                match self { $(PersonField::$variant => $personal,)* }
            }
        }
    };
}

person_fields! {
    /// The record's id in its source system.
    Id => "id", personal: true;
    /// The employee number, usually the best match key.
    EmployeeNumber => "employee_number", personal: true;
    /// Legal first name.
    FirstName => "first_name", personal: true;
    /// Legal last name.
    LastName => "last_name", personal: true;
    /// The first name a person goes by.
    PreferredName => "preferred_name", personal: true;
    /// Full name as shown in directories, when the source has one.
    DisplayName => "display_name", personal: true;
    /// Work email address.
    WorkEmail => "work_email", personal: true;
    /// Private email address.
    PersonalEmail => "personal_email", personal: true;
    /// Phone number.
    Phone => "phone", personal: true;
    /// Job title.
    JobTitle => "job_title", personal: false;
    /// Department name.
    Department => "department", personal: false;
    /// Team name.
    Team => "team", personal: false;
    /// Id of the org unit (see the source's org units).
    OrgUnit => "org_unit", personal: false;
    /// Legal entity (company code, country entity …).
    LegalEntity => "legal_entity", personal: false;
    /// Work location or office.
    WorkLocation => "work_location", personal: false;
    /// The source record id of this person's manager.
    Manager => "manager", personal: true;
    /// Employment status: active, pending, leave or terminated.
    EmploymentStatus => "employment_status", personal: false;
    /// Employment type (employee, contractor, intern …), as the source names it.
    EmploymentType => "employment_type", personal: false;
    /// First working day.
    StartDate => "start_date", personal: true;
    /// Last working day.
    EndDate => "end_date", personal: true;
}

impl FromStr for PersonField {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.iter().copied().find(|f| f.name() == s).ok_or(())
    }
}

impl fmt::Display for PersonField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name a template, filter or match key may use for a value of a person.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldRef {
    /// A standard field.
    Person(PersonField),
    /// A custom attribute: `custom.<name>`.
    Custom(String),
    /// The name of the person's org unit, looked up in the source's org units.
    OrgUnitName,
    /// The id of the source that owns the person's record.
    Source,
}

impl FieldRef {
    /// Whether values of this field are personal data (see [`PersonField::is_personal`]).
    /// Custom attributes are treated as personal: hrsync cannot know what they hold.
    pub fn is_personal(&self) -> bool {
        match self {
            FieldRef::Person(field) => field.is_personal(),
            FieldRef::Custom(_) => true,
            FieldRef::OrgUnitName | FieldRef::Source => false,
        }
    }

    /// The values this field can take when they are a closed set (the employment
    /// status), so that config naming another value is refused when it is loaded
    /// rather than matching nobody at run time. `None` for free text.
    pub fn closed_values(&self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            FieldRef::Person(PersonField::EmploymentStatus) => {
                Some(("employment status", &EmploymentStatus::NAMES))
            }
            _ => None,
        }
    }

    /// Every name that parses, for hints ("did you mean …").
    pub fn known_names() -> impl Iterator<Item = &'static str> {
        PersonField::ALL.iter().map(|f| f.name()).chain(["org_unit_name", "source"])
    }
}

impl FromStr for FieldRef {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        if let Some(name) = s.strip_prefix("custom.") {
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            return if valid { Ok(FieldRef::Custom(name.to_owned())) } else { Err(()) };
        }
        match s {
            "org_unit_name" => Ok(FieldRef::OrgUnitName),
            "source" => Ok(FieldRef::Source),
            _ => s.parse().map(FieldRef::Person),
        }
    }
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldRef::Person(field) => f.write_str(field.name()),
            FieldRef::Custom(name) => write!(f, "custom.{name}"),
            FieldRef::OrgUnitName => f.write_str("org_unit_name"),
            FieldRef::Source => f.write_str("source"),
        }
    }
}

/// Where a record came from inside its source: a file and line, or an API page.
/// It never holds personal data, so it may appear in logs and reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordLocation {
    /// File name or endpoint.
    pub file: String,
    /// 1-based line (CSV) or item index (JSON, API).
    pub line: u64,
}

impl fmt::Display for RecordLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One normalized HR record of a person, as one source describes them.
///
/// Text values are trimmed, in Unicode NFC and never empty (empty means absent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the ones PersonField documents
pub struct Person {
    pub source: SourceId,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_entity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employment_status: Option<EmploymentStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employment_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<Date>,
    /// Free custom attributes, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
    /// Where the record was read; not part of its identity.
    #[serde(default)]
    pub location: RecordLocation,
}

/// A field value borrowed from a person: text, or a typed value rendered on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValue<'a> {
    /// A text field.
    Text(&'a str),
    /// A date field.
    Date(Date),
    /// The employment status.
    Status(EmploymentStatus),
}

impl FieldValue<'_> {
    /// Appends the value's text form to `out`.
    pub fn write_to(&self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            FieldValue::Text(text) => out.push_str(text),
            // Writing into a String cannot fail.
            FieldValue::Date(date) => {
                let _ = write!(out, "{date}");
            }
            FieldValue::Status(status) => out.push_str(status.as_str()),
        }
    }

    /// The value as owned text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_to(&mut out);
        out
    }
}

impl Person {
    /// The value of a standard field, if present.
    pub fn get(&self, field: PersonField) -> Option<FieldValue<'_>> {
        use PersonField as F;
        fn text(v: &Option<String>) -> Option<FieldValue<'_>> {
            v.as_deref().map(FieldValue::Text)
        }
        match field {
            F::Id => Some(FieldValue::Text(&self.id)),
            F::EmployeeNumber => text(&self.employee_number),
            F::FirstName => text(&self.first_name),
            F::LastName => text(&self.last_name),
            F::PreferredName => text(&self.preferred_name),
            F::DisplayName => text(&self.display_name),
            F::WorkEmail => text(&self.work_email),
            F::PersonalEmail => text(&self.personal_email),
            F::Phone => text(&self.phone),
            F::JobTitle => text(&self.job_title),
            F::Department => text(&self.department),
            F::Team => text(&self.team),
            F::OrgUnit => text(&self.org_unit),
            F::LegalEntity => text(&self.legal_entity),
            F::WorkLocation => text(&self.work_location),
            F::Manager => text(&self.manager),
            F::EmploymentStatus => self.employment_status.map(FieldValue::Status),
            F::EmploymentType => text(&self.employment_type),
            F::StartDate => self.start_date.map(FieldValue::Date),
            F::EndDate => self.end_date.map(FieldValue::Date),
        }
    }

    /// Whether the standard field has a value.
    pub fn has(&self, field: PersonField) -> bool {
        self.get(field).is_some()
    }

    /// Takes `field` from `other` (a lower-priority record describing the same person)
    /// when this record has no value for it. Returns whether it was taken.
    pub fn fill_from(&mut self, other: &Person, field: PersonField) -> bool {
        use PersonField as F;
        fn fill<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) -> bool {
            if mine.is_none() && theirs.is_some() {
                mine.clone_from(theirs);
                true
            } else {
                false
            }
        }
        match field {
            F::Id => false,
            F::EmployeeNumber => fill(&mut self.employee_number, &other.employee_number),
            F::FirstName => fill(&mut self.first_name, &other.first_name),
            F::LastName => fill(&mut self.last_name, &other.last_name),
            F::PreferredName => fill(&mut self.preferred_name, &other.preferred_name),
            F::DisplayName => fill(&mut self.display_name, &other.display_name),
            F::WorkEmail => fill(&mut self.work_email, &other.work_email),
            F::PersonalEmail => fill(&mut self.personal_email, &other.personal_email),
            F::Phone => fill(&mut self.phone, &other.phone),
            F::JobTitle => fill(&mut self.job_title, &other.job_title),
            F::Department => fill(&mut self.department, &other.department),
            F::Team => fill(&mut self.team, &other.team),
            F::OrgUnit => fill(&mut self.org_unit, &other.org_unit),
            F::LegalEntity => fill(&mut self.legal_entity, &other.legal_entity),
            F::WorkLocation => fill(&mut self.work_location, &other.work_location),
            F::Manager => fill(&mut self.manager, &other.manager),
            F::EmploymentStatus => fill(&mut self.employment_status, &other.employment_status),
            F::EmploymentType => fill(&mut self.employment_type, &other.employment_type),
            F::StartDate => fill(&mut self.start_date, &other.start_date),
            F::EndDate => fill(&mut self.end_date, &other.end_date),
        }
    }

    /// A short label for logs and reasons that holds no personal data: source and
    /// location in the source.
    pub fn trace_label(&self) -> String {
        format!("{}@{}", self.source, self.location)
    }
}

/// A mapped field that no record of a source's full read carried: most often a
/// credential that may not see it (the API answers 200 without it). Directories keep
/// what they hold for such a field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withheld {
    /// The person field (`department`, `custom.cost_center`).
    pub field: String,
    /// The source's key it is mapped from.
    pub key: String,
    /// What to grant the credential.
    pub grant: String,
}

/// An employment (contract) of a person, as a record of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Employment {
    /// The source it came from.
    pub source: SourceId,
    /// Its id in the source.
    pub id: String,
    /// The source record id of the person it belongs to.
    pub person: String,
    /// Employment type (employee, contractor …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employment_type: Option<String>,
    /// Legal entity of the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_entity: Option<String>,
    /// Job title under this contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// First day of the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<Date>,
    /// Last day of the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<Date>,
    /// Where the record was read.
    #[serde(default)]
    pub location: RecordLocation,
}

/// An org unit (department, team, cost center …) as a record of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgUnit {
    /// The source it came from.
    pub source: SourceId,
    /// Its id in the source.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The id of the parent unit, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Where the record was read.
    #[serde(default)]
    pub location: RecordLocation,
}

/// What every HR record has: an id in its source, the place it was read, its bucket.
pub trait Record {
    /// Its bucket in job results.
    const KIND: RecordKind;
    /// Its id in its source.
    fn record_id(&self) -> &str;
    /// Where it was read.
    fn location(&self) -> &RecordLocation;
}

impl Record for Person {
    const KIND: RecordKind = RecordKind::Employee;
    fn record_id(&self) -> &str {
        &self.id
    }
    fn location(&self) -> &RecordLocation {
        &self.location
    }
}

impl Record for Employment {
    const KIND: RecordKind = RecordKind::Employment;
    fn record_id(&self) -> &str {
        &self.id
    }
    fn location(&self) -> &RecordLocation {
        &self.location
    }
}

impl Record for OrgUnit {
    const KIND: RecordKind = RecordKind::OrgUnit;
    fn record_id(&self) -> &str {
        &self.id
    }
    fn location(&self) -> &RecordLocation {
        &self.location
    }
}

impl<T: Record> Record for std::sync::Arc<T> {
    const KIND: RecordKind = T::KIND;
    fn record_id(&self) -> &str {
        T::record_id(self)
    }
    fn location(&self) -> &RecordLocation {
        T::location(self)
    }
}

/// A row a source could not turn into a record, and why. What is serialized (job
/// results, plans) never holds the row's values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRecord {
    /// Which bucket the row belonged to.
    pub kind: RecordKind,
    /// Where it was.
    pub location: RecordLocation,
    /// Why it was skipped.
    pub reason: String,
    /// The fields of a skipped person that could be read (their id, match keys): the
    /// plan holds the entry they match as it is, rather than take them for a leaver.
    /// Kept in memory only: never serialized, as it holds personal data.
    #[serde(skip)]
    pub partial: Option<Box<Person>>,
}

impl SkippedRecord {
    /// A skipped row of `kind` at `location`, for `reason`, with nothing of it readable.
    pub fn new(kind: RecordKind, location: RecordLocation, reason: impl Into<String>) -> SkippedRecord {
        SkippedRecord { kind, location, reason: reason.into(), partial: None }
    }
}

impl fmt::Display for SkippedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} skipped: {}", self.location, self.kind.singular(), self.reason)
    }
}

/// The kinds of record a source provides; also the buckets of a job result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// People (`employees` in job results).
    Employee,
    /// Employments.
    Employment,
    /// Org units.
    OrgUnit,
}

impl RecordKind {
    fn singular(self) -> &'static str {
        match self {
            RecordKind::Employee => "person",
            RecordKind::Employment => "employment",
            RecordKind::OrgUnit => "org unit",
        }
    }
}

/// Builders for tests: `Person::test("E100").first("Ada").title("CTO")`.
#[cfg(test)]
#[allow(missing_docs)]
pub mod fixtures {
    use super::*;

    impl Person {
        /// A person from source `hr` with the given employee number as record id and
        /// employee number, active, with a first and last name.
        pub fn test(employee_number: &str) -> Person {
            Person {
                source: SourceId::new_unchecked("hr"),
                id: employee_number.to_owned(),
                employee_number: Some(employee_number.to_owned()),
                first_name: Some(format!("First{employee_number}")),
                last_name: Some(format!("Last{employee_number}")),
                work_email: Some(format!("{}@acme.test", employee_number.to_lowercase())),
                employment_status: Some(EmploymentStatus::Active),
                location: RecordLocation { file: "hr.csv".into(), line: 2 },
                ..Person::default()
            }
        }
        pub fn source(mut self, source: &str) -> Self {
            self.source = SourceId::new_unchecked(source);
            self
        }
        pub fn record_id(mut self, id: &str) -> Self {
            self.id = id.to_owned();
            self
        }
        pub fn first(mut self, v: &str) -> Self {
            self.first_name = Some(v.to_owned());
            self
        }
        pub fn last(mut self, v: &str) -> Self {
            self.last_name = Some(v.to_owned());
            self
        }
        pub fn email(mut self, v: &str) -> Self {
            self.work_email = Some(v.to_owned());
            self
        }
        pub fn no_email(mut self) -> Self {
            self.work_email = None;
            self
        }
        pub fn title(mut self, v: &str) -> Self {
            self.job_title = Some(v.to_owned());
            self
        }
        pub fn department(mut self, v: &str) -> Self {
            self.department = Some(v.to_owned());
            self
        }
        pub fn manager(mut self, v: &str) -> Self {
            self.manager = Some(v.to_owned());
            self
        }
        pub fn status(mut self, v: EmploymentStatus) -> Self {
            self.employment_status = Some(v);
            self
        }
        pub fn kind(mut self, v: &str) -> Self {
            self.employment_type = Some(v.to_owned());
            self
        }
        pub fn legal_entity(mut self, v: &str) -> Self {
            self.legal_entity = Some(v.to_owned());
            self
        }
        pub fn location(mut self, v: &str) -> Self {
            self.work_location = Some(v.to_owned());
            self
        }
        pub fn starts(mut self, v: &str) -> Self {
            self.start_date = v.parse().ok();
            self
        }
        pub fn ends(mut self, v: &str) -> Self {
            self.end_date = v.parse().ok();
            self
        }
        pub fn custom(mut self, k: &str, v: &str) -> Self {
            self.custom.insert(k.to_owned(), v.to_owned());
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_names_are_the_statuses_spellings() {
        assert_eq!(EmploymentStatus::ALL.map(EmploymentStatus::as_str), EmploymentStatus::NAMES);
    }
}
