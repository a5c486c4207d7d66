//! The redfish backend's `[bmc.redfish]` table: the service, the account, TLS, the system, and
//! the time limits, with their defaults.

use crate::client::{Policy, RedfishClient};
use crate::{RedfishBackend, RedfishConfig, SharedRedfishBackend};
use backend_config::{
    secret_from, BackendSettings, BmcContext, ConfigError, Kind, LongestCall, Resources, Spanned,
};
use ipmi_bmc::Backend;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// A read system is used this long unless `cache_ms` says otherwise.
pub const DEFAULT_CACHE: Duration = Duration::from_millis(2000);
/// Every operation ends within this time unless `deadline_ms` says otherwise: below the
/// request deadline (10 s).
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(8000);

/// `[bmc.redfish]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedfishToml {
    url: Spanned<String>,
    user: Spanned<String>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    /// Only to say where the password must come from instead.
    password: Option<Spanned<String>>,
    system_id: Option<Spanned<String>>,
    ca_file: Option<Spanned<String>>,
    insecure: Option<Spanned<bool>>,
    allow_http: Option<bool>,
    cache_ms: Option<u64>,
    timeout_ms: Option<u64>,
    retries: Option<u32>,
    deadline_ms: Option<Spanned<u64>>,
}

/// How the service's certificate is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tls {
    /// Against the public roots (webpki-roots).
    PublicRoots,
    /// Against this CA (PEM) only, read from the file named.
    Ca {
        /// The file, as the configuration names it.
        file: String,
        /// Its contents.
        pem: Vec<u8>,
    },
    /// Not at all (`insecure = true`).
    Insecure,
    /// Plain http (`allow_http = true`).
    PlainHttp,
}

/// The redfish backend of one BMC.
#[derive(Clone)]
pub struct RedfishSettings {
    /// The service, `https://host[:port]`.
    pub origin: String,
    /// The account.
    pub user: String,
    /// Its password (from the environment or a file).
    pub password: Zeroizing<String>,
    /// How the certificate is checked.
    pub tls: Tls,
    /// Timeouts and retries of each call.
    pub policy: Policy,
    /// The system, cache and deadline.
    pub system: RedfishConfig,
}

/// The redfish backend kind.
pub struct RedfishKind;

impl Kind for RedfishKind {
    const NAME: &'static str = "redfish";
    const NEEDS: Option<&'static str> = Some("url, user, password_env or password_file");
    type Table = RedfishToml;
    type Settings = RedfishSettings;

    fn configure(
        &self,
        cx: &BmcContext,
        table: Option<&Spanned<RedfishToml>>,
    ) -> Result<RedfishSettings, ConfigError> {
        let t = table.expect("NEEDS a table");
        let (src, span, t) = (cx.src, t.span(), t.get_ref());
        if let Some(p) = &t.password {
            return Err(src.err(
                p.span(),
                "never put the password in the file: give password_env or password_file",
            ));
        }
        let url = t.url.get_ref().trim().trim_end_matches('/');
        let origin = url.strip_suffix("/redfish/v1").unwrap_or(url).to_string();
        let (https, rest) = match (
            origin.strip_prefix("https://"),
            origin.strip_prefix("http://"),
        ) {
            (Some(r), _) => (true, r),
            (None, Some(r)) => (false, r),
            _ => {
                return Err(src.err(
                    t.url.span(),
                    "url must be an https:// URL (the service, e.g. https://10.1.0.9)",
                ))
            }
        };
        if rest.is_empty() || rest.contains('/') || rest.contains('@') {
            return Err(src.err(
                t.url.span(),
                "url must name the service only (https://host[:port]), without a path or credentials",
            ));
        }
        let insecure = t.insecure.as_ref().is_some_and(|i| *i.get_ref());
        let tls = match (&t.ca_file, insecure, https) {
            (Some(f), true, _) => {
                return Err(src.err(f.span(), "give ca_file or insecure = true, not both"))
            }
            (_, _, false) if !t.allow_http.unwrap_or(false) => return Err(src.err(
                t.url.span(),
                "plain http sends the password unencrypted: use https, or set allow_http = true",
            )),
            (Some(f), _, false) => return Err(src.err(f.span(), "ca_file needs an https:// url")),
            (None, true, false) => {
                let i = t.insecure.as_ref().expect("insecure given");
                return Err(src.err(i.span(), "insecure = true needs an https:// url"));
            }
            (None, false, false) => Tls::PlainHttp,
            (None, true, true) => Tls::Insecure,
            (None, false, true) => Tls::PublicRoots,
            (Some(f), false, true) => {
                let path = src.path(f.get_ref());
                let pem = std::fs::read(&path).map_err(|e| {
                    src.err(f.span(), format!("cannot read {}: {e}", path.display()))
                })?;
                match reqwest::Certificate::from_pem_bundle(&pem) {
                    Ok(c) if !c.is_empty() => {}
                    _ => {
                        return Err(src.err(
                            f.span(),
                            format!("{} holds no PEM certificate", path.display()),
                        ))
                    }
                }
                Tls::Ca {
                    file: f.get_ref().clone(),
                    pem,
                }
            }
        };
        let password = secret_from(
            src,
            "password",
            t.password_env.as_ref(),
            t.password_file.as_ref(),
        )?
        .ok_or_else(|| {
            src.err(
                span.clone(),
                "[bmc.redfish] needs password_env or password_file",
            )
        })?;
        let password = String::from_utf8(password.expose().to_vec())
            .map_err(|_| src.err(span.clone(), "the Redfish password must be UTF-8"))?;
        if t.user.get_ref().is_empty() {
            return Err(src.err(t.user.span(), "user must not be empty"));
        }
        let d = Policy::default();
        Ok(RedfishSettings {
            origin,
            user: t.user.get_ref().clone(),
            password: Zeroizing::new(password),
            tls,
            policy: Policy {
                timeout: t
                    .timeout_ms
                    .map_or(d.timeout, Duration::from_millis)
                    .max(Duration::from_millis(50)),
                retries: t.retries.unwrap_or(d.retries),
                ..d
            },
            system: RedfishConfig {
                system_id: t.system_id.as_ref().map(|s| s.get_ref().clone()),
                cache: t.cache_ms.map_or(DEFAULT_CACHE, Duration::from_millis),
                deadline: t
                    .deadline_ms
                    .as_ref()
                    .map_or(DEFAULT_DEADLINE, |ms| Duration::from_millis(*ms.get_ref()))
                    .max(Duration::from_millis(100)),
            },
        })
    }

