//! Virtual media: a CD (and a USB stick where the backend has one) per machine, which clients
//! fill with an image URL and boot from, whatever the machine behind really has.
//!
//! The methods here are protocol-neutral: the Redfish front-end calls them, and IPMI's boot
//! device CD/DVD (`chassis bootdev cdrom`) goes through the same boot path. How a medium is
//! carried out depends on the backend:
//!
//! - a backend with slots of its own ([`Backend::media_slots`]: the simulator, a BMC behind
//!   over Redfish, a provider's API through templates) inserts and ejects it itself, and boots
//!   it with its own boot override `Cdrom`;
//! - a backend that can make the machine netboot an iPXE URL ([`Backend::boots_ipxe`]: the
//!   Metal API's `ipxe_script_url`) offers a CD through the shim's iPXE endpoint when one is
//!   configured: the insert points the machine at its script URL, and the script the endpoint
//!   answers ([`Bmc::ipxe_script`]) `sanboot`s the image when a boot from the CD is asked;
//! - any other offers no slot, and every media request gets [`MediaError::NotOffered`].
//!
//! The state (what is in each slot, the script URL's secret, the boot asked for) is kept in a
//! file per BMC ([`store`]) when a state directory is given; each change is on disk before it
//! is acknowledged. Inserts and ejects are audited and recorded in the SEL like other actions.

mod script;
mod store;

pub use script::{script_path, Script};

use crate::audit::{Asker, Audit};
use crate::backend::{MediaInsert, MediaSlot, TransferProtocol};
use crate::events::Event;
use crate::{BackendError, Bmc, BootDevice, BootOverride, Durability, Requester};
use ipmi_proto::types::CompletionCode;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use store::{HttpBoot, MediaBoot, MediaFile};

/// Where a BMC keeps its virtual media state, and how its machine reaches the iPXE endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MediaSettings {
    /// The directory of the state files (one per BMC); `None`: in memory only.
    pub dir: Option<PathBuf>,
    /// The iPXE endpoint's base URL as the machines reach it (`http://192.0.2.1:8081`), if the
    /// endpoint is configured.
    pub ipxe_base: Option<String>,
}

/// A slot as clients see it (Redfish `VirtualMedia`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaStatus {
    /// Which slot.
    pub slot: MediaSlot,
    /// The image URL last inserted (kept after an eject).
    pub image: Option<String>,
    /// Whether a medium is in.
    pub inserted: bool,
    /// Whether it is write-protected.
    pub write_protected: bool,
    /// How the image is fetched, if one was inserted.
    pub protocol: Option<TransferProtocol>,
}

impl MediaStatus {
    /// Redfish `ConnectedVia`: `URI` while a medium is in, else `NotConnected`.
    pub fn connected_via(&self) -> &'static str {
        if self.inserted {
            "URI"
        } else {
            "NotConnected"
        }
    }
}

/// Why a media request was not carried out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// This machine has no such slot (its backend can do no virtual media, or not this slot).
    #[error("virtual media slot not offered by this machine's backend")]
    NotOffered,
    /// The request itself is wrong (a URL that cannot be used, a protocol that does not match).
    #[error("{0}")]
    Invalid(String),
    /// The backend failed: the completion code an IPMI client would get, and why.
    #[error("{error}")]
    Failed {
        /// The completion code.
        ccode: CompletionCode,
        /// The error.
        error: String,
    },
}

impl From<(CompletionCode, String)> for MediaError {
    fn from((ccode, error): (CompletionCode, String)) -> Self {
        MediaError::Failed { ccode, error }
    }
}

/// A BMC's virtual media part: its settings, and its state, read from its file when first
/// needed (most BMCs never use it: it costs them two words).
#[derive(Default)]
pub(crate) struct MediaPart {
    settings: Option<Arc<MediaSettings>>,
    cell: OnceLock<Box<Cell>>,
}

struct Cell {
    /// The state now.
    file: Mutex<MediaFile>,
    /// Where it is kept.
    path: Option<PathBuf>,
    /// Serializes media and boot changes, so that they reach the backend in order.
    io: tokio::sync::Mutex<()>,
    /// Serializes the writes of the file, each writing the state as it is then.
    save: tokio::sync::Mutex<()>,
}

