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
        let mut refused: Option<String> = None;
        let mut callbacks = callbacks();
        callbacks.push_update_reference(|name, status| {
            if let Some(why) = status {
                refused = Some(format!("{name}: {why}"));
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        // A large plan is hundreds of similar parts: searching deltas between them is
        // most of a push, so on every core (0: as many threads as there are).
        options.packbuilder_parallelism(0);
        let pushed = remote.push(&[format!("{local}:{local}")], Some(&mut options));
        drop(options);
        match pushed {
            // libgit2 refuses a push that is not a fast-forward of the tip the remote
            // advertised before sending it; the remote refuses one whose tip moved since.
            Err(e) if e.code() == git2::ErrorCode::NotFastForward => {
                Ok(Pushed::Refused(format!("{local}: {}", e.message())))
            }
            Err(e) => Err(explain(e)),
            Ok(()) => Ok(refused.map_or(Pushed::Done, Pushed::Refused)),
        }
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
