//! A remote sync repository, as the daemon follows it: a bare mirror in the state
//! directory, fetched before each run (and on an interval while watching), whose
//! reports branch is pushed back after each commit to it (a plan is on the remote
//! before it is applied) and once more at the end of each run.
//!
//! Branches of the remote are fetched to `refs/remotes/origin/*`; the config is read
//! from `refs/remotes/origin/<branch>`. The reports branch is local
//! (`refs/heads/<reports>`), taken over from the remote's when this mirror is new or
//! behind (a daemon on a fresh machine carries on from the last one's history) or when
//! the remote's was pruned elsewhere and holds everything the local one does, and
//! pushed without force: a push the remote refuses is an error, never an overwrite (only
//! `hrsync reports prune --push` forces, with a lease: see [`super::prune`]).
//!
//! Credentials come from the environment, never from the repository: `HRSYNC_GIT_USERNAME`
//! and `HRSYNC_GIT_PASSWORD` (a token) or `HRSYNC_GIT_PASSWORD_FILE` for HTTPS, `HRSYNC_GIT_SSH_KEY` (a private key
//! file) or the SSH agent for SSH.

use std::path::{Path, PathBuf};

use git2::{BranchType, Cred, FetchOptions, PushOptions, RemoteCallbacks, Repository};

use super::GitError;

/// The mirror of a remote repository.
pub struct Mirror {
    repo: Repository,
    path: PathBuf,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror").field("path", &self.path).finish()
    }
}

/// A failure of a fetch or push, with what to do about an unknown SSH host key.
pub(super) fn explain(e: git2::Error) -> GitError {
    if e.class() == git2::ErrorClass::Ssh && e.code() == git2::ErrorCode::Certificate {
        GitError::UnknownHostKey(e)
    } else {
        GitError::Git(e)
    }
}

/// The password or token: `HRSYNC_GIT_PASSWORD`, or the content of the file
/// `HRSYNC_GIT_PASSWORD_FILE` names (a mounted secret), without its final line break.
fn password() -> Result<Option<String>, PasswordFileError> {
    if let Ok(password) = std::env::var("HRSYNC_GIT_PASSWORD") {
        return Ok(Some(password));
    }
    let Ok(path) = std::env::var("HRSYNC_GIT_PASSWORD_FILE") else { return Ok(None) };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned())),
        Err(source) => Err(PasswordFileError { path, source }),
    }
}

/// The file `HRSYNC_GIT_PASSWORD_FILE` names cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read HRSYNC_GIT_PASSWORD_FILE `{path}`")]
struct PasswordFileError {
    path: String,
    source: std::io::Error,
}

/// The callbacks of a fetch or push: credentials from the environment.
pub(super) fn callbacks<'a>() -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    // libgit2 asks again after each refusal: the second time, the answer is an error
    // that says which settings were refused (never their values).
    let mut asked = 0;
    callbacks.credentials(move |_url, username, allowed| {
        if allowed.is_username() {
            // SSH first asks for the user name alone.
            return Cred::username(username.unwrap_or("git"));
        }
        asked += 1;
        let user_pass = (std::env::var("HRSYNC_GIT_USERNAME"), password());
        if allowed.is_user_pass_plaintext() {
            return match user_pass {
                _ if asked > 1 => Err(git2::Error::from_str(
                    "the remote refused the credentials of HRSYNC_GIT_USERNAME and HRSYNC_GIT_PASSWORD; check them and the token's rights",
                )),
                (Ok(user), Ok(Some(password))) => Cred::userpass_plaintext(&user, &password),
                // libgit2 takes an error as text: the cause goes with it.
                (_, Err(e)) => Err(git2::Error::from_str(&crate::model::error_chain(&e))),
                _ => Err(git2::Error::from_str(
                    "the remote asks for credentials: set HRSYNC_GIT_USERNAME and HRSYNC_GIT_PASSWORD (a token) or HRSYNC_GIT_PASSWORD_FILE (a file holding it)",
                )),
            };
        }
        if allowed.is_ssh_key() {
            if asked > 1 {
                return Err(git2::Error::from_str(
                    "the remote refused the SSH key (HRSYNC_GIT_SSH_KEY, or the SSH agent's keys)",
                ));
            }
            let user = username.unwrap_or("git");
            if let Ok(key) = std::env::var("HRSYNC_GIT_SSH_KEY") {
                return Cred::ssh_key(user, None, Path::new(&key), None);
            }
            return Cred::ssh_key_from_agent(user);
        }
        if asked > 1 {
            return Err(git2::Error::from_str("the remote refused the credentials offered"));
        }
        Cred::default()
    });
    callbacks
}

