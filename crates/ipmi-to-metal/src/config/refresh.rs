//! `[admin.refresh_ms]`: how often the background power refresh (the `power_refresh` module) reads
//! each backend kind's BMCs, in milliseconds (0: never); the kinds not named keep their
//! defaults.

use std::collections::BTreeMap;
use std::time::Duration;

/// The interval of each backend kind, where it is not the default (see [`RefreshIntervals::of`]).
/// The defaults: `sim` 2 s (a read costs nothing); `ipmi` 10 s (one request to the BMC behind,
/// over its session); `metal`, `redfish`, `http`, `command` 30 s (an API call or a process
/// each, one in fifteen of what the 2 s caches would let through); `ssh` 60 s (a connection).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RefreshIntervals {
    /// Set by the configuration: `None` is never.
    set: BTreeMap<&'static str, Option<Duration>>,
}

/// A kind's interval unless the configuration says otherwise.
fn default_interval(kind: &str) -> Duration {
    Duration::from_secs(match kind {
        "sim" => 2,
        "ipmi" => 10,
        "ssh" => 60,
        _ => 30,
    })
}

impl RefreshIntervals {
    /// Reads the power state of `kind`'s BMCs every `every` (zero: never).
    pub fn set(&mut self, kind: &'static str, every: Duration) {
        self.set.insert(kind, (!every.is_zero()).then_some(every));
    }

    /// How often a BMC of `kind` is read (`None`: never).
    pub fn of(&self, kind: &str) -> Option<Duration> {
        match self.set.get(kind) {
            Some(every) => *every,
            None => Some(default_interval(kind)),
        }
    }

    /// How often a BMC whose backends are of `kinds` is read: the longest of theirs (a routed
    /// BMC may read its power through any of them), never if one of them is never.
    pub fn of_bmc<'a>(&self, kinds: impl IntoIterator<Item = &'a str>) -> Option<Duration> {
        let mut longest = Duration::ZERO;
        for k in kinds {
            longest = longest.max(self.of(k)?);
        }
        (!longest.is_zero()).then_some(longest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bmc_is_read_at_the_longest_interval_of_its_kinds_or_never() {
        let mut i = RefreshIntervals::default();
        assert_eq!(i.of("sim"), Some(Duration::from_secs(2)));
        assert_eq!(i.of("metal"), Some(Duration::from_secs(30)));
        assert_eq!(i.of_bmc(["sim", "ssh"]), Some(Duration::from_secs(60)));
        i.set("ssh", Duration::ZERO);
        assert_eq!(i.of_bmc(["sim", "ssh"]), None);
        i.set("sim", Duration::from_millis(100));
        assert_eq!(i.of_bmc(["sim"]), Some(Duration::from_millis(100)));
    }
}
