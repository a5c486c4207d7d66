//! Sensors through a real sshd (throwaway keys): a stand-in command's hwmon-style lines become
//! readings, and the default command (which only reads /sys/class/hwmon) runs on this machine.

use backend_ssh::{SshBackend, SshCommands, SshConfig, Unreachable};
use ipmi_bmc::{Backend, SensorKind};
use std::time::Duration;
use test_support::Sshd;

fn backend(sshd: &Sshd, sensors: Option<&str>) -> SshBackend {
    let control = tempfile::tempdir().unwrap().keep();
    let mut commands = SshCommands::default();
    if let Some(s) = sensors {
        commands.sensors = s.into();
    }
    SshBackend::new(SshConfig {
        host: "127.0.0.1".into(),
        port: sshd.port,
        user: "root".into(),
        key_file: Some(sshd.key_file()),
        password: None,
        known_hosts: sshd.known_hosts(),
        connect_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_secs(5),
        commands,
        unreachable: Unreachable::Off,
        local_ipmitool: None,
        control_dir: control,
        askpass: None,
    })
}

#[tokio::test]
async fn sensors_come_back_as_readings() {
    let sshd = Sshd::start();
    let b = backend(
        &sshd,
        Some("echo 'coretemp temp1_input 47000'; echo 'nct6775 fan2_input 1180'; echo 'nct6775 in1_input 12100'"),
    );
    let r = b.sensors().await.unwrap();
    assert_eq!(r.len(), 3, "{r:?}");
    assert_eq!(
        (r[0].kind, r[0].value),
        (SensorKind::Temperature, Some(47.0))
    );
    assert_eq!((r[1].kind, r[1].value), (SensorKind::Fan, Some(1180.0)));
    assert_eq!((r[2].kind, r[2].value), (SensorKind::Voltage, Some(12.1)));
    // The default command only reads /sys; whatever this machine has, it parses.
    let d = backend(&sshd, None);
    let readings = d.sensors().await.unwrap();
    assert!(readings.iter().all(|s| s.value.is_some()));
}