impl Mirror {
    /// The mirror of `url` in `dir`, made on first use.
    pub fn open(url: &str, dir: &Path) -> Result<Mirror, GitError> {
        let repo = match Repository::open_bare(dir) {
            Ok(repo) => repo,
            Err(_) => {
                std::fs::create_dir_all(dir)
                    .map_err(|source| GitError::Io { path: dir.to_owned(), source })?;
                Repository::init_bare(dir)?
            }
        };
        match repo.find_remote("origin") {
            Ok(remote) if remote.url().ok() == Some(url) => {}
            Ok(_) => repo.remote_set_url("origin", url)?,
            Err(_) => {
                repo.remote("origin", url)?;
            }
        }
        Ok(Mirror { repo, path: dir.to_owned() })
    }

    /// The mirror's folder: a bare repository.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The revision the config of `branch` is read from.
    pub fn tracked(branch: &str) -> String {
        format!("refs/remotes/origin/{branch}")
    }

    /// Fetches every branch of the remote.
    pub fn fetch(&self) -> Result<(), GitError> {
        let mut remote = self.repo.find_remote("origin")?;
        let mut options = FetchOptions::new();
        options.remote_callbacks(callbacks());
        remote
            .fetch(&["+refs/heads/*:refs/remotes/origin/*"], Some(&mut options), Some("hrsync: fetch"))
            .map_err(explain)?;
        Ok(())
    }

    /// Takes over the remote's reports branch when the local one is missing or behind,
    /// or when the remote's is the local one pruned elsewhere (`hrsync reports prune` in
    /// CI, say): every local commit is in it, as itself or as its pruned copy, or is one
    /// the prune dropped. A local branch with commits the remote lacks stays, and its
    /// push is refused, as before.
    pub fn adopt_reports(&self, reports: &str) -> Result<(), GitError> {
        let Ok(theirs) = self.repo.find_branch(&format!("origin/{reports}"), BranchType::Remote) else {
            return Ok(());
        };
        let Some(theirs) = theirs.get().target() else { return Ok(()) };
        super::prune::adopt(&self.repo, &format!("refs/heads/{reports}"), theirs)?;
        Ok(())
    }

    /// Fetches one branch of the remote to `refs/remotes/origin/<branch>` (nothing when
    /// the remote has no such branch).
    pub fn fetch_branch(&self, branch: &str) -> Result<(), GitError> {
        let mut remote = self.repo.find_remote("origin")?;
        let mut options = FetchOptions::new();
        options.remote_callbacks(callbacks());
        let spec = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
        remote.fetch(&[spec], Some(&mut options), Some("hrsync: fetch")).map_err(explain)?;
        Ok(())
    }

