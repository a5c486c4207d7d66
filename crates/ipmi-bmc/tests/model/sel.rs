//! The System Event Log: the records of actions and of changes seen, reservations, partial
//! reads, the two-step clear, a full log, the SEL clock, and a log kept in a file.

use super::{admin, call, ok, settings, setup};
use crate::machine::TestMachine;
use ipmi_bmc::events::sensor;
use ipmi_bmc::{Bmc, PowerState, Response};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use sel_store::SelStore;
use std::sync::Arc;

const S: NetFn = NetFn::STORAGE;

/// Every record, following the next record IDs from the first.
async fn records(bmc: &Bmc) -> Vec<[u8; 16]> {
    let mut out = Vec::new();
    let mut id = 0u16;
    loop {
        let [lo, hi] = id.to_le_bytes();
        let r = admin(bmc, S, 0x43, &[0, 0, lo, hi, 0, 0xff]).await;
        if r.ccode == CompletionCode::NOT_PRESENT && out.is_empty() {
            return out;
        }
        assert_eq!(r.ccode, CompletionCode::OK, "Get SEL Entry {id:#x}");
        out.push(r.data[2..].try_into().unwrap());
        id = u16::from_le_bytes([r.data[0], r.data[1]]);
        if id == 0xffff {
            return out;
        }
    }
}

/// Sensor type, sensor number, offset, deasserted, event data 2 and 3 of each record.
async fn events(bmc: &Bmc) -> Vec<(u8, u8, u8, bool, u8, u8)> {
    records(bmc)
        .await
        .iter()
        .map(|r| {
            assert_eq!(r[2], 0x02, "a system event record");
            assert_eq!(r[7..10], [0x20, 0, 0x04], "generator: the BMC; EvM rev 4");
            (r[10], r[11], r[13] & 0x0f, r[12] & 0x80 != 0, r[14], r[15])
        })
        .collect()
}

async fn reserve(bmc: &Bmc) -> [u8; 2] {
    let r = admin(bmc, S, 0x42, &[]).await;
    assert_eq!(r.ccode, CompletionCode::OK);
    [r.data[0], r.data[1]]
}

#[tokio::test]
async fn actions_are_recorded_in_order_with_the_user() {
    let (bmc, _) = setup(TestMachine::new());
    // PXE next boot, power on, identify 10 s, identify off, power off, BIOS setup boot.
    admin(&bmc, NetFn::CHASSIS, 0x08, &[0x05, 0x80, 0x04, 0, 0, 0]).await;
    admin(&bmc, NetFn::CHASSIS, 0x02, &[0x01]).await;
    admin(&bmc, NetFn::CHASSIS, 0x04, &[10]).await;
    admin(&bmc, NetFn::CHASSIS, 0x04, &[0]).await;
    admin(&bmc, NetFn::CHASSIS, 0x02, &[0x00]).await;
    admin(&bmc, NetFn::CHASSIS, 0x08, &[0x05, 0x80, 0x18, 0, 0, 0]).await;
    // A refused action leaves no record.
    assert_eq!(
        admin(&bmc, NetFn::CHASSIS, 0x02, &[0x03]).await.ccode,
        CompletionCode::INVALID_STATE
    );
    use sensor::*;
    assert_eq!(
        events(&bmc).await,
        [
            (0x1d, SYSTEM_BOOT, 0x03, false, 0x01, 2), // User requested PXE boot
            (0x1d, SYSTEM_BOOT, 0x00, false, 0xff, 2), // Initiated by power up
            (0x21, IDENTIFY, 0x01, false, 0xff, 2),    // Identify Status
            (0x21, IDENTIFY, 0x01, true, 0xff, 2),     // ... deasserted
            (0x09, POWER_UNIT, 0x00, false, 0xff, 2),  // Power off/down
            (0x12, SYSTEM_EVENT, 0x00, false, 0x06, 2), // System Reconfigured: BIOS setup
        ]
    );
    let r = records(&bmc).await;
    let ids: Vec<u16> = r.iter().map(|r| u16::from_le_bytes([r[0], r[1]])).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
    // Stamped with the SEL time, in order.
    let times: Vec<u32> = r
        .iter()
        .map(|r| u32::from_le_bytes(r[3..7].try_into().unwrap()))
        .collect();
    let now = u32::from_le_bytes(admin(&bmc, S, 0x48, &[]).await.data[..].try_into().unwrap());
    assert!(times.windows(2).all(|w| w[0] <= w[1]) && now - times[0] < 5);
}

