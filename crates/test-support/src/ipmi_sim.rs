//! OpenIPMI's `ipmi_sim` (Debian package `openipmi`) as the real BMC behind the ipmi backend.
//!
//! Its chassis-control script keeps the power state and boot device in files of the simulator's
//! directory, so that tests can check what the BMC itself did; it also has a FRU (product area),
//! one SEL entry (temperature sensor 1, upper non-critical going high), sensor 1 "CPU Temp"
//! with its SDR, reading 48 degrees C, the sensors of [`SIM_SENSORS`] with thresholds and
//! hysteresis, and one administrator account.

use crate::{free_port, require};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The simulator's administrator account.
pub const SIM_USER: &str = "admin";
/// Its password.
pub const SIM_PASSWORD: &str = "simpass";
/// The simulator's GUID as its `lan.conf` gives it (wire order).
pub const SIM_GUID: &str = "a123456789abcdefa123456789abcdef";

/// ipmi_sim's chassis control: `<device> get parm..` prints `parm:value` lines; `<device> set
/// parm value ..` records each setting. Power and boot device live in files next to the script.
const CHASSIS_SCRIPT: &str = r#"#!/bin/sh
dir=$(dirname "$0")
[ -f "$dir/power" ] || echo 1 > "$dir/power"
[ -f "$dir/boot" ] || echo default > "$dir/boot"
shift
op=$1
shift
case "$op" in
get) for p in "$@"; do case $p in power) echo "power:$(cat "$dir/power")";; boot) echo "boot:$(cat "$dir/boot")";; esac; done;;
set) while [ $# -ge 2 ]; do
       case $1 in power) echo "$2" > "$dir/power";; boot) echo "$2" > "$dir/boot";; esac
       echo "$1 $2" >> "$dir/actions"
       shift 2
     done;;
esac
"#;

/// A FRU 0 with a product area: manufacturer "Sim Co", name "Sim Node", part "P-1",
/// version "1.0", serial "SN123".
const FRU: &[u8] = &[
    0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0xfe, 0x01, 0x05, 0x00, 0xc6, 0x53, 0x69, 0x6d, 0x20,
    0x43, 0x6f, 0xc8, 0x53, 0x69, 0x6d, 0x20, 0x4e, 0x6f, 0x64, 0x65, 0xc3, 0x50, 0x2d, 0x31, 0xc3,
    0x31, 0x2e, 0x30, 0xc5, 0x53, 0x4e, 0x31, 0x32, 0x33, 0xc0, 0xc0, 0xc1, 0x00, 0x00, 0x00, 0xa2,
];

/// A full sensor record (IPMI 2.0 section 43.1) for sensor 1: "CPU Temp", temperature, degrees C,
/// linear with M = 1, so the raw reading 0x30 reads as 48 degrees C.
const SDR: &[u8] = &[
    0x00, 0x00, 0x51, 0x01, 0x33, 0x20, 0x00, 0x01, 0x07, 0x01, 0x7f, 0x68, 0x01, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc8,
    0x43, 0x50, 0x55, 0x20, 0x54, 0x65, 0x6d, 0x70,
];

/// A threshold sensor of the simulator besides "CPU Temp": number, name, sensor type, unit,
/// factors (M, R exponent), raw reading, raw thresholds (lower non-critical ... upper
/// non-recoverable, 0: none) and raw hysteresis.
pub struct SimSensor {
    /// Sensor number.
    pub number: u8,
    /// Its name.
    pub name: &'static str,
    /// Sensor type (table 42-3).
    pub sensor_type: u8,
    /// Base unit (table 43-15).
    pub unit: u8,
    /// Multiplier M and result exponent R: a raw reading `x` is `M * x * 10^R` units.
    pub factors: (i16, i8),
    /// The raw reading.
    pub raw: u8,
    /// Raw thresholds in the order of Get Sensor Thresholds; 0 leaves one out.
    pub thresholds: [u8; 6],
    /// Raw hysteresis, both directions.
    pub hysteresis: u8,
}

/// The simulator's other threshold sensors: "Fan 1" at 4800 RPM (lower critical 500), "12V" at
/// 12.1 V (10.8, 11.4, 12.6, 13.2) and "System Power" at 246 W (upper critical 500).
pub const SIM_SENSORS: [SimSensor; 3] = [
    SimSensor {
        number: 2,
        name: "Fan 1",
        sensor_type: 0x04,
        unit: 18,
        factors: (50, 0),
        raw: 96,
        thresholds: [0, 10, 0, 0, 0, 0],
        hysteresis: 0,
    },
    SimSensor {
        number: 3,
        name: "12V",
        sensor_type: 0x02,
        unit: 4,
        factors: (1, -1),
        raw: 121,
        thresholds: [114, 108, 0, 126, 132, 0],
        hysteresis: 2,
    },
    SimSensor {
        number: 4,
        name: "System Power",
        sensor_type: 0x0b,
        unit: 6,
        factors: (2, 0),
        raw: 123,
        thresholds: [0, 0, 0, 0, 250, 0],
        hysteresis: 0,
    },
];

