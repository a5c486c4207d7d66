//! Every `cmd::` request and response body, the wire formats, and the sensor data and SEL
//! records, parsed from arbitrary bytes: whatever parses must emit bytes that parse back to an
//! equal value, and emitting that value again must give the same bytes.
//!
//! Input: the first byte picks the parser (modulo [`parsers`]`().len()`: each command's request,
//! then its response, in [`COMMANDS`] order, then [`WIRE`], then [`RECORDS`]); the rest is its
//! input. [`COMMANDS`] must name every command type of `cmd::`: the twin
//! `cmd_bodies_cover_every_command` counts the `command!` declarations in the source.

use ipmi_proto::cmd::chassis::BootFlags;
use ipmi_proto::cmd::storage::SelRecord;
use ipmi_proto::cmd::{app, chassis, dcmi, sensor, storage, transport, Body, Command};
use ipmi_proto::sdr::{Linear, Record};
use ipmi_proto::types::NetFn;
use ipmi_proto::wire::rakp::{OpenSessionRequest, OpenSessionResponse, Rakp1, Rakp2, Rakp3, Rakp4};
use ipmi_proto::wire::{asf, ipmi15, ipmi20, message};
use std::fmt::Debug;

/// A named check of one parser.
pub type Check = (&'static str, fn(&[u8]));

/// Parses `data` as `T`; if that works, emits, parses again and compares.
pub fn round_trip<T: PartialEq + Debug>(
    name: &str,
    data: &[u8],
    parse: impl Fn(&[u8]) -> Option<T>,
    emit: impl Fn(&T) -> Vec<u8>,
) {
    let Some(first) = parse(data) else {
        return;
    };
    let bytes = emit(&first);
    let Some(again) = parse(&bytes) else {
        panic!("{name}: {first:?} emits {bytes:02x?}, which does not parse (from {data:02x?})");
    };
    assert_eq!(
        first, again,
        "{name}: parse(emit(x)) != x for {data:02x?} -> {bytes:02x?}"
    );
    assert_eq!(emit(&again), bytes, "{name}: emit is not stable");
}

/// [`round_trip`] of a `cmd::` body.
pub fn body<B: Body + PartialEq + Debug>(data: &[u8]) {
    round_trip(
        std::any::type_name::<B>(),
        data,
        |d| B::parse(d).ok(),
        |b| b.to_bytes(),
    );
}

macro_rules! commands {
    ($($c:ty),* $(,)?) => {
        &[$(CommandChecks {
            name: stringify!($c),
            netfn: <$c as Command>::NETFN,
            cmd: <$c as Command>::CMD,
            request: body::<<$c as Command>::Request>,
            response: body::<<$c as Command>::Response>,
        }),*]
    };
}

/// The checks of one command's bodies.
pub struct CommandChecks {
    /// The command type.
    pub name: &'static str,
    /// Its NetFn and command code (to file captured messages under it).
    pub netfn: NetFn,
    /// The command code.
    pub cmd: u8,
    /// Checks the request body.
    pub request: fn(&[u8]),
    /// Checks the response body.
    pub response: fn(&[u8]),
}

/// Every command type in `cmd::`.
pub const COMMANDS: &[CommandChecks] = commands!(
    app::ActivateSession,
    app::CloseSession,
    app::ColdReset,
    app::GetChannelAccess,
    app::GetChannelAuthCapabilities,
    app::GetChannelCipherSuites,
    app::GetChannelInfo,
    app::GetDeviceGuid,
    app::GetDeviceId,
    app::GetSelfTestResults,
    app::GetSessionChallenge,
    app::GetSessionInfo,
    app::GetSystemGuid,
    app::GetUserAccess,
    app::GetUserName,
    app::SetSessionPrivilegeLevel,
    app::WarmReset,
    chassis::ChassisControl,
    chassis::ChassisIdentify,
    chassis::GetChassisCapabilities,
    chassis::GetChassisStatus,
    chassis::GetSystemBootOptions,
    chassis::SetSystemBootOptions,
    dcmi::GetDcmiCapabilities,
    dcmi::GetPowerReading,
    sensor::GetDeviceSdr,
    sensor::GetDeviceSdrInfo,
    sensor::GetSensorEventEnable,
    sensor::GetSensorEventStatus,
    sensor::GetSensorHysteresis,
    sensor::GetSensorReading,
    sensor::GetSensorReadingFactors,
    sensor::GetSensorThresholds,
    sensor::ReserveDeviceSdrRepository,
    storage::AddSelEntry,
    storage::ClearSel,
    storage::DeleteSelEntry,
    storage::GetFruInventoryAreaInfo,
    storage::GetSdr,
    storage::GetSdrRepositoryAllocationInfo,
    storage::GetSdrRepositoryInfo,
    storage::GetSelAllocationInfo,
    storage::GetSelEntry,
    storage::GetSelInfo,
    storage::GetSelTime,
    storage::GetSelTimeUtcOffset,
    storage::ReadFruData,
    storage::ReserveSdrRepository,
    storage::ReserveSel,
    storage::SetSelTime,
    transport::GetLanConfigParams,
    // Serial over LAN, added after the corpus was made: at the end, so that the corpus's
    // inputs keep choosing the parsers they chose.
    app::ActivatePayload,
    app::DeactivatePayload,
    app::GetChannelPayloadSupport,
    app::GetChannelPayloadVersion,
    app::GetPayloadActivationStatus,
    app::GetPayloadInstanceInfo,
    transport::GetSolConfigParams,
    transport::SetSolConfigParams,
);

fn emitted(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut v = Vec::new();
    f(&mut v);
    v
}

/// The wire formats and the boot flags parameter, with the same property.
pub const WIRE: &[Check] = &[
    ("BootFlags", body::<BootFlags>),
    ("message::Request", |d| {
        round_trip(
            "message::Request",
            d,
            |b| message::Request::parse(b).ok(),
            |r| emitted(|v| r.emit(v)),
        )
    }),
    ("message::Response", |d| {
        round_trip(
            "message::Response",
            d,
            |b| message::Response::parse(b).ok(),
            |r| emitted(|v| r.emit(v)),
        )
    }),
    ("OpenSessionRequest", |d| {
        round_trip(
            "OpenSessionRequest",
            d,
            |b| OpenSessionRequest::parse(b).ok(),
            |r| emitted(|v| r.emit(v)),
        )
    }),
    ("OpenSessionResponse", |d| {
        round_trip(
            "OpenSessionResponse",
            d,
            |b| OpenSessionResponse::parse(b).ok(),
            |r| emitted(|v| r.emit(v)),
        )
    }),
    ("Rakp1", |d| {
        round_trip(
            "Rakp1",
            d,
            |b| Rakp1::parse(b).ok(),
            |r| emitted(|v| r.emit(v)),
        )
    }),
    ("Rakp2", |d| {
        round_trip(
            "Rakp2",
            d,
            |b| Rakp2::parse(b).ok(),
            |r| emitted(|v| r.emit(v)),
        )
    }),
    ("Rakp3", |d| {
        round_trip(
            "Rakp3",
            d,
            |b| Rakp3::parse(b).ok(),
            |r| emitted(|v| r.emit(v)),
        )
    }),
    ("Rakp4", |d| {
        round_trip(
            "Rakp4",
            d,
            |b| Rakp4::parse(b).ok(),
            |r| emitted(|v| r.emit(v)),
        )
    }),
    ("asf::Repr", |d| {
        round_trip(
            "asf::Repr",
            d,
            |b| asf::Repr::parse(b).ok(),
            |r| emitted(|v| r.emit(v)),
        )
    }),
    ("ipmi15::Repr", |d| {
        round_trip(
            "ipmi15::Repr",
            d,
            |b| ipmi15::Repr::parse(b).ok().map(|(h, p)| (h, p.to_vec())),
            |(h, p)| emitted(|v| h.emit(p, v).expect("a parsed payload fits")),
        )
    }),
    ("ipmi20::Repr", |d| {
        round_trip(
            "ipmi20::Repr",
            d,
            |b| {
                ipmi20::Repr::parse(b)
                    .ok()
                    .map(|p| (p.header, p.payload.to_vec(), p.trailer.to_vec()))
            },
            |(h, payload, trailer)| {
                emitted(|v| {
                    h.emit(payload.len(), v);
                    v.extend_from_slice(payload);
                    v.extend_from_slice(trailer);
                })
            },
        )
    }),
];

/// The records the commands carry as bytes: sensor data records (Get SDR hands out pieces of
/// them), their conversion factors, and the fields of a SEL system event record.
pub const RECORDS: &[Check] = &[
    ("sdr::Record", |d| {
        round_trip(
            "sdr::Record",
            d,
            |b| Record::parse(b).ok(),
            |(id, r)| r.to_bytes(*id),
        )
    }),
    ("sdr::Linear", |d| {
        round_trip(
            "sdr::Linear",
            d,
            |b| Linear::from_bytes(b).ok(),
            |l| l.to_bytes().to_vec(),
        )
    }),
    ("SelRecord", |d| {
        body::<SelRecord>(d);
        // A system event record's fields make the same record again (but for what the SEL
        // device sets: ID, timestamp, and the event message revision).
        let Ok(r) = SelRecord::parse(d) else {
            return;
        };
        if let Some(e) = r.system_event_fields() {
            let again = SelRecord::system_event(&e);
            assert_eq!(again.system_event_fields(), Some(e), "from {d:02x?}");
            assert_eq!(again.0[10..], r.0[10..], "event bytes of {d:02x?}");
            assert_eq!(again.0[7..9], r.0[7..9], "generator of {d:02x?}");
        }
    }),
];

/// Every check, in input-selector order: each command's request and response, then [`WIRE`],
/// then [`RECORDS`].
pub fn parsers() -> Vec<Check> {
    COMMANDS
        .iter()
        .flat_map(|c| [(c.name, c.request), (c.name, c.response)])
        .chain(WIRE.iter().copied())
        .chain(RECORDS.iter().copied())
        .collect()
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let parsers = parsers();
    (parsers[usize::from(sel) % parsers.len()].1)(rest);
}
