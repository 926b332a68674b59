//! Specs → validated runtime config, collecting every problem with its position.
//!
//! Each document is checked on its own first (schema, then types: `loading`); documents
//! that pass are cross-checked here: ids, references between documents, templates,
//! fields, time zones and formats. A document with a structural problem is left out of the
//! cross-checks, so one typo does not cascade into a dozen follow-up errors.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, SpanRelativeTo, Timestamp};
use sha2::{Digest, Sha256};

use super::loading::{Loaded, Parsed};
use super::spec::{
    CsvSourceSpec, DirectoryCommonSpec, DirectorySpec, EntraDirectorySpec, FieldMode, FieldSpec, FilterSpec,
    HttpConnectionSpec, JsonSourceSpec, LdapDirectorySpec, LdapDisableSpec, LdapEntrySpec, LdapFlavor,
    PageStyle, PaginationSpec, RestSourceSpec, RestTableSpec, RuleSpec, SourceCommonSpec, SourceSpec,
    WorkspaceSpec,
};
use super::yaml::{Document, child};
use super::*;
use crate::model::filter::{Rule, Test};
use crate::model::template::{Counter, Template, TemplateError};
use crate::model::{DirectoryId, FieldRef, InvalidId, PlanId, SourceId};

pub(super) fn compile(loaded: Loaded) -> Result<Config, ConfigError> {
    let Loaded { workspace, filters, sources, directories, diags, culprits, revision } = loaded;
    let mut cx = Compiler { diags, culprits };
    let workspace_cfg = workspace.as_ref().and_then(|w| cx.workspace(w));
    let filter_cfgs = cx.filters(&filters);
    let source_cfgs = cx.sources(&sources, &filter_cfgs);
    let default_safety = workspace.as_ref().map(|w| w.spec.safety.clone()).unwrap_or_default();
    let directory_cfgs = cx.directories(&directories, &filter_cfgs, &default_safety);

    let diags = cx.diags.finish();
    match workspace_cfg {
        Some(workspace_cfg) if diags.is_empty() => Ok(Config {
            fingerprint: fingerprint(workspace.as_ref(), &filters, &sources, &directories),
            workspace: workspace_cfg,
            sources: source_cfgs,
            directories: directory_cfgs,
            filters: filter_cfgs,
            revision,
        }),
        _ => Err(ConfigError::Invalid(diags)),
    }
}

struct Compiler {
    diags: Diagnostics,
    /// Nodes left out of salvaged documents, by file.
    culprits: BTreeMap<String, Vec<String>>,
}

impl Compiler {
    /// Records a problem, unless it follows from a node already reported and left out
    /// (a field whose only key was misspelled "has no value").
    fn push(&mut self, d: Diagnostic) {
        let follow_up = match (self.culprits.get(&d.file), &d.pointer) {
            (Some(culprits), Some(p)) => culprits.iter().any(|c| {
                let parent = c.rsplit_once('/').map_or("", |(parent, _)| parent);
                p == c || p.starts_with(&format!("{c}/")) || (p == parent && !parent.is_empty())
            }),
            _ => false,
        };
        if !follow_up {
            self.diags.push(d);
        }
    }

    fn error(&mut self, doc: &Document, pointer: &str, message: impl Into<String>, hint: Option<String>) {
        self.push(doc.error_at(pointer, message, hint));
    }

    fn timezone(&mut self, doc: &Document, pointer: &str, name: &str) -> Option<TimeZone> {
        match TimeZone::get(name) {
            Ok(tz) => Some(tz),
            Err(_) => {
                self.error(
                    doc,
                    pointer,
                    format!("unknown time zone `{name}`"),
                    Some("use an IANA name such as `Europe/Berlin` or `UTC`".into()),
                );
                None
            }
        }
    }

