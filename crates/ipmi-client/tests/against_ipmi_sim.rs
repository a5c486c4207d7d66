//! The async client against OpenIPMI's `ipmi_sim` (Debian package `openipmi`): every cipher suite
//! both support (1, 2, 3: the simulator has no SHA-256 suites), IPMI 1.5 with MD5, a wrong
//! password, and a simulator that answers too slowly (stopped with SIGSTOP, then resumed).

use ipmi_client::{Retry, Session};
use ipmi_proto::session::{ClientConfig, Interface, Secret};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use std::time::Duration;
use test_support::{IpmiSim, SIM_PASSWORD, SIM_USER};

fn config(suites: &[u8], interface: Interface) -> ClientConfig {
    ClientConfig {
        username: SIM_USER.into(),
        password: Secret::new(SIM_PASSWORD.as_bytes().to_vec()),
        kg: None,
        privilege: Privilege::Administrator,
        cipher_suites: suites.to_vec(),
        interface,
    }
}

fn retry() -> Retry {
    Retry {
        timeout: Duration::from_millis(500),
        retries: 2,
    }
}

#[tokio::test]
async fn every_common_cipher_suite_and_ipmi15() {
    let sim = IpmiSim::start();
    for suite in [1u8, 2, 3] {
        let mut s = Session::open(sim.addr, config(&[suite], Interface::Lanplus), retry())
            .await
            .unwrap_or_else(|e| panic!("suite {suite}: {e}"));
        assert_eq!(s.cipher_suite(), Some(suite));
        let r = s.request(NetFn::APP, 0x01, &[]).await.unwrap();
        assert_eq!(
            r.ccode,
            CompletionCode::OK,
            "Get Device ID with suite {suite}"
        );
        // ipmi_sim's product ID from cmd.conf (0x0f02), little-endian at bytes 9..11.
        assert_eq!(&r.data[9..11], &[0x02, 0x0f]);
        s.close().await;
    }
    // The default preference [17, 3] falls back to 3 on this BMC.
    let s = Session::open(sim.addr, config(&[17, 3], Interface::Lanplus), retry())
        .await
        .unwrap();
    assert_eq!(s.cipher_suite(), Some(3));
    s.close().await;
    let mut s = Session::open(sim.addr, config(&[], Interface::Lan), retry())
        .await
        .unwrap();
    for _ in 0..5 {
        let r = s.request(NetFn::CHASSIS, 0x01, &[]).await.unwrap();
        assert_eq!(r.ccode, CompletionCode::OK);
    }
    s.close().await;
}

#[tokio::test]
async fn wrong_password_is_refused_on_both_interfaces() {
    let sim = IpmiSim::start();
    let wrong = |interface| ClientConfig {
        password: Secret::new(b"wrong".to_vec()),
        ..config(&[3], interface)
    };
    let e = Session::open(sim.addr, wrong(Interface::Lanplus), retry())
        .await
        .err()
        .expect("refused");
    assert!(matches!(e, ipmi_client::Error::Login(_)), "{e}");
    // ipmi_sim drops an Activate Session whose MD5 code is wrong instead of answering it.
    let e = Session::open(sim.addr, wrong(Interface::Lan), retry())
        .await
        .err()
        .expect("refused");
    assert!(matches!(e, ipmi_client::Error::Timeout(..)), "{e}");
}

#[tokio::test]
async fn slow_bmc_times_out_then_answers_again() {
    let sim = IpmiSim::start();
    let mut s = Session::open(sim.addr, config(&[3], Interface::Lanplus), retry())
        .await
        .unwrap();
    sim.pause();
    let t = std::time::Instant::now();
    let e = s
        .request(NetFn::CHASSIS, 0x01, &[])
        .await
        .expect_err("no answer");
    assert!(matches!(e, ipmi_client::Error::Timeout(..)), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    sim.resume();
    let r = s.request(NetFn::CHASSIS, 0x01, &[]).await.unwrap();
    assert_eq!(r.ccode, CompletionCode::OK);
}
