//! # backend-ipmi
//!
//! A [`Backend`] that carries every operation to a real BMC (or an OpenIPMI/FreeIPMI daemon) over
//! RMCP+, logging in once and keeping the session: a dropped or expired session is logged into
//! again on the next operation.

#![warn(missing_docs)]

use async_trait::async_trait;
use ipmi_bmc::{
    Backend, BackendError, BackendResult, BootDevice, BootOverride, Inventory, PowerAction,
    PowerState, Requester,
};
use ipmi_client::{Error as ClientError, Response, Retry, Session};
use ipmi_proto::session::ClientConfig;
use ipmi_proto::types::{CompletionCode, NetFn};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::Mutex;

/// How to reach the BMC behind.
#[derive(Clone, Debug)]
pub struct IpmiBackendConfig {
    /// The BMC's address.
    pub address: SocketAddr,
    /// Login: user, password, Kg, privilege and cipher suites to try.
    pub client: ClientConfig,
    /// Retransmission policy for each request.
    pub retry: Retry,
    /// Every operation finishes within this time, or fails with a timeout.
    pub deadline: Duration,
}

/// The ipmi backend.
pub struct IpmiBackend {
    config: IpmiBackendConfig,
    session: Mutex<Option<Session>>,
}

const CHASSIS_STATUS: u8 = 0x01;
const CHASSIS_CONTROL: u8 = 0x02;
const CHASSIS_IDENTIFY: u8 = 0x04;
const SET_BOOT_OPTIONS: u8 = 0x08;
const GET_BOOT_OPTIONS: u8 = 0x09;
const GET_SYSTEM_GUID: u8 = 0x37;

impl IpmiBackend {
    /// A backend for the BMC at `config.address`; it logs in on first use.
    pub fn new(config: IpmiBackendConfig) -> Self {
        IpmiBackend {
            config,
            session: Mutex::new(None),
        }
    }

    /// Sends one request to the BMC behind, logging in first if needed, within the deadline.
    /// A completion code other than 0 is returned as [`BackendError`] only by the callers that
    /// need the data; the raw response is returned here.
    pub async fn call(&self, netfn: NetFn, cmd: u8, data: &[u8]) -> BackendResult<Response> {
        let work = async {
            let mut guard = self.session.lock().await;
            if guard.is_none() {
                let s = Session::open(
                    self.config.address,
                    self.config.client.clone(),
                    self.config.retry,
                )
                .await
                .map_err(|e| map_client_error(&e))?;
                tracing::info!(bmc = %self.config.address, cipher_suite = ?s.cipher_suite(), "logged in to the BMC behind");
                *guard = Some(s);
            }
            let s = guard.as_mut().expect("opened above");
            match s.request_relogin(netfn, cmd, data).await {
                Ok(r) => Ok(r),
                Err(e) => {
                    *guard = None;
                    Err(map_client_error(&e))
                }
            }
        };
        match tokio::time::timeout(self.config.deadline, work).await {
            Ok(r) => r,
            Err(_) => {
                tracing::warn!(bmc = %self.config.address, "the BMC behind did not answer in time");
                Err(BackendError::Timeout(format!(
                    "no answer from {} within {:?}",
                    self.config.address, self.config.deadline
                )))
            }
        }
    }

    /// Like [`IpmiBackend::call`], with a completion code other than 0 turned into an error.
    async fn call_ok(&self, netfn: NetFn, cmd: u8, data: &[u8]) -> BackendResult<Vec<u8>> {
        let r = self.call(netfn, cmd, data).await?;
        if r.ccode == CompletionCode::OK {
            Ok(r.data)
        } else {
            Err(BackendError::Completion(r.ccode))
        }
    }
}

fn map_client_error(e: &ClientError) -> BackendError {
    match e {
        ClientError::Timeout(..) => BackendError::Timeout(e.to_string()),
        ClientError::Login(_) | ClientError::Io(_) => BackendError::Failed(e.to_string()),
    }
}