    fn id<T>(
        &mut self,
        p: &Parsed<impl Sized>,
        given: Option<&str>,
        noun: &str,
        make: fn(&str) -> Result<T, InvalidId>,
    ) -> Option<T> {
        let (text, pointer) = match given {
            Some(id) => (id, "/id"),
            None => (p.stem.as_str(), ""),
        };
        match make(text) {
            Ok(id) => Some(id),
            Err(e) => {
                let hint = if given.is_some() {
                    "change `id`".to_owned()
                } else {
                    format!("rename the file, or set `id:` to a valid {noun} id")
                };
                self.error(&p.doc, pointer, e.to_string(), Some(hint));
                None
            }
        }
    }

    fn field_ref(&mut self, doc: &Document, pointer: &str, name: &str) -> Option<FieldRef> {
        match name.parse::<FieldRef>() {
            Ok(f) => Some(f),
            Err(()) => {
                self.error(
                    doc,
                    pointer,
                    format!("unknown person field `{name}`"),
                    did_you_mean(name, FieldRef::known_names())
                        .or_else(|| Some("custom attributes are written `custom.<name>`".into())),
                );
                None
            }
        }
    }

    fn filter_refs(
        &mut self,
        doc: &Document,
        pointer: &str,
        names: &[String],
        known: &BTreeMap<FilterId, Filter>,
    ) -> Vec<FilterId> {
        let mut out = Vec::new();
        for (i, name) in names.iter().enumerate() {
            match FilterId::new(name).ok().filter(|id| known.contains_key(id)) {
                Some(id) => out.push(id),
                None => {
                    let hint = did_you_mean(name, known.keys().map(FilterId::as_str)).unwrap_or_else(|| {
                        format!("create filters/{name}.yaml, or remove it from this list")
                    });
                    self.error(
                        doc,
                        &format!("{pointer}/{i}"),
                        format!("unknown filter `{name}`"),
                        Some(hint),
                    );
                }
            }
        }
        out
    }

    fn template(&mut self, doc: &Document, pointer: &str, text: &str, counter: Counter) -> Option<Template> {
        match Template::parse(text, counter) {
            Ok(t) => Some(t),
            Err(TemplateError { offset, message, hint, unknown }) => {
                let suggestion = unknown.and_then(|u| did_you_mean(&u.name, u.known.iter().copied()));
                let hint = suggestion.or(hint);
                let pos = doc.position_in(pointer, offset);
                self.push(doc.diagnostic(pos, format!("in template: {message}"), hint));
                None
            }
        }
    }

    // -----------------------------------------------------------------------------

    fn workspace(&mut self, p: &Parsed<WorkspaceSpec>) -> Option<Workspace> {
        let doc = &p.doc;
        let spec = &p.spec;
        let timezone = self.timezone(doc, "/timezone", &spec.timezone);
        let mut zones = |map: &BTreeMap<String, String>, key: &str| -> BTreeMap<String, TimeZone> {
            map.iter()
                .filter_map(|(k, name)| {
                    let tz = self.timezone(doc, &child(&format!("/timezones/{key}"), k), name)?;
                    Some((k.clone(), tz))
                })
                .collect()
        };
        let legal_entity_zones = zones(&spec.timezones.legal_entities, "legal_entities");
        let location_zones = zones(&spec.timezones.work_locations, "work_locations");
        let schedule = spec.schedule.as_ref().and_then(|s| {
            let interval = parse_interval(&s.interval);
            if interval.is_none() {
                self.error(
                    doc,
                    "/schedule/interval",
                    format!("`{}` is not a duration", s.interval),
                    Some("write for example `1h`, `30m` or `1d`".into()),
                );
            }
            let start = match &s.start {
                Some(text) => match text.parse::<Timestamp>() {
                    Ok(t) => Some(t),
                    Err(_) => {
                        self.error(
                            doc,
                            "/schedule/start",
                            format!("`{text}` is not an RFC 3339 time"),
                            Some("write for example `2026-01-05T02:00:00+01:00`".into()),
                        );
                        None
                    }
                },
                None => None,
            };
            Some(Schedule { interval: interval?, start })
        });
        for (i, id) in spec.approvals.iter().enumerate() {
            if PlanId::new(id).is_err() {
                self.error(
                    doc,
                    &format!("/approvals/{i}"),
                    format!("`{id}` is not a plan id"),
                    Some("copy the id from the blocked plan: 32 lowercase hex digits".into()),
                );
            }
        }
        if spec.reports.pii == PiiSpec::Hashed && spec.reports.pii_key.is_none() {
            self.error(
                doc,
                "/reports/pii",
                "`pii: hashed` needs `pii_key`",
                Some("add `pii_key: ${env:HRSYNC_PII_KEY}` and set that variable".into()),
            );
        }
        Some(Workspace {
            name: spec.workspace.clone(),
            timezone: timezone?,
            legal_entity_zones,
            location_zones,
            schedule,
            safety: spec.safety.clone(),
            reports: Reports {
                branch: spec.reports.branch.clone(),
                path: spec.reports.path.clone(),
                pii: spec.reports.pii,
                pii_key: spec.reports.pii_key.clone(),
            },
            approvals: spec.approvals.iter().filter_map(|id| PlanId::new(id).ok()).collect(),
        })
    }

