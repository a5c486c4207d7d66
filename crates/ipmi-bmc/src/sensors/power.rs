//! DCMI power statistics: the system power readings taken (one per fetch of the sensors),
//! kept for the statistics reporting period, with their minimum, maximum and average.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// How far back the statistics reach.
pub(crate) const REPORTING_PERIOD: Duration = Duration::from_secs(3600);
/// At most this many samples are kept (one per sensor fetch: every 2 s at most).
const MAX_SAMPLES: usize = 2048;

/// The statistics.
#[derive(Debug, Default)]
pub(crate) struct PowerStats {
    samples: VecDeque<(SystemTime, f64)>,
}

/// What Get Power Reading reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct PowerFigures {
    pub current: f64,
    pub minimum: f64,
    pub maximum: f64,
    pub average: f64,
    /// When the current reading was taken.
    pub at: SystemTime,
    /// The time the statistics cover.
    pub period: Duration,
}

impl PowerStats {
    /// Records a reading of `watts` taken at `at`, and forgets those older than the period.
    pub fn add(&mut self, at: SystemTime, watts: f64) {
        self.samples.push_back((at, watts));
        while self.samples.len() > MAX_SAMPLES
            || self
                .samples
                .front()
                .is_some_and(|(t, _)| at.duration_since(*t).unwrap_or_default() > REPORTING_PERIOD)
        {
            self.samples.pop_front();
        }
    }

    /// The figures, with the latest sample as the current reading.
    pub fn figures(&self) -> Option<PowerFigures> {
        let &(at, current) = self.samples.back()?;
        let (first, _) = self.samples.front()?;
        let values = self.samples.iter().map(|(_, w)| *w);
        Some(PowerFigures {
            current,
            minimum: values.clone().fold(f64::INFINITY, f64::min),
            maximum: values.clone().fold(f64::NEG_INFINITY, f64::max),
            average: values.sum::<f64>() / self.samples.len() as f64,
            at,
            period: at.duration_since(*first).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_over_the_period() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut p = PowerStats::default();
        assert!(p.figures().is_none());
        p.add(t0, 100.0);
        p.add(t0 + Duration::from_secs(10), 300.0);
        p.add(t0 + Duration::from_secs(20), 200.0);
        let f = p.figures().unwrap();
        assert_eq!(
            (f.current, f.minimum, f.maximum, f.average),
            (200.0, 100.0, 300.0, 200.0)
        );
        assert_eq!(f.period, Duration::from_secs(20));
        // An hour later the first samples are forgotten.
        p.add(t0 + REPORTING_PERIOD + Duration::from_secs(15), 50.0);
        let f = p.figures().unwrap();
        assert_eq!((f.minimum, f.maximum), (50.0, 200.0));
    }
}
