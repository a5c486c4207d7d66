//! # backend-http
//!
//! A [`Backend`] for any REST power API, described by configuration rather than code: a base
//! URL, credentials (bearer, basic or a named header, the secret from the environment or a
//! file), and for each operation a request template ([`template`]) with placeholders
//! ([`placeholder`]). Presets ([`presets`]) fill the templates for Hetzner Robot, Latitude.sh
//! and Scaleway Elastic Metal.
//!
//! - **Power status**: the `power_status` request, its answer read with a JSON pointer and
//!   matched against the configured `on` and `off` values; reads go through a short-lived cache
//!   with single-flight ([`cache`]).
//! - **Power actions**: the request of the operation (`on`, `off`, `cycle`, `reset`, `soft`,
//!   `diag`). With a power status to read, on of a machine that is on, and off or soft off of one
//!   that is off, succeed without a request.
//! - **Boot**: the `boot` request, with the device (mapped to the provider's word), persistence
//!   and EFI as placeholders; `boot_clear` (if given) when the override is cleared.
//! - **Virtual media**: `insert_media` with the image URL (`{image_url}`) and the machine's
//!   script URL on the shim's iPXE endpoint (`{ipxe_url}`), for a provider that boots an ISO
//!   or a custom iPXE URL; `eject_media`. With both, the machine has a virtual CD.
//! - **Absent operations** answer "not supported" (0xC1), which makes a route try its next
//!   backend: a provider without a power status call (Hetzner Robot) has it routed elsewhere
//!   (`power_status = "ssh"`), or, by choice, answered from the last action (`assumed_power`).
//! - **The HTTP discipline** ([`client`]): timeouts and a deadline, retries only when safe, rate
//!   limits waited out or answered 0xC0, no redirects, bounded answers, the secret in one
//!   sensitive header only.

#![warn(missing_docs)]

pub mod cache;
pub mod client;
pub mod codes;
pub mod config;
pub mod placeholder;
pub mod presets;
pub mod template;

use async_trait::async_trait;
use cache::StatusCache;
use client::HttpApi;
use ipmi_bmc::{
    Backend, BackendError, BackendResult, BootOverride, MediaInsert, MediaSlot, PowerAction,
    PowerState, Requester,
};
use ipmi_proto::types::CompletionCode;
use placeholder::{Value, Vars};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use template::{Op, Template};
use tokio::time::Instant;

/// What one http backend does, validated.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The templates of the operations the provider can do; the others are absent.
    pub ops: BTreeMap<Op, Template>,
    /// `server_id` and the configured `vars`.
    pub vars: Vars,
    /// Every operation ends within this time (then 0xC3).
    pub deadline: Duration,
    /// How long a power state read is reused.
    pub cache: Duration,
    /// Without a `power_status` request: answer with the state the last action led to.
    pub assumed_power: bool,
}

/// The boot override as asked, and whether a boot has used it since.
#[derive(Debug, Default)]
struct Boot {
    asked: Option<BootOverride>,
    /// A next-boot-only override was set and a power on, cycle or reset has been sent since.
    used: bool,
}

/// The http backend of one machine.
pub struct HttpBackend {
    api: Arc<HttpApi>,
    config: HttpConfig,
    cache: StatusCache,
    /// The state the last action led to (on until the first), for `assumed_power`.
    assumed: Mutex<PowerState>,
    boot: Mutex<Boot>,
}

impl HttpBackend {
    /// A backend for one machine through `api` (shared by the BMCs of the same account).
    pub fn new(api: Arc<HttpApi>, config: HttpConfig) -> HttpBackend {
        HttpBackend {
            api,
            cache: StatusCache::new(config.cache),
            config,
            assumed: Mutex::new(PowerState::On),
            boot: Mutex::new(Boot::default()),
        }
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.config.deadline
    }

    fn template(&self, op: Op) -> BackendResult<&Template> {
        self.config.ops.get(&op).ok_or(BackendError::NotSupported)
    }

