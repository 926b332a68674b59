//! Fuzzing entry points: one function for each parser of input hrsync does not
//! control — a sync repository on a pull-request branch, HR exports, HR and directory
//! APIs, LDAP servers.
//!
//! Each takes arbitrary bytes, runs hrsync's real parser on them and returns nothing:
//! an error is a fine answer; a panic, a hang or memory out of proportion to the input
//! is a bug. The cargo-fuzz targets in `fuzz/` call these (see README, "Fuzzing"), and
//! `tests/fuzz_regressions.rs` runs every kept seed and crasher through them, so a bug
//! once found stays fixed. hrsync itself never calls them.
//!
//! The settings the data is read with come from the repository's own examples
//! (`examples/sync-repo`, `examples/directories`), loaded once, so a target reads what
//! the example configuration would read.

use std::sync::{Arc, OnceLock};

use serde_json::Value as Json;

use crate::config::files::MemFiles;
use crate::config::{self, DirectoryConfig, DirectoryKind, FieldSource, SourceConfig};
use crate::directory::entraid::EntraDirectory;
use crate::directory::ldap::{self, LdapDirectory};
use crate::directory::scim::ScimDirectory;
use crate::model::template::{Counter, Template, Vars};
use crate::model::value::{first_rdn, parent_of};
use crate::model::{Compare, FieldRef, FieldValue, Names, canonical};
use crate::source::FetchRequest;

/// Separates the files of a [`config`] input: `hrsync.yaml`, a source, a directory and
/// a filter, in this order.
pub const FILE_SEPARATOR: &[u8] = b"\n#--8<--\n";

const WORKSPACE: &str = include_str!("../examples/sync-repo/hrsync.yaml");
const FILTER: &str = include_str!("../examples/sync-repo/filters/staff.yaml");
const CSV_SOURCE: &str = include_str!("../examples/sync-repo/sources/germany.yaml");
const CSV_ORG_UNITS: &str = include_str!("../examples/sync-repo/data/germany-org-units.csv");
const JSON_SOURCE: &str = include_str!("../examples/sync-repo/sources/france.yaml");
const SCIM: &str = include_str!("../examples/directories/scim.yaml");
const ENTRAID: &str = include_str!("../examples/directories/entraid.yaml");
const OPENLDAP: &str = include_str!("../examples/directories/openldap.yaml");
const ACTIVE_DIRECTORY: &str = include_str!("../examples/directories/active-directory.yaml");

/// The sync repository's loader ([`config::load`]) on an in-memory repository whose
/// files are the input split at [`FILE_SEPARATOR`]: `hrsync.yaml`,
/// `sources/s.yaml`, `directories/d.yaml` and `filters/staff.yaml` (fewer parts leave
/// the later files out).
pub fn config(data: &[u8]) {
    let names = ["hrsync.yaml", "sources/s.yaml", "directories/d.yaml", "filters/staff.yaml"];
    let mut files = MemFiles::default();
    for (name, part) in names.iter().zip(split(data, FILE_SEPARATOR)) {
        files = files.with_bytes(name, part);
    }
    let _ = config::load(&files);
}

/// The `csv` source of `examples/sync-repo/sources/germany.yaml` reading the input as
/// its people file (org units from the example).
pub fn csv_source(data: &[u8]) {
    let Some(fixtures) = fixtures() else { return };
    let files = MemFiles::default()
        .with_bytes("data/germany.csv", data)
        .with("data/germany-org-units.csv", CSV_ORG_UNITS);
    fetch(&fixtures.csv, files);
}

/// The `json` source of `examples/sync-repo/sources/france.yaml` reading the input as
/// its file.
pub fn json_source(data: &[u8]) {
    let Some(fixtures) = fixtures() else { return };
    fetch(&fixtures.json, MemFiles::default().with_bytes("data/france.json", data));
}

