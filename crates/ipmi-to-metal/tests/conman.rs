//! conman (Debian `conman`), the console manager, collecting a sim BMC's serial console over
//! Serial over LAN with its `ipmi:` console type (FreeIPMI's libipmiconsole), as
//! docs/howto-conman.md configures it: conmand logs the console with nobody attached, and the
//! `conman` client (in a real terminal) joins it and types into it.

mod common;
use common::tty::Tty;
use common::*;
use std::process::{Child, Command, Stdio};

/// A running conmand.
struct Conmand {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Conmand {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Conmand {
    /// conmand serving the console `node1` of `bmc`, with the operator account.
    fn start(bmc: &Bmc) -> Conmand {
        let exe = require("conmand", "conman");
        let dir = tempfile::tempdir().unwrap();
        let port = test_support::free_tcp_port();
        let conf = dir.path().join("conman.conf");
        std::fs::write(
            &conf,
            format!(
                "server logdir=\"{}\"\nserver logfile=\"conmand.log\"\nserver loopback=on\n\
                 server port={port}\nserver keepalive=on\nglobal log=\"console.%N\"\n\
                 global ipmiopts=\"U:operator,P:{OPERATOR_PASSWORD},L:op\"\n\
                 console name=\"node1\" dev=\"ipmi:127.0.0.1:{}\"\n",
                dir.path().display(),
                bmc.port
            ),
        )
        .unwrap();
        // conman.conf holds a password: readable by its owner only.
        std::fs::set_permissions(&conf, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let child = Command::new(exe)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("conmand.stderr")).unwrap())
            .spawn()
            .expect("start conmand");
        let c = Conmand { child, port, dir };
        assert!(
            eventually(20, || c.log().contains("Console [node1] connected")),
            "conmand did not connect: {}",
            c.log()
        );
        c
    }

    /// conmand's own log (its messages go to stderr in the foreground).
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("conmand.stderr")).unwrap_or_default()
            + &std::fs::read_to_string(self.dir.path().join("conmand.log")).unwrap_or_default()
    }

    /// The console log conmand keeps for `node1`.
    fn console_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("console.node1")).unwrap_or_default()
    }
}

#[test]
fn conman_logs_and_joins_the_sol_console_of_a_sim_bmc() {
    // libipmiconsole takes ports below 32768 only.
    let port = low_free_port();
    let bmc = Bmc::start_config(port, &standard_config(port, ""));
    let conmand = Conmand::start(&bmc);
    // The shim's one SOL instance is conman's now.
    assert_sol_taken(&bmc);

    // A boot nobody watches is in conman's log of the console.
    admin(&bmc, "chassis power reset");
    assert!(
        eventually(30, || conmand.console_log().contains("node1 login:")),
        "{}",
        conmand.console_log()
    );

    // The client joins the console in a terminal and logs in to the machine.
    let client = require("conman", "conman");
    let tty = Tty::start(
        bmc.dir.path(),
        "conman",
        &format!(
            "{} -d 127.0.0.1:{} -j node1",
            client.display(),
            conmand.port
        ),
        &[],
    );
    tty.wait_for("Connection to console [node1] opened", 20);
    tty.line("");
    tty.wait_for("login:", 20);
    tty.line("root");
    tty.wait_for("Password:", 10);
    tty.line("secret");
    tty.wait_for("root@node1", 10);
    tty.line("uname -a");
    tty.wait_for("Linux node1", 10);
    // What the session showed is in the console log too.
    assert!(
        eventually(10, || conmand.console_log().contains("Linux node1")),
        "{}",
        conmand.console_log()
    );
    tty.type_text("&.");
    tty.wait_for("Connection to console [node1] closed", 10);
}
