//! The simulated machine's serial console: boot messages on power on and reset, the login
//! prompt and the shell, the shutdown messages of a soft off, and nothing while it is off.

use backend_sim::{SimBackend, SimConfig};
use ipmi_bmc::{Backend, Console, PowerAction, Requester};
use std::time::Duration;

fn who() -> Requester {
    Requester {
        user: "admin".into(),
        peer: "127.0.0.1:5000".parse().unwrap(),
        bmc: "node1".into(),
    }
}

/// Reads console output until `want` appears (or 5 s pass); everything read.
async fn read_until(c: &dyn Console, want: &str) -> String {
    let mut all = Vec::new();
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !String::from_utf8_lossy(&all).contains(want) {
        let n = tokio::time::timeout_at(deadline, c.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no {want:?} in {:?}", String::from_utf8_lossy(&all)))
            .unwrap();
        all.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&all).into_owned()
}

#[tokio::test]
async fn boots_logs_in_answers_and_shuts_down() {
    let sim = SimBackend::new(SimConfig {
        name: "node1".into(),
        power_on_at_start: false,
        transition: Duration::from_millis(50),
        soft_off_delay: Duration::from_millis(50),
        honour_soft_off: true,
    });
    let c = sim.console(&who()).await.unwrap();
    // Off: typing does nothing.
    c.write(b"root\r").await.unwrap();
    sim.power(PowerAction::On, &who()).await.unwrap();
    let boot = read_until(&*c, "node1 login: ").await;
    assert!(boot.contains("Linux version 6.1.0-sim"), "{boot}");
    assert!(
        boot.starts_with("\r\nipmi-to-metal"),
        "keys typed while off are lost: {boot}"
    );
    c.write(b"root\r").await.unwrap();
    read_until(&*c, "Password: ").await;
    c.write(b"secret\r").await.unwrap();
    let shell = read_until(&*c, "root@node1:~# ").await;
    assert!(!shell.contains("secret"), "the password is not echoed");
    // Line editing: a typo erased with backspace; an arrow key's escape sequence skipped.
    c.write(b"uname -x\x7fa\x1b[A\r").await.unwrap();
    let out = read_until(&*c, "GNU/Linux\r\n").await;
    assert!(out.contains("Linux node1 6.1.0-sim"), "{out}");
    c.write(b"seq 3\r").await.unwrap();
    assert!(read_until(&*c, "3\r\n").await.contains("1\r\n2\r\n3\r\n"));
    sim.power(PowerAction::Reset, &who()).await.unwrap();
    assert!(read_until(&*c, "login: ")
        .await
        .contains("Booting from disk (EFI)"));
    sim.power(PowerAction::Soft, &who()).await.unwrap();
    read_until(&*c, "reboot: Power down").await;
}

/// A waker that counts its wake-ups.
struct Count(std::sync::atomic::AtomicUsize);

impl std::task::Wake for Count {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_quiet_console_parks_and_is_woken_by_a_power_change_or_a_key() {
    let sim = SimBackend::new(SimConfig {
        name: "node1".into(),
        power_on_at_start: false,
        transition: Duration::from_millis(50),
        soft_off_delay: Duration::from_millis(50),
        honour_soft_off: true,
    });
    let c = sim.console(&who()).await.unwrap();
    let count = std::sync::Arc::new(Count(Default::default()));
    let woken = || count.0.load(std::sync::atomic::Ordering::SeqCst);
    let waker = std::task::Waker::from(count.clone());
    // Off, nothing queued: quiet.
    assert!(c.park(&waker));
    assert_eq!(woken(), 0);
    sim.power(PowerAction::On, &who()).await.unwrap();
    assert_eq!(woken(), 1, "a power change wakes it");
    // Booting: output is due, so it is not quiet until all of it is read.
    assert!(!c.park(&waker));
    read_until(&*c, "node1 login: ").await;
    assert!(c.park(&waker));
    c.write(b"r").await.unwrap();
    assert_eq!(woken(), 2, "a key wakes it");
    assert!(!c.park(&waker), "the echo is waiting");
    assert_eq!(read_until(&*c, "r").await, "r");
    // Woken once per park: a key with nobody parked wakes nothing.
    c.write(b"o").await.unwrap();
    assert_eq!(woken(), 2);
}
