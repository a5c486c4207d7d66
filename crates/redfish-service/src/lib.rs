//! # redfish-service
//!
//! The Redfish service (DMTF DSP0266) of ipmi-to-metal: an axum [`Router`] that serves the BMC
//! models of a [`Fleet`] as Redfish resources. Every action goes through the same
//! protocol-neutral operations of [`ipmi_bmc::Bmc`] as its IPMI twin (the same backend call, SEL
//! record and audit record, the latter marked `redfish`), and every login is checked against
//! the same accounts and counted in the same failed-login limiter as the BMC's IPMI logins.
//!
//! The resource tree is one module per resource family under `resources` (service root and
//! schemas, systems, managers and their logs, chassis, sessions, accounts); each gives its URI
//! patterns ([`Route`]s) and serves them. A new family is a new module and a line in
//! [`resources::route`] and [`resources::serve`].

#![warn(missing_docs)]
// A handler that fails returns the HTTP answer it earns (`Result<_, Response>`), once per request:
// boxing it would add an allocation to the error path and nothing else.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod fleet;
pub mod query;
pub mod reply;
mod resources;
pub mod roles;
pub mod sessions;

pub use fleet::Fleet;

use auth::Principal;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The largest request body taken (a PATCH or an action is a few hundred bytes).
pub const MAX_BODY: usize = 64 * 1024;
/// The largest `$levels` of an `$expand` ([`query`]; the service root's `ExpandQuery.MaxLevels`).
pub const MAX_EXPAND_LEVELS: u32 = 3;
/// The URI prefix of every resource.
pub const V1: &str = "/redfish/v1";

/// How the service is set up.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The service's UUID (ServiceRoot `UUID`).
    pub uuid: [u8; 16],
    /// A session closes after this long unused.
    pub session_timeout: Duration,
    /// The most sessions open at once.
    pub max_sessions: usize,
    /// A service of one BMC (on that BMC's own address): only it is served.
    pub only: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            uuid: [0; 16],
            session_timeout: Duration::from_secs(1800),
            max_sessions: 64,
            only: None,
        }
    }
}

/// Counts the service's HTTP requests (by route pattern, method and status).
pub trait RequestMetrics: Send + Sync + 'static {
    /// Counts one request answered.
    fn observe(&self, route: &'static str, method: &Method, status: StatusCode, took: Duration);
}

/// The service: the fleet served, its sessions, its settings.
pub struct Service {
    fleet: Arc<dyn Fleet>,
    sessions: sessions::Sessions,
    settings: Settings,
    metrics: Option<Arc<dyn RequestMetrics>>,
}

impl Service {
    /// A service over `fleet`.
    pub fn new(fleet: Arc<dyn Fleet>, settings: Settings) -> Service {
        Service {
            sessions: sessions::Sessions::new(settings.session_timeout, settings.max_sessions),
            fleet,
            settings,
            metrics: None,
        }
    }

    /// Counts every request in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn RequestMetrics>) -> Service {
        self.metrics = Some(metrics);
        self
    }

    /// The names of the BMCs this service serves.
    pub fn scope(&self) -> Vec<String> {
        match &self.settings.only {
            Some(one) => vec![one.clone()],
            None => self.fleet.names(),
        }
    }

    /// Whether the service serves the BMC named `name` (and it exists).
    pub fn in_scope(&self, name: &str) -> bool {
        self.settings.only.as_deref().is_none_or(|o| o == name) && self.fleet.bmc(name).is_some()
    }

    /// The sessions.
    pub fn sessions(&self) -> &sessions::Sessions {
        &self.sessions
    }
}

/// One resource URI pattern matched.
pub(crate) struct Route {
    /// The pattern, for the metrics (`/redfish/v1/Systems/{id}`).
    pub pattern: &'static str,
    /// The methods it takes (HEAD wherever GET).
    pub allow: &'static [Method],
    /// The BMC it is about, if one.
    pub bmc: Option<String>,
    /// Served without credentials (service root, `$metadata`, `odata`, schemas, session login).
    pub public: bool,
    /// What to serve.
    pub page: resources::Page,
}

/// One request, as the resources see it.
pub(crate) struct Ctx<'a> {
    pub svc: &'a Service,
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub peer: SocketAddr,
    pub path: String,
    pub who: Option<Principal>,
}

impl Ctx<'_> {
    /// The authenticated user (every non-public route has one).
    pub fn who(&self) -> &Principal {
        self.who
            .as_ref()
            .expect("non-public routes are served only once authenticated")
    }
}

