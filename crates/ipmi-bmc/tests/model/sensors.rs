//! The SDR repository, sensor readings and DCMI power over the test machine's sensors: records
//! read as clients read them (in parts, under a reservation), readings converted with the
//! records' factors, the reading-unavailable bit while the source fails, one fetch per cache
//! period however many ask, and the repository's timestamp moving only when the set of sensors
//! does.

use super::machine::TestMachine;
use super::{admin, call, setup};
use ipmi_bmc::{DiscreteKind, SensorKind, SensorReading, SensorThresholds};
use ipmi_proto::cmd::dcmi::PowerReading;
use ipmi_proto::cmd::storage::SdrRepositoryInfo;
use ipmi_proto::cmd::Body;
use ipmi_proto::sdr::{record_type, sensor_type, unit, Linear, Record, Thresholds};
use ipmi_proto::types::{CompletionCode, NetFn, Privilege};
use std::time::Duration;

fn sensors() -> Vec<SensorReading> {
    vec![
        SensorReading::new("CPU Temp", SensorKind::Temperature, Some(47.4)).with_thresholds(
            SensorThresholds {
                upper_non_critical: Some(85.0),
                upper_critical: Some(90.0),
                upper_non_recoverable: Some(95.0),
                hysteresis: 2.0,
                ..SensorThresholds::default()
            },
        ),
        SensorReading::new("12V", SensorKind::Voltage, Some(12.0)).with_thresholds(
            SensorThresholds {
                lower_critical: Some(10.8),
                lower_non_critical: Some(11.4),
                upper_non_critical: Some(12.6),
                upper_critical: Some(13.2),
                ..SensorThresholds::default()
            },
        ),
        SensorReading::new("Fan 1", SensorKind::Fan, Some(4200.0)),
        SensorReading::new("System Power", SensorKind::Power, Some(250.0)).with_thresholds(
            SensorThresholds {
                upper_critical: Some(500.0),
                ..SensorThresholds::default()
            },
        ),
        SensorReading::discrete(
            "PSU1 Status",
            DiscreteKind::PowerSupply,
            Some(1 << DiscreteKind::PRESENCE_DETECTED),
        ),
        SensorReading::discrete("Intrusion", DiscreteKind::ChassisIntrusion, Some(0)),
    ]
}

async fn user(bmc: &ipmi_bmc::Bmc, netfn: NetFn, cmd: u8, data: &[u8]) -> ipmi_bmc::Response {
    call(bmc, Some(Privilege::User), netfn, cmd, data).await
}

async fn info(bmc: &ipmi_bmc::Bmc) -> SdrRepositoryInfo {
    let r = user(bmc, NetFn::STORAGE, 0x20, &[]).await;
    assert_eq!(r.ccode, CompletionCode::OK);
    SdrRepositoryInfo::parse(&r.data).unwrap()
}

async fn reserve(bmc: &ipmi_bmc::Bmc, netfn: NetFn) -> [u8; 2] {
    let r = user(bmc, netfn, 0x22, &[]).await;
    assert_eq!(r.ccode, CompletionCode::OK);
    [r.data[0], r.data[1]]
}

/// Reads the whole repository as ipmitool does: the header of each record, then the rest in
/// parts of 16 bytes under a reservation.
async fn walk(bmc: &ipmi_bmc::Bmc, netfn: NetFn, get: u8) -> Vec<Record> {
    let res = reserve(bmc, netfn).await;
    let mut records = Vec::new();
    let mut id = 0u16;
    while id != 0xffff {
        let [lo, hi] = id.to_le_bytes();
        let head = user(bmc, netfn, get, &[res[0], res[1], lo, hi, 0, 5]).await;
        assert_eq!(head.ccode, CompletionCode::OK, "record {id}");
        let next = u16::from_le_bytes([head.data[0], head.data[1]]);
        let mut bytes = head.data[2..].to_vec();
        let len = 5 + usize::from(bytes[4]);
        while bytes.len() < len {
            let count = (len - bytes.len()).min(16) as u8;
            let part = user(
                bmc,
                netfn,
                get,
                &[res[0], res[1], lo, hi, bytes.len() as u8, count],
            )
            .await;
            assert_eq!(part.ccode, CompletionCode::OK);
            bytes.extend_from_slice(&part.data[2..]);
        }
        records.push(Record::parse(&bytes).unwrap().1);
        id = next;
    }
    records
}