/// The template compiler ([`Template::parse`]) on the input up to its first NUL byte,
/// and when it compiles, the renderer with every field set to the text after it.
pub fn template(data: &[u8]) {
    let (source, value) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (data, &b"J\xc3\xbcrgen \xc3\x98rsted 2026-12-31"[..]),
    };
    let source = String::from_utf8_lossy(source);
    let value = String::from_utf8_lossy(value);
    for counter in [Counter::Allowed, Counter::Forbidden] {
        if let Ok(template) = Template::parse(&source, counter) {
            let _ = template.fields();
            let _ = template.uses_counter();
            let _ = template.render(&Every(&value), Some(7));
            let _ = template.render(&Every(""), None);
        }
    }
}

/// An LDAP search result entry as the `ldap` directory reads it: the input as BER
/// (ldap3's decoder), hrsync's checks of the entry's structure
/// (`directory::ldap::parse_entry`) and its conversion to an entry (`to_entry`, with
/// the DN functions of `model::value`), for the directory the first byte picks:
/// `examples/directories/openldap.yaml` (disabled by a move), `active-directory.yaml`
/// (`userAccountControl`) or the OpenLDAP one disabled by an attribute. The input as
/// text also goes through the DN and schema-definition parsers.
pub fn ldap_entry(data: &[u8]) {
    let Some(fixtures) = fixtures() else { return };
    let Some((&pick, ber)) = data.split_first() else { return };
    let directory = &fixtures.ldap[usize::from(pick) % fixtures.ldap.len()];
    if let Ok((_, tag)) = ldap3::asn1::parse_tag(ber)
        && let Some(entry) = ldap::parse_entry(tag)
    {
        let _ = directory.to_entry(entry, &mut Names::default());
    }
    let text = String::from_utf8_lossy(ber);
    let _ = first_rdn(&text);
    let _ = canonical(Compare::Dn, parent_of(&text));
    let _ = ldap::schema_names(&text);
}

/// A SCIM `ListResponse` body (RFC 7644 §3.4.2) as the `scim` directory of
/// `examples/directories/scim.yaml` reads a page of `/Users`.
pub fn scim_response(data: &[u8]) {
    let Some(fixtures) = fixtures() else { return };
    // As the HTTP client parses bodies.
    if let Ok(body) = serde_json::from_slice::<Json>(data) {
        let _ = fixtures.scim.page(body, 1);
    }
}

/// A Microsoft Graph page of users (`value`, `@odata.nextLink`) as the `entraid`
/// directory of `examples/directories/entraid.yaml` reads it.
pub fn graph_response(data: &[u8]) {
    let Some(fixtures) = fixtures() else { return };
    if let Ok(body) = serde_json::from_slice::<Json>(data) {
        let _ = fixtures.entraid.page(body);
    }
}

/// Every field has the same text.
struct Every<'a>(&'a str);

impl Vars for Every<'_> {
    fn get(&self, _field: &FieldRef) -> Option<FieldValue<'_>> {
        Some(FieldValue::Text(self.0))
    }
}

