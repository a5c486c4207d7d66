//! A libvirt domain's virtual CD: its CD-ROM drive's medium changed, as sushy-tools does.
//!
//! QEMU reads an HTTP image itself only with its curl block driver (Debian's
//! `qemu-block-extra`, often absent), so the insert fetches the image: it is downloaded (plain
//! HTTP or HTTPS only, at most `media_max_mb`, all within `media_timeout_ms`) into an anonymous
//! file in the state directory's `libvirt-media` (unlinked from the start: nothing is left
//! behind, whatever happens; not the temporary directory, often a tmpfs: memory), uploaded
//! into a new volume of a libvirt storage pool (`media_pool`, `default` unless said otherwise)
//! through libvirt's stream API, and that volume's file becomes the medium of the domain's
//! CD-ROM drive: in the persistent definition, and in the running domain too
//! (`virDomainUpdateDeviceFlags`, what `virsh change-media` does; forced, as a guest may hold
//! the tray locked). A domain without a CD-ROM drive gets one in its persistent definition,
//! which QEMU has from the next start (a reset then restarts it: see the crate's reset).
//!
//! Going through a pool, rather than a file of the shim's, makes the image readable by QEMU's
//! user with the labels libvirt gives its pools' volumes, and works for a remote libvirtd too.
//! The volumes are named after the domain's UUID (`ipmi-to-metal-cd-UUID-N.iso`); an insert
//! deletes the earlier ones once the new medium is in, an eject all of them.
//!
//! What it costs: the image's bytes cross the network once per insert into the shim and once
//! into libvirtd (nothing for a local one but the copy), the pool holds one image per domain
//! with a medium in (and two for a moment during a replacement), the state directory one image
//! while it is uploaded; memory stays one 256 KiB buffer. The upload runs on a libvirt
//! connection of its own (closed after), so that other calls for the domain do not wait
//! behind it.

use crate::cdrom_xml;
use crate::ffi::{self, Connect, Domain, StoragePool, StorageVol, Stream};
use crate::hypervisor::{CallError, CallResult};
use std::io::Read;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// Where and how the images of inserted media go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaConfig {
    /// The libvirt storage pool the images are uploaded to.
    pub pool: String,
    /// The largest image taken, in bytes.
    pub max_bytes: u64,
    /// The download and the upload of an image end by then.
    pub timeout: Duration,
    /// The directory the image is spooled in while it is uploaded (`STATE_DIR/libvirt-media`);
    /// `None`: the temporary directory.
    pub spool: Option<PathBuf>,
}

/// The spool directory's name in the state directory.
pub const SPOOL_DIR: &str = "libvirt-media";

/// The pool when `media_pool` is not given (the one virt-install and virt-manager make).
pub const DEFAULT_POOL: &str = "default";
/// The largest image when `media_max_mb` is not given: a DVD's.
pub const DEFAULT_MAX_MB: u64 = 4700;
/// The time an insert may take when `media_timeout_ms` is not given: within the admin API's
/// 10 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(9000);
/// The longest `media_timeout_ms`: within the Redfish service's 30 s for an action.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(25);

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            pool: DEFAULT_POOL.to_string(),
            max_bytes: DEFAULT_MAX_MB << 20,
            timeout: DEFAULT_TIMEOUT,
            spool: None,
        }
    }
}

/// The start of the names of the volumes holding a domain's media.
pub fn volume_prefix(uuid: &str) -> String {
    format!("ipmi-to-metal-cd-{uuid}-")
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .user_agent(concat!("ipmi-to-metal/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .expect("the HTTP client's settings are valid")
    })
}

/// An anonymous file (unlinked: gone with its last descriptor) in `spool` (made, mode 0700, if
/// missing), else in the temporary directory.
fn spool_file(spool: Option<&Path>) -> std::io::Result<std::fs::File> {
    match spool {
        Some(dir) => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
            tempfile::tempfile_in(dir)
        }
        None => tempfile::tempfile(),
    }
}

