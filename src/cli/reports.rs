//! `hrsync reports prune`: the reports branch without its commits made before a cutoff
//! (`--before`, else today minus `reports.retention.days`), for retention and erasure.
//! How the history is rewritten and pushed is [`crate::git::prune`]'s; this file picks
//! the repository, the cutoff and the remote, and says what was kept and dropped.
//!
//! For a local `--repo`, the branch of the git repository holding it is rewritten; with
//! `--push` it is first fetched from `origin` (and taken over when that loses nothing:
//! a clone without the branch, or behind), then force-pushed there with a lease. For a
//! remote `--repo URL --state-dir DIR`, the daemon's mirror in the state directory is
//! fetched, rewritten and pushed back to the URL; `--push` is required there, since a
//! mirror pruned but not pushed would have the daemon's next push refused.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::args::ReportsCommand;
use super::{Global, load, open_files, parse_now};
use crate::config::Retention;
use crate::daemon::Host;
use crate::daemon::host::is_remote;
use crate::git::GitTree;
use crate::git::prune::{PruneError, Pruner, Survey};
use crate::git::remote::Mirror;

/// `println!` that never panics: a closed standard output (a cron job's pipe) must not
/// stop the prune between the rewrite and the push.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The remote a pruned branch is pushed to: `origin` of a local repository, or the
/// mirror's `origin`, the remote `--repo` itself.
const REMOTE: &str = "origin";

/// Runs a `hrsync reports` command.
pub(super) fn reports(g: &Global, command: &ReportsCommand) -> Result<ExitCode> {
    match command {
        ReportsCommand::Prune { before, push, dry_run } => prune(g, before.as_deref(), *push, *dry_run),
    }
}

/// Where the branch is pruned.
struct Place {
    /// A folder of the git repository (a work tree's, or the mirror).
    dir: PathBuf,
    /// The mirror's folder, for a remote `--repo`.
    mirror: Option<PathBuf>,
}

fn prune(g: &Global, before: Option<&str>, push: bool, dry_run: bool) -> Result<ExitCode> {
    let now = parse_now(g.now.as_deref())?;
    let remote = is_remote(&g.repo);
    if remote && !push && !dry_run {
        bail!(
            "a remote --repo is pruned in the daemon's mirror and pushed back in one go: add --push (or --dry-run to see what it would do); a mirror pruned but not pushed would have the daemon's next push refused"
        );
    }
    let (config, place) = if remote {
        let host = Host {
            repo: g.repo.clone(),
            state_dir: g.state_dir.clone(),
            now: None,
            json_logs: false,
            lease: crate::daemon::host::DEFAULT_LEASE,
        };
        let Some(mirror) = host.mirror()? else { bail!("`--repo {}` is not a remote repository", g.repo) };
        mirror.fetch().with_context(|| format!("cannot fetch {}", host.url()))?;
        let branch = g.git_ref.as_deref().unwrap_or("main");
        let tree = GitTree::open_bare(mirror.path(), host.folder(), &Mirror::tracked(branch))
            .with_context(|| format!("cannot read the config of branch `{branch}` of {}", host.url()))?;
        let place = Place { dir: mirror.path().to_owned(), mirror: Some(mirror.path().to_owned()) };
        (load(g, &tree)?, place)
    } else {
        let files = open_files(g)?;
        (load(g, files.as_ref())?, Place { dir: PathBuf::from(&g.repo), mirror: None })
    };
    let reports = &config.workspace.reports;
    let timezone = &config.workspace.timezone;
    let (cutoff, why) = cutoff(before, reports.retention, now, timezone)?;

    let pruner = Pruner::open(&place.dir, &reports.branch)?;
    // The remote's tip, fetched: the lease of the push, and what to take over first.
    let fetched = remote || push;
    let theirs = if remote {
        pruner.remote_tip(REMOTE)
    } else if push {
        pruner.fetch(REMOTE).context("cannot fetch the reports branch from `origin`")?
    } else {
        None
    };
    let tip = match (fetched, dry_run) {
        (true, true) => pruner.adoptable(theirs)?,
        (true, false) => {
            if pruner.adopt(theirs)? {
                say!("took over `{}` from the remote ({})", reports.branch, short(theirs));
            }
            pruner.tip()
        }
        (false, _) => pruner.tip(),
    };
    let survey = pruner.survey_at(tip, cutoff.as_second())?;
    let Some(old) = survey.tip else {
        say!("there is no reports branch `{}` in {}: nothing to prune", reports.branch, place.dir.display());
        return Ok(ExitCode::SUCCESS);
    };
    describe(&survey, &reports.branch, cutoff, &why, timezone, dry_run);
    if fetched && !pruner.covers(&survey, theirs)? {
        let theirs = theirs.unwrap_or(old);
        return Err(PruneError::RemoteAhead { branch: reports.branch.clone(), theirs }.into());
    }
    if dry_run {
        say!("dry run: nothing was changed");
        return Ok(ExitCode::SUCCESS);
    }
    let new = pruner.rewrite(&survey, now.as_second())?.unwrap_or(old);
    if new != old {
        say!("new tip: {new} (was {old})");
    }
    if push {
        if theirs == Some(new) {
            say!("the remote's `{}` is this branch already: nothing to push", reports.branch);
        } else {
            pruner.push(REMOTE, theirs).with_context(|| format!("cannot push `{}`", reports.branch))?;
            say!(
                "pushed `{}` to {} ({})",
                reports.branch,
                if remote { g.repo.split_once('#').map_or(g.repo.as_str(), |(u, _)| u) } else { REMOTE },
                match theirs {
                    Some(id) => format!("forced, with a lease on {}", short(Some(id))),
                    None => "it had no such branch".to_owned(),
                }
            );
        }
    } else if new != old {
        let r = format!("refs/heads/{}", reports.branch);
        say!(
            "not pushed: the rewritten branch is only here. To publish it (a force push of that one branch), run this again with --push, or\n  git push --force-with-lease={r}:{old} origin {r}"
        );
    }
    if new != old {
        gc_hint(&place, &reports.branch);
    }
    Ok(ExitCode::SUCCESS)
}

