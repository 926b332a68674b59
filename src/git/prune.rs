//! Pruning the reports branch: retention and erasure, because git history is forever.
//!
//! [`Pruner::survey`] walks the branch's history from its tip (first parents, once
//! each) and splits it at a cutoff time: the commits kept are the newest ones up to the
//! first commit made before the cutoff (by committer time); that commit and everything
//! behind it are dropped, so no commit older than the cutoff remains even when the
//! times of a history are not in order. [`Pruner::rewrite`] makes the kept commits anew
//! on a new root: each keeps its tree, author, committer, times and message byte for
//! byte (only its parent changes, and a signature, which signed the old parent, goes),
//! so rewriting the same commits on the same cutoff always gives the same commits. When
//! every commit is older than the cutoff, one root commit keeps the tip's tree, with a
//! message that says so and a `Pruned-Before:` trailer.
//!
//! The branch moves by compare-and-swap on the tip the survey read, so a commit made in
//! between (a daemon's) makes the rewrite fail with nothing lost; HEAD, the index and
//! the working tree are never touched, and a checked-out reports branch is refused. The
//! branch's reflog is replaced by one entry, since git keeps whatever a reflog names.
//! [`Pruner::push`] force-pushes that one ref with a lease: only while the remote's
//! branch is still the value that was checked to hold nothing the pruned branch lacks
//! (see [`Lineage`]). Nothing here runs on its own: the daemon only surveys, to warn
//! (it never rewrites history); `hrsync reports prune` rewrites and pushes.

use std::collections::HashSet;
use std::path::Path;

use git2::{Commit, FetchOptions, FetchPrune, ObjectType, Oid, Repository, Signature, Time};

use super::GitError;
use super::remote::{callbacks, explain};

/// The trailer of the root commit that stands for a history pruned whole: the cutoff.
const PRUNED_BEFORE: &str = "Pruned-Before";

/// Why a branch could not be pruned or pushed.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// A git failure (opening, reading, writing, fetching, pushing).
    #[error(transparent)]
    Git(#[from] GitError),
    /// The branch is checked out.
    #[error("the reports branch `{0}` is checked out; hrsync never rewrites the checked-out branch")]
    CheckedOut(String),
    /// The branch moved between the survey and the rewrite.
    #[error(
        "`{0}` moved while it was being pruned (a run committed to it?); nothing was lost and the branch is as that commit left it: run the prune again"
    )]
    Moved(String),
    /// A merge commit on the branch.
    #[error(
        "commit {commit} of `{branch}` is a merge; hrsync prunes a linear reports branch only (it never merges into it): make the branch linear first"
    )]
    Merge {
        /// The branch.
        branch: String,
        /// The merge.
        commit: Oid,
    },
    /// The remote has no remote of that name.
    #[error("the repository has no remote `{0}` to push the pruned branch to")]
    NoRemote(String),
    /// The remote's branch holds commits that the pruned branch would lose.
    #[error(
        "the remote's `{branch}` (at {theirs}) holds commits made from the cutoff on that the branch here has not got; nothing was changed: run the prune where the daemon runs (its --repo and --state-dir), or bring this branch up to date first"
    )]
    RemoteAhead {
        /// The branch.
        branch: String,
        /// The remote's tip.
        theirs: Oid,
    },
    /// The remote's branch moved between the check and the push.
    #[error(
        "the remote's `{0}` moved while the pruned branch was being pushed, so it was not overwritten: run the prune again"
    )]
    RemoteMoved(String),
    /// The remote refused the push.
    #[error("the remote refused the push of {0}")]
    Refused(String),
}

impl From<git2::Error> for PruneError {
    fn from(e: git2::Error) -> Self {
        PruneError::Git(GitError::Git(e))
    }
}

impl PruneError {
    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            PruneError::Git(e) => e.label(),
            PruneError::CheckedOut(_) => "checked_out",
            PruneError::Moved(_) => "moved",
            PruneError::Merge { .. } => "merge",
            PruneError::NoRemote(_) => "no_remote",
            PruneError::RemoteAhead { .. } => "remote_ahead",
            PruneError::RemoteMoved(_) => "remote_moved",
            PruneError::Refused(_) => "refused",
        }
    }
}

/// The reports branch of a repository, to be pruned.
pub struct Pruner {
    repo: Repository,
    /// `refs/heads/<branch>`.
    reference: String,
    /// `<branch>`.
    branch: String,
}