    fn filters(&mut self, docs: &[Parsed<FilterSpec>]) -> BTreeMap<FilterId, Filter> {
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

    /// The documents of one kind with their ids, leaving out (and reporting) documents
    /// whose id is invalid or already taken.
    fn with_unique_ids<'d, T, Id: Ord + Clone + std::fmt::Display>(
        &mut self,
        docs: &'d [Parsed<T>],
        noun: &str,
        given: impl Fn(&T) -> Option<&str>,
        make: fn(&str) -> Result<Id, InvalidId>,
    ) -> Vec<(&'d Parsed<T>, Id)> {
        let mut out = Vec::new();
        let mut seen: BTreeMap<Id, String> = BTreeMap::new();
        for p in docs {
            let given = given(&p.spec);
            let Some(id) = self.id(p, given, noun, make) else { continue };
            if let Some(first) = seen.get(&id) {
                let pointer = if given.is_some() { "/id" } else { "" };
                self.error(
                    &p.doc,
                    pointer,
                    format!("{noun} id `{id}` is already used by {first}"),
                    Some(format!("give each {noun} its own id")),
                );
                continue;
            }
            seen.insert(id.clone(), p.doc.file.clone());
            out.push((p, id));
        }
        out
    }

    fn sources(
        &mut self,
        docs: &[Parsed<SourceSpec>],
        filters: &BTreeMap<FilterId, Filter>,
    ) -> Vec<SourceConfig> {
        let mut out: Vec<SourceConfig> = self
            .with_unique_ids(docs, "source", |s| s.common().id.as_deref(), SourceId::new)
            .into_iter()
            .filter_map(|(p, id)| self.source(p, id, p.spec.common(), filters))
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    fn source(
        &mut self,
        p: &Parsed<SourceSpec>,
        id: SourceId,
        common: &SourceCommonSpec,
        filters: &BTreeMap<FilterId, Filter>,
    ) -> Option<SourceConfig> {
        let doc = &p.doc;
        let errors_before = self.diags.len();
        let timezone = common.timezone.as_ref().and_then(|tz| self.timezone(doc, "/timezone", tz));
        if common.match_key.is_empty() {
            self.error(
                doc,
                "/match_key",
                "`match_key` is empty",
                Some("list at least one field, for example `[employee_number]`".into()),
            );
        }
        let match_key: Vec<FieldRef> = common
            .match_key
            .iter()
            .enumerate()
            .filter_map(|(i, name)| self.field_ref(doc, &format!("/match_key/{i}"), name))
            .collect();
        let filter_ids = self.filter_refs(doc, "/filters", &common.filters, filters);
        let mut values = BTreeMap::new();
        for (field, map) in &common.values {
            if let Some(f) = self.field_ref(doc, &child("/values", field), field) {
                values.insert(f, map.clone());
            }
        }
        let date_format = common.date_format.clone().unwrap_or_else(|| "%Y-%m-%d".to_owned());
        if !date_format_round_trips(&date_format) {
            self.error(
                doc,
                "/date_format",
                format!("`{date_format}` cannot read back the dates it writes"),
                Some("use a strftime pattern with year, month and day, for example `%d.%m.%Y`".into()),
            );
        }
        let kind = match &p.spec {
            SourceSpec::Csv(spec) => self.csv(doc, spec).map(SourceKind::Csv),
            SourceSpec::Json(spec) => self.json(doc, spec).map(SourceKind::Json),
            SourceSpec::Rest(spec) => {
                self.rest(doc, spec, common.delta).map(|s| SourceKind::Rest(Box::new(s)))
            }
        };
        if self.diags.len() != errors_before {
            return None;
        }
        Some(SourceConfig {
            id,
            file: doc.file.clone(),
            enabled: common.enabled,
            priority: common.priority,
            timezone,
            match_key,
            filters: filter_ids,
            delta: common.delta,
            values,
            date_format,
            kind: kind?,
        })
    }

    fn person_columns(
        &mut self,
        doc: &Document,
        pointer: &str,
        columns: &BTreeMap<String, String>,
    ) -> Columns {
        for field in columns.keys() {
            let ok = matches!(field.parse::<FieldRef>(), Ok(FieldRef::Person(_) | FieldRef::Custom(_)));
            if !ok {
                let hint = did_you_mean(field, crate::model::PersonField::ALL.iter().map(|f| f.name()))
                    .or_else(|| Some("custom attributes are written `custom.<name>`".into()));
                self.push(doc.error_at_key(
                    &child(pointer, field),
                    format!("unknown person field `{field}`"),
                    hint,
                ));
            }
        }
        columns.clone()
    }

    fn table_columns(
        &mut self,
        doc: &Document,
        pointer: &str,
        columns: &BTreeMap<String, String>,
        known: &[&str],
    ) -> Columns {
        for field in columns.keys() {
            if !known.contains(&field.as_str()) {
                let hint = did_you_mean(field, known.iter().copied())
                    .or_else(|| Some(format!("fields here are {}", known.join(", "))));
                self.push(doc.error_at_key(&child(pointer, field), format!("unknown field `{field}`"), hint));
            }
        }
        columns.clone()
    }

    fn csv(&mut self, doc: &Document, spec: &CsvSourceSpec) -> Option<CsvSettings> {
        let delimiter = match spec.delimiter {
            None => b',',
            Some(c) if c.is_ascii() => c as u8,
            Some(_) => {
                self.error(doc, "/delimiter", "the delimiter must be one ASCII character", None);
                return None;
            }
        };
        let columns = self.person_columns(doc, "/columns", &spec.columns);
        let employments = spec.employments.as_ref().map(|t| {
            (t.path.clone(), self.table_columns(doc, "/employments/columns", &t.columns, EMPLOYMENT_FIELDS))
        });
        let org_units = spec.org_units.as_ref().map(|t| {
            (t.path.clone(), self.table_columns(doc, "/org_units/columns", &t.columns, ORG_UNIT_FIELDS))
        });
        Some(CsvSettings { path: spec.path.clone(), delimiter, columns, employments, org_units })
    }

    /// Reports `pointer` (at `at`) unless it is a JSON pointer.
    fn json_pointer(&mut self, doc: &Document, pointer: &str, at: &str) {
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            self.error(
                doc,
                at,
                format!("`{pointer}` is not a JSON pointer"),
                Some("start it with `/`, for example `/employees`".into()),
            );
        }
    }