#[tokio::test]
async fn power_changes_seen_and_an_unreachable_backend_are_recorded() {
    let (bmc, machine) = setup(TestMachine::holding_transitions());
    let status = || admin(&bmc, NetFn::CHASSIS, 0x01, &[]);
    status().await; // the first state seen is not a change
    admin(&bmc, NetFn::CHASSIS, 0x02, &[0x01]).await;
    status().await; // still off while it powers on: no change
    machine.settle();
    status().await; // on: what came of the action
    status().await;
    machine.force_power(PowerState::Off); // behind the BMC's back
    status().await;
    machine.set_unreachable(true);
    assert_eq!(status().await.ccode, CompletionCode::TIMEOUT);
    assert_eq!(status().await.ccode, CompletionCode::TIMEOUT);
    machine.set_unreachable(false);
    status().await;
    use sensor::*;
    let seen: Vec<(u8, u8, u8, bool)> = events(&bmc)
        .await
        .into_iter()
        .map(|(t, n, o, d, _, _)| (t, n, o, d))
        .collect();
    assert_eq!(
        seen,
        [
            (0x1d, SYSTEM_BOOT, 0x00, false),      // power on asked
            (0x22, ACPI_POWER_STATE, 0x00, false), // S0/G0: working, seen
            (0x22, ACPI_POWER_STATE, 0x05, false), // S5/G2: soft-off, seen
            (0x28, BACKEND_HEALTH, 0x01, false),   // controller access unavailable
            (0x28, BACKEND_HEALTH, 0x01, true),    // ... and back
        ]
    );
    // Events seen carry no user: event data 3 unspecified.
    assert_eq!(events(&bmc).await[1].5, 0xff);
}

