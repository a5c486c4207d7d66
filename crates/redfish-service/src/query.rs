//! Query parameters (DSP0266 "Query parameters"): the service supports `$expand` and refuses
//! every other `$` parameter with 501 `QueryNotSupported` (parameters without `$` are ignored,
//! as the specification asks).
//!
//! `$expand` takes `.` (the references outside `Links`), `~` (those inside `Links`) or `*`
//! (both), each with an optional `($levels=N)`, 1 to [`MAX_LEVELS`] (1 when absent). Each
//! reference expanded is read as its own GET would be, with the request's user: a resource that
//! GET would refuse (404, 403, an unauthenticated request to a non-public resource) stays a
//! reference. The work is bounded: an expansion that would read more than [`MAX_EXPANDED`]
//! resources is refused with 507 `InsufficientStorage` before reading them (expanding a
//! collection of thousands of systems would otherwise be one backend read per system). The
//! `ETag` of an expanded answer is that of the expanded representation (so that
//! `If-None-Match` says whether anything in it changed); each expanded resource carries its
//! own `@odata.etag`, the one `If-Match` takes.

use crate::auth::Principal;
use crate::{reply, resources, Ctx};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use futures_util::future::join_all;
use serde_json::Value;

/// The largest `$levels` taken (advertised as `ExpandQuery.MaxLevels`; at the crate's root,
/// where the service root reads it too).
pub const MAX_LEVELS: u32 = crate::MAX_EXPAND_LEVELS;
/// The most resources one expansion reads (past that: 507).
pub const MAX_EXPANDED: usize = 64;
/// The largest expanded resource read (every resource of the service is far smaller).
const MAX_PART: usize = 1024 * 1024;

/// Which references `$expand` replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Which {
    /// `.`: those outside `Links` (subordinate resources, collection members).
    Subordinate,
    /// `~`: those inside `Links`.
    Links,
    /// `*`: all.
    All,
}

/// An `$expand` asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expand {
    pub which: Which,
    pub levels: u32,
}

/// The query of a request: its `$expand`, if any, or the error that refuses it.
pub(crate) fn parse(query: Option<&str>) -> Result<Option<Expand>, Response> {
    let mut expand = None;
    for param in query.unwrap_or_default().split('&') {
        let (raw_name, raw_value) = param.split_once('=').unwrap_or((param, ""));
        let name = decode(raw_name);
        if !name.starts_with('$') {
            continue;
        }
        if name != "$expand" {
            return Err(reply::error(
                StatusCode::NOT_IMPLEMENTED,
                "QueryNotSupported",
                format!("The query parameter {name} is not supported by the service."),
                &[&name],
            ));
        }
        if expand.is_some() {
            return Err(value_error(&decode(raw_value), &name));
        }
        expand = Some(parse_expand(&decode(raw_value))?);
    }
    Ok(expand)
}

/// `.`, `~` or `*`, then an optional `($levels=N)`.
fn parse_expand(value: &str) -> Result<Expand, Response> {
    let mut chars = value.chars();
    let which = match chars.next() {
        Some('.') => Which::Subordinate,
        Some('~') => Which::Links,
        Some('*') => Which::All,
        _ => return Err(value_error(value, "$expand")),
    };
    let rest = chars.as_str();
    let levels = if rest.is_empty() {
        1
    } else {
        let n = rest
            .strip_prefix("($levels=")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or_else(|| value_error(value, "$expand"))?;
        if n == 0 || n > MAX_LEVELS {
            return Err(reply::error(
                StatusCode::BAD_REQUEST,
                "QueryParameterOutOfRange",
                format!(
                    "The value '{n}' for the query parameter $levels is out of range 1-{MAX_LEVELS}."
                ),
                &[&n.to_string(), "$levels", &format!("1-{MAX_LEVELS}")],
            ));
        }
        n
    };
    Ok(Expand { which, levels })
}

/// 400 for a query parameter's value the service cannot read.
fn value_error(value: &str, name: &str) -> Response {
    reply::error(
        StatusCode::BAD_REQUEST,
        "QueryParameterValueFormatError",
        format!("The value '{value}' for the parameter {name} is of a different format than the parameter can accept."),
        &[value, name],
    )
}

/// Percent-decodes a query component (`+` is a space in a form, but not in a URI query).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The answer `response` (to a GET or HEAD of `ctx`) with its references expanded as `e` asks;
/// `headers`: the request's own (its `If-None-Match` is checked against the expanded answer).
pub(crate) async fn expand(
    ctx: &Ctx<'_>,
    headers: &HeaderMap,
    response: Response,
    e: Expand,
) -> Response {
    if response.status() != StatusCode::OK {
        return response;
    }
    let Some(mut root) = json_of(response).await else {
        return reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "The resource could not be expanded.",
            &[],
        );
    };
    if let Some(o) = root.as_object_mut() {
        o.remove("@odata.etag");
    }
    // Breadth first: each level's references are counted against the budget before any is read.
    let mut budget = MAX_EXPANDED;
    let mut level = vec![String::new()];
    for depth in 0..e.levels {
        let mut refs = Vec::new();
        for at in &level {
            if let Some(node) = root.pointer(at) {
                references(node, at, false, e.which, true, &mut refs);
            }
        }
        if refs.len() > budget {
            tracing::warn!(path = %ctx.path, refs = refs.len(), "redfish $expand refused: too many resources");
            return reply::error(
                StatusCode::INSUFFICIENT_STORAGE,
                "InsufficientStorage",
                format!("Expanding this resource would read more than {MAX_EXPANDED} resources; expand fewer levels or read the members one by one."),
                &[],
            );
        }
        budget -= refs.len();
        // At once: a level of 64 machines' resources takes as long as the slowest backend, not
        // their sum (each read has its backend's own deadline).
        let parts = join_all(refs.iter().map(|(_, uri)| read(ctx, uri))).await;
        let mut next = Vec::new();
        for ((at, _), part) in refs.into_iter().zip(parts) {
            if let Some(part) = part {
                if let Some(slot) = root.pointer_mut(&at) {
                    *slot = part;
                    if depth + 1 < e.levels {
                        next.push(at);
                    }
                }
            }
        }
        level = next;
    }
    reply::resource(headers, root)
}

