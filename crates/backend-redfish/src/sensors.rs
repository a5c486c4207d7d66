//! A chassis' sensors as the BMC model's sensor readings: from the newer `Sensors` collection
//! (one Sensor resource each, with `ReadingType`, `Reading` and `Thresholds`) where the chassis
//! has one, else from its older `Thermal` (temperatures, fans) and `Power` (power control,
//! voltages) resources.
//!
//! Thresholds map as caution → non-critical, critical → critical, fatal → non-recoverable.
//! A sensor whose `Status.State` is `Absent` is left out; one that gives no reading reads as
//! unavailable.

use ipmi_bmc::{SensorKind, SensorReading, SensorThresholds};
use serde_json::Value;

/// At most this many sensors are read from a `Sensors` collection (one `GET` each).
pub const MAX_SENSORS: usize = 64;

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key)?.as_f64()
}

fn name_of(v: &Value, fallback: &str) -> String {
    v.get("Name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or(fallback)
        .to_string()
}

fn absent(v: &Value) -> bool {
    v.pointer("/Status/State").and_then(Value::as_str) == Some("Absent")
}

/// The kind of a Sensor resource, from `ReadingType` (or its unit).
fn sensor_kind(v: &Value) -> Option<SensorKind> {
    let by_type = match v.get("ReadingType").and_then(Value::as_str) {
        Some("Temperature") => Some(SensorKind::Temperature),
        Some("Voltage") => Some(SensorKind::Voltage),
        Some("Power") => Some(SensorKind::Power),
        Some("Current") => Some(SensorKind::Current),
        Some("Rotational") => Some(SensorKind::Fan),
        _ => None,
    };
    by_type.or(match v.get("ReadingUnits").and_then(Value::as_str) {
        Some("Cel") => Some(SensorKind::Temperature),
        Some("V") => Some(SensorKind::Voltage),
        Some("W") => Some(SensorKind::Power),
        Some("A") => Some(SensorKind::Current),
        Some("RPM") => Some(SensorKind::Fan),
        _ => None,
    })
}

/// One Sensor resource (`#Sensor.v1_x.Sensor`), if it is of a kind IPMI can show.
pub fn from_sensor(v: &Value) -> Option<SensorReading> {
    if absent(v) {
        return None;
    }
    let kind = sensor_kind(v)?;
    let t = |k: &str| v.pointer(&format!("/Thresholds/{k}/Reading"))?.as_f64();
    let thresholds = SensorThresholds {
        lower_non_critical: t("LowerCaution"),
        lower_critical: t("LowerCritical"),
        lower_non_recoverable: t("LowerFatal"),
        upper_non_critical: t("UpperCaution"),
        upper_critical: t("UpperCritical"),
        upper_non_recoverable: t("UpperFatal"),
        hysteresis: 0.0,
    };
    let fallback = v.get("Id").and_then(Value::as_str).unwrap_or("Sensor");
    Some(
        SensorReading::new(name_of(v, fallback), kind, num(v, "Reading"))
            .with_thresholds(thresholds),
    )
}

/// The older resources' threshold properties (`UpperThresholdNonCritical`, ...).
fn legacy_thresholds(v: &Value) -> SensorThresholds {
    SensorThresholds {
        lower_non_critical: num(v, "LowerThresholdNonCritical"),
        lower_critical: num(v, "LowerThresholdCritical"),
        lower_non_recoverable: num(v, "LowerThresholdFatal"),
        upper_non_critical: num(v, "UpperThresholdNonCritical"),
        upper_critical: num(v, "UpperThresholdCritical"),
        upper_non_recoverable: num(v, "UpperThresholdFatal"),
        hysteresis: 0.0,
    }
}

fn each<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|x| !absent(x))
}

