//! What a new configuration changes against the one in force, decided from the digests alone
//! (no socket, no task): which of the file's BMCs start, restart, stop or stay, the same for
//! the discoveries, and which top-level settings would need a restart of the process.

use super::fingerprint::{Digest, Fingerprints};
use crate::config::{AdminConfig, BmcConfig, Config, DiscoveryConfig, StateConfig};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

/// What is known of a discovery in force.
pub struct DiscoveryInForce {
    /// Its table's digest.
    pub digest: Digest,
    /// The state file it keeps its addresses in.
    pub state_file: PathBuf,
}

/// The configuration in force, as a plan compares it.
pub struct InForce<'a> {
    /// The file's BMCs by name.
    pub bmcs: &'a HashMap<String, Digest>,
    /// The discoveries by name.
    pub discoveries: HashMap<&'a str, &'a DiscoveryInForce>,
    /// The top-level settings the process started with.
    pub others: &'a BTreeMap<String, Digest>,
    /// The state directory and SEL capacity the process started with.
    pub state: &'a StateConfig,
    /// Where the admin server listens, if it runs.
    pub admin_listen: Option<std::net::SocketAddr>,
}

/// Whether a discovery starts or restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Begin {
    /// New in the file.
    Start,
    /// Changed: it takes its predecessor's BMCs over.
    Restart,
}

/// The changes, in the file's order.
#[derive(Default)]
pub struct Plan {
    /// The file's new BMCs.
    pub start: Vec<BmcConfig>,
    /// The file's BMCs whose settings changed.
    pub restart: Vec<BmcConfig>,
    /// The file's BMCs gone from it.
    pub stop: Vec<String>,
    /// The file's BMCs left as they are.
    pub unchanged: Vec<String>,
    /// The file's BMCs by name once applied.
    pub bmcs: HashMap<String, Digest>,
    /// The discoveries that start or restart, with their digests.
    pub begin: Vec<(DiscoveryConfig, Digest, Begin)>,
    /// The discoveries gone from the file.
    pub end: Vec<String>,
    /// The discoveries left as they are.
    pub keep: Vec<String>,
    /// The top-level settings that changed but apply at start only.
    pub needs_restart: Vec<String>,
    /// The `[admin]` table changed but its server stays where it listens: its token, open paths
    /// and host names are swapped in, with the table's new digest.
    pub admin: Option<(AdminConfig, Digest)>,
}

