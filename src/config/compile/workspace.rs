//! `hrsync.yaml` → [`Workspace`]: time zones, schedule, approvals and report settings.
//!
//! This module owns what the workspace document means on its own. It must not look at
//! other documents: the workspace's safety limits reach directories through the driver
//! in `compile`, which passes them as defaults.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{Compiler, parse_interval};
use crate::config::loading::Parsed;
use crate::config::spec::WorkspaceSpec;
use crate::config::spec::{PageAuthSpec, StatusPageSpec};
use crate::config::yaml::Document;
use crate::config::yaml::child;
use crate::config::{Diagnostic, PageAuth, PiiSpec, Reports, Retention, Schedule, StatusPage, Workspace};
use crate::model::PlanId;

impl Compiler {
    pub(super) fn workspace(&mut self, p: &Parsed<WorkspaceSpec>) -> Option<Workspace> {
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
        let mut allowances = Vec::new();
        for (i, a) in spec.allowances.iter().enumerate() {
            let at = |key: &str| format!("/allowances/{i}/{key}");
            let directory = crate::model::DirectoryId::new(&a.directory).ok();
            if directory.is_none() {
                self.error(doc, &at("directory"), format!("`{}` is not a directory id", a.directory), None);
            }
            let until = match a.until.parse::<jiff::civil::Date>() {
                Ok(d) => Some(d),
                Err(_) => {
                    self.error(
                        doc,
                        &at("until"),
                        format!("`{}` is not a date", a.until),
                        Some("write the last day it holds as `YYYY-MM-DD`".into()),
                    );
                    None
                }
            };
            if a.max_disables.is_none() && a.max_updates.is_none() {
                self.error(
                    doc,
                    &format!("/allowances/{i}"),
                    "an allowance without `max_disables` or `max_updates` allows nothing",
                    Some("give the most disables (and deletes) or updates it allows".into()),
                );
            }
            if a.reason.trim().is_empty() {
                self.error(
                    doc,
                    &at("reason"),
                    "an allowance needs a reason",
                    Some("say why, as the reviewers agreed".into()),
                );
            }
            if let (Some(directory), Some(until)) = (directory, until) {
                allowances.push(crate::config::Allowance {
                    index: i,
                    line: doc.position(&format!("/allowances/{i}")).line,
                    directory,
                    max_disables: a.max_disables,
                    max_updates: a.max_updates,
                    until,
                    reason: a.reason.trim().to_owned(),
                });
            }
        }
        if spec.reports.pii == PiiSpec::Hashed && spec.reports.pii_key.is_none() {
            // Said at `pii`, but about `pii_key`: a `pii_key` already reported (and left
            // out) is not missing a second time.
            let d = doc.error_at(
                "/reports/pii",
                "`pii: hashed` needs `pii_key`",
                Some("add `pii_key: ${env:HRSYNC_PII_KEY}` and set that variable".into()),
            );
            self.push(Diagnostic { pointer: Some("/reports/pii_key".into()), ..d });
        }
        let status_page = self.status_page(doc, spec.status_page.as_ref());
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
                retention: spec.reports.retention.as_ref().map(|r| Retention { days: r.days }),
            },
            status_page,
            approvals: spec.approvals.iter().filter_map(|id| PlanId::new(id).ok()).collect(),
            allowances,
            notify: spec.notify.as_ref().and_then(|n| self.notify(doc, n)),
        })
    }
}

impl Compiler {
    /// `status_page`: a history URL that is an `http(s)://` URL whose placeholders are
    /// known, and the credentials the page asks for. A bad URL gives no links.
    fn status_page(&mut self, doc: &Document, spec: Option<&StatusPageSpec>) -> StatusPage {
        let Some(spec) = spec else { return StatusPage::default() };
        let history_url = spec.history_url.as_ref().filter(|url| {
            let problem = history_url_problem(url);
            if let Some((message, hint)) = &problem {
                self.error(doc, "/status_page/history_url", message.clone(), Some(hint.clone()));
            }
            problem.is_none()
        });
        let auth = spec.auth.as_ref().and_then(|auth| match auth {
            PageAuthSpec::Bearer => Some(PageAuth::Bearer),
            PageAuthSpec::Basic(basic) => {
                let username = basic.username.trim();
                if username.is_empty() || username.contains(':') {
                    self.error(
                        doc,
                        "/status_page/auth/basic/username",
                        "a basic-auth user name must not be empty nor hold `:`",
                        Some("write for example `username: ops`".into()),
                    );
                    return None;
                }
                Some(PageAuth::Basic { username: username.to_owned(), password: basic.password.clone() })
            }
        });
        StatusPage { history_url: history_url.cloned(), auth }
    }
}

/// What is wrong with a `history_url`, with a hint; `None` when it is fine.
fn history_url_problem(url: &str) -> Option<(String, String)> {
    let example = "write for example `https://github.com/acme/idm-sync/commits/{branch}/{path}`";
    let Some(rest) = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")) else {
        return Some((format!("`{url}` is not an https:// or http:// URL"), example.to_owned()));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || host.contains('{')
        || url.chars().any(|c| c.is_whitespace() || c == '"' || c == '<' || c == '>')
    {
        return Some((format!("`{url}` is not a URL with a host"), example.to_owned()));
    }
    let mut tail = rest;
    while let Some(open) = tail.find(['{', '}']) {
        if tail[open..].starts_with('}') {
            return Some((format!("`{url}` has a `}}` without its `{{`"), example.to_owned()));
        }
        let Some(close) = tail[open..].find('}') else {
            return Some((format!("`{url}` has a `{{` without its `}}`"), example.to_owned()));
        };
        let name = &tail[open + 1..open + close];
        if !StatusPage::PLACEHOLDERS.contains(&name) {
            return Some((
                format!("unknown placeholder `{{{name}}}` in `{url}`"),
                "the URL may hold `{branch}` (the reports branch) and `{path}` (the folder of a directory's reports)".to_owned(),
            ));
        }
        tail = &tail[open + close + 1..];
    }
    None
}
