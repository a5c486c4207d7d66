//! Virtual media for a Metal device, which has none: the device is made to netboot the shim's
//! iPXE endpoint (`ipxe_script_url` set to the machine's script URL, `always_pxe` on), and the
//! endpoint's script boots the image when a boot from the CD is asked. What the device had
//! before is kept as a note ([`NetbootNote`]) that the BMC model stores durably and gives back
//! to put it back at the eject (or a boot from the disk or PXE).

use crate::api::DeviceUpdate;
use crate::{backend_error, MetalBackend};
use ipmi_bmc::{BackendError, BackendResult, Requester};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// What the device's boot settings were before it netbooted the endpoint.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetbootNote {
    /// `always_pxe` as it was.
    pub always_pxe: bool,
    /// `ipxe_script_url` as it was (`None`: unset).
    pub ipxe_script_url: Option<String>,
}

impl MetalBackend {
    /// Points the device at the iPXE script `url` for every boot; returns the note of what it
    /// had (read from the API, not the cache, just before).
    pub async fn boot_ipxe(&self, url: &str, who: &Requester) -> BackendResult<String> {
        let deadline = self.deadline();
        let _io = self.boot_io.lock().await;
        let before = self
            .api
            .device(&self.config.device_id, deadline)
            .await
            .map_err(backend_error)?;
        let note = NetbootNote {
            always_pxe: before.always_pxe.unwrap_or(false),
            ipxe_script_url: before.ipxe_script_url.filter(|u| !u.is_empty()),
        };
        self.put_boot(true, Some(url.to_string()), deadline).await?;
        tracing::info!(device = %self.config.device_id, %who, "the device netboots the shim's iPXE endpoint");
        serde_json::to_string(&note).map_err(|e| BackendError::Failed(e.to_string()))
    }

    /// Puts back the boot settings of `note`. An `ipxe_script_url` that was unset is cleared
    /// with an empty string (the spec's `DeviceUpdateInput` has no null for it).
    pub async fn restore_boot(&self, note: &str, who: &Requester) -> BackendResult<()> {
        let note: NetbootNote = serde_json::from_str(note)
            .map_err(|e| BackendError::Failed(format!("bad netboot note: {e}")))?;
        let deadline = self.deadline();
        let _io = self.boot_io.lock().await;
        let url = Some(note.ipxe_script_url.unwrap_or_default());
        self.put_boot(note.always_pxe, url, deadline).await?;
        tracing::info!(device = %self.config.device_id, always_pxe = note.always_pxe, %who, "the device's boot settings put back");
        Ok(())
    }

    /// Sends the boot settings; the next-boot-only PXE bookkeeping is dropped (these settings
    /// are for every boot).
    async fn put_boot(
        &self,
        always_pxe: bool,
        ipxe_script_url: Option<String>,
        deadline: Instant,
    ) -> BackendResult<()> {
        let update = DeviceUpdate {
            always_pxe: Some(always_pxe),
            ipxe_script_url,
        };
        let sent = Instant::now();
        let d = self
            .api
            .update(&self.config.device_id, &update, deadline)
            .await
            .map_err(backend_error)?;
        self.cache.put(d, sent);
        let mut b = self.boot.lock().expect("boot lock");
        b.asked = None;
        b.once_pending = false;
        b.action_at = None;
        b.generation += 1;
        Ok(())
    }
}