#[tokio::test]
async fn reservations_guard_delete_clear_and_partial_reads() {
    let (bmc, _) = setup(TestMachine::new());
    for verb in [1u8, 0, 1] {
        admin(&bmc, NetFn::CHASSIS, 0x02, &[verb]).await;
    }
    let old = reserve(&bmc).await;
    let cur = reserve(&bmc).await;
    assert_ne!(old, cur);
    let stale = CompletionCode::INVALID_RESERVATION;
    // Partial reads need the current reservation; whole reads need none.
    let partial = |rsv: [u8; 2]| [rsv[0], rsv[1], 2, 0, 10, 3];
    assert_eq!(admin(&bmc, S, 0x43, &partial(old)).await.ccode, stale);
    assert_eq!(admin(&bmc, S, 0x43, &partial([0, 0])).await.ccode, stale);
    let whole = admin(&bmc, S, 0x43, &[0, 0, 2, 0, 0, 0xff]).await;
    assert_eq!(
        admin(&bmc, S, 0x43, &partial(cur)).await,
        ok(&[
            3,
            0,
            whole.data[2 + 10],
            whole.data[2 + 11],
            whole.data[2 + 12]
        ])
    );
    // Reading past the end returns what there is; an offset past it is out of range.
    let tail = admin(&bmc, S, 0x43, &[cur[0], cur[1], 0xff, 0xff, 14, 10]).await;
    assert_eq!(tail.data, [0xff, 0xff, whole.data[16], whole.data[17]]);
    assert_eq!(
        admin(&bmc, S, 0x43, &[cur[0], cur[1], 1, 0, 16, 1])
            .await
            .ccode,
        CompletionCode::OUT_OF_RANGE
    );
    // Delete.
    assert_eq!(
        admin(&bmc, S, 0x46, &[old[0], old[1], 2, 0]).await.ccode,
        stale
    );
    assert_eq!(
        admin(&bmc, S, 0x46, &[cur[0], cur[1], 2, 0]).await,
        ok(&[2, 0])
    );
    assert_eq!(
        admin(&bmc, S, 0x46, &[cur[0], cur[1], 2, 0]).await.ccode,
        CompletionCode::NOT_PRESENT
    );
    assert_eq!(
        admin(&bmc, S, 0x43, &[0, 0, 1, 0, 0, 0xff]).await.data[..2],
        [3, 0]
    );
    // Clear: signature, reservation, then done at once.
    let clear = |rsv: [u8; 2], sig: &[u8; 3], op: u8| {
        let mut d = vec![rsv[0], rsv[1]];
        d.extend_from_slice(sig);
        d.push(op);
        d
    };
    assert_eq!(
        admin(&bmc, S, 0x47, &clear(old, b"CLR", 0xaa)).await.ccode,
        stale
    );
    assert_eq!(
        admin(&bmc, S, 0x47, &clear(cur, b"CLX", 0xaa)).await.ccode,
        CompletionCode::INVALID_FIELD
    );
    assert_eq!(records(&bmc).await.len(), 2, "nothing cleared yet");
    assert_eq!(
        admin(&bmc, S, 0x47, &clear(cur, b"CLR", 0xaa)).await,
        ok(&[1])
    );
    assert_eq!(
        admin(&bmc, S, 0x47, &clear(cur, b"CLR", 0x00)).await,
        ok(&[1])
    );
    // What remains is the record that the log was cleared, by user 2.
    assert_eq!(
        events(&bmc).await,
        [(0x10, sensor::EVENT_LOG, 0x02, false, 0xff, 2)]
    );
    // Operator may delete and clear; User may only read and reserve.
    let user = Some(Privilege::User);
    assert_eq!(
        call(&bmc, user, S, 0x42, &[]).await.ccode,
        CompletionCode::OK
    );
    assert_eq!(
        call(&bmc, user, S, 0x46, &[1, 0, 1, 0]).await.ccode,
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );
}

#[tokio::test]
async fn a_full_sel_refuses_adds_with_0xc4_and_sets_overflow() {
    let machine = Arc::new(TestMachine::new());
    let log = SelStore::in_memory().unwrap().log("node1", 3);
    let bmc = Bmc::with_sel(settings(), machine, log);
    let event = [
        0, 0, 0x02, 0, 0, 0, 0, 0x41, 0, 0x04, 0x01, 0x30, 0x01, 0x07, 0xff, 0xff,
    ];
    for id in 1u8..=3 {
        assert_eq!(admin(&bmc, S, 0x44, &event).await, ok(&[id, 0]));
    }
    let info = admin(&bmc, S, 0x40, &[]).await.data;
    assert_eq!(info[..5], [0x51, 3, 0, 0, 0]);
    assert_eq!(
        info[13], 0x0b,
        "delete, reserve, allocation info; no overflow yet"
    );
    assert_eq!(
        admin(&bmc, S, 0x44, &event).await.ccode,
        CompletionCode::OUT_OF_SPACE
    );
    // An action's record is dropped too; the action is carried out all the same.
    assert_eq!(admin(&bmc, NetFn::CHASSIS, 0x02, &[1]).await, ok(&[]));
    let info = admin(&bmc, S, 0x40, &[]).await.data;
    assert_eq!((info[1], info[13]), (3, 0x8b), "overflow flag set");
    assert_eq!(
        admin(&bmc, S, 0x41, &[]).await,
        ok(&[3, 0, 16, 0, 0, 0, 0, 0, 1])
    );
    // The added records are stamped and kept as given otherwise.
    let first = &records(&bmc).await[0];
    assert_eq!(first[7..], event[7..]);
    assert!(u32::from_le_bytes(first[3..7].try_into().unwrap()) > 1_600_000_000);
    // Clearing empties it (but for its own record) and resets the flag.
    let rsv = reserve(&bmc).await;
    admin(&bmc, S, 0x47, &[rsv[0], rsv[1], b'C', b'L', b'R', 0xaa]).await;
    let info = admin(&bmc, S, 0x40, &[]).await.data;
    assert_eq!((info[1], info[3], info[13]), (1, 32, 0x0b));
    let at = |i: usize| u32::from_le_bytes(info[i..i + 4].try_into().unwrap());
    let (added, erased) = (at(5), at(9));
    assert!(
        erased <= added && added - erased <= 1,
        "erased, then the clear recorded"
    );
}

