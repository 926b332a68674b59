//! The `entraid` directory: users of a Microsoft Entra ID tenant, through Microsoft
//! Graph v1.0.
//!
//! Fields are user properties (`displayName`, `userPrincipalName`, `employeeId`,
//! `businessPhones` …) or dotted paths into a complex property
//! (`onPremisesExtensionAttributes.extensionAttribute1`, `employeeOrgData.costCenter`);
//! the manager field holds the manager's object id. Reads page through `/users` with
//! `$select`, following `@odata.nextLink`; with a manager mapped they add
//! `$expand=manager($select=id)`, which Graph limits to 100 users a page.
//!
//! Creates POST the user with the properties Graph requires: `accountEnabled`,
//! `mailNickname` (from the user principal name when not mapped) and a generated
//! initial password, which is sent once and never logged or stored. A create whose
//! answer was lost is looked up by `userPrincipalName` before it is sent again. The
//! manager is a relationship, set with `PUT /users/{id}/manager/$ref` and removed with
//! `DELETE`. Graph has no conditional writes for users, so an update first reads the
//! properties it changes and gives up on the entry if they no longer hold what the plan
//! saw. `accountEnabled` carries the enabled state; a delete moves the user to Entra's
//! deleted items, where it stays restorable for 30 days.
//!
//! User writes (creates, PATCHes, manager references, deletes) and the reads an update
//! checks first go in JSON `$batch` requests of up to 20, gathered from the writes in
//! flight at once, each still succeeding or failing on its own (the `batch` submodule);
//! `connection.batch: false` sends each alone. A user's manager is set by a second
//! write after its create answered, so always in a later batch.
//!
//! Groups are security groups, their members added 20 a request and removed one by one,
//! never replaced as a whole (the `groups` submodule).

mod batch;
mod groups;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value as Json, json};

use self::batch::{Call, Outcome};
use super::batch::Batcher;
use super::password::generate_password;
use super::{
    Created, Directory, DirectoryError, Entry, Group, GroupChange, NewEntry, NewGroup, Page, Update,
};
use crate::config::{EntraSettings, GroupSettings, spec::PasswordSpec};
use crate::http::{Http, HttpError};
use crate::model::DirectoryId;
use crate::model::{Attributes, Names, Value};

/// Graph's largest page when `$expand` is used.
const EXPAND_PAGE_LIMIT: u32 = 100;

/// User properties that are string collections in Graph.
const COLLECTIONS: &[&str] = &[
    "businessPhones",
    "otherMails",
    "imAddresses",
    "interests",
    "pastProjects",
    "responsibilities",
    "schools",
    "skills",
];

/// Complex user properties hrsync can write into, with their properties.
const COMPLEX: &[(&str, &[&str])] = &[
    ("employeeOrgData", &["costCenter", "division"]),
    (
        "onPremisesExtensionAttributes",
        &[
            "extensionAttribute1",
            "extensionAttribute2",
            "extensionAttribute3",
            "extensionAttribute4",
            "extensionAttribute5",
            "extensionAttribute6",
            "extensionAttribute7",
            "extensionAttribute8",
            "extensionAttribute9",
            "extensionAttribute10",
            "extensionAttribute11",
            "extensionAttribute12",
            "extensionAttribute13",
            "extensionAttribute14",
            "extensionAttribute15",
        ],
    ),
    ("passwordProfile", &["forceChangePasswordNextSignIn", "forceChangePasswordNextSignInWithMfa"]),
];

/// A user property hrsync reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Prop {
    /// `displayName`.
    Top(String),
    /// `onPremisesExtensionAttributes.extensionAttribute1`.
    Nested(String, String),
}

impl Prop {
    fn parse(name: &str) -> Prop {
        match name.split_once('.') {
            Some((a, b)) => Prop::Nested(a.to_owned(), b.to_owned()),
            None => Prop::Top(name.to_owned()),
        }
    }

    /// The top-level property, for `$select`.
    fn top(&self) -> &str {
        match self {
            Prop::Top(a) | Prop::Nested(a, _) => a,
        }
    }

    fn is_collection(&self) -> bool {
        matches!(self, Prop::Top(a) if COLLECTIONS.contains(&a.as_str()))
    }

    fn get(&self, user: &Json) -> Option<Value> {
        let node = match self {
            Prop::Top(a) => user.get(a)?,
            Prop::Nested(a, b) => user.get(a)?.get(b)?,
        };
        to_value(node)
    }

