//! Sharding of discovery over several processes: shard `INDEX` of `COUNT` serves exactly the
//! devices whose rendezvous (highest random weight) hash falls to it. Every process computes the
//! same owner for a device from the device id and `COUNT` alone, without talking to the others,
//! and going from `COUNT` to `COUNT + 1` shards moves only the devices the new shard wins (about
//! one in `COUNT + 1`): the others keep their owner, since their weights for the old shards are
//! unchanged.
//!
//! `shard = "auto"` is for a Kubernetes StatefulSet: the index is the trailing `-N` of the pod's
//! name (`$POD_NAME`, else `$HOSTNAME`, else the kernel's host name) and the count comes from
//! [`COUNT_ENV`].

use sha2::{Digest, Sha256};
use std::fmt;

/// The environment variable holding the number of shards for `shard = "auto"` (the
/// StatefulSet's `replicas`).
pub const COUNT_ENV: &str = "IPMI_TO_METAL_SHARDS";
/// The most shards a discovery may be split into.
pub const MAX_COUNT: u32 = 4096;

/// One shard of a discovery: serves the devices [`Shard::owns`] says are its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Default for Shard {
    /// The only shard: every device.
    fn default() -> Shard {
        Shard { index: 0, count: 1 }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Shard `index` of `count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 || count > MAX_COUNT {
            return Err(format!("the shard count must be 1 to {MAX_COUNT}"));
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is out of range: shards are numbered 0 to {} of {count}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// `"INDEX/COUNT"`, or `"auto"` with the pod name and count from `env` (the process
    /// environment in [`Shard::parse`]).
    pub fn parse_with(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let text = text.trim();
        if text == "auto" {
            return Shard::auto(env);
        }
        let bad =
            || format!("bad shard {text:?}: expected \"INDEX/COUNT\" (as \"0/3\") or \"auto\"");
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index = index.trim().parse::<u32>().map_err(|_| bad())?;
        let count = count.trim().parse::<u32>().map_err(|_| bad())?;
        Shard::new(index, count)
    }

    /// [`Shard::parse_with`] the process environment.
    pub fn parse(text: &str) -> Result<Shard, String> {
        Shard::parse_with(text, |name| {
            let v = std::env::var(name).ok().filter(|v| !v.trim().is_empty());
            // The kernel's host name when the environment does not say (HOSTNAME is often a
            // shell variable, not exported).
            if v.is_none() && name == "HOSTNAME" {
                return std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
            }
            v
        })
    }

    fn auto(env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let (var, pod) = ["POD_NAME", "HOSTNAME"]
            .into_iter()
            .find_map(|v| env(v).map(|p| (v, p.trim().to_string())))
            .ok_or(
                "shard = \"auto\": set POD_NAME (or HOSTNAME) to the pod's name, NAME-ORDINAL",
            )?;
        let index = pod
            .rsplit_once('-')
            .and_then(|(_, n)| n.parse::<u32>().ok())
            .ok_or_else(|| {
                format!(
                    "shard = \"auto\": {var} is {pod:?}, which does not end in -ORDINAL as a \
                     StatefulSet's pods do (set POD_NAME to the pod's name)"
                )
            })?;
        let count_text = env(COUNT_ENV).ok_or_else(|| {
            format!("shard = \"auto\": set {COUNT_ENV} to the number of shards (the StatefulSet's replicas)")
        })?;
        let count = count_text.trim().parse::<u32>().map_err(|_| {
            format!("shard = \"auto\": {COUNT_ENV} is {count_text:?}, not a number")
        })?;
        Shard::new(index, count).map_err(|e| format!("shard = \"auto\" ({var} {pod:?}): {e}"))
    }

    /// The number of shards.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether this shard serves the device.
    pub fn owns(&self, device_id: &str) -> bool {
        owner(device_id, self.count) == self.index
    }
}

/// The shard of `count` that serves the device: the one with the highest weight (the lowest
/// index on a tie, which a 64-bit hash makes practically impossible).
pub fn owner(device_id: &str, count: u32) -> u32 {
    let mut best = (0u32, 0u64);
    for index in 0..count {
        let w = weight(device_id, index);
        if index == 0 || w > best.1 {
            best = (index, w);
        }
    }
    best.0
}

/// The device's weight for one shard: a hash that is the same in every process, version and
/// platform (so not std's `Hasher`, whose output may change between Rust releases).
fn weight(device_id: &str, index: u32) -> u64 {
    let mut h = Sha256::new();
    h.update(device_id.as_bytes());
    h.update([0]);
    h.update(index.to_be_bytes());
    let digest = h.finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn ids(n: u32) -> Vec<String> {
        (0..n)
            .map(|i| format!("6e2b7f4c-3c1a-4a5e-9d7e-{i:012}"))
            .collect()
    }

    #[test]
    fn parses_index_count_and_refuses_the_rest() {
        let none = |_: &str| None;
        assert_eq!(
            Shard::parse_with("1/3", none),
            Ok(Shard::new(1, 3).unwrap())
        );
        assert_eq!(Shard::parse_with(" 0 / 1 ", none), Ok(Shard::default()));
        for bad in ["3/3", "0/0", "1", "a/2", "-1/2", "1/2/3", ""] {
            assert!(Shard::parse_with(bad, none).is_err(), "{bad:?}");
        }
        assert!(Shard::parse_with("0/5000", none).is_err());
    }

    #[test]
    fn auto_takes_the_ordinal_of_the_pod_name_and_the_count_from_the_environment() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let sts = env(&[("HOSTNAME", "ipmi-to-metal-2"), (COUNT_ENV, "3")]);
        assert_eq!(
            Shard::parse_with("auto", sts),
            Ok(Shard::new(2, 3).unwrap())
        );
        // With host networking the host name is the node's: POD_NAME wins.
        let host_net = env(&[
            ("HOSTNAME", "node-17"),
            ("POD_NAME", "ipmi-to-metal-0"),
            (COUNT_ENV, "2"),
        ]);
        assert_eq!(
            Shard::parse_with("auto", host_net),
            Ok(Shard::new(0, 2).unwrap())
        );
        let no_ordinal = Shard::parse_with("auto", env(&[("HOSTNAME", "box"), (COUNT_ENV, "2")]));
        assert!(no_ordinal.unwrap_err().contains("-ORDINAL"));
        let no_count = Shard::parse_with("auto", env(&[("HOSTNAME", "x-1")]));
        assert!(no_count.unwrap_err().contains(COUNT_ENV));
        let too_few = Shard::parse_with("auto", env(&[("HOSTNAME", "x-3"), (COUNT_ENV, "3")]));
        assert!(too_few.unwrap_err().contains("out of range"));
    }

    #[test]
    fn every_device_has_exactly_one_owner_spread_evenly() {
        let devices = ids(3000);
        for count in [1u32, 2, 3, 5] {
            let shards: Vec<Shard> = (0..count).map(|i| Shard::new(i, count).unwrap()).collect();
            let mut per_shard = vec![0usize; count as usize];
            for d in &devices {
                let owners: Vec<u32> = (0..count).filter(|i| shards[*i as usize].owns(d)).collect();
                assert_eq!(owners.len(), 1, "{d} of {count}");
                per_shard[owners[0] as usize] += 1;
            }
            let fair = devices.len() / count as usize;
            for n in per_shard {
                assert!(
                    n.abs_diff(fair) < fair / 10 + 30,
                    "{n} of {fair} with {count} shards"
                );
            }
        }
    }

    #[test]
    fn a_new_shard_takes_about_one_in_n_and_nothing_else_moves() {
        let devices = ids(3000);
        for count in [1u32, 2, 3, 7] {
            let before: HashMap<&str, u32> = devices
                .iter()
                .map(|d| (d.as_str(), owner(d, count)))
                .collect();
            let mut moved = 0usize;
            for d in &devices {
                let after = owner(d, count + 1);
                if after != before[d.as_str()] {
                    assert_eq!(after, count, "{d} moved between old shards");
                    moved += 1;
                }
            }
            let expected = devices.len() / (count as usize + 1);
            assert!(
                moved.abs_diff(expected) < expected / 8,
                "{moved} moved, about {expected} expected"
            );
        }
    }

    #[test]
    fn the_owner_is_stable_across_releases() {
        // Fixed values: a change of hash would move every device to another shard on upgrade.
        let got: Vec<u32> = ids(8).iter().map(|d| owner(d, 4)).collect();
        assert_eq!(got, PINNED);
    }

    // Computed independently: SHA-256 of "ID\0" and the index as 4 big-endian bytes, the
    // first 8 bytes of each digest compared as a big-endian number (python3 hashlib).
    const PINNED: [u32; 8] = [2, 0, 3, 0, 1, 2, 2, 2];
}