#[tokio::test]
async fn sel_time_is_set_as_an_offset_and_stamps_records() {
    let (bmc, _) = setup(TestMachine::new());
    let time = |r: Response| u32::from_le_bytes(r.data[..].try_into().unwrap());
    let system = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    assert!(time(admin(&bmc, S, 0x48, &[]).await).abs_diff(system) < 3);
    let set: u32 = 1_000_000_000;
    assert_eq!(admin(&bmc, S, 0x49, &set.to_le_bytes()).await, ok(&[]));
    assert!(time(admin(&bmc, S, 0x48, &[]).await).abs_diff(set) < 3);
    admin(&bmc, NetFn::CHASSIS, 0x02, &[1]).await;
    let stamp = u32::from_le_bytes(records(&bmc).await[0][3..7].try_into().unwrap());
    assert!(stamp.abs_diff(set) < 3);
    assert_eq!(admin(&bmc, S, 0x5c, &[]).await, ok(&[0, 0]));
    assert_eq!(
        call(&bmc, Some(Privilege::User), S, 0x49, &set.to_le_bytes())
            .await
            .ccode,
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );
}

#[tokio::test]
async fn a_sel_in_a_file_outlives_the_bmc() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sel.redb");
    {
        let machine = Arc::new(TestMachine::new());
        let log = SelStore::open(&path).unwrap().log("node1", 64);
        let bmc = Bmc::with_sel(settings(), machine, log);
        admin(&bmc, NetFn::CHASSIS, 0x02, &[1]).await;
        admin(&bmc, NetFn::CHASSIS, 0x02, &[0]).await;
        admin(&bmc, S, 0x49, &2_000_000_000u32.to_le_bytes()).await;
    }
    let machine = Arc::new(TestMachine::new());
    let log = SelStore::open(&path).unwrap().log("node1", 64);
    let bmc = Bmc::with_sel(settings(), machine, log);
    let kinds: Vec<u8> = events(&bmc).await.iter().map(|e| e.0).collect();
    assert_eq!(kinds, [0x1d, 0x09]);
    let now = u32::from_le_bytes(admin(&bmc, S, 0x48, &[]).await.data[..].try_into().unwrap());
    assert!(now.abs_diff(2_000_000_000) < 5, "the SEL clock is kept too");
}

/// A backend relaying Get SEL Entry serves the SEL of the BMC behind: the SEL commands it does
/// not relay are refused rather than answered from the shim's own log.
#[tokio::test]
async fn a_relayed_sel_is_the_only_sel_served() {
    let (bmc, _) = setup(TestMachine::relaying(S, 0x43, Privilege::User));
    assert_eq!(
        admin(&bmc, S, 0x43, &[0, 0, 0, 0, 0, 0xff]).await,
        ok(&[0xaa, 0, 0, 0, 0, 0, 0xff])
    );
    for (cmd, data) in [
        (0x40, &[][..]),
        (0x42, &[]),
        (0x46, &[1, 0, 1, 0]),
        (0x49, &[0, 0, 0, 0]),
        (0x5c, &[]),
    ] {
        assert_eq!(
            admin(&bmc, S, cmd, data).await.ccode,
            CompletionCode::INVALID_COMMAND,
            "Storage {cmd:#04x}"
        );
    }
}

