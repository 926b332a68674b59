//! The command line: validate messages, exit codes, schema freshness, preview, and the
//! errors of what is not built yet.

use crate::util::{Example, command, json, root, run};

#[test]
fn validate_reports_three_mistakes_in_two_files_with_positions() {
    let ex = Example::new();
    let dir = ex.path("directories/corp.yaml");
    let text = std::fs::read_to_string(&dir)
        .unwrap()
        .replace(
            "  sn:              { value: \"{{ last_name }}\" }",
            "  sn:              { valeu: \"{{ last_name }}\" }",
        )
        .replace("{{ work_email | lower }}", "{{ work_mail | lower }}");
    std::fs::write(&dir, text).unwrap();
    let src = ex.path("sources/germany.yaml");
    let text = std::fs::read_to_string(&src).unwrap().replace("filters: [staff]", "filters: [staf]");
    std::fs::write(&src, text).unwrap();

    let out = ex.run(&["validate"]);
    assert_eq!(out.code, 1, "{out:?}");
    let lines: Vec<&str> = out.stderr.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(
        lines,
        [
            "directories/corp.yaml:23:22: error: unknown key `valeu`",
            "directories/corp.yaml:24:33: error: in template: unknown field `work_mail`",
            "sources/germany.yaml:35:11: error: unknown filter `staf`",
        ],
        "{out:?}"
    );
    assert!(out.stderr.contains("hint: did you mean `value`?"), "{out:?}");
    assert!(out.stderr.contains("hint: did you mean `work_email`?"), "{out:?}");
    assert!(out.stderr.contains("hint: did you mean `staff`?"), "{out:?}");
    assert!(out.stderr.trim_end().ends_with("3 problems in 2 files"), "{out:?}");
    // Every command refuses an invalid repository the same way.
    assert_eq!(ex.run(&["plan"]).code, 1);
}

