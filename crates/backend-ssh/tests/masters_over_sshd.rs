//! Master connections are shared only by BMCs that would make the same connection: a BMC whose
//! host-key pinning or key differs from another's must not ride on the master the other BMC
//! authenticated to the same host, port and user.

use backend_ssh::{SshBackend, SshCommands, SshConfig, Unreachable};
use ipmi_bmc::{Backend, BackendError};
use std::path::{Path, PathBuf};
use std::time::Duration;
use test_support::Sshd;

fn backend(sshd: &Sshd, control: &Path, key_file: PathBuf, known_hosts: PathBuf) -> SshBackend {
    let commands = SshCommands {
        sensors: "echo 'coretemp temp1_input 47000'".into(),
        ..SshCommands::default()
    };
    SshBackend::new(SshConfig {
        host: "127.0.0.1".into(),
        port: sshd.port,
        user: "root".into(),
        key_file: Some(key_file),
        password: None,
        known_hosts,
        connect_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_secs(5),
        commands,
        unreachable: Unreachable::Unknown,
        local_ipmitool: None,
        control_dir: control.to_path_buf(),
        askpass: None,
    })
}

fn refused(r: Result<impl std::fmt::Debug, BackendError>, why: &str) {
    match r {
        Err(BackendError::Failed(m)) => assert!(m.contains(why), "{m}"),
        other => panic!("expected a refusal ({why}), got {other:?}"),
    }
}

#[tokio::test]
async fn another_bmcs_master_does_not_bypass_host_key_or_credentials() {
    let sshd = Sshd::start();
    let control = tempfile::tempdir().unwrap();
    let good = backend(&sshd, control.path(), sshd.key_file(), sshd.known_hosts());
    // Its master connection is up and in use.
    assert_eq!(good.sensors().await.unwrap().len(), 1);
    // Same host, port and user, but pinned to another host key: refused, master or not.
    let pinned_elsewhere = backend(
        &sshd,
        control.path(),
        sshd.key_file(),
        sshd.wrong_known_hosts(),
    );
    refused(pinned_elsewhere.sensors().await, "host key");
    // Same host, port, user and pinning, but a key the host does not accept: refused.
    let other_key = sshd.key_file().with_file_name("other_host_key");
    let unauthorised = backend(&sshd, control.path(), other_key, sshd.known_hosts());
    refused(unauthorised.sensors().await, "login");
    // And the first BMC still works.
    assert_eq!(good.sensors().await.unwrap().len(), 1);
}
