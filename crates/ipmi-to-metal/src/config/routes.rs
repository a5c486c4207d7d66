//! `[bmc.routes]`: which backend (or fallback chain) carries out each operation.

use crate::kinds;
use backend_config::{ConfigError, Source};
use ipmi_bmc::routing::{Operation, RouteTable};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(untagged)]
enum RouteValue {
    One(String),
    Chain(Vec<String>),
}

/// `[bmc.routes]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoutesToml {
    /// Shorthand for power_status, on, off, cycle and reset.
    power: Option<Spanned<RouteValue>>,
    power_status: Option<Spanned<RouteValue>>,
    on: Option<Spanned<RouteValue>>,
    off: Option<Spanned<RouteValue>>,
    cycle: Option<Spanned<RouteValue>>,
    reset: Option<Spanned<RouteValue>>,
    soft: Option<Spanned<RouteValue>>,
    diag: Option<Spanned<RouteValue>>,
    boot: Option<Spanned<RouteValue>>,
    identify: Option<Spanned<RouteValue>>,
    sensors: Option<Spanned<RouteValue>>,
    inventory: Option<Spanned<RouteValue>>,
    console: Option<Spanned<RouteValue>>,
    relay: Option<Spanned<RouteValue>>,
    media: Option<Spanned<RouteValue>>,
    soft_deadline_s: Option<u64>,
}

/// The route table; `default` is the backend of the operations without a route.
pub(super) fn routes(
    src: &Source,
    default: &str,
    r: &Spanned<RoutesToml>,
) -> Result<RouteTable, ConfigError> {
    let t = r.get_ref();
    let mut table = RouteTable {
        default: default.to_string(),
        routes: BTreeMap::new(),
        soft_deadline: Duration::from_secs(t.soft_deadline_s.unwrap_or(60).max(1)),
    };
    let chain = |v: &Spanned<RouteValue>| -> Result<Vec<String>, ConfigError> {
        let names = match v.get_ref() {
            RouteValue::One(n) => vec![n.clone()],
            RouteValue::Chain(c) => c.clone(),
        };
        if names.is_empty() {
            return Err(src.err(v.span(), "a route names at least one backend"));
        }
        for n in &names {
            if kinds::by_name(n).is_none() {
                return Err(src.err(
                    v.span(),
                    format!(
                        "unknown backend {n:?} in a route (available: {})",
                        kinds::names().join(", ")
                    ),
                ));
            }
        }
        Ok(names)
    };
    if let Some(p) = &t.power {
        let c = chain(p)?;
        for op in [
            Operation::PowerStatus,
            Operation::On,
            Operation::Off,
            Operation::Cycle,
            Operation::Reset,
        ] {
            table.routes.insert(op, c.clone());
        }
    }
    let each = [
        (Operation::PowerStatus, &t.power_status),
        (Operation::On, &t.on),
        (Operation::Off, &t.off),
        (Operation::Cycle, &t.cycle),
        (Operation::Reset, &t.reset),
        (Operation::Soft, &t.soft),
        (Operation::Diag, &t.diag),
        (Operation::Boot, &t.boot),
        (Operation::Identify, &t.identify),
        (Operation::Sensors, &t.sensors),
        (Operation::Inventory, &t.inventory),
        (Operation::Console, &t.console),
        (Operation::Relay, &t.relay),
        (Operation::Media, &t.media),
    ];
    for (op, v) in each {
        if let Some(v) = v {
            table.routes.insert(op, chain(v)?);
        }
    }
    Ok(table)
}
