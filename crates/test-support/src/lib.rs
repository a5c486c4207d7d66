//! # test-support
//!
//! What the integration tests of several crates share: finding an installed tool (or failing
//! loudly with the package to install: no test skips itself), free loopback ports,
//! [`IpmiSim`], OpenIPMI's `ipmi_sim` started as a real BMC in a throwaway directory, and
//! [`Sshd`], OpenSSH's server with throwaway keys, and [`providers`], fakes of the power APIs
//! the http backend's presets speak (Hetzner Robot, Latitude.sh, Scaleway Elastic Metal) and of
//! a made-up one; [`libvirt`], libvirtd with throwaway QEMU domains that really boot;
//! [`Ironic`], OpenStack Ironic standalone, shared by a test binary's tests; [`netboot`], an
//! HTTP server with Range requests and a custom-iPXE provider; and [`qemu`], a QEMU virtual
//! machine that netboots on the user-mode network.

#![warn(missing_docs)]

pub mod console_text;
mod ipmi_sim;
mod ironic;
pub mod libvirt;
pub mod netboot;
pub mod providers;
pub mod qemu;
mod sshd;
pub mod thread_server;

pub use ipmi_sim::{IpmiSim, SimSensor, SIM_GUID, SIM_PASSWORD, SIM_PSU, SIM_SENSORS, SIM_USER};
pub use ironic::{ironic_venv, Ironic};
pub use sshd::Sshd;

use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The ports this process's tests were given: a port is free when asked for but taken only
/// when the test's server binds it, so two tests running at once must not be given the same.
static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Whether `port` was not given before in this process (and is now).
fn give(port: u16) -> bool {
    GIVEN.lock().unwrap_or_else(|e| e.into_inner()).insert(port)
}

/// The first port `pick` (a bind to port 0) returns that was not given before.
fn first_not_given(pick: impl Fn() -> std::io::Result<std::net::SocketAddr>) -> u16 {
    loop {
        let port = pick().expect("bind a loopback port").port();
        if give(port) {
            return port;
        }
    }
}

/// A free UDP port on 127.0.0.1, never one given before to another test of this process.
pub fn free_port() -> u16 {
    first_not_given(|| UdpSocket::bind("127.0.0.1:0")?.local_addr())
}

/// A free UDP port below 32768 on 127.0.0.1 (ipmiconsole and libipmiconsole refuse higher
/// ones: "hostname invalid"), never one given before to another test of this process; test
/// binaries start from different ports (by process ID).
pub fn low_free_port() -> u16 {
    let seed = std::process::id() as u16;
    (0..4000u16)
        .map(|i| 20_000 + (seed.wrapping_add(i.wrapping_mul(7919))) % 12_000)
        .find(|p| UdpSocket::bind(("127.0.0.1", *p)).is_ok() && give(*p))
        .expect("a free port below 32768")
}

/// A free TCP port on 127.0.0.1.
pub fn free_tcp_port() -> u16 {
    first_not_given(|| std::net::TcpListener::bind("127.0.0.1:0")?.local_addr())
}

/// The path of an installed tool, or a panic that says which Debian package to install.
pub fn require(tool: &str, package: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let sbin = ["/usr/local/sbin", "/usr/sbin", "/sbin"];
    for dir in path.split(':').chain(sbin) {
        let p = Path::new(dir).join(tool);
        if p.exists() {
            return p;
        }
    }
    panic!("{tool} is not installed: install the Debian package {package} (.ci/run does); this test does not skip itself");
}

#[cfg(test)]
mod port_tests {
    use super::*;

    #[test]
    fn ports_are_never_given_twice() {
        let mut seen = BTreeSet::new();
        for _ in 0..300 {
            assert!(seen.insert(free_port()));
            assert!(seen.insert(low_free_port()));
            assert!(seen.insert(free_tcp_port()));
        }
        assert!(seen.iter().any(|p| *p < 32768));
    }
}
