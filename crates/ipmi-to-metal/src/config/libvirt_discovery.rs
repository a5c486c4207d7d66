//! `[[libvirt_discovery]]`: one BMC for every domain of a libvirt host whose name matches a
//! filter and/or whose `<metadata>` holds an element, on addresses from a pool, with the same
//! users for all. Each domain keeps its address across restarts (by UUID, in the state file).
//!
//! ```toml
//! [[libvirt_discovery]]
//! uri = "qemu:///system"                  # the default
//! names = "lab-*"                         # a glob (* and ?), or name_regex = "^lab-[0-9]+$"
//! # metadata = "ipmi"                     # the domain's <metadata> must hold this element
//! # metadata_ns = "https://example.org/bmc"   # in this namespace
//! listen = "127.0.0.1:6230-6299"          # a port range, or a list of addresses
//! # refresh_s = 10, state_file = "FILE.toml.NAME.domains.json", deadline_ms = 8000,
//! # media_pool = "default", media_max_mb = 4700, media_timeout_ms = 9000 (as in [bmc.libvirt]),
//! # name = "discovery-1", shard = "0/1", and the session settings of a [[bmc]]
//! [[libvirt_discovery.users]]
//! name = "admin"
//! password_env = "IPMI_PASSWORD"
//! privilege = "administrator"
//! ```

use super::discovery::{common, Common, DiscoveryConfig, DiscoverySource, Pool};
use super::field_names::field_names;
use super::libvirt_source::LibvirtSource;
use super::session::{self, SessionToml};
use super::users::UserToml;
use backend_config::{ConfigError, Source};
use backend_libvirt::config as lv;
use backend_libvirt::discover::{glob_regex, Filter};
use serde::{Deserialize, Deserializer};
use std::path::Path;
use std::sync::OnceLock;
use toml::Spanned;

/// A `[[libvirt_discovery]]` table: its own fields; the session settings in it are read by
/// their own pass ([`SessionToml`]).
pub(super) struct LibvirtDiscoveryToml(Fields);

fn fields() -> &'static [&'static str] {
    static FIELDS: OnceLock<&'static [&'static str]> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let all: Vec<&'static str> = field_names::<Fields>()
            .iter()
            .chain(session::fields())
            .copied()
            .collect();
        Vec::leak(all)
    })
}

impl<'de> Deserialize<'de> for LibvirtDiscoveryToml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        backend_config::tables::skip_backend_tables(d, fields(), &[], fields())
            .map(LibvirtDiscoveryToml)
    }
}

/// The fields of a `[[libvirt_discovery]]` other than the session settings.
#[derive(Deserialize)]
struct Fields {
    name: Option<String>,
    uri: Option<Spanned<String>>,
    names: Option<Spanned<String>>,
    name_regex: Option<Spanned<String>>,
    metadata: Option<Spanned<String>>,
    metadata_ns: Option<String>,
    listen: Spanned<Pool>,
    state_file: Option<String>,
    refresh_s: Option<u64>,
    deadline_ms: Option<Spanned<u64>>,
    media_pool: Option<Spanned<String>>,
    media_max_mb: Option<Spanned<u64>>,
    media_timeout_ms: Option<Spanned<u64>>,
    shard: Option<Spanned<String>>,
    #[serde(default)]
    users: Vec<Spanned<UserToml>>,
}