impl std::fmt::Debug for Pruner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pruner").field("branch", &self.branch).finish()
    }
}

/// One commit of the history surveyed.
#[derive(Clone, Debug)]
struct Seen {
    id: Oid,
    /// Committer time, seconds since the epoch.
    time: i64,
}

/// A branch's history split at a cutoff: what a prune keeps and drops.
#[derive(Clone, Debug)]
pub struct Survey {
    /// The tip surveyed; `None` when the branch does not exist.
    pub tip: Option<Oid>,
    /// The cutoff, seconds since the epoch: commits made before it are dropped.
    pub cutoff: i64,
    /// The history, newest first.
    commits: Vec<Seen>,
    /// How many of the newest commits are kept.
    kept: usize,
    /// The first merge commit met.
    merge: Option<Oid>,
    /// The cutoff a history pruned whole recorded in its root, if the root is such.
    pruned_before: Option<i64>,
}

impl Survey {
    /// How many commits are kept.
    pub fn kept(&self) -> usize {
        self.kept
    }

    /// How many commits are dropped.
    pub fn dropped(&self) -> usize {
        self.commits.len() - self.kept
    }

    /// How many commits the branch has.
    pub fn total(&self) -> usize {
        self.commits.len()
    }

    /// The oldest and newest commit times of the kept commits.
    pub fn kept_times(&self) -> Option<(i64, i64)> {
        span(&self.commits[..self.kept])
    }

    /// The oldest and newest commit times of the dropped commits.
    pub fn dropped_times(&self) -> Option<(i64, i64)> {
        span(&self.commits[self.kept..])
    }

    /// The ids of the kept commits, newest first.
    pub fn kept_ids(&self) -> impl Iterator<Item = Oid> + '_ {
        self.commits[..self.kept].iter().map(|c| c.id)
    }

    /// What this history vouches for, for a lease on a remote's branch: every commit of
    /// it, the pruned copies of the kept ones, and what a prune drops. It reads the kept
    /// commits again, once each.
    fn lineage(&self, repo: &Repository) -> Result<Lineage, git2::Error> {
        let kept = &self.commits[..self.kept];
        let prints = kept
            .iter()
            .map(|c| repo.find_commit(c.id).and_then(|c| print(&c)))
            .collect::<Result<Vec<_>, _>>()?;
        let root_kept = self.kept == self.commits.len();
        Ok(Lineage {
            ids: self.commits.iter().map(|c| c.id).collect(),
            root_print: prints.last().copied(),
            prints: prints.into_iter().collect(),
            cutoff: Some(match self.pruned_before.filter(|_| root_kept) {
                Some(before) => before.max(self.cutoff),
                None => self.cutoff,
            }),
        })
    }
}

fn span(commits: &[Seen]) -> Option<(i64, i64)> {
    let oldest = commits.iter().map(|c| c.time).min()?;
    let newest = commits.iter().map(|c| c.time).max()?;
    Some((oldest, newest))
}

/// The commits a history accounts for: a commit of another history is accounted for
/// when it is one of `ids`, or a copy of one of `prints` (the same commit made on
/// another parent by a prune), or lies behind the commit a prune made this history's
/// root from (`root_print`), or is older than the `cutoff` of a prune.
struct Lineage {
    ids: HashSet<Oid>,
    prints: HashSet<Oid>,
    root_print: Option<Oid>,
    cutoff: Option<i64>,
}

impl Lineage {
    /// Whether every commit of the history of `other` is accounted for, so that moving
    /// the branch from `other` to this history loses nothing but what a prune drops.
    /// Walks `other`'s first parents once.
    fn covers(&self, repo: &Repository, other: Oid) -> Result<bool, git2::Error> {
        let mut next = Some(other);
        while let Some(id) = next {
            if self.ids.contains(&id) {
                return Ok(true);
            }
            let Ok(commit) = repo.find_commit(id) else { return Ok(false) };
            if commit.parent_count() > 1 {
                return Ok(false);
            }
            let print = print(&commit)?;
            if self.root_print == Some(print) {
                return Ok(true);
            }
            if !self.prints.contains(&print) {
                return Ok(self.cutoff.is_some_and(|cutoff| commit.time().seconds() < cutoff));
            }
            next = commit.parent_ids().next();
        }
        Ok(true)
    }