/// The boot flags (boot option parameter 5) for an override.
pub fn boot_flags(boot: Option<BootOverride>) -> [u8; 5] {
    match boot {
        None => [0; 5],
        Some(b) => [
            0x80 | (u8::from(b.persistent) << 6) | (u8::from(b.efi) << 5),
            b.device.selector() << 2,
            0,
            0,
            0,
        ],
    }
}

/// The override that boot flags (boot option parameter 5 data) select, if any.
pub fn parse_boot_flags(flags: &[u8]) -> Option<BootOverride> {
    let (b1, b2) = (*flags.first()?, *flags.get(1)?);
    if b1 & 0x80 == 0 {
        return None;
    }
    Some(BootOverride {
        device: BootDevice::from_selector((b2 >> 2) & 0x0f)?,
        persistent: b1 & 0x40 != 0,
        efi: b1 & 0x20 != 0,
    })
}

#[async_trait]
impl Backend for IpmiBackend {
    fn kind(&self) -> &'static str {
        "ipmi"
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        let d = self.call_ok(NetFn::CHASSIS, CHASSIS_STATUS, &[]).await?;
        match d.first() {
            Some(b) if b & 1 == 1 => Ok(PowerState::On),
            Some(_) => Ok(PowerState::Off),
            None => Err(BackendError::Failed("empty chassis status".into())),
        }
    }

    async fn power(&self, action: PowerAction, who: &Requester) -> BackendResult<()> {
        let code = match action {
            PowerAction::Off => 0,
            PowerAction::On => 1,
            PowerAction::Cycle => 2,
            PowerAction::Reset => 3,
            PowerAction::Diag => 4,
            PowerAction::Soft => 5,
        };
        let r = self.call_ok(NetFn::CHASSIS, CHASSIS_CONTROL, &[code]).await;
        tracing::info!(bmc_behind = %self.config.address, %action, %who, ok = r.is_ok(), "power action relayed");
        r.map(|_| ())
    }

    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        who: &Requester,
    ) -> BackendResult<()> {
        let mut data = vec![0x05];
        data.extend_from_slice(&boot_flags(boot));
        let r = self.call_ok(NetFn::CHASSIS, SET_BOOT_OPTIONS, &data).await;
        tracing::info!(bmc_behind = %self.config.address, ?boot, %who, ok = r.is_ok(), "boot override relayed");
        r.map(|_| ())
    }

    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        let d = self
            .call_ok(NetFn::CHASSIS, GET_BOOT_OPTIONS, &[0x05, 0, 0])
            .await?;
        // Parameter version, parameter valid/selector, then the 5 flag bytes.
        Ok(d.get(2..).and_then(parse_boot_flags))
    }

    async fn identify(&self, seconds: Option<u8>, _who: &Requester) -> BackendResult<()> {
        let data = match seconds {
            Some(s) => vec![s],
            None => vec![0, 1],
        };
        self.call_ok(NetFn::CHASSIS, CHASSIS_IDENTIFY, &data)
            .await
            .map(|_| ())
    }

    async fn inventory(&self) -> BackendResult<Inventory> {
        let d = self.call_ok(NetFn::APP, GET_SYSTEM_GUID, &[]).await?;
        let guid = d.get(..16).and_then(|g| g.try_into().ok());
        Ok(Inventory {
            manufacturer: "IPMI".into(),
            product: format!("BMC at {}", self.config.address),
            guid,
            ..Inventory::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_flags_round_trip() {
        let b = BootOverride {
            device: BootDevice::Pxe,
            persistent: true,
            efi: true,
        };
        assert_eq!(boot_flags(Some(b)), [0xe0, 0x04, 0, 0, 0]);
        assert_eq!(parse_boot_flags(&boot_flags(Some(b))), Some(b));
        assert_eq!(parse_boot_flags(&[0x00, 0x04, 0, 0, 0]), None);
        assert_eq!(parse_boot_flags(&[0x80]), None);
    }
}
