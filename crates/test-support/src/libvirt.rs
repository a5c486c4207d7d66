//! libvirt and QEMU for tests: a real virtual machine that really boots.
//!
//! [`Domain::define`] starts the daemons if they are not answering ([`ensure_libvirtd`]: as root,
//! `virtlogd -d` and `libvirtd -d`, once for every test binary of the run, under a lock file so
//! that binaries running in parallel start them once), then defines a throwaway domain of type
//! `qemu` (TCG: no KVM needed): 256 MiB, SeaBIOS with its text on the serial port, one disk image
//! made for it, QEMU's user-mode network only (`<interface type='user'>`: the guest reaches the
//! host's 127.0.0.1 as 10.0.2.2, nothing else) and the serial port logged to a file. Dropping the
//! [`Domain`] destroys and undefines it. [`BootScript`] serves an iPXE script on loopback for a
//! domain to netboot; [`StoragePool`] gives a domain a storage pool of its own (virtual media).
//!
//! Missing daemons or QEMU make the test panic with the package to install: no test skips.
//!
//! Every [`Domain`] holds a shared lock for its life; [`Domain::stop_libvirtd`] takes it
//! exclusively, so that stopping the shared daemon (a reconnection test) waits for every other
//! test's domains to be gone and no other test starts one meanwhile.

use crate::require;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The connection URI of the system libvirtd the tests use.
pub const LIBVIRT_URI: &str = "qemu:///system";

/// The prefix of every domain name a test defines (`<prefix><pid>-<n>-<name>`), so that the
/// domains a killed test run left behind can be recognized and removed.
pub const TEST_DOMAIN_PREFIX: &str = "itm-test-";

const LIBVIRTD_SOCKET: &str = "/run/libvirt/libvirt-sock";
const VIRTLOGD_SOCKET: &str = "/run/libvirt/virtlogd-sock";
const LIBVIRTD_PID: &str = "/run/libvirtd.pid";
/// Held exclusively while the daemons are started.
const START_LOCK: &str = "/tmp/ipmi-to-metal-tests-libvirt-start.lock";
/// Held shared by every domain, exclusively while libvirtd is stopped on purpose.
const USE_LOCK: &str = "/tmp/ipmi-to-metal-tests-libvirt-use.lock";

/// x86 real-mode code of a one-sector MBR (loaded at 0x7C00): point the NMI vector at a handler
/// that prints [`NMI_MARKER`] to COM1, wait 0.2 s (BIOS int 15h, AH=86h: SeaBIOS's serial copy
/// of its own "Booting from Hard Disk..." may still be coming, and would cut the text in two),
/// print the NUL-terminated text that follows the code (at 0x7C47) to COM1, then halt (woken
/// only by NMIs). From GNU as (`.code16`): xor ax,ax; mov ds,ax; movw $nmi,0x8; movw $0,0xa;
/// sti; mov $0x86,ah; mov $3,cx; xor dx,dx; int $0x15; cld; mov $msg,si; call print; halt: cli;
/// hlt; jmp halt+1; nmi: mov $nmimsg,si; call print; iret; print: mov $0x3f8,dx; 1: lodsb;
/// test al,al; jz 2f; out al,dx; jmp 1b; 2: ret; nmimsg: .asciz.
const MBR_CODE: &str = "31c08ed8c7060800257cc7060a000000fbb486b9030031d2cd15fcbe477ce80b00faf4ebfdbe387ce80100cfbaf803ac84c07403eeebf8c34e4d492d52454345495645440d0a00";

/// What the marker disk's boot sector prints on COM1 at each NMI (IPMI's diagnostic interrupt).
pub const NMI_MARKER: &str = "NMI-RECEIVED";

fn answers(socket: &str) -> bool {
    UnixStream::connect(socket).is_ok()
}

fn lock(path: &str, mode: libc::c_int) -> File {
    let file = File::options()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("lock file {path}: {e}"));
    relock(&file, mode);
    file
}

