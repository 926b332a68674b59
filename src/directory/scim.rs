//! The `scim` directory: Users of a SCIM 2.0 service (RFC 7643/7644), with the
//! enterprise extension.
//!
//! Fields are SCIM attribute paths: `userName`, `name.givenName`,
//! `emails[type eq "work"].value`, and `urn:…:enterprise:2.0:User:department` (its
//! `manager` holds the manager's id). Reads page through `/Users` with `startIndex` and
//! `count`. Creates POST the resource; a create whose answer was lost is looked up by
//! `externalId` (or `userName`) before it is sent again, so a dropped connection never
//! makes a second account. Updates PATCH only the changed paths, with `If-Match` when
//! the service gave an ETag (200 with a body and 204 without are both success); `active`
//! carries the enabled state; DELETE removes. Filter values are JSON strings, escaped
//! as RFC 7644 says. Where the service's `/ServiceProviderConfig` supports `/Bulk`, the
//! writes in flight at once go together in `/Bulk` requests, each with the result it
//! would have had alone (the `bulk` submodule).
//!
//! Groups are `/Groups` resources, changed member by member, never replaced as a whole
//! (the `groups` submodule).

mod bulk;
mod groups;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::{Value as Json, json};

use super::{
    Created, Directory, DirectoryError, Entry, Group, GroupChange, NewEntry, NewGroup, Page, Update,
};
use crate::config::{GroupSettings, HttpSettings};
use crate::http::{Http, HttpError};
use crate::model::DirectoryId;
use crate::model::{Attributes, Names, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core User schema (RFC 7643 §4.1).
const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A SCIM attribute path hrsync reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Path {
    /// `userName`.
    Top(String),
    /// `name.givenName`.
    Sub(String, String),
    /// `emails[type eq "work"].value`.
    Typed { attr: String, kind: String, sub: String },
    /// `urn:…:User:department`, or `urn:…:User:manager` (whose `value` is meant).
    Extension { urn: String, attr: String },
}

impl Path {
    fn parse(path: &str) -> Path {
        if path.starts_with("urn:")
            && let Some((urn, attr)) = path.rsplit_once(':')
        {
            return Path::Extension { urn: urn.to_owned(), attr: attr.to_owned() };
        }
        if let Some((attr, rest)) = path.split_once('[')
            && let Some((filter, sub)) = rest.split_once("].")
        {
            let mut words = filter.split_whitespace();
            if let (Some("type"), Some(op), Some(kind)) = (words.next(), words.next(), words.next())
                && op.eq_ignore_ascii_case("eq")
            {
                return Path::Typed {
                    attr: attr.to_owned(),
                    kind: kind.trim_matches('"').to_owned(),
                    sub: sub.to_owned(),
                };
            }
        }
        match path.split_once('.') {
            Some((a, b)) => Path::Sub(a.to_owned(), b.to_owned()),
            None => Path::Top(path.to_owned()),
        }
    }

    /// The value at this path of a resource.
    fn get(&self, resource: &Json) -> Option<Value> {
        let node = match self {
            Path::Top(a) => resource.get(a)?,
            Path::Sub(a, b) => resource.get(a)?.get(b)?,
            Path::Typed { attr, kind, sub } => resource
                .get(attr)?
                .as_array()?
                .iter()
                .find(|e| e.get("type").and_then(Json::as_str).is_some_and(|t| t.eq_ignore_ascii_case(kind)))?
                .get(sub)?,
            Path::Extension { urn, attr } => resource.get(urn)?.get(attr)?,
        };
        to_value(node)
    }

    /// Writes `value` at this path of a new resource.
    fn set(&self, resource: &mut Json, value: &Value, manager: bool) {
        let text = value.first().unwrap_or_default();
        match self {
            Path::Top(a) => resource[a] = json!(text),
            Path::Sub(a, b) => {
                if !resource[a].is_object() {
                    resource[a] = json!({});
                }
                resource[a][b] = json!(text);
            }
            Path::Typed { attr, kind, sub } => {
                if !resource[attr].is_array() {
                    resource[attr] = json!([]);
                }
                if let Some(items) = resource[attr].as_array_mut() {
                    match items.iter_mut().find(|e| e["type"] == json!(kind)) {
                        Some(item) => item[sub] = json!(text),
                        None => {
                            let mut item = json!({ "type": kind, sub: text });
                            if items.is_empty() {
                                item["primary"] = json!(true);
                            }
                            items.push(item);
                        }
                    }
                }
            }
            Path::Extension { urn, attr } => {
                if !resource[urn].is_object() {
                    resource[urn] = json!({});
                }
                resource[urn][attr] = if manager { json!({ "value": text }) } else { json!(text) };
                if let Some(schemas) = resource["schemas"].as_array_mut()
                    && !schemas.iter().any(|s| s == urn)
                {
                    schemas.push(json!(urn));
                }
            }
        }
    }
}

/// A SCIM value as hrsync compares it: text, several texts, or a complex value's `value`.
fn to_value(node: &Json) -> Option<Value> {
    let text = |n: &Json| match n {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Object(o) => o.get("value").and_then(Json::as_str).map(str::to_owned),
        _ => None,
    };
    match node {
        Json::Array(items) => {
            let values: Vec<String> = items.iter().filter_map(text).collect();
            match values.len() {
                0 => None,
                1 => values.into_iter().next().map(Value::One),
                _ => Some(Value::Many(values)),
            }
        }
        other => text(other).map(Value::One),
    }
}

/// A SCIM service.
pub struct ScimDirectory {
    id: DirectoryId,
    http: Result<Http, Arc<HttpError>>,
    /// Mapped attributes by name, with their parsed paths.
    paths: Vec<(String, Path)>,
    /// The attribute holding the manager reference.
    manager: Option<String>,
    page_size: u32,
    concurrency: usize,
    names: std::sync::Mutex<Names>,
    /// How it keeps groups (`groups` of its file); `None`: it has no groups to sync.
    groups: Option<GroupSettings>,
    /// Whether writes may go in `/Bulk` requests (`connection.bulk`).
    use_bulk: bool,
    /// `/Bulk` as the service's config offers it (`None`: it does not), once asked.
    bulk: tokio::sync::OnceCell<Option<bulk::Bulk>>,
    /// The creates of the running apply, for the creates that reference them.
    creates: bulk::Creates,
}

impl std::fmt::Debug for ScimDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimDirectory").field("id", &self.id).finish()
    }
}

