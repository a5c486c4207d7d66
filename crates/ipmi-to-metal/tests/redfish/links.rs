//! Issue 19, defect 4: the credentials go to the configured Redfish service only, wherever its
//! links point. The fake service's links point to `@127.0.0.1:TRAP/...`, which appended to
//! `http://127.0.0.1:PORT` names another host (the part before `@` becomes a user name); a
//! second listener on TRAP must receive nothing: no login, no token, no request at all.

use crate::common::*;
use crate::redfish_bmc;
use crate::services::*;
use std::io::Read;
use std::sync::{Arc, Mutex};

/// A listener that keeps whatever reaches it (it must stay empty).
struct Trap {
    port: u16,
    got: Arc<Mutex<Vec<String>>>,
}

impl Trap {
    fn start() -> Trap {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let kept = got.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let mut conn = conn;
                conn.set_read_timeout(Some(std::time::Duration::from_secs(1)))
                    .unwrap();
                let mut buf = vec![0u8; 4096];
                let n = conn.read(&mut buf).unwrap_or(0);
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                kept.lock().unwrap().push(format!("a connection: {text:?}"));
            }
        });
        Trap { port, got }
    }

    fn received(&self) -> Vec<String> {
        self.got.lock().unwrap().clone()
    }
}

#[test]
fn links_to_another_host_are_not_followed_and_the_login_stays_home() {
    let trap = Trap::start();
    let elsewhere = format!("@127.0.0.1:{}", trap.port);
    // Every link elsewhere: the sessions link of the service root first.
    let service = FakeRedfish::start();
    service.fake.point_links_at(
        &elsewhere,
        &["@odata.id", "target", "@Redfish.ActionInfo", "Location"],
    );
    let bmc = redfish_bmc(&service.url(), "deadline_ms = 3000");
    let status = admin_run(&bmc, "chassis power status");
    assert!(!status.ok, "{}", status.all());
    // Only the links of the Reset action elsewhere: reading works, the action is not sent.
    let service2 = FakeRedfish::start();
    service2
        .fake
        .point_links_at(&elsewhere, &["target", "@Redfish.ActionInfo"]);
    let bmc2 = redfish_bmc(&service2.url(), "deadline_ms = 3000");
    let status = admin(&bmc2, "chassis power status");
    assert!(status.contains("Chassis Power is on"), "{status}");
    let off = admin_run(&bmc2, "chassis power off");
    assert!(!off.ok, "{}", off.all());
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(trap.received(), Vec::<String>::new());
    assert_eq!(service2.fake.system().power_state, "On");
    for (bmc, fake) in [(&bmc, &service.fake), (&bmc2, &service2.fake)] {
        let log = bmc.server_log();
        assert!(
            log.contains("Redfish link refused") && log.contains(&elsewhere),
            "{log}"
        );
        assert!(!log.contains(REDFISH_PASSWORD), "{log}");
        // Nothing went to the service's paths with the hostile prefix either.
        assert!(
            fake.exchanges().iter().all(|e| !e.path.contains('@')),
            "{:?}",
            fake.exchanges()
        );
    }
    // The first never logged in: its only link to the sessions pointed elsewhere.
    assert!(
        service.fake.exchanges().iter().all(|e| e.method == "GET"),
        "{:?}",
        service.fake.exchanges()
    );
}