    /// Makes the local reports branch the remote's again when it holds commits the
    /// remote lacks, for the holder of the run lease (the one writer): first by pushing
    /// them (a run whose push failed on the network), and when the remote refuses (it
    /// moved on: another daemon ran since), by taking the remote's over. The dropped
    /// commits stay in the mirror under `refs/hrsync/dropped/<their tip>`, and a warning
    /// says how many; their plans are planned again. Returns how many were dropped.
    pub fn reconcile_reports(&self, reports: &str) -> Result<usize, GitError> {
        let local = format!("refs/heads/{reports}");
        let Some(ours) = self.repo.find_reference(&local).ok().and_then(|r| r.target()) else { return Ok(0) };
        let Ok(theirs) = self.repo.find_branch(&format!("origin/{reports}"), BranchType::Remote) else {
            return Ok(0);
        };
        let Some(theirs) = theirs.get().target() else { return Ok(0) };
        if ours == theirs || self.repo.graph_descendant_of(theirs, ours)? {
            return Ok(0);
        }
        if self.repo.graph_descendant_of(ours, theirs)? && self.push_branch(reports)? == Pushed::Done {
            return Ok(0);
        }
        let (ahead, _) = self.repo.graph_ahead_behind(ours, theirs)?;
        self.repo.reference(
            &format!("refs/hrsync/dropped/{ours}"),
            ours,
            true,
            "hrsync: commits the remote lacks",
        )?;
        self.repo.reference_matching(&local, theirs, true, ours, "hrsync: take over the remote's reports")?;
        tracing::warn!(
            branch = reports,
            dropped = ahead,
            kept_as = %format!("refs/hrsync/dropped/{ours}"),
            "the reports branch here held commits the remote lacks and refuses (a run that could not push them); it follows the remote's again"
        );
        Ok(ahead)
    }

    /// Pushes the local reports branch to the remote (never forced): a push the remote
    /// refuses is an error.
    pub fn push_reports(&self, reports: &str) -> Result<(), GitError> {
        match self.push_branch(reports)? {
            Pushed::Done => Ok(()),
            Pushed::Refused(why) => {
                Err(GitError::Git(git2::Error::from_str(&format!("the remote refused the push of {why}"))))
            }
        }
    }

    /// Pushes the local branch `branch` to the remote's branch of that name, never
    /// forced: whether the remote took it, or refused it (it moved since it was
    /// fetched: another writer pushed first).
    pub fn push_branch(&self, branch: &str) -> Result<Pushed, GitError> {
        let local = format!("refs/heads/{branch}");
        if self.repo.find_reference(&local).is_err() {
            return Ok(Pushed::Done);
        }
        let mut remote = self.repo.find_remote("origin")?;
        let pushed = push(&mut remote, &format!("{local}:{local}"), None);
        match pushed {
            // libgit2 refuses a push that is not a fast-forward of the tip the remote
            // advertised before sending it; the remote refuses one whose tip moved since.
            Err(e) if e.code() == git2::ErrorCode::NotFastForward => {
                Ok(Pushed::Refused(format!("{local}: {}", e.message())))
            }
            Err(e) => Err(explain(e)),
            Ok(outcome) => Ok(outcome.refused.map_or(Pushed::Done, Pushed::Refused)),
        }
    }
}

impl Mirror {
    /// Pushes the local branch `branch` over the remote's, forced, if the remote's is
    /// still at `expected` (`None`: absent) as this push finds it — a compare-and-swap
    /// (the remote checks the old value too): whether it took it, or refused it.
    pub fn push_branch_over(&self, branch: &str, expected: Option<git2::Oid>) -> Result<Pushed, GitError> {
        let local = format!("refs/heads/{branch}");
        let expected = [expected.unwrap_or(git2::Oid::ZERO_SHA1)];
        let mut remote = self.repo.find_remote("origin")?;
        let outcome =
            push(&mut remote, &format!("+{local}:{local}"), Some((&local, &expected))).map_err(explain)?;
        if outcome.moved {
            return Ok(Pushed::Refused(format!("{local}: it moved since it was read")));
        }
        Ok(outcome.refused.map_or(Pushed::Done, Pushed::Refused))
    }
}

/// What a push found: whether the remote's ref had moved from what was expected (the
/// push was not sent), and the remote's refusal, if any.
pub(super) struct PushOutcome {
    /// The remote's ref was not at an expected value: nothing was sent.
    pub moved: bool,
    /// The remote refused the update, and why.
    pub refused: Option<String>,
}

