//! How each kind of sensor is described in its record: sensor type, event/reading type, unit,
//! entity, and the conversion factors a threshold sensor gets.

use crate::{DiscreteKind, SensorKind, SensorReading};
use ipmi_proto::sdr::{entity, reading_type, sensor_type, unit, Linear};

/// The record fields that follow from a sensor's kind (and name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Description {
    pub sensor_type: u8,
    pub reading_type: u8,
    pub unit: u8,
    pub entity: u8,
}

/// The description of a sensor of `kind` named `name`.
pub(crate) fn describe(kind: SensorKind, name: &str) -> Description {
    let lower = name.to_ascii_lowercase();
    let threshold = |sensor_type, unit, entity| Description {
        sensor_type,
        reading_type: reading_type::THRESHOLD,
        unit,
        entity,
    };
    let discrete = |sensor_type, reading_type, entity| Description {
        sensor_type,
        reading_type,
        unit: unit::UNSPECIFIED,
        entity,
    };
    match kind {
        SensorKind::Temperature => {
            let entity = if lower.contains("cpu") || lower.contains("core") {
                entity::PROCESSOR
            } else if lower.contains("inlet") || lower.contains("ambient") {
                entity::AIR_INLET
            } else {
                entity::SYSTEM_BOARD
            };
            threshold(sensor_type::TEMPERATURE, unit::DEGREES_C, entity)
        }
        SensorKind::Voltage => threshold(sensor_type::VOLTAGE, unit::VOLTS, entity::SYSTEM_BOARD),
        SensorKind::Fan => threshold(sensor_type::FAN, unit::RPM, entity::FAN),
        SensorKind::Power => threshold(sensor_type::OTHER_UNITS, unit::WATTS, entity::POWER_UNIT),
        SensorKind::Current => threshold(sensor_type::CURRENT, unit::AMPS, entity::POWER_UNIT),
        SensorKind::Discrete(DiscreteKind::PowerSupply) => discrete(
            sensor_type::POWER_SUPPLY,
            reading_type::SENSOR_SPECIFIC,
            entity::POWER_SUPPLY,
        ),
        SensorKind::Discrete(DiscreteKind::ChassisIntrusion) => discrete(
            sensor_type::PHYSICAL_SECURITY,
            reading_type::SENSOR_SPECIFIC,
            entity::CHASSIS,
        ),
        SensorKind::Discrete(DiscreteKind::AcpiPowerState) => discrete(
            sensor_type::SYSTEM_ACPI_POWER_STATE,
            reading_type::SENSOR_SPECIFIC,
            entity::SYSTEM_BOARD,
        ),
        // No standard sensor type says "the state of a rented machine": an OEM type with the
        // generic availability states.
        SensorKind::Discrete(DiscreteKind::Availability) => discrete(
            sensor_type::OEM,
            reading_type::AVAILABILITY,
            entity::SYSTEM_BOARD,
        ),
    }
}

/// The conversion factors of a threshold sensor, chosen when it is first seen: a round step
/// whose 255 steps cover the thresholds given, one and a half times the first reading, and the
/// kind's usual range.
pub(crate) fn factors(r: &SensorReading) -> Linear {
    if r.kind == SensorKind::Temperature {
        // 0..255 degrees C by whole degrees, as most BMCs report them.
        return Linear::spanning(255.0);
    }
    let usual: f64 = match r.kind {
        SensorKind::Fan => 10_000.0,
        SensorKind::Power => 500.0,
        SensorKind::Current => 10.0,
        _ => 1.0,
    };
    let limits = r
        .thresholds
        .in_wire_order()
        .into_iter()
        .flatten()
        .fold(0.0f64, f64::max);
    let seen = r.value.unwrap_or(0.0) * 1.5;
    Linear::spanning(usual.max(limits).max(seen))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SensorThresholds;

    #[test]
    fn factors_cover_thresholds_and_readings() {
        let v = SensorReading::new("12V", SensorKind::Voltage, None).with_thresholds(
            SensorThresholds {
                upper_critical: Some(13.2),
                ..SensorThresholds::default()
            },
        );
        let l = factors(&v);
        assert_eq!((l.m, l.r_exp), (1, -1));
        assert!(l.value(255) >= 13.2);
        let fan = factors(&SensorReading::new("Fan", SensorKind::Fan, Some(18_000.0)));
        assert!(fan.value(255) >= 27_000.0);
        assert_eq!(
            describe(SensorKind::Temperature, "CPU Temp").entity,
            entity::PROCESSOR
        );
    }
}