/// The parts of `data` between separators.
fn split<'a>(data: &'a [u8], separator: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.windows(separator.len()).position(|w| w == separator) {
            Some(i) => {
                rest = Some(&current[i + separator.len()..]);
                Some(&current[..i])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// What the targets read with, loaded once from the examples.
struct Fixtures {
    runtime: tokio::runtime::Runtime,
    csv: SourceConfig,
    json: SourceConfig,
    scim: ScimDirectory,
    entraid: EntraDirectory,
    ldap: Vec<LdapDirectory>,
}

fn fixtures() -> Option<&'static Fixtures> {
    static FIXTURES: OnceLock<Option<Fixtures>> = OnceLock::new();
    FIXTURES.get_or_init(load_fixtures).as_ref()
}

fn load_fixtures() -> Option<Fixtures> {
    let runtime = tokio::runtime::Builder::new_current_thread().build().ok()?;
    let source = |text: &str| {
        let files = MemFiles::default()
            .with("hrsync.yaml", WORKSPACE)
            .with("filters/staff.yaml", FILTER)
            .with("sources/s.yaml", text);
        config::load(&files).ok()?.sources.into_iter().next()
    };
    let directory = |text: &str| {
        let files = MemFiles::default().with("hrsync.yaml", WORKSPACE).with("directories/d.yaml", text);
        config::load(&files).ok()?.directories.into_iter().next()
    };
    let by_attribute = OPENLDAP.replace(
        r#"disable: { move_to: "ou=disabled,dc=acme,dc=example" }"#,
        "disable: { attribute: pwdAccountLockedTime, value: 000001010000Z }",
    );
    let mut ldap = Vec::new();
    for text in [OPENLDAP, ACTIVE_DIRECTORY, by_attribute.as_str()] {
        let d = directory(text)?;
        let DirectoryKind::Ldap(settings) = &d.kind else { return None };
        let mut attributes = attributes(&d);
        attributes.extend(d.marker.as_ref().map(|m| m.attribute.clone()));
        ldap.push(LdapDirectory::new(d.id.clone(), (**settings).clone(), attributes));
    }
    let d = directory(SCIM)?;
    let DirectoryKind::Scim(settings) = &d.kind else { return None };
    let scim = ScimDirectory::new(d.id.clone(), &settings.http, attributes(&d), manager(&d));
    let d = directory(ENTRAID)?;
    let DirectoryKind::Entraid(settings) = &d.kind else { return None };
    let entraid = EntraDirectory::new(d.id.clone(), settings, attributes(&d), manager(&d));
    Some(Fixtures { runtime, csv: source(CSV_SOURCE)?, json: source(JSON_SOURCE)?, scim, entraid, ldap })
}

/// The attributes a directory reads, as `directory::build` lists them.
fn attributes(d: &DirectoryConfig) -> Vec<String> {
    d.fields.iter().map(|f| f.attribute.clone()).collect()
}

/// The attribute holding the manager, as `directory::build` finds it.
fn manager(d: &DirectoryConfig) -> Option<String> {
    d.fields.iter().find(|f| matches!(f.source, FieldSource::Manager)).map(|f| f.attribute.clone())
}

/// Reads `config`'s source from `files`, to the end.
fn fetch(config: &SourceConfig, files: MemFiles) {
    let Some(fixtures) = fixtures() else { return };
    let source = crate::source::build(config, Arc::new(files));
    let _ = fixtures.runtime.block_on(source.fetch(&FetchRequest::default()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixtures_load_from_the_examples() {
        assert!(fixtures().is_some(), "an example no longer loads: the fuzz targets would do nothing");
    }

    #[test]
    fn the_ldap_seeds_reach_hrsyncs_entry_parser() {
        let fixtures = fixtures().unwrap();
        let seed = include_bytes!("../fuzz/seeds/ldap_entry/openldap-move.ber");
        let (_, tag) = ldap3::asn1::parse_tag(&seed[1..]).unwrap();
        let entry = fixtures.ldap[0].to_entry(ldap::parse_entry(tag).unwrap(), &mut Names::default());
        assert_eq!(entry.id, "uid=jurgen.orsted,ou=people,dc=acme,dc=example");
        assert!(entry.enabled);
        assert_eq!(entry.attributes.get("cn").and_then(|v| v.first()), Some("Jürgen Ørsted"));
        let seed = include_bytes!("../fuzz/seeds/ldap_entry/active-directory-uac.ber");
        let (_, tag) = ldap3::asn1::parse_tag(&seed[1..]).unwrap();
        let entry = fixtures.ldap[1].to_entry(ldap::parse_entry(tag).unwrap(), &mut Names::default());
        assert!(!entry.enabled, "userAccountControl 514 is disabled");
    }

    #[test]
    fn config_inputs_split_into_files() {
        let parts: Vec<&[u8]> = split(b"a\n#--8<--\nb\n#--8<--\n", FILE_SEPARATOR).collect();
        assert_eq!(parts, [&b"a"[..], b"b", b""]);
        assert_eq!(split(b"", FILE_SEPARATOR).count(), 1);
    }
}