fn relock(file: &File, mode: libc::c_int) {
    // SAFETY: flock on a descriptor this File owns.
    let rc = unsafe { libc::flock(file.as_raw_fd(), mode) };
    assert_eq!(rc, 0, "flock: {}", std::io::Error::last_os_error());
}

fn wait_for_socket(socket: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !answers(socket) {
        assert!(
            Instant::now() < deadline,
            "{what} started but {socket} does not answer after 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `virtlogd` and `libvirtd` (as daemons, `-d`) if their sockets do not answer; returns
/// once libvirtd answers. Idempotent, and safe to call from test binaries running in parallel.
/// Panics (never skips) without root or the Debian packages `libvirt-daemon-system` and
/// `qemu-system-x86`.
pub fn ensure_libvirtd() {
    kvm_as_udev_leaves_it();
    if answers(VIRTLOGD_SOCKET) && answers(LIBVIRTD_SOCKET) {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "libvirtd is not running and only root can start it: run the libvirt tests as root (as .ci/run does); they do not skip"
    );
    require("qemu-system-x86_64", "qemu-system-x86");
    let virtlogd = require("virtlogd", "libvirt-daemon-system");
    let libvirtd = require("libvirtd", "libvirt-daemon-system");
    let _start = lock(START_LOCK, libc::LOCK_EX);
    if !answers(VIRTLOGD_SOCKET) {
        let ok = Command::new(&virtlogd).arg("-d").status();
        assert!(ok.is_ok_and(|s| s.success()), "virtlogd -d failed");
        wait_for_socket(VIRTLOGD_SOCKET, "virtlogd");
    }
    if !answers(LIBVIRTD_SOCKET) {
        let ok = Command::new(&libvirtd).arg("-d").status();
        assert!(ok.is_ok_and(|s| s.success()), "libvirtd -d failed");
        wait_for_socket(LIBVIRTD_SOCKET, "libvirtd");
    }
}

/// Gives `/dev/kvm` to group `kvm` (mode 0660), as udev does on a Debian machine, where a
/// machine without udev (a container, a micro-VM) leaves it root's only. Otherwise libvirtd
/// finds KVM in the QEMU it probes (as root) but not usable by QEMU's user, throws its
/// capabilities cache away at every call that needs it and probes QEMU again: seconds per
/// call, tens of seconds under load. The tests' domains are TCG either way.
fn kvm_as_udev_leaves_it() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(meta) = std::fs::metadata("/dev/kvm") else {
        return;
    };
    if meta.mode() & 0o060 == 0o060 {
        return;
    }
    let Ok(group) = std::fs::read_to_string("/etc/group") else {
        return;
    };
    let gid = group.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some("kvm")).then(|| f.nth(1)?.parse::<u32>().ok())?
    });
    let Some(gid) = gid else { return };
    // SAFETY: chown of a path with a valid C string; only the group changes.
    let rc = unsafe { libc::chown(c"/dev/kvm".as_ptr(), u32::MAX, gid) };
    if rc == 0 {
        let _ = std::fs::set_permissions("/dev/kvm", std::fs::Permissions::from_mode(0o660));
    }
}

