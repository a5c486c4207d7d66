//! A BMC slower than the client's timeout answers a request and its retransmission both; the
//! second answer must not be taken as the reply to the next request. Against OpenIPMI's
//! `ipmi_sim` (Debian package `openipmi`), frozen with SIGSTOP while the first try is out.

use ipmi_client::{Retry, Session};
use ipmi_proto::session::{ClientConfig, Interface, Secret};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use std::time::Duration;
use test_support::{IpmiSim, SIM_PASSWORD, SIM_USER};

fn config(interface: Interface) -> ClientConfig {
    ClientConfig {
        username: SIM_USER.into(),
        password: Secret::new(SIM_PASSWORD.as_bytes().to_vec()),
        kg: None,
        privilege: Privilege::Administrator,
        cipher_suites: vec![3],
        interface,
    }
}

async fn late_answer_is_dropped(interface: Interface) {
    let sim = IpmiSim::start();
    let retry = Retry {
        timeout: Duration::from_millis(300),
        retries: 3,
    };
    let mut s = Session::open(sim.addr, config(interface), retry)
        .await
        .unwrap();
    // Frozen while Get Chassis Status goes out and times out once; thawed while the second try
    // waits: the simulator then answers both tries.
    sim.pause();
    let (thaw, ()) = tokio::join!(s.request(NetFn::CHASSIS, 0x01, &[]), async {
        tokio::time::sleep(Duration::from_millis(450)).await;
        sim.resume();
    });
    let status = thaw.expect("answered once thawed");
    assert_eq!(status.ccode, CompletionCode::OK);
    // Get Device ID: the late second answer to Get Chassis Status is already waiting.
    let id = s.request(NetFn::APP, 0x01, &[]).await.unwrap();
    assert_eq!(id.ccode, CompletionCode::OK);
    assert!(
        id.data.len() >= 11 && id.data[9..11] == [0x02, 0x0f],
        "the Get Device ID answer is a Get Chassis Status answer: {:02x?}",
        id.data
    );
    s.close().await;
}

#[tokio::test]
async fn rmcp_plus_late_answer_is_not_the_next_reply() {
    late_answer_is_dropped(Interface::Lanplus).await;
}

#[tokio::test]
async fn ipmi15_late_answer_is_not_the_next_reply() {
    late_answer_is_dropped(Interface::Lan).await;
}
