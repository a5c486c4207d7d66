//! The example backend configured from TOML, served, and driven by a real IPMI client.

use crate::config;
use crate::factory::BackendFactory;
use crate::runtime::Fleet;
use ipmi_client::{Retry, Session};
use ipmi_proto::session::{ClientConfig, Interface, Secret};
use ipmi_proto::types::{NetFn, Privilege};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn example_config(port: u16, table: &str) -> String {
    format!(
        "[[bmc]]\nname = \"ex1\"\nlisten = \"127.0.0.1:{port}\"\nbackend = \"example\"\n{table}[[bmc.users]]\nname = \"admin\"\npassword = \"ex-pass\"\nprivilege = \"administrator\"\n"
    )
}

#[tokio::test]
async fn a_backend_registered_with_one_line_is_configured_served_and_answers_chassis_control() {
    let port = test_support::free_port();
    let text = example_config(port, "[bmc.example]\non_at_start = false\ndelay_ms = 50\n");
    let mut bmcs = config::parse("t.toml", &text, Path::new(".")).unwrap();
    let bmc = bmcs.remove(0);
    assert_eq!(bmc.backend.kind(), "example");
    assert_eq!(bmc.backend.describe(), "example (on at start: false)");

    let fleet = Fleet::new(Arc::new(Mutex::new(BackendFactory::default())));
    fleet.start(bmc).unwrap();
    let client = ClientConfig {
        username: "admin".into(),
        password: Secret::new(b"ex-pass".to_vec()),
        kg: None,
        privilege: Privilege::Administrator,
        cipher_suites: vec![17, 3],
        interface: Interface::Lanplus,
    };
    let retry = Retry {
        timeout: Duration::from_secs(1),
        retries: 2,
    };
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut s = Session::open(addr, client, retry).await.unwrap();
    let status = |r: ipmi_client::Response| r.data[0] & 1 == 1;
    let r = s.request(NetFn::CHASSIS, 0x01, &[]).await.unwrap();
    assert!(!status(r), "off at start, as configured");
    let r = s.request(NetFn::CHASSIS, 0x02, &[0x01]).await.unwrap();
    assert_eq!(r.ccode.0, 0, "Chassis Control: power up");
    let r = s.request(NetFn::CHASSIS, 0x01, &[]).await.unwrap();
    assert!(status(r), "on after power up");
    s.close().await;
    assert!(fleet.stop("ex1"));
}

#[test]
fn its_time_limit_is_held_to_the_request_deadline() {
    let e = config::parse(
        "t.toml",
        &example_config(6999, "[bmc.example]\ndelay_ms = 10000\n"),
        Path::new("."),
    )
    .err()
    .unwrap()
    .0;
    assert_eq!(
        e,
        "t.toml:6:12: [bmc.example] delay_ms: one call may take 10s, which must stay below the request deadline of 10s (then the client gets 0xC3)"
    );
    config::parse(
        "t.toml",
        &example_config(6999, "[bmc.example]\ndelay_ms = 9999\n"),
        Path::new("."),
    )
    .unwrap();
}
