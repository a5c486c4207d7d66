//! Live reload end to end, on the real binary: SIGHUP (`kill -s HUP`) and `POST /reload` read
//! the configuration file again. A BMC added starts and one removed stops while an ipmitool
//! session on a third, unchanged one carries on across the reload (one `exec` whose commands
//! before and after succeed in the same session); a changed BMC restarts (its sessions end:
//! the same `exec` fails after it) with its new settings, a new password in its password file
//! included; a file that does not load, or a port that cannot be bound, is refused with its
//! error logged and the configuration in force keeps serving whole; the admin API's reload
//! needs the token; and BMCs a discovery started are left alone, or taken over by the
//! discovery's successor when it changes.

mod common;
use common::metal::*;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A GUID to set, as ipmitool shows it.
const GUID: &str = "01234567-89ab-4def-8123-456789abcdef";

/// The standard test BMC's table, named `name`, on `port`, with `extra` keys.
fn sim(name: &str, port: u16, extra: &str) -> String {
    standard_config(port, extra).replacen("name = \"node1\"", &format!("name = \"{name}\""), 1)
}

/// Replaces the server's configuration file.
fn write_config(bmc: &Bmc, text: &str) {
    std::fs::write(bmc.dir.path().join("bmc.toml"), text).unwrap();
}

/// How many reloads the server has logged the outcome of.
fn outcomes(bmc: &Bmc) -> usize {
    bmc.server_log().matches(" outcome=\"").count()
}

/// Sends SIGHUP and waits for the reload's outcome; returns the log it wrote.
fn reload(bmc: &Bmc) -> String {
    let before = bmc.server_log().len();
    let done = outcomes(bmc) + 1;
    bmc.signal("HUP");
    assert!(
        eventually(20, || outcomes(bmc) >= done),
        "no reload outcome logged:\n{}",
        bmc.server_log()
    );
    bmc.server_log()[before..].to_string()
}

/// An ipmitool session kept open by `exec /dev/stdin`: each command written to it runs in the
/// same session, whenever it is written. Its output is read line by line (`stdbuf -oL`).
struct Shell {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Shell {
    fn open(port: u16) -> Shell {
        let mut child = Command::new("timeout")
            .arg("120")
            .arg(require("stdbuf", "coreutils"))
            .arg("-oL")
            .arg(require("ipmitool", "ipmitool"))
            .args(["-I", "lanplus", "-H", "127.0.0.1", "-p", &port.to_string()])
            .args([
                "-U",
                "admin",
                "-E",
                "-N",
                "1",
                "-R",
                "2",
                "exec",
                "/dev/stdin",
            ])
            .env("IPMI_PASSWORD", ADMIN_PASSWORD)
            .env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ipmitool");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Shell {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Runs a command in the session and waits for a line of its output containing `expect`.
    fn run(&mut self, cmd: &str, expect: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{cmd}").unwrap();
        stdin.flush().unwrap();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(line) => {
                    let found = line.contains(expect);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!("{cmd:?}: no {expect:?} in {:?}", self.seen),
            }
        }
    }