/// The discrete sensor of the simulator: number 5, "PSU1 Status", a power supply with presence
/// detected.
pub const SIM_PSU: (u8, &str) = (5, "PSU1 Status");

/// The full record of `s` (record ID 0: the simulator numbers them).
fn full_record(s: &SimSensor) -> Vec<u8> {
    use ipmi_proto::sdr::{FullSensorRecord, Linear, Record, SensorCommon, Thresholds};
    let readable = s
        .thresholds
        .iter()
        .enumerate()
        .filter(|(_, &t)| t != 0)
        .fold(0u8, |m, (i, _)| m | 1 << i);
    let t = Thresholds {
        readable,
        raw: s.thresholds,
    };
    let [assertion_mask, deassertion_mask, reading_mask] = t.record_masks();
    Record::Full(FullSensorRecord {
        common: SensorCommon {
            owner_id: 0x20,
            owner_lun: 0,
            number: s.number,
            entity_id: 0x07,
            entity_instance: 1,
            // Scanning, thresholds and hysteresis initialized; thresholds and hysteresis
            // readable; auto re-arm; no event messages.
            init: 0x59,
            capabilities: 0x57,
            sensor_type: s.sensor_type,
            reading_type: 0x01,
            assertion_mask,
            deassertion_mask,
            reading_mask,
            units: [0, s.unit, 0],
        },
        linearization: 0,
        factors: Linear {
            m: s.factors.0,
            b: 0,
            b_exp: 0,
            r_exp: s.factors.1,
        },
        analog_flags: 0,
        normal: [0; 3],
        range: [255, 0],
        thresholds: s.thresholds,
        hysteresis: [s.hysteresis; 2],
        oem: 0,
        name: s.name.into(),
    })
    .to_bytes(0)
}

/// The compact record of the power supply sensor.
fn psu_record() -> Vec<u8> {
    use ipmi_proto::sdr::{CompactSensorRecord, Record, SensorCommon};
    Record::Compact(CompactSensorRecord {
        common: SensorCommon {
            owner_id: 0x20,
            owner_lun: 0,
            number: SIM_PSU.0,
            entity_id: 0x0a,
            entity_instance: 1,
            init: 0x41,
            capabilities: 0x43,
            sensor_type: 0x08,
            reading_type: 0x6f,
            // Presence detected, failure detected.
            assertion_mask: 0x0003,
            deassertion_mask: 0x0003,
            reading_mask: 0x0003,
            units: [0xc0, 0, 0],
        },
        sharing: [0, 0],
        hysteresis: [0, 0],
        oem: 0,
        name: SIM_PSU.1.into(),
    })
    .to_bytes(0)
}

/// The `cmd.conf` lines that add the sensors of [`SIM_SENSORS`] and the power supply.
fn sensor_commands() -> String {
    let none = "000000000000000";
    let events = |n: u8| {
        format!("sensor_set_event_support 0x20 0 {n} enable scanning per-state {none} {none} {none} {none}\n")
    };
    let mut out = String::new();
    for s in &SIM_SENSORS {
        let n = s.number;
        let enabled: String = (0..6)
            .rev()
            .map(|i| if s.thresholds[i] != 0 { '1' } else { '0' })
            .collect();
        let values: Vec<String> = (0..6).rev().map(|i| s.thresholds[i].to_string()).collect();
        out += &format!("sensor_add 0x20 0 {n} {:#04x} 0x01\n", s.sensor_type);
        out += &events(n);
        out += &format!(
            "sensor_set_threshold 0x20 0 {n} readable {enabled} {}\n",
            values.join(" ")
        );
        out += &format!(
            "sensor_set_hysteresis 0x20 0 {n} readable {h} {h}\n",
            h = s.hysteresis
        );
        out += &format!("sensor_set_value 0x20 0 {n} {} 0\n", s.raw);
        out += &format!("main_sdr_add 0x20 {}\n", hex_list(&full_record(s)));
    }
    let n = SIM_PSU.0;
    out += &format!("sensor_add 0x20 0 {n} 0x08 0x6f\n");
    out += &events(n);
    out += &format!("sensor_set_bit 0x20 0 {n} 0 1 0\n");
    out += &format!("main_sdr_add 0x20 {}\n", hex_list(&psu_record()));
    out
}

fn hex_list(bytes: &[u8]) -> String {
    let v: Vec<String> = bytes.iter().map(|b| format!("0x{b:02x}")).collect();
    v.join(" ")
}

/// A running `ipmi_sim`.
pub struct IpmiSim {
    child: Child,
    dir: Option<tempfile::TempDir>,
    /// Where it serves IPMI over LAN.
    pub addr: SocketAddr,
}

impl IpmiSim {
    /// Starts a simulator on a free loopback port.
    pub fn start() -> IpmiSim {
        IpmiSim::start_at(free_port(), None)
    }

