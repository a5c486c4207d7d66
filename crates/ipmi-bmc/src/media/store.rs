//! The virtual media state of one BMC as kept across restarts: one small JSON file per BMC in
//! the state directory, private to the user (0600), replaced whole on every change (written to
//! a temporary file, synced, renamed over the old one, the directory synced): once a change is
//! acknowledged it survives `kill -9` and a crash, and a reader never sees half a file.

use crate::backend::{MediaSlot, TransferProtocol};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One slot's medium.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SlotFile {
    /// The image URL last inserted (kept after an eject, as Redfish shows it).
    pub image: Option<String>,
    /// Whether the medium is in.
    pub inserted: bool,
    /// Whether it is write-protected.
    pub write_protected: bool,
    /// `HTTP` or `HTTPS`.
    pub protocol: Option<String>,
}

impl SlotFile {
    pub(crate) fn protocol(&self) -> Option<TransferProtocol> {
        match self.protocol.as_deref() {
            Some("HTTP") => Some(TransferProtocol::Http),
            Some("HTTPS") => Some(TransferProtocol::Https),
            _ => None,
        }
    }
}

/// A boot from the virtual CD asked for (boot override `Cd` with a medium in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MediaBoot {
    /// For every boot (`true`) or the next one only.
    pub persistent: bool,
    /// Carried out through the shim's iPXE endpoint (the machine netboots it): the endpoint's
    /// fetch uses up a next-boot-only request. `false`: the backend boots its own CD.
    pub via_endpoint: bool,
    /// Through the endpoint, next boot only: the machine has fetched the script that boots it.
    #[serde(default)]
    pub used: bool,
}

/// An HTTP boot asked for (Redfish `UefiHttp` with `HttpBootUri`), through the endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HttpBoot {
    /// The EFI or iPXE URL to chain.
    pub uri: String,
    /// For every boot or the next one only.
    pub persistent: bool,
}

/// Everything kept for one BMC.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct MediaFile {
    /// The CD slot.
    pub cd: SlotFile,
    /// The USB stick slot.
    pub usb: SlotFile,
    /// The secret of the machine's iPXE script URL (hex), rotated at each insert.
    pub secret: Option<String>,
    /// A boot from the CD asked for and not used yet.
    pub media_boot: Option<MediaBoot>,
    /// An HTTP boot asked for and not used yet.
    pub http_boot: Option<HttpBoot>,
    /// Set while the machine netboots the endpoint ([`crate::Backend::boot_ipxe`]): the
    /// backend's note of what it replaced, for [`crate::Backend::restore_boot`].
    pub netboot_note: Option<String>,
}

impl MediaFile {
    pub(crate) fn slot(&self, slot: MediaSlot) -> &SlotFile {
        match slot {
            MediaSlot::Cd => &self.cd,
            MediaSlot::UsbStick => &self.usb,
        }
    }

    pub(crate) fn slot_mut(&mut self, slot: MediaSlot) -> &mut SlotFile {
        match slot {
            MediaSlot::Cd => &mut self.cd,
            MediaSlot::UsbStick => &mut self.usb,
        }
    }
}

/// The file of BMC `name` in directory `dir` (the name hex-encoded where it is not a plain
/// file name character, so that any name makes one file of its own).
pub(crate) fn file_of(dir: &Path, name: &str) -> PathBuf {
    let mut file = String::with_capacity(name.len() + 5);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            file.push(b as char);
        } else {
            file.push_str(&format!("%{b:02x}"));
        }
    }
    file.push_str(".json");
    dir.join(file)
}

/// Reads the state in `path`; a missing file is the empty state.
pub(crate) fn load(path: &Path) -> std::io::Result<MediaFile> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(MediaFile::default()),
        Err(e) => Err(e),
    }
}

/// Replaces the state in `path` durably (see the module's documentation).
pub(crate) fn save(path: &Path, state: &MediaFile) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    let tmp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&tmp)?;
    let bytes = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_state_reads_back_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = file_of(&dir.path().join("media"), "node/1 é");
        assert!(path.ends_with("node%2f1%20%c3%a9.json"), "{path:?}");
        assert_eq!(load(&path).unwrap(), MediaFile::default());
        let mut s = MediaFile::default();
        s.cd.image = Some("http://x/a.iso".into());
        s.cd.inserted = true;
        s.secret = Some("ab".into());
        save(&path, &s).unwrap();
        assert_eq!(load(&path).unwrap(), s);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"{not json").unwrap();
        assert!(load(&path).is_err());
    }
}