/// The cutoff and where it comes from: `--before`, else `reports.retention`.
fn cutoff(
    before: Option<&str>,
    retention: Option<Retention>,
    now: Timestamp,
    timezone: &TimeZone,
) -> Result<(Timestamp, String)> {
    match (before, retention) {
        (Some(text), _) => {
            let at = match text.parse::<Timestamp>() {
                Ok(t) => t,
                Err(_) => {
                    let day: jiff::civil::Date = text.parse().map_err(|_| {
                        anyhow::anyhow!(
                            "--before `{text}` is neither a date (2026-01-31) nor an RFC 3339 time (2026-01-31T00:00:00Z)"
                        )
                    })?;
                    day.to_zoned(timezone.clone())?.timestamp()
                }
            };
            if at > now {
                bail!(
                    "--before `{text}` lies in the future ({at} is after {now}); to drop every commit made until now, give the current time"
                );
            }
            Ok((at, format!("--before {text}")))
        }
        (None, Some(r)) => {
            let at = r.cutoff(now, timezone).context("the retention's first day cannot be named")?;
            Ok((at, format!("reports.retention: {} day{}", r.days, if r.days == 1 { "" } else { "s" })))
        }
        (None, None) => bail!(
            "nothing says which reports are old: give `--before YYYY-MM-DD`, or set `reports: {{ retention: {{ days: 365 }} }}` in hrsync.yaml"
        ),
    }
}

/// What the prune keeps and drops, in words.
fn describe(survey: &Survey, branch: &str, cutoff: Timestamp, why: &str, tz: &TimeZone, dry_run: bool) {
    let days = |span: Option<(i64, i64)>| match span {
        Some((oldest, newest)) if day(oldest, tz) == day(newest, tz) => {
            format!(", made on {}", day(oldest, tz))
        }
        Some((oldest, newest)) => format!(", made {} to {}", day(oldest, tz), day(newest, tz)),
        None => String::new(),
    };
    let commits = |n: usize| format!("{n} commit{}", if n == 1 { "" } else { "s" });
    say!("branch `{branch}`: {}", commits(survey.total()));
    say!("cutoff: {} ({why})", cutoff.to_zoned(tz.clone()));
    let (drop, keep) = if dry_run { ("would drop", "would keep") } else { ("dropped", "kept") };
    if survey.dropped() == 0 {
        say!("nothing to prune: no commit was made before the cutoff");
        return;
    }
    say!("{drop} {}{}", commits(survey.dropped()), days(survey.dropped_times()));
    if survey.kept() == 0 {
        say!("{keep} none: every commit is older, so one new root commit holds the files of the last one");
    } else {
        say!(
            "{keep} {}{}; {} a root commit",
            commits(survey.kept()),
            days(survey.kept_times()),
            if survey.kept() == 1 { "it becomes" } else { "the first of them becomes" }
        );
    }
}

/// How to let git forget the dropped commits, here and elsewhere.
fn gc_hint(place: &Place, branch: &str) {
    match &place.mirror {
        Some(mirror) => say!(
            "the dropped commits stay in the mirror's object store until `git -C {} gc --prune=now`; other clones of the remote keep them until they are pruned or cloned afresh (see the README: Retention and erasure)",
            mirror.display()
        ),
        None => say!(
            "the dropped commits stay in this repository's object store until `git reflog expire --expire=now --all && git gc --prune=now` (and while `refs/remotes/origin/{branch}` names them); every other clone and remote keeps them until it is pruned or cloned afresh (see the README: Retention and erasure)"
        ),
    }
}

fn day(seconds: i64, tz: &TimeZone) -> String {
    Timestamp::from_second(seconds)
        .map(|t| t.to_zoned(tz.clone()).date().to_string())
        .unwrap_or_else(|_| seconds.to_string())
}

fn short(id: Option<git2::Oid>) -> String {
    id.map_or_else(|| "no branch".to_owned(), |id| id.to_string()[..12].to_owned())
}
