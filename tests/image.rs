//! The OCI image `scripts/image` builds (buildah, from scratch): the example runs inside
//! it under podman, as the non-root user the image names, on a read-only root file
//! system, with no network, writing only the state volume and the mounted repository.
//!
//! The image holds the binary under test (stripped of its debug information: the same
//! code and libraries as the release build, a tenth of the size), in a storage of the
//! test's own; the machine's containers are left alone. podman runs it with runc and
//! cgroupfs (this machine's cgroups are a v1/v2 hybrid, which crun refuses) and no
//! default ulimits (the sandbox does not let a container raise them).

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use git2::Repository;

use crate::daemon::{commit_all, reports};
use crate::util::{Example, json, root};

/// `name`, or a failure saying how to get it.
fn tool(name: &str) -> String {
    let found = Command::new("sh").args(["-c", &format!("command -v {name}")]).output().unwrap();
    assert!(
        found.status.success(),
        "`{name}` is missing: run the suite with scripts/test, which installs podman, buildah and runc"
    );
    String::from_utf8(found.stdout).unwrap().trim().to_owned()
}

/// Container settings of the test's own: its storage, runc, cgroupfs, no ulimits.
fn configure<'a>(cmd: &'a mut Command, dir: &Path) -> &'a mut Command {
    cmd.env("CONTAINERS_STORAGE_CONF", dir.join("storage.conf"))
        .env("CONTAINERS_CONF", dir.join("containers.conf"))
}

/// This process's user id.
fn uid() -> u32 {
    std::fs::metadata("/proc/self").unwrap().uid()
}

/// `program`, as root: itself when this is root, else through passwordless `sudo`,
/// keeping the container settings of [`configure`].
fn privileged(program: impl AsRef<std::ffi::OsStr>) -> Command {
    if uid() == 0 {
        return Command::new(program);
    }
    let mut cmd = Command::new("sudo");
    cmd.args(["-n", "--preserve-env=CONTAINERS_STORAGE_CONF,CONTAINERS_CONF"]).arg(program);
    cmd
}

fn chown(path: &Path, uid: u32) {
    let status = privileged("chown").args(["-R", &format!("{uid}:{uid}")]).arg(path).status().unwrap();
    assert!(status.success(), "chown {}", path.display());
}

#[test]
fn the_image_runs_the_example_as_its_non_root_user_on_a_read_only_root() {
    let (podman, _) = (tool("podman"), tool("buildah"));
    tool("runc");
    // buildah's copy keeps the state folder's owner and podman maps no users: root, or
    // passwordless sudo.
    let root_ok = uid() == 0 || Command::new("sudo").args(["-n", "true"]).status().is_ok_and(|s| s.success());
    assert!(root_ok, "the image test runs as root or with passwordless sudo (buildah and podman as root)");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("storage.conf"),
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/storage\"\nrunroot = \"{0}/run\"\n",
            dir.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("containers.conf"),
        "[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nruntime = \"runc\"\n",
    )
    .unwrap();
    let binary = dir.join("hrsync");
    let stripped = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(env!("CARGO_BIN_EXE_hrsync"))
        .arg(&binary)
        .status()
        .unwrap();
    assert!(stripped.success());

    // Built, and the archive written beside it.
    let tag = "localhost/hrsync:test";
    let archive = dir.join("hrsync.oci.tar");
    let built = configure(&mut privileged(root().join("scripts/image")), dir)
        .arg("--binary")
        .arg(&binary)
        .args(["--tag", tag, "--archive"])
        .arg(&archive)
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    assert_eq!(String::from_utf8_lossy(&built.stdout).trim(), tag);
    assert!(std::fs::metadata(&archive).unwrap().len() > 1_000_000, "the OCI archive");
    let inspect = configure(&mut privileged(&podman), dir).args(["image", "inspect", tag]).output().unwrap();
    assert!(inspect.status.success(), "{}", String::from_utf8_lossy(&inspect.stderr));
    let config = &json(&String::from_utf8_lossy(&inspect.stdout))[0]["Config"];
    assert_eq!(config["User"], "10001:10001", "{config}");
    assert_eq!(config["Entrypoint"][0], "/usr/local/bin/hrsync", "{config}");
    assert!(config["Volumes"].get("/var/lib/hrsync").is_some(), "{config}");
    assert!(
        config["Env"].as_array().unwrap().iter().any(|e| e == "HRSYNC_STATE_DIR=/var/lib/hrsync"),
        "{config}"
    );

    // The example, committed, in a repository the container user may write (the reports
    // branch goes there), and an empty state volume.
    let ex = Example::new();
    let repo = Repository::init(ex.repo()).unwrap();
    commit_all(&repo, "the example");
    let state = dir.join("state");
    std::fs::create_dir(&state).unwrap();
    chown(&ex.repo(), 10001);
    chown(&state, 10001);
    let ran = configure(&mut privileged(&podman), dir)
        .args(["run", "--rm", "--read-only", "--network", "none", "-v"])
        .arg(format!("{}:/repo", ex.repo().display()))
        .arg("-v")
        .arg(format!("{}:/var/lib/hrsync", state.display()))
        .args([tag, "daemon", "--once", "--repo", "/repo", "--now", "2026-11-22T09:00:00Z"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(ran.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&ran.stderr));
    let result = json(&stdout);
    assert_eq!(result["directories"]["corp"]["created"], 143, "{stdout}");
    // The embedded directory and the run state are in the state volume, the user's.
    let written = std::fs::metadata(state.join("state.json")).unwrap();
    assert_eq!((written.uid(), written.gid()), (10001, 10001), "written as the image's user");
    chown(&ex.repo(), uid()); // git refuses to open a repository of another user
    let commits = reports(&Repository::open(ex.repo()).unwrap());
    assert_eq!(commits.len(), 2, "plan and result: {commits:#?}");
    let entries = std::fs::read_dir(state.join("directories/corp")).unwrap().count();
    assert!(entries > 0, "the file directory was written to the volume");
}
