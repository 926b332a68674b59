//! `sources/*.yaml` → [`SourceConfig`]s: what each source reads (CSV, JSON or a REST
//! API), how its records map to person fields, and how it pages.
//!
//! This module owns what a source document means, every default of its kind filled in.
//! It must not read a source's data or reach its API (that is `src/source`'s, at run
//! time), and it refers to filters only through the ids the driver passes in.

use std::collections::BTreeMap;

use super::{Compiler, date_format_round_trips};
use crate::config::loading::Parsed;
use crate::config::spec::{
    CsvSourceSpec, JsonSourceSpec, PageStyle, PaginationSpec, RestSourceSpec, RestTableSpec,
    SourceCommonSpec, SourceSpec,
};
use crate::config::yaml::{Document, child};
use crate::config::{
    Columns, CsvSettings, EMPLOYMENT_FIELDS, JsonSettings, ORG_UNIT_FIELDS, Pagination, RestEndpoint,
    RestSettings, SourceConfig, SourceKind, did_you_mean, one_of,
};
use crate::model::filter::Filter;
use crate::model::{FieldRef, FilterId, SourceId};

impl Compiler {
    pub(super) fn sources(
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
            let at = child("/values", field);
            if let Some(f) = self.field_ref(doc, &at, field) {
                // A source's value mapped to one hrsync does not have would skip every
                // row that carries it.
                if let Some((what, allowed)) = f.closed_values() {
                    for (from, to) in map {
                        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(to)) {
                            let (message, hint) = one_of(Some(to), Some(what), allowed);
                            self.push(doc.error_at(&child(&at, from), message, hint));
                        }
                    }
                }
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
}
