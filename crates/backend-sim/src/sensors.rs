//! The simulated machine's sensors. Its load wanders slowly over time; its heat follows the load
//! while it is on and decays towards the room's temperature once it is off (a first-order lag),
//! so temperatures rise after power on and fall after power off instead of jumping. Fans spin
//! with the load and stop when the machine is off; the main voltage rails are unpowered (their
//! readings unavailable) when it is off while the standby rail stays; the power draw falls to a
//! few watts of standby.

use ipmi_bmc::{DiscreteKind, PowerState, SensorKind, SensorReading, SensorThresholds};
use std::time::Duration;

/// The load the heat settles to while the machine is on.
pub(crate) const MEAN_LOAD: f64 = 0.45;
/// How fast the heat follows (time constant).
pub(crate) const THERMAL_LAG: Duration = Duration::from_secs(30);
/// The power drawn while off (the BMC's standby).
pub(crate) const STANDBY_WATTS: f64 = 6.0;

/// The load at `t` since the machine was created: between 0.1 and 0.8, slowly varying.
pub(crate) fn load_at(t: Duration) -> f64 {
    use std::f64::consts::TAU;
    let s = t.as_secs_f64();
    MEAN_LOAD + 0.25 * (TAU * s / 120.0).sin() + 0.1 * (TAU * s / 17.0).sin()
}

/// The heat (0 cold .. 1 hot) `dt` after it was `h0`, heading for the power state's level.
pub(crate) fn heat_after(h0: f64, power: PowerState, dt: Duration) -> f64 {
    let target = if power == PowerState::On {
        MEAN_LOAD
    } else {
        0.0
    };
    target + (h0 - target) * (-dt.as_secs_f64() / THERMAL_LAG.as_secs_f64()).exp()
}

fn limits(
    lower: (Option<f64>, Option<f64>),
    upper: (Option<f64>, Option<f64>, Option<f64>),
    hysteresis: f64,
) -> SensorThresholds {
    SensorThresholds {
        lower_critical: lower.0,
        lower_non_critical: lower.1,
        upper_non_critical: upper.0,
        upper_critical: upper.1,
        upper_non_recoverable: upper.2,
        hysteresis,
        ..SensorThresholds::default()
    }
}

/// The readings of the machine in `power` state, with this heat and load.
pub(crate) fn readings(power: PowerState, heat: f64, load: f64) -> Vec<SensorReading> {
    let on = power == PowerState::On;
    let when_on = |v: f64| on.then_some(v);
    let temp = |name: &str, v: f64, unc: f64, uc: f64, unr: f64, hyst: f64| {
        SensorReading::new(name, SensorKind::Temperature, Some(v)).with_thresholds(limits(
            (None, None),
            (Some(unc), Some(uc), Some(unr)),
            hyst,
        ))
    };
    let volts = |name: &str, v: Option<f64>, lc: f64, lnc: f64, unc: f64, uc: f64| {
        SensorReading::new(name, SensorKind::Voltage, v).with_thresholds(limits(
            (Some(lc), Some(lnc)),
            (Some(unc), Some(uc), None),
            0.0,
        ))
    };
    let busy = if on { load - MEAN_LOAD } else { 0.0 };
    let mut v = vec![
        temp(
            "CPU Temp",
            24.0 + 55.0 * heat + 8.0 * busy,
            85.0,
            95.0,
            105.0,
            2.0,
        ),
        temp("Inlet Temp", 22.0 + 3.0 * heat, 40.0, 45.0, 50.0, 1.0),
        temp("Board Temp", 26.0 + 22.0 * heat, 70.0, 80.0, 90.0, 2.0),
    ];
    for fan in 0..4 {
        let rpm = when_on(2400.0 + 6000.0 * load + 45.0 * f64::from(fan)).unwrap_or(0.0);
        v.push(SensorReading::new(
            format!("Fan {}", fan + 1),
            SensorKind::Fan,
            Some(rpm),
        ));
    }
    v.extend([
        volts("12V", when_on(12.0 + 0.05 * busy), 10.8, 11.4, 12.6, 13.2),
        volts("5V", when_on(5.0 + 0.02 * busy), 4.5, 4.75, 5.25, 5.5),
        volts("3.3VSB", Some(3.3), 2.97, 3.13, 3.47, 3.63),
        SensorReading::new("CPU Vcore", SensorKind::Voltage, when_on(0.8 + 0.3 * load))
            .with_thresholds(limits((Some(0.6), None), (None, Some(1.5), None), 0.0)),
        SensorReading::new(
            "System Power",
            SensorKind::Power,
            Some(when_on(110.0 + 240.0 * load).unwrap_or(STANDBY_WATTS)),
        )
        .with_thresholds(limits((None, None), (Some(450.0), Some(500.0), None), 5.0)),
        SensorReading::discrete(
            "PSU1 Status",
            DiscreteKind::PowerSupply,
            Some(1 << DiscreteKind::PRESENCE_DETECTED),
        ),
        SensorReading::discrete("Intrusion", DiscreteKind::ChassisIntrusion, Some(0)),
        SensorReading::discrete(
            "ACPI State",
            DiscreteKind::AcpiPowerState,
            Some(
                1 << if on {
                    DiscreteKind::S0_WORKING
                } else {
                    DiscreteKind::S5_SOFT_OFF
                },
            ),
        ),
    ]);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_follows_power_with_a_lag() {
        let warm = heat_after(0.0, PowerState::On, THERMAL_LAG * 10);
        assert!((warm - MEAN_LOAD).abs() < 1e-3);
        let cooling = heat_after(warm, PowerState::Off, THERMAL_LAG);
        assert!(cooling < warm && cooling > 0.1);
        assert!((0.1..=0.8).contains(&load_at(Duration::from_secs(37))));
    }
}
