//! The BMC model over a small in-crate test machine: command dispatch, privilege checks, power,
//! and boot options kept as real state; the SDR repository, sensor readings and DCMI power
//! (`sensors`). (The sim backend's own behaviour is tested in backend-sim.)

mod audit;
mod machine;
mod media;
mod refusal;
mod sel;
mod sensors;

use ipmi_bmc::{commands, Bmc, BmcSettings, BootDevice, BootOverride, LanInfo, Response, UserInfo};
use ipmi_proto::session::{Request, RequestContext};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use machine::{Boot, TestMachine};
use std::collections::HashSet;
use std::sync::Arc;

fn settings() -> BmcSettings {
    BmcSettings {
        name: "node1".into(),
        guid: [7; 16],
        channel: 1,
        users: vec![UserInfo {
            id: 2,
            name: "admin".into(),
            privilege: Privilege::Administrator,
            enabled: true,
        }],
        lan: LanInfo {
            ip: "10.0.0.5".parse().unwrap(),
            dhcp: false,
            netmask: "255.255.255.0".parse().unwrap(),
            gateway: "10.0.0.1".parse().unwrap(),
            mac: [2, 0, 0, 0, 0, 5],
        },
        cipher_suites: vec![3, 17],
        auth_types: 0x04,
    }
}

fn setup(machine: TestMachine) -> (Bmc, Arc<TestMachine>) {
    let machine = Arc::new(machine);
    (Bmc::new(settings(), machine.clone()), machine)
}

async fn call(
    bmc: &Bmc,
    privilege: Option<Privilege>,
    netfn: NetFn,
    cmd: u8,
    data: &[u8],
) -> Response {
    let req = Request {
        netfn,
        cmd,
        data: data.to_vec(),
        context: RequestContext::for_test(
            "127.0.0.1:5000".parse().unwrap(),
            privilege,
            privilege.map(|_| (2, "admin".to_string())),
        ),
    };
    bmc.handle(&req).await
}

async fn admin(bmc: &Bmc, netfn: NetFn, cmd: u8, data: &[u8]) -> Response {
    call(bmc, Some(Privilege::Administrator), netfn, cmd, data).await
}

fn ok(data: &[u8]) -> Response {
    Response {
        ccode: CompletionCode::OK,
        data: data.to_vec(),
    }
}

#[tokio::test]
async fn ironic_raw_boot_commands_read_back_exactly() {
    let (bmc, machine) = setup(TestMachine::new());
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x08, &[0x03, 0x08]).await,
        ok(&[])
    );
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x09, &[0x03, 0, 0]).await,
        ok(&[0x01, 0x03, 0x08])
    );
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x08, &[0x05, 0xe0, 0x04, 0, 0, 0]).await,
        ok(&[])
    );
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x09, &[0x05, 0, 0]).await,
        ok(&[0x01, 0x05, 0xe0, 0x04, 0, 0, 0])
    );
    // Persistent: survives boots.
    admin(&bmc, NetFn::CHASSIS, 0x02, &[0x01]).await;
    admin(&bmc, NetFn::CHASSIS, 0x02, &[0x03]).await;
    assert_eq!(
        machine.boots(),
        vec![
            Boot {
                device: BootDevice::Pxe,
                efi: true
            };
            2
        ]
    );
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x09, &[0x05, 0, 0]).await,
        ok(&[0x01, 0x05, 0xe0, 0x04, 0, 0, 0])
    );
}

#[tokio::test]
async fn next_boot_only_override_is_consumed_by_the_next_boot() {
    let (bmc, machine) = setup(TestMachine::holding_transitions());
    // Valid, next boot only, legacy, boot into BIOS setup (selector 6).
    admin(&bmc, NetFn::CHASSIS, 0x08, &[0x05, 0x80, 0x18, 0, 0, 0]).await;
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x09, &[0x05, 0, 0]).await,
        ok(&[0x01, 0x05, 0x80, 0x18, 0, 0, 0])
    );
    assert_eq!(admin(&bmc, NetFn::CHASSIS, 0x02, &[0x01]).await, ok(&[]));
    // Still off during the transition.
    assert_eq!(admin(&bmc, NetFn::CHASSIS, 0x01, &[]).await.data[0] & 1, 0);
    machine.settle();
    assert_eq!(admin(&bmc, NetFn::CHASSIS, 0x01, &[]).await.data[0] & 1, 1);
    assert_eq!(
        machine.boots(),
        vec![Boot {
            device: BootDevice::BiosSetup,
            efi: false
        }]
    );
    // The valid bit is cleared, the rest reads back as set.
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x09, &[0x05, 0, 0]).await,
        ok(&[0x01, 0x05, 0x00, 0x18, 0, 0, 0])
    );
    admin(&bmc, NetFn::CHASSIS, 0x02, &[0x03]).await;
    assert_eq!(machine.boots()[1].device, BootDevice::Disk);
}

