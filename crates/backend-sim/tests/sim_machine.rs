//! The simulated machine itself, through the `Backend` trait: power transitions that take time,
//! boots that consume a next-boot-only override, verbs that need the machine on, NMIs, soft off
//! its inventory, and its sensors following the power state. (The BMC model's own tests are in
//! ipmi-bmc.)

use backend_sim::{Boot, SimBackend, SimConfig};
use ipmi_bmc::{
    Backend, BackendError, BootDevice, BootOverride, DiscreteKind, PowerAction, PowerState,
    Requester, SensorKind, SensorReading,
};
use std::time::Duration;

fn sim_with(transition_ms: u64, honour_soft_off: bool) -> SimBackend {
    SimBackend::new(SimConfig {
        name: "node1".into(),
        power_on_at_start: false,
        transition: Duration::from_millis(transition_ms),
        soft_off_delay: Duration::from_millis(transition_ms),
        honour_soft_off,
    })
}

fn who() -> Requester {
    Requester {
        user: "admin".into(),
        peer: "127.0.0.1:5000".parse().unwrap(),
        bmc: "node1".into(),
    }
}

async fn power(sim: &SimBackend, action: PowerAction) -> Result<(), BackendError> {
    sim.power(action, &who()).await
}

async fn is_on(sim: &SimBackend) -> bool {
    sim.power_state().await.unwrap() == PowerState::On
}

#[tokio::test]
async fn persistent_override_survives_boots() {
    let sim = sim_with(0, true);
    let pxe = BootOverride {
        device: BootDevice::Pxe,
        persistent: true,
        efi: true,
    };
    sim.set_boot_override(Some(pxe), &who()).await.unwrap();
    power(&sim, PowerAction::On).await.unwrap();
    power(&sim, PowerAction::Reset).await.unwrap();
    assert_eq!(
        sim.boots(),
        vec![
            Boot {
                device: BootDevice::Pxe,
                efi: true
            };
            2
        ]
    );
    assert_eq!(sim.boot_override().await.unwrap(), Some(pxe));
}

#[tokio::test]
async fn power_on_takes_the_transition_and_consumes_a_next_boot_override() {
    let sim = sim_with(20, true);
    let bios = BootOverride {
        device: BootDevice::BiosSetup,
        persistent: false,
        efi: false,
    };
    sim.set_boot_override(Some(bios), &who()).await.unwrap();
    power(&sim, PowerAction::On).await.unwrap();
    // Still off during the transition, and the override still pending.
    assert!(!is_on(&sim).await);
    assert_eq!(sim.boot_override().await.unwrap(), Some(bios));
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert!(is_on(&sim).await);
    assert_eq!(
        sim.boots(),
        vec![Boot {
            device: BootDevice::BiosSetup,
            efi: false
        }]
    );
    assert_eq!(sim.boot_override().await.unwrap(), None);
    power(&sim, PowerAction::Reset).await.unwrap();
    assert_eq!(sim.boots()[1].device, BootDevice::Disk);
}

#[tokio::test]
async fn power_verbs_and_invalid_states() {
    let sim = sim_with(0, true);
    // Cycle, reset, diag and soft need the machine on.
    for verb in [
        PowerAction::Cycle,
        PowerAction::Reset,
        PowerAction::Diag,
        PowerAction::Soft,
    ] {
        let err = power(&sim, verb).await.unwrap_err();
        assert!(
            matches!(err, BackendError::InvalidState(_)),
            "{verb}: {err}"
        );
    }
    power(&sim, PowerAction::On).await.unwrap();
    assert!(is_on(&sim).await);
    power(&sim, PowerAction::Diag).await.unwrap();
    assert_eq!(sim.nmis(), 1);
    power(&sim, PowerAction::Cycle).await.unwrap();
    assert_eq!(sim.boots().len(), 2);
    power(&sim, PowerAction::Soft).await.unwrap();
    assert!(!is_on(&sim).await);
    power(&sim, PowerAction::On).await.unwrap();
    power(&sim, PowerAction::Off).await.unwrap();
    assert!(!is_on(&sim).await);
}

#[tokio::test]
async fn soft_off_waits_for_the_os_or_is_ignored() {
    let sim = sim_with(20, true);
    power(&sim, PowerAction::On).await.unwrap();
    tokio::time::sleep(Duration::from_millis(40)).await;
    power(&sim, PowerAction::Soft).await.unwrap();
    assert!(is_on(&sim).await);
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert!(!is_on(&sim).await);

    let stubborn = sim_with(0, false);
    power(&stubborn, PowerAction::On).await.unwrap();
    power(&stubborn, PowerAction::Soft).await.unwrap();
    assert!(is_on(&stubborn).await);
}

#[tokio::test]
async fn inventory_names_the_machine() {
    let inv = sim_with(0, true).inventory().await.unwrap();
    assert_eq!(inv.serial, "node1");
    assert_eq!(inv.asset_tag, "node1");
    assert!(!inv.product.is_empty());
}

fn value(readings: &[SensorReading], name: &str) -> Option<f64> {
    readings
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no sensor {name}"))
        .value
}

#[tokio::test]
async fn sensors_follow_the_power_state() {
    // On since start: warm.
    let sim = SimBackend::new(SimConfig {
        power_on_at_start: true,
        ..SimConfig::default()
    });
    let on = sim.sensors().await.unwrap();
    // The same set of sensors whatever the state: temperatures, 4 fans, voltages, power,
    // power supply, intrusion, ACPI state.
    assert_eq!(on.len(), 3 + 4 + 4 + 1 + 3);
    assert!(value(&on, "Fan 1").unwrap() > 2000.0);
    assert!(value(&on, "System Power").unwrap() > 100.0);
    assert!((11.4..12.6).contains(&value(&on, "12V").unwrap()));
    let acpi = |r: &[SensorReading]| r.iter().find(|s| s.name == "ACPI State").unwrap().states;
    assert_eq!(acpi(&on), Some(1 << DiscreteKind::S0_WORKING));
    let cpu = on.iter().find(|s| s.name == "CPU Temp").unwrap();
    assert_eq!(cpu.kind, SensorKind::Temperature);
    assert_eq!(cpu.thresholds.upper_critical, Some(95.0));
    power(&sim, PowerAction::Off).await.unwrap();
    let off = sim.sensors().await.unwrap();
    assert_eq!(value(&off, "Fan 1"), Some(0.0));
    assert_eq!(value(&off, "System Power"), Some(6.0));
    assert_eq!(
        value(&off, "12V"),
        None,
        "an unpowered rail reads unavailable"
    );
    assert_eq!(value(&off, "3.3VSB"), Some(3.3));
    assert_eq!(acpi(&off), Some(1 << DiscreteKind::S5_SOFT_OFF));
    // The machine cools down after power off, it does not drop to room temperature at once.
    let warm = value(&off, "CPU Temp").unwrap();
    assert!(warm > 40.0, "{warm}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = value(&sim.sensors().await.unwrap(), "CPU Temp").unwrap();
    assert!(later < warm && later > 40.0, "{warm} then {later}");
}