    /// Runs a last command, ends the session and returns whether ipmitool succeeded, its
    /// output and its errors.
    fn close_after(mut self, cmd: &str) -> (bool, String, String) {
        let mut stdin = self.stdin.take().unwrap();
        writeln!(stdin, "{cmd}").unwrap();
        drop(stdin);
        let out = self.child.wait_with_output().unwrap();
        self.seen.extend(self.lines.try_iter());
        (
            out.status.success(),
            self.seen.join("\n"),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// The lines of the log that say a session was opened on the BMC `name`.
fn sessions_opened(bmc: &Bmc, name: &str) -> usize {
    let span = format!("bmc{{name={name} ");
    bmc.server_log()
        .lines()
        .filter(|l| l.contains(&span) && l.contains("session opened"))
        .count()
}

#[test]
fn a_reload_adds_and_removes_bmcs_while_a_session_on_an_unchanged_one_carries_on() {
    let (p1, p2, p3) = (free_port(), free_port(), free_port());
    let bmc = Bmc::start_config(
        p1,
        &format!("{}\n{}", sim("node1", p1, ""), sim("node2", p2, "")),
    );
    assert!(answers_ping(p2));
    // The viewer's short password, said once at start for both BMCs (one line, naming them),
    // and once for a BMC a reload adds.
    let warned = |log: &str, name: &str| {
        log.lines()
            .filter(|l| l.contains("weakened setting") && l.contains(&format!("bmc \"{name}\"")))
            .count()
    };
    assert_eq!(
        warned(&bmc.server_log(), "node1"),
        1,
        "{}",
        bmc.server_log()
    );
    assert!(bmc
        .server_log()
        .contains("config=2 places: bmc \"node1\", bmc \"node2\""));
    let mut shell = Shell::open(p1);
    shell.run("chassis power status", "Chassis Power is on");
    shell.run("session info active", "session handle");

    write_config(
        &bmc,
        &format!("{}\n{}", sim("node1", p1, ""), sim("node3", p3, "")),
    );
    let log = reload(&bmc);
    assert!(
        log.contains(
            r#"outcome="applied" started=["node3"] stopped=["node2"] restarted=[] unchanged=1"#
        ),
        "{log}"
    );
    // Said for the BMC started, not again for the one that stays.
    assert_eq!(warned(&log, "node3"), 1, "{log}");
    assert_eq!(warned(&log, "node1"), 0, "{log}");
    assert!(eventually(5, || answers_ping(p3)), "node3 not started");
    assert!(eventually(5, || !answers_ping(p2)), "node2 still answers");
    let at3 = ipmitool_at(
        p3,
        "lanplus",
        &[],
        "admin",
        ADMIN_PASSWORD,
        "chassis power status",
    );
    assert!(at3.stdout.contains("Chassis Power is on"), "{}", at3.all());

    // The session opened before the reload goes on: the same one, no new login.
    shell.run("chassis power status", "Chassis Power is on");
    let (ok, out, err) = shell.close_after("session info active");
    assert!(ok, "{out}\n{err}");
    assert_eq!(
        out.matches("Chassis Power is on").count(),
        2,
        "{out}\n{err}"
    );
    assert_eq!(out.matches("session handle").count(), 2, "{out}\n{err}");
    assert_eq!(sessions_opened(&bmc, "node1"), 1, "{}", bmc.server_log());
}

#[test]
fn a_changed_bmc_restarts_with_its_new_settings_and_its_sessions_end() {
    let (p1, p2) = (free_port(), free_port());
    let config = |extra: &str| format!("{}\n{}", sim("node1", p1, extra), sim("node2", p2, ""));
    let bmc = Bmc::start_config(p1, &config(""));
    let mut shell = Shell::open(p1);
    shell.run("chassis power status", "Chassis Power is on");

    // A new GUID: node1 restarts, node2 (same table) does not.
    write_config(&bmc, &config(&format!("guid = \"{GUID}\"")));
    let log = reload(&bmc);
    assert!(
        log.contains(r#"outcome="applied" started=[] stopped=[] restarted=["node1"] unchanged=1"#),
        "{log}"
    );
    // The session did not survive the restart: its next command gets no answer.
    let (_, out, err) = shell.close_after("chassis power status");
    assert_eq!(
        out.matches("Chassis Power is on").count(),
        1,
        "{out}\n{err}"
    );
    let guid = admin(&bmc, "mc guid");
    assert!(guid.contains(GUID), "{guid}");

    // A new password in the password file both BMCs read: both restart, the table unchanged.
    std::fs::write(bmc.dir.path().join("admin.pass"), "a-new-admin-password\n").unwrap();
    let log = reload(&bmc);
    assert!(
        log.contains(r#"restarted=["node1", "node2"] unchanged=0"#),
        "{log}"
    );
    let old = admin_run(&bmc, "chassis power status");
    assert!(!old.ok, "the old password still works: {}", old.all());
    for port in [p1, p2] {
        let new = ipmitool_at(
            port,
            "lanplus",
            &[],
            "admin",
            "a-new-admin-password",
            "chassis power status",
        );
        assert!(new.stdout.contains("Chassis Power is on"), "{}", new.all());
    }
}

#[test]
fn a_broken_configuration_is_refused_and_the_one_in_force_keeps_serving() {
    let (p1, p2, p4) = (free_port(), free_port(), free_port());
    let good = format!("{}\n{}", sim("node1", p1, ""), sim("node2", p2, ""));
    let bmc = Bmc::start_config(p1, &good);

    // A syntax error on line 4 of the file: refused, its place logged.
    write_config(
        &bmc,
        &good.replacen("backend = \"sim\"", "backend = \"sim", 1),
    );
    let log = reload(&bmc);
    assert!(log.contains("reload refused"), "{log}");
    let path = bmc.dir.path().join("bmc.toml");
    assert!(log.contains(&format!("{}:4:", path.display())), "{log}");
    assert!(log.contains(r#"outcome="refused""#), "{log}");

    // A port another process holds, with node2 removed: refused as a whole, node2 stays.
    let holder = std::net::UdpSocket::bind(("127.0.0.1", p4)).unwrap();
    let clash = format!("{}\n{}", sim("node1", p1, ""), sim("node4", p4, ""));
    write_config(&bmc, &clash);
    let log = reload(&bmc);
    assert!(log.contains("reload refused"), "{log}");
    assert!(
        log.contains(&format!("cannot listen on 127.0.0.1:{p4}")),
        "{log}"
    );
    for port in [p1, p2] {
        let run = ipmitool_at(
            port,
            "lanplus",
            &[],
            "admin",
            ADMIN_PASSWORD,
            "chassis power status",
        );
        assert!(
            run.stdout.contains("Chassis Power is on"),
            "{port}: {}",
            run.all()
        );
    }

    // The port freed, the same file applies.
    drop(holder);
    let log = reload(&bmc);
    assert!(
        log.contains(r#"outcome="applied" started=["node4"] stopped=["node2"]"#),
        "{log}"
    );
    assert!(eventually(5, || answers_ping(p4)));
    assert!(eventually(5, || !answers_ping(p2)));
}

/// A `POST /reload` to the admin server; the status and the body.
fn post_reload(port: u16, token: Option<&str>) -> (u16, String) {
    common::admin::http(port, "POST", "/reload", token, "")
}

#[test]
fn post_reload_needs_the_token_and_answers_what_changed() {
    const TOKEN: &str = "reload-admin-token-5b1e";
    let (p1, p2, admin_port) = (free_port(), free_port(), test_support::free_tcp_port());
    let head =
        format!("[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken_file = \"admin.token\"\n\n");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("admin.token"), TOKEN).unwrap();
    let bmc = Bmc::start_in(dir, p1, &format!("{head}{}", sim("node1", p1, "")));
    write_config(
        &bmc,
        &format!("{head}{}\n{}", sim("node1", p1, ""), sim("node2", p2, "")),
    );

    let (status, body) = post_reload(admin_port, None);
    assert_eq!(status, 401, "{body}");
    let (status, body) = post_reload(admin_port, Some("not-the-token-at-all"));
    assert_eq!(status, 401, "{body}");
    assert!(
        !bmc.server_log().contains("reloading"),
        "{}",
        bmc.server_log()
    );
    assert!(!answers_ping(p2));

    let (status, body) = post_reload(admin_port, Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["outcome"], "applied", "{body}");
    assert_eq!(answer["started"], serde_json::json!(["node2"]), "{body}");
    assert_eq!(answer["stopped"], serde_json::json!([]), "{body}");
    assert_eq!(answer["restarted"], serde_json::json!([]), "{body}");
    assert_eq!(answer["unchanged"], 1, "{body}");
    assert!(eventually(5, || answers_ping(p2)));

    // Nothing changed since: nothing to do.
    let (status, body) = post_reload(admin_port, Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["outcome"], "unchanged", "{body}");
    assert_eq!(answer["unchanged"], 2, "{body}");

    // A file that does not load: 422 with the error at its place.
    let nowhere = sim("node1", p1, "").replace(&format!("127.0.0.1:{p1}"), "nowhere");
    write_config(&bmc, &format!("{head}{nowhere}"));
    let (status, body) = post_reload(admin_port, Some(TOKEN));
    assert_eq!(status, 422, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["outcome"], "refused", "{body}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("{}:", bmc.dir.path().join("bmc.toml").display())),
        "{error}"
    );
    assert!(answers_ping(p2), "the configuration in force changed");

    // A change to [admin] applies at the next start only: said so, the rest applied.
    let moved = head.replace(
        &admin_port.to_string(),
        &test_support::free_tcp_port().to_string(),
    );
    write_config(&bmc, &format!("{moved}{}", sim("node1", p1, "")));
    let (status, body) = post_reload(admin_port, Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["stopped"], serde_json::json!(["node2"]), "{body}");
    assert_eq!(
        answer["needs_restart"],
        serde_json::json!(["admin"]),
        "{body}"
    );
    assert!(
        bmc.server_log().contains("apply at start only"),
        "{}",
        bmc.server_log()
    );

    // Every reload counted by outcome (the two refused for the token were no reloads).
    let (status, _, text) = common::prometheus::http_get(admin_port, "/metrics", Some(TOKEN));
    assert_eq!(status, 200, "{text}");
    let scrape = common::prometheus::parse(&text);
    let reloads = |outcome| {
        scrape.value(
            "ipmi_to_metal_config_reloads_total",
            &[("outcome", outcome)],
        )
    };
    assert_eq!(reloads("applied"), 2.0, "{text}");
    assert_eq!(reloads("unchanged"), 1.0, "{text}");
    assert_eq!(reloads("refused"), 1.0, "{text}");
}

#[test]
fn discovered_bmcs_stay_through_a_reload_and_move_to_a_changed_discovery() {
    let fake = FakeMetal::start(vec![
        device(1, "active", &["ipmi"]),
        device(2, "active", &["ipmi"]),
    ]);
    let pool: Vec<String> = (0..3)
        .map(|_| format!("\"127.0.0.1:{}\"", free_port()))
        .collect();
    let (p1, p9) = (free_port(), free_port());
    let discovery = |password_file: &str| {
        format!(
            "\n[[metal_discovery]]\nname = \"metal\"\napi_url = \"{}\"\nallow_http = true\nproject_id = \"{PROJECT}\"\ntag = \"ipmi\"\ntoken_env = \"TEST_METAL_TOKEN\"\nlisten = [{}]\nrefresh_s = 1\n[[metal_discovery.users]]\nname = \"admin\"\npassword_file = \"{password_file}\"\nprivilege = \"administrator\"\n",
            fake.url(),
            pool.join(", ")
        )
    };
    let bmc = Bmc::start_config(
        p1,
        &format!("{}{}", sim("node1", p1, ""), discovery("admin.pass")),
    );
    let discovered = |bmc: &Bmc| -> Vec<u16> {
        let path = bmc.dir.path().join("bmc.toml.metal.devices.json");
        let state: std::collections::BTreeMap<String, std::net::SocketAddr> =
            std::fs::read_to_string(path)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
        state.values().map(|a| a.port()).collect()
    };
    assert!(
        eventually(20, || discovered(&bmc).len() == 2),
        "{}",
        bmc.server_log()
    );
    let ports = discovered(&bmc);
    for port in &ports {
        assert!(eventually(10, || answers_ping(*port)), "{port}");
    }

    // The file's BMC replaced by another; the discovery as it was: its BMCs stay.
    write_config(
        &bmc,
        &format!("{}{}", sim("node9", p9, ""), discovery("admin.pass")),
    );
    let log = reload(&bmc);
    assert!(
        log.contains(r#"started=["node9"] stopped=["node1"] restarted=[] unchanged=0 discoveries_started=[] discoveries_stopped=[] discoveries_restarted=[]"#),
        "{log}"
    );
    for port in &ports {
        let run = ipmitool_at(
            *port,
            "lanplus",
            &[],
            "admin",
            ADMIN_PASSWORD,
            "chassis power status",
        );
        assert!(
            run.stdout.contains("Chassis Power is"),
            "{port}: {}",
            run.all()
        );
    }

    // The discovery's users change: it restarts, takes its BMCs over and restarts them with the
    // new password on the same addresses.
    std::fs::write(bmc.dir.path().join("other.pass"), "disc-new-pass-7f3a\n").unwrap();
    write_config(
        &bmc,
        &format!("{}{}", sim("node9", p9, ""), discovery("other.pass")),
    );
    let log = reload(&bmc);
    assert!(log.contains(r#"discoveries_restarted=["metal"]"#), "{log}");
    for port in &ports {
        let works = || {
            ipmitool_at(
                *port,
                "lanplus",
                &[],
                "admin",
                "disc-new-pass-7f3a",
                "chassis power status",
            )
            .stdout
            .contains("Chassis Power is")
        };
        assert!(eventually(20, works), "{port}: {}", bmc.server_log());
        let old = ipmitool_at(
            *port,
            "lanplus",
            &[],
            "admin",
            ADMIN_PASSWORD,
            "chassis power status",
        );
        assert!(!old.ok, "{port}: the old password still works");
    }
    assert_eq!(discovered(&bmc), ports, "the devices moved");
    assert_eq!(
        bmc.server_log()
            .matches("BMC restarted with the discovery's new settings")
            .count(),
        2,
        "{}",
        bmc.server_log()
    );
}
