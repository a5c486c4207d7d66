//! The metal backend's `[bmc.metal]` table: the API endpoint and token, the device, and the
//! time limits, with their defaults. The pieces a `[[metal_discovery]]` shares with it (the
//! account, iPXE, cache and time limits) are public for the binary's discovery.

use crate::api::{http_client, MetalApi, Policy};
use crate::{guid_of, MetalBackend, MetalConfig, SharedMetalBackend};
use backend_config::{
    secret_from, BackendSettings, BmcContext, ConfigError, Kind, LongestCall, Resources, Source,
    Spanned,
};
use ipmi_bmc::Backend;
use serde::Deserialize;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// The Metal API endpoint when `api_url` is not given.
pub const DEFAULT_API_URL: &str = "https://api.equinix.com/metal/v1";
/// A read device state is used this long unless `cache_ms` says otherwise.
pub const DEFAULT_CACHE: Duration = Duration::from_millis(2000);
/// Every operation ends within this time unless `deadline_ms` says otherwise: below the
/// request deadline (10 s).
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(8000);

/// `[bmc.metal]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetalToml {
    api_url: Option<Spanned<String>>,
    /// Lets `api_url` be plain http (the token then travels in clear): tests and demos only.
    allow_http: Option<bool>,
    device_id: Spanned<String>,
    token_env: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    /// Only to say where the token must come from instead.
    token: Option<Spanned<String>>,
    ipxe_script_url: Option<Spanned<String>>,
    cache_ms: Option<u64>,
    timeout_ms: Option<u64>,
    retries: Option<u32>,
    deadline_ms: Option<Spanned<u64>>,
    sos_key_file: Option<Spanned<String>>,
    sos_known_hosts: Option<Spanned<String>>,
    sos_host: Option<String>,
    sos_user: Option<String>,
    sos_port: Option<u16>,
}

/// The metal backend of one BMC.
#[derive(Clone)]
pub struct MetalSettings {
    /// The API endpoint, e.g. `https://api.equinix.com/metal/v1`.
    pub api_url: String,
    /// The API token (from the environment or a file).
    pub token: Zeroizing<String>,
    /// Timeouts and retries of each API call.
    pub policy: Policy,
    /// The device and its cache and boot settings.
    pub device: MetalConfig,
}

/// The metal backend kind.
pub struct MetalKind;

impl Kind for MetalKind {
    const NAME: &'static str = "metal";
    const NEEDS: Option<&'static str> = Some("device_id, token_env or token_file");
    type Table = MetalToml;
    type Settings = MetalSettings;

    fn configure(
        &self,
        cx: &BmcContext,
        table: Option<&Spanned<MetalToml>>,
    ) -> Result<MetalSettings, ConfigError> {
        let t = table.expect("NEEDS a table");
        let (src, span, t) = (cx.src, t.span(), t.get_ref());
        let access = access(
            src,
            span,
            "[bmc.metal]",
            t.api_url.as_ref(),
            t.allow_http,
            t.token_env.as_ref(),
            t.token_file.as_ref(),
            t.token.as_ref(),
        )?;
        let device_id = t.device_id.get_ref().trim().to_lowercase();
        if guid_of(&device_id).is_none() {
            return Err(src.err(t.device_id.span(), "device_id must be the device's UUID"));
        }
        let mut device = device(
            device_id,
            ipxe_url(src, t.ipxe_script_url.as_ref())?,
            t.cache_ms,
            t.deadline_ms.as_ref(),
        );
        device.sos = match (&t.sos_key_file, &t.sos_known_hosts) {
            (None, None) => None,
            (Some(key), Some(known)) => Some(crate::sos::SosConfig {
                host: t
                    .sos_host
                    .clone()
                    .unwrap_or(crate::sos::DEFAULT_HOST.into()),
                port: t.sos_port.unwrap_or(22),
                user: t
                    .sos_user
                    .clone()
                    .unwrap_or(crate::sos::DEFAULT_USER.into()),
                key_file: src.dir().join(key.get_ref()),
                known_hosts: src.dir().join(known.get_ref()),
            }),
            (Some(s), None) | (None, Some(s)) => {
                return Err(src.err(
                    s.span(),
                    "the SOS console needs both sos_key_file and sos_known_hosts",
                ))
            }
        };
        Ok(MetalSettings {
            api_url: access.api_url,
            token: access.token,
            policy: policy(t.timeout_ms, t.retries),
            device,
        })
    }

    fn longest_call(
        &self,
        table: Option<&Spanned<MetalToml>>,
        settings: &MetalSettings,
    ) -> Option<LongestCall> {
        Some(longest_call(
            table.and_then(|t| t.get_ref().deadline_ms.as_ref()),
            &settings.device,
        ))
    }
}

/// Every operation, however many API calls and retries it takes, ends by its deadline.
pub fn longest_call(deadline_ms: Option<&Spanned<u64>>, device: &MetalConfig) -> LongestCall {
    LongestCall {
        time: device.deadline,
        setting: "deadline_ms",
        at: deadline_ms.map(|ms| ms.span()),
    }
}