    /// Everything the history of `tip` holds (its prune, if it is one, included), and
    /// the time of its root commit.
    fn of(repo: &Repository, tip: Oid) -> Result<(Lineage, Option<i64>), git2::Error> {
        let survey = survey_from(repo, Some(tip), i64::MIN)?;
        let mut lineage = survey.lineage(repo)?;
        lineage.cutoff = survey.pruned_before;
        Ok((lineage, survey.commits.last().map(|c| c.time)))
    }
}

/// Whether `theirs` is the history of `ours` pruned elsewhere, and later: it accounts
/// for every commit of `ours`, and starts later (a branch merely behind a prune, such
/// as the unpruned history, starts earlier and is never taken for it).
fn supersedes(repo: &Repository, theirs: Oid, ours: Oid) -> Result<bool, git2::Error> {
    let (lineage, their_root) = Lineage::of(repo, theirs)?;
    let our_root = survey_from(repo, Some(ours), i64::MIN)?.commits.last().map(|c| c.time);
    Ok(their_root > our_root && lineage.covers(repo, ours)?)
}

/// The commit's bytes as it would be made on `parent` (a root without one): its header
/// without its parents and signature, and its message, byte for byte.
fn commit_bytes(commit: &Commit<'_>, parent: Option<Oid>) -> Vec<u8> {
    let header = commit.raw_header_bytes();
    let message = commit.message_raw_bytes();
    let mut out = Vec::with_capacity(header.len() + message.len() + 50);
    let mut in_signature = false;
    for line in header.split_inclusive(|b| *b == b'\n') {
        // A header's continuation lines start with a space.
        if line.starts_with(b" ") {
            if !in_signature {
                out.extend_from_slice(line);
            }
            continue;
        }
        in_signature = line.starts_with(b"gpgsig ") || line.starts_with(b"gpgsig-sha256 ");
        if in_signature || line.starts_with(b"parent ") {
            continue;
        }
        out.extend_from_slice(line);
        if line.starts_with(b"tree ")
            && let Some(parent) = parent
        {
            out.extend_from_slice(format!("parent {parent}\n").as_bytes());
        }
    }
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(message);
    out
}

/// The id `commit` would have as a root commit.
fn print(commit: &Commit<'_>) -> Result<Oid, git2::Error> {
    Oid::hash_object(ObjectType::Commit, &commit_bytes(commit, None))
}

/// The cutoff recorded by a prune that dropped a whole history, if `commit` is the root
/// it left.
fn pruned_before(commit: &Commit<'_>) -> Option<i64> {
    if commit.parent_count() > 0 {
        return None;
    }
    let message = commit.message().ok()?;
    let value = message.lines().find_map(|l| l.strip_prefix(PRUNED_BEFORE)?.strip_prefix(": "))?;
    Some(value.trim().parse::<jiff::Timestamp>().ok()?.as_second())
}

fn survey_from(repo: &Repository, tip: Option<Oid>, cutoff: i64) -> Result<Survey, git2::Error> {
    let mut commits = Vec::new();
    let mut kept = None;
    let mut merge = None;
    let mut pruned = None;
    let mut next = tip;
    while let Some(id) = next {
        let commit = repo.find_commit(id)?;
        let time = commit.time().seconds();
        if commit.parent_count() > 1 && merge.is_none() {
            merge = Some(id);
        }
        if kept.is_none() && time < cutoff {
            kept = Some(commits.len());
        }
        commits.push(Seen { id, time });
        next = commit.parent_ids().next();
        if next.is_none() {
            pruned = pruned_before(&commit);
        }
    }
    let kept = kept.unwrap_or(commits.len());
    Ok(Survey { tip, cutoff, commits, kept, merge, pruned_before: pruned })
}

/// Moves `reference` to `theirs` (a remote's tip) when that loses nothing: the branch
/// does not exist, `theirs` descends from it, or `theirs` is the branch pruned
/// elsewhere (see [`supersedes`]: every commit of the branch is in it, as itself or as
/// its pruned copy, or is one that prune dropped). Whether it moved.
pub(super) fn adopt(repo: &Repository, reference: &str, theirs: Oid) -> Result<bool, git2::Error> {
    let ours = match repo.find_reference(reference).ok().and_then(|r| r.target()) {
        None => {
            repo.reference(reference, theirs, false, "hrsync: take over the remote's reports")?;
            return Ok(true);
        }
        Some(ours) if ours == theirs => return Ok(false),
        Some(ours) => ours,
    };
    let message = if repo.graph_descendant_of(theirs, ours)? {
        "hrsync: fast-forward reports"
    } else if supersedes(repo, theirs, ours)? {
        "hrsync: take over the remote's pruned reports"
    } else {
        return Ok(false);
    };
    repo.reference_matching(reference, theirs, true, ours, message)?;
    Ok(true)
}