impl ScimDirectory {
    /// This directory, keeping groups as `groups` says (`None`: it has none to sync).
    pub fn with_groups(mut self, groups: Option<GroupSettings>) -> Self {
        self.groups = groups;
        self
    }

    /// This directory, sending writes of users in `/Bulk` requests where the service
    /// supports them (`true`, the default) or each in a request of its own (`false`).
    pub fn with_bulk(mut self, bulk: bool) -> Self {
        self.use_bulk = bulk;
        self
    }

    /// A directory reading and writing `attributes` (SCIM paths); `manager` is the one
    /// holding the manager reference.
    pub fn new(
        id: DirectoryId,
        settings: &HttpSettings,
        attributes: Vec<String>,
        manager: Option<String>,
    ) -> Self {
        let paths = attributes.into_iter().map(|a| (a.clone(), Path::parse(&a))).collect();
        ScimDirectory {
            id,
            http: Http::new(settings, "application/scim+json").map_err(Arc::new),
            paths,
            manager,
            page_size: settings.page_size,
            concurrency: settings.concurrency,
            names: Default::default(),
            groups: None,
            use_bulk: true,
            bulk: tokio::sync::OnceCell::new(),
            creates: bulk::Creates::default(),
        }
    }

    /// `/Bulk`, when hrsync may use it and the service's `/ServiceProviderConfig` says it
    /// is supported; asked once. A service without that document, or one that cannot be
    /// read, gets single requests: that is no error.
    async fn bulk(&self) -> Option<&bulk::Bulk> {
        if !self.use_bulk {
            return None;
        }
        let bulk = self
            .bulk
            .get_or_init(|| async {
                let http = self.http().ok()?;
                let config = match http.send(Method::GET, "ServiceProviderConfig", &[], None, &[]).await {
                    Ok(response) => response.body?,
                    Err(e) => {
                        tracing::debug!(directory = %self.id, error = %e, "no service provider config: writes go one request each");
                        return None;
                    }
                };
                let limits = bulk::Bulk::limits(&config)?;
                tracing::debug!(directory = %self.id, max_operations = limits.operations, max_bytes = limits.bytes, "writes go in /Bulk requests");
                Some(bulk::Bulk::new(limits))
            })
            .await;
        bulk.as_ref()
    }

    fn http(&self) -> Result<&Http, DirectoryError> {
        super::rest::client(&self.http, &self.id)
    }