#[tokio::test]
async fn a_machine_that_reads_boot_back_shows_what_it_holds() {
    let (bmc, machine) = setup(TestMachine::reading_boot_back());
    // Nothing set through the BMC, a persistent UEFI PXE set behind it: shown.
    machine.change_override_behind(Some(BootOverride {
        device: BootDevice::Pxe,
        persistent: true,
        efi: true,
    }));
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x09, &[0x05, 0, 0]).await,
        ok(&[0x01, 0x05, 0xe0, 0x04, 0, 0, 0])
    );
    // Next-boot-only legacy BIOS setup asked, with "CMOS clear" (byte 2 bit 7); the machine
    // holds it as persistent: persistent is shown, the other bits as set.
    admin(&bmc, NetFn::CHASSIS, 0x08, &[0x05, 0x80, 0x98, 0, 0, 0]).await;
    machine.change_override_behind(Some(BootOverride {
        device: BootDevice::BiosSetup,
        persistent: true,
        efi: false,
    }));
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x09, &[0x05, 0, 0]).await,
        ok(&[0x01, 0x05, 0xc0, 0x98, 0, 0, 0])
    );
    // Cleared behind it: the valid bit reads cleared, persistent or not.
    machine.change_override_behind(None);
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x09, &[0x05, 0, 0]).await,
        ok(&[0x01, 0x05, 0x00, 0x98, 0, 0, 0])
    );
}

#[tokio::test]
async fn power_verbs_and_invalid_states() {
    let (bmc, machine) = setup(TestMachine::new());
    let status = |r: Response| r.data[0] & 1;
    // Cycle, reset, diag and soft need the machine on.
    for verb in [2u8, 3, 4, 5] {
        assert_eq!(
            admin(&bmc, NetFn::CHASSIS, 0x02, &[verb]).await.ccode,
            CompletionCode::INVALID_STATE
        );
    }
    admin(&bmc, NetFn::CHASSIS, 0x02, &[1]).await;
    assert_eq!(status(admin(&bmc, NetFn::CHASSIS, 0x01, &[]).await), 1);
    // Power on by IPMI is the last power event.
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x01, &[]).await.data[1] & 0x10,
        0x10
    );
    assert_eq!(admin(&bmc, NetFn::CHASSIS, 0x02, &[4]).await, ok(&[]));
    assert_eq!(machine.nmis(), 1);
    assert_eq!(admin(&bmc, NetFn::CHASSIS, 0x02, &[2]).await, ok(&[]));
    assert_eq!(machine.boots().len(), 2);
    assert_eq!(admin(&bmc, NetFn::CHASSIS, 0x02, &[5]).await, ok(&[]));
    assert_eq!(status(admin(&bmc, NetFn::CHASSIS, 0x01, &[]).await), 0);
    admin(&bmc, NetFn::CHASSIS, 0x02, &[1]).await;
    admin(&bmc, NetFn::CHASSIS, 0x02, &[0]).await;
    assert_eq!(status(admin(&bmc, NetFn::CHASSIS, 0x01, &[]).await), 0);
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x02, &[9]).await.ccode,
        CompletionCode::INVALID_FIELD
    );
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x02, &[]).await.ccode,
        CompletionCode::INVALID_LENGTH
    );
}

#[tokio::test]
async fn privileges_are_enforced() {
    let (bmc, _) = setup(TestMachine::new());
    let user = Some(Privilege::User);
    assert_eq!(
        call(&bmc, user, NetFn::CHASSIS, 0x01, &[]).await.ccode,
        CompletionCode::OK
    );
    assert_eq!(
        call(&bmc, user, NetFn::CHASSIS, 0x02, &[1]).await.ccode,
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );
    assert_eq!(
        call(&bmc, user, NetFn::CHASSIS, 0x08, &[3, 8]).await.ccode,
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );
    let op = Some(Privilege::Operator);
    assert_eq!(
        call(&bmc, op, NetFn::CHASSIS, 0x02, &[1]).await.ccode,
        CompletionCode::OK
    );
    assert_eq!(
        call(&bmc, op, NetFn::APP, 0x02, &[]).await.ccode,
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );
    // Outside a session nothing is carried out.
    assert_eq!(
        call(&bmc, None, NetFn::APP, 0x01, &[]).await.ccode,
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );
    assert_eq!(
        call(&bmc, None, NetFn::CHASSIS, 0x02, &[0]).await.ccode,
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );
}

