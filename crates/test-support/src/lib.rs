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

use std::net::UdpSocket;
use std::path::{Path, PathBuf};

/// A free UDP port on 127.0.0.1.
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .expect("bind a loopback port")
        .local_addr()
        .expect("local address")
        .port()
}

/// A free TCP port on 127.0.0.1.
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a loopback port")
        .local_addr()
        .expect("local address")
        .port()
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