/// Pushes `refspec` to `remote` with the environment's credentials, on every core (a
/// large plan is hundreds of similar parts: searching deltas between them is most of a
/// push). With `expect` (a ref and the values it may have on the remote), the push is
/// not sent when the remote's ref, as this push finds it, has another: a lease on it.
pub(super) fn push(
    remote: &mut git2::Remote<'_>,
    refspec: &str,
    expect: Option<(&str, &[git2::Oid])>,
) -> Result<PushOutcome, git2::Error> {
    let mut moved = false;
    let mut refused: Option<String> = None;
    let mut callbacks = callbacks();
    callbacks.push_negotiation(|updates| {
        if let Some((reference, allowed)) = expect {
            for u in updates.iter().filter(|u| u.dst_refname().ok() == Some(reference)) {
                if !allowed.contains(&u.src()) {
                    moved = true;
                    return Err(git2::Error::from_str("the remote's branch moved"));
                }
            }
        }
        Ok(())
    });
    callbacks.push_update_reference(|name, status| {
        if let Some(why) = status {
            refused = Some(format!("{name}: {why}"));
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(callbacks);
    options.packbuilder_parallelism(0);
    let pushed = remote.push(&[refspec], Some(&mut options));
    drop(options);
    match pushed {
        Err(_) if moved => Ok(PushOutcome { moved, refused }),
        Err(e) => Err(e),
        Ok(()) => Ok(PushOutcome { moved, refused }),
    }
}

/// What became of a push.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// The remote's branch is now the local one.
    Done,
    /// The remote refused it, and why (the remote's words).
    Refused(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit on `reference` of `repo` on top of its tip, holding `file`.
    fn commit(repo: &Repository, reference: &str, file: &str) -> git2::Oid {
        let parent = repo.find_reference(reference).ok().and_then(|r| r.peel_to_commit().ok());
        let blob = repo.blob(file.as_bytes()).unwrap();
        let mut tree = repo.treebuilder(None).unwrap();
        tree.insert(file, blob, git2::FileMode::Blob.into()).unwrap();
        let tree = repo.find_tree(tree.write().unwrap()).unwrap();
        let sig = git2::Signature::new("t", "t@t", &git2::Time::new(0, 0)).unwrap();
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        repo.commit(Some(reference), &sig, &sig, file, &tree, &parents).unwrap()
    }

    #[test]
    fn a_mirror_whose_reports_the_remote_lacks_pushes_them_or_follows_the_remote() {
        let tmp = tempfile::tempdir().unwrap();
        let remote = tmp.path().join("remote.git");
        let theirs = Repository::init_bare(&remote).unwrap();
        let branch = "refs/heads/hrsync/reports";
        commit(&theirs, branch, "first");
        let mirror = Mirror::open(remote.to_str().unwrap(), &tmp.path().join("mirror")).unwrap();
        mirror.fetch().unwrap();
        mirror.adopt_reports("hrsync/reports").unwrap();

        // Ahead only (a push that failed on the network): pushed.
        let ahead = commit(&mirror.repo, branch, "unpushed");
        assert_eq!(mirror.reconcile_reports("hrsync/reports").unwrap(), 0);
        assert_eq!(theirs.find_reference(branch).unwrap().target(), Some(ahead));

        // Diverged (another daemon ran since): the remote's is taken, ours kept aside.
        let mine = commit(&mirror.repo, branch, "mine");
        let other = commit(&theirs, branch, "another daemon's");
        mirror.fetch().unwrap();
        assert_eq!(mirror.reconcile_reports("hrsync/reports").unwrap(), 1);
        assert_eq!(mirror.repo.find_reference(branch).unwrap().target(), Some(other));
        let kept = mirror.repo.find_reference(&format!("refs/hrsync/dropped/{mine}")).unwrap();
        assert_eq!(kept.target(), Some(mine));
        assert_eq!(theirs.find_reference(branch).unwrap().target(), Some(other), "nothing forced");
        // In step: nothing to do.
        assert_eq!(mirror.reconcile_reports("hrsync/reports").unwrap(), 0);
    }
}
