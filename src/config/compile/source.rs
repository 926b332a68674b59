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
    CsvSourceSpec, HrConnectionSpec, HrSourceSpec, JsonSourceSpec, PageStyle, PaginationSpec, RestSourceSpec,
    RestTableSpec, SourceCommonSpec, SourceSpec, Vendor,
};
use crate::config::yaml::{Document, child};
use crate::config::{
    Auth, Columns, Credential, CsvSettings, EMPLOYMENT_FIELDS, HrSettings, HttpSettings, JsonSettings,
    ORG_UNIT_FIELDS, Pagination, RestEndpoint, RestSettings, SecretRef, SourceConfig, SourceKind,
    did_you_mean, one_of,
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
            other => {
                let (vendor, spec) = other.hr()?;
                self.hr(doc, vendor, spec).map(|s| SourceKind::Hr(Box::new(s)))
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

/// The connection keys of [`HrConnectionSpec`] a vendor takes, and which of them it
/// needs.
struct Keys {
    takes: &'static [&'static str],
    needs: &'static [&'static str],
    /// Page size: default and the API's maximum.
    page: (u32, u32),
    /// Requests in flight: default and the vendor's maximum.
    parallel: (usize, usize),
}

const COMMON_KEYS: &[&str] = &["url", "ca_file", "timeout_seconds", "retries", "page_size", "concurrency"];

fn keys(vendor: Vendor) -> Keys {
    match vendor {
        Vendor::Bamboohr => Keys {
            takes: &["company_domain", "api_key"],
            needs: &["api_key"],
            page: (1000, 1000),
            parallel: (2, 4),
        },
        Vendor::Personio => Keys {
            takes: &["client_id", "client_secret", "token_url"],
            needs: &["client_id", "client_secret"],
            page: (50, 50),
            parallel: (4, 8),
        },
        Vendor::Hibob => {
            Keys { takes: &["user", "token"], needs: &["user", "token"], page: (1, 1000), parallel: (1, 1) }
        }
        Vendor::Afas => {
            Keys { takes: &["environment", "token"], needs: &["token"], page: (500, 1000), parallel: (4, 8) }
        }
        Vendor::Kombo => Keys {
            takes: &["api_key", "integration_id"],
            needs: &["api_key", "integration_id"],
            page: (250, 250),
            parallel: (1, 4),
        },
        Vendor::Merge => Keys {
            takes: &["api_key", "account_token"],
            needs: &["api_key", "account_token"],
            page: (100, 100),
            parallel: (1, 4),
        },
        Vendor::Entraid => Keys {
            takes: &["tenant", "client_id", "client_secret", "token_url"],
            needs: &["tenant", "client_id", "client_secret"],
            page: (999, 999),
            parallel: (1, 4),
        },
        Vendor::Workday => Keys {
            takes: &["user", "token", "client_id", "client_secret", "token_url"],
            needs: &["url"],
            page: (1, 1000),
            parallel: (1, 1),
        },
    }
}

/// The connection keys given in `c`.
fn given(c: &HrConnectionSpec) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut key = |name: &'static str, present: bool| {
        if present {
            out.push(name);
        }
    };
    key("url", c.url.is_some());
    key("company_domain", c.company_domain.is_some());
    key("environment", c.environment.is_some());
    key("tenant", c.tenant.is_some());
    key("api_key", c.api_key.is_some());
    key("client_id", c.client_id.is_some());
    key("client_secret", c.client_secret.is_some());
    key("token_url", c.token_url.is_some());
    key("user", c.user.is_some());
    key("token", c.token.is_some());
    key("integration_id", c.integration_id.is_some());
    key("account_token", c.account_token.is_some());
    key("ca_file", c.ca_file.is_some());
    key("timeout_seconds", c.timeout_seconds.is_some());
    key("retries", c.retries.is_some());
    key("page_size", c.page_size.is_some());
    key("concurrency", c.concurrency.is_some());
    out
}

