//! The reports branch: plans, results and status committed to a branch of the sync
//! repository's git repository, without touching its working tree, index or HEAD.
//!
//! Each commit replaces some files of the branch's tree and keeps the rest (but for the
//! folders it replaces whole, whose files it does not write are removed), is authored by
//! hrsync at the run's time, and carries trailers (`Config-Revision:`, `Plan-Id:`). A
//! commit whose tree would equal its parent's is not made. The branch is moved with a
//! compare-and-swap on its old tip, so two writers cannot lose each other's commits.

use std::collections::BTreeSet;
use std::path::Path;

use git2::{FileMode, Oid, Repository, Signature, Time, build::TreeUpdateBuilder};

use super::GitError;

/// A branch that reports are committed to.
pub struct ReportsBranch {
    repo: Repository,
    branch: String,
    folder: String,
}

impl std::fmt::Debug for ReportsBranch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportsBranch").field("branch", &self.branch).field("folder", &self.folder).finish()
    }
}

/// One commit to make.
#[derive(Debug)]
pub struct ReportCommit<'a> {
    /// Files to write, by path below the reports folder.
    pub files: Vec<(String, Vec<u8>)>,
    /// Folders below the reports folder that this commit replaces whole: their files
    /// that are not in `files` are removed (the parts of an earlier, larger plan).
    pub replace: Vec<String>,
    /// The first line of the message.
    pub subject: String,
    /// Trailers, in order.
    pub trailers: Vec<(&'a str, String)>,
    /// When, in seconds since the epoch (the run's time).
    pub time: i64,
}

impl ReportsBranch {
    /// The branch `branch` of the git repository holding `sync_dir`; reports go to
    /// `folder` inside it.
    pub fn open(sync_dir: &Path, branch: &str, folder: &str) -> Result<ReportsBranch, GitError> {
        let repo =
            Repository::discover(sync_dir).map_err(|_| GitError::NotARepository(sync_dir.to_owned()))?;
        let name = format!("refs/heads/{branch}");
        if !git2::Reference::is_valid_name(&name) {
            return Err(GitError::Git(git2::Error::from_str(&format!(
                "`{branch}` is not a valid branch name"
            ))));
        }
        let checked_out = repo
            .find_reference("HEAD")
            .ok()
            .and_then(|h| h.symbolic_target().ok().flatten().map(str::to_owned));
        if checked_out.as_deref() == Some(name.as_str()) {
            return Err(GitError::Git(git2::Error::from_str(&format!(
                "the reports branch `{branch}` is checked out; hrsync never writes to the checked-out branch"
            ))));
        }
        Ok(ReportsBranch { repo, branch: name, folder: folder.trim_matches('/').to_owned() })
    }

    /// The reports branch `branch` of the git repository holding `sync_dir`, to read
    /// only: the local branch, else the one fetched from `origin` (a clone of the
    /// repository a daemon pushes to). `None` when neither is there.
    pub fn read_only(sync_dir: &Path, branch: &str, folder: &str) -> Option<ReportsBranch> {
        let repo = Repository::discover(sync_dir).ok()?;
        let name = [format!("refs/heads/{branch}"), format!("refs/remotes/origin/{branch}")]
            .into_iter()
            .find(|name| git2::Reference::is_valid_name(name) && repo.find_reference(name).is_ok())?;
        Some(ReportsBranch { repo, branch: name, folder: folder.trim_matches('/').to_owned() })
    }

    /// The time of the branch's tip, when it has one.
    pub fn tip_time(&self) -> Option<i64> {
        self.tip().map(|c| c.time().seconds())
    }

    fn path(&self, file: &str) -> String {
        if self.folder.is_empty() { file.to_owned() } else { format!("{}/{file}", self.folder) }
    }

