//! Integration tests: the `hrsync` binary against real files, state directories and git
//! repositories. One test binary with a module per area, so the suite links once.

// Tests time servers and read the clock; the clock rule of clippy.toml is for the crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod active_directory;
mod architecture;
mod certs;
mod ci_workflow;
mod cli;
mod connectors;
mod daemon;
mod deploy;
mod directory_groups;
mod entraid;
mod example;
mod explain;
mod fuzz_regressions;
mod git_http;
mod git_ssh;
mod gitref;
mod golden;
mod graph;
mod groups;
mod handover;
mod image;
mod ldap;
mod ldap_groups;
mod notify;
mod overrides;
mod rest_source;
mod retention;
mod samba;
mod scim;
mod scim_bulk;
mod scim_server;
mod slapd;
mod status_page;
mod two_daemons;
mod util;