/// A `Thermal` resource: `Temperatures` (`ReadingCelsius`) and `Fans` (`Reading` in RPM;
/// fans read in percent are left out).
pub fn from_thermal(v: &Value) -> Vec<SensorReading> {
    let temps = each(v, "Temperatures").map(|t| {
        SensorReading::new(
            name_of(t, "Temperature"),
            SensorKind::Temperature,
            num(t, "ReadingCelsius"),
        )
        .with_thresholds(legacy_thresholds(t))
    });
    let fans = each(v, "Fans")
        .filter(|f| f.get("ReadingUnits").and_then(Value::as_str) != Some("Percent"))
        .map(|f| {
            let name = f
                .get("Name")
                .or_else(|| f.get("FanName"))
                .and_then(Value::as_str)
                .unwrap_or("Fan");
            SensorReading::new(name, SensorKind::Fan, num(f, "Reading"))
                .with_thresholds(legacy_thresholds(f))
        });
    temps.chain(fans).collect()
}

/// A `Power` resource: `PowerControl` (`PowerConsumedWatts`, the system's power first) and
/// `Voltages` (`ReadingVolts`).
pub fn from_power(v: &Value) -> Vec<SensorReading> {
    let power = each(v, "PowerControl").map(|p| {
        SensorReading::new(
            name_of(p, "System Power"),
            SensorKind::Power,
            num(p, "PowerConsumedWatts"),
        )
    });
    let volts = each(v, "Voltages").map(|x| {
        SensorReading::new(
            name_of(x, "Voltage"),
            SensorKind::Voltage,
            num(x, "ReadingVolts"),
        )
        .with_thresholds(legacy_thresholds(x))
    });
    power.chain(volts).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensor_resources() {
        let v = serde_json::json!({
            "Id": "CPU1Temp", "Name": "CPU1 Temp", "ReadingType": "Temperature",
            "Reading": 45.5, "ReadingUnits": "Cel",
            "Thresholds": {"UpperCaution": {"Reading": 80}, "UpperCritical": {"Reading": 90},
                           "LowerCritical": {"Reading": 5}}
        });
        let r = from_sensor(&v).unwrap();
        assert_eq!(r.name, "CPU1 Temp");
        assert_eq!(r.kind, SensorKind::Temperature);
        assert_eq!(r.value, Some(45.5));
        assert_eq!(r.thresholds.upper_non_critical, Some(80.0));
        assert_eq!(r.thresholds.upper_critical, Some(90.0));
        assert_eq!(r.thresholds.lower_critical, Some(5.0));
        let fan = serde_json::json!({"Id": "Fan1", "ReadingUnits": "RPM", "Reading": null});
        let f = from_sensor(&fan).unwrap();
        assert_eq!(
            (f.name.as_str(), f.kind, f.value),
            ("Fan1", SensorKind::Fan, None)
        );
        assert!(from_sensor(&serde_json::json!({"ReadingType": "Humidity"})).is_none());
        assert!(from_sensor(
            &serde_json::json!({"ReadingType": "Voltage", "Status": {"State": "Absent"}})
        )
        .is_none());
    }

    #[test]
    fn thermal_and_power_resources() {
        let thermal = serde_json::json!({
            "Temperatures": [{"Name": "CPU Temp", "ReadingCelsius": 41, "UpperThresholdNonCritical": 42,
                              "UpperThresholdCritical": 45, "UpperThresholdFatal": 48}],
            "Fans": [{"Name": "BaseBoard System Fan", "Reading": 2100, "ReadingUnits": "RPM",
                      "LowerThresholdFatal": 0},
                     {"Name": "Pct", "Reading": 40, "ReadingUnits": "Percent"}]
        });
        let s = from_thermal(&thermal);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].value, Some(41.0));
        assert_eq!(s[0].thresholds.upper_non_recoverable, Some(48.0));
        assert_eq!((s[1].kind, s[1].value), (SensorKind::Fan, Some(2100.0)));
        let power = serde_json::json!({
            "PowerControl": [{"Name": "System Power Control", "PowerConsumedWatts": 344}],
            "Voltages": [{"Name": "VRM1 Voltage", "ReadingVolts": 12.1, "UpperThresholdCritical": 13}]
        });
        let p = from_power(&power);
        assert_eq!((p[0].kind, p[0].value), (SensorKind::Power, Some(344.0)));
        assert_eq!(p[1].thresholds.upper_critical, Some(13.0));
    }
}