    /// Starts a simulator on `port`, in `dir` if given (to restart one with its state).
    pub fn start_at(port: u16, dir: Option<tempfile::TempDir>) -> IpmiSim {
        IpmiSim::start_lines(port, dir, "")
    }

    /// Starts a simulator on a free loopback port whose serial port, for Serial over LAN, is
    /// the TCP server at `serial` (the simulator connects to it, and again every 10 s when it
    /// cannot).
    pub fn start_with_sol(serial: SocketAddr) -> IpmiSim {
        let line = format!("sol \"tcp:{}:{}\" 115200\n", serial.ip(), serial.port());
        IpmiSim::start_lines(free_port(), None, &line)
    }

    /// Starts a simulator with `extra` lines in its `lan.conf` (for its management controller).
    fn start_lines(port: u16, dir: Option<tempfile::TempDir>, extra: &str) -> IpmiSim {
        let bin = require("ipmi_sim", "openipmi");
        let dir = dir.unwrap_or_else(|| tempfile::tempdir().expect("temporary directory"));
        let p = dir.path();
        let script = p.join("chassis.sh");
        std::fs::write(&script, CHASSIS_SCRIPT).expect("write chassis script");
        let status = Command::new("chmod").arg("+x").arg(&script).status();
        assert!(status.is_ok_and(|s| s.success()), "chmod chassis script");
        std::fs::write(
            p.join("lan.conf"),
            format!(
                "name \"sim\"\nset_working_mc 0x20\n{extra}  startlan 1\n    addr 127.0.0.1 {port}\n    priv_limit admin\n    allowed_auths_callback md5\n    allowed_auths_user md5\n    allowed_auths_operator md5\n    allowed_auths_admin md5\n    guid {SIM_GUID}\n  endlan\n  chassis_control \"{} 0x20\"\nuser 2 true \"{SIM_USER}\" \"{SIM_PASSWORD}\" admin 10 md5\n",
                script.display()
            ),
        )
        .expect("write lan.conf");
        let none = "000000000000000";
        std::fs::write(
            p.join("cmd.conf"),
            format!(
                "mc_setbmc 0x20\n\
                 mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\n\
                 sel_enable 0x20 1000 0x0a\n\
                 sensor_add 0x20 0 1 0x01 0x01\n\
                 sensor_set_event_support 0x20 0 1 enable scanning per-state {none} {none} {none} {none}\n\
                 sensor_set_value 0x20 0 1 0x30 0\n\
                 main_sdr_add 0x20 {}\n\
                 {}\
                 mc_add_fru_data 0x20 0 {} data {}\n\
                 mc_enable 0x20\n\
                 sel_add 0x20 0x02 0 0 0 0 0x20 0 0x04 0x01 0x01 0x01 0x57 0x00 0x00\n",
                hex_list(SDR),
                sensor_commands(),
                FRU.len(),
                hex_list(FRU)
            ),
        )
        .expect("write cmd.conf");
        std::fs::create_dir_all(p.join("state")).expect("state directory");
        let child = Command::new(bin)
            .current_dir(p)
            .args(["-c", "lan.conf", "-f", "cmd.conf", "-s", "state", "-n"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ipmi_sim");
        let sim = IpmiSim {
            child,
            dir: Some(dir),
            addr: format!("127.0.0.1:{port}").parse().expect("address"),
        };
        sim.wait_ready();
        sim
    }

    /// Waits until the simulator answers an ASF presence ping.
    fn wait_ready(&self) {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let ping = [
            0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe, 0x80, 0x01, 0x00, 0x00,
        ];
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 64];
        while Instant::now() < deadline {
            let _ = sock.send_to(&ping, self.addr);
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                if n >= 9 && buf[8] == 0x40 {
                    return;
                }
            }
        }
        panic!("ipmi_sim did not answer on {}", self.addr);
    }

    fn path(&self) -> &Path {
        self.dir.as_ref().expect("running").path()
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// The power state the BMC set through its chassis control: "1" on, "0" off.
    pub fn power(&self) -> String {
        self.file("power")
    }

    /// The boot device the BMC set ("default", "pxe", "cdrom", "bios", ...).
    pub fn boot(&self) -> String {
        self.file("boot")
    }

    /// Every chassis-control setting so far, one `parm value` per line.
    pub fn actions(&self) -> String {
        self.file("actions")
    }

    /// Freezes the simulator (SIGSTOP): a BMC that does not answer in time.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a paused simulator go on (SIGCONT).
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, sig: libc::c_int) {
        let pid = i32::try_from(self.child.id()).expect("a pid fits in i32");
        // SAFETY: kill(2) on our own child; it touches no memory.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "signal {sig} to ipmi_sim");
    }

    /// Stops the simulator, keeping its directory for a restart with [`IpmiSim::start_at`].
    pub fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.dir.take().expect("directory present until stopped")
    }
}

impl Drop for IpmiSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