#[test]
fn validate_accepts_the_example() {
    let out = run(&["--repo", root().join("examples/sync-repo").to_str().unwrap(), "validate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("ok: workspace `acme`"), "{out:?}");
    assert!(out.stdout.contains("2 sources, 1 directory, 2 filters"), "{out:?}");
}

#[test]
fn validate_online_reads_sources_and_directories() {
    let ex = Example::new();
    let out = ex.run(&["validate", "--online"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("source `germany`: ok, 102 people"), "{out:?}");
    assert!(out.stdout.contains("directory `corp`: ok"), "{out:?}");
    std::fs::remove_file(ex.path("data/france.json")).unwrap();
    let out = ex.run(&["validate", "--online"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("source `france`: FAILED: cannot read `data/france.json`"), "{out:?}");
}

#[test]
fn logs_are_json_lines_with_log_format_json() {
    let ex = Example::new();
    let out = ex.run(&["--log-format", "json", "-v", "plan"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<serde_json::Value> = out.stderr.lines().map(json).collect();
    let read = lines
        .iter()
        .find(|l| l["fields"]["message"] == "source read" && l["fields"]["source"] == "germany")
        .unwrap_or_else(|| panic!("{out:?}"));
    assert_eq!(read["level"], "INFO");
    assert_eq!(read["fields"]["people"], 102);
    assert!(lines.iter().any(|l| l["fields"]["message"] == "plan computed"), "{out:?}");

    // A failure is a JSON line too, at any verbosity.
    let out = ex.run(&["--log-format", "json", "plan", "--directory", "nope"]);
    assert_eq!(out.code, 1, "{out:?}");
    let last = json(out.stderr.lines().last().unwrap_or_default());
    assert_eq!(last["level"], "ERROR", "{out:?}");
    assert!(last["fields"]["error"].as_str().unwrap().contains("there is no directory `nope`"), "{out:?}");
}

#[test]
fn repository_options_go_before_or_after_the_command_but_not_on_schema() {
    let ex = Example::new();
    let repo = ex.repo();
    let repo = repo.to_str().unwrap();
    // Full: masked labels are keyed per process until a run has written state.
    let before = run(&["--repo", repo, "--now", "2026-11-22", "plan", "--format", "json", "--pii", "full"]);
    assert_eq!(before.code, 0, "{before:?}");
    let after = run(&["plan", "--format", "json", "--pii", "full", "--repo", repo, "--now", "2026-11-22"]);
    assert_eq!(after.code, 0, "{after:?}");
    assert_eq!(before.stdout, after.stdout, "the same plan, whichever side the options are on");
    // After the command wins over before it, and the command line over the environment.
    let out =
        command(&["--repo", "/nonexistent", "plan", "--format", "json", "--pii", "full", "--repo", repo])
            .env("HRSYNC_NOW", "2026-11-22")
            .env("HRSYNC_REPO", "/nonexistent/too")
            .output()
            .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), before.stdout);
    let plan_help = run(&["plan", "--help"]).stdout;
    let schema_help = run(&["schema", "--help"]).stdout;
    for flag in ["--repo", "--ref", "--state-dir", "--now"] {
        assert!(plan_help.contains(flag), "{plan_help}");
        assert!(
            !schema_help.contains(flag),
            "`schema --help` offers {flag}, which does nothing there:\n{schema_help}"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    for args in
        [&["--repo", repo, "schema", "--out", out][..], &["schema", "--out", out, "--now", "2026-11-22"]]
    {
        let refused = run(args);
        assert_eq!(refused.code, 1, "{refused:?}");
        assert!(refused.stderr.contains("not apply to `hrsync schema`"), "{refused:?}");
    }
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none(), "nothing written");
    assert_eq!(run(&["schema", "--out", out]).code, 0);
}

#[test]
fn daemon_help_says_what_the_daemon_does() {
    let help = run(&["daemon", "--help"]);
    assert_eq!(help.code, 0, "{help:?}");
    for what in [
        "--once",
        "every new commit of the tracked branch",
        "schedule.interval",
        "SIGHUP",
        "POST /runs",
        "SIGTERM",
        "remote git URL",
        "/healthz",
    ] {
        assert!(help.stdout.contains(what), "`daemon --help` does not mention {what}:\n{}", help.stdout);
    }
    assert!(!help.stdout.contains("not built"), "{}", help.stdout);
    assert!(!help.stdout.contains("--ref"), "the daemon reads --branch: {}", help.stdout);
}

#[test]
fn config_mistakes_are_reported_each_at_its_line_as_text_or_as_json_lines() {
    let ex = Example::new();
    ex.edit_directory(
        "    mode: import_once              # picked",
        "    mode: importonce               # picked",
    );
    ex.edit_directory("joiners: {", "joinerz: 1\nleaverz: 2\njoiners: {");
    let ws = ex.path("hrsync.yaml");
    let text = std::fs::read_to_string(&ws)
        .unwrap()
        .replace("pii: masked }", "pii: hashed, pii_key: \"${envv:KEY}\" }");
    std::fs::write(&ws, text).unwrap();
    let expected = [
        (
            "directories/corp.yaml",
            20,
            11,
            "`importonce` is not a field mode: expected one of `continuous`, `import_once`, `ignore`",
            "did you mean `import_once`?",
        ),
        ("directories/corp.yaml", 34, 1, "unknown key `joinerz`", "did you mean `joiners`?"),
        ("directories/corp.yaml", 35, 1, "unknown key `leaverz`", "did you mean `leavers`?"),
        (
            "hrsync.yaml",
            20,
            73,
            "unknown secret scheme `envv`: hrsync knows `env` and `file`",
            "did you mean `env`?",
        ),
    ];
    let text = ex.run(&["validate"]);
    assert_eq!(text.code, 1, "{text:?}");
    let shown: Vec<&str> = text.stderr.lines().collect();
    let mut want = Vec::new();
    for (file, line, column, message, hint) in expected {
        want.push(format!("{file}:{line}:{column}: error: {message}"));
        want.push(format!("  hint: {hint}"));
    }
    want.push("4 problems in 2 files".into());
    assert_eq!(shown, want, "{text:?}");

    let logs = ex.run(&["--log-format", "json", "validate"]);
    assert_eq!(logs.code, 1, "{logs:?}");
    let lines: Vec<serde_json::Value> = logs.stderr.lines().map(json).collect();
    assert_eq!(lines.len(), expected.len() + 1, "one line per diagnostic, then their count: {logs:?}");
    for (line, (file, n, column, message, hint)) in lines.iter().zip(expected) {
        assert_eq!(line["level"], "ERROR");
        let f = &line["fields"];
        assert_eq!(
            (f["file"].as_str(), f["line"].as_u64(), f["column"].as_u64()),
            (Some(file), Some(n), Some(column))
        );
        assert_eq!((f["message"].as_str(), f["hint"].as_str()), (Some(message), Some(hint)));
    }
    assert_eq!(lines[4]["fields"]["problems"], 4);
    // The errors of a command that fails later are JSON lines too.
    let ex = Example::new();
    ex.edit_directory("mode: apply ", "mode: plan  ");
    let out = ex.run(&["--log-format", "json", "apply"]);
    assert_eq!(out.code, 1, "{out:?}");
    let lines: Vec<serde_json::Value> = out.stderr.lines().map(json).collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"].as_str().is_some_and(|m| m.contains("is in mode `plan`"))),
        "{out:?}"
    );
}

#[test]
fn without_a_terminal_the_progress_of_an_apply_is_logged_as_lines() {
    // 1,200 more people make an apply long enough to be followed; stderr is a pipe here.
    let more = |ex: &Example| {
        let path = ex.path("data/germany.csv");
        let mut text = std::fs::read_to_string(&path).unwrap();
        for i in 0..1200 {
            text.push_str(&format!(
                "2{i:04};Test;Person{i};test.person{i}@acme.example;DE-ENG;Engineer;10001;Aktiv;Festangestellt;01.01.2020;;Berlin;ACME GmbH;\n"
            ));
        }
        std::fs::write(path, text).unwrap();
    };
    let ex = Example::new();
    more(&ex);
    let out = ex.run(&["apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    let progress: Vec<&str> = out.stderr.lines().filter(|l| l.contains("hrsync::run::progress")).collect();
    assert!(
        progress
            .iter()
            .any(|l| l.contains("INFO") && l.contains("applying") && l.contains("done=1000 total=1343")),
        "progress lines at the default verbosity: {out:?}"
    );
    let ex = Example::new();
    more(&ex);
    let out = ex.run(&["--log-format", "json", "run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<serde_json::Value> = out.stderr.lines().map(json).collect();
    let line =
        lines.iter().find(|l| l["fields"]["message"] == "applying").unwrap_or_else(|| panic!("{out:?}"));
    assert_eq!((line["level"].as_str(), line["fields"]["done"].as_u64()), (Some("INFO"), Some(1000)));
    // A short apply says nothing more than it did.
    let out = Example::new().run(&["apply"]);
    assert!(!out.stderr.contains("applying"), "{out:?}");
}

#[test]
fn plan_exit_codes() {
    let ex = Example::new();
    assert_eq!(ex.run(&["plan", "--detailed-exitcode"]).code, 2, "changes");
    assert_eq!(ex.run(&["plan"]).code, 0, "changes, without --detailed-exitcode");
    let missing = run(&["--repo", "/nonexistent/hrsync", "plan", "--detailed-exitcode"]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(missing.stderr.contains("is not a folder"), "{missing:?}");
    let unknown = ex.run(&["plan", "--directory", "nope"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("there is no directory `nope`"), "{unknown:?}");
    assert_eq!(ex.run(&["apply"]).code, 0);
    assert_eq!(ex.run(&["plan", "--detailed-exitcode"]).code, 0, "no changes");
}

#[test]
fn what_is_not_built_yet_says_so() {
    let ex = Example::new();
    let listen = ex.run(&["daemon", "--once", "--listen", "127.0.0.1:9090"]);
    assert_eq!(listen.code, 1);
    assert!(listen.stderr.contains("`--listen` serves a watching daemon"), "{listen:?}");
    let outside_git = ex.run(&["daemon"]);
    assert_eq!(outside_git.code, 1);
    assert!(outside_git.stderr.contains("is not inside a git repository"), "{outside_git:?}");
    let base = ex.run(&["plan", "--base", "main"]);
    assert_eq!(base.code, 1);
    assert!(base.stderr.contains("cannot read `--base main` from git"), "outside git: {base:?}");
    let remote = run(&["--repo", "https://example.invalid/sync.git", "validate"]);
    assert_eq!(remote.code, 1);
    assert!(remote.stderr.contains("is a remote repository"), "{remote:?}");
}

#[test]
fn an_approval_that_is_not_a_plan_id_is_an_error_not_a_silent_no_match() {
    let ex = Example::new();
    for command in ["apply", "run"] {
        let out = ex.run(&[command, "--approve", "8051839cb955c505e05273767741ab6"]);
        assert_eq!(out.code, 1, "exit 1 (an error), never 2 (changes): {out:?}");
        assert!(out.stderr.contains("is not a plan id: a plan id is 32 lowercase hex digits"), "{out:?}");
        assert!(out.stderr.contains("check the id given with `--approve`"), "{out:?}");
    }
    assert!(ex.nothing_written());
}

#[test]
fn a_directory_in_plan_mode_is_never_written() {
    let ex = Example::new();
    let dir = ex.path("directories/corp.yaml");
    let text = std::fs::read_to_string(&dir).unwrap().replace("mode: apply ", "mode: plan  ");
    std::fs::write(&dir, text).unwrap();
    let out = ex.run(&["apply"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("is in mode `plan` (simulation)"), "{out:?}");
    let job = crate::util::json(&ex.run(&["run"]).stdout);
    assert_eq!(job["directories"]["corp"]["applied"], false);
    assert_eq!(job["directories"]["corp"]["created"], 143, "the plan is still computed");
    assert!(ex.nothing_written());
}

#[test]
fn schema_folder_is_up_to_date() {
    // The project's, and the example repository's own copy its files point at.
    for folder in ["schema", "examples/sync-repo/schema"] {
        let out = run(&["schema", "--check", "--out", root().join(folder).to_str().unwrap()]);
        assert_eq!(
            out.code, 0,
            "{folder}/ is stale: run `cargo run -- schema --out {folder}` and commit it\n{out:?}"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let stale = run(&["schema", "--check", "--out", tmp.path().to_str().unwrap()]);
    assert_eq!(stale.code, 1, "{stale:?}");
    assert_eq!(run(&["schema", "--out", tmp.path().to_str().unwrap()]).code, 0);
    assert_eq!(run(&["schema", "--check", "--out", tmp.path().to_str().unwrap()]).code, 0);
}

/// The schema a file's first line points at, relative to the file.
fn schema_comment(file: &std::path::Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let first = text.lines().next().unwrap_or_default();
    first
        .strip_prefix("# yaml-language-server: $schema=")
        .unwrap_or_else(|| panic!("{} has no schema comment", file.display()))
        .to_owned()
}

/// `path` without `.` and `..`, as an editor resolves it (not following links).
fn normalize(path: &std::path::Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn example_files_point_at_schemas_that_travel_with_the_repository() {
    // A copy of examples/sync-repo keeps working in an editor: every comment points into
    // the repository's own schema/ folder, never out of it.
    let repo = root().join("examples/sync-repo");
    let mut files = vec![repo.join("hrsync.yaml")];
    for dir in ["sources", "directories", "filters"] {
        for e in std::fs::read_dir(repo.join(dir)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    for f in &files {
        let target = normalize(&f.parent().unwrap().join(schema_comment(f)));
        assert!(
            target.starts_with(repo.join("schema")),
            "{} points out of the repository: {}",
            f.display(),
            target.display()
        );
        assert!(target.is_file(), "{} points at a missing schema", f.display());
    }
    // The directory and source examples are copied into a sync repository's
    // directories/ and sources/: their comments point at its schema/ from there, and
    // from where they are (examples/schema is a link to the example's).
    for (dir, kind) in [("directories", "directory"), ("sources", "source")] {
        for e in std::fs::read_dir(root().join("examples").join(dir)).unwrap() {
            let f = e.unwrap().path();
            let schema = schema_comment(&f);
            assert_eq!(schema, format!("../schema/{kind}.schema.json"), "{}", f.display());
            assert!(repo.join(dir).join(&schema).is_file(), "{}", f.display());
            assert!(f.parent().unwrap().join(&schema).is_file(), "{}", f.display());
        }
    }
}

#[test]
fn the_ci_example_installs_the_hrsync_its_variables_name_and_no_placeholder() {
    let text = std::fs::read_to_string(root().join("examples/ci/plan-review.github.yml")).unwrap();
    let workflow: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let steps = workflow["jobs"]["review"]["steps"].as_sequence().unwrap();
    let install = steps.iter().find(|s| s["name"].as_str() == Some("Install hrsync")).unwrap();
    let script = install["run"].as_str().unwrap();
    assert!(!script.contains("://"), "no hard-coded source: {script}");
    // Run the step with a `cargo` that records what it is asked and installs a stub.
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let cargo = bin.join("cargo");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\necho \"$@\" > {0}/asked\nprintf '#!/bin/sh\\necho hrsync 0.1.0\\n' > {0}/bin/hrsync\nchmod +x {0}/bin/hrsync\n",
            tmp.path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let step = |vars: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new("bash");
        cmd.args(["-e", "-c", script]).env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
        cmd.env_remove("HRSYNC_GIT_URL").env_remove("HRSYNC_GIT_REV");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let unset = step(&[]);
    assert_eq!(unset.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unset.stdout).contains("set the repository variables HRSYNC_GIT_URL"));
    let set =
        step(&[("HRSYNC_GIT_URL", "https://git.acme.example/idm/hrsync.git"), ("HRSYNC_GIT_REV", "v0.1.0")]);
    assert!(set.status.success(), "{set:?}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("asked")).unwrap().trim(),
        "install --locked --git https://git.acme.example/idm/hrsync.git --rev v0.1.0 hrsync"
    );
    assert_eq!(String::from_utf8_lossy(&set.stdout).trim(), "hrsync 0.1.0");
}

#[test]
fn preview_lists_who_is_excluded_and_why() {
    let ex = Example::new();
    let out = ex.run(&["preview", "--pii", "full"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("| `germany:10097` | Dirk Brandt | germany | excluded by filter `staff` exclude[0]: contractors use the vendor portal |"),
        "{out:?}"
    );
    assert!(out.stdout.contains("144 included, 4 excluded."), "{out:?}");
    assert!(
        out.stdout.contains("data/germany.csv:104: person skipped: start_date is not a valid date"),
        "{out:?}"
    );
    let masked = ex.run(&["preview"]);
    assert!(!masked.stdout.contains("Dirk Brandt"), "the workspace's pii policy applies by default");
}

#[test]
fn secrets_and_hashed_values_never_leak() {
    let ex = Example::new();
    let ws = ex.path("hrsync.yaml");
    let text = std::fs::read_to_string(&ws)
        .unwrap()
        .replace("pii: masked }", "pii: hashed, pii_key: \"${env:HRSYNC_TEST_PII_KEY}\" }");
    std::fs::write(&ws, text).unwrap();
    let missing = ex.run(&["plan"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("HRSYNC_TEST_PII_KEY"), "{missing:?}");
    let repo = ex.repo();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
        .args(["--repo", repo.to_str().unwrap(), "--now", "2026-11-22", "plan", "-vv"])
        .env("HRSYNC_TEST_PII_KEY", "correct-horse-battery-staple")
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains("correct-horse-battery-staple"));
    assert!(!all.contains("Katharina"));
    assert!(all.contains("| `cn` | — | h:"), "hashed values are shown as keyed hashes");
}

#[test]
fn one_run_at_a_time_per_state_directory_and_a_killed_holder_frees_it() {
    use std::io::BufRead;
    let ex = Example::new();
    std::fs::create_dir_all(ex.path(".hrsync")).unwrap();
    // Another process holds the lock (flock(2), as hrsync takes it) until it is killed.
    let holder = std::process::Command::new("python3")
        .args([
            "-c",
            "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(120)",
        ])
        .arg(ex.path(".hrsync/lock"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut holder = crate::util::KillOnDrop(holder);
    let mut line = String::new();
    std::io::BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "locked");
    let busy = ex.run(&["apply"]);
    assert_eq!(busy.code, 1, "{busy:?}");
    assert!(busy.stderr.contains("another hrsync run is using"), "{busy:?}");
    assert!(ex.nothing_written(), "nothing written");
    assert_eq!(ex.run(&["plan", "--detailed-exitcode"]).code, 2, "planning does not need the lock");
    assert_eq!(ex.run(&["run", "--dry-run"]).code, 0, "nor does a dry run");
    // The holder is killed (SIGKILL: no chance to clean up); the lock goes with it.
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(ex.run(&["apply"]).code, 0);
}
