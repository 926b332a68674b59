//! Helpers: run the binary, copy fixtures into temporary folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `hrsync` with `args` and no inherited HRSYNC_* settings, ready to run.
pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hrsync"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HRSYNC_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args);
    cmd
}

/// Runs `hrsync` with `args` and no inherited HRSYNC_* settings.
pub fn hrsync(args: &[&str]) -> Output {
    command(args).output().expect("hrsync runs")
}

/// The exit code, stdout and stderr of a run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[&str]) -> Run {
    let out = hrsync(args);
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Copies a folder recursively (skipping `.hrsync` state).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == ".hrsync" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of `examples/sync-repo` in a temporary folder.
pub struct Example {
    pub tmp: tempfile::TempDir,
}

impl Example {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(&root().join("examples/sync-repo"), &tmp.path().join("repo"));
        Example { tmp }
    }

    pub fn repo(&self) -> PathBuf {
        self.tmp.path().join("repo")
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.repo().join(relative)
    }

    /// Runs hrsync on this repository as of 2026-11-22.
    pub fn run(&self, args: &[&str]) -> Run {
        let repo = self.repo();
        let mut all = vec!["--repo", repo.to_str().unwrap(), "--now", "2026-11-22T09:00:00Z"];
        all.extend_from_slice(args);
        run(&all)
    }

    /// The entries of the embedded directory, as JSON. Fails when the directory was
    /// never written (its folder is missing): a check over no entries would pass
    /// whatever it checks; use [`Example::nothing_written`] for that.
    pub fn entries(&self) -> Vec<serde_json::Value> {
        let dir = self.path(".hrsync/directories/corp");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("the embedded directory {} cannot be read: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            // Its groups are kept in a folder of their own.
            .filter(|p| p.is_file())
            .collect();
        names.sort();
        names.iter().map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()).collect()
    }

    /// Whether the embedded directory holds no entry (its folder missing or empty).
    pub fn nothing_written(&self) -> bool {
        match std::fs::read_dir(self.path(".hrsync/directories/corp")) {
            Ok(mut rd) => rd.next().is_none(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => panic!("the embedded directory cannot be read: {e}"),
        }
    }

    /// Rewrites the German CSV, keeping rows for which `keep` is true (the header always).
    pub fn edit_germany(&self, mut edit: impl FnMut(usize, &str) -> Option<String>) {
        let path = self.path("data/germany.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            let line = if i == 0 { Some(line.to_owned()) } else { edit(i, line) };
            if let Some(l) = line {
                out.push_str(&l);
                out.push('\n');
            }
        }
        std::fs::write(path, out).unwrap();
    }
}

/// The line the directory examples ship with: a real directory starts as a simulation.
const SHIPPED_MODE: &str = "\nmode: plan ";

/// `examples/directories/<name>` with each `(from, to)` replaced; every `from` must occur,
/// so the example and the tests that run it stay in step. The example ships `mode: plan`
/// (a real directory starts as a simulation); the tests run it in mode `apply`.
pub fn example_directory(name: &str, replacements: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(root().join("examples/directories").join(name)).unwrap();
    assert!(text.contains(SHIPPED_MODE), "examples/directories/{name} no longer ships `mode: plan`");
    text = text.replace(SHIPPED_MODE, "\nmode: apply ");
    for (from, to) in replacements {
        assert!(text.contains(from), "examples/directories/{name} no longer holds `{from}`");
        text = text.replace(from, to);
    }
    text
}

impl Example {
    /// The example repository with `examples/directories/<name>` (see
    /// [`example_directory`]) in place of its embedded directory, as `corp`.
    pub fn with_directory(name: &str, replacements: &[(&str, &str)]) -> Example {
        let ex = Example::new();
        std::fs::write(ex.path("directories/corp.yaml"), example_directory(name, replacements)).unwrap();
        ex
    }

    /// Replaces `from` (which must occur) with `to` in `directories/corp.yaml`.
    pub fn edit_directory(&self, from: &str, to: &str) {
        let path = self.path("directories/corp.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "corp.yaml holds no `{from}`");
        std::fs::write(path, text.replace(from, to)).unwrap();
    }

    /// Runs hrsync on this repository as of `now`, with `env` set (a secret, usually).
    pub fn run_with(&self, env: (&str, &str), now: &str, args: &[&str]) -> Run {
        let repo = self.repo();
        let out = Command::new(env!("CARGO_BIN_EXE_hrsync"))
            .args(["--repo", repo.to_str().unwrap(), "--now", now])
            .args(args)
            .env(env.0, env.1)
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Points `${env:NAME}` in `directories/corp.yaml` at a file holding `value`
    /// instead, for runs through the library in this process.
    pub fn secret_in_file(&self, name: &str, value: &str) {
        let secret = self.tmp.path().join("secret");
        std::fs::write(&secret, value).unwrap();
        let dir = self.path("directories/corp.yaml");
        let text = std::fs::read_to_string(&dir)
            .unwrap()
            .replace(&format!("${{env:{name}}}"), &format!("${{file:{}}}", secret.display()));
        std::fs::write(&dir, text).unwrap();
    }

    /// Takes the example's malformed row (10103, a start date of 31.02.2024) out of the
    /// German export. While a read skips a row of people, nobody of it becomes a leaver
    /// by being absent, so scenarios of leavers by absence begin with a clean export.
    pub fn drop_malformed_row(&self) {
        let mut dropped = false;
        self.edit_germany(|_, line| {
            let malformed = line.starts_with("10103;") && line.contains(";31.02.2024;");
            dropped |= malformed;
            (!malformed).then(|| line.to_owned())
        });
        assert!(dropped, "the example's malformed row is not where the tests expect it");
    }

    /// Sets the cell `column` of the German rows of `numbers` to `value`.
    pub fn set_german(&self, numbers: &[&str], column: usize, value: &str) {
        self.edit_germany(|_, line| {
            let mut cells: Vec<&str> = line.split(';').collect();
            if numbers.contains(&cells[0]) {
                cells[column] = value;
            }
            Some(cells.join(";"))
        });
    }

    /// Plans `corp` through the library as of `now`, calls `meanwhile` once the plan is
    /// made (someone writing to the directory), then applies the plan.
    pub fn race_the_plan(&self, now: &str, meanwhile: impl FnOnce()) -> hrsync::apply::Applied {
        use std::sync::Arc;

        use hrsync::config::files::{RepoFiles, WorkTree};
        use hrsync::run::{PlanOptions, Run as HrRun};
        use hrsync::state::StateStore;

        let files: Arc<dyn RepoFiles> = Arc::new(WorkTree::new(self.repo()));
        let config = hrsync::config::load(files.as_ref()).unwrap();
        let run = HrRun {
            config,
            files,
            store: StateStore::new(self.path(".hrsync")),
            now: now.parse().unwrap(),
            progress: hrsync::run::ShowProgress::Off,
            timer_secret: None,
        };
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let planned = runtime.block_on(async {
            let state = run.store.load().unwrap();
            let gathered = run.gather(None, &state).await.unwrap();
            run.plan(&gathered, &run.config.directories[0], &state, &PlanOptions::default()).await
        });
        let plan = planned.plan.unwrap();
        // Outside the runtime, so that `meanwhile` may block on one of its own.
        meanwhile();
        runtime.block_on(hrsync::apply::apply(&plan, planned.directory.as_ref(), &|_| {})).unwrap()
    }
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A child process that is killed when dropped, so a failing test leaves no process
/// behind.
pub struct KillOnDrop(pub std::process::Child);

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
