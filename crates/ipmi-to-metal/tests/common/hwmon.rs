//! The ssh backend's sensors as the tests see them: a fake `/sys/class/hwmon` tree in the test's
//! directory, read by the backend's default sensors command through a real sshd, and a BMC on
//! the ssh backend whose power commands are harmless stand-ins that leave marker files.

use super::{config_with_backend, free_port, Bmc};
use std::path::Path;
use test_support::Sshd;

/// Writes `value` to the fake hwmon file `chip/file`.
pub fn hwmon(root: &Path, chip: &str, file: &str, value: &str) {
    let dir = root.join(chip);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), format!("{value}\n")).unwrap();
}

/// A fake hwmon tree: a CPU temperature with its limits, a fan, a 12 V rail and a power meter.
pub fn fake_hwmon(root: &Path) {
    hwmon(root, "hwmon0", "name", "coretemp");
    hwmon(root, "hwmon0", "temp1_input", "47000");
    hwmon(root, "hwmon0", "temp1_max", "80000");
    hwmon(root, "hwmon0", "temp1_crit", "95000");
    hwmon(root, "hwmon1", "name", "nct6775");
    hwmon(root, "hwmon1", "fan1_input", "1200");
    hwmon(root, "hwmon1", "fan1_min", "300");
    hwmon(root, "hwmon1", "in1_input", "12100");
    hwmon(root, "hwmon1", "in1_min", "10800");
    hwmon(root, "hwmon1", "in1_max", "13200");
    hwmon(root, "hwmon1", "power1_input", "61500000");
    // Not a sensor reading: left out.
    hwmon(root, "hwmon1", "intrusion0_alarm", "0");
}

/// A BMC on the ssh backend whose sensors command is the default one, reading `root`, and whose
/// power commands touch marker files in [`Sshd::markers`].
pub fn ssh_bmc(sshd: &Sshd, root: &Path) -> Bmc {
    let sensors =
        backend_ssh::DEFAULT_SENSORS.replace("/sys/class/hwmon", &root.display().to_string());
    assert!(!sensors.contains('\''), "a TOML literal string");
    let m = sshd.markers().display().to_string();
    let section = format!(
        "[bmc.ssh]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\nkey_file = \"{}\"\nknown_hosts = \"{}\"\nconnect_timeout_ms = 2000\ncommand_timeout_ms = 5000\nsensors = '{sensors}'\nsoft_off = \"touch {m}/soft_off\"\ncycle = \"touch {m}/cycle\"\noff = \"touch {m}/off\"\nreset = \"touch {m}/reset\"\ndiag = \"touch {m}/diag\"\n",
        sshd.port,
        sshd.key_file().display(),
        sshd.known_hosts().display()
    );
    let port = free_port();
    Bmc::start_config(port, &config_with_backend(port, "ssh", &section))
}
