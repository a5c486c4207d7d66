//! The ipmi backend against OpenIPMI's `ipmi_sim` (Debian package `openipmi`) as the real BMC
//! behind: power state and actions (checked in the simulator's chassis-control files), boot flags
//! relayed whole, the system GUID, a restart of the BMC behind, and both interfaces.

use backend_ipmi::{IpmiBackend, IpmiBackendConfig};
use ipmi_bmc::{Backend, PowerAction, PowerState, Requester};
use ipmi_client::Retry;
use ipmi_proto::session::{ClientConfig, Interface, Secret};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use std::net::SocketAddr;
use std::time::Duration;
use test_support::{free_port, IpmiSim, SIM_GUID, SIM_PASSWORD, SIM_USER};

fn backend(addr: SocketAddr, interface: Interface) -> IpmiBackend {
    IpmiBackend::new(IpmiBackendConfig {
        address: addr,
        client: ClientConfig {
            username: SIM_USER.into(),
            password: Secret::new(SIM_PASSWORD.as_bytes().to_vec()),
            kg: None,
            privilege: Privilege::Administrator,
            cipher_suites: vec![17, 3],
            interface,
        },
        retry: Retry {
            timeout: Duration::from_millis(500),
            retries: 2,
        },
        deadline: Duration::from_secs(5),
        relay: backend_ipmi::default_relay(),
        sol: false,
        keepalive: None,
    })
}

fn who() -> Requester {
    Requester {
        user: "admin".into(),
        peer: "127.0.0.1:1".parse().unwrap(),
        bmc: "node1".into(),
    }
}

#[tokio::test]
async fn power_boot_and_guid_through_ipmi_sim_on_both_interfaces() {
    for interface in [Interface::Lanplus, Interface::Lan] {
        let sim = IpmiSim::start();
        let b = backend(sim.addr, interface);
        assert_eq!(b.power_state().await.unwrap(), PowerState::On);
        b.power(PowerAction::Off, &who()).await.unwrap();
        assert_eq!(sim.power(), "0", "{interface:?}: {}", sim.actions());
        assert_eq!(b.power_state().await.unwrap(), PowerState::Off);
        b.power(PowerAction::On, &who()).await.unwrap();
        assert_eq!(sim.power(), "1");
        assert_eq!(b.power_state().await.unwrap(), PowerState::On);
        // Boot flags go through whole: PXE, as ipmitool sends it, is what the simulator sets.
        let relayed = b
            .relay(NetFn::CHASSIS, 0x08, &[0x05, 0x80, 0x04, 0, 0, 0], &who())
            .await
            .unwrap();
        assert_eq!(relayed.0, CompletionCode::OK);
        assert_eq!(sim.boot(), "pxe", "{}", sim.actions());
        let inv = b.inventory().await.unwrap();
        assert_eq!(
            inv.guid
                .map(|g| g.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            Some(SIM_GUID.into())
        );
    }
}

#[tokio::test]
async fn logs_in_again_after_ipmi_sim_restarts_and_times_out_when_down() {
    let port = free_port();
    let sim = IpmiSim::start_at(port, None);
    let b = backend(sim.addr, Interface::Lanplus);
    assert_eq!(b.power_state().await.unwrap(), PowerState::On);
    let addr = sim.addr;
    let dir = sim.stop();
    let t = std::time::Instant::now();
    let err = b.power_state().await.unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(6),
        "answered within the deadline"
    );
    assert_eq!(err.completion_code().0, 0xc3, "{err}");
    let _sim = IpmiSim::start_at(port, Some(dir));
    assert_eq!(
        b.power_state().await.unwrap(),
        PowerState::On,
        "logged in again at {addr}"
    );
}