/// The plan that takes `now` to `config` (whose digests are `fp`, table by table).
pub fn plan(now: &InForce, config: Config, fp: Fingerprints) -> Plan {
    let mut p = Plan::default();
    let mut keys: Vec<&String> = now.others.keys().chain(fp.others.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        if now.others.get(k) == fp.others.get(k) {
            continue;
        }
        // A new token (a rotated token file) is taken at once; a server to move, start or stop
        // needs the process to start again.
        let new_admin = config.admin.as_ref();
        let stays = now.admin_listen.is_some() && now.admin_listen == new_admin.map(|a| a.listen);
        match (k.as_str(), new_admin, fp.others.get(k)) {
            ("admin", Some(admin), Some(digest)) if stays => {
                p.admin = Some((admin.clone(), *digest));
            }
            _ => p.needs_restart.push(k.clone()),
        }
    }
    // A state directory given by the environment ($STATE_DIRECTORY) is no key, but the same.
    let state_moved = config.state != *now.state;
    if state_moved && p.needs_restart.is_empty() {
        p.needs_restart.push("state_dir".into());
    }
    for (c, digest) in config.bmcs.into_iter().zip(fp.bmcs) {
        let name = c.settings.name.clone();
        match now.bmcs.get(&name) {
            Some(d) if *d == digest => p.unchanged.push(name.clone()),
            Some(_) => p.restart.push(c),
            None => p.start.push(c),
        }
        p.bmcs.insert(name, digest);
    }
    let mut stop: Vec<String> = now
        .bmcs
        .keys()
        .filter(|n| !p.bmcs.contains_key(*n))
        .cloned()
        .collect();
    stop.sort();
    p.stop = stop;
    let mut seen = HashSet::new();
    for (mut d, digest) in config.discovery.into_iter().zip(fp.discoveries) {
        seen.insert(d.name.clone());
        let Some(old) = now.discoveries.get(d.name.as_str()) else {
            p.begin.push((d, digest, Begin::Start));
            continue;
        };
        // The state directory stays until a restart: so does the state file kept in it.
        if state_moved {
            d.state_file = old.state_file.clone();
        }
        if old.digest == digest && old.state_file == d.state_file {
            p.keep.push(d.name);
        } else {
            p.begin.push((d, digest, Begin::Restart));
        }
    }
    let mut end: Vec<String> = now
        .discoveries
        .keys()
        .filter(|n| !seen.contains(**n))
        .map(|n| n.to_string())
        .collect();
    end.sort();
    p.end = end;
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reload::fingerprint::of_text;
    use std::path::Path;

    fn bmc(name: &str, port: u16, extra: &str) -> String {
        format!("[[bmc]]\nname = \"{name}\"\nlisten = \"127.0.0.1:{port}\"\nbackend = \"sim\"\n{extra}[[bmc.users]]\nname = \"admin\"\npassword = \"plan-pass\"\nprivilege = \"administrator\"\n")
    }

    const DISCOVERY: &str = "[[metal_discovery]]\nname = \"rack\"\nproject_id = \"6f4e5c9a-1b2c-4d3e-8f90-0a1b2c3d4e5f\"\ntag = \"ipmi\"\ntoken_env = \"PATH\"\nlisten = \"127.0.0.1:7000-7009\"\n[[metal_discovery.users]]\nname = \"admin\"\npassword = \"plan-pass\"\nprivilege = \"administrator\"\n";

    /// Whether nothing is to change (settings needing a restart aside).
    fn nothing(p: &Plan) -> bool {
        p.start.is_empty()
            && p.restart.is_empty()
            && p.stop.is_empty()
            && p.begin.is_empty()
            && p.end.is_empty()
    }

    /// The digests and configuration of a text.
    fn read(text: &str) -> (Config, Fingerprints) {
        let dir = Path::new("/nonexistent-reload-plan");
        let c = crate::config::parse_all("t.toml", text, dir).unwrap();
        (c, of_text(text, dir))
    }

    #[test]
    fn bmcs_and_discoveries_start_restart_stop_or_stay_by_their_digests() {
        let (c, fp) = read(&format!(
            "state_dir = \"/s\"\n{}{}{}{DISCOVERY}",
            bmc("a", 1, ""),
            bmc("b", 2, ""),
            bmc("c", 3, "")
        ));
        let bmcs: HashMap<String, Digest> = c
            .bmcs
            .iter()
            .map(|b| b.settings.name.clone())
            .zip(fp.bmcs.iter().copied())
            .collect();
        let rack = DiscoveryInForce {
            digest: fp.discoveries[0],
            state_file: c.discovery[0].state_file.clone(),
        };
        let now = InForce {
            bmcs: &bmcs,
            discoveries: [("rack", &rack)].into_iter().collect(),
            others: &fp.others,
            state: &c.state,
            admin_listen: None,
        };
        // b changes, c goes, d comes; the discovery stays.
        let (c2, fp2) = read(&format!(
            "state_dir = \"/s\"\n{}{}{}{DISCOVERY}",
            bmc("a", 1, ""),
            bmc("b", 2, "guid = \"01234567-89ab-4def-8123-456789abcdef\"\n"),
            bmc("d", 4, "")
        ));
        let p = plan(&now, c2, fp2);
        let names = |v: &[BmcConfig]| -> Vec<String> {
            v.iter().map(|b| b.settings.name.clone()).collect()
        };
        assert_eq!(names(&p.start), ["d"]);
        assert_eq!(names(&p.restart), ["b"]);
        assert_eq!(p.stop, ["c"]);
        assert_eq!(p.unchanged, ["a"]);
        assert_eq!(p.keep, ["rack"]);
        assert!(p.begin.is_empty() && p.end.is_empty() && p.needs_restart.is_empty());
        // The same file again: nothing to do.
        let (c3, fp3) = read(&format!(
            "state_dir = \"/s\"\n{}{}{}{DISCOVERY}",
            bmc("a", 1, ""),
            bmc("b", 2, ""),
            bmc("c", 3, "")
        ));
        assert!(nothing(&plan(&now, c3, fp3)));
        // The discovery changes, the state directory moves: the discovery restarts with its
        // state file where it was, and the move waits for a restart.
        let changed = DISCOVERY.replace("tag = \"ipmi\"", "tag = \"other\"");
        let (c4, fp4) = read(&format!("state_dir = \"/t\"\n{}{changed}", bmc("a", 1, "")));
        let p = plan(&now, c4, fp4);
        assert_eq!(p.needs_restart, ["state_dir"]);
        assert_eq!(p.begin.len(), 1);
        assert_eq!(p.begin[0].2, Begin::Restart);
        assert_eq!(p.begin[0].0.state_file, rack.state_file);
        assert_eq!(p.stop, ["b", "c"]);
        // Gone from the file: the discovery ends.
        let (c5, fp5) = read(&format!("state_dir = \"/s\"\n{}", bmc("a", 1, "")));
        assert_eq!(plan(&now, c5, fp5).end, ["rack"]);
    }
}