    /// Sends `op`'s request with `vars`; the answer's body.
    async fn send(&self, op: Op, vars: &Vars, deadline: Instant) -> BackendResult<Vec<u8>> {
        let t = self.template(op)?;
        let request = t.request(vars).map_err(|e| {
            tracing::warn!(operation = ?op, error = ?e, "request refused");
            BackendError::Failed(e)
        })?;
        self.api.call(&request, &t.codes, deadline).await
    }

    /// The power state read through the API (not the assumed one).
    async fn read_power(&self, deadline: Instant) -> BackendResult<PowerState> {
        let t = self.template(Op::PowerStatus)?;
        self.cache
            .get(|| async {
                let body = self
                    .send(Op::PowerStatus, &self.config.vars, deadline)
                    .await?;
                let read = t.status.as_ref().expect("power_status has its reading");
                read.read(&body).map_err(|e| {
                    tracing::warn!(error = ?e.to_string(), "cannot read the power state from the API's answer");
                    BackendError::Failed(e)
                })
            })
            .await
    }

    /// Whether the machine is already where `action` would take it, if the API can say.
    async fn already(&self, action: PowerAction, deadline: Instant) -> BackendResult<bool> {
        let target = match action {
            PowerAction::On => PowerState::On,
            PowerAction::Off | PowerAction::Soft => PowerState::Off,
            _ => return Ok(false),
        };
        if !self.config.ops.contains_key(&Op::PowerStatus) {
            return Ok(false);
        }
        Ok(self.read_power(deadline).await? == target)
    }

    async fn power_action(&self, action: PowerAction) -> BackendResult<bool> {
        let op = power_op(action);
        self.template(op)?;
        // One deadline for the whole action, the status read included.
        let deadline = self.deadline();
        if self.already(action, deadline).await? {
            return Ok(false);
        }
        let sent = self.send(op, &self.config.vars, deadline).await;
        // Sent or not, what the API says next is worth asking afresh.
        self.cache.forget();
        sent?;
        let mut assumed = self.assumed.lock().expect("assumed lock");
        match action {
            PowerAction::On | PowerAction::Cycle | PowerAction::Reset => {
                *assumed = PowerState::On;
                let mut b = self.boot.lock().expect("boot lock");
                b.used = b.asked.is_some_and(|o| !o.persistent);
            }
            PowerAction::Off | PowerAction::Soft => *assumed = PowerState::Off,
            PowerAction::Diag => {}
        }
        Ok(true)
    }

    /// The boot variables for `device` (an IPMI name), mapped to the provider's word; `None`
    /// when the word is empty (the device means "no override" to this provider).
    fn boot_vars(&self, device: &str, persistent: bool, efi: bool) -> BackendResult<Option<Vars>> {
        let word = match self
            .config
            .ops
            .get(&Op::Boot)
            .and_then(|t| t.devices.as_ref())
        {
            Some(map) => match map.get(device) {
                Some(w) => w.clone(),
                // A device the provider cannot boot from: parameter out of range.
                None => return Err(BackendError::Completion(CompletionCode::INVALID_FIELD)),
            },
            None => device.to_string(),
        };
        if word.is_empty() {
            return Ok(None);
        }
        let mut vars = self.config.vars.clone();
        vars.insert("boot_device".into(), Value::Text(word));
        vars.insert("persistent".into(), Value::Bool(persistent));
        vars.insert("efi".into(), Value::Bool(efi));
        Ok(Some(vars))
    }

    async fn clear_boot(&self, deadline: Instant) -> BackendResult<()> {
        if self.config.ops.contains_key(&Op::BootClear) {
            let mut vars = self.config.vars.clone();
            vars.insert("boot_device".into(), Value::Text("none".into()));
            vars.insert("persistent".into(), Value::Bool(false));
            vars.insert("efi".into(), Value::Bool(false));
            return self.send(Op::BootClear, &vars, deadline).await.map(|_| ());
        }
        match self.boot_vars("none", false, false)? {
            Some(vars) => self.send(Op::Boot, &vars, deadline).await.map(|_| ()),
            // "none" maps to nothing and there is no boot_clear: nothing to ask for.
            None => Ok(()),
        }
    }
}

/// The backend as the BMC model holds it.
pub struct SharedHttpBackend(pub Arc<HttpBackend>);

