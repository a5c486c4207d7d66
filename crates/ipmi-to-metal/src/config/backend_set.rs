//! The backends of one BMC: `backend` (the default) and those `[bmc.routes]` names, each
//! configured once from its `[bmc.NAME]` table by its kind and shared by the routes that name
//! it. A route naming a backend without its table, a table that nothing uses, or a backend whose
//! own time limits could outlast the request deadline is an error, and so is a power status that
//! no backend of its route can read.

use super::routes::{routes, RoutesToml};
use crate::kinds;
use backend_config::tables::Table;
use backend_config::{BackendConfig, BackendKind, BmcContext, ConfigError, Source};
use ipmi_bmc::routing::{Operation, RouteTable};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use toml::Spanned;

/// The default backend, the others the routes name, and the route table (if any); `tables`
/// holds each kind's table of this BMC.
pub(super) fn backends(
    src: &Source,
    span: Range<usize>,
    name: &str,
    backend: Option<&Spanned<String>>,
    routes_toml: Option<&Spanned<RoutesToml>>,
    tables: &[(&dyn BackendKind, Option<&Table>)],
    state_dir: Option<&std::path::Path>,
) -> Result<(BackendConfig, Vec<BackendConfig>, Option<RouteTable>), ConfigError> {
    let default = backend
        .map(|s| s.get_ref().clone())
        .unwrap_or_else(|| "sim".into());
    let default_span = backend.map_or(span.clone(), |s| s.span());
    if kinds::by_name(&default).is_none() {
        return Err(src.err(
            default_span,
            format!(
                "unknown backend {default:?} (available: {})",
                kinds::names().join(", ")
            ),
        ));
    }
    let table = match routes_toml {
        Some(r) => Some(routes(src, &default, r)?),
        None => None,
    };
    let mut used: BTreeSet<String> = BTreeSet::from([default.clone()]);
    if let Some(t) = &table {
        used.extend(t.routes.values().flatten().cloned());
    }
    for (kind, t) in tables {
        let kind = kind.name();
        if let Some(t) = t {
            if !used.contains(kind) {
                return Err(src.err(
                    t.span(),
                    format!("[bmc.{kind}] is configured, but neither backend nor [bmc.routes] uses {kind:?}"),
                ));
            }
        }
    }
    let cx = BmcContext {
        src,
        name,
        span: span.clone(),
        state_dir,
    };
    let mut configs = BTreeMap::new();
    for kind in &used {
        let (k, t) = tables
            .iter()
            .find(|(k, _)| k.name() == kind)
            .expect("routes name known kinds only");
        let c = k.configure(&cx, *t)?;
        if let Some(limit) = &c.longest_call {
            limit.check(src, &format!("[bmc.{kind}]"), span.clone())?;
        }
        configs.insert(kind.clone(), c.backend);
    }
    // Every client asks for the power status: some backend of its route must be able to read it.
    let status_chain = table
        .as_ref()
        .map_or(vec![default.as_str()], |t| t.chain(Operation::PowerStatus));
    let why: Vec<String> = status_chain
        .iter()
        .filter_map(|k| {
            configs[*k]
                .supports(Operation::PowerStatus)
                .err()
                .map(|w| format!("{k}: {w}"))
        })
        .collect();
    if why.len() == status_chain.len() {
        let routed = table
            .as_ref()
            .is_some_and(|t| t.routes.contains_key(&Operation::PowerStatus));
        let at = match routes_toml {
            Some(r) if routed => r.span(),
            _ => default_span,
        };
        return Err(src.err(
            at,
            format!(
                "no backend can read the power status ({}): route power_status to one that can, e.g. [bmc.routes] power_status = \"ssh\"",
                why.join("; ")
            ),
        ));
    }
    let main = configs.remove(&default).expect("the default is used");
    Ok((main, configs.into_values().collect(), table))
}