/// The JSON body of a response.
async fn json_of(response: Response) -> Option<Value> {
    let bytes = axum::body::to_bytes(response.into_body(), MAX_PART)
        .await
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Collects the references under `node` (at JSON pointer `at`) that `which` expands, as
/// (pointer, URI). `in_links`: `node` is inside a `Links` property; `top`: `node` is the resource
/// itself (its own `@odata.id` is no reference).
fn references(
    node: &Value,
    at: &str,
    in_links: bool,
    which: Which,
    top: bool,
    out: &mut Vec<(String, String)>,
) {
    match node {
        Value::Object(o) => {
            if !top && o.len() == 1 {
                if let Some(Value::String(uri)) = o.get("@odata.id") {
                    let wanted = match which {
                        Which::Subordinate => !in_links,
                        Which::Links => in_links,
                        Which::All => true,
                    };
                    // A fragment names part of a resource (`Thermal#/Fans/0`), not one to read.
                    if wanted && !uri.contains('#') {
                        out.push((at.to_string(), uri.clone()));
                    }
                    return;
                }
            }
            for (k, v) in o {
                let key = k.replace('~', "~0").replace('/', "~1");
                references(
                    v,
                    &format!("{at}/{key}"),
                    in_links || k == "Links",
                    which,
                    false,
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                references(v, &format!("{at}/{i}"), in_links, which, false, out);
            }
        }
        _ => {}
    }
}

/// The resource at `uri` as the request's user would GET it, or `None` where that GET would not
/// answer 200 (so the reference stays as it is).
async fn read(ctx: &Ctx<'_>, uri: &str) -> Option<Value> {
    let path = uri.split('?').next().unwrap_or(uri);
    let route = resources::route(path.trim_end_matches('/'))?;
    if !route.allow.contains(&Method::GET) {
        return None;
    }
    let who: Option<&Principal> = ctx.who.as_ref();
    if !route.public && who.is_none() {
        return None;
    }
    if !crate::visible(ctx.svc, &route, who) {
        return None;
    }
    let mut headers = ctx.headers.clone();
    headers.remove(header::IF_NONE_MATCH);
    headers.remove(header::IF_MATCH);
    let sub = Ctx {
        svc: ctx.svc,
        method: Method::GET,
        headers,
        body: Default::default(),
        peer: ctx.peer,
        path: path.to_string(),
        who: if route.public { None } else { who.cloned() },
    };
    let response = resources::serve(&sub, route).await;
    if response.status() != StatusCode::OK {
        return None;
    }
    json_of(response).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_dsp0266_defines() {
        let e = |q: &str| parse(Some(q)).ok().flatten();
        let ex = |which, levels| Some(Expand { which, levels });
        assert_eq!(e("$expand=.($levels=1)"), ex(Which::Subordinate, 1));
        assert_eq!(
            e("%24expand=.%28%24levels%3D2%29"),
            ex(Which::Subordinate, 2)
        );
        assert_eq!(e("$expand=*"), ex(Which::All, 1));
        assert_eq!(e("$expand=~($levels=3)"), ex(Which::Links, 3));
        assert_eq!(e("rpvunknown"), None);
        let status = |q: &str| parse(Some(q)).err().map(|r| r.status().as_u16());
        assert_eq!(status("$rpvunknown"), Some(501));
        assert_eq!(status("$select=Id"), Some(501));
        assert_eq!(status("$expand=x"), Some(400));
        assert_eq!(status("$expand=.($levels=4)"), Some(400));
        assert_eq!(status("$expand=.($levels=0)"), Some(400));
        assert_eq!(status("$expand=.&$expand=*"), Some(400));
        assert_eq!(decode("%2"), "%2");
        assert_eq!(decode("a%zz"), "a%zz");
    }

    #[test]
    fn finds_references_by_kind() {
        let doc = serde_json::json!({
            "@odata.id": "/redfish/v1/Chassis/a",
            "Thermal": { "@odata.id": "/redfish/v1/Chassis/a/Thermal" },
            "Fans": [{ "@odata.id": "/redfish/v1/Chassis/a/Thermal#/Fans/0" }],
            "Links": { "ManagedBy": [{ "@odata.id": "/redfish/v1/Managers/a" }] },
        });
        let refs = |which| {
            let mut out = Vec::new();
            references(&doc, "", false, which, true, &mut out);
            out.sort();
            out
        };
        let thermal = (
            "/Thermal".to_string(),
            "/redfish/v1/Chassis/a/Thermal".to_string(),
        );
        let manager = (
            "/Links/ManagedBy/0".to_string(),
            "/redfish/v1/Managers/a".to_string(),
        );
        assert_eq!(refs(Which::Subordinate), vec![thermal.clone()]);
        assert_eq!(refs(Which::Links), vec![manager.clone()]);
        assert_eq!(refs(Which::All), vec![manager, thermal]); // sorted by pointer
    }
}