    /// The JSON to send for `value` (`None`: clear it).
    fn json(&self, value: Option<&Value>) -> Json {
        match (value, self.is_collection()) {
            (Some(v), true) => json!(v.values()),
            (None, true) => json!([]),
            (Some(Value::Many(v)), false) => json!(v),
            (Some(Value::One(v)), false) => json!(v),
            (None, false) => Json::Null,
        }
    }

    /// Writes `value` at this property of a request body.
    fn set(&self, body: &mut Map<String, Json>, value: Option<&Value>) {
        let json = self.json(value);
        match self {
            Prop::Top(a) => {
                body.insert(a.clone(), json);
            }
            Prop::Nested(a, b) => {
                let parent = body.entry(a.clone()).or_insert_with(|| json!({}));
                if !parent.is_object() {
                    *parent = json!({});
                }
                if let Some(parent) = parent.as_object_mut() {
                    parent.insert(b.clone(), json);
                }
            }
        }
    }
}

/// A Graph value as hrsync compares it. `null` and empty collections are absent.
fn to_value(node: &Json) -> Option<Value> {
    let text = |n: &Json| match n {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
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

/// An OData string literal: single quotes, doubled inside.
fn odata_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A mail nickname from a user principal name: its local part, without the characters
/// Exchange refuses.
fn mail_nickname(upn: &str) -> String {
    let local = upn.split('@').next().unwrap_or(upn);
    let nickname: String = local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(64)
        .collect();
    let nickname = nickname.trim_matches('.').to_owned();
    if nickname.is_empty() { "user".to_owned() } else { nickname }
}

/// An Entra ID tenant.
pub struct EntraDirectory {
    id: DirectoryId,
    http: Result<Http, Arc<HttpError>>,
    /// Mapped properties by attribute name, the manager excluded.
    props: Vec<(String, Prop)>,
    /// The attribute holding the manager's object id.
    manager: Option<String>,
    passwords: PasswordSpec,
    page_size: u32,
    /// HTTP requests in flight at once (`connection.concurrency`).
    concurrency: usize,
    /// Gathers user writes into `$batch` requests; `None`: batching is off.
    batcher: Option<Batcher<Call, Outcome>>,
    names: std::sync::Mutex<Names>,
    /// How it keeps groups (`groups` of its file); `None`: it has no groups to sync.
    groups: Option<GroupSettings>,
}

impl std::fmt::Debug for EntraDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraDirectory").field("id", &self.id).finish()
    }
}

impl EntraDirectory {
    /// This directory, keeping groups as `groups` says (`None`: it has none to sync).
    pub fn with_groups(mut self, groups: Option<GroupSettings>) -> Self {
        self.groups = groups;
        self
    }

    /// A directory reading and writing `attributes` (Graph user properties); `manager`
    /// is the one holding the manager.
    pub fn new(
        id: DirectoryId,
        settings: &EntraSettings,
        attributes: Vec<String>,
        manager: Option<String>,
    ) -> Self {
        let props = attributes
            .into_iter()
            .filter(|a| Some(a) != manager.as_ref())
            .map(|a| (a.clone(), Prop::parse(&a)))
            .collect();
        let page_size = if manager.is_some() {
            settings.http.page_size.min(EXPAND_PAGE_LIMIT)
        } else {
            settings.http.page_size
        };
        EntraDirectory {
            id,
            http: Http::new(&settings.http, "application/json").map_err(Arc::new),
            props,
            manager,
            passwords: settings.passwords.clone(),
            page_size: page_size.max(1),
            concurrency: settings.http.concurrency,
            batcher: settings.batch.then(|| Batcher::new(batch::LIMITS)),
            names: Default::default(),
            groups: None,
        }
    }

    fn http(&self) -> Result<&Http, DirectoryError> {
        super::rest::client(&self.http, &self.id)
    }

    fn unavailable(&self, e: impl std::error::Error + Send + Sync + 'static) -> DirectoryError {
        DirectoryError::Unavailable { directory: self.id.clone(), source: Box::new(e) }
    }