/// Downloads the image at `url` into an anonymous file in `spool` by `until`; the file (at its
/// start) and its size. Refuses other schemes than `http` and `https`, an image larger than
/// `max_bytes`, an empty one. Errors never hold the URL (it may carry a password).
pub async fn download(
    url: &str,
    max_bytes: u64,
    spool: Option<&Path>,
    until: tokio::time::Instant,
) -> Result<(std::fs::File, u64), String> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("http" | "https")) {
        return Err("only http:// and https:// images can be downloaded".into());
    }
    let late = || "the image was not downloaded within media_timeout_ms".to_string();
    let mut resp = tokio::time::timeout_at(until, client().get(url).send())
        .await
        .map_err(|_| late())?
        .map_err(|e| format!("image download: {}", e.without_url()))?;
    if !resp.status().is_success() {
        return Err(format!("the image's server answered {}", resp.status()));
    }
    let too_big = || {
        format!(
            "the image is larger than media_max_mb ({} MiB)",
            max_bytes >> 20
        )
    };
    if resp.content_length().is_some_and(|n| n > max_bytes) {
        return Err(too_big());
    }
    let file = spool_file(spool).map_err(|e| format!("spool file for the image: {e}"))?;
    let mut out = tokio::fs::File::from_std(
        file.try_clone()
            .map_err(|e| format!("spool file for the image: {e}"))?,
    );
    let mut size: u64 = 0;
    loop {
        let chunk = tokio::time::timeout_at(until, resp.chunk())
            .await
            .map_err(|_| late())?
            .map_err(|e| format!("image download: {}", e.without_url()))?;
        let Some(chunk) = chunk else { break };
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(too_big());
        }
        out.write_all(&chunk)
            .await
            .map_err(|e| format!("spool file for the image: {e}"))?;
    }
    out.flush()
        .await
        .map_err(|e| format!("spool file for the image: {e}"))?;
    if size == 0 {
        return Err("the image is empty".into());
    }
    // The clone shares the file offset: back to the start for the upload.
    let mut file = file;
    std::io::Seek::rewind(&mut file).map_err(|e| format!("spool file: {e}"))?;
    Ok((file, size))
}

const LIVE: u32 = ffi::AFFECT_LIVE | ffi::DEVICE_MODIFY_FORCE;
const CONFIG: u32 = ffi::AFFECT_CONFIG;

fn pool_of(conn: &Connect, name: &str) -> CallResult<StoragePool> {
    let pool = conn.lookup_storage_pool_by_name(name).map_err(|e| {
        CallError::other(format!(
            "libvirt storage pool {name:?} for virtual media: {} (define one, e.g. virsh pool-define-as {name} dir --target /var/lib/libvirt/images, or set media_pool)",
            e.message()
        ))
    })?;
    if !pool.is_active().map_err(CallError::from)? {
        return Err(CallError::other(format!(
            "libvirt storage pool {name:?} for virtual media is not active (virsh pool-start {name})"
        )));
    }
    Ok(pool)
}

/// Blocking, on a connection of its own to `uri`: uploads `file` (`size` bytes) into a new
/// volume of `pool`, makes it the medium of `domain`'s CD-ROM drive, and deletes the volumes of
/// its earlier media. Gives up by `until`, or once `abandoned` is set (the caller stopped
/// waiting), before the drive is changed: the new volume deleted.
pub fn insert(
    uri: &str,
    domain: &str,
    pool: &str,
    mut file: std::fs::File,
    size: u64,
    until: Instant,
    abandoned: &AtomicBool,
) -> CallResult<()> {
    let conn = Connect::open(uri).map_err(CallError::from)?;
    let dom = crate::lookup(&conn, domain)?;
    let pool = pool_of(&conn, pool)?;
    let prefix = volume_prefix(&dom.uuid_string().map_err(CallError::from)?);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let name = format!("{prefix}{stamp}.iso");
    let vol = pool
        .create_volume(&format!("<volume><name>{name}</name><capacity unit='bytes'>{size}</capacity><target><format type='raw'/></target></volume>"))
        .map_err(CallError::from)?;
    let put = upload(&conn, &vol, &mut file, size, until, abandoned).and_then(|()| {
        if abandoned.load(Ordering::Relaxed) {
            return Err(CallError::other("the insert was abandoned by its client"));
        }
        let path = vol.path().map_err(CallError::from)?;
        set_medium(&conn, &dom, Some(&path))
    });
    if let Err(e) = put {
        let _ = vol.delete();
        return Err(e);
    }
    delete_volumes(&pool, &prefix, Some(&name));
    Ok(())
}

