//! The packaging and deployment files agree with the program: the example configuration of the
//! Debian package and the Kubernetes ConfigMap pass `check-config` (the ConfigMap as the last
//! shard of the StatefulSet sees it), the StatefulSet's shard count is its replica count, and
//! the unit and the manifests give the graceful shutdown the time it takes. (`.ci/run` builds
//! and installs the package itself: packaging/test-deb.sh.)

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// A YAML file as JSON (with python3's yaml, which .ci/run installs).
fn yaml(path: &str) -> Value {
    let python = require("python3", "python3");
    let out = run(Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(repo(path)))
    .out();
    serde_json::from_str(&out).unwrap()
}

/// The drain's deadline in seconds, as `--help` states it.
fn drain_secs() -> u64 {
    let help = run(Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal")).arg("--help")).out();
    let (_, after) = help.split_once("up to ").expect("the drain in --help");
    after.split_whitespace().next().unwrap().parse().unwrap()
}

fn check_config(path: &Path, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"));
    cmd.arg("check-config")
        .arg(path)
        .env_remove("STATE_DIRECTORY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn the_packaged_unit_and_example_configuration_fit_the_program() {
    let config = repo("packaging/config.toml");
    let missing = check_config(&config, &[]);
    assert!(
        !missing.ok && missing.stderr.contains("IPMI_ADMIN_PASSWORD is not set"),
        "{}",
        missing.all()
    );
    let ok = check_config(&config, &[("IPMI_ADMIN_PASSWORD", "pw")]).out();
    assert!(ok.contains("sim: listen 127.0.0.1:623"), "{ok}");

    let unit = std::fs::read_to_string(repo("packaging/ipmi-to-metal.service")).unwrap();
    let key = |k: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} missing"))
            .to_string()
    };
    assert_eq!(
        key("ExecStart"),
        "/usr/bin/ipmi-to-metal serve --config /etc/ipmi-to-metal/config.toml"
    );
    // systemctl reload: SIGHUP, which reads the configuration again (tests/reload.rs).
    assert_eq!(key("ExecReload"), "/bin/kill -HUP $MAINPID");
    let stop: u64 = key("TimeoutStopSec").trim_end_matches('s').parse().unwrap();
    assert!(stop > drain_secs() + 2, "TimeoutStopSec={stop}");
    assert_eq!(key("KillMode"), "mixed");
    // A configuration error exits 2 (checked above): not worth restarting.
    assert_eq!(key("RestartPreventExitStatus"), "2");
    // A failure at every start (a panic: 101) is not restarted for ever.
    let burst: u32 = key("StartLimitBurst").parse().unwrap();
    let interval: u32 = key("StartLimitIntervalSec").parse().unwrap();
    let restart: u32 = key("RestartSec").trim_end_matches('s').parse().unwrap();
    assert!(
        burst * restart < interval,
        "{burst} starts every {restart} s fit in {interval} s"
    );
    // Bounds on descriptors, memory and tasks.
    let nofile: u64 = key("LimitNOFILE").parse().unwrap();
    assert!(nofile >= 16384, "LimitNOFILE={nofile}");
    assert!(
        unit.contains("\nMemoryMax=") && unit.contains("\nTasksMax="),
        "{unit}"
    );
    // systemd's own check of the unit as written (the package test checks it installed), with
    // the program built here in place of the packaged one.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("ipmi-to-metal.service");
    let here = unit.replace(
        "/usr/bin/ipmi-to-metal",
        env!("CARGO_BIN_EXE_ipmi-to-metal"),
    );
    std::fs::write(&copy, here).unwrap();
    let verify = run(Command::new(require("systemd-analyze", "systemd"))
        .args(["verify", "--man=no"])
        .arg(&copy));
    assert!(
        verify.ok && verify.all().trim().is_empty(),
        "systemd-analyze verify: {}",
        verify.all()
    );
    let sysusers = std::fs::read_to_string(repo("packaging/ipmi-to-metal.sysusers")).unwrap();
    assert!(sysusers.contains("u ipmi-to-metal - "), "{sysusers}");
    assert_eq!(key("User"), "ipmi-to-metal");
}

#[test]
fn the_kubernetes_manifests_fit_the_program_and_each_other() {
    let sts = yaml("deploy/statefulset.yaml");
    let svc = yaml("deploy/service.yaml");
    let cm = yaml("deploy/configmap.yaml");
    let secret = yaml("deploy/secret.yaml");
    let pod = &sts["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let env = |name: &str| {
        container["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("env {name} missing"))
            .clone()
    };
    // The shard count is the replica count; the index comes from the pod's own name.
    let replicas = sts["spec"]["replicas"].as_u64().unwrap();
    assert_eq!(env("IPMI_TO_METAL_SHARDS")["value"], replicas.to_string());
    assert_eq!(
        env("POD_NAME")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
    // Its headless Service gives each shard its DNS name.
    assert_eq!(sts["spec"]["serviceName"], svc["metadata"]["name"]);
    assert_eq!(svc["spec"]["clusterIP"], "None");
    // Host networking: one shard per node.
    assert_eq!(pod["hostNetwork"], true);
    let anti =
        &pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
    assert_eq!(anti[0]["topologyKey"], "kubernetes.io/hostname");
    // The graceful shutdown fits in the grace period.
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(
        grace > drain_secs() + 2,
        "terminationGracePeriodSeconds {grace}"
    );
    // The image's user (Containerfile) is the pod's.
    let containerfile = std::fs::read_to_string(repo("Containerfile")).unwrap();
    let uid = pod["securityContext"]["runAsUser"].as_u64().unwrap();
    assert!(
        containerfile.contains(&format!("USER {uid}:{uid}")),
        "USER {uid}"
    );
    // The ConfigMap is mounted where the arguments look, the secrets are in the environment.
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "config")
        .unwrap();
    assert_eq!(
        args,
        [
            "serve",
            "--config",
            &format!("{}/config.toml", mount["mountPath"].as_str().unwrap())
        ]
    );
    assert_eq!(
        container["envFrom"][0]["secretRef"]["name"],
        secret["metadata"]["name"]
    );

    // The configuration, as the last shard sees it: valid, in its shard.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, cm["data"]["config.toml"].as_str().unwrap()).unwrap();
    let last = format!("ipmi-to-metal-{}", replicas - 1);
    let mut secrets: Vec<(String, String)> = secret["stringData"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| (k.clone(), "test-secret".to_string()))
        .collect();
    secrets.push(("POD_NAME".into(), last));
    secrets.push(("IPMI_TO_METAL_SHARDS".into(), replicas.to_string()));
    let env: Vec<(&str, &str)> = secrets
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let out = check_config(&path, &env).out();
    assert!(
        out.contains(&format!("shard {}/{replicas}", replicas - 1)),
        "{out}"
    );
    // And refused without the shard count.
    let without: Vec<(&str, &str)> = env
        .iter()
        .copied()
        .filter(|(k, _)| *k != "IPMI_TO_METAL_SHARDS")
        .collect();
    assert!(!check_config(&path, &without).ok);
}