fn full(r: &Record) -> &ipmi_proto::sdr::FullSensorRecord {
    match r {
        Record::Full(f) => f,
        other => panic!("not a full record: {other:?}"),
    }
}

#[tokio::test]
async fn the_repository_describes_the_machines_sensors() {
    let (bmc, _) = setup(TestMachine::with_sensors(sensors()));
    let i = info(&bmc).await;
    assert_eq!(
        (i.version, i.record_count, i.operations),
        (0x51, 8 + 10, 0x03)
    );
    let records = walk(&bmc, NetFn::STORAGE, 0x23).await;
    let types: Vec<u8> = records.iter().map(Record::record_type).collect();
    assert_eq!(types[..8], [1, 1, 1, 1, 2, 2, 0x11, 0x12]);
    // Then an event-only record for each sensor the SEL's own records name, so that clients
    // name them in `sel elist`: E0h, the power unit, first.
    assert_eq!(types[8..], [3; 10]);
    match &records[8] {
        Record::EventOnly(e) => {
            assert_eq!((e.owner_id, e.number, e.sensor_type), (0x20, 0xe0, 0x09));
            assert_eq!((e.reading_type, e.name.as_str()), (0x6f, "Power Control"));
        }
        other => panic!("{other:?}"),
    }
    let cpu = full(&records[0]);
    assert_eq!(cpu.name, "CPU Temp");
    assert_eq!(
        (cpu.common.sensor_type, cpu.common.units[1]),
        (sensor_type::TEMPERATURE, unit::DEGREES_C)
    );
    // Upper non-critical, critical and non-recoverable readable; hysteresis 2 degrees.
    assert_eq!(cpu.common.reading_mask & 0x3f, 0x38);
    assert_eq!(cpu.given_thresholds().get(Thresholds::UC), Some(90));
    assert_eq!(cpu.hysteresis, [2, 2]);
    let volts = full(&records[1]);
    assert_eq!(volts.common.units[1], unit::VOLTS);
    assert_eq!(volts.factors.value(volts.thresholds[Thresholds::LC]), 10.8);
    let fan = full(&records[2]);
    assert_eq!(
        (fan.common.units[1], fan.common.reading_mask),
        (unit::RPM, 0)
    );
    assert_eq!(full(&records[3]).common.units[1], unit::WATTS);
    match &records[4] {
        Record::Compact(c) => {
            assert_eq!(
                (c.name.as_str(), c.common.sensor_type),
                ("PSU1 Status", 0x08)
            );
            assert_eq!((c.common.reading_type, c.common.units[0]), (0x6f, 0xc0));
        }
        other => panic!("{other:?}"),
    }
    match (&records[6], &records[7]) {
        (Record::FruLocator(f), Record::McLocator(m)) => {
            assert_eq!((f.fru_id, f.access, f.device_type[0]), (0, 0x80, 0x10));
            assert_eq!(
                (m.slave_address, m.capabilities, m.name.as_str()),
                (0x20, 0x8f, "node1")
            );
        }
        other => panic!("{other:?}"),
    }
    // The device SDRs are the same records, under their own reservation.
    assert_eq!(walk(&bmc, NetFn::SENSOR_EVENT, 0x21).await, records);
    let dev = user(&bmc, NetFn::SENSOR_EVENT, 0x20, &[]).await;
    assert_eq!(dev.data[..2], [6, 0x81]);
    assert_eq!(dev.data[2..], i.addition_timestamp.to_le_bytes());
    assert_eq!(
        user(&bmc, NetFn::SENSOR_EVENT, 0x20, &[1]).await.data[0],
        18
    );
    // Get Device ID says the BMC is a sensor and SDR repository device.
    assert_eq!(admin(&bmc, NetFn::APP, 0x01, &[]).await.data[5], 0x8f);
}