/// Discovery `index` of the file's `[[libvirt_discovery]]` tables.
pub(super) fn discovery(
    src: &Source,
    index: usize,
    d: &Spanned<LibvirtDiscoveryToml>,
    session: &SessionToml,
    state_dir: Option<&Path>,
    state_files: Option<&Path>,
) -> Result<DiscoveryConfig, ConfigError> {
    let span = d.span();
    let t = &d.get_ref().0;
    let (name, mut written) = match (&t.names, &t.name_regex) {
        (Some(_), Some(r)) => {
            return Err(src.err(r.span(), "give names (a glob) or name_regex, not both"))
        }
        (Some(g), None) => (
            glob_regex(g.get_ref()).map_err(|e| src.err(g.span(), format!("names: {e}")))?,
            format!("named {:?}", g.get_ref()),
        ),
        (None, Some(r)) => (
            regex::Regex::new(r.get_ref())
                .map_err(|e| src.err(r.span(), format!("name_regex: {e}")))?,
            format!("matching /{}/", r.get_ref()),
        ),
        (None, None) if t.metadata.is_some() => (
            regex::Regex::new("").expect("the empty expression"),
            String::new(),
        ),
        (None, None) => {
            return Err(src.err(
                span,
                "[[libvirt_discovery]] needs names, name_regex or metadata: which domains to serve (names = \"*\" for all)",
            ))
        }
    };
    let metadata = t.metadata.as_ref().map(|m| {
        let ns = t.metadata_ns.clone();
        if !written.is_empty() {
            written.push_str(" and ");
        }
        written.push_str(&format!("with metadata <{}>", m.get_ref()));
        (ns, m.get_ref().clone())
    });
    let deadline = lv::deadline(t.deadline_ms.as_ref());
    lv::longest_call(t.deadline_ms.as_ref(), deadline).check(
        src,
        "[[libvirt_discovery]]",
        span.clone(),
    )?;
    let source = DiscoverySource::Libvirt(LibvirtSource {
        uri: lv::uri(src, t.uri.as_ref())?,
        filter: Filter { name, metadata },
        written,
        deadline,
        media: lv::media(
            src,
            state_files,
            lv::MediaKeys {
                pool: t.media_pool.as_ref(),
                max_mb: t.media_max_mb.as_ref(),
                timeout_ms: t.media_timeout_ms.as_ref(),
            },
        )?,
    });
    let c = Common {
        table: "libvirt_discovery",
        index,
        span,
        name: t.name.as_ref(),
        listen: &t.listen,
        state_file: t.state_file.as_ref(),
        refresh_s: t.refresh_s,
        default_refresh_s: 10,
        shard: t.shard.as_ref(),
        users: &t.users,
        session,
        state_dir,
    };
    common(src, c, source, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::super::{parse_all, DiscoverySource};
    use std::path::Path;

    fn discovery(extra: &str) -> Result<super::super::Config, String> {
        let text = format!(
            "[[libvirt_discovery]]\nlisten = \"127.0.0.1:6230-6239\"\n{extra}\n[[libvirt_discovery.users]]\nname = \"admin\"\npassword = \"long-enough-pw\"\nprivilege = \"administrator\"\n"
        );
        parse_all("t.toml", &text, Path::new("/nonexistent")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_filter_is_required_and_read() {
        let e = discovery("").err().expect("no filter");
        assert!(e.contains("needs names, name_regex or metadata"), "{e}");
        let e = discovery("names = \"a*\"\nname_regex = \"b\"")
            .err()
            .expect("both");
        assert!(e.contains("not both"), "{e}");
        let e = discovery("name_regex = \"(\"").err().expect("bad regex");
        assert!(e.contains("name_regex"), "{e}");
        let c = discovery("names = \"lab-*\"\nmetadata = \"ipmi\"").unwrap();
        let d = &c.discovery[0];
        assert_eq!(d.pool.len(), 10);
        assert_eq!(
            d.state_file.file_name().unwrap(),
            "t.toml.discovery-1.domains.json"
        );
        let DiscoverySource::Libvirt(l) = &d.source else {
            panic!("a libvirt discovery");
        };
        assert_eq!(l.uri, "qemu:///system");
        assert!(l.filter.name.is_match("lab-7") && !l.filter.name.is_match("web-1"));
        assert_eq!(l.filter.metadata, Some((None, "ipmi".to_string())));
        assert_eq!(
            d.describe(),
            "domains named \"lab-*\" and with metadata <ipmi> at qemu:///system"
        );
    }
}