    /// Maps a failed request on entry `id` to a directory error.
    fn error(&self, id: &str, e: HttpError) -> DirectoryError {
        match e.status() {
            Some(StatusCode::CONFLICT) => DirectoryError::AlreadyExists(id.to_owned(), Some(Box::new(e))),
            Some(StatusCode::PRECONDITION_FAILED) => {
                DirectoryError::Conflict(id.to_owned(), Some(Box::new(e)))
            }
            _ => super::rest::directory_error(&self.id, id, e),
        }
    }

    fn to_entry(&self, resource: &Json, names: &mut Names) -> Option<Entry> {
        let id = resource.get("id")?.as_str()?.to_owned();
        let mut map = BTreeMap::new();
        for (name, path) in &self.paths {
            if let Some(v) = path.get(resource) {
                map.insert(name.clone(), v);
            }
        }
        Some(Entry {
            id,
            attributes: Attributes::from_map(map, names),
            enabled: resource.get("active").and_then(Json::as_bool).unwrap_or(true),
            revision: resource.pointer("/meta/version").and_then(Json::as_str).map(str::to_owned),
        })
    }

    /// The entries of a ListResponse (RFC 7644 §3.4.2) that starts at index `start`,
    /// and where the next page starts.
    pub(crate) fn page(&self, body: Json, start: u64) -> Page {
        let resources = body.get("Resources").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
        let total = body.get("totalResults").and_then(Json::as_u64).unwrap_or(0);
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let entries: Vec<Entry> = resources.iter().filter_map(|r| self.to_entry(r, &mut names)).collect();
        *self.names.lock().unwrap_or_else(|p| p.into_inner()) = names;
        let next = start.saturating_add(resources.len() as u64);
        // A short page before the total is a service that pages differently: keep going
        // while it returns entries.
        let more = !resources.is_empty() && next <= total;
        Page { entries, next: more.then(|| next.to_string()) }
    }

    /// The one user whose `attribute` equals `value`, if any.
    async fn find(&self, attribute: &str, value: &str) -> Result<Option<String>, DirectoryError> {
        // A SCIM filter's string is a JSON string: serde_json escapes it exactly.
        let filter = format!("{attribute} eq {}", Json::String(value.to_owned()));
        let response = self
            .http()?
            .send(Method::GET, "Users", &[("filter", filter)], None, &[])
            .await
            .map_err(|e| self.error(value, e))?;
        let resources = response.body.as_ref().and_then(|b| b.get("Resources")).and_then(Json::as_array);
        Ok(match resources.map(Vec::as_slice) {
            Some([one]) => one.get("id").and_then(Json::as_str).map(str::to_owned),
            _ => None,
        })
    }
}

impl ScimDirectory {
    /// PATCHes user `id` with `operations` (none: nothing to send), if it is still at
    /// `revision`.
    async fn patch(
        &self,
        id: &str,
        operations: Vec<Json>,
        revision: Option<&str>,
    ) -> Result<(), DirectoryError> {
        if operations.is_empty() {
            return Ok(());
        }
        let op = bulk::Op::new(
            Method::PATCH,
            format!("Users/{id}"),
            revision.map(str::to_owned),
            Some(json!({ "schemas": [PATCH_OP], "Operations": operations })),
            None,
            id.to_owned(),
        );
        self.write(op).await.map(|_| ())
    }
}

#[async_trait]
impl Directory for ScimDirectory {
    fn id(&self) -> &DirectoryId {
        &self.id
    }

    /// The connection's concurrency; times the operations of a `/Bulk` request while
    /// bulk is in use, so that apply has enough writes in flight to fill them (the HTTP
    /// client still sends no more requests at once than the connection allows).
    fn concurrency(&self) -> usize {
        match self.bulk.get().and_then(Option::as_ref).and_then(bulk::Bulk::in_use) {
            Some(limits) => self.concurrency.saturating_mul(limits.operations),
            None => self.concurrency,
        }
    }

    /// While `/Bulk` is in use: a report's create goes in the same request as their
    /// manager's, referencing it by `bulkId:` (the `bulk` module).
    fn references_in_flight(&self) -> bool {
        self.bulk.get().and_then(Option::as_ref).and_then(bulk::Bulk::in_use).is_some()
    }

