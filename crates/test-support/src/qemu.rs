//! [`QemuVm`]: a real virtual machine for netboot tests, run with Debian's `qemu-system-x86_64`
//! (TCG: no KVM needed) and its `ipxe-qemu` network boot ROM, powered by the shell commands
//! [`QemuVm::command_table`] gives the command backend (started with `-daemonize`, stopped by
//! its process id, reset through its monitor socket with `socat`).
//!
//! The machine netboots first, on QEMU's user-mode network (the guest reaches the host's
//! 127.0.0.1 as 10.0.2.2; nothing else), with the boot file given; then its disk, a one-sector
//! MBR that prints a marker ([`DISK_MARKER`]) on the serial port and halts, so that a test can
//! tell "netboot gave up and the disk booted" from anything else. Everything the BIOS and iPXE
//! print goes to the serial port (SeaBIOS's serial console with `graphics=off`), kept in a
//! file ([`QemuVm::serial`]).
//!
//! Why QEMU under the command backend and not libvirt: libvirt's `<interface type='user'>` has
//! no boot file setting, and a `<qemu:commandline>` netdev would bypass libvirt's own network
//! model anyway; QEMU's `-netdev user,bootfile=...` is the one knob the test needs, and the
//! command backend powers it without a daemon.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the disk prints when it boots.
pub const DISK_MARKER: &str = "VMEDIA-TEST-DISK-BOOTED";

/// A virtual machine's files and commands (it runs while the command backend has it on).
pub struct QemuVm {
    dir: tempfile::TempDir,
    /// The serial console's log.
    pub serial: PathBuf,
    pid: PathBuf,
    monitor: PathBuf,
    bootfile: String,
}

impl QemuVm {
    /// A machine whose network boot loads `bootfile` (an http URL as the guest sees it).
    pub fn new(bootfile: &str) -> QemuVm {
        crate::require("qemu-system-x86_64", "qemu-system-x86");
        crate::require("socat", "socat");
        assert!(
            Path::new("/usr/lib/ipxe/qemu/pxe-virtio.rom").exists(),
            "the iPXE boot ROMs are not installed: install the Debian package ipxe-qemu (.ci/run does); this test does not skip itself"
        );
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(dir.path().join("disk.img"), marker_disk()).expect("disk image");
        QemuVm {
            serial: dir.path().join("serial.log"),
            pid: dir.path().join("qemu.pid"),
            monitor: dir.path().join("monitor.sock"),
            bootfile: bootfile.to_string(),
            dir,
        }
    }

    fn start_command(&self) -> String {
        format!(
            "qemu-system-x86_64 -machine pc,graphics=off -m 256 -display none -vga none \
             -serial file:{serial} -netdev user,id=n0,bootfile={boot} \
             -device virtio-net-pci,netdev=n0 \
             -drive file={disk},format=raw,if=virtio -boot order=nc \
             -monitor unix:{mon},server,nowait -daemonize -pidfile {pid}",
            serial = self.serial.display(),
            boot = self.bootfile,
            disk = self.dir.path().join("disk.img").display(),
            mon = self.monitor.display(),
            pid = self.pid.display(),
        )
    }

    /// The `[bmc.command]` table that powers this machine (status, on, off, reset, cycle).
    pub fn command_table(&self) -> String {
        let pid = self.pid.display();
        let running = format!("[ -f {pid} ] && kill -0 \"$(cat {pid})\" 2>/dev/null");
        let stop = format!(
            "if {running}; then kill \"$(cat {pid})\"; while kill -0 \"$(cat {pid})\" 2>/dev/null; do sleep 0.1; done; fi; rm -f {pid}"
        );
        let start = self.start_command();
        let reset = format!(
            "printf 'system_reset\\n' | socat - UNIX-CONNECT:{}",
            self.monitor.display()
        );
        format!(
            "[bmc.command]\nshell = true\n\
             status = [\"if {running}; then echo on; else echo off; fi\"]\n\
             on = [\"{running} || {start}\"]\n\
             off = [\"{stop}\"]\n\
             reset = [\"{reset}\"]\n\
             cycle = [\"{stop}; {start}\"]\n",
            running = running.replace('"', "\\\""),
            start = start,
            stop = stop.replace('"', "\\\""),
            reset = reset,
        )
    }

    /// The serial console's text so far.
    pub fn serial_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.serial).unwrap_or_default()).into_owned()
    }

    /// Waits up to `secs` for `needle` in the serial console after byte `from` (terminal
    /// controls left out, see [`crate::console_text`]); that text after
    /// `from` when it came (or at the deadline, with `false`).
    pub fn wait_serial(&self, from: usize, needle: &str, secs: u64) -> (bool, String) {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = self.serial_text();
            let after = crate::console_text::plain(text.get(from..).unwrap_or_default());
            if after.contains(needle) {
                return (true, after);
            }
            if Instant::now() >= until {
                return (false, after);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Whether the machine runs now.
    pub fn running(&self) -> bool {
        self.qemu_pid()
            .is_some_and(|p| unsafe { libc::kill(p, 0) } == 0)
    }

    fn qemu_pid(&self) -> Option<i32> {
        std::fs::read_to_string(&self.pid).ok()?.trim().parse().ok()
    }
}

impl Drop for QemuVm {
    fn drop(&mut self) {
        // Only the process this machine's pid file names: the one its commands started.
        if let Some(p) = self.qemu_pid() {
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
    }
}

/// A disk whose first sector prints [`DISK_MARKER`] on COM1 and halts (x86 real mode, loaded
/// at 0x7C00: the string right after the 23 bytes of code).
fn marker_disk() -> Vec<u8> {
    let code: [u8; 23] = [
        0x31, 0xc0, 0x8e, 0xd8, 0xfc, 0xbe, 0x17, 0x7c, 0xba, 0xf8, 0x03, 0xac, 0x84, 0xc0, 0x74,
        0x03, 0xee, 0xeb, 0xf8, 0xfa, 0xf4, 0xeb, 0xfd,
    ];
    let mut sector = code.to_vec();
    sector.extend_from_slice(DISK_MARKER.as_bytes());
    sector.extend_from_slice(b"\r\n\0");
    sector.resize(510, 0);
    sector.extend_from_slice(&[0x55, 0xaa]);
    sector.resize(1 << 20, 0);
    sector
}