#[tokio::test]
async fn partial_reads_need_the_reservation_and_fit_one_answer() {
    let (bmc, machine) = setup(TestMachine::with_sensors(sensors()));
    let old = reserve(&bmc, NetFn::STORAGE).await;
    let res = reserve(&bmc, NetFn::STORAGE).await;
    let get = |r: [u8; 2], id: u8, offset: u8, count: u8| {
        let bmc = &bmc;
        async move {
            user(
                bmc,
                NetFn::STORAGE,
                0x23,
                &[r[0], r[1], id, 0, offset, count],
            )
            .await
        }
    };
    // The newer reservation cancelled the older one: 0xC5 for a partial read, as ipmitool expects.
    assert_eq!(
        get(old, 1, 5, 16).await.ccode,
        CompletionCode::INVALID_RESERVATION
    );
    assert_eq!(get(res, 1, 5, 16).await.ccode, CompletionCode::OK);
    // From offset 0 no reservation is needed.
    assert_eq!(get([0, 0], 1, 0, 5).await.ccode, CompletionCode::OK);
    // More than one answer carries: 0xCA, also for "the entire record" of a long one.
    assert_eq!(
        get(res, 1, 5, 33).await.ccode,
        CompletionCode::CANNOT_RETURN_BYTES
    );
    assert_eq!(
        get([0, 0], 1, 0, 0xff).await.ccode,
        CompletionCode::CANNOT_RETURN_BYTES
    );
    let fru = get([0, 0], 7, 0, 0xff).await;
    assert_eq!(
        (fru.ccode, fru.data.len()),
        (CompletionCode::OK, 2 + 5 + 11 + 11)
    );
    assert_eq!(get(res, 19, 0, 5).await.ccode, CompletionCode::NOT_PRESENT);
    // Reading past the end of a record gives what is left.
    assert_eq!(get(res, 7, 25, 16).await.data.len(), 2 + 2);
    // A change of the set of sensors cancels the reservation and moves the timestamp.
    let before = info(&bmc).await;
    let mut more = sensors();
    more.push(SensorReading::new("Fan 2", SensorKind::Fan, Some(4000.0)));
    machine.set_sensors(more);
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(3)).await;
    let after = info(&bmc).await;
    assert_eq!(after.record_count, before.record_count + 1);
    assert!(after.addition_timestamp > before.addition_timestamp);
    assert_eq!(after.erase_timestamp, before.erase_timestamp);
    assert_eq!(
        get(res, 1, 5, 16).await.ccode,
        CompletionCode::INVALID_RESERVATION
    );
    // Readings change, the repository does not.
    let mut hotter = sensors();
    hotter[0].value = Some(88.0);
    hotter.push(SensorReading::new("Fan 2", SensorKind::Fan, Some(4100.0)));
    machine.set_sensors(hotter);
    tokio::time::advance(Duration::from_secs(3)).await;
    assert_eq!(info(&bmc).await, after);
    assert_eq!(
        user(&bmc, NetFn::SENSOR_EVENT, 0x2d, &[1]).await.data[..3],
        [88, 0x40, 0x08]
    );
}

#[tokio::test]
async fn readings_thresholds_and_states() {
    let (bmc, _) = setup(TestMachine::with_sensors(sensors()));
    let se = |cmd: u8, data: &'static [u8]| {
        let bmc = &bmc;
        async move { user(bmc, NetFn::SENSOR_EVENT, cmd, data).await }
    };
    // CPU Temp: 47 degrees, scanning, no threshold crossed.
    assert_eq!(se(0x2d, &[1]).await.data, [47, 0x40, 0, 0x80]);
    assert_eq!(se(0x27, &[1]).await.data, [0x38, 0, 0, 0, 85, 90, 95]);
    assert_eq!(se(0x25, &[1, 0xff]).await.data, [2, 2]);
    let factors = se(0x23, &[1, 0]).await.data;
    assert_eq!(factors[0], 0xff);
    assert_eq!(
        Linear::from_bytes(&factors[1..]).unwrap(),
        Linear::spanning(255.0)
    );
    assert_eq!(se(0x29, &[1]).await.data, [0x40, 0, 0, 0, 0]);
    assert_eq!(se(0x2b, &[1]).await.data, [0x40, 0, 0, 0, 0]);
    // 12 V with factors of 0.1 V.
    let volts = se(0x2d, &[2]).await.data;
    assert_eq!(volts[..3], [120, 0x40, 0]);
    // Fan 1 at 4200 RPM in steps of 50; System Power 250 W in steps of 2.
    assert_eq!(se(0x2d, &[3]).await.data[0], 84);
    assert_eq!(se(0x2d, &[4]).await.data[0], 125);
    // The power supply is present (state 0); no intrusion.
    assert_eq!(se(0x2d, &[5]).await.data, [0, 0x40, 0x01, 0x80]);
    assert_eq!(se(0x2d, &[6]).await.data, [0, 0x40, 0x00, 0x80]);
    assert_eq!(se(0x2b, &[5]).await.data, [0x40, 1, 0, 0, 0]);
    // Thresholds, hysteresis and factors are for threshold sensors only.
    for (cmd, data) in [(0x27, &[5][..]), (0x25, &[5, 0xff]), (0x23, &[5, 0])] {
        assert_eq!(se(cmd, data).await.ccode, CompletionCode::ILLEGAL_FOR_TYPE);
    }
    assert_eq!(se(0x2d, &[7]).await.ccode, CompletionCode::NOT_PRESENT);
    // Reading is for users; outside a session nothing is answered.
    assert_eq!(
        call(&bmc, None, NetFn::SENSOR_EVENT, 0x2d, &[1])
            .await
            .ccode,
        CompletionCode::INSUFFICIENT_PRIVILEGE
    );
}