    async fn schema_problems(&self) -> Result<Option<Vec<String>>, DirectoryError> {
        let response = match self.http()?.send(Method::GET, "Schemas", &[], None, &[]).await {
            Ok(r) => r,
            // The server does not publish its schemas (RFC 7644 §4 makes it optional).
            Err(e) if matches!(e.status(), Some(StatusCode::NOT_FOUND | StatusCode::NOT_IMPLEMENTED)) => {
                return Ok(None);
            }
            Err(e) => {
                return Err(DirectoryError::Unavailable { directory: self.id.clone(), source: e.into() });
            }
        };
        let body = response.body.unwrap_or(Json::Null);
        let schemas = body.get("Resources").unwrap_or(&body).as_array().cloned().unwrap_or_default();
        // Schema id → attribute name (lowercase) → its sub-attributes (lowercase).
        let mut known: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        for schema in &schemas {
            let Some(id) = schema.get("id").and_then(Json::as_str) else { continue };
            let attrs = known.entry(id.to_owned()).or_default();
            for attr in schema.get("attributes").and_then(Json::as_array).into_iter().flatten() {
                let Some(name) = attr.get("name").and_then(Json::as_str) else { continue };
                let subs = attr.get("subAttributes").and_then(Json::as_array).into_iter().flatten();
                let subs = subs.filter_map(|s| s.get("name").and_then(Json::as_str)).map(str::to_lowercase);
                attrs.insert(name.to_lowercase(), subs.collect());
            }
        }
        let mut problems = Vec::new();
        for (name, path) in &self.paths {
            let (urn, attr, sub) = match path {
                // Common attributes (RFC 7643 §3.1) belong to no schema.
                Path::Top(a) if ["id", "externalId", "meta"].contains(&a.as_str()) => continue,
                Path::Top(a) => (CORE_USER, a, None),
                Path::Sub(a, s) | Path::Typed { attr: a, sub: s, .. } => (CORE_USER, a, Some(s)),
                Path::Extension { urn, attr } => (urn.as_str(), attr, None),
            };
            let Some(attrs) = known.get(urn) else {
                problems.push(format!("`{name}`: the server offers no schema `{urn}`"));
                continue;
            };
            match (attrs.get(&attr.to_lowercase()), sub) {
                (None, _) => problems.push(format!("`{name}`: schema `{urn}` has no attribute `{attr}`")),
                (Some(subs), Some(s)) if !subs.is_empty() && !subs.contains(&s.to_lowercase()) => {
                    problems.push(format!("`{name}`: `{attr}` has no sub-attribute `{s}`"))
                }
                _ => {}
            }
        }
        Ok(Some(problems))
    }

    async fn read_page(&self, cursor: Option<String>) -> Result<Page, DirectoryError> {
        if cursor.is_none() {
            // Known before apply asks how many writes to have in flight.
            self.bulk().await;
            self.creates.clear();
        }
        let start: u64 = cursor.and_then(|c| c.parse().ok()).unwrap_or(1);
        let query = [("startIndex", start.to_string()), ("count", self.page_size.to_string())];
        let response =
            self.http()?.send(Method::GET, "Users", &query, None, &[]).await.map_err(|e| {
                DirectoryError::Unavailable { directory: self.id.clone(), source: Box::new(e) }
            })?;
        Ok(self.page(response.body.unwrap_or(Json::Null), start))
    }

    async fn create(&self, entry: &NewEntry) -> Result<Created, DirectoryError> {
        // Known before any create that references this one looks.
        if let Some(ticket) = &entry.ticket {
            self.creates.set(ticket, bulk::Stage::Made);
        }
        let mut body = json!({ "schemas": [USER], "active": entry.enabled });
        for (name, path) in &self.paths {
            if let Some(value) = entry.attributes.get(name) {
                path.set(&mut body, value, self.manager.as_deref() == Some(name));
            }
        }
        let key = ["externalId", "userName"]
            .into_iter()
            .find_map(|a| entry.attributes.get(a).and_then(Value::first).map(|v| (a, v.to_owned())));
        let label = key.as_ref().map(|(_, v)| v.clone()).unwrap_or_default();
        let mut op = bulk::Op::new(Method::POST, "Users".into(), None, Some(body), key, label);
        op.ticket = entry.ticket.clone();
        op.references = entry
            .awaiting
            .iter()
            .filter_map(|(name, ticket)| {
                let (_, path) = self.paths.iter().find(|(n, _)| n == name)?;
                Some(bulk::Reference {
                    name: name.clone(),
                    path: path.clone(),
                    manager: self.manager.as_deref() == Some(name),
                    ticket: ticket.clone(),
                })
            })
            .collect();
        let notes = op.notes.clone();
        let answer = self.write(op).await;
        if let Some(ticket) = &entry.ticket {
            self.creates.set(ticket, bulk::Stage::Done(answer.as_ref().ok().cloned().flatten()));
        }
        let id = answer?
            .ok_or_else(|| DirectoryError::refused("the service created a user but returned no id"))?;
        let warnings = std::mem::take(&mut *notes.lock().unwrap_or_else(|p| p.into_inner()));
        Ok(Created { id, warnings })
    }