/// Blocking, on a connection of its own: empties `domain`'s CD-ROM drive and deletes the
/// volumes of its media.
pub fn eject(uri: &str, domain: &str, pool: &str) -> CallResult<()> {
    let conn = Connect::open(uri).map_err(CallError::from)?;
    let dom = crate::lookup(&conn, domain)?;
    set_medium(&conn, &dom, None)?;
    let prefix = volume_prefix(&dom.uuid_string().map_err(CallError::from)?);
    // A pool gone meanwhile leaves nothing of ours to delete there.
    if let Ok(pool) = pool_of(&conn, pool) {
        delete_volumes(&pool, &prefix, None);
    }
    Ok(())
}

fn upload(
    conn: &Connect,
    vol: &StorageVol,
    file: &mut std::fs::File,
    size: u64,
    until: Instant,
    abandoned: &AtomicBool,
) -> CallResult<()> {
    let stream = Stream::new(conn).map_err(CallError::from)?;
    vol.upload(&stream, 0, size).map_err(CallError::from)?;
    let mut buf = vec![0u8; 256 << 10];
    let mut sent: u64 = 0;
    let failed = loop {
        if abandoned.load(Ordering::Relaxed) {
            break Some(CallError::other("the insert was abandoned by its client"));
        }
        if Instant::now() >= until {
            break Some(CallError::other(
                "the image was not uploaded to libvirt within media_timeout_ms",
            ));
        }
        let n = match file.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => n,
            Err(e) => break Some(CallError::other(format!("spool file: {e}"))),
        };
        let mut at = 0;
        while at < n {
            match stream.send(&buf[at..n]) {
                Ok(k) if k > 0 => at += k,
                Ok(_) => {
                    return Err(CallError::other("libvirt's upload stream took nothing"));
                }
                Err(e) => {
                    let _ = stream.abort();
                    return Err(CallError::from(e));
                }
            }
        }
        sent += n as u64;
    };
    match failed {
        Some(e) => {
            let _ = stream.abort();
            Err(e)
        }
        None if sent != size => {
            let _ = stream.abort();
            Err(CallError::other("the image's temporary file changed size"))
        }
        None => stream.finish().map_err(CallError::from),
    }
}

/// Puts the medium `file` (`None`: none) into the domain's first CD-ROM drive, persistently
/// and, if the domain runs and QEMU has that drive, live. A domain without a CD-ROM drive gets
/// one in its persistent definition.
fn set_medium(conn: &Connect, dom: &Domain, file: Option<&str>) -> CallResult<()> {
    let def = dom
        .xml_desc(crate::INACTIVE_SECURE)
        .map_err(CallError::from)?;
    let Some(drive) = cdrom_xml::cdroms(&def)
        .map_err(CallError::other)?
        .into_iter()
        .next()
    else {
        let Some(file) = file else { return Ok(()) };
        let new = cdrom_xml::with_cdrom_added(&def, file).map_err(CallError::other)?;
        conn.define_domain_xml(&new).map_err(CallError::from)?;
        tracing::info!(domain = ?dom.name().unwrap_or_default(), "CD-ROM drive added to the domain's definition (QEMU has it from the next start)");
        return Ok(());
    };
    let update = cdrom_xml::medium_update(&def, &drive.target, file)
        .map_err(CallError::other)?
        .expect("the drive was found in this definition");
    dom.update_device_flags(&update, CONFIG)
        .map_err(CallError::from)?;
    if !dom.is_active().map_err(CallError::from)? {
        return Ok(());
    }
    let live = dom.xml_desc(0).map_err(CallError::from)?;
    // Where the running QEMU does not take it (a drive added while it ran, a refusal), the
    // definition and the running domain differ: the next reset starts QEMU again.
    if let Some(update) =
        cdrom_xml::medium_update(&live, &drive.target, file).map_err(CallError::other)?
    {
        if let Err(e) = dom.update_device_flags(&update, LIVE) {
            tracing::warn!(domain = ?dom.name().unwrap_or_default(), error = %e.message(), "the running domain's CD-ROM not changed: it is at the next reset, which restarts QEMU");
        }
    }
    Ok(())
}

fn delete_volumes(pool: &StoragePool, prefix: &str, keep: Option<&str>) {
    let volumes = pool.volumes().unwrap_or_default();
    for (vol, name) in volumes
        .iter()
        .filter_map(|v| Some((v, v.name().ok()?)))
        .filter(|(_, n)| n.starts_with(prefix) && Some(n.as_str()) != keep)
    {
        match vol.delete() {
            Ok(()) => tracing::info!(volume = %name, "virtual media volume deleted"),
            Err(e) => {
                tracing::warn!(volume = %name, error = %e.message(), "virtual media volume not deleted")
            }
        }
    }
}