    /// Maps a failed request about entry `id` to a directory error.
    fn error(&self, id: &str, e: HttpError) -> DirectoryError {
        // Graph says "Another object with the same value for property … already exists."
        let exists = matches!(&e, HttpError::Status { detail: Some(d), .. } if d.contains("already exists"));
        if exists && e.status() == Some(StatusCode::BAD_REQUEST) {
            return DirectoryError::AlreadyExists(id.to_owned(), Some(Box::new(e)));
        }
        super::rest::directory_error(&self.id, id, e)
    }

    /// `$select` (and `$expand`) for reading `props` and the manager.
    fn query(&self, props: &[&Prop], manager: bool) -> Vec<(&'static str, String)> {
        let mut select = vec!["id", "accountEnabled"];
        for p in props {
            if !select.contains(&p.top()) {
                select.push(p.top());
            }
        }
        let mut query = vec![("$select", select.join(","))];
        if manager {
            query.push(("$expand", "manager($select=id)".to_owned()));
        }
        query
    }

    /// The mapped values of a user, the manager's id included.
    fn values(&self, user: &Json) -> BTreeMap<String, Value> {
        let mut map = BTreeMap::new();
        for (name, prop) in &self.props {
            if let Some(v) = prop.get(user) {
                map.insert(name.clone(), v);
            }
        }
        if let Some(manager) = &self.manager
            && let Some(id) = user.get("manager").and_then(|m| m.get("id")).and_then(Json::as_str)
        {
            map.insert(manager.clone(), Value::One(id.to_owned()));
        }
        map
    }

    /// The users of a Graph page (`value`) as entries, and its `@odata.nextLink`.
    pub(crate) fn page(&self, body: Json) -> Result<Page, DirectoryError> {
        let Some(users) = body.get("value").and_then(Json::as_array) else {
            return Err(self.unavailable(std::io::Error::other("Graph answered a page without `value`")));
        };
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let entries = users
            .iter()
            .filter_map(|user| {
                let id = user.get("id")?.as_str()?.to_owned();
                Some(Entry {
                    id,
                    attributes: Attributes::from_map(self.values(user), &mut names),
                    enabled: user.get("accountEnabled").and_then(Json::as_bool).unwrap_or(true),
                    revision: None,
                })
            })
            .collect();
        *self.names.lock().unwrap_or_else(|p| p.into_inner()) = names;
        let next = body.get("@odata.nextLink").and_then(Json::as_str).map(str::to_owned);
        Ok(Page { entries, next })
    }

    /// The one user whose user principal name is `upn`, if any.
    async fn find(&self, upn: &str) -> Result<Option<String>, DirectoryError> {
        self.find_one("users", "userPrincipalName", upn).await
    }

    /// The id of the one object of `collection` whose `property` is `value`, if exactly
    /// one has it.
    pub(super) async fn find_one(
        &self,
        collection: &str,
        property: &str,
        value: &str,
    ) -> Result<Option<String>, DirectoryError> {
        let query =
            [("$filter", format!("{property} eq {}", odata_string(value))), ("$select", "id".to_owned())];
        let response = self
            .http()?
            .send(Method::GET, collection, &query, None, &[])
            .await
            .map_err(|e| self.error(value, e))?;
        let found = response.body.as_ref().and_then(|b| b.get("value")).and_then(Json::as_array);
        Ok(match found.map(Vec::as_slice) {
            Some([one]) => one.get("id").and_then(Json::as_str).map(str::to_owned),
            _ => None,
        })
    }

    /// Points the user's manager at `manager`, or removes it.
    async fn set_manager(&self, id: &str, manager: Option<&str>) -> Result<(), DirectoryError> {
        let http = self.http()?;
        let path = format!("users/{id}/manager/$ref");
        match manager {
            Some(m) => {
                let body = json!({ "@odata.id": http.url(&format!("users/{m}")) });
                self.call(Call::new(Method::PUT, path, Some(body), id)).await.map(|_| ())
            }
            None => match self.call(Call::new(Method::DELETE, path, None, id)).await {
                // No manager to remove: what was asked for holds.
                Err(DirectoryError::NotFound(..)) => Ok(()),
                other => other.map(|_| ()),
            },
        }
    }

