//! The deployment files: the Kubernetes manifests validated offline against the
//! Kubernetes schema (`kubernetes-validate --strict`, from PyPI, which `scripts/test`
//! installs) and checked for what running hrsync needs, and the systemd unit checked
//! with `systemd-analyze verify`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::root;

/// The manifests of a kustomization folder, as its `resources` list them.
fn resources(folder: &str) -> Vec<PathBuf> {
    let dir = root().join(folder);
    let text = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
    let k: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    k["resources"].as_sequence().unwrap().iter().map(|r| dir.join(r.as_str().unwrap())).collect()
}

fn yaml(path: &Path) -> serde_yaml::Value {
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_kubernetes_manifests_validate_offline_and_list_every_file() {
    let validate = std::env::var("HRSYNC_TEST_KUBERNETES_VALIDATE")
        .expect("HRSYNC_TEST_KUBERNETES_VALIDATE: run the suite with scripts/test, which installs kubernetes-validate");
    for folder in ["deploy/kubernetes/base", "deploy/kubernetes/cronjob"] {
        let listed = resources(folder);
        // Every manifest of the folder is in its kustomization.
        for entry in std::fs::read_dir(root().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if name != "kustomization.yaml" && name.ends_with(".yaml") {
                assert!(listed.contains(&path), "{folder}/{name} is not in its kustomization.yaml");
            }
        }
        for file in listed {
            let out = Command::new(&validate).arg("--strict").arg(&file).output().unwrap();
            let said =
                format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "{}: {said}", file.display());
            let kind = yaml(&file)["kind"].as_str().unwrap().to_owned();
            // A custom resource has no schema to check against; every other kind passes.
            if kind == "ServiceMonitor" {
                assert!(said.contains("Couldn't find schema for kind ServiceMonitor"), "{said}");
            } else {
                assert!(said.contains("passed for resource"), "{}: {said}", file.display());
            }
        }
    }
}

#[test]
fn the_deployment_runs_one_daemon_unprivileged_with_its_secrets_from_secrets() {
    let d = yaml(&root().join("deploy/kubernetes/base/deployment.yaml"));
    let spec = &d["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["strategy"]["type"], "Recreate", "never two daemons on one repository");
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["automountServiceAccountToken"], false);
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(
        c["resources"]["requests"]["memory"].is_string() && c["resources"]["requests"]["cpu"].is_string()
    );
    let args: Vec<&str> = c["args"].as_sequence().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(&args[..2], ["daemon", "--listen"]);
    // Every variable hrsync reads a secret from comes from a Secret, never a value.
    for var in c["env"].as_sequence().unwrap() {
        let name = var["name"].as_str().unwrap();
        if ["PASSWORD", "TOKEN", "SECRET", "KEY"].iter().any(|s| name.contains(s)) {
            assert!(var["value"].is_null() && var["valueFrom"]["secretKeyRef"].is_mapping(), "{name}");
        }
    }
    // The one writable place is the state volume (and /tmp).
    let mounts: Vec<&str> = c["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|m| m["readOnly"] != true)
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert_eq!(mounts, ["/var/lib/hrsync", "/tmp"]);
    // The state persists (notifications keep there what each channel was told), as the
    // image's user.
    let state = pod["volumes"].as_sequence().unwrap().iter().find(|v| v["name"] == "state").unwrap();
    assert_eq!(state["persistentVolumeClaim"]["claimName"], "hrsync-state", "{state:?}");
    assert_eq!(pod["securityContext"]["runAsUser"].as_u64(), Some(10001), "the image's uid");
    let cron = yaml(&root().join("deploy/kubernetes/cronjob/cronjob.yaml"));
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    let job = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(job["args"][1], "--once");
}

#[test]
fn the_systemd_unit_is_hardened_and_verifies() {
    let unit = std::fs::read_to_string(root().join("deploy/systemd/hrsync.service")).unwrap();
    for line in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=hrsync",
        "LoadCredential=git-password:",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(line), "{line}");
    }
    // `systemd-analyze verify` needs the binary it starts; it says every problem on
    // stderr (and may still exit 0), so success is saying nothing.
    let Ok(analyze) = which("systemd-analyze") else {
        panic!("systemd-analyze is not installed here (Debian package systemd)");
    };
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("hrsync.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/hrsync", env!("CARGO_BIN_EXE_hrsync"))).unwrap();
    let out = Command::new(analyze).arg("verify").arg(&copy).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    // It does find mistakes.
    std::fs::write(
        &copy,
        std::fs::read_to_string(&copy).unwrap().replace("ProtectSystem=strict", "ProtectSystem=strictest"),
    )
    .unwrap();
    let out = Command::new(which("systemd-analyze").unwrap()).arg("verify").arg(&copy).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("protect system"), "{out:?}");
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}