impl Compiler {
    /// An HR connector's settings: the keys its vendor takes, its defaults, its auth.
    fn hr(&mut self, doc: &Document, vendor: Vendor, spec: &HrSourceSpec) -> Option<HrSettings> {
        let errors_before = self.diags.len();
        let c = &spec.connection;
        let k = keys(vendor);
        let given = given(c);
        let name = vendor.name();
        for key in &given {
            if !k.takes.contains(key) && !COMMON_KEYS.contains(key) {
                let hint = format!(
                    "{name} takes {}",
                    k.takes
                        .iter()
                        .chain(COMMON_KEYS)
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                self.push(doc.error_at_key(
                    &format!("/connection/{key}"),
                    format!("`{key}` means nothing to the {name} connector"),
                    Some(hint),
                ));
            }
        }
        for key in k.needs {
            if !given.contains(key) {
                self.error(
                    doc,
                    "/connection",
                    format!("the {name} connector needs `connection.{key}`"),
                    Some(format!("see examples/sources/{}.yaml", vendor.type_name())),
                );
            }
        }
        if let Some(size) = c.page_size
            && size > k.page.1
        {
            self.error(
                doc,
                "/connection/page_size",
                format!("{name} gives at most {} records per page", k.page.1),
                Some(format!("use `page_size: {}` or less", k.page.1)),
            );
        }
        if let Some(n) = c.concurrency
            && n > k.parallel.1
        {
            self.error(
                doc,
                "/connection/concurrency",
                format!("{name} allows at most {} requests in flight", k.parallel.1),
                Some(format!("use `concurrency: {}` or less", k.parallel.1)),
            );
        }
        let domain = |this: &mut Self, key: &str, value: &Option<String>| -> String {
            let v = value.clone().unwrap_or_default();
            if !v.is_empty() && !v.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-') {
                this.error(
                    doc,
                    &format!("/connection/{key}"),
                    format!("`{v}` is not a host name label"),
                    Some("give the first label only, for example `acme`".into()),
                );
            }
            v
        };
        let needs_url = |this: &mut Self, key: &str| {
            this.error(
                doc,
                "/connection",
                format!("the {name} connector needs `connection.{key}` or `connection.url`"),
                Some(format!("see examples/sources/{}.yaml", vendor.type_name())),
            );
        };
        let default_url = match vendor {
            Vendor::Bamboohr => {
                let d = domain(self, "company_domain", &c.company_domain);
                if d.is_empty() && c.url.is_none() {
                    needs_url(self, "company_domain");
                }
                format!("https://{d}.bamboohr.com/api/v1")
            }
            Vendor::Afas => {
                let e = domain(self, "environment", &c.environment);
                if e.is_empty() && c.url.is_none() {
                    needs_url(self, "environment");
                }
                format!("https://{e}.rest.afas.online/ProfitRestServices")
            }
            Vendor::Personio => "https://api.personio.de".into(),
            Vendor::Hibob => "https://api.hibob.com/v1".into(),
            Vendor::Kombo => "https://api.kombo.dev/v1".into(),
            Vendor::Merge => "https://api.merge.dev/api/hris/v1".into(),
            Vendor::Entraid => "https://graph.microsoft.com/v1.0".into(),
            Vendor::Workday => String::new(),
        };
        let url = c.url.clone().unwrap_or(default_url);
        if c.url.is_some() && !(url.starts_with("https://") || url.starts_with("http://")) {
            self.error(doc, "/connection/url", format!("`{url}` is not an HTTP URL"), None);
        }
        let url = url.trim_end_matches('/').to_owned();
        let secret = |s: &Option<SecretRef>| s.clone().map(Credential::Secret);
        let plain = |s: &Option<String>| s.clone().map(Credential::Plain);
        let mut headers = Vec::new();
        let mut secret_headers = Vec::new();
        let auth = match vendor {
            Vendor::Bamboohr => Auth::Basic {
                user: secret(&c.api_key).unwrap_or(Credential::Plain(String::new())),
                password: Credential::Plain("x".into()),
            },
            Vendor::Hibob => Auth::Basic {
                user: plain(&c.user).unwrap_or(Credential::Plain(String::new())),
                password: secret(&c.token).unwrap_or(Credential::Plain(String::new())),
            },
            Vendor::Afas => match &c.token {
                Some(token) => Auth::Encoded { scheme: "AfasToken", secret: token.clone() },
                None => Auth::None,
            },
            Vendor::Kombo => {
                headers.push(("X-Integration-Id".to_owned(), c.integration_id.clone().unwrap_or_default()));
                c.api_key.clone().map_or(Auth::None, Auth::Bearer)
            }
            Vendor::Merge => {
                if let Some(token) = &c.account_token {
                    secret_headers.push(("X-Account-Token".to_owned(), token.clone()));
                }
                c.api_key.clone().map_or(Auth::None, Auth::Bearer)
            }
            Vendor::Personio | Vendor::Entraid => {
                let token_url = c.token_url.clone().unwrap_or_else(|| match vendor {
                    Vendor::Personio => format!("{url}/v2/auth/token"),
                    _ => format!(
                        "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
                        c.tenant.clone().unwrap_or_default()
                    ),
                });
                let scope =
                    (vendor == Vendor::Entraid).then(|| "https://graph.microsoft.com/.default".to_owned());
                match &c.client_secret {
                    Some(secret) => Auth::ClientCredentials {
                        token_url,
                        client_id: c.client_id.clone().unwrap_or_default(),
                        client_secret: secret.clone(),
                        scope,
                    },
                    None => Auth::None,
                }
            }
            Vendor::Workday => match (&c.user, &c.token, &c.client_id, &c.client_secret) {
                (Some(user), Some(token), None, None) => Auth::Basic {
                    user: Credential::Plain(user.clone()),
                    password: Credential::Secret(token.clone()),
                },
                (None, None, Some(id), Some(secret)) => {
                    let Some(token_url) = c.token_url.clone() else {
                        self.error(
                            doc,
                            "/connection",
                            "Workday OAuth needs `connection.token_url` (`https://<host>/ccx/oauth2/<tenant>/token`)",
                            None,
                        );
                        return None;
                    };
                    Auth::ClientCredentials {
                        token_url,
                        client_id: id.clone(),
                        client_secret: secret.clone(),
                        scope: None,
                    }
                }
                _ => {
                    self.error(
                        doc,
                        "/connection",
                        "the Workday connector needs `user` and `token` (an integration system user) or `client_id` and `client_secret` (an API client), not a mix",
                        Some("see examples/sources/workday.yaml".into()),
                    );
                    Auth::None
                }
            },
        };
        let needs_report = matches!(vendor, Vendor::Afas | Vendor::Workday);
        match (&spec.report, needs_report) {
            (None, true) => self.error(
                doc,
                "",
                format!(
                    "the {name} connector needs `report`, the {}",
                    if vendor == Vendor::Afas {
                        "GetConnector to read"
                    } else {
                        "report's `<tenant>/<owner>/<report>`"
                    }
                ),
                Some(format!("see examples/sources/{}.yaml", vendor.type_name())),
            ),
            (Some(_), false) => self.error(
                doc,
                "/report",
                format!("`report` means nothing to the {name} connector"),
                Some("remove it".into()),
            ),
            _ => {}
        }
        if vendor == Vendor::Workday
            && let Some(report) = &spec.report
            && report.split('/').filter(|p| !p.is_empty()).count() != 3
        {
            self.error(
                doc,
                "/report",
                format!("`{report}` is not `<tenant>/<owner>/<report>`"),
                Some("for example `acme/ISU_hrsync/hrsync_workers`".into()),
            );
        }
        if spec.order_by.is_some() && vendor != Vendor::Afas {
            self.error(
                doc,
                "/order_by",
                format!("`order_by` means nothing to the {name} connector"),
                Some("remove it".into()),
            );
        }
        let changed_since_vendor = matches!(vendor, Vendor::Afas | Vendor::Workday);
        if spec.changed_since.is_some() && !changed_since_vendor {
            self.error(
                doc,
                "/changed_since",
                format!("`changed_since` means nothing to the {name} connector"),
                Some("remove it; the connector knows how it asks for changes".into()),
            );
        }
        if spec.common.delta {
            let why = match vendor {
                Vendor::Hibob => Some(
                    "HiBob's people search has no changed-since filter: every read is a full read".to_owned(),
                ),
                Vendor::Afas | Vendor::Workday if spec.changed_since.is_none() => Some(format!(
                    "`delta: true` needs `changed_since`, the {} that asks for changes",
                    if vendor == Vendor::Afas {
                        "GetConnector field (a modified date)"
                    } else {
                        "report prompt"
                    }
                )),
                _ => None,
            };
            if let Some(why) = why {
                self.error(doc, "/delta", why, Some("remove `delta`, or add what it needs".into()));
            }
        }
        let full_every = match &spec.full_every {
            None => std::time::Duration::from_secs(24 * 3600),
            Some(text) => match super::parse_interval(text).and_then(|d| d.try_into().ok()) {
                Some(d) => d,
                None => {
                    self.error(
                        doc,
                        "/full_every",
                        format!("`{text}` is not a length of time"),
                        Some("for example `24h` or `7d`".into()),
                    );
                    std::time::Duration::from_secs(24 * 3600)
                }
            },
        };
        if !spec.common.delta && spec.full_every.is_some() {
            self.error(
                doc,
                "/full_every",
                "`full_every` means something only with `delta: true`: without it every read is full",
                Some("remove it, or set `delta: true`".into()),
            );
        }
        // `query` adds the vendor's own filters; the parameters the connector sets
        // itself (paging, deltas, the flags that keep leavers in) are not the source
        // file's to change.
        let reserved: Option<&[&str]> = match vendor {
            Vendor::Bamboohr | Vendor::Hibob => None,
            Vendor::Personio => Some(&["limit", "cursor", "updated_at.gt"]),
            Vendor::Afas => Some(&["skip", "take", "orderbyfieldids"]),
            Vendor::Kombo => Some(&[
                "page_size",
                "cursor",
                "include_deleted",
                "updated_after",
                "ignore_unsupported_filters",
            ]),
            Vendor::Merge => {
                Some(&["page_size", "cursor", "expand", "include_deleted_data", "modified_after"])
            }
            Vendor::Entraid => Some(&["$select", "$top", "$expand", "$orderby", "$deltatoken", "$skiptoken"]),
            Vendor::Workday => Some(&["format"]),
        };
        for key in spec.query.keys() {
            let own = spec.changed_since.as_deref() == Some(key.as_str()) && vendor == Vendor::Workday;
            match reserved {
                None => self.push(doc.error_at_key(
                    &child("/query", key),
                    format!("the {name} connector sends no query parameters of a source's"),
                    Some("remove `query`".into()),
                )),
                Some(keys) if own || keys.iter().any(|k| k.eq_ignore_ascii_case(key)) => self.push(doc.error_at_key(
                    &child("/query", key),
                    format!("`{key}` is set by the {name} connector itself"),
                    Some("remove it: paging, deltas and the flags that keep leavers in are the connector's".into()),
                )),
                Some(_) => {}
            }
        }
        // `fields` keys are person fields; an empty value unmaps a default.
        let fields = self.person_columns(doc, "/fields", &spec.fields);
        if self.diags.len() != errors_before {
            return None;
        }
        let http = HttpSettings {
            url,
            auth,
            ca_file: c.ca_file.clone(),
            timeout: std::time::Duration::from_secs(c.timeout_seconds.unwrap_or(60)),
            concurrency: c.concurrency.unwrap_or(k.parallel.0),
            retries: c.retries.unwrap_or(5),
            backoff: std::time::Duration::from_millis(500),
            page_size: c.page_size.unwrap_or(k.page.0),
        };
        Some(HrSettings {
            vendor,
            http,
            secret_headers,
            headers,
            fields,
            full_every,
            report: spec.report.clone(),
            order_by: spec.order_by.clone(),
            changed_since: spec.changed_since.clone(),
            query: spec.query.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        })
    }
}
