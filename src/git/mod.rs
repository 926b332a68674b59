//! Git: read a sync repository at a revision without checking it out.
//!
//! [`GitTree`] implements [`RepoFiles`] over the tree of a commit, so `--ref REV` reads
//! the YAML and the data files of that revision while the working tree and HEAD stay
//! untouched. The sync repository may be a sub-folder of a larger git repository; its
//! path inside the repository is worked out from the folder given. [`reports`] commits
//! plans and results to a reports branch, equally without touching the working tree;
//! [`prune`] rewrites that branch without its old commits (retention and erasure);
//! [`remote`] keeps the daemon's mirror of a remote repository; [`lease`] is the lease
//! that keeps two daemons on one repository from running at once.

pub mod lease;
pub mod prune;
pub mod remote;
pub mod reports;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use git2::{ObjectType, Oid, Repository};

use crate::config::files::RepoFiles;

/// Why a revision could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The folder is not inside a git repository.
    #[error("`{0}` is not inside a git repository, so --ref cannot be used")]
    NotARepository(PathBuf),
    /// The revision does not exist.
    #[error("revision `{rev}` does not exist in {repo}")]
    UnknownRevision {
        /// The revision.
        rev: String,
        /// The repository.
        repo: String,
    },
    /// The sync repository's folder does not exist at that revision.
    #[error("folder `{folder}` does not exist at revision `{rev}`")]
    MissingFolder {
        /// The folder, relative to the repository.
        folder: String,
        /// The revision.
        rev: String,
    },
    /// The remote's SSH host key is not known, or differs from the one known.
    #[error(
        "the SSH host key of the remote is not in ~/.ssh/known_hosts, or differs from it: check the key's fingerprint with the server's owner, then add it (`ssh-keyscan -p PORT HOST >> ~/.ssh/known_hosts`)"
    )]
    UnknownHostKey(#[source] git2::Error),
    /// Any other git failure.
    #[error("git failed")]
    Git(#[from] git2::Error),
    /// The folder could not be resolved.
    #[error("cannot resolve `{path}`")]
    Io {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

impl GitError {
    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            GitError::NotARepository(_) => "not_a_repository",
            GitError::UnknownRevision { .. } => "unknown_revision",
            GitError::MissingFolder { .. } => "missing_folder",
            GitError::UnknownHostKey(_) => "unknown_host_key",
            GitError::Git(_) => "git",
            GitError::Io { .. } => "io",
        }
    }
}

/// A sync repository as of a commit.
pub struct GitTree {
    repo: Mutex<Repository>,
    root: PathBuf,
    prefix: String,
    tree: Oid,
    commit: Oid,
    rev: String,
}

impl std::fmt::Debug for GitTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitTree").field("root", &self.root).field("commit", &self.commit).finish()
    }
}

impl GitTree {
    /// The sync repository in folder `sync_dir`, as of revision `rev` of the git
    /// repository that contains the folder.
    pub fn open(sync_dir: &Path, rev: &str) -> Result<GitTree, GitError> {
        let io_err = |source| GitError::Io { path: sync_dir.to_owned(), source };
        let abs = sync_dir.canonicalize().map_err(io_err)?;
        let repo = Repository::discover(&abs).map_err(|_| GitError::NotARepository(sync_dir.to_owned()))?;
        // A bare repository (the daemon's mirror of a remote) is the sync repository itself.
        let workdir = repo.workdir().unwrap_or_else(|| repo.path());
        let workdir = workdir.canonicalize().map_err(io_err)?;
        let prefix =
            abs.strip_prefix(&workdir).map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or_default();
        GitTree::at(repo, abs, prefix, rev, &workdir.display().to_string())
    }

    /// The sync repository in folder `prefix` (empty: the root) of the bare repository
    /// `git_dir` (the daemon's mirror of a remote), as of revision `rev`.
    pub fn open_bare(git_dir: &Path, prefix: &str, rev: &str) -> Result<GitTree, GitError> {
        let repo =
            Repository::open_bare(git_dir).map_err(|_| GitError::NotARepository(git_dir.to_owned()))?;
        let name = git_dir.display().to_string();
        GitTree::at(repo, git_dir.to_owned(), prefix.trim_matches('/').to_owned(), rev, &name)
    }

    fn at(
        repo: Repository,
        root: PathBuf,
        prefix: String,
        rev: &str,
        name: &str,
    ) -> Result<GitTree, GitError> {
        let (tree, commit) = {
            let commit = repo
                .revparse_single(rev)
                .and_then(|o| o.peel_to_commit())
                .map_err(|_| GitError::UnknownRevision { rev: rev.to_owned(), repo: name.to_owned() })?;
            let mut tree = commit.tree()?;
            if !prefix.is_empty() {
                let entry = tree
                    .get_path(Path::new(&prefix))
                    .map_err(|_| GitError::MissingFolder { folder: prefix.clone(), rev: rev.to_owned() })?;
                tree = entry.to_object(&repo)?.peel_to_tree()?;
            }
            (tree.id(), commit.id())
        };
        Ok(GitTree { repo: Mutex::new(repo), root, prefix, tree, commit, rev: rev.to_owned() })
    }

    fn with_tree<T>(&self, f: impl FnOnce(&Repository, &git2::Tree<'_>) -> io::Result<T>) -> io::Result<T> {
        let repo = self.repo.lock().map_err(|_| io::Error::other("git repository lock poisoned"))?;
        let tree = repo.find_tree(self.tree).map_err(io::Error::other)?;
        f(&repo, &tree)
    }
}

fn not_found(path: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("`{path}` does not exist at this revision"))
}

impl RepoFiles for GitTree {
    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        self.with_tree(|repo, tree| {
            let Ok(entry) = tree.get_path(Path::new(dir)) else { return Ok(Vec::new()) };
            let Ok(sub) = entry.to_object(repo).and_then(|o| o.peel_to_tree()) else { return Ok(Vec::new()) };
            let mut names: Vec<String> = sub
                .iter()
                .filter(|e| e.kind() == Some(ObjectType::Blob))
                .filter_map(|e| e.name().ok().map(str::to_owned))
                .collect();
            names.sort();
            Ok(names)
        })
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        if Path::new(path).is_absolute() {
            return std::fs::read(path);
        }
        self.with_tree(|repo, tree| {
            let entry = tree.get_path(Path::new(path)).map_err(|_| not_found(path))?;
            let blob = entry.to_object(repo).and_then(|o| o.peel_to_blob()).map_err(|_| not_found(path))?;
            Ok(blob.content().to_vec())
        })
    }

    fn describe(&self) -> String {
        let folder = if self.prefix.is_empty() { String::new() } else { format!(" folder {}", self.prefix) };
        format!("revision {} ({}){folder}", self.rev, &self.commit.to_string()[..12])
    }

    fn revision(&self) -> Option<String> {
        Some(self.commit.to_string())
    }

    fn root(&self) -> &Path {
        &self.root
    }

    fn commit_of_line(&self, path: &str, line: usize) -> Option<String> {
        let full = if self.prefix.is_empty() { path.to_owned() } else { format!("{}/{path}", self.prefix) };
        let repo = self.repo.lock().unwrap_or_else(|p| p.into_inner());
        let mut options = git2::BlameOptions::new();
        options.newest_commit(self.commit);
        let blame = repo.blame_file(Path::new(&full), Some(&mut options)).ok()?;
        let hunk = blame.get_line(line)?;
        Some(hunk.final_commit_id().to_string())
    }
}