/// The API endpoint and token of a metal backend or a discovery.
pub struct Access {
    /// The endpoint, without a trailing `/`.
    pub api_url: String,
    /// The token.
    pub token: Zeroizing<String>,
}

/// Reads `api_url` (default [`DEFAULT_API_URL`]) and the token, refusing a token written in the
/// file itself, and a plain-http `api_url` (which would carry the token in clear) unless
/// `allow_http` is true; `table` names the table in errors.
#[allow(clippy::too_many_arguments)]
pub fn access(
    src: &Source,
    span: Range<usize>,
    table: &str,
    api_url: Option<&Spanned<String>>,
    allow_http: Option<bool>,
    token_env: Option<&Spanned<String>>,
    token_file: Option<&Spanned<String>>,
    token_inline: Option<&Spanned<String>>,
) -> Result<Access, ConfigError> {
    if let Some(tok) = token_inline {
        return Err(src.err(
            tok.span(),
            "never put the API token in the file: give token_env or token_file",
        ));
    }
    let api_url = match api_url {
        Some(u) => {
            let url = u.get_ref().trim_end_matches('/').to_string();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(src.err(u.span(), "api_url must be an http:// or https:// URL"));
            }
            if url.starts_with("http://") && allow_http != Some(true) {
                return Err(src.err(
                    u.span(),
                    "api_url is plain http, which would send the API token in clear: use https://, or allow_http = true (tests and demos on loopback only)",
                ));
            }
            url
        }
        None => DEFAULT_API_URL.to_string(),
    };
    let token = secret_from(src, "token", token_env, token_file)?.ok_or_else(|| {
        src.err(
            span.clone(),
            format!("{table} needs token_env or token_file"),
        )
    })?;
    let token = String::from_utf8(token.expose().to_vec())
        .ok()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| src.err(span, "the API token must be printable ASCII"))?;
    Ok(Access {
        api_url,
        token: Zeroizing::new(token),
    })
}

/// An optional `ipxe_script_url`, which must be a URL.
pub fn ipxe_url(src: &Source, u: Option<&Spanned<String>>) -> Result<Option<String>, ConfigError> {
    match u {
        Some(u) if !(u.get_ref().starts_with("http://") || u.get_ref().starts_with("https://")) => {
            Err(src.err(
                u.span(),
                "ipxe_script_url must be an http:// or https:// URL",
            ))
        }
        Some(u) => Ok(Some(u.get_ref().clone())),
        None => Ok(None),
    }
}

/// The API call policy from `timeout_ms` and `retries` ([`Policy::default`] for what is not
/// given).
pub fn policy(timeout_ms: Option<u64>, retries: Option<u32>) -> Policy {
    let d = Policy::default();
    Policy {
        timeout: timeout_ms
            .map_or(d.timeout, Duration::from_millis)
            .max(Duration::from_millis(50)),
        retries: retries.unwrap_or(d.retries),
        ..d
    }
}

/// The device's settings from `cache_ms` and `deadline_ms` (defaults [`DEFAULT_CACHE`],
/// [`DEFAULT_DEADLINE`]).
pub fn device(
    device_id: String,
    ipxe_script_url: Option<String>,
    cache_ms: Option<u64>,
    deadline_ms: Option<&Spanned<u64>>,
) -> MetalConfig {
    MetalConfig {
        device_id,
        ipxe_script_url,
        cache: cache_ms.map_or(DEFAULT_CACHE, Duration::from_millis),
        deadline: deadline_ms
            .map_or(DEFAULT_DEADLINE, |ms| Duration::from_millis(*ms.get_ref()))
            .max(Duration::from_millis(100)),
        sos: None,
    }
}

/// The Metal API client for the settings' endpoint and token: one per account for the process
/// (so that a rate limit seen by one BMC holds back all that use it), over one HTTP client (one
/// connection pool).
pub fn api(shared: &mut Resources, s: &MetalSettings) -> Arc<MetalApi> {
    shared.shared(
        |api: &MetalApi| api.serves(&s.api_url, &s.token),
        |shared| {
            let http = shared.one(|_| http_client());
            MetalApi::new((*http).clone(), &s.api_url, s.token.clone(), s.policy)
        },
    )
}

impl BackendSettings for MetalSettings {
    fn describe(&self) -> String {
        format!(
            "metal device {} at {}{}",
            self.device.device_id,
            self.api_url,
            self.device
                .ipxe_script_url
                .as_ref()
                .map(|u| format!(" (iPXE {u})"))
                .unwrap_or_default()
        )
    }

    fn device(&self) -> Option<&str> {
        Some(&self.device.device_id)
    }

    /// A plain-http endpoint (only with `allow_http = true`) carries the token in clear.
    fn warnings(&self) -> Vec<String> {
        if self.api_url.starts_with("http://") {
            vec![format!(
                "api_url {} is plain http (allow_http = true): the API token travels in clear",
                self.api_url
            )]
        } else {
            Vec::new()
        }
    }

    fn build(&self, shared: &mut Resources) -> Result<Arc<dyn Backend>, String> {
        let api = api(shared, self);
        Ok(Arc::new(SharedMetalBackend(MetalBackend::new(
            api,
            self.device.clone(),
        ))))
    }
}