impl Cell {
    fn get(&self) -> MediaFile {
        self.file.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Changes the state and returns once the change is on disk.
    async fn update(&self, f: impl FnOnce(&mut MediaFile)) -> Result<(), (CompletionCode, String)> {
        f(&mut self.file.lock().unwrap_or_else(|e| e.into_inner()));
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        let _one = self.save.lock().await;
        let now = self.get();
        let saved = tokio::task::spawn_blocking(move || store::save(&path, &now))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
        saved.map_err(|e| {
            tracing::error!(error = %e, "virtual media state not saved");
            (
                CompletionCode::UNSPECIFIED,
                format!("virtual media state not saved: {e}"),
            )
        })
    }
}

/// A URL for logs and the audit: without its user information (a password may be there).
fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            match rest[..end].rfind('@') {
                Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

impl Bmc {
    /// Keeps this BMC's virtual media state as `settings` say (without: in memory, and no
    /// iPXE endpoint).
    /// Every BMC of a process has the same settings: they are shared, not copied.
    pub fn with_media(mut self, settings: impl Into<Arc<MediaSettings>>) -> Self {
        self.media.settings = Some(settings.into());
        self
    }

    fn media_cell(&self) -> &Cell {
        self.media.cell.get_or_init(|| {
            let path = self
                .media
                .settings
                .as_ref()
                .and_then(|s| s.dir.as_ref())
                .map(|d| store::file_of(d, &self.settings.name));
            let file = match &path {
                Some(p) => store::load(p).unwrap_or_else(|e| {
                    tracing::error!(path = %p.display(), error = %e, "cannot read the virtual media state: starting empty");
                    MediaFile::default()
                }),
                None => MediaFile::default(),
            };
            Box::new(Cell {
                file: Mutex::new(file),
                path,
                io: tokio::sync::Mutex::new(()),
                save: tokio::sync::Mutex::new(()),
            })
        })
    }

    fn ipxe_base(&self) -> Option<&str> {
        self.media.settings.as_ref()?.ipxe_base.as_deref()
    }

    /// Whether media boots through the iPXE endpoint: the backend netboots an iPXE URL, and the
    /// endpoint is configured.
    fn netboots_endpoint(&self) -> bool {
        self.backend.boots_ipxe() && self.ipxe_base().is_some()
    }

    /// The script URL with `secret`.
    fn script_url(&self, secret: &str) -> Option<String> {
        let base = self.ipxe_base()?.trim_end_matches('/');
        Some(format!(
            "{base}{}",
            script_path(&self.settings.name, secret)
        ))
    }

    /// The machine's iPXE script URL now, if the endpoint is configured and a secret was made
    /// (at the first insert). It holds the secret: for the backend and tests, never for a log.
    pub fn ipxe_url(&self) -> Option<String> {
        let secret = self.media_cell().get().secret?;
        self.script_url(&secret)
    }

    /// The slots this machine offers.
    pub fn media_slots(&self) -> Vec<MediaSlot> {
        let own = self.backend.media_slots();
        if !own.is_empty() {
            own.to_vec()
        } else if self.netboots_endpoint() {
            vec![MediaSlot::Cd]
        } else {
            Vec::new()
        }
    }

    /// Whether a boot of an HTTP URL (Redfish `UefiHttp`) can be asked for: through the iPXE
    /// endpoint, so only where media boots through it.
    pub fn http_boot_offered(&self) -> bool {
        self.netboots_endpoint()
    }

    /// The state of `slot`, if offered.
    pub fn media_status(&self, slot: MediaSlot) -> Option<MediaStatus> {
        if !self.media_slots().contains(&slot) {
            return None;
        }
        let f = self.media_cell().get();
        let s = f.slot(slot);
        Some(MediaStatus {
            slot,
            image: s.image.clone(),
            inserted: s.inserted,
            write_protected: s.write_protected,
            protocol: s.protocol(),
        })
    }

    /// Inserts `media` into `slot` for `asker` (audited, recorded in the SEL, on disk before it
    /// returns). The script URL's secret changes: the old URL answers nothing from now on.
    pub async fn insert_media(
        &self,
        slot: MediaSlot,
        media: MediaInsert,
        asker: &Asker,
    ) -> Result<(), MediaError> {
        if !self.media_slots().contains(&slot) {
            return Err(MediaError::NotOffered);
        }
        script::check_url(&media.image, "the image URL").map_err(MediaError::Invalid)?;
        if TransferProtocol::of_url(&media.image) != Some(media.protocol) {
            return Err(MediaError::Invalid(format!(
                "TransferProtocolType {} does not match the image URL's scheme",
                media.protocol.name()
            )));
        }
        let call = format!("insert media {slot} {:?}", shown(&media.image));
        let mut audit = Audit::start(self, asker, "InsertMedia", call);
        audit.admit(Durability::Written).await?;
        let cell = self.media_cell();
        let io = cell.io.lock().await;
        let secret = script::new_secret();
        let url = self.script_url(&secret);
        let result = async {
            if !self.backend.media_slots().is_empty() {
                self.backend
                    .insert_media(slot, &media, url.as_deref(), &asker.who)
                    .await
                    .map_err(|e| self.media_failed("insert media", e))?;
            } else if let Some(url) = &url {
                self.install_netboot(cell, url, &asker.who).await?;
            }
            cell.update(|f| {
                let s = f.slot_mut(slot);
                s.image = Some(media.image.clone());
                s.inserted = true;
                s.write_protected = media.write_protected;
                s.protocol = Some(media.protocol.name().to_string());
                f.secret = Some(secret);
            })
            .await
        }
        .await;
        drop(io);
        audit.finish_with(&result, Durability::Written).await;
        result?;
        tracing::info!(%slot, image = ?shown(&media.image), who = %asker.who, "virtual media inserted");
        self.record_for(Event::Media(true), Some(asker)).await;
        Ok(())
    }

    /// Ejects the medium of `slot` for `asker` (audited, recorded in the SEL). Where the machine
    /// netboots the endpoint, what its boot settings were before the insert is put back, and a
    /// boot from the CD asked for is dropped.
    pub async fn eject_media(&self, slot: MediaSlot, asker: &Asker) -> Result<(), MediaError> {
        if !self.media_slots().contains(&slot) {
            return Err(MediaError::NotOffered);
        }
        let mut audit = Audit::start(self, asker, "EjectMedia", format!("eject media {slot}"));
        audit.admit(Durability::Written).await?;
        let cell = self.media_cell();
        let io = cell.io.lock().await;
        let result = async {
            if !self.backend.media_slots().is_empty() {
                self.backend
                    .eject_media(slot, &asker.who)
                    .await
                    .map_err(|e| self.media_failed("eject media", e))?;
            } else {
                self.restore_netboot(cell, &asker.who).await?;
            }
            cell.update(|f| {
                f.slot_mut(slot).inserted = false;
                if slot == MediaSlot::Cd {
                    f.media_boot = None;
                }
            })
            .await
        }
        .await;
        drop(io);
        audit.finish_with(&result, Durability::Written).await;
        result?;
        tracing::info!(%slot, who = %asker.who, "virtual media ejected");
        self.record_for(Event::Media(false), Some(asker)).await;
        Ok(())
    }

    /// Asks for an HTTP boot of `uri` (an EFI binary or an iPXE script: Redfish `UefiHttp` with
    /// `HttpBootUri`) through the iPXE endpoint, for the next boot or every one.
    pub async fn set_http_boot(
        &self,
        uri: &str,
        persistent: bool,
        asker: &Asker,
    ) -> Result<(), MediaError> {
        if !self.http_boot_offered() {
            return Err(MediaError::NotOffered);
        }
        script::check_url(uri, "HttpBootUri").map_err(MediaError::Invalid)?;
        let call = format!("set http boot {:?}", shown(uri));
        let mut audit = Audit::start(self, asker, "HttpBoot", call);
        audit.admit(Durability::Written).await?;
        let cell = self.media_cell();
        let io = cell.io.lock().await;
        let result = async {
            let secret = cell.get().secret.unwrap_or_else(script::new_secret);
            let url = self.script_url(&secret).unwrap_or_default();
            self.install_netboot(cell, &url, &asker.who).await?;
            cell.update(|f| {
                f.secret = Some(secret);
                f.media_boot = None;
                f.http_boot = Some(HttpBoot {
                    uri: uri.to_string(),
                    persistent,
                });
            })
            .await
        }
        .await;
        drop(io);
        audit.finish_with(&result, Durability::Written).await;
        result?;
        Ok(())
    }

    /// The HTTP boot URI asked for and not used yet.
    pub fn http_boot(&self) -> Option<String> {
        self.media_cell().get().http_boot.map(|h| h.uri)
    }

    /// Whether a boot from the CD asked through the endpoint is still pending: `None` if the
    /// last boot from the CD was not asked through the endpoint (the backend knows).
    pub(crate) fn endpoint_cd_boot_pending(&self) -> Option<bool> {
        let f = self.media_cell().get();
        match f.media_boot {
            Some(b) if b.via_endpoint => Some(!b.used),
            _ => None,
        }
    }

    /// The script for a machine that fetched the endpoint with `secret`, or `None` (an
    /// unknown or old secret, or no endpoint for this BMC): what is asked now, an HTTP boot,
    /// a boot from the CD with a medium in, else `exit`. The fetch uses up a next-boot-only
    /// request.
    pub async fn ipxe_script(&self, secret: &str) -> Option<Script> {
        self.ipxe_base()?;
        let cell = self.media_cell();
        let (script, used) = {
            let f = cell.file.lock().unwrap_or_else(|e| e.into_inner());
            if !f
                .secret
                .as_deref()
                .is_some_and(|s| script::secret_matches(s, secret))
            {
                return None;
            }
            match (&f.http_boot, f.media_boot) {
                (Some(h), _) => (Script::Chain(h.uri.clone()), !h.persistent),
                (None, Some(b)) if !b.used && f.cd.inserted => (
                    Script::Sanboot(f.cd.image.clone().unwrap_or_default()),
                    !b.persistent,
                ),
                _ => (Script::Exit, false),
            }
        };
        if used {
            let r = cell
                .update(|f| {
                    if f.http_boot.as_ref().is_some_and(|h| !h.persistent) {
                        f.http_boot = None;
                    } else if let Some(b) = &mut f.media_boot {
                        b.used = true;
                    }
                })
                .await;
            if r.is_err() {
                tracing::warn!("the next-boot-only request used by this fetch may be answered again after a restart");
            }
        }
        tracing::info!(
            answer = script.name(),
            used_once = used,
            "iPXE script fetched"
        );
        Some(script)
    }

    /// Carries out a boot override through the backend, with what virtual media changes:
    /// `Cdrom` with a medium in boots it (through the endpoint where the machine netboots it,
    /// else the backend's own CD, else PXE into the endpoint); another device puts back the
    /// boot settings an insert replaced.
    pub(crate) async fn carry_boot(
        &self,
        boot: Option<BootOverride>,
        who: &Requester,
    ) -> Result<(), (CompletionCode, String)> {
        let cd = boot.filter(|b| matches!(b.device, BootDevice::Cdrom | BootDevice::RemoteCdrom));
        if self.media_slots().is_empty() {
            return self
                .backend
                .set_boot_override(boot, who)
                .await
                .map_err(|e| (self.backend_failed("set boot device", &e), e.to_string()));
        }
        let cell = self.media_cell();
        let _io = cell.io.lock().await;
        let now = cell.get();
        if let (Some(b), true) = (cd, now.cd.inserted) {
            let via_endpoint = if self.netboots_endpoint() {
                let url = now.secret.as_deref().and_then(|s| self.script_url(s));
                self.install_netboot(cell, &url.unwrap_or_default(), who)
                    .await?;
                true
            } else {
                match self.backend.set_boot_override(boot, who).await {
                    Ok(()) => false,
                    // The provider has no CD to boot, but the machine netboots the endpoint.
                    Err(BackendError::NotSupported)
                    | Err(BackendError::Completion(CompletionCode::INVALID_FIELD))
                        if now.secret.is_some() && self.ipxe_base().is_some() =>
                    {
                        let pxe = BootOverride {
                            device: BootDevice::Pxe,
                            ..b
                        };
                        self.backend
                            .set_boot_override(Some(pxe), who)
                            .await
                            .map_err(|e| self.media_failed("set boot device", e))?;
                        true
                    }
                    Err(e) => return Err(self.media_failed("set boot device", e)),
                }
            };
            return cell
                .update(|f| {
                    f.http_boot = None;
                    f.media_boot = Some(MediaBoot {
                        persistent: b.persistent,
                        via_endpoint,
                        used: false,
                    });
                })
                .await;
        }
        if boot.is_some() {
            self.restore_netboot(cell, who).await?;
        }
        self.backend
            .set_boot_override(boot, who)
            .await
            .map_err(|e| self.media_failed("set boot device", e))?;
        if now.media_boot.is_some() || now.http_boot.is_some() {
            cell.update(|f| {
                f.media_boot = None;
                f.http_boot = None;
            })
            .await?;
        }
        Ok(())
    }

    /// Points the machine at the script `url`, keeping the note of what it replaced the first
    /// time (the caller holds the cell's `io` lock).
    async fn install_netboot(
        &self,
        cell: &Cell,
        url: &str,
        who: &Requester,
    ) -> Result<(), (CompletionCode, String)> {
        let note = self
            .backend
            .boot_ipxe(url, who)
            .await
            .map_err(|e| self.media_failed("netboot the iPXE endpoint", e))?;
        if cell.get().netboot_note.is_none() {
            cell.update(|f| f.netboot_note = Some(note)).await?;
        }
        Ok(())
    }

    /// Puts back the boot settings an install replaced, if the machine netboots the endpoint
    /// (the caller holds the cell's `io` lock).
    async fn restore_netboot(
        &self,
        cell: &Cell,
        who: &Requester,
    ) -> Result<(), (CompletionCode, String)> {
        let Some(note) = cell.get().netboot_note else {
            return Ok(());
        };
        self.backend
            .restore_boot(&note, who)
            .await
            .map_err(|e| self.media_failed("restore the boot settings", e))?;
        cell.update(|f| f.netboot_note = None).await
    }

    fn media_failed(&self, what: &str, e: BackendError) -> (CompletionCode, String) {
        (self.backend_failed(what, &e), e.to_string())
    }
}