#[async_trait]
impl Backend for SharedHttpBackend {
    fn kind(&self) -> &'static str {
        "http"
    }

    async fn power_state(&self) -> BackendResult<PowerState> {
        let b = &self.0;
        if b.config.ops.contains_key(&Op::PowerStatus) {
            return b.read_power(b.deadline()).await;
        }
        if b.config.assumed_power {
            return Ok(*b.assumed.lock().expect("assumed lock"));
        }
        Err(BackendError::NotSupported)
    }

    fn offers(&self, action: PowerAction) -> bool {
        self.0.config.ops.contains_key(&power_op(action))
    }

    async fn power(&self, action: PowerAction, who: &Requester) -> BackendResult<()> {
        let r = self.0.power_action(action).await;
        match &r {
            Ok(true) => tracing::info!(%action, %who, "power action sent to the API"),
            Ok(false) => {
                tracing::info!(%action, %who, "already in that state: nothing sent to the API")
            }
            Err(BackendError::NotSupported) => {
                tracing::info!(%action, "the http backend has no request for this operation")
            }
            Err(e) => {
                tracing::warn!(%action, %who, error = ?e.to_string(), "power action through the API failed")
            }
        }
        r.map(|_| ())
    }

    async fn set_boot_override(
        &self,
        boot: Option<BootOverride>,
        who: &Requester,
    ) -> BackendResult<()> {
        let b = &self.0;
        if !b.config.ops.contains_key(&Op::Boot) && !b.config.ops.contains_key(&Op::BootClear) {
            return Err(BackendError::NotSupported);
        }
        let deadline = b.deadline();
        let vars = match boot {
            Some(o) => b.boot_vars(o.device.name(), o.persistent, o.efi)?,
            None => None,
        };
        match vars {
            Some(vars) => {
                b.send(Op::Boot, &vars, deadline).await?;
            }
            None => b.clear_boot(deadline).await?,
        }
        tracing::info!(?boot, %who, "boot override set through the API");
        *b.boot.lock().expect("boot lock") = Boot {
            asked: boot,
            used: false,
        };
        Ok(())
    }

    fn media_slots(&self) -> &'static [MediaSlot] {
        let ops = &self.0.config.ops;
        if ops.contains_key(&Op::InsertMedia) && ops.contains_key(&Op::EjectMedia) {
            &[MediaSlot::Cd]
        } else {
            &[]
        }
    }

    async fn insert_media(
        &self,
        _slot: MediaSlot,
        media: &MediaInsert,
        ipxe_url: Option<&str>,
        who: &Requester,
    ) -> BackendResult<()> {
        let b = &self.0;
        let mut vars = b.config.vars.clone();
        vars.insert("image_url".into(), Value::Text(media.image.clone()));
        let ipxe = ipxe_url.unwrap_or_default().to_string();
        vars.insert("ipxe_url".into(), Value::Text(ipxe));
        b.send(Op::InsertMedia, &vars, b.deadline()).await?;
        tracing::info!(%who, "virtual media inserted through the API");
        Ok(())
    }

    async fn eject_media(&self, _slot: MediaSlot, who: &Requester) -> BackendResult<()> {
        let b = &self.0;
        let mut vars = b.config.vars.clone();
        vars.insert("image_url".into(), Value::Text(String::new()));
        vars.insert("ipxe_url".into(), Value::Text(String::new()));
        b.send(Op::EjectMedia, &vars, b.deadline()).await?;
        tracing::info!(%who, "virtual media ejected through the API");
        Ok(())
    }

    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        let b = &self.0;
        if !b.config.ops.contains_key(&Op::Boot) && !b.config.ops.contains_key(&Op::BootClear) {
            return Err(BackendError::NotSupported);
        }
        let s = b.boot.lock().expect("boot lock");
        Ok(if s.used { None } else { s.asked })
    }
}

/// The request of a power action.
fn power_op(action: PowerAction) -> Op {
    match action {
        PowerAction::On => Op::On,
        PowerAction::Off => Op::Off,
        PowerAction::Cycle => Op::Cycle,
        PowerAction::Reset => Op::Reset,
        PowerAction::Soft => Op::Soft,
        PowerAction::Diag => Op::Diag,
    }
}