#[tokio::test]
async fn unknown_commands_and_parameters() {
    let (bmc, _) = setup(TestMachine::new());
    // ipmitool's DCMI probe after login.
    assert_eq!(
        admin(&bmc, NetFn::GROUP_EXTENSION, 0x01, &[0xdc, 1])
            .await
            .ccode,
        CompletionCode::INVALID_COMMAND
    );
    assert_eq!(
        admin(&bmc, NetFn(0x30), 0x01, &[]).await.ccode,
        CompletionCode::INVALID_COMMAND
    );
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x09, &[0x07, 0, 0]).await.ccode,
        CompletionCode(0x80)
    );
    assert_eq!(
        admin(&bmc, NetFn::TRANSPORT, 0x02, &[1, 0x63, 0, 0])
            .await
            .ccode,
        CompletionCode(0x80)
    );
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x08, &[0x05, 0x80]).await.ccode,
        CompletionCode::INVALID_LENGTH
    );
}

#[tokio::test]
async fn identity_channel_user_and_lan() {
    let (bmc, _) = setup(TestMachine::new());
    let id = admin(&bmc, NetFn::APP, 0x01, &[]).await;
    assert_eq!(id.data.len(), 11);
    assert_eq!(id.data[4], 0x02);
    assert_eq!(admin(&bmc, NetFn::APP, 0x04, &[]).await, ok(&[0x55, 0]));
    assert_eq!(admin(&bmc, NetFn::APP, 0x08, &[]).await, ok(&[7; 16]));
    assert_eq!(
        admin(&bmc, NetFn::APP, 0x42, &[0x0e]).await.data[..3],
        [1, 4, 1]
    );
    assert_eq!(
        admin(&bmc, NetFn::APP, 0x42, &[0x05]).await.ccode,
        CompletionCode::INVALID_FIELD
    );
    assert_eq!(
        admin(&bmc, NetFn::APP, 0x44, &[1, 2]).await,
        ok(&[10, 0x41, 1, 0x14])
    );
    assert_eq!(
        admin(&bmc, NetFn::APP, 0x44, &[1, 3]).await,
        ok(&[10, 0x81, 1, 0x0f])
    );
    let mut name = b"admin".to_vec();
    name.resize(16, 0);
    assert_eq!(admin(&bmc, NetFn::APP, 0x46, &[2]).await, ok(&name));
    assert_eq!(
        admin(&bmc, NetFn::TRANSPORT, 0x02, &[1, 3, 0, 0]).await,
        ok(&[0x11, 10, 0, 0, 5])
    );
    assert_eq!(
        admin(&bmc, NetFn::TRANSPORT, 0x02, &[1, 4, 0, 0]).await,
        ok(&[0x11, 1])
    );
    assert_eq!(
        admin(&bmc, NetFn::TRANSPORT, 0x02, &[1, 5, 0, 0]).await,
        ok(&[0x11, 2, 0, 0, 0, 0, 5])
    );
    assert_eq!(
        admin(&bmc, NetFn::TRANSPORT, 0x02, &[1, 23, 0, 0]).await,
        ok(&[0x11, 0, 3, 17])
    );
    assert_eq!(
        admin(&bmc, NetFn::TRANSPORT, 0x02, &[0x81, 3, 0, 0]).await,
        ok(&[0x11])
    );
    // FRU 0 from the machine's inventory.
    let info = admin(&bmc, NetFn::STORAGE, 0x10, &[0]).await;
    let size = u16::from_le_bytes([info.data[0], info.data[1]]);
    assert!(size >= 16 && size % 8 == 0);
    let head = admin(&bmc, NetFn::STORAGE, 0x11, &[0, 0, 0, 8]).await;
    assert_eq!(head.data[0], 8);
    assert_eq!(head.data[1], 0x01);
}