    fn longest_call(
        &self,
        table: Option<&Spanned<RedfishToml>>,
        settings: &RedfishSettings,
    ) -> Option<LongestCall> {
        // Every operation, however many calls, retries and task polls it takes, ends by it.
        Some(LongestCall {
            time: settings.system.deadline,
            setting: "deadline_ms",
            at: table.and_then(|t| t.get_ref().deadline_ms.as_ref().map(|d| d.span())),
        })
    }
}

/// The HTTP client of one way of checking certificates (one connection pool for the BMCs
/// that share it).
pub struct HttpClient {
    tls: Tls,
    client: reqwest::Client,
}

fn http_client(tls: &Tls) -> Result<reqwest::Client, String> {
    let user_agent = concat!("ipmi-to-metal/", env!("CARGO_PKG_VERSION"));
    let mut b = http_support::client_builder(user_agent).https_only(!matches!(tls, Tls::PlainHttp));
    match tls {
        Tls::Ca { pem, .. } => {
            b = b.tls_built_in_root_certs(false);
            for c in reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())? {
                b = b.add_root_certificate(c);
            }
        }
        Tls::Insecure => b = b.danger_accept_invalid_certs(true),
        Tls::PublicRoots | Tls::PlainHttp => {}
    }
    b.build().map_err(|e| e.to_string())
}

/// The client of the settings' service and account: one per service and account for the
/// process (one session, one rate limit), over one HTTP client per TLS setting.
pub fn client(shared: &mut Resources, s: &RedfishSettings) -> Result<Arc<RedfishClient>, String> {
    let mut failed = None;
    let mut made = false;
    let c = shared.shared(
        |c: &RedfishClient| c.serves(&s.origin, &s.user, &s.password),
        |shared| {
            made = true;
            let http = shared.shared(
                |h: &HttpClient| h.tls == s.tls,
                |_| HttpClient {
                    tls: s.tls.clone(),
                    client: http_client(&s.tls).unwrap_or_else(|e| {
                        failed = Some(e);
                        reqwest::Client::new()
                    }),
                },
            );
            RedfishClient::new(
                http.client.clone(),
                &s.origin,
                &s.user,
                s.password.clone(),
                s.policy,
            )
        },
    );
    if made {
        // Made just now: its session is deleted when the process shuts down.
        let c = c.clone();
        shared.at_shutdown(Box::new(move || Box::pin(async move { c.logout().await })));
    }
    match failed {
        Some(e) => Err(format!("Redfish HTTP client: {e}")),
        None => Ok(c),
    }
}

impl BackendSettings for RedfishSettings {
    fn describe(&self) -> String {
        let tls = match &self.tls {
            Tls::PublicRoots => String::new(),
            Tls::Ca { file, .. } => format!(" (CA {file})"),
            Tls::Insecure => " (TLS NOT VERIFIED)".into(),
            Tls::PlainHttp => " (plain http)".into(),
        };
        let system = self
            .system
            .system_id
            .as_ref()
            .map(|s| format!(" system {s}"))
            .unwrap_or_default();
        format!("redfish {}@{}{system}{tls}", self.user, self.origin)
    }

    fn build(&self, shared: &mut Resources) -> Result<Arc<dyn Backend>, String> {
        match self.tls {
            Tls::Insecure => {
                tracing::warn!(service = %self.origin, "insecure = true: the Redfish service's certificate is NOT verified; anyone on the path can pose as the BMC and take its password")
            }
            Tls::PlainHttp => {
                tracing::warn!(service = %self.origin, "allow_http = true: the Redfish password and session token travel unencrypted")
            }
            _ => {}
        }
        let client = client(shared, self)?;
        Ok(Arc::new(SharedRedfishBackend(RedfishBackend::new(
            client,
            self.system.clone(),
        ))))
    }
}
