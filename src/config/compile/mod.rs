//! Specs → validated runtime config, collecting every problem with its position.
//!
//! Each document is checked on its own first (schema, then types: `loading`); documents
//! that pass are cross-checked here: ids, references between documents, templates,
//! fields, time zones and formats. A document with a structural problem is left out of
//! the cross-checks, so one typo does not cascade into a dozen follow-up errors.
//!
//! This module owns the [`Compiler`] (the diagnostics and what silences follow-up
//! problems), the checks every kind of document shares (ids, field and filter
//! references, templates, time zones, durations and date formats, HTTP connections), the
//! config's fingerprint, and the driver that compiles the kinds in dependency order. What
//! one kind of document means is in that kind's module. Nothing here reads files or
//! parses YAML (`loading` did), and nothing here resolves secrets or reaches a service.

mod directory;
mod filter;
mod groups;
mod notify;
mod overrides;
mod source;
mod workspace;

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, SpanRelativeTo};
use sha2::{Digest, Sha256};

use super::loading::{Loaded, Parsed};
use super::spec::{
    DirectorySpec, FilterSpec, GroupSpec, HttpConnectionSpec, OverridesSpec, SourceSpec, WorkspaceSpec,
};
use super::yaml::Document;
use super::{Auth, Config, ConfigError, Diagnostic, Diagnostics, HttpSettings, did_you_mean};
use crate::model::filter::Filter;
use crate::model::template::{Counter, Template, TemplateError};
use crate::model::{FieldRef, FilterId, InvalidId};

/// Compiles what `loading` read. Filters come first because sources and directories
/// refer to them; the config exists only when no document has a problem.
pub(super) fn compile(loaded: Loaded) -> Result<Config, ConfigError> {
    let Loaded { workspace, filters, sources, directories, groups, overrides, diags, culprits, revision } =
        loaded;
    let mut cx = Compiler { diags, culprits };
    let workspace_cfg = workspace.as_ref().and_then(|w| cx.workspace(w));
    let filter_cfgs = cx.filters(&filters);
    let source_cfgs = cx.sources(&sources, &filter_cfgs);
    let default_safety = workspace.as_ref().map(|w| w.spec.safety.clone()).unwrap_or_default();
    let workspace_name = workspace.as_ref().map_or("", |w| w.spec.workspace.as_str());
    let directory_cfgs = cx.directories(&directories, &filter_cfgs, &default_safety, workspace_name);
    let override_cfgs = cx.overrides(overrides.as_ref(), &source_cfgs, &directory_cfgs);
    let group_cfgs = cx.groups(&groups, &filter_cfgs, &directory_cfgs);
    // An allowance names a directory of the repository (by its file's name).
    if let (Some(w), Some(cfg)) = (workspace.as_ref(), workspace_cfg.as_ref()) {
        let ids: Vec<&str> = directories
            .iter()
            .filter_map(|d| std::path::Path::new(&d.doc.file).file_stem().and_then(|s| s.to_str()))
            .collect();
        for a in &cfg.allowances {
            if !ids.contains(&a.directory.as_str()) {
                cx.error(
                    &w.doc,
                    &format!("/allowances/{}/directory", a.index),
                    format!("there is no directory `{}`", a.directory),
                    Some(format!("the directories are: {}", ids.join(", "))),
                );
            }
        }
    }

    let diags = cx.diags.finish();
    match workspace_cfg {
        Some(workspace_cfg) if diags.is_empty() => Ok(Config {
            fingerprint: fingerprint(
                workspace.as_ref(),
                &filters,
                &sources,
                &directories,
                &groups,
                overrides.as_ref(),
            )
            .map_err(ConfigError::Fingerprint)?,
            workspace: workspace_cfg,
            sources: source_cfgs,
            directories: directory_cfgs,
            filters: filter_cfgs,
            overrides: override_cfgs,
            groups: group_cfgs,
            revision,
        }),
        _ => Err(ConfigError::Invalid(diags)),
    }
}

/// The problems found so far, shared by the modules of each document kind.
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

/// A hash of the specs that shape a plan, without approvals, allowances and directory
/// modes.
///
/// A spec that does not serialize is an error, not hashed as `null`: that would give two
/// different configs one fingerprint, and a plan approved under one would pass under
/// the other.
fn fingerprint(
    workspace: Option<&Parsed<WorkspaceSpec>>,
    filters: &[Parsed<FilterSpec>],
    sources: &[Parsed<SourceSpec>],
    directories: &[Parsed<DirectorySpec>],
    groups: &[Parsed<GroupSpec>],
    overrides: Option<&Parsed<OverridesSpec>>,
) -> Result<String, serde_json::Error> {
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
        spec.allowances.clear();
        spec.schedule = None;
        feed("workspace", serde_json::to_value(&spec)?);
    }
    // Sorted by file, which `RepoFiles::list` already guarantees.
    for p in filters {
        feed(&p.doc.file, serde_json::to_value(&p.spec)?);
    }
    for p in sources {
        feed(&p.doc.file, serde_json::to_value(&p.spec)?);
    }
    for p in directories {
        let mut value = serde_json::to_value(&p.spec)?;
        if let Some(obj) = value.as_object_mut() {
            obj.remove("mode");
        }
        feed(&p.doc.file, value);
    }
    for p in groups {
        feed(&p.doc.file, serde_json::to_value(&p.spec)?);
    }
    if let Some(p) = overrides {
        feed(&p.doc.file, serde_json::to_value(&p.spec)?);
    }
    Ok(hex::encode(hasher.finalize()))
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
