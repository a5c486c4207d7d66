//! The http backend's `[bmc.http]` table: a preset or a base URL, the credentials, the
//! variables, the time limits, and a request template per operation; validated into an
//! [`HttpSettings`]. A preset is a `[bmc.http]` table of its own ([`crate::presets`]): the
//! user's keys replace its keys, and each key of an operation table the user gives replaces that
//! key of the preset's (a `json` or `form` replaces the preset's body, whichever it was).

mod account;
mod template_toml;
#[cfg(test)]
mod tests;

pub use template_toml::{TemplateToml, BOOT_DEVICES};

use crate::client::{Auth, HttpApi, Policy, SharedHttp};
use crate::codes::Codes;
use crate::placeholder::Value;
use crate::template::Op;
use crate::{presets, HttpBackend, HttpConfig, SharedHttpBackend};
use account::{auth, headers, vars};
use backend_config::{
    BackendSettings, BmcContext, ConfigError, Kind, LongestCall, Resources, Source, Spanned,
};
use ipmi_bmc::routing::Operation;
use ipmi_bmc::Backend;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;
use template_toml::{codes, template};

/// One try of a request ends after this long unless `timeout_ms` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(5000);
/// Retries of what may be retried, unless `retries` says otherwise.
pub const DEFAULT_RETRIES: u32 = 2;
/// Every operation ends within this time unless `deadline_ms` says otherwise: below the request
/// deadline (10 s).
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(8000);
/// A power state read is reused this long unless `cache_ms` says otherwise.
pub const DEFAULT_CACHE: Duration = Duration::from_millis(2000);
/// Answers longer than this are refused unless `max_body` says otherwise.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// `[bmc.http]` as written (and a preset's text).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpToml {
    preset: Option<Spanned<String>>,
    base_url: Option<Spanned<String>>,
    allow_http: Option<bool>,
    auth: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    header: Option<Spanned<String>>,
    secret_env: Option<Spanned<String>>,
    secret_file: Option<Spanned<String>>,
    /// Only to say where the secret must come from instead.
    secret: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    server_id: Option<Spanned<String>>,
    vars: Option<Spanned<BTreeMap<String, String>>>,
    headers: Option<Spanned<BTreeMap<String, String>>>,
    codes: Option<Spanned<BTreeMap<String, i64>>>,
    timeout_ms: Option<u64>,
    retries: Option<u32>,
    deadline_ms: Option<Spanned<u64>>,
    cache_ms: Option<u64>,
    max_body: Option<usize>,
    assumed_power: Option<Spanned<String>>,
    absent: Option<Spanned<Vec<String>>>,
    power_status: Option<Spanned<TemplateToml>>,
    on: Option<Spanned<TemplateToml>>,
    off: Option<Spanned<TemplateToml>>,
    cycle: Option<Spanned<TemplateToml>>,
    reset: Option<Spanned<TemplateToml>>,
    soft: Option<Spanned<TemplateToml>>,
    diag: Option<Spanned<TemplateToml>>,
    boot: Option<Spanned<TemplateToml>>,
    boot_clear: Option<Spanned<TemplateToml>>,
    insert_media: Option<Spanned<TemplateToml>>,
    eject_media: Option<Spanned<TemplateToml>>,
}

impl HttpToml {
    fn template(&self, op: Op) -> Option<&Spanned<TemplateToml>> {
        match op {
            Op::PowerStatus => self.power_status.as_ref(),
            Op::On => self.on.as_ref(),
            Op::Off => self.off.as_ref(),
            Op::Cycle => self.cycle.as_ref(),
            Op::Reset => self.reset.as_ref(),
            Op::Soft => self.soft.as_ref(),
            Op::Diag => self.diag.as_ref(),
            Op::Boot => self.boot.as_ref(),
            Op::BootClear => self.boot_clear.as_ref(),
            Op::InsertMedia => self.insert_media.as_ref(),
            Op::EjectMedia => self.eject_media.as_ref(),
        }
    }
}

/// The http backend of one BMC.
#[derive(Clone)]
pub struct HttpSettings {
    /// The preset, if any.
    pub preset: Option<String>,
    /// The API's base URL.
    pub base_url: String,
    /// The credentials.
    pub auth: Auth,
    /// Extra headers on every request.
    pub headers: Vec<(String, String)>,
    /// Timeouts, retries and the answer size limit.
    pub policy: Policy,
    /// The operations.
    pub config: HttpConfig,
    /// What `supports` says of the power status when there is no way to read it.
    no_status: Option<String>,
}

/// The http backend kind.
pub struct HttpKind;

impl Kind for HttpKind {
    const NAME: &'static str = "http";
    const NEEDS: Option<&'static str> = Some("a preset or base_url and the operations' requests");
    type Table = HttpToml;
    type Settings = HttpSettings;