/// The router of the service (every path: what is not a resource gets a Redfish 404).
pub fn router(service: Arc<Service>) -> Router {
    Router::new().fallback(entry).with_state(service)
}

async fn entry(
    State(svc): State<Arc<Service>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request<Body>,
) -> Response {
    let started = std::time::Instant::now();
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let (pattern, mut response) = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => {
            let path = parts.uri.path().to_string();
            match refused_up_front(&parts).map_or_else(|| query::parse(parts.uri.query()), Err) {
                Err(r) => ("unmatched", r),
                Ok(expand) => {
                    handle(&svc, parts.method, parts.headers, body, peer, path, expand).await
                }
            }
        }
        Err(_) => (
            "unmatched",
            reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "GeneralError",
                "The request body is too large.",
                &[],
            ),
        ),
    };
    let h = response.headers_mut();
    h.insert("odata-version", header::HeaderValue::from_static("4.0"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(header::HeaderValue::from_static("no-cache"));
    if let Some(m) = &svc.metrics {
        m.observe(pattern, &method, response.status(), started.elapsed());
    }
    response
}

/// The answer to a request the service refuses whatever it names: an OData version other than
/// 4.0 (412). (Query parameters: [`query`].)
fn refused_up_front(parts: &axum::http::request::Parts) -> Option<Response> {
    if let Some(v) = parts.headers.get("odata-version") {
        if v.as_bytes() != b"4.0" {
            return Some(reply::error(
                StatusCode::PRECONDITION_FAILED,
                "HeaderInvalid",
                "The service supports OData-Version 4.0 only.",
                &["OData-Version"],
            ));
        }
    }
    None
}

/// The resource a request path names (a trailing `/` aside): its URI pattern
/// (`/redfish/v1/Systems/{id}`), the methods it takes (HEAD wherever GET) and whether it is
/// served without credentials. What docs/redfish-resources.md is checked against.
pub fn resource(path: &str) -> Option<(&'static str, &'static [Method], bool)> {
    let route = resources::route(path.trim_end_matches('/'))?;
    Some((route.pattern, route.allow, route.public))
}

async fn handle(
    svc: &Service,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
    peer: SocketAddr,
    path: String,
    expand: Option<query::Expand>,
) -> (&'static str, Response) {
    let trimmed = path.trim_end_matches('/');
    let Some(route) = resources::route(trimmed) else {
        return ("unmatched", reply::not_found(&path));
    };
    let pattern = route.pattern;
    let takes = route.allow.contains(&method)
        || (method == Method::HEAD && route.allow.contains(&Method::GET));
    let allow = reply::allow_value(route.allow);
    let mut response = if !takes {
        reply::method_not_allowed(&method, route.allow)
    } else {
        let who = if route.public {
            None
        } else {
            match auth::authenticate(svc, &headers, peer.ip(), route.bmc.as_deref()) {
                Some(p) => Some(p),
                None => return (pattern, reply::unauthorized()),
            }
        };
        if !visible(svc, &route, who.as_ref()) {
            return (pattern, reply::not_found(&path));
        }
        // An expanded answer is checked against `If-None-Match` once expanded.
        let expand = expand.filter(|_| method == Method::GET || method == Method::HEAD);
        let asked = expand.map(|_| headers.clone());
        let mut ctx = Ctx {
            svc,
            method,
            headers,
            body,
            peer,
            path,
            who,
        };
        if expand.is_some() {
            ctx.headers.remove(header::IF_NONE_MATCH);
        }
        let response = resources::serve(&ctx, route).await;
        match (expand, asked) {
            (Some(e), Some(asked)) => query::expand(&ctx, &asked, response, e).await,
            _ => response,
        }
    };
    reply::set(&mut response, header::ALLOW, &allow);
    (pattern, response)
}

/// Whether the resource `route` names is shown to `who` (`None`: a public route, or no
/// credentials): what every request checks, and every resource an `$expand` reads.
pub(crate) fn visible(svc: &Service, route: &Route, who: Option<&Principal>) -> bool {
    match (&route.bmc, who) {
        (Some(b), Some(p)) => svc.in_scope(b) && p.grant(b).is_some(),
        (Some(b), None) => svc.in_scope(b),
        (None, _) => true,
    }
}

/// A GUID as a UUID string: the wire bytes reversed, as the redfish backend reads a UUID into
/// a GUID (so that a shim in front of this service reports the same GUID over IPMI).
pub fn uuid_string(g: &[u8; 16]) -> String {
    let mut b = *g;
    b.reverse();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