#[tokio::test]
async fn crossed_thresholds_show_in_status_and_events() {
    let mut hot = sensors();
    hot[0].value = Some(91.0);
    hot[1].value = Some(10.5);
    let (bmc, _) = setup(TestMachine::with_sensors(hot));
    // At or above upper non-critical and critical.
    assert_eq!(
        user(&bmc, NetFn::SENSOR_EVENT, 0x2d, &[1]).await.data[..3],
        [91, 0x40, 0x18]
    );
    assert_eq!(
        user(&bmc, NetFn::SENSOR_EVENT, 0x2b, &[1]).await.data,
        [0x40, 0x80, 0x02, 0, 0]
    );
    // At or below lower non-critical and critical.
    assert_eq!(
        user(&bmc, NetFn::SENSOR_EVENT, 0x2d, &[2]).await.data[2],
        0x03
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_source_reads_unavailable_within_the_period_and_back() {
    let (bmc, machine) = setup(TestMachine::with_sensors(sensors()));
    let reading = || {
        let bmc = &bmc;
        async move { user(bmc, NetFn::SENSOR_EVENT, 0x2d, &[1]).await.data }
    };
    assert_eq!(reading().await[..2], [47, 0x40]);
    let before = info(&bmc).await;
    machine.fail_sensors(true);
    // Within the period the reading taken before is still fresh enough.
    assert_eq!(reading().await[..2], [47, 0x40]);
    tokio::time::advance(Duration::from_millis(2100)).await;
    // Unavailable: never the old number passed off as fresh.
    assert_eq!(reading().await[..3], [0, 0x60, 0]);
    assert_eq!(
        user(&bmc, NetFn::SENSOR_EVENT, 0x2b, &[5]).await.data[0],
        0x60
    );
    // The repository still describes the sensors (the set did not change).
    assert_eq!(info(&bmc).await, before);
    assert_eq!(
        user(&bmc, NetFn::SENSOR_EVENT, 0x27, &[1]).await.data[0],
        0x38
    );
    // DCMI: measurement not active, no figures.
    let p = PowerReading::parse(
        &user(&bmc, NetFn::GROUP_EXTENSION, 0x02, &[0xdc, 1, 0, 0])
            .await
            .data,
    )
    .unwrap();
    assert_eq!((p.state, p.current, p.average), (0, 0, 0));
    machine.fail_sensors(false);
    tokio::time::advance(Duration::from_millis(2100)).await;
    assert_eq!(reading().await[..2], [47, 0x40]);
    assert_eq!(info(&bmc).await, before);
}

#[tokio::test(start_paused = true)]
async fn many_clients_one_fetch_per_period() {
    let (bmc, machine) = setup(TestMachine::with_sensors(sensors()));
    machine.slow_sensors(Duration::from_millis(300));
    let read = |n: u8| {
        let bmc = &bmc;
        async move { user(bmc, NetFn::SENSOR_EVENT, 0x2d, &[n]).await.ccode }
    };
    // Six clients at once while the source takes its time: one fetch.
    let answers = tokio::join!(read(1), read(2), read(3), read(4), read(5), read(6));
    let ok = CompletionCode::OK;
    assert_eq!(answers, (ok, ok, ok, ok, ok, ok));
    info(&bmc).await;
    assert_eq!(machine.sensor_reads(), 1);
    tokio::time::advance(Duration::from_millis(2100)).await;
    info(&bmc).await;
    read(1).await;
    assert_eq!(machine.sensor_reads(), 2);
}

#[tokio::test(start_paused = true)]
async fn dcmi_power_statistics_over_the_readings_taken() {
    let (bmc, machine) = setup(TestMachine::with_sensors(sensors()));
    let dcmi = |cmd: u8, data: &'static [u8]| {
        let bmc = &bmc;
        async move { user(bmc, NetFn::GROUP_EXTENSION, cmd, data).await }
    };
    assert_eq!(dcmi(0x01, &[0xdc, 1]).await.data, [0xdc, 1, 5, 2, 0, 1, 0]);
    assert_eq!(
        dcmi(0x01, &[0xdc, 4]).await.data,
        [0xdc, 1, 5, 2, 1, 0xff, 0xff]
    );
    // SEL attributes: 1024 entries (the default capacity), no rollover.
    assert_eq!(
        dcmi(0x01, &[0xdc, 2]).await.data,
        [0xdc, 1, 5, 2, 0x00, 0x04, 0, 0, 0]
    );
    assert_eq!(dcmi(0x01, &[0xdc, 6]).await.ccode, CompletionCode(0x80));
    // Readings taken: 250 W (above), 300, 150 and 150 again.
    for watts in [300.0, 150.0] {
        tokio::time::advance(Duration::from_millis(2100)).await;
        let mut s = sensors();
        s[3].value = Some(watts);
        machine.set_sensors(s);
        dcmi(0x02, &[0xdc, 1, 0, 0]).await;
    }
    tokio::time::advance(Duration::from_millis(2100)).await;
    let p = PowerReading::parse(&dcmi(0x02, &[0xdc, 1, 0, 0]).await.data).unwrap();
    assert_eq!(
        (p.current, p.minimum, p.maximum, p.average, p.state),
        (150, 150, 300, 213, 0x40)
    );
    // Enhanced statistics are not offered; other groups on the NetFn are not DCMI.
    assert_eq!(
        dcmi(0x02, &[0xdc, 2, 1, 0]).await.ccode,
        CompletionCode::INVALID_FIELD
    );
    assert_eq!(
        dcmi(0x01, &[0x00, 1]).await.ccode,
        CompletionCode::INVALID_COMMAND
    );
    assert_eq!(
        dcmi(0x00, &[0x00]).await.ccode,
        CompletionCode::INVALID_COMMAND
    );
}

#[tokio::test]
async fn without_sensors_the_repository_has_the_locators_and_dcmi_is_absent() {
    let (bmc, _) = setup(TestMachine::new());
    assert_eq!(info(&bmc).await.record_count, 2 + 10);
    let types: Vec<u8> = walk(&bmc, NetFn::STORAGE, 0x23)
        .await
        .iter()
        .map(Record::record_type)
        .collect();
    assert_eq!(
        types[..2],
        [record_type::FRU_LOCATOR, record_type::MC_LOCATOR]
    );
    assert_eq!(types[2..], [record_type::EVENT_ONLY_SENSOR; 10]);
    assert_eq!(
        user(&bmc, NetFn::SENSOR_EVENT, 0x2d, &[1]).await.ccode,
        CompletionCode::NOT_PRESENT
    );
    assert_eq!(
        user(&bmc, NetFn::GROUP_EXTENSION, 0x02, &[0xdc, 1, 0, 0])
            .await
            .ccode,
        CompletionCode::INVALID_COMMAND
    );
}

/// The ipmi backend relays the real BMC's SDR and sensor commands: they never reach the
/// model's repository.
#[tokio::test]
async fn relayed_sensor_commands_bypass_the_repository() {
    let relaying = TestMachine::relaying(NetFn::SENSOR_EVENT, 0x2d, Privilege::User);
    relaying.set_sensors(sensors());
    let (bmc, machine) = setup(relaying);
    assert_eq!(
        user(&bmc, NetFn::SENSOR_EVENT, 0x2d, &[1]).await.data,
        [0xaa, 1]
    );
    assert_eq!(machine.sensor_reads(), 0);
    // What it does not relay is the model's.
    assert_eq!(info(&bmc).await.record_count, 8 + 10);
}
