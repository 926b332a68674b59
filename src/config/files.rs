//! Where the sync repository's files come from: a working tree on disk, or a git
//! revision read without checking it out (`src/git`).
//!
//! Config loading and file sources read through [`RepoFiles`], so `--ref REV` reads the
//! YAML and the data files of the same revision. Paths are relative to the sync
//! repository and use `/`.

use std::io;
use std::path::{Path, PathBuf};

/// Read access to the files of a sync repository.
pub trait RepoFiles: Send + Sync {
    /// Names of the files directly inside `dir` (not recursive), sorted. An absent
    /// folder lists nothing.
    fn list(&self, dir: &str) -> io::Result<Vec<String>>;

    /// The content of a file.
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;

    /// Where the files come from, for messages: a folder, or a revision in a repository.
    fn describe(&self) -> String;

    /// The commit the files were read from, when they come from git.
    fn revision(&self) -> Option<String>;

    /// The folder on disk that relative state paths hang off (the sync repository's
    /// folder, also when reading a git revision).
    fn root(&self) -> &Path;

    /// The commit that last changed line `line` (1-based) of `path`, when the files come
    /// from git: who approved what is in the history, not in the file.
    fn commit_of_line(&self, _path: &str, _line: usize) -> Option<String> {
        None
    }
}

/// A sync repository in a folder on disk.
#[derive(Clone, Debug)]
pub struct WorkTree {
    root: PathBuf,
}

impl WorkTree {
    /// The sync repository at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        WorkTree { root: root.into() }
    }

    fn path(&self, relative: &str) -> PathBuf {
        let p = Path::new(relative);
        if p.is_absolute() { p.to_owned() } else { self.root.join(p) }
    }
}

impl RepoFiles for WorkTree {
    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let entries = match std::fs::read_dir(self.path(dir)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_file()
                && let Some(name) = entry.file_name().to_str()
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.path(path))
    }

    fn describe(&self) -> String {
        format!("folder {}", self.root.display())
    }

    fn revision(&self) -> Option<String> {
        None
    }

    fn root(&self) -> &Path {
        &self.root
    }
}

/// An in-memory sync repository, for tests and the fuzzing entry points
/// ([`crate::fuzz`]).
#[derive(Clone, Debug, Default)]
pub struct MemFiles {
    files: std::collections::BTreeMap<String, Vec<u8>>,
}

impl MemFiles {
    /// Adds or replaces a file.
    pub fn with(self, path: &str, content: &str) -> Self {
        self.with_bytes(path, content.as_bytes())
    }

    /// Adds or replaces a file with content that need not be UTF-8.
    pub fn with_bytes(mut self, path: &str, content: &[u8]) -> Self {
        self.files.insert(path.to_owned(), content.to_vec());
        self
    }
}

impl RepoFiles for MemFiles {
    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let prefix = format!("{dir}/");
        Ok(self
            .files
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/'))
            .map(str::to_owned)
            .collect())
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.files.get(path).cloned().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, path.to_owned()))
    }

    fn describe(&self) -> String {
        "memory".into()
    }

    fn revision(&self) -> Option<String> {
        None
    }

    fn root(&self) -> &Path {
        Path::new("/nonexistent")
    }
}