/// Runs `virsh -c qemu:///system ARGS`; returns its standard output, or its error text.
pub fn virsh(args: &[&str]) -> Result<String, String> {
    let out = Command::new(require("virsh", "libvirt-clients"))
        .arg("-c")
        .arg(LIBVIRT_URI)
        .args(args)
        .output()
        .expect("run virsh");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Whether a test object's name (`<prefix><pid>-...`) is of a test process that is gone.
fn orphaned(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(TEST_DOMAIN_PREFIX) else {
        return false;
    };
    let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
    pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
}

/// Removes the test domains (and storage pools) of test processes that are gone (a run killed
/// before its guards ran).
fn remove_orphans() {
    if let Ok(pools) = virsh(&["pool-list", "--name"]) {
        for pool in pools.lines().filter(|p| orphaned(p)) {
            let _ = virsh(&["pool-destroy", pool]);
        }
    }
    let Ok(names) = virsh(&["list", "--all", "--name"]) else {
        return;
    };
    for name in names.lines() {
        if orphaned(name) {
            let _ = virsh(&["destroy", name]);
            let _ = virsh(&["undefine", "--nvram", name]);
        }
    }
}

/// How a test domain is made. `Default`: boots from its disk (`<os><boot dev='hd'/>`), a disk
/// that prints nothing (SeaBIOS then falls through to the network), no boot file, shut off.
#[derive(Clone, Debug, Default)]
pub struct DomainConfig {
    /// The end of the domain's name (after the unique test prefix).
    pub name: String,
    /// `<os><boot dev=...>` in order (`hd`, `network`, `cdrom`); empty: `hd`.
    pub boot: Vec<String>,
    /// A bootable disk whose boot sector prints this text on the serial port and halts (SeaBIOS
    /// then shows `Booting from Hard Disk...` and the text), printing [`NMI_MARKER`] at each
    /// NMI. `None`: an empty disk.
    pub disk_marker: Option<String>,
    /// The boot file QEMU's user-mode DHCP offers (e.g. [`BootScript::url`]): iPXE fetches and
    /// runs it when the domain netboots.
    pub boot_file: Option<String>,
    /// XML placed inside the domain's `<metadata>` element.
    pub metadata: Option<String>,
    /// An `<sysinfo type='smbios'>` element's content (its system block is also made the
    /// firmware's SMBIOS tables with `<smbios mode='sysinfo'/>`).
    pub sysinfo: Option<String>,
    /// Start the domain after defining it.
    pub start: bool,
}

static NEXT_DOMAIN: AtomicU32 = AtomicU32::new(0);

/// A throwaway libvirt domain, destroyed and undefined when dropped.
pub struct Domain {
    name: String,
    uuid: String,
    dir: tempfile::TempDir,
    use_lock: File,
}

/// libvirtd stopped on purpose (by [`Domain::stop_libvirtd`]); started again when dropped.
pub struct LibvirtdStopped<'a> {
    domain: &'a Domain,
}