impl Pruner {
    /// The branch `branch` of the git repository holding `dir` (a folder of a work tree,
    /// or a bare repository).
    pub fn open(dir: &Path, branch: &str) -> Result<Pruner, PruneError> {
        let repo = Repository::discover(dir).map_err(|_| GitError::NotARepository(dir.to_owned()))?;
        let reference = format!("refs/heads/{branch}");
        if !git2::Reference::is_valid_name(&reference) {
            return Err(git2::Error::from_str(&format!("`{branch}` is not a valid branch name")).into());
        }
        let checked_out = repo
            .find_reference("HEAD")
            .ok()
            .and_then(|h| h.symbolic_target().ok().flatten().map(str::to_owned));
        if checked_out.as_deref() == Some(reference.as_str()) {
            return Err(PruneError::CheckedOut(branch.to_owned()));
        }
        Ok(Pruner { repo, reference, branch: branch.to_owned() })
    }

    /// The branch's name.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The branch's tip, if it exists.
    pub fn tip(&self) -> Option<Oid> {
        self.repo.find_reference(&self.reference).ok()?.peel_to_commit().ok().map(|c| c.id())
    }

    /// The branch's history split at `cutoff` (seconds since the epoch).
    pub fn survey(&self, cutoff: i64) -> Result<Survey, PruneError> {
        self.survey_at(self.tip(), cutoff)
    }

    /// The history of `tip` split at `cutoff`, as if the branch were there.
    pub fn survey_at(&self, tip: Option<Oid>, cutoff: i64) -> Result<Survey, PruneError> {
        Ok(survey_from(&self.repo, tip, cutoff)?)
    }

    /// Rewrites the branch as `survey` says, by compare-and-swap on its surveyed tip;
    /// `now` is the time of the root commit that stands for a history pruned whole. The
    /// new tip (the old one when nothing is dropped).
    pub fn rewrite(&self, survey: &Survey, now: i64) -> Result<Option<Oid>, PruneError> {
        let Some(old) = survey.tip else { return Ok(None) };
        if let Some(commit) = survey.merge {
            return Err(PruneError::Merge { branch: self.branch.clone(), commit });
        }
        if survey.dropped() == 0 {
            return Ok(Some(old));
        }
        let new = match survey.kept {
            0 => self.root_for_all(survey, old, now)?,
            kept => {
                let odb = self.repo.odb()?;
                let mut parent = None;
                for seen in survey.commits[..kept].iter().rev() {
                    let commit = self.repo.find_commit(seen.id)?;
                    parent = Some(odb.write(ObjectType::Commit, &commit_bytes(&commit, parent))?);
                }
                parent.unwrap_or(old)
            }
        };
        let log = format!("hrsync: prune {} commits older than the cutoff", survey.dropped());
        match self.repo.reference_matching(&self.reference, new, true, old, &log) {
            Ok(_) => {}
            Err(e) if matches!(e.code(), git2::ErrorCode::Modified | git2::ErrorCode::NotFound) => {
                return Err(PruneError::Moved(self.branch.clone()));
            }
            Err(e) => return Err(e.into()),
        }
        // Git keeps whatever a reflog names, the old tips included: the branch's reflog
        // starts afresh with this move (a repository that keeps none gets none).
        if !self.repo.reflog(&self.reference)?.is_empty() {
            self.repo.reflog_delete(&self.reference)?;
            let mut reflog = self.repo.reflog(&self.reference)?;
            reflog.append(new, &signature(now)?, Some(&log))?;
            reflog.write()?;
        }
        Ok(Some(new))
    }

