//! The run lease: what keeps two daemons on one sync repository from running (and so
//! applying) at once.
//!
//! The lease is a branch beside the reports branch, `<reports>-lease`, whose tip commit
//! holds one file, `lease.json`: which daemon holds the run ([`Holder`]: a random id of
//! its state directory, its host name and process id) and until when. A daemon takes it
//! before a cycle plans, by committing a new holder on top of the tip it read and moving
//! the branch without force — a compare-and-swap on the remote when the repository is
//! remote (a push the remote refuses because someone pushed first loses the race), on
//! the local ref otherwise. It renews the lease while the run goes on and releases it at
//! the end; a daemon that dies holds it until it expires. Another daemon that finds the
//! lease held and unexpired stands by. The same state directory (a daemon restarted
//! after a crash, on the same machine) takes its own lease back at once.
//!
//! The lease is a branch of its own, not a file of the reports branch, so that renewing
//! it every few seconds during a long apply adds nothing to the reports' history, and
//! taking it adds nothing there either when a run changes nothing.
//!
//! Times are the wall clock's, in seconds (a replayed run's `--now` says nothing about
//! whether a daemon is alive); the caller reads the clock.

use std::path::{Path, PathBuf};

use git2::{ErrorCode, FileMode, Oid, Repository, Signature, Time};
use serde::{Deserialize, Serialize};

use super::GitError;
use super::remote::{Mirror, Pushed};

/// Who holds the run, and until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The random id of the holder's state directory.
    pub owner: String,
    /// The holder's host name, for people.
    pub host: String,
    /// The holder's process id, for people.
    pub pid: u32,
    /// When it took the lease (seconds since the epoch).
    pub since: i64,
    /// When the lease ends unless renewed (seconds since the epoch).
    pub until: i64,
    /// Whether the holder gave it up (its run ended).
    #[serde(default)]
    pub released: bool,
}

/// The longest a lease may last; a lease said to last longer than twice this from now
/// was written by a clock far ahead (or by hand) and bars no one.
pub const MAX_SECONDS: i64 = 3600;

impl Holder {
    /// Whether this lease keeps `me` from running at `now`: it is not released, not
    /// expired (nor ending implausibly far ahead), and not `me`'s own — the same state
    /// directory on the same host, a daemon restarted after a crash (a copy of the state
    /// directory on another host is someone else).
    pub fn bars(&self, me: &Holder, now: i64) -> bool {
        let mine = self.owner == me.owner && self.host == me.host;
        !self.released && self.until > now && !self.implausible(now) && !mine
    }

    /// Whether the lease ends more than twice the longest lease from `now`.
    pub fn implausible(&self, now: i64) -> bool {
        self.until > now.saturating_add(2 * MAX_SECONDS)
    }

    /// Whether `other` is this very lease (the same holder, taken at the same time).
    fn same_lease(&self, other: &Holder) -> bool {
        self.owner == other.owner
            && self.host == other.host
            && self.pid == other.pid
            && self.since == other.since
    }
}

/// The outcome of trying to take the lease.
#[derive(Debug)]
pub enum Taken {
    /// Ours until renewed or released.
    Ours(Held),
    /// Another daemon holds it.
    Barred(Holder),
}

/// A lease this daemon holds.
#[derive(Debug)]
pub struct Held {
    tip: Oid,
    holder: Holder,
}

impl Held {
    /// Who holds it (this daemon) and until when.
    pub fn holder(&self) -> &Holder {
        &self.holder
    }
}

/// The lease branch of a repository, local or the mirror of a remote one.
#[derive(Clone)]
pub struct Lease {
    dir: PathBuf,
    branch: String,
    remote: Option<String>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("dir", &self.dir).field("branch", &self.branch).finish()
    }
}

/// The file of the lease branch's commits.
const FILE: &str = "lease.json";

impl Lease {
    /// The lease of the reports branch `reports` of the repository holding `dir`; with
    /// `remote` (its URL), `dir` is the daemon's mirror of it and the lease is the
    /// remote's.
    pub fn open(dir: &Path, reports: &str, remote: Option<&str>) -> Result<Lease, GitError> {
        let repo = Repository::discover(dir).map_err(|_| GitError::NotARepository(dir.to_owned()))?;
        let branch = format!("{reports}-lease");
        if !git2::Reference::is_valid_name(&format!("refs/heads/{branch}")) {
            return Err(GitError::Git(git2::Error::from_str(&format!(
                "`{branch}` is not a valid branch name"
            ))));
        }
        Ok(Lease { dir: repo.path().to_owned(), branch, remote: remote.map(str::to_owned) })
    }