    /// Fails with [`DirectoryError::Conflict`] unless the user still holds what the
    /// plan saw in the attributes it changes.
    async fn check(&self, id: &str, expect: &BTreeMap<String, Option<Value>>) -> Result<(), DirectoryError> {
        let props: Vec<&Prop> =
            self.props.iter().filter(|(n, _)| expect.contains_key(n)).map(|(_, p)| p).collect();
        let manager = self.manager.as_ref().is_some_and(|m| expect.contains_key(m));
        if props.is_empty() && !manager {
            return Ok(());
        }
        let mut call = Call::new(Method::GET, format!("users/{id}"), None, id);
        call.query = self.query(&props, manager);
        let now = self.values(&self.call(call).await?.unwrap_or(Json::Null));
        for (name, before) in expect {
            if now.get(name) != before.as_ref() {
                return Err(DirectoryError::Conflict(id.to_owned(), None));
            }
        }
        Ok(())
    }

    async fn patch(&self, id: &str, body: Map<String, Json>) -> Result<(), DirectoryError> {
        if body.is_empty() {
            return Ok(());
        }
        self.call(Call::new(Method::PATCH, format!("users/{id}"), Some(Json::Object(body)), id))
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl Directory for EntraDirectory {
    fn id(&self) -> &DirectoryId {
        &self.id
    }

    /// With batching, enough writes in flight to fill a batch per HTTP request in flight;
    /// `crate::http` still sends at most `connection.concurrency` requests at once.
    fn concurrency(&self) -> usize {
        match self.batcher {
            Some(_) => self.concurrency.saturating_mul(batch::REQUESTS_PER_BATCH),
            None => self.concurrency,
        }
    }

    async fn schema_problems(&self) -> Result<Option<Vec<String>>, DirectoryError> {
        let mut problems = Vec::new();
        for (name, prop) in &self.props {
            if let Prop::Nested(parent, child) = prop {
                match COMPLEX.iter().find(|(p, _)| p == parent) {
                    Some((_, children)) if !children.contains(&child.as_str()) => {
                        problems.push(format!("`{name}`: `{parent}` has no property `{child}`"));
                    }
                    None => problems.push(format!("`{name}`: `{parent}` is not a complex user property")),
                    Some(_) => {}
                }
            }
        }
        // Graph refuses to select a property users do not have, directory extensions
        // (`extension_<app>_<name>`) included: one read tells for all.
        let props: Vec<&Prop> = self.props.iter().map(|(_, p)| p).collect();
        let mut query = self.query(&props, false);
        query.push(("$top", "1".to_owned()));
        match self.http()?.send(Method::GET, "users", &query, None, &[]).await {
            Ok(_) => {}
            Err(e) if e.status() == Some(StatusCode::BAD_REQUEST) => problems.push(e.to_string()),
            Err(e) => return Err(self.unavailable(e)),
        }
        Ok(Some(problems))
    }

    async fn read_page(&self, cursor: Option<String>) -> Result<Page, DirectoryError> {
        let http = self.http()?;
        let response = match &cursor {
            // The next link carries the whole query.
            Some(next) => http.send(Method::GET, next, &[], None, &[]).await,
            None => {
                let props: Vec<&Prop> = self.props.iter().map(|(_, p)| p).collect();
                let mut query = self.query(&props, self.manager.is_some());
                query.push(("$top", self.page_size.to_string()));
                http.send(Method::GET, "users", &query, None, &[]).await
            }
        }
        .map_err(|e| self.unavailable(e))?;
        self.page(response.body.unwrap_or(Json::Null))
    }

    async fn create(&self, entry: &NewEntry) -> Result<Created, DirectoryError> {
        let upn =
            entry.attributes.get("userPrincipalName").and_then(Value::first).unwrap_or_default().to_owned();
        let password = generate_password(self.passwords.length).map_err(|e| {
            self.unavailable(std::io::Error::other(format!("cannot generate a password: {e}")))
        })?;
        let mut body = Map::new();
        body.insert("accountEnabled".into(), json!(entry.enabled));
        body.insert(
            "passwordProfile".into(),
            json!({
                "password": password.expose(),
                "forceChangePasswordNextSignIn": self.passwords.change_at_first_sign_in,
            }),
        );
        for (name, prop) in &self.props {
            if let Some(value) = entry.attributes.get(name) {
                prop.set(&mut body, Some(value));
            }
        }
        if !body.contains_key("mailNickname") {
            body.insert("mailNickname".into(), json!(mail_nickname(&upn)));
        }
        let mut call = Call::new(Method::POST, "users".to_owned(), Some(Json::Object(body)), &upn);
        call.lookup = Some(upn.clone());
        let answer = self.call(call).await?;
        let id = answer
            .as_ref()
            .and_then(|b| b.get("id"))
            .and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or_else(|| DirectoryError::refused("Graph created a user but returned no id"))?;
        let mut created = Created::from(id);
        let manager = self.manager.as_ref().and_then(|m| entry.attributes.get(m)).and_then(Value::first);
        if let Some(manager) = manager
            && let Err(e) = self.set_manager(&created.id, Some(manager)).await
        {
            // The user exists; the next run sees it without a manager and sets it.
            created.warnings.push(format!(
                "the user was created but its manager was not set: {}",
                crate::model::error_chain(&e)
            ));
        }
        Ok(created)
    }

    async fn update(
        &self,
        id: &str,
        update: &Update,
        _revision: Option<&str>,
    ) -> Result<String, DirectoryError> {
        self.check(id, &update.expect).await?;
        let mut body = Map::new();
        for (name, prop) in &self.props {
            if let Some(value) = update.set.get(name) {
                prop.set(&mut body, value.as_ref());
            }
        }
        if let Some(enabled) = update.enabled {
            body.insert("accountEnabled".into(), json!(enabled));
        }
        self.patch(id, body).await?;
        if let Some(manager) = self.manager.as_ref().and_then(|m| update.set.get(m)) {
            self.set_manager(id, manager.as_ref().and_then(Value::first)).await?;
        }
        Ok(id.to_owned())
    }

    async fn disable(&self, id: &str, _revision: Option<&str>) -> Result<String, DirectoryError> {
        let mut body = Map::new();
        body.insert("accountEnabled".into(), json!(false));
        self.patch(id, body).await.map(|()| id.to_owned())
    }

    async fn delete(&self, id: &str, _revision: Option<&str>) -> Result<(), DirectoryError> {
        self.call(Call::new(Method::DELETE, format!("users/{id}"), None, id)).await.map(|_| ())
    }

    /// Every group of the tenant. Only the groups whose key starts with `hrsync:` (the
    /// ones hrsync owns) are read with their members; every other group is listed with
    /// `members` empty, whatever it holds.
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
    fn properties_read_and_write_graph_users() {
        let user = json!({
            "displayName": "Ada Lovelace",
            "businessPhones": ["+44 20 1234"],
            "otherMails": [],
            "jobTitle": null,
            "onPremisesExtensionAttributes": {"extensionAttribute1": "R&D", "extensionAttribute2": null},
        });
        let get = |p: &str| Prop::parse(p).get(&user);
        assert_eq!(get("displayName"), Some(Value::One("Ada Lovelace".into())));
        assert_eq!(get("businessPhones"), Some(Value::One("+44 20 1234".into())));
        assert_eq!(get("otherMails"), None);
        assert_eq!(get("jobTitle"), None);
        assert_eq!(get("onPremisesExtensionAttributes.extensionAttribute1"), Some(Value::One("R&D".into())));
        assert_eq!(get("onPremisesExtensionAttributes.extensionAttribute2"), None);

        let mut body = Map::new();
        let one = |s: &str| Value::One(s.into());
        Prop::parse("businessPhones").set(&mut body, Some(&one("+1 555")));
        Prop::parse("onPremisesExtensionAttributes.extensionAttribute1").set(&mut body, Some(&one("x")));
        Prop::parse("onPremisesExtensionAttributes.extensionAttribute2").set(&mut body, None);
        Prop::parse("jobTitle").set(&mut body, None);
        Prop::parse("otherMails").set(&mut body, None);
        assert_eq!(
            Json::Object(body),
            json!({
                "businessPhones": ["+1 555"],
                "onPremisesExtensionAttributes": {"extensionAttribute1": "x", "extensionAttribute2": null},
                "jobTitle": null,
                "otherMails": [],
            })
        );
    }

    #[test]
    fn odata_strings_double_their_quotes() {
        assert_eq!(odata_string("o'brien@x"), "'o''brien@x'");
        assert_eq!(odata_string("plain"), "'plain'");
    }

    #[test]
    fn nicknames_keep_what_exchange_accepts() {
        assert_eq!(mail_nickname("jean-luc.o'neil@acme.example"), "jean-luc.oneil");
        assert_eq!(mail_nickname("ümit@acme.example"), "mit");
        assert_eq!(mail_nickname("@acme.example"), "user");
    }
}
