//! The resource tree, one module per resource family. Each module's `route` matches the URI
//! segments after `/redfish/v1` and its `serve` answers what it matched.

use crate::{Ctx, Route};
use axum::response::Response;

pub(crate) mod accounts;
pub(crate) mod actions;
pub(crate) mod chassis;
pub(crate) mod graceful_restart;
pub(crate) mod log_service;
pub(crate) mod managers;
pub(crate) mod service_root;
pub(crate) mod session_service;
pub(crate) mod systems;
pub(crate) mod virtual_media;

/// What a route serves, by family.
pub(crate) enum Page {
    Root(service_root::Page),
    Systems(systems::Page),
    Managers(managers::Page),
    Logs(log_service::Page),
    Chassis(chassis::Page),
    Sessions(session_service::Page),
    Accounts(accounts::Page),
    Media(virtual_media::Page),
}

/// The route of a path (without its trailing `/`), if it names a resource.
pub(crate) fn route(path: &str) -> Option<Route> {
    if let Some(r) = service_root::route(path) {
        return Some(r);
    }
    let rest = path.strip_prefix(crate::V1)?.strip_prefix('/')?;
    let segs: Vec<&str> = rest.split('/').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return None;
    }
    virtual_media::route(&segs)
        .or_else(|| systems::route(&segs))
        .or_else(|| managers::route(&segs))
        .or_else(|| log_service::route(&segs))
        .or_else(|| chassis::route(&segs))
        .or_else(|| session_service::route(&segs))
        .or_else(|| accounts::route(&segs))
}

/// Serves a matched route.
pub(crate) async fn serve(ctx: &Ctx<'_>, route: Route) -> Response {
    let bmc = route.bmc.unwrap_or_default();
    match route.page {
        Page::Root(p) => service_root::serve(ctx, p),
        Page::Systems(p) => systems::serve(ctx, &bmc, p).await,
        Page::Managers(p) => managers::serve(ctx, &bmc, p).await,
        Page::Logs(p) => log_service::serve(ctx, &bmc, p).await,
        Page::Chassis(p) => chassis::serve(ctx, &bmc, p).await,
        Page::Sessions(p) => session_service::serve(ctx, p),
        Page::Accounts(p) => accounts::serve(ctx, p),
        Page::Media(p) => virtual_media::serve(ctx, &bmc, p).await,
    }
}

/// The URIs of the BMCs the user may see, under `base`.
pub(crate) fn visible(ctx: &Ctx<'_>, base: &str) -> Vec<String> {
    let who = ctx.who();
    ctx.svc
        .scope()
        .into_iter()
        .filter(|n| who.grant(n).is_some())
        .map(|n| format!("{base}/{n}"))
        .collect()
}

/// A collection of one resource per BMC the user may see: `/redfish/v1/{family}`, of type
/// `#{kind}.{kind}`.
pub(crate) fn bmc_collection(ctx: &Ctx<'_>, family: &str, kind: &str, title: &str) -> Response {
    let base = format!("{}/{family}", crate::V1);
    let uris = visible(ctx, &base);
    crate::reply::resource(
        &ctx.headers,
        crate::reply::collection(&format!("#{kind}.{kind}"), &base, title, uris),
    )
}

/// The model of the BMC a route names, or the 404 it earns (it stopped being served).
pub(crate) fn model(ctx: &Ctx<'_>, name: &str) -> Result<std::sync::Arc<ipmi_bmc::Bmc>, Response> {
    ctx.svc
        .fleet
        .bmc(name)
        .ok_or_else(|| crate::reply::not_found(&ctx.path))
}

/// A route about one BMC.
pub(crate) fn on_bmc(
    pattern: &'static str,
    allow: &'static [axum::http::Method],
    bmc: &str,
    page: Page,
) -> Option<Route> {
    Some(Route {
        pattern,
        allow,
        bmc: Some(bmc.to_string()),
        public: false,
        page,
    })
}

/// A route about the service (no one BMC).
pub(crate) fn on_service(
    pattern: &'static str,
    allow: &'static [axum::http::Method],
    public: bool,
    page: Page,
) -> Option<Route> {
    Some(Route {
        pattern,
        allow,
        bmc: None,
        public,
        page,
    })
}

/// The methods of a resource only read.
pub(crate) const GET: &[axum::http::Method] = &[axum::http::Method::GET, axum::http::Method::HEAD];
/// The methods of an action.
pub(crate) const POST: &[axum::http::Method] = &[axum::http::Method::POST];
/// The methods of a resource read and patched.
pub(crate) const GET_PATCH: &[axum::http::Method] = &[
    axum::http::Method::GET,
    axum::http::Method::HEAD,
    axum::http::Method::PATCH,
];

/// The body of a PATCH or POST as a JSON object, or the 400 it earns.
pub(crate) fn json_object(
    ctx: &Ctx<'_>,
) -> Result<serde_json::Map<String, serde_json::Value>, Response> {
    if ctx.body.is_empty() {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<serde_json::Value>(&ctx.body) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(crate::reply::malformed("not a JSON object")),
        Err(e) => Err(crate::reply::malformed(&e.to_string())),
    }
}

/// The asker of an action: the user, from its address, with its account on `bmc`, over Redfish.
pub(crate) fn asker(ctx: &Ctx<'_>, bmc: &str) -> ipmi_bmc::Asker {
    let who = ctx.who();
    let grant = who.grant(bmc);
    ipmi_bmc::Asker {
        who: ipmi_bmc::Requester {
            user: who.user.clone(),
            peer: ctx.peer,
            bmc: bmc.to_string(),
        },
        user_id: grant.map(|g| g.user_id),
        privilege: grant.map(|g| g.privilege),
        protocol: ipmi_bmc::Protocol::Redfish,
    }
}

/// Checks `If-Match` against the resource's current representation: `Some(412)` if stale.
pub(crate) fn precondition(ctx: &Ctx<'_>, current: &serde_json::Value) -> Option<Response> {
    let etag = crate::reply::etag_of(current);
    match crate::reply::lists(&ctx.headers, axum::http::header::IF_MATCH, &etag) {
        Some(false) => Some(crate::reply::error(
            axum::http::StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "The ETag supplied did not match the ETag required to change this resource.",
            &[],
        )),
        _ => None,
    }
}
