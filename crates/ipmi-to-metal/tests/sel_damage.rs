//! Issue 19, defect 5: a damaged SEL database (`sel.redb` cut to its first 4 KiB, cut to half,
//! bytes flipped in its pages) never panics the real binary. By default `serve` refuses to
//! start with an error that names the file and says what to do (exit status 1, not a panic's
//! 101, which systemd would restart into the same panic for ever); with
//! `sel_on_damage = "move-aside"` it moves the file aside, says so in an error line, and serves
//! with an empty SEL that ipmitool reads.

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// A BMC's directory whose SEL database holds the records of a few power actions, the server
/// stopped cleanly; and its port.
fn directory_with_a_sel() -> (tempfile::TempDir, u16) {
    let mut bmc = Bmc::start();
    for verb in ["off", "on", "off", "on"] {
        assert!(admin_run(&bmc, &format!("chassis power {verb}")).ok);
    }
    let info = admin(&bmc, "sel info");
    assert!(!info.contains("Entries          : 0"), "{info}");
    assert!(bmc.terminate().success());
    let port = bmc.port;
    let dir = std::mem::replace(&mut bmc.dir, tempfile::tempdir().unwrap());
    (dir, port)
}

/// `serve` on the directory's configuration, to its end (at most 20 s): exit code and stderr.
fn serve_once(dir: &std::path::Path) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ipmi-to-metal"))
        .args(["serve", "--config"])
        .arg(dir.join("bmc.toml"))
        .env("TEST_VIEWER_PASSWORD", VIEWER_PASSWORD)
        .env_remove("STATE_DIRECTORY")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("refused.log")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve kept running on a damaged SEL database");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(dir.join("refused.log")).unwrap();
    (status.code(), log)
}

fn damage(path: &std::path::Path, how: &str) {
    let mut bytes = std::fs::read(path).unwrap();
    match how {
        "cut to 4 KiB" => bytes.truncate(4096),
        "cut to half" => bytes.truncate(bytes.len() / 2),
        "bytes flipped" => {
            for page in (4096..bytes.len()).step_by(4096) {
                for i in (page..(page + 4096).min(bytes.len())).step_by(61) {
                    bytes[i] ^= 0x5a;
                }
            }
        }
        _ => unreachable!(),
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_damaged_sel_is_refused_with_the_file_named_or_moved_aside_never_a_panic() {
    for how in ["cut to 4 KiB", "cut to half", "bytes flipped"] {
        let (dir, port) = directory_with_a_sel();
        let sel = dir.path().join("bmc.toml.state/sel.redb");
        damage(&sel, how);
        // The default: no start, a clear error, no panic.
        let (code, log) = serve_once(dir.path());
        assert_eq!(code, Some(1), "{how}: exit status\n{log}");
        assert!(
            log.contains(&format!("the SEL database {} is damaged", sel.display()))
                && log.contains("Move the file aside")
                && log.contains("sel_on_damage = \"move-aside\"")
                && !log.contains("panicked"),
            "{how}:\n{log}"
        );
        // The operator's choice: the file moved aside, an empty SEL, said loudly.
        let config = std::fs::read_to_string(dir.path().join("bmc.toml")).unwrap();
        let config = format!("sel_on_damage = \"move-aside\"\n{config}");
        let bmc = Bmc::start_in(dir, port, &config);
        let log = bmc.server_log();
        assert!(
            log.contains("ERROR") && log.contains("every BMC starts with an EMPTY SEL"),
            "{how}:\n{log}"
        );
        let state = bmc.dir.path().join("bmc.toml.state");
        let aside: Vec<_> = std::fs::read_dir(&state)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("sel.redb.damaged-"))
            .collect();
        assert_eq!(aside.len(), 1, "{how}: {aside:?}");
        let info = admin(&bmc, "sel info");
        assert!(info.contains("Entries          : 0"), "{how}: {info}");
        assert!(admin_run(&bmc, "chassis power off").ok);
        assert!(!admin(&bmc, "sel info").contains("Entries          : 0"));
    }
}