impl Domain {
    /// Defines (and, if asked, starts) a domain as `config` says. Panics with libvirt's error.
    pub fn define(config: &DomainConfig) -> Domain {
        let use_lock = lock(USE_LOCK, libc::LOCK_SH);
        ensure_libvirtd();
        remove_orphans();
        let n = NEXT_DOMAIN.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{TEST_DOMAIN_PREFIX}{}-{n}-{}",
            std::process::id(),
            config.name
        );
        let dir = tempfile::tempdir().expect("temporary directory");
        // QEMU runs as libvirt's own user: it must reach the disk and the log.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let disk = dir.path().join("disk.img");
        std::fs::write(&disk, disk_image(config.disk_marker.as_deref())).expect("disk image");
        let xml = domain_xml(&name, config, &disk, &dir.path().join("serial.log"));
        let xml_path = dir.path().join("domain.xml");
        std::fs::write(&xml_path, &xml).expect("domain XML");
        virsh(&["define", xml_path.to_str().expect("path")])
            .unwrap_or_else(|e| panic!("virsh define {name}: {e}\n{xml}"));
        let uuid = virsh(&["domuuid", &name]).expect("domuuid");
        let domain = Domain {
            name,
            uuid,
            dir,
            use_lock,
        };
        if config.start {
            domain.virsh(&["start"]).expect("start the domain");
        }
        domain
    }

    /// Its full name in libvirt.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its UUID (libvirt's text form).
    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// Runs `virsh ARGS... NAME` on this domain (its name last).
    pub fn virsh(&self, args: &[&str]) -> Result<String, String> {
        let mut all = args.to_vec();
        all.push(&self.name);
        virsh(&all)
    }

    /// Its state as `virsh domstate` says it (`running`, `shut off`, `paused`...).
    pub fn state(&self) -> String {
        self.virsh(&["domstate"]).expect("domstate")
    }

    /// Waits until its state is `state`; panics after `timeout` with the last state.
    pub fn wait_state(&self, state: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.state();
            if now == state {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "domain {} is {now:?}, not {state:?}, after {timeout:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The path of its serial log (everything the guest printed on its serial port since
    /// defined, across boots).
    pub fn serial_log(&self) -> PathBuf {
        self.dir.path().join("serial.log")
    }

    /// The serial log's text so far (empty before the first start).
    pub fn serial_text(&self) -> String {
        std::fs::read(self.serial_log())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Waits until `text` appears in the serial log after byte `from` (e.g. the log's length
    /// before an action), terminal controls left out; returns the log's position just after it. Panics after `timeout` with the
    /// log's tail.
    pub fn wait_serial(&self, text: &str, from: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.serial_text();
            if let Some(end) = crate::console_text::find_after(&log, from, text) {
                return end;
            }
            if Instant::now() >= deadline {
                let tail: String = log
                    .get(from..)
                    .unwrap_or("")
                    .chars()
                    .rev()
                    .take(1500)
                    .collect();
                let tail: String = tail.chars().rev().collect();
                panic!(
                    "{text:?} not on the serial console of {} after {timeout:?}; state {:?}; log after byte {from}:\n{tail}",
                    self.name,
                    self.state()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The length of the serial log now, for [`Domain::wait_serial`].
    pub fn serial_len(&self) -> usize {
        self.serial_text().len()
    }

    /// Its persistent (inactive) XML definition.
    pub fn inactive_xml(&self) -> String {
        self.virsh(&["dumpxml", "--inactive"]).expect("dumpxml")
    }

    /// Stops libvirtd (its running domains keep running) until the guard is dropped, which starts
    /// it again and waits for it to answer. Waits first until no other test, in this process or
    /// another, holds a domain: stop it only while holding this one domain.
    pub fn stop_libvirtd(&self) -> LibvirtdStopped<'_> {
        relock(&self.use_lock, libc::LOCK_EX);
        let pid = std::fs::read_to_string(LIBVIRTD_PID)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
            .expect("libvirtd's pid file");
        // SAFETY: a signal to the libvirtd of the pid file, which the tests started.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Path::new(&format!("/proc/{pid}")).exists() && answers(LIBVIRTD_SOCKET) {
            assert!(Instant::now() < deadline, "libvirtd {pid} did not stop");
            std::thread::sleep(Duration::from_millis(100));
        }
        while Path::new(&format!("/proc/{pid}")).exists() {
            assert!(Instant::now() < deadline, "libvirtd {pid} did not exit");
            std::thread::sleep(Duration::from_millis(100));
        }
        LibvirtdStopped { domain: self }
    }
}

impl Drop for LibvirtdStopped<'_> {
    fn drop(&mut self) {
        ensure_libvirtd();
        relock(&self.domain.use_lock, libc::LOCK_SH);
    }
}

impl Drop for Domain {
    fn drop(&mut self) {
        let _ = self.virsh(&["destroy"]);
        if let Err(e) = self.virsh(&["undefine", "--nvram"]) {
            eprintln!("could not undefine test domain {}: {e}", self.name);
        }
    }
}

/// A transient directory storage pool of the shared libvirtd (where the libvirt backend puts
/// virtual media images), named after a test domain; destroyed when dropped, its directory
/// (and the volumes in it) removed.
pub struct StoragePool {
    name: String,
    dir: tempfile::TempDir,
}

impl StoragePool {
    /// Creates and starts the pool of `domain` (whose guard keeps libvirtd's use lock).
    pub fn create(domain: &Domain) -> StoragePool {
        let name = format!("{}-pool", domain.name());
        let dir = tempfile::tempdir().expect("temporary directory");
        // QEMU runs as libvirt's own user: it must reach the volumes.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let target = dir.path().to_str().expect("path");
        virsh(&["pool-create-as", &name, "dir", "--target", target])
            .unwrap_or_else(|e| panic!("virsh pool-create-as {name}: {e}"));
        StoragePool { name, dir }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The names of the files in its directory (its volumes), sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("read the pool's directory")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for StoragePool {
    fn drop(&mut self) {
        if let Err(e) = virsh(&["pool-destroy", &self.name]) {
            eprintln!("could not destroy test storage pool {}: {e}", self.name);
        }
    }
}

/// A 1 MiB raw disk: a boot sector printing `marker` on COM1, or nothing bootable.
fn disk_image(marker: Option<&str>) -> Vec<u8> {
    let mut image = vec![0u8; 1 << 20];
    if let Some(marker) = marker {
        let code: Vec<u8> = (0..MBR_CODE.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&MBR_CODE[i..i + 2], 16).expect("hex"))
            .collect();
        let text = format!("\r\n{marker}\r\n\0");
        assert!(code.len() + text.len() <= 446, "marker too long");
        image[..code.len()].copy_from_slice(&code);
        image[code.len()..code.len() + text.len()].copy_from_slice(text.as_bytes());
        image[510] = 0x55;
        image[511] = 0xaa;
    }
    image
}

fn domain_xml(name: &str, config: &DomainConfig, disk: &Path, log: &Path) -> String {
    let boot: String = if config.boot.is_empty() {
        "<boot dev='hd'/>".to_string()
    } else {
        config
            .boot
            .iter()
            .map(|dev| format!("<boot dev='{dev}'/>"))
            .collect()
    };
    let metadata = config
        .metadata
        .as_deref()
        .map(|m| format!("<metadata>{m}</metadata>"))
        .unwrap_or_default();
    let (sysinfo, smbios) = match &config.sysinfo {
        Some(s) => (
            format!("<sysinfo type='smbios'>{s}</sysinfo>"),
            "<smbios mode='sysinfo'/>",
        ),
        None => (String::new(), ""),
    };
    // libvirt has no boot-file setting for the user-mode network: its netdev (hostnet0, in
    // QEMU's classic option syntax once the JSON syntax is turned off) gets one through -set.
    let boot_file = config
        .boot_file
        .as_deref()
        .map(|url| {
            format!(
                "<qemu:capabilities><qemu:del capability='netdev.json'/></qemu:capabilities>\
                 <qemu:commandline><qemu:arg value='-set'/>\
                 <qemu:arg value='netdev.hostnet0.bootfile={url}'/></qemu:commandline>"
            )
        })
        .unwrap_or_default();
    format!(
        "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  {metadata}
  {sysinfo}
  <os><type arch='x86_64' machine='pc'>hvm</type>{boot}
    <bios useserial='yes' rebootTimeout='-1'/>{smbios}</os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='{disk}'/><target dev='vda' bus='virtio'/></disk>
    <interface type='user'><model type='virtio'/></interface>
    <serial type='pty'><log file='{log}' append='on'/></serial>
    <console type='pty'/>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
  {boot_file}
</domain>
",
        disk = disk.display(),
        log = log.display(),
    )
}

/// An HTTP server on 127.0.0.1 that answers every GET with one iPXE script, for a domain to
/// netboot (QEMU's user-mode network takes the guest's 10.0.2.2 to the host's 127.0.0.1). Runs
/// until the process ends.
pub struct BootScript {
    port: u16,
    fetches: Arc<AtomicUsize>,
}

impl BootScript {
    /// Serves `script` (its first line should be `#!ipxe`).
    pub fn serve(script: &str) -> BootScript {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("address").port();
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let body = script.to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::Relaxed);
                answer(stream, &body);
            }
        });
        BootScript { port, fetches }
    }

    /// The script's URL as the guest sees it.
    pub fn url(&self) -> String {
        format!("http://10.0.2.2:{}/boot.ipxe", self.port)
    }

    /// How many requests it has answered.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::Relaxed)
    }
}

fn answer(mut stream: TcpStream, body: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let _ = write!(
        stream,
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
    let mut rest = [0u8; 64];
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = stream.read(&mut rest);
}