    fn json(&mut self, doc: &Document, spec: &JsonSourceSpec) -> Option<JsonSettings> {
        let mut pointer_ok = |pointer: &str, at: &str| self.json_pointer(doc, pointer, at);
        if let Some(p) = &spec.people {
            pointer_ok(p, "/people");
        }
        if let Some(t) = &spec.employments {
            pointer_ok(&t.pointer, "/employments/pointer");
        }
        if let Some(t) = &spec.org_units {
            pointer_ok(&t.pointer, "/org_units/pointer");
        }
        let fields = self.person_columns(doc, "/fields", &spec.fields);
        let employments = spec.employments.as_ref().map(|t| {
            (t.pointer.clone(), self.table_columns(doc, "/employments/fields", &t.fields, EMPLOYMENT_FIELDS))
        });
        let org_units = spec.org_units.as_ref().map(|t| {
            (t.pointer.clone(), self.table_columns(doc, "/org_units/fields", &t.fields, ORG_UNIT_FIELDS))
        });
        Some(JsonSettings {
            path: spec.path.clone(),
            people: spec.people.clone(),
            fields,
            employments,
            org_units,
        })
    }

    fn rest(&mut self, doc: &Document, spec: &RestSourceSpec, delta: bool) -> Option<RestSettings> {
        let mut pointers: Vec<(&str, &str)> = Vec::new();
        if let Some(p) = &spec.records {
            pointers.push((p, "/records"));
        }
        if let Some(p) = &spec.total {
            pointers.push((p, "/total"));
        }
        if let Some(next) = &spec.pagination.next {
            pointers.push((next, "/pagination/next"));
        }
        for (pointer, at) in pointers {
            self.json_pointer(doc, pointer, at);
        }
        if delta && spec.since_param.is_none() {
            self.error(
                doc,
                "/delta",
                "`delta: true` needs `since_param`, the query parameter that asks for changes",
                Some("add `since_param: updated_since` (your API's name for it), or remove `delta`".into()),
            );
        }
        if spec.connection.concurrency.is_some() {
            self.error(
                doc,
                "/connection/concurrency",
                "a REST source reads its pages one after the other",
                None,
            );
        }
        let names = spec
            .headers
            .keys()
            .map(|k| (k, "headers"))
            .chain(spec.secret_headers.keys().map(|k| (k, "secret_headers")));
        for (name, map) in names {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.push(doc.error_at_key(
                    &format!("/{map}/{name}"),
                    format!("`{name}` is not a header name"),
                    None,
                ));
            } else if name.eq_ignore_ascii_case("authorization") {
                self.push(doc.error_at_key(
                    &format!("/{map}/{name}"),
                    "the `Authorization` header comes from `connection.token` or `connection.oauth`",
                    Some("move the token to `connection.token` as a secret reference".into()),
                ));
            }
        }
        if let Some((name, _)) = spec.headers.iter().find(|(_, v)| v.contains("${")) {
            self.push(doc.error_at_key(
                &format!("/headers/{name}"),
                "a secret reference in `headers` would be sent as written",
                Some(format!("move `{name}` to `secret_headers`")),
            ));
        }
        let pairs =
            |map: &BTreeMap<String, String>| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let pagination = self.pagination(doc, "/pagination", &spec.pagination);
        let http = self.http(doc, &spec.connection);
        let fields = self.person_columns(doc, "/fields", &spec.fields);
        let employments =
            spec.employments.as_ref().map(|t| self.rest_table(doc, "/employments", t, EMPLOYMENT_FIELDS));
        let org_units =
            spec.org_units.as_ref().map(|t| self.rest_table(doc, "/org_units", t, ORG_UNIT_FIELDS));
        Some(RestSettings {
            people: RestEndpoint {
                url: http.url.clone(),
                query: pairs(&spec.query),
                records: spec.records.clone(),
                pagination,
                total: spec.total.clone(),
            },
            http,
            employments,
            org_units,
            headers: pairs(&spec.headers),
            secret_headers: spec.secret_headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            since_param: spec.since_param.clone(),
            fields,
        })
    }

    /// A further endpoint of a REST source (employments, org units), declared at `at`.
    fn rest_table(
        &mut self,
        doc: &Document,
        at: &str,
        spec: &RestTableSpec,
        known: &[&str],
    ) -> (RestEndpoint, Columns) {
        if !(spec.url.starts_with("https://") || spec.url.starts_with("http://")) {
            self.error(doc, &format!("{at}/url"), format!("`{}` is not an HTTP URL", spec.url), None);
        }
        if let Some(p) = &spec.records {
            self.json_pointer(doc, p, &format!("{at}/records"));
        }
        if let Some(next) = &spec.pagination.next {
            self.json_pointer(doc, next, &format!("{at}/pagination/next"));
        }
        let endpoint = RestEndpoint {
            url: spec.url.clone(),
            query: spec.query.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            records: spec.records.clone(),
            pagination: self.pagination(doc, &format!("{at}/pagination"), &spec.pagination),
            total: None,
        };
        (endpoint, self.table_columns(doc, &format!("{at}/fields"), &spec.fields, known))
    }

    fn pagination(&mut self, doc: &Document, at: &str, spec: &PaginationSpec) -> Pagination {
        let param = |default: &str| spec.param.clone().unwrap_or_else(|| default.to_owned());
        let unused = |this: &mut Self, key: &str, present: bool| {
            if present {
                this.error(
                    doc,
                    &format!("{at}/{key}"),
                    format!("`{key}` means nothing with `style: {}`", spec.style.name()),
                    Some(format!("remove `{key}`")),
                );
            }
        };
        match spec.style {
            PageStyle::None => {
                unused(self, "param", spec.param.is_some());
                unused(self, "size_param", spec.size_param.is_some());
                unused(self, "first", spec.first.is_some());
                unused(self, "next", spec.next.is_some());
                Pagination::None
            }
            PageStyle::Page => {
                unused(self, "next", spec.next.is_some());
                Pagination::Page {
                    param: param("page"),
                    size_param: spec.size_param.clone().unwrap_or_else(|| "per_page".into()),
                    first: spec.first.unwrap_or(1),
                }
            }
            PageStyle::Offset => {
                unused(self, "next", spec.next.is_some());
                unused(self, "first", spec.first.is_some());
                Pagination::Offset {
                    param: param("offset"),
                    size_param: spec.size_param.clone().unwrap_or_else(|| "limit".into()),
                }
            }
            PageStyle::Cursor => {
                unused(self, "first", spec.first.is_some());
                let next = spec.next.clone().unwrap_or_else(|| {
                    self.error(
                        doc,
                        at,
                        "`style: cursor` needs `next`, the JSON pointer to the next cursor in a page",
                        Some("for example `next: /meta/next_cursor`".into()),
                    );
                    String::new()
                });
                Pagination::Cursor { param: param("cursor"), next, size_param: spec.size_param.clone() }
            }
            PageStyle::Link => {
                unused(self, "param", spec.param.is_some());
                unused(self, "first", spec.first.is_some());
                Pagination::Link { next: spec.next.clone(), size_param: spec.size_param.clone() }
            }
        }
    }

    fn directories(
        &mut self,
        docs: &[Parsed<DirectorySpec>],
        filters: &BTreeMap<FilterId, Filter>,
        safety: &SafetySpec,
    ) -> Vec<DirectoryConfig> {
        let mut out: Vec<DirectoryConfig> = self
            .with_unique_ids(docs, "directory", |d| d.common().id.as_deref(), DirectoryId::new)
            .into_iter()
            .filter_map(|(p, id)| self.directory(p, id, p.spec.common(), filters, safety))
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    fn directory(
        &mut self,
        p: &Parsed<DirectorySpec>,
        id: DirectoryId,
        common: &DirectoryCommonSpec,
        filters: &BTreeMap<FilterId, Filter>,
        safety: &SafetySpec,
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
            DirectorySpec::Scim(spec) => DirectoryKind::Scim(Box::new(self.http(doc, &spec.connection))),
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
            .map(|m| Marker { attribute: m.attribute.clone(), value: m.value.clone() })
            // A SCIM service's entries are hrsync's when they have an externalId, an
            // Entra tenant's when they have the first match attribute (employeeId).
            .or_else(|| match &p.spec {
                DirectorySpec::Scim(_) => Some(Marker { attribute: "externalId".into(), value: None }),
                DirectorySpec::Entraid(_) => {
                    common.match_rules.first().map(|r| Marker { attribute: r.attribute.clone(), value: None })
                }
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
        })
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
}

impl Compiler {
    fn http(&mut self, doc: &Document, c: &HttpConnectionSpec) -> HttpSettings {
        if !(c.url.starts_with("https://") || c.url.starts_with("http://")) {
            self.error(doc, "/connection/url", format!("`{}` is not an HTTP URL", c.url), None);
        }
        let auth = match (&c.token, &c.oauth) {
            (Some(_), Some(_)) => {
                self.error(doc, "/connection", "give `token` or `oauth`, not both", None);
                Auth::None
            }
            (Some(token), None) => Auth::Bearer(token.clone()),
            (None, Some(o)) => Auth::ClientCredentials {
                token_url: o.token_url.clone(),
                client_id: o.client_id.clone(),
                client_secret: o.client_secret.clone(),
                scope: o.scope.clone(),
            },
            (None, None) => Auth::None,
        };
        HttpSettings {
            url: c.url.clone(),
            auth,
            ca_file: c.ca_file.clone(),
            timeout: std::time::Duration::from_secs(c.timeout_seconds.unwrap_or(30)),
            concurrency: c.concurrency.unwrap_or(8),
            retries: c.retries.unwrap_or(5),
            backoff: std::time::Duration::from_millis(200),
            page_size: c.page_size.unwrap_or(100),
        }
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
        LdapSettings {
            url: c.url.clone(),
            starttls: c.starttls,
            ca_file: c.ca_file.clone(),
            bind_dn: c.bind_dn.clone(),
            password: c.password.clone(),
            timeout: std::time::Duration::from_secs(c.timeout_seconds.unwrap_or(30)),
            page_size: c.page_size.unwrap_or(500).max(1),
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

fn parse_interval(text: &str) -> Option<SignedDuration> {
    let span: Span = text.parse().ok()?;
    let d = span.to_duration(SpanRelativeTo::days_are_24_hours()).ok()?;
    (d > SignedDuration::ZERO).then_some(d)
}

fn date_format_round_trips(format: &str) -> bool {
    let Ok(date) = Date::new(2031, 12, 24) else { return false };
    let Ok(text) = jiff::fmt::strtime::format(format, date) else { return false };
    Date::strptime(format, &text).is_ok_and(|back| back == date)
}

/// A hash of the specs that shape a plan, without approvals and directory modes.
fn fingerprint(
    workspace: Option<&Parsed<WorkspaceSpec>>,
    filters: &[Parsed<FilterSpec>],
    sources: &[Parsed<SourceSpec>],
    directories: &[Parsed<DirectorySpec>],
) -> String {
    let mut hasher = Sha256::new();
    let mut feed = |label: &str, value: serde_json::Value| {
        hasher.update(label.as_bytes());
        hasher.update([0]);
        hasher.update(value.to_string().as_bytes());
        hasher.update([0]);
    };
    if let Some(w) = workspace {
        let mut spec = w.spec.clone();
        spec.approvals.clear();
        spec.schedule = None;
        feed("workspace", serde_json::to_value(&spec).unwrap_or_default());
    }
    // Sorted by file, which `RepoFiles::list` already guarantees.
    for p in filters {
        feed(&p.doc.file, serde_json::to_value(&p.spec).unwrap_or_default());
    }
    for p in sources {
        feed(&p.doc.file, serde_json::to_value(&p.spec).unwrap_or_default());
    }
    for p in directories {
        let mut value = serde_json::to_value(&p.spec).unwrap_or_default();
        if let Some(obj) = value.as_object_mut() {
            obj.remove("mode");
        }
        feed(&p.doc.file, value);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_date_formats() {
        assert_eq!(parse_interval("1h"), Some(SignedDuration::from_hours(1)));
        assert_eq!(parse_interval("1d"), Some(SignedDuration::from_hours(24)));
        assert_eq!(parse_interval("0s"), None);
        assert_eq!(parse_interval("soon"), None);
        assert!(date_format_round_trips("%Y-%m-%d"));
        assert!(date_format_round_trips("%d.%m.%Y"));
        assert!(!date_format_round_trips("%Y-%m"));
    }
}
