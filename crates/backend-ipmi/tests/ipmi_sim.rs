//! The ipmi backend against OpenIPMI's `ipmi_sim` (Debian package `openipmi`) as the real BMC
//! behind: power state and actions (checked in the simulator's chassis-control marker file),
//! boot flags passed through, the system GUID, and a restart of the BMC behind.

use backend_ipmi::{IpmiBackend, IpmiBackendConfig};
use ipmi_bmc::{Backend, BootDevice, BootOverride, PowerAction, PowerState, Requester};
use ipmi_client::Retry;
use ipmi_proto::session::{ClientConfig, Secret};
use ipmi_proto::types::Privilege;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHASSIS_SCRIPT: &str = r#"#!/bin/sh
# ipmi_sim chassis control: <device> get parm.. | <device> set parm val ..
dir=$(dirname "$0")
[ -f "$dir/power" ] || echo 1 > "$dir/power"
shift
op=$1
shift
case "$op" in
get) for p in "$@"; do case $p in power) echo "power:$(cat "$dir/power")";; boot) echo "boot:default";; esac; done;;
set) while [ $# -ge 2 ]; do
       case $1 in power) echo "$2" > "$dir/power";; esac
       echo "$1 $2" >> "$dir/actions"
       shift 2
     done;;
esac
"#;

struct Sim {
    child: Child,
    dir: Option<tempfile::TempDir>,
    addr: SocketAddr,
}

impl Sim {
    /// Stops the simulator, keeping its directory for a restart.
    fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.dir.take().expect("directory present until stopped")
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_sim(port: u16, dir: Option<tempfile::TempDir>) -> Sim {
    let bin = which("ipmi_sim")
        .expect("ipmi_sim is missing: install Debian's `openipmi` package (the CI script does)");
    let dir = dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
    let p = dir.path();
    let script = p.join("chassis.sh");
    std::fs::write(&script, CHASSIS_SCRIPT).unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    std::fs::write(
        p.join("lan.conf"),
        format!(
            "name \"sim\"\nset_working_mc 0x20\n  startlan 1\n    addr 127.0.0.1 {port}\n    priv_limit admin\n    allowed_auths_callback md5\n    allowed_auths_user md5\n    allowed_auths_operator md5\n    allowed_auths_admin md5\n    guid a123456789abcdefa123456789abcdef\n  endlan\n  chassis_control \"{} 0x20\"\nuser 2 true \"admin\" \"simpass\" admin 10 md5\n",
            script.display()
        ),
    )
    .unwrap();
    std::fs::write(
        p.join("cmd.conf"),
        "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nsel_enable 0x20 1000 0x0a\nmc_enable 0x20\n",
    )
    .unwrap();
    std::fs::create_dir_all(p.join("state")).unwrap();
    let child = Command::new(bin)
        .current_dir(p)
        .args(["-c", "lan.conf", "-f", "cmd.conf", "-s", "state", "-n"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ipmi_sim");
    std::thread::sleep(Duration::from_millis(700));
    Sim {
        child,
        dir: Some(dir),
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

fn backend(addr: SocketAddr) -> IpmiBackend {
    IpmiBackend::new(IpmiBackendConfig {
        address: addr,
        client: ClientConfig {
            username: "admin".into(),
            password: Secret::new(b"simpass".to_vec()),
            kg: None,
            privilege: Privilege::Administrator,
            cipher_suites: vec![17, 3],
        },
        retry: Retry {
            timeout: Duration::from_millis(500),
            retries: 2,
        },
        deadline: Duration::from_secs(5),
    })
}

fn who() -> Requester {
    Requester {
        user: "admin".into(),
        peer: "127.0.0.1:1".parse().unwrap(),
        bmc: "node1".into(),
    }
}

fn actions(sim: &Sim) -> String {
    let dir = sim.dir.as_ref().expect("running");
    std::fs::read_to_string(dir.path().join("actions")).unwrap_or_default()
}

#[tokio::test]
async fn power_and_boot_through_ipmi_sim() {
    let sim = start_sim(free_port(), None);
    let b = backend(sim.addr);
    assert_eq!(b.power_state().await.unwrap(), PowerState::On);
    b.power(PowerAction::Off, &who()).await.unwrap();
    assert!(actions(&sim).contains("power 0"), "{}", actions(&sim));
    assert_eq!(b.power_state().await.unwrap(), PowerState::Off);
    b.power(PowerAction::On, &who()).await.unwrap();
    assert_eq!(b.power_state().await.unwrap(), PowerState::On);
    b.set_boot_override(
        Some(BootOverride {
            device: BootDevice::Pxe,
            persistent: true,
            efi: false,
        }),
        &who(),
    )
    .await
    .unwrap();
    // Whatever the BMC behind keeps is what is read back: no error either way.
    let _ = b.boot_override().await.unwrap();
    let inv = b.inventory().await.unwrap();
    assert_eq!(
        inv.guid
            .map(|g| g.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        Some("a123456789abcdefa123456789abcdef".into())
    );
}

#[tokio::test]
async fn logs_in_again_after_ipmi_sim_restarts_and_times_out_when_down() {
    let port = free_port();
    let sim = start_sim(port, None);
    let b = backend(sim.addr);
    assert_eq!(b.power_state().await.unwrap(), PowerState::On);
    let addr = sim.addr;
    let dir = sim.stop();
    let t = std::time::Instant::now();
    let err = b.power_state().await.unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(6),
        "answered within the deadline"
    );
    assert_eq!(err.completion_code().0, 0xc3, "{err}");
    let _sim = start_sim(port, Some(dir));
    assert_eq!(
        b.power_state().await.unwrap(),
        PowerState::On,
        "logged in again at {addr}"
    );
}
