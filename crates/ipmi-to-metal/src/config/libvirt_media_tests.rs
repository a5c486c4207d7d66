//! The virtual media keys of `[bmc.libvirt]`: read, defaulted, and refused out of range where
//! they are written.

use super::*;
use backend_libvirt::LibvirtConfig;
use std::time::Duration;

fn libvirt(keys: &str) -> Result<backend_libvirt::media::MediaConfig, String> {
    let text = format!(
        "[[bmc]]\nname = \"vm1\"\nlisten = \"127.0.0.1:6230\"\nbackend = \"libvirt\"\n\n[bmc.libvirt]\ndomain = \"vm1\"\n{keys}\n[[bmc.users]]\nname = \"admin\"\npassword = \"password\"\nprivilege = \"administrator\"\n"
    );
    let c = parse("t.toml", &text, Path::new("/nonexistent")).map_err(|e| e.to_string())?;
    let settings: &LibvirtConfig = c[0].backend.settings().expect("libvirt settings");
    Ok(settings.media.clone())
}

#[test]
fn media_keys_are_read_with_their_defaults() {
    let m = libvirt("").unwrap();
    assert_eq!(
        (m.pool.as_str(), m.max_bytes, m.timeout),
        ("default", 4700 << 20, Duration::from_millis(9000))
    );
    // The image is spooled in the state directory (FILE.state beside the file by default).
    let spool = m.spool.expect("a spool directory");
    assert!(
        spool.ends_with("t.toml.state/libvirt-media")
            || std::env::var_os("STATE_DIRECTORY").is_some(),
        "{}",
        spool.display()
    );
    let m =
        libvirt("media_pool = \"isos\"\nmedia_max_mb = 10\nmedia_timeout_ms = 25000\n").unwrap();
    assert_eq!(
        (m.pool.as_str(), m.max_bytes, m.timeout),
        ("isos", 10 << 20, Duration::from_secs(25))
    );
}

#[test]
fn media_keys_out_of_range_are_refused_where_written() {
    for (keys, why) in [
        (
            "media_pool = \"\"\n",
            "t.toml:8:14: media_pool must be a libvirt storage pool's name",
        ),
        ("media_pool = \"a/b\"\n", "media_pool must be"),
        (
            "media_max_mb = 0\n",
            "t.toml:8:16: media_max_mb must be 1 to 1048576",
        ),
        (
            "media_timeout_ms = 25001\n",
            "t.toml:8:20: media_timeout_ms must be 1000 to 25000",
        ),
        (
            "media_timeout_ms = 999\n",
            "media_timeout_ms must be 1000 to 25000",
        ),
        ("media_size = 3\n", "unknown field `media_size`"),
    ] {
        let e = libvirt(keys).expect_err(keys);
        assert!(e.contains(why), "{keys}: {e}");
    }
}

/// The media settings a `[[libvirt_discovery]]` with `keys` gives its domains.
fn discovery(keys: &str) -> Result<backend_libvirt::media::MediaConfig, String> {
    let text = format!(
        "[[libvirt_discovery]]\nnames = \"lab-*\"\nlisten = \"127.0.0.1:6230-6239\"\n{keys}\n[[libvirt_discovery.users]]\nname = \"admin\"\npassword = \"password\"\nprivilege = \"administrator\"\n"
    );
    let c = parse_all("t.toml", &text, Path::new("/nonexistent")).map_err(|e| e.to_string())?;
    match &c.discovery[0].source {
        discovery::DiscoverySource::Libvirt(s) => Ok(s.media.clone()),
        _ => panic!("a libvirt discovery"),
    }
}

#[test]
fn a_libvirt_discovery_gives_its_domains_its_media_keys() {
    let m = discovery("").unwrap();
    assert_eq!(
        (m.pool.as_str(), m.max_bytes, m.timeout),
        ("default", 4700 << 20, Duration::from_millis(9000))
    );
    let m =
        discovery("media_pool = \"isos\"\nmedia_max_mb = 10\nmedia_timeout_ms = 25000\n").unwrap();
    assert_eq!(
        (m.pool.as_str(), m.max_bytes, m.timeout),
        ("isos", 10 << 20, Duration::from_secs(25))
    );
    let e = discovery("media_max_mb = 0\n").unwrap_err();
    assert!(
        e.contains("t.toml:4:16: media_max_mb must be 1 to 1048576"),
        "{e}"
    );
}