    /// The lease branch's name.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    fn repo(&self) -> Result<Repository, GitError> {
        Ok(Repository::open(&self.dir)?)
    }

    fn local_ref(&self) -> String {
        format!("refs/heads/{}", self.branch)
    }

    /// The ref the current lease is read from: the remote's, as last fetched, or the
    /// local branch.
    fn current_ref(&self) -> String {
        match self.remote {
            Some(_) => format!("refs/remotes/origin/{}", self.branch),
            None => self.local_ref(),
        }
    }

    /// The lease as it stands: its commit and holder (none before the first run, or
    /// when its file cannot be read: a lease nobody can read bars no one).
    pub fn current(&self) -> Result<Option<(Oid, Option<Holder>)>, GitError> {
        if let Some(url) = &self.remote {
            Mirror::open(url, &self.dir)?.fetch_branch(&self.branch)?;
        }
        let repo = self.repo()?;
        let Ok(reference) = repo.find_reference(&self.current_ref()) else { return Ok(None) };
        let commit = reference.peel_to_commit()?;
        let holder = commit
            .tree()?
            .get_name(FILE)
            .and_then(|e| e.to_object(&repo).ok()?.peel_to_blob().ok())
            .and_then(|blob| serde_json::from_slice(blob.content()).ok());
        Ok(Some((commit.id(), holder)))
    }

    /// Takes the lease for `holder` (its `since` and `until` set by the caller) unless
    /// another daemon holds it; a race lost to another daemon taking it at the same
    /// moment is [`Taken::Barred`] too.
    pub fn take(&self, holder: Holder, now: i64) -> Result<Taken, GitError> {
        let current = self.current()?;
        if let Some((_, Some(other))) = &current {
            if other.implausible(now) {
                tracing::error!(
                    holder = %other.host,
                    until = other.until,
                    "the run lease ends implausibly far ahead (a clock far off?): taking it over"
                );
            }
            if other.bars(&holder, now) {
                return Ok(Taken::Barred(other.clone()));
            }
        }
        let parent = current.map(|(oid, _)| oid);
        match self.write(parent, &holder, "taken")? {
            Some(tip) => Ok(Taken::Ours(Held { tip, holder })),
            None => match self.current()? {
                Some((_, Some(other))) => Ok(Taken::Barred(other)),
                _ => Err(GitError::Git(git2::Error::from_str(
                    "the lease branch moved while it was taken, and cannot be read",
                ))),
            },
        }
    }

    /// Renews `held` until `until`: whether it is still ours (false: another daemon took
    /// it over, so this one's lease had expired).
    pub fn renew(&self, held: &mut Held, until: i64) -> Result<bool, GitError> {
        let holder = Holder { until, ..held.holder.clone() };
        if let Some(tip) = self.write(Some(held.tip), &holder, "renewed")? {
            *held = Held { tip, holder };
            return Ok(true);
        }
        // Refused: either another daemon took it, or an earlier write of ours reached the
        // remote although its answer was lost (so this one expected an older tip).
        match self.current()? {
            Some((tip, Some(now))) if now.same_lease(&held.holder) && !now.released => {
                held.tip = tip;
                match self.write(Some(tip), &holder, "renewed")? {
                    Some(tip) => {
                        *held = Held { tip, holder };
                        Ok(true)
                    }
                    None => Ok(false),
                }
            }
            _ => Ok(false),
        }
    }

    /// Gives `held` up at `now`, so another daemon may run at once.
    pub fn release(&self, held: &Held, now: i64) -> Result<(), GitError> {
        let holder = Holder { until: now, released: true, ..held.holder.clone() };
        self.write(Some(held.tip), &holder, "released")?;
        Ok(())
    }

    /// Commits `holder` and moves the lease branch there from `expected` (its tip as
    /// read), unless it moved meanwhile (locally, or on the remote): the new tip, or
    /// `None`. The commit has no parent and replaces the tip (a compare-and-swap on
    /// `expected`), so the branch is one commit however often the lease is renewed.
    fn write(&self, expected: Option<Oid>, holder: &Holder, verb: &str) -> Result<Option<Oid>, GitError> {
        let repo = self.repo()?;
        let mut bytes = serde_json::to_vec_pretty(holder)
            .map_err(|e| GitError::Git(git2::Error::from_str(&e.to_string())))?;
        bytes.push(b'\n');
        let blob = repo.blob(&bytes)?;
        let mut tree = repo.treebuilder(None)?;
        tree.insert(FILE, blob, FileMode::Blob.into())?;
        let tree = repo.find_tree(tree.write()?)?;
        let time = Time::new(if verb == "released" { holder.until } else { holder.since.max(0) }, 0);
        let signature = Signature::new("hrsync", "hrsync@localhost", &time)?;
        let message = format!(
            "Lease {verb} by {} (process {}) until {}\n",
            holder.host,
            holder.pid,
            jiff::Timestamp::from_second(holder.until).map(|t| t.to_string()).unwrap_or_default()
        );
        let oid = repo.commit(None, &signature, &signature, &message, &tree, &[])?;
        let log = format!("hrsync: lease {verb}");
        let local = self.local_ref();
        match &self.remote {
            None => {
                let moved = match expected {
                    Some(p) => repo.reference_matching(&local, oid, true, p, &log),
                    None => repo.reference(&local, oid, false, &log),
                };
                match moved {
                    Ok(_) => Ok(Some(oid)),
                    Err(e)
                        if matches!(
                            e.code(),
                            ErrorCode::Modified | ErrorCode::Exists | ErrorCode::Locked
                        ) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Some(url) => {
                // The local branch is only the vehicle of the push: the remote decides.
                repo.reference(&local, oid, true, &log)?;
                match Mirror::open(url, &self.dir)?.push_branch_over(&self.branch, expected)? {
                    Pushed::Done => {
                        // The remote has it; the tracking ref follows at the next fetch
                        // if it cannot now (a fetch may hold it).
                        if let Err(e) = repo.reference(&self.current_ref(), oid, true, &log) {
                            tracing::debug!(error = %e, "the lease's tracking ref waits for the next fetch");
                        }
                        Ok(Some(oid))
                    }
                    Pushed::Refused(why) => {
                        tracing::debug!(why = %why, "the remote refused the lease: another daemon moved it");
                        Ok(None)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(owner: &str, now: i64) -> Holder {
        Holder {
            owner: owner.into(),
            host: "host".into(),
            pid: 1,
            since: now,
            until: now + 30,
            released: false,
        }
    }

    fn repo() -> (tempfile::TempDir, Lease) {
        let tmp = tempfile::tempdir().unwrap();
        Repository::init(tmp.path()).unwrap();
        let lease = Lease::open(tmp.path(), "hrsync/reports", None).unwrap();
        (tmp, lease)
    }

    fn ours(taken: Taken) -> Held {
        match taken {
            Taken::Ours(held) => held,
            Taken::Barred(other) => panic!("barred by {other:?}"),
        }
    }

    #[test]
    fn a_held_lease_bars_others_until_it_expires_or_is_released() {
        let (_tmp, lease) = repo();
        assert!(lease.current().unwrap().is_none());
        let a = ours(lease.take(holder("a", 1000), 1000).unwrap());
        assert_eq!(a.holder().owner, "a");
        match lease.take(holder("b", 1010), 1010).unwrap() {
            Taken::Barred(other) => assert_eq!((other.owner.as_str(), other.until), ("a", 1030)),
            Taken::Ours(_) => panic!("b took a's lease"),
        }
        // The same state directory takes its own lease back (a restart after a crash).
        let mut a = ours(lease.take(holder("a", 1011), 1011).unwrap());
        assert!(lease.renew(&mut a, 1060).unwrap());
        assert!(matches!(lease.take(holder("b", 1050), 1050).unwrap(), Taken::Barred(_)), "renewed");
        // Expired: b takes it, and a's renewal finds it lost.
        let b = ours(lease.take(holder("b", 1061), 1061).unwrap());
        assert!(!lease.renew(&mut a, 1090).unwrap(), "a lost it");
        lease.release(&b, 1070).unwrap();
        let (_, now) = lease.current().unwrap().unwrap();
        assert!(now.as_ref().is_some_and(|h| h.released && h.owner == "b"));
        ours(lease.take(holder("c", 1071), 1071).unwrap());
    }

    #[test]
    fn of_two_takers_reading_the_same_tip_one_wins() {
        let (tmp, lease) = repo();
        let first = ours(lease.take(holder("a", 1000), 1000).unwrap());
        lease.release(&first, 1001).unwrap();
        let (tip, _) = lease.current().unwrap().unwrap();
        // b and c both read the released tip; b moves the branch first.
        let other = Lease::open(tmp.path(), "hrsync/reports", None).unwrap();
        assert!(lease.write(Some(tip), &holder("b", 1002), "taken").unwrap().is_some());
        assert!(other.write(Some(tip), &holder("c", 1002), "taken").unwrap().is_none(), "c lost the race");
        assert!(matches!(other.take(holder("c", 1003), 1003).unwrap(), Taken::Barred(h) if h.owner == "b"));
    }

    #[test]
    fn on_a_remote_the_push_decides_which_of_two_mirrors_takes_the_lease() {
        let tmp = tempfile::tempdir().unwrap();
        let remote = tmp.path().join("remote.git");
        Repository::init_bare(&remote).unwrap();
        let url = remote.to_str().unwrap();
        let mirror = |name: &str| {
            let dir = tmp.path().join(name);
            Mirror::open(url, &dir).unwrap();
            Lease::open(&dir, "hrsync/reports", Some(url)).unwrap()
        };
        let (a, b) = (mirror("a"), mirror("b"));
        let first = ours(a.take(holder("a", 1000), 1000).unwrap());
        a.release(&first, 1001).unwrap();
        // Both read the released lease; a pushes first, so b's push is refused.
        let (tip, _) = a.current().unwrap().unwrap();
        assert_eq!(b.current().unwrap().unwrap().0, tip);
        assert!(a.write(Some(tip), &holder("a", 1002), "taken").unwrap().is_some());
        assert!(b.write(Some(tip), &holder("b", 1002), "taken").unwrap().is_none(), "b lost the race");
        assert!(matches!(b.take(holder("b", 1003), 1003).unwrap(), Taken::Barred(h) if h.owner == "a"));
        let theirs = Repository::open_bare(&remote).unwrap();
        let tip = theirs.find_reference("refs/heads/hrsync/reports-lease").unwrap().peel_to_commit().unwrap();
        assert!(tip.message().unwrap().starts_with("Lease taken by host"), "{:?}", tip.message());
    }

    #[test]
    fn a_copy_of_the_state_directory_on_another_host_and_a_lease_far_ahead_are_someone_else() {
        let (_tmp, lease) = repo();
        ours(lease.take(holder("a", 1000), 1000).unwrap());
        let elsewhere = Holder { host: "restored-backup".into(), ..holder("a", 1001) };
        assert!(matches!(lease.take(elsewhere, 1001).unwrap(), Taken::Barred(_)), "same id, other host");
        // A holder whose clock is a day ahead writes a lease that bars no one.
        let (_tmp, lease) = repo();
        let ahead = Holder { until: 1000 + 86_400, ..holder("z", 1000) };
        ours(lease.take(ahead, 1000).unwrap());
        ours(lease.take(holder("b", 1001), 1001).unwrap());
    }

    #[test]
    fn a_renewal_whose_earlier_answer_was_lost_carries_on() {
        let (_tmp, lease) = repo();
        let mut held = ours(lease.take(holder("a", 1000), 1000).unwrap());
        // A renewal reached the branch but its answer never came back: `held` still
        // names the tip before it.
        let renewed = Holder { until: 1050, ..held.holder().clone() };
        assert!(lease.write(Some(held.tip), &renewed, "renewed").unwrap().is_some());
        assert!(lease.renew(&mut held, 1060).unwrap(), "still ours");
        assert_eq!(held.holder().until, 1060);
        // Another daemon's lease is not taken for ours.
        let b = ours(lease.take(holder("b", 1061), 1061).unwrap());
        assert!(!lease.renew(&mut held, 1090).unwrap());
        assert_eq!(b.holder().owner, "b");
    }

    #[test]
    fn the_lease_branch_is_one_commit_however_often_it_is_renewed() {
        let (tmp, lease) = repo();
        let mut held = ours(lease.take(holder("a", 1000), 1000).unwrap());
        for until in 1040..1050 {
            assert!(lease.renew(&mut held, until).unwrap());
        }
        lease.release(&held, 1050).unwrap();
        let git = Repository::open(tmp.path()).unwrap();
        let tip = git.find_reference("refs/heads/hrsync/reports-lease").unwrap().peel_to_commit().unwrap();
        assert_eq!(tip.parent_count(), 0);
    }

    #[test]
    fn an_unreadable_lease_bars_no_one() {
        let (tmp, lease) = repo();
        let git = Repository::open(tmp.path()).unwrap();
        let blob = git.blob(b"not json").unwrap();
        let mut tree = git.treebuilder(None).unwrap();
        tree.insert(FILE, blob, FileMode::Blob.into()).unwrap();
        let tree = git.find_tree(tree.write().unwrap()).unwrap();
        let sig = Signature::new("x", "x@x", &Time::new(0, 0)).unwrap();
        let oid = git.commit(None, &sig, &sig, "junk", &tree, &[]).unwrap();
        git.reference("refs/heads/hrsync/reports-lease", oid, true, "junk").unwrap();
        ours(lease.take(holder("a", 1000), 1000).unwrap());
    }
}