/// Every listed command is one the model answers, under exactly the privilege the listing
/// states; nothing else is answered.
#[tokio::test]
async fn listed_commands_are_the_dispatched_ones_with_their_privileges() {
    let (bmc, _) = setup(TestMachine::new());
    let listed = commands();
    let mut seen = HashSet::new();
    for c in listed {
        assert!(seen.insert((c.netfn, c.cmd)), "{} listed twice", c.name);
        let need = c.privilege.expect("every model command needs a session");
        let below = Privilege::from_u8(need.as_u8() - 1);
        // The body is empty: a command that has one answers 0xC7, never 0xC1 or 0xD4.
        let at = call(&bmc, Some(need), c.netfn, c.cmd, &[]).await.ccode;
        assert!(
            at != CompletionCode::INVALID_COMMAND && at != CompletionCode::INSUFFICIENT_PRIVILEGE,
            "{} at {need:?} answered {at:?}",
            c.name
        );
        let under = call(&bmc, below, c.netfn, c.cmd, &[]).await.ccode;
        assert_eq!(
            under,
            CompletionCode::INSUFFICIENT_PRIVILEGE,
            "{} below {need:?}",
            c.name
        );
    }
    // Every other request NetFn/Cmd of the model's NetFns is refused as unknown.
    for netfn in [NetFn::CHASSIS, NetFn::APP, NetFn::STORAGE, NetFn::TRANSPORT] {
        for cmd in 0..=u8::MAX {
            if !seen.contains(&(netfn, cmd)) {
                assert_eq!(
                    admin(&bmc, netfn, cmd, &[]).await.ccode,
                    CompletionCode::INVALID_COMMAND,
                    "NetFn {:02X} Cmd {cmd:02X}",
                    netfn.0
                );
            }
        }
    }
}

/// A command the backend relays is relayed under the backend's privilege, before (and instead
/// of) the model's own handler.
#[tokio::test]
async fn relayed_commands_bypass_the_model() {
    let relayed = TestMachine::relaying(NetFn::CHASSIS, 0x01, Privilege::Administrator);
    let (bmc, _) = setup(relayed);
    // The model would answer Get Chassis Status to a User; the relay needs Administrator.
    assert_eq!(
        call(&bmc, Some(Privilege::User), NetFn::CHASSIS, 0x01, &[])
            .await
            .ccode,
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x01, &[9]).await,
        ok(&[0xaa, 9])
    );
    // Commands it does not relay are still the model's.
    assert_eq!(admin(&bmc, NetFn::APP, 0x04, &[]).await, ok(&[0x55, 0]));
}

/// A relay rule cannot grant less than IPMI 2.0 appendix G requires: a backend that would relay
/// Set User Password (App 0x47) to users still needs an administrator session here, whatever
/// account the session behind has; a rule above the floor keeps its own privilege.
#[tokio::test]
async fn relayed_commands_need_at_least_their_appendix_g_privilege() {
    let (bmc, _) = setup(TestMachine::relaying(NetFn::APP, 0x47, Privilege::User));
    for below in [Privilege::User, Privilege::Operator] {
        assert_eq!(
            call(&bmc, Some(below), NetFn::APP, 0x47, &[2, 2])
                .await
                .ccode,
            CompletionCode::INSUFFICIENT_PRIVILEGE,
            "{below:?}"
        );
    }
    assert_eq!(
        admin(&bmc, NetFn::APP, 0x47, &[2, 2]).await,
        ok(&[0xaa, 2, 2])
    );
    // Set SEL Time (Storage 0x49) is an operator's; OEM commands are an administrator's.
    let (bmc, _) = setup(TestMachine::relaying(NetFn::STORAGE, 0x49, Privilege::User));
    let user = call(&bmc, Some(Privilege::User), NetFn::STORAGE, 0x49, &[1]).await;
    assert_eq!(user.ccode, CompletionCode::INSUFFICIENT_PRIVILEGE);
    let operator = call(&bmc, Some(Privilege::Operator), NetFn::STORAGE, 0x49, &[1]).await;
    assert_eq!(operator, ok(&[0xaa, 1]));
    let (bmc, _) = setup(TestMachine::relaying(
        NetFn(0x30),
        0x01,
        Privilege::Operator,
    ));
    let operator = call(&bmc, Some(Privilege::Operator), NetFn(0x30), 0x01, &[]).await;
    assert_eq!(operator.ccode, CompletionCode::INSUFFICIENT_PRIVILEGE);
}