/// With the SEL of the BMC behind served, the records of the actions clients ask for are added
/// there too, in order, from this BMC as remote console software (system software ID 40h); what
/// the BMC only sees (power changes) stays in its own log.
#[tokio::test]
async fn actions_are_added_to_a_relayed_sel_in_order() {
    let machine = Arc::new(TestMachine::relaying(S, 0x43, Privilege::User));
    let bmc = Bmc::new(settings(), machine.clone());
    admin(&bmc, NetFn::CHASSIS, 0x02, &[0x01]).await;
    admin(&bmc, NetFn::CHASSIS, 0x01, &[]).await;
    admin(&bmc, NetFn::CHASSIS, 0x04, &[10]).await;
    admin(&bmc, NetFn::CHASSIS, 0x02, &[0x00]).await;
    // Added by a task of its own, after the answers.
    for _ in 0..100 {
        if machine.sel_added().len() == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let added: Vec<(u8, u8, u8)> = machine
        .sel_added()
        .iter()
        .map(|r| {
            assert_eq!((r[2], r[7], r[8], r[9]), (0x02, 0x81, 0x00, 0x04));
            (r[10], r[11], r[13] & 0x0f)
        })
        .collect();
    assert_eq!(
        added,
        [
            (0x1d, sensor::SYSTEM_BOOT, 0x00),
            (0x21, sensor::IDENTIFY, 0x01),
            (0x09, sensor::POWER_UNIT, 0x00),
        ]
    );
}

/// Boot flags set through a backend that relays Set System Boot Options are recorded like
/// those the model sets itself.
#[tokio::test]
async fn a_relayed_boot_device_is_recorded() {
    let (bmc, _) = setup(TestMachine::relaying(
        NetFn::CHASSIS,
        0x08,
        Privilege::Operator,
    ));
    let r = admin(&bmc, NetFn::CHASSIS, 0x08, &[0x05, 0x80, 0x04, 0, 0, 0]).await;
    assert_eq!(r.data[0], 0xaa, "relayed");
    // Other parameters are not boot actions.
    admin(&bmc, NetFn::CHASSIS, 0x08, &[0x04, 0x01, 0x00]).await;
    let e = events(&bmc).await;
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0].0, e[0].1, e[0].2, e[0].4),
        (0x1d, sensor::SYSTEM_BOOT, 3, 0x01)
    );
}

/// A power read that began before an action and answers after it (the background refresh, or
/// a client's status read, racing a power on) does not undo what the action made known: the
/// status stays on, and no "power off seen" record enters the SEL.
#[tokio::test]
async fn a_power_read_overlapping_an_action_does_not_undo_it() {
    let (bmc, machine) = setup(TestMachine::new());
    // The machine is off and known to be: a first read notes it.
    assert_eq!(bmc.refresh_power().await, Ok(PowerState::Off));
    let before = records(&bmc).await.len();
    machine.slow_power_reads(std::time::Duration::from_millis(300));
    let bmc = Arc::new(bmc);
    let reader = {
        let bmc = bmc.clone();
        tokio::spawn(async move { bmc.refresh_power().await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    machine.slow_power_reads(std::time::Duration::ZERO);
    assert_eq!(admin(&bmc, NetFn::CHASSIS, 0x02, &[1]).await, ok(&[]));
    // The slow read answers the state from before the action.
    assert_eq!(reader.await.unwrap(), Ok(PowerState::Off));
    assert_eq!(bmc.status().power.map(|k| k.state), Some(PowerState::On));
    // The action's own record only: nothing says the machine was seen going off.
    assert_eq!(records(&bmc).await.len(), before + 1);
    // A read after the action is taken as it comes.
    assert_eq!(bmc.refresh_power().await, Ok(PowerState::On));
    assert_eq!(bmc.status().power.map(|k| k.state), Some(PowerState::On));
}
