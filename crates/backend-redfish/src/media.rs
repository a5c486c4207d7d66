//! Virtual media passed through to the Redfish service behind: its own `VirtualMedia`
//! collection, found under the system (`ComputerSystem.VirtualMedia`, Redfish 2021.2 and
//! later) or else under its first manager (`Links.ManagedBy`, where BMCs have long kept it);
//! the member whose `MediaTypes` has `CD` (or `DVD`) is the CD slot, `USBStick` the USB one.
//! Insert is the member's `#VirtualMedia.InsertMedia` action (`Image`, `Inserted`,
//! `WriteProtected`, `TransferProtocolType`), or a `PATCH` of `Image` and `Inserted` where the
//! service has no action; eject is `#VirtualMedia.EjectMedia` (or a `PATCH` of `Inserted`
//! false). The collection is looked up at each call: these calls are rare.

use crate::errors::ApiError;
use crate::{backend_error, model, RedfishBackend};
use ipmi_bmc::{BackendError, BackendResult, MediaInsert, MediaSlot, Requester};
use serde_json::{json, Value};
use tokio::time::Instant;

/// Whether a member's `MediaTypes` make it `slot`.
fn is_slot(member: &Value, slot: MediaSlot) -> bool {
    let types: Vec<&str> = member
        .get("MediaTypes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match slot {
        MediaSlot::Cd => types.iter().any(|t| matches!(*t, "CD" | "DVD")),
        MediaSlot::UsbStick => types.contains(&"USBStick"),
    }
}

/// The target of action `name` of a member, if it offers it.
fn action(member: &Value, name: &str) -> Option<String> {
    member
        .get("Actions")?
        .get(name)?
        .get("target")?
        .as_str()
        .map(str::to_string)
}

impl RedfishBackend {
    /// The `VirtualMedia` collection's path: the system's, else its first manager's.
    async fn media_collection(&self, deadline: Instant) -> Result<Option<String>, ApiError> {
        let system = self.system_path(deadline).await?;
        let s = self.client.get(&system, deadline).await?.json()?;
        if let Some(c) = model::link(&s, "VirtualMedia") {
            return Ok(Some(c));
        }
        let Some(manager) = model::links(s.pointer("/Links/ManagedBy"))
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let m = self.client.get(&manager, deadline).await?.json()?;
        Ok(model::link(&m, "VirtualMedia"))
    }

    /// The member of the collection that is `slot`: its path and JSON.
    async fn media_member(
        &self,
        slot: MediaSlot,
        deadline: Instant,
    ) -> BackendResult<(String, Value)> {
        let collection = self
            .media_collection(deadline)
            .await
            .map_err(backend_error)?
            .ok_or(BackendError::NotSupported)?;
        let c = self
            .client
            .get(&collection, deadline)
            .await
            .and_then(|r| r.json())
            .map_err(backend_error)?;
        for path in model::links(c.get("Members")) {
            let member = self
                .client
                .get(&path, deadline)
                .await
                .and_then(|r| r.json())
                .map_err(backend_error)?;
            if is_slot(&member, slot) {
                return Ok((path, member));
            }
        }
        Err(BackendError::NotSupported)
    }

    /// Inserts `media` into the service's `slot`.
    pub async fn insert_media(
        &self,
        slot: MediaSlot,
        media: &MediaInsert,
        who: &Requester,
    ) -> BackendResult<()> {
        let deadline = self.deadline();
        let (path, member) = self.media_member(slot, deadline).await?;
        let reply = match action(&member, "#VirtualMedia.InsertMedia") {
            Some(target) => {
                let body = json!({
                    "Image": media.image,
                    "Inserted": true,
                    "WriteProtected": media.write_protected,
                    "TransferProtocolType": media.protocol.name(),
                });
                self.client.post(&target, &body, deadline).await
            }
            None => {
                let body = json!({ "Image": media.image, "Inserted": true });
                self.client.patch(&path, &body, None, deadline).await
            }
        }
        .map_err(backend_error)?;
        self.follow(&reply, deadline).await?;
        tracing::info!(member = %path, image = ?media.image, %who, "virtual media inserted in the Redfish service");
        Ok(())
    }

    /// Ejects the medium of the service's `slot`.
    pub async fn eject_media(&self, slot: MediaSlot, who: &Requester) -> BackendResult<()> {
        let deadline = self.deadline();
        let (path, member) = self.media_member(slot, deadline).await?;
        let reply = match action(&member, "#VirtualMedia.EjectMedia") {
            Some(target) => self.client.post(&target, &json!({}), deadline).await,
            None => {
                let body = json!({ "Inserted": false });
                self.client.patch(&path, &body, None, deadline).await
            }
        }
        .map_err(backend_error)?;
        self.follow(&reply, deadline).await?;
        tracing::info!(member = %path, %who, "virtual media ejected in the Redfish service");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_by_media_types() {
        let cd = json!({"MediaTypes": ["CD", "DVD"]});
        let usb = json!({"MediaTypes": ["USBStick"]});
        assert!(is_slot(&cd, MediaSlot::Cd) && !is_slot(&cd, MediaSlot::UsbStick));
        assert!(is_slot(&usb, MediaSlot::UsbStick) && !is_slot(&usb, MediaSlot::Cd));
        assert!(!is_slot(&json!({}), MediaSlot::Cd));
        let m = json!({"Actions": {"#VirtualMedia.InsertMedia": {"target": "/x/Actions/VirtualMedia.InsertMedia"}}});
        assert_eq!(
            action(&m, "#VirtualMedia.InsertMedia").as_deref(),
            Some("/x/Actions/VirtualMedia.InsertMedia")
        );
        assert_eq!(action(&m, "#VirtualMedia.EjectMedia"), None);
    }
}
