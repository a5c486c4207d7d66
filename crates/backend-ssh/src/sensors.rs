//! The sensors the ssh backend reads on the host: `/sys/class/hwmon` lines from the sensors
//! command, or the host's own `ipmitool sdr`, turned into readings in SDR units.

use ipmi_bmc::{SensorKind, SensorReading};

/// Parses `CHIP FILE VALUE` lines from /sys/class/hwmon into readings, one per `_input` file,
/// in the order they come: `temp` in millidegrees Celsius, `in` in millivolts, `fan` in RPM,
/// `power` in microwatts and `curr` in milliamperes, converted to the SDR units (degrees C,
/// volts, RPM, watts, amperes). The limit files give the thresholds: `min` lower non-critical,
/// `lcrit` lower critical, `max` upper non-critical, `crit` upper critical, `emergency` upper
/// non-recoverable (for fans, a non-zero `min` is the lower critical speed). An input that
/// could not be read reads as unavailable.
pub fn parse_hwmon(out: &str) -> Vec<SensorReading> {
    let mut sensors: Vec<SensorReading> = Vec::new();
    let mut limits: Vec<(String, &str, f64)> = Vec::new();
    for line in out.lines() {
        let mut w = line.split_whitespace();
        let (Some(chip), Some(file)) = (w.next(), w.next()) else {
            continue;
        };
        // An empty file prints no value: unreadable, like one that failed.
        let raw = w.next().unwrap_or("-");
        let Some((stem, attribute)) = file.split_once('_') else {
            continue;
        };
        let class = stem.trim_end_matches(|c: char| c.is_ascii_digit());
        let Some((kind, scale)) = hwmon_class(class) else {
            continue;
        };
        if class.len() == stem.len() {
            continue;
        }
        let value = raw.parse::<f64>().ok().map(|v| v / scale);
        let name = format!("{chip} {stem}");
        if attribute == "input" {
            sensors.push(SensorReading::new(name, kind, value));
        } else if let Some(v) = value {
            limits.push((name, attribute, v));
        }
    }
    for (name, attribute, v) in limits {
        let Some(s) = sensors.iter_mut().find(|s| s.name == name) else {
            continue;
        };
        let t = &mut s.thresholds;
        match (s.kind, attribute) {
            (SensorKind::Fan, "min") if v > 0.0 => t.lower_critical = Some(v),
            (SensorKind::Fan, _) => {}
            (_, "min") => t.lower_non_critical = Some(v),
            (_, "lcrit") => t.lower_critical = Some(v),
            (_, "max") => t.upper_non_critical = Some(v),
            (_, "crit") => t.upper_critical = Some(v),
            (_, "emergency") => t.upper_non_recoverable = Some(v),
            _ => {}
        }
    }
    sensors
}

/// The kind of an hwmon attribute class and the divisor from its unit to the SDR unit.
fn hwmon_class(class: &str) -> Option<(SensorKind, f64)> {
    Some(match class {
        "temp" => (SensorKind::Temperature, 1000.0),
        "in" => (SensorKind::Voltage, 1000.0),
        "fan" => (SensorKind::Fan, 1.0),
        "power" => (SensorKind::Power, 1_000_000.0),
        "curr" => (SensorKind::Current, 1000.0),
        _ => return None,
    })
}

/// Parses `ipmitool sdr` lines (`NAME | VALUE UNIT | STATUS`) into readings.
pub fn parse_ipmitool_sdr(out: &str) -> Vec<SensorReading> {
    out.lines()
        .filter_map(|l| {
            let mut f = l.split('|').map(str::trim);
            let (name, reading) = (f.next()?, f.next()?);
            let mut w = reading.split_whitespace();
            let value: f64 = w.next()?.parse().ok()?;
            let unit = w.collect::<Vec<_>>().join(" ").to_ascii_lowercase();
            let kind = if unit.contains("degrees") {
                SensorKind::Temperature
            } else if unit.contains("rpm") {
                SensorKind::Fan
            } else if unit.contains("volts") {
                SensorKind::Voltage
            } else if unit.contains("watts") {
                SensorKind::Power
            } else if unit.contains("amps") {
                SensorKind::Current
            } else {
                return None;
            };
            Some(SensorReading::new(name, kind, Some(value)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hwmon_limits_units_and_unreadable_inputs() {
        let hw = parse_hwmon(
            "k10temp temp1_crit 95000\nk10temp temp1_input 52500\nk10temp temp1_max 70000\n\
             it87 fan1_input 900\nit87 fan1_min 0\nit87 fan2_input 1000\nit87 fan2_min 300\n\
             it87 in0_input -\nit87 in0_lcrit 900\nit87 in1_input\nacpi power1_input 61500000\n\
             ina curr1_input 1250\nit87 intrusion0_alarm 0\nit87 temp_input 1\n",
        );
        let names: Vec<&str> = hw.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "k10temp temp1",
                "it87 fan1",
                "it87 fan2",
                "it87 in0",
                "it87 in1",
                "acpi power1",
                "ina curr1"
            ]
        );
        assert_eq!(hw[0].value, Some(52.5));
        assert_eq!(hw[0].thresholds.upper_critical, Some(95.0));
        assert_eq!(hw[0].thresholds.upper_non_critical, Some(70.0));
        assert_eq!(
            hw[1].thresholds.lower_critical, None,
            "a zero fan minimum is unset"
        );
        assert_eq!(hw[2].thresholds.lower_critical, Some(300.0));
        assert_eq!(
            (hw[3].value, hw[3].thresholds.lower_critical),
            (None, Some(0.9))
        );
        assert_eq!(hw[4].value, None);
        assert_eq!((hw[5].kind, hw[5].value), (SensorKind::Power, Some(61.5)));
        assert_eq!((hw[6].kind, hw[6].value), (SensorKind::Current, Some(1.25)));
    }

    #[test]
    fn sensor_outputs_parse() {
        let hw = parse_hwmon(
            "coretemp temp1_input 45000\nnct6775 fan2_input 1200\nnct6775 in0_input 1100\nx y z\n",
        );
        assert_eq!(hw.len(), 3);
        assert_eq!(hw[0].name, "coretemp temp1");
        assert_eq!(
            (hw[0].kind, hw[0].value),
            (SensorKind::Temperature, Some(45.0))
        );
        assert_eq!((hw[2].kind, hw[2].value), (SensorKind::Voltage, Some(1.1)));
        let sdr = parse_ipmitool_sdr("CPU Temp         | 48 degrees C      | ok\nFan1 | 3000 RPM | ok\nPS | no reading | ns\n");
        assert_eq!(sdr.len(), 2);
        assert_eq!(
            (sdr[0].name.as_str(), sdr[0].value),
            ("CPU Temp", Some(48.0))
        );
    }
}