    /// The root commit that stands for a history pruned whole: the tip's tree.
    fn root_for_all(&self, survey: &Survey, old: Oid, now: i64) -> Result<Oid, PruneError> {
        let tip = self.repo.find_commit(old)?;
        let before = jiff::Timestamp::from_second(survey.cutoff)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| survey.cutoff.to_string());
        let mut message = format!(
            "Reports pruned: every commit was older than {before}\n\n\
             `hrsync reports prune` removed {} of this branch, made before the cutoff.\n\
             This commit keeps the files of the last of them, \"{}\".\n\n\
             {PRUNED_BEFORE}: {before}\n",
            match survey.total() {
                1 => "the one commit".to_owned(),
                n => format!("the {n} commits"),
            },
            tip.summary().ok().flatten().unwrap_or_default(),
        );
        // The last commit's trailers (Config-Revision, Plan-Id) say what its files are.
        let last: Vec<&str> =
            tip.message().unwrap_or_default().lines().rev().take_while(|l| !l.trim().is_empty()).collect();
        for line in last.into_iter().rev() {
            if let Some((key, _)) = line.split_once(": ")
                && !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && key != PRUNED_BEFORE
            {
                message.push_str(line);
                message.push('\n');
            }
        }
        let tree = tip.tree()?;
        let signature = signature(now)?;
        Ok(self.repo.commit(None, &signature, &signature, &message, &tree, &[])?)
    }

    /// Fetches the branch from `remote` (to `refs/remotes/<remote>/<branch>`, dropping
    /// that ref when the remote has no such branch): the remote's tip.
    pub fn fetch(&self, remote: &str) -> Result<Option<Oid>, PruneError> {
        let mut origin =
            self.repo.find_remote(remote).map_err(|_| PruneError::NoRemote(remote.to_owned()))?;
        let mut options = FetchOptions::new();
        options.remote_callbacks(callbacks()).prune(FetchPrune::On);
        let tracking = self.tracking(remote);
        origin
            .fetch(&[format!("+{}:{tracking}", self.reference)], Some(&mut options), Some("hrsync: fetch"))
            .map_err(explain)?;
        Ok(self.remote_tip(remote))
    }

    fn tracking(&self, remote: &str) -> String {
        format!("refs/remotes/{remote}/{}", self.branch)
    }

    /// The remote's tip as last fetched.
    pub fn remote_tip(&self, remote: &str) -> Option<Oid> {
        self.repo.refname_to_id(&self.tracking(remote)).ok()
    }

    /// What the branch would be after taking over `theirs` (see [`adopt`]), without
    /// moving it: `theirs` when it would be taken over.
    pub fn adoptable(&self, theirs: Option<Oid>) -> Result<Option<Oid>, PruneError> {
        let ours = self.tip();
        let Some(theirs) = theirs else { return Ok(ours) };
        let Some(ours) = ours else { return Ok(Some(theirs)) };
        if ours == theirs
            || self.repo.graph_descendant_of(theirs, ours)?
            || supersedes(&self.repo, theirs, ours)?
        {
            return Ok(Some(theirs));
        }
        Ok(Some(ours))
    }

    /// Takes `theirs` over when that loses nothing (see [`adopt`]): whether it did.
    pub fn adopt(&self, theirs: Option<Oid>) -> Result<bool, PruneError> {
        match theirs {
            Some(theirs) => Ok(adopt(&self.repo, &self.reference, theirs)?),
            None => Ok(false),
        }
    }

    /// Whether replacing the remote's tip `theirs` by the branch pruned as `survey` says
    /// loses nothing but what the prune drops: every commit of `theirs` is in the
    /// surveyed history, or is a copy of a kept one, or lies behind what is kept.
    pub fn covers(&self, survey: &Survey, theirs: Option<Oid>) -> Result<bool, PruneError> {
        match theirs {
            None => Ok(true),
            Some(theirs) => Ok(survey.lineage(&self.repo)?.covers(&self.repo, theirs)?),
        }
    }

    /// Pushes the branch to `remote`, forced, if the remote's branch is still at
    /// `expected` (`None`: absent) or already at the branch's tip.
    pub fn push(&self, remote: &str, expected: Option<Oid>) -> Result<(), PruneError> {
        let Some(tip) = self.tip() else { return Ok(()) };
        let mut origin =
            self.repo.find_remote(remote).map_err(|_| PruneError::NoRemote(remote.to_owned()))?;
        let allowed = [expected.unwrap_or(Oid::ZERO_SHA1), tip];
        // The lease: the remote's value as this push found it.
        let outcome = super::remote::push(
            &mut origin,
            &format!("+{0}:{0}", self.reference),
            Some((&self.reference, &allowed)),
        )
        .map_err(explain)?;
        if outcome.moved {
            return Err(PruneError::RemoteMoved(self.branch.clone()));
        }
        let refused = outcome.refused;
        match refused {
            Some(why) => Err(PruneError::Refused(why)),
            None => Ok(()),
        }
    }
}

fn signature(now: i64) -> Result<Signature<'static>, git2::Error> {
    Signature::new("hrsync", "hrsync@localhost", &Time::new(now, 0))
}

#[cfg(test)]
mod tests;