    async fn update(
        &self,
        id: &str,
        update: &Update,
        revision: Option<&str>,
    ) -> Result<String, DirectoryError> {
        let mut operations = Vec::new();
        for (name, new) in &update.set {
            let Some((_, path)) = self.paths.iter().find(|(n, _)| n == name) else { continue };
            let manager = self.manager.as_deref() == Some(name);
            match (new, path) {
                (None, _) => operations.push(json!({ "op": "remove", "path": name })),
                // A typed value that does not exist yet is added to its list.
                (Some(v), Path::Typed { attr, kind, sub })
                    if update.expect.get(name).is_some_and(Option::is_none) =>
                {
                    operations.push(
                        json!({ "op": "add", "path": attr, "value": [{ "type": kind, sub: v.first() }] }),
                    )
                }
                (Some(v), _) => {
                    let value = if manager { json!({ "value": v.first() }) } else { json!(v.first()) };
                    operations.push(json!({ "op": "replace", "path": name, "value": value }));
                }
            }
        }
        if let Some(enabled) = update.enabled {
            operations.push(json!({ "op": "replace", "path": "active", "value": enabled }));
        }
        self.patch(id, operations, revision).await.map(|()| id.to_owned())
    }

    async fn disable(&self, id: &str, revision: Option<&str>) -> Result<String, DirectoryError> {
        self.patch(id, vec![json!({ "op": "replace", "path": "active", "value": false })], revision)
            .await
            .map(|()| id.to_owned())
    }

    async fn delete(&self, id: &str, revision: Option<&str>) -> Result<(), DirectoryError> {
        let op = bulk::Op::new(
            Method::DELETE,
            format!("Users/{id}"),
            revision.map(str::to_owned),
            None,
            None,
            id.to_owned(),
        );
        self.write(op).await.map(|_| ())
    }

    async fn read_groups(&self) -> Result<Vec<Group>, DirectoryError> {
        self.list_groups().await
    }

    async fn create_group(&self, group: &NewGroup) -> Result<String, DirectoryError> {
        self.make_group(group).await
    }

    async fn change_group(&self, id: &str, change: &GroupChange) -> Result<String, DirectoryError> {
        self.patch_group(id, change).await
    }

    async fn delete_group(&self, id: &str) -> Result<(), DirectoryError> {
        self.remove_group(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_and_write_scim_resources() {
        let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let resource = json!({
            "userName": "ada",
            "name": {"givenName": "Ada"},
            "emails": [{"type": "home", "value": "a@home"}, {"type": "work", "value": "a@work"}],
            "active": false,
            enterprise: {"department": "R&D", "manager": {"value": "m-1", "displayName": "Boss"}}
        });
        let get = |p: &str| Path::parse(p).get(&resource);
        assert_eq!(get("userName"), Some(Value::One("ada".into())));
        assert_eq!(get("name.givenName"), Some(Value::One("Ada".into())));
        assert_eq!(get("emails[type eq \"work\"].value"), Some(Value::One("a@work".into())));
        assert_eq!(get(&format!("{enterprise}:department")), Some(Value::One("R&D".into())));
        assert_eq!(get(&format!("{enterprise}:manager")), Some(Value::One("m-1".into())));
        assert_eq!(get("title"), None);

        let mut new = json!({"schemas": [USER]});
        let one = |s: &str| Value::One(s.into());
        Path::parse("emails[type eq \"work\"].value").set(&mut new, &one("x@work"), false);
        Path::parse("name.familyName").set(&mut new, &one("Lovelace"), false);
        Path::parse(&format!("{enterprise}:manager")).set(&mut new, &one("m-2"), true);
        assert_eq!(new["emails"], json!([{"type": "work", "value": "x@work", "primary": true}]));
        assert_eq!(new["name"]["familyName"], "Lovelace");
        assert_eq!(new[enterprise]["manager"], json!({"value": "m-2"}));
        assert_eq!(new["schemas"], json!([USER, enterprise]));
    }

    #[test]
    fn filter_values_are_json_strings() {
        assert_eq!(Json::String("a\"b\\c".into()).to_string(), "\"a\\\"b\\\\c\"");
    }
}