    fn configure(
        &self,
        cx: &BmcContext,
        table: Option<&Spanned<HttpToml>>,
    ) -> Result<HttpSettings, ConfigError> {
        let t = table.expect("NEEDS a table");
        configure(cx.src, t.span(), t.get_ref())
    }

    fn longest_call(
        &self,
        table: Option<&Spanned<HttpToml>>,
        settings: &HttpSettings,
    ) -> Option<LongestCall> {
        // Every operation, however many requests and retries it takes, ends by its deadline.
        Some(LongestCall {
            time: settings.config.deadline,
            setting: "deadline_ms",
            at: table.and_then(|t| t.get_ref().deadline_ms.as_ref().map(|d| d.span())),
        })
    }
}

fn configure(src: &Source, span: Range<usize>, u: &HttpToml) -> Result<HttpSettings, ConfigError> {
    if let Some(inline) = [&u.secret, &u.password, &u.token]
        .into_iter()
        .flatten()
        .next()
    {
        return Err(src.err(
            inline.span(),
            "never put the secret in the file: give secret_env or secret_file",
        ));
    }
    let preset_text = match &u.preset {
        Some(p) => Some(presets::get(p.get_ref()).ok_or_else(|| {
            src.err(
                p.span(),
                format!(
                    "unknown preset {:?} (available: {})",
                    p.get_ref(),
                    presets::names().join(", ")
                ),
            )
        })?),
        None => None,
    };
    let preset: HttpToml = match preset_text {
        Some(text) => toml::from_str(text).map_err(|e| {
            src.err(
                span.clone(),
                format!(
                    "preset {:?} does not parse: {e}",
                    u.preset.as_ref().map(|p| p.get_ref())
                ),
            )
        })?,
        None => HttpToml::default(),
    };
    let preset_name = u.preset.as_ref().map(|p| p.get_ref().clone());
    // Where an error about a value from the preset points, and how it says so.
    let preset_at = u.preset.as_ref().map_or(span.clone(), |p| p.span());
    let from = |given: bool| match (&preset_name, given) {
        (Some(p), false) => format!(" (from preset {p})"),
        _ => String::new(),
    };
    let pick = |a: &Option<Spanned<String>>,
                b: &Option<Spanned<String>>|
     -> Option<(String, Range<usize>, bool)> {
        a.as_ref()
            .map(|s| (s.get_ref().clone(), s.span(), true))
            .or_else(|| {
                b.as_ref()
                    .map(|s| (s.get_ref().clone(), preset_at.clone(), false))
            })
    };

    // The base URL: https, unless plain http is allowed explicitly.
    let (base_url, url_at, _) = pick(&u.base_url, &preset.base_url)
        .ok_or_else(|| src.err(span.clone(), "[bmc.http] needs base_url (or a preset)"))?;
    let allow_http = u.allow_http.or(preset.allow_http).unwrap_or(false);
    let url = reqwest::Url::parse(&base_url).map_err(|e| {
        src.err(
            url_at.clone(),
            format!("base_url {base_url:?} is not a URL: {e}"),
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(src.err(
                url_at,
                "base_url is plain http, which would send the secret unencrypted: use https, or set allow_http = true (for a test endpoint)",
            ))
        }
        s => return Err(src.err(url_at, format!("base_url must be an https:// URL, not {s}://"))),
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(src.err(
            url_at,
            "base_url must not hold credentials, a query or a fragment",
        ));
    }
    let base_url = base_url.trim_end_matches('/').to_string();

    let auth = auth(src, span.clone(), u, &preset, &pick)?;
    let vars = vars(src, u, &preset, preset_at.clone())?;
    let headers = headers(src, u, &preset, &auth, preset_at.clone())?;

    let mut top = Codes::defaults();
    if let Some(c) = &preset.codes {
        top = top.overlaid(&codes(c.get_ref()).map_err(|e| src.err(preset_at.clone(), e))?);
    }
    if let Some(c) = &u.codes {
        top = top.overlaid(&codes(c.get_ref()).map_err(|e| src.err(c.span(), e))?);
    }

    let mut absent: Vec<Op> = Vec::new();
    if let Some(a) = &u.absent {
        for name in a.get_ref() {
            absent.push(Op::by_name(name).ok_or_else(|| {
                src.err(
                    a.span(),
                    format!(
                        "absent: unknown operation {name:?} (operations: {})",
                        Op::ALL.map(Op::name).join(", ")
                    ),
                )
            })?);
        }
    }
    let mut ops = BTreeMap::new();
    for op in Op::ALL {
        let (p, mine) = (preset.template(op), u.template(op));
        let merged = match (p, mine) {
            (None, None) => continue,
            (Some(p), None) => p.get_ref().clone(),
            (None, Some(m)) => m.get_ref().clone(),
            (Some(p), Some(m)) => m.get_ref().over(p.get_ref()),
        };
        if absent.contains(&op) {
            continue;
        }
        let at = mine.map_or(preset_at.clone(), |m| m.span());
        let t = template(op, &merged, &top, &vars).map_err(|e| {
            src.err(
                at.clone(),
                format!("[bmc.http.{op}]{}: {e}", from(mine.is_some())),
            )
        })?;
        ops.insert(op, t);
    }
    if ops.is_empty() {
        return Err(src.err(span, "[bmc.http] describes no operation: give a preset, or [bmc.http.on], [bmc.http.off], ..."));
    }

    let assumed_power = match pick(&u.assumed_power, &preset.assumed_power) {
        Some((v, at, _)) if v != "last" => {
            return Err(src.err(at, format!("assumed_power {v:?}: the only choice is \"last\" (the state the last action led to)")))
        }
        Some((_, at, _)) if ops.contains_key(&Op::PowerStatus) => {
            return Err(src.err(at, "assumed_power is for a provider without a power_status request, and this one has one"))
        }
        Some(_) => true,
        None => false,
    };
    let no_status = (!ops.contains_key(&Op::PowerStatus) && !assumed_power).then(|| {
        format!(
            "{} has no power_status request (or: set assumed_power = \"last\" to answer with the state the last action led to)",
            preset_name.as_ref().map_or("[bmc.http]".to_string(), |p| format!("preset {p}"))
        )
    });
    let deadline = u
        .deadline_ms
        .as_ref()
        .or(preset.deadline_ms.as_ref())
        .map_or(DEFAULT_DEADLINE, |ms| Duration::from_millis(*ms.get_ref()))
        .max(Duration::from_millis(100));
    Ok(HttpSettings {
        preset: preset_name,
        base_url,
        auth,
        headers,
        policy: Policy {
            timeout: u
                .timeout_ms
                .or(preset.timeout_ms)
                .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
                .max(Duration::from_millis(50)),
            retries: u
                .retries
                .or(preset.retries)
                .unwrap_or(DEFAULT_RETRIES)
                .min(10),
            backoff: Duration::from_millis(200),
            max_body: u
                .max_body
                .or(preset.max_body)
                .unwrap_or(DEFAULT_MAX_BODY)
                .max(1024),
        },
        config: HttpConfig {
            ops,
            vars,
            deadline,
            cache: u
                .cache_ms
                .or(preset.cache_ms)
                .map_or(DEFAULT_CACHE, Duration::from_millis),
            assumed_power,
        },
        no_status,
    })
}

/// The API client for these settings: one per account and settings for the process (so that a
/// rate limit seen by one BMC holds back all that use it), over one HTTP client.
pub fn api(shared: &mut Resources, s: &HttpSettings) -> Arc<HttpApi> {
    shared.shared(
        |api: &HttpApi| api.serves(&s.base_url, &s.auth, &s.headers, &s.policy),
        |shared| {
            let http = shared.one(|_| SharedHttp::new());
            HttpApi::new(
                http.0.clone(),
                &s.base_url,
                s.auth.clone(),
                s.headers.clone(),
                s.policy,
            )
        },
    )
}

impl BackendSettings for HttpSettings {
    fn describe(&self) -> String {
        let absent: Vec<&str> = Op::ALL
            .into_iter()
            .filter(|o| *o != Op::BootClear && !o.is_media() && !self.config.ops.contains_key(o))
            .filter(|o| !(*o == Op::PowerStatus && self.config.assumed_power))
            .map(Op::name)
            .collect();
        format!(
            "http {}{} at {} ({}{}{}{})",
            self.preset.as_deref().unwrap_or("custom"),
            self.device()
                .map(|d| format!(" server {d}"))
                .unwrap_or_default(),
            self.base_url,
            self.auth.describe(),
            if self.base_url.starts_with("http://") {
                ", PLAIN HTTP"
            } else {
                ""
            },
            if self.config.assumed_power {
                ", power status assumed from the last action"
            } else {
                ""
            },
            if absent.is_empty() {
                String::new()
            } else {
                format!("; absent: {}", absent.join(", "))
            },
        )
    }

    fn device(&self) -> Option<&str> {
        match self.config.vars.get("server_id") {
            Some(Value::Text(s)) => Some(s),
            _ => None,
        }
    }

    fn supports(&self, op: Operation) -> Result<(), String> {
        match (op, &self.no_status) {
            (Operation::PowerStatus, Some(why)) => Err(why.clone()),
            _ => Ok(()),
        }
    }

    fn build(&self, shared: &mut Resources) -> Result<Arc<dyn Backend>, String> {
        if self.base_url.starts_with("http://") {
            tracing::warn!(base_url = %self.base_url, "allow_http: the API's credentials travel unencrypted");
        }
        let api = api(shared, self);
        Ok(Arc::new(SharedHttpBackend(Arc::new(HttpBackend::new(
            api,
            self.config.clone(),
        )))))
    }
}
