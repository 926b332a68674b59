//! `hrsync daemon`: the GitOps loop, one cycle (`--once`) or watching; the host itself
//! is [`crate::daemon::Host`].

use std::process::ExitCode;

use anyhow::{Result, bail};

use super::{Global, LogFormat, parse_now};
use crate::daemon::Host;

/// Starts the daemon with the options of `g`.
pub(super) async fn daemon(
    g: &Global,
    once: bool,
    branch: Option<&str>,
    listen: Option<&str>,
    lease: std::time::Duration,
) -> Result<ExitCode> {
    if once && listen.is_some() {
        bail!("`--listen` serves a watching daemon; leave it out with `--once`");
    }
    if g.git_ref.is_some() {
        bail!("the daemon reads the config of `--branch`, not `--ref`");
    }
    let host = Host {
        repo: g.repo.clone(),
        state_dir: g.state_dir.clone(),
        now: g.now.as_deref().map(|t| parse_now(Some(t))).transpose()?,
        json_logs: g.log_format == LogFormat::Json,
        lease,
    };
    if once { host.once(branch).await } else { host.watch(branch, listen).await }
}
