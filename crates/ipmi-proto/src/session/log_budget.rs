//! A budget for the log lines that anyone on the network can cause (failed and refused logins,
//! unknown names, cipher suites not offered): a flood of such datagrams must not fill the disk or
//! spend the server's time formatting lines. A burst of [`BURST`] lines, then [`PER_SECOND`] a
//! second; the lines left out are counted and reported with the next one written.

use std::time::{Duration, Instant};

/// Lines written at once after a quiet spell.
pub(crate) const BURST: u32 = 50;
/// Lines written per second under a flood.
pub(crate) const PER_SECOND: u32 = 10;

/// The budget of one LAN channel.
#[derive(Debug, Default)]
pub(crate) struct LogBudget {
    tokens: u32,
    refilled: Option<Instant>,
    left_out: u64,
}

impl LogBudget {
    /// Whether a line may be written at `now`. The first line written after some were left out
    /// is preceded by a line saying how many.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        let step = Duration::from_secs(1) / PER_SECOND;
        match self.refilled {
            None => {
                self.tokens = BURST;
                self.refilled = Some(now);
            }
            Some(t) => {
                let earned = now.saturating_duration_since(t).as_nanos() / step.as_nanos();
                if earned > 0 {
                    let earned = u32::try_from(earned).unwrap_or(u32::MAX);
                    self.tokens = self.tokens.saturating_add(earned).min(BURST);
                    self.refilled = Some(now);
                }
            }
        }
        if self.tokens == 0 {
            self.left_out += 1;
            return false;
        }
        self.tokens -= 1;
        if self.left_out > 0 {
            tracing::warn!(
                left_out = self.left_out,
                "log lines about failed or refused logins left out: a flood?"
            );
            self.left_out = 0;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_a_trickle() {
        let t0 = Instant::now();
        let mut b = LogBudget::default();
        let written = (0..10_000).filter(|_| b.allow(t0)).count();
        assert_eq!(written, BURST as usize);
        assert_eq!(b.left_out, 10_000 - u64::from(BURST));
        // One second later, a second's worth.
        let t1 = t0 + Duration::from_secs(1);
        let written = (0..10_000).filter(|_| b.allow(t1)).count();
        assert_eq!(written, PER_SECOND as usize);
        // A long quiet spell refills the burst, not more.
        let t2 = t1 + Duration::from_secs(3600);
        let written = (0..10_000).filter(|_| b.allow(t2)).count();
        assert_eq!(written, BURST as usize);
    }
}
