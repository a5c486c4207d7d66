//! The failed-login lockout against the real clients, as they fail: over RMCP+, ipmitool and
//! FreeIPMI check the BMC's RAKP 2 themselves, find it wrong when their password is, and stop
//! without a RAKP 3, so the BMC never sees the wrong password. Such a login counts as failed when
//! it is abandoned (its wait for RAKP 3 ends), and `login_max_failures` of them lock the user out
//! from that address as wrong RAKP 3s would: the right password is refused until `login_lockout`
//! has passed. This used to never happen: online guessing with ipmitool was never locked out,
//! and RAKP 2 codes could be collected at any rate.

mod common;
use common::admin::{Served, ADMIN_TOKEN};
use common::prometheus::{http_get, parse};
use common::*;
use std::time::{Duration, Instant};

/// Failures allowed (the test configuration's `login_max_failures`).
const MAX_FAILURES: usize = 3;
/// The lockout, in seconds (`login_lockout`).
const LOCKOUT_S: u64 = 5;
/// A login past RAKP 2 waits this long for RAKP 3 (ipmi-proto's `RAKP3_TIMEOUT`), then the
/// 1 s timer sees it.
const RAKP3_WAIT: Duration = Duration::from_secs(10);

fn served() -> Served {
    Served::start(
        &format!("login_max_failures = {MAX_FAILURES}\nlogin_lockout = {LOCKOUT_S}"),
        "",
    )
}

/// `ipmi_to_metal_logins_failed_total{class="sim",reason}` now.
fn failed(served: &Served, reason: &str) -> f64 {
    let (status, _, body) = http_get(served.admin_port, "/metrics", Some(ADMIN_TOKEN));
    assert_eq!(status, 200, "{body}");
    parse(&body).value(
        "ipmi_to_metal_logins_failed_total",
        &[("class", "sim"), ("reason", reason)],
    )
}

/// Waits for the lockout that the abandoned logins lead to: the log says so and the metrics
/// count them, within the wait for RAKP 3 and a few seconds after the last wrong try.
fn wait_for_lockout(served: &Served, last_try: Instant) {
    let log = || served.bmc.server_log();
    let locked = eventually(25, || log().contains("too many failed logins: locked out"));
    assert!(
        locked,
        "no lockout after {MAX_FAILURES} wrong passwords:\n{}",
        log()
    );
    let took = last_try.elapsed();
    assert!(
        took < RAKP3_WAIT + Duration::from_secs(4),
        "locked out {took:?} after the last try"
    );
    assert_eq!(failed(served, "abandoned_after_rakp2"), MAX_FAILURES as f64);
    // Logged in the BMC's span, though the timer found it.
    assert!(
        log().lines().any(|l| l.contains("bmc{name=node1")
            && l.contains("login failed: abandoned after RAKP 2")
            && l.contains("how=\"expired\"")),
        "{}",
        log()
    );
}

/// Polls `login` (the right password) until it succeeds; asserts that this takes about the
/// lockout, no less (it was refused until then) and not much more.
fn accepted_after_the_lockout(locked_at: Instant, mut login: impl FnMut() -> bool) {
    assert!(
        eventually(LOCKOUT_S + 10, &mut login),
        "the right password is still refused {LOCKOUT_S} s after the lockout"
    );
    let took = locked_at.elapsed();
    assert!(
        took > Duration::from_secs(LOCKOUT_S) - Duration::from_secs(2),
        "accepted {took:?} after the lockout began"
    );
}

/// `ipmitool -I lanplus` with a wrong password, `login_max_failures` times: each stops after
/// RAKP 2. Then the right password is refused with "insufficient resources" while locked out,
/// and accepted after.
#[test]
fn ipmitool_with_a_wrong_password_is_locked_out() {
    let served = served();
    let bmc = &served.bmc;
    for n in 0..MAX_FAILURES {
        let r = ipmitool(bmc, "lanplus", &[], "admin", "wrong-password", "mc info");
        assert!(
            !r.ok
                && r.all()
                    .contains("Unable to establish IPMI v2 / RMCP+ session"),
            "try {n}: {}",
            r.all()
        );
    }
    let last_try = Instant::now();
    assert_eq!(failed(&served, "bad_password"), 0.0, "no RAKP 3 was sent");
    wait_for_lockout(&served, last_try);
    let locked_at = Instant::now();
    let r = ipmitool(bmc, "lanplus", &["-v"], "admin", ADMIN_PASSWORD, "mc info");
    assert!(
        !r.ok
            && r.all()
                .contains("RAKP 2 message indicates an error : insufficient resources"),
        "the right password while locked out: {}",
        r.all()
    );
    assert_eq!(failed(&served, "locked_out"), 1.0);
    accepted_after_the_lockout(locked_at, || {
        ipmitool(bmc, "lanplus", &[], "admin", ADMIN_PASSWORD, "mc info")
            .stdout
            .contains("IPMI Version")
    });
}

/// FreeIPMI (`ipmipower -D LAN_2_0 --stat`) the same way: "password invalid" each time, then
/// the right password refused while locked out and accepted after.
#[test]
fn freeipmi_with_a_wrong_password_is_locked_out() {
    let served = served();
    let bmc = &served.bmc;
    let stat = |password: &str| {
        freeipmi(
            bmc,
            "ipmipower",
            "admin",
            password,
            &["-D", "LAN_2_0", "--stat"],
        )
    };
    for n in 0..MAX_FAILURES {
        let r = stat("wrong-password");
        assert!(r.all().contains("password invalid"), "try {n}: {}", r.all());
    }
    let last_try = Instant::now();
    wait_for_lockout(&served, last_try);
    let locked_at = Instant::now();
    let r = stat(ADMIN_PASSWORD);
    assert!(
        r.all().contains("127.0.0.1: BMC busy"),
        "the right password while locked out: {}",
        r.all()
    );
    assert_eq!(failed(&served, "locked_out"), 1.0, "{}", r.all());
    accepted_after_the_lockout(locked_at, || {
        stat(ADMIN_PASSWORD).stdout.trim() == "127.0.0.1: on"
    });
}