    fn tip(&self) -> Option<git2::Commit<'_>> {
        self.repo.find_reference(&self.branch).ok()?.peel_to_commit().ok()
    }

    /// A file of the branch's tip, below the reports folder.
    pub fn read(&self, file: &str) -> Option<Vec<u8>> {
        let tree = self.tip()?.tree().ok()?;
        let entry = tree.get_path(Path::new(&self.path(file))).ok()?;
        Some(entry.to_object(&self.repo).ok()?.peel_to_blob().ok()?.content().to_vec())
    }

    /// The paths of the files below `folder` in `tree` (none when it is not a folder).
    fn files_below(&self, tree: &git2::Tree<'_>, folder: &str) -> Result<Vec<String>, GitError> {
        let Ok(entry) = tree.get_path(Path::new(folder)) else { return Ok(Vec::new()) };
        if entry.kind() != Some(git2::ObjectType::Tree) {
            return Ok(Vec::new());
        }
        let sub = self.repo.find_tree(entry.id())?;
        let mut files = Vec::new();
        sub.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
            if e.kind() != Some(git2::ObjectType::Tree)
                && let Ok(name) = e.name()
            {
                files.push(format!("{folder}/{dir}{name}"));
            }
            git2::TreeWalkResult::Ok
        })?;
        Ok(files)
    }

    /// Makes the commit, unless it would change nothing: the new tip, or `None`.
    pub fn commit(&self, commit: &ReportCommit<'_>) -> Result<Option<Oid>, GitError> {
        let parent = self.tip();
        let base = match &parent {
            Some(p) => p.tree()?,
            None => self.repo.find_tree(self.repo.treebuilder(None)?.write()?)?,
        };
        let mut update = TreeUpdateBuilder::new();
        let mut written = BTreeSet::new();
        for (file, bytes) in &commit.files {
            let blob = self.repo.blob(bytes)?;
            let path = self.path(file);
            update.upsert(&path, blob, FileMode::Blob);
            written.insert(path);
        }
        for folder in &commit.replace {
            for stale in self.files_below(&base, &self.path(folder.trim_matches('/')))? {
                if !written.contains(&stale) {
                    update.remove(&stale);
                }
            }
        }
        let tree_id = update.create_updated(&self.repo, &base)?;
        if parent.is_some() && tree_id == base.id() {
            return Ok(None);
        }
        let tree = self.repo.find_tree(tree_id)?;
        let signature = Signature::new("hrsync", "hrsync@localhost", &Time::new(commit.time, 0))?;
        let mut message = format!("{}\n\n", commit.subject);
        for (key, value) in &commit.trailers {
            message.push_str(&format!("{key}: {value}\n"));
        }
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let oid = self.repo.commit(None, &signature, &signature, &message, &tree, &parents)?;
        let log = format!("hrsync: {}", commit.subject);
        match &parent {
            Some(p) => self.repo.reference_matching(&self.branch, oid, true, p.id(), &log)?,
            None => self.repo.reference(&self.branch, oid, false, &log)?,
        };
        Ok(Some(oid))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn repo_with_a_commit() -> (tempfile::TempDir, Repository) {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::init(tmp.path()).unwrap();
        std::fs::write(tmp.path().join("hrsync.yaml"), "version: 1\n").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("hrsync.yaml")).unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = Signature::now("t", "t@example").unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "config", &tree, &[]).unwrap();
        drop(tree);
        (tmp, repo)
    }

    fn commit<'a>(files: &[(&str, &str)]) -> ReportCommit<'a> {
        ReportCommit {
            files: files.iter().map(|(p, c)| ((*p).to_owned(), c.as_bytes().to_vec())).collect(),
            replace: Vec::new(),
            subject: "hrsync: plan".into(),
            trailers: vec![("Config-Revision", "abc".into()), ("Plan-Id", "0123".into())],
            time: 1_795_000_000,
        }
    }

    #[test]
    fn commits_beside_head_and_skips_what_changes_nothing() {
        let (tmp, repo) = repo_with_a_commit();
        let head = repo.head().unwrap().target().unwrap();
        let reports = ReportsBranch::open(tmp.path(), "hrsync/reports", "reports").unwrap();
        let first = reports.commit(&commit(&[("corp/plan.md", "one")])).unwrap().unwrap();
        assert_eq!(reports.read("corp/plan.md").unwrap(), b"one");
        assert!(reports.commit(&commit(&[("corp/plan.md", "one")])).unwrap().is_none(), "nothing changed");
        let second = reports.commit(&commit(&[("status.json", "{}")])).unwrap().unwrap();
        let tip = repo.find_commit(second).unwrap();
        assert_eq!(tip.parent_id(0).unwrap(), first);
        assert_eq!(reports.read("corp/plan.md").unwrap(), b"one", "other files are kept");
        assert!(tip.message().unwrap().ends_with("\n\nConfig-Revision: abc\nPlan-Id: 0123\n"));
        assert_eq!(tip.author().name().unwrap(), "hrsync");
        assert_eq!(repo.head().unwrap().target().unwrap(), head, "HEAD untouched");
        assert!(!tmp.path().join("reports").exists(), "the working tree untouched");
        assert!(repo.statuses(None).unwrap().is_empty());
    }

    #[test]
    fn a_replaced_folder_loses_the_files_the_commit_does_not_write() {
        let (tmp, repo) = repo_with_a_commit();
        let reports = ReportsBranch::open(tmp.path(), "hrsync/reports", "reports").unwrap();
        let parts = |n: usize| -> Vec<(String, String)> {
            (1..=n).map(|i| (format!("corp/plan/create-{i:04}.jsonl"), format!("part {i}\n"))).collect()
        };
        let replacing = |files: &[(String, String)]| {
            let mut c = commit(&[("corp/plan.md", "md"), ("corp/notes.txt", "kept")]);
            c.files.extend(files.iter().map(|(p, b)| (p.clone(), b.as_bytes().to_vec())));
            c.replace = vec!["corp/plan".into()];
            c
        };
        reports.commit(&replacing(&parts(3))).unwrap().unwrap();
        let names = |repo: &Repository| -> Vec<String> {
            let tree = repo.find_reference("refs/heads/hrsync/reports").unwrap().peel_to_tree().unwrap();
            let mut names = Vec::new();
            tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
                if e.kind() == Some(git2::ObjectType::Blob) {
                    names.push(format!("{dir}{}", e.name().unwrap()));
                }
                git2::TreeWalkResult::Ok
            })
            .unwrap();
            names
        };
        assert_eq!(names(&repo).iter().filter(|n| n.starts_with("reports/corp/plan/")).count(), 3);
        // A smaller plan: the third part goes, in the same commit.
        reports.commit(&replacing(&parts(2))).unwrap().unwrap();
        let now = names(&repo);
        assert!(now.contains(&"reports/corp/plan/create-0002.jsonl".to_owned()), "{now:?}");
        assert!(!now.contains(&"reports/corp/plan/create-0003.jsonl".to_owned()), "{now:?}");
        assert!(now.contains(&"reports/corp/notes.txt".to_owned()), "only the folder is replaced: {now:?}");
        // The same files again: no commit.
        assert!(reports.commit(&replacing(&parts(2))).unwrap().is_none());
        // No parts at all: the folder is gone.
        reports.commit(&replacing(&[])).unwrap().unwrap();
        let now = names(&repo);
        assert!(now.iter().all(|n| !n.starts_with("reports/corp/plan/")), "{now:?}");
        assert!(now.contains(&"reports/corp/plan.md".to_owned()), "{now:?}");
    }

    #[test]
    fn refuses_the_checked_out_branch() {
        let (tmp, repo) = repo_with_a_commit();
        let name = repo.head().unwrap().shorthand().unwrap().to_owned();
        let err = ReportsBranch::open(tmp.path(), &name, "").unwrap_err();
        assert!(
            format!("{err}{}", std::error::Error::source(&err).map(|s| s.to_string()).unwrap_or_default())
                .contains("checked out")
        );
    }
}
