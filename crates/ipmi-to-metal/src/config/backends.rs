//! A BMC's backends: `backend` (the default), the tables `[bmc.sim]`, `[bmc.metal]`,
//! `[bmc.ipmi]`, `[bmc.ssh]`, `[bmc.command]`, and `[bmc.routes]`, which names a backend (or a
//! fallback chain) per operation. Each backend is configured once and shared by the routes that
//! name it; a route naming a backend without its table, or a table that nothing uses, is an error.

use super::{
    ipmi_backend, metal_backend, secret_from, BackendConfig, BmcToml, ConfigError, Source,
};
use backend_command::{CommandConfig, Op};
use backend_sim::SimConfig;
use backend_ssh::{SshCommands, SshConfig, Unreachable};
use ipmi_bmc::routing::{Operation, RouteTable};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// The backends there are.
const KINDS: [&str; 5] = ["sim", "metal", "ipmi", "ssh", "command"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SshToml {
    host: Spanned<String>,
    port: Option<u16>,
    user: Option<String>,
    key_file: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    known_hosts: Spanned<String>,
    connect_timeout_ms: Option<u64>,
    command_timeout_ms: Option<u64>,
    unreachable: Option<Spanned<String>>,
    local_ipmitool: Option<String>,
    soft_off: Option<String>,
    cycle: Option<String>,
    off: Option<String>,
    reset: Option<String>,
    diag: Option<String>,
    status: Option<String>,
    sensors: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommandToml {
    run: Option<Vec<String>>,
    status: Option<Vec<String>>,
    on: Option<Vec<String>>,
    off: Option<Vec<String>>,
    cycle: Option<Vec<String>>,
    reset: Option<Vec<String>>,
    soft: Option<Vec<String>>,
    diag: Option<Vec<String>>,
    boot: Option<Vec<String>>,
    #[serde(default)]
    shell: bool,
    timeout_ms: Option<u64>,
    max_output: Option<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RouteValue {
    One(String),
    Chain(Vec<String>),
}

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
    soft_deadline_s: Option<u64>,
}

/// The default backend, the others the routes name, and the route table (if any).
pub(super) fn backends(
    src: &Source,
    span: Range<usize>,
    name: &str,
    b: &BmcToml,
) -> Result<(BackendConfig, Vec<BackendConfig>, Option<RouteTable>), ConfigError> {
    let default = b
        .backend
        .as_ref()
        .map(|s| s.get_ref().clone())
        .unwrap_or_else(|| "sim".into());
    let default_span = b.backend.as_ref().map_or(span.clone(), |s| s.span());
    if !KINDS.contains(&default.as_str()) {
        return Err(src.err(
            default_span,
            format!(
                "unknown backend {default:?} (available: {})",
                KINDS.join(", ")
            ),
        ));
    }
    let table = match &b.routes {
        Some(r) => Some(routes(src, &default, r)?),
        None => None,
    };
    let mut used: BTreeSet<String> = BTreeSet::from([default.clone()]);
    if let Some(t) = &table {
        used.extend(t.routes.values().flatten().cloned());
    }
    let present: [(&str, Option<Range<usize>>); 5] = [
        ("sim", b.sim.as_ref().map(|_| span.clone())),
        ("metal", b.metal.as_ref().map(|t| t.span())),
        ("ipmi", b.ipmi.as_ref().map(|t| t.span())),
        ("ssh", b.ssh.as_ref().map(|t| t.span())),
        ("command", b.command.as_ref().map(|t| t.span())),
    ];
    for (kind, at) in &present {
        if let Some(at) = at {
            if !used.contains(*kind) {
                return Err(src.err(
                    at.clone(),
                    format!("[bmc.{kind}] is configured, but neither backend nor [bmc.routes] uses {kind:?}"),
                ));
            }
        }
    }
    let mut configs = BTreeMap::new();
    for kind in &used {
        configs.insert(kind.clone(), one(src, span.clone(), name, kind, b)?);
    }
    let main = configs.remove(&default).expect("the default is used");
    Ok((main, configs.into_values().collect(), table))
}

fn one(
    src: &Source,
    span: Range<usize>,
    name: &str,
    kind: &str,
    b: &BmcToml,
) -> Result<BackendConfig, ConfigError> {
    let missing = |table: &str, what: &str| {
        src.err(
            span.clone(),
            format!("backend {kind:?} needs a [bmc.{table}] table ({what})"),
        )
    };
    Ok(match kind {
        "sim" => {
            let s = b.sim.as_ref();
            let d = SimConfig::default();
            BackendConfig::Sim(SimConfig {
                name: name.to_string(),
                power_on_at_start: s
                    .and_then(|s| s.power_on_at_start)
                    .unwrap_or(d.power_on_at_start),
                transition: s
                    .and_then(|s| s.transition_ms)
                    .map_or(d.transition, Duration::from_millis),
                soft_off_delay: s
                    .and_then(|s| s.soft_off_ms)
                    .map_or(d.soft_off_delay, Duration::from_millis),
                honour_soft_off: s
                    .and_then(|s| s.honour_soft_off)
                    .unwrap_or(d.honour_soft_off),
            })
        }
        "ipmi" => match &b.ipmi {
            Some(t) => BackendConfig::Ipmi(ipmi_backend(src, t)?),
            None => return Err(missing("ipmi", "host, user, password_env or password_file")),
        },
        "metal" => match &b.metal {
            Some(t) => BackendConfig::Metal(metal_backend(src, t)?),
            None => return Err(missing("metal", "device_id, token_env or token_file")),
        },
        "ssh" => match &b.ssh {
            Some(t) => BackendConfig::Ssh(Box::new(ssh(src, name, t)?)),
            None => return Err(missing("ssh", "host, key_file, known_hosts")),
        },
        "command" => match &b.command {
            Some(t) => BackendConfig::Command(command(src, name, t)?),
            None => return Err(missing("command", "the programs")),
        },
        other => unreachable!("checked against KINDS: {other}"),
    })
}

fn ssh(src: &Source, name: &str, t: &Spanned<SshToml>) -> Result<SshConfig, ConfigError> {
    let span = t.span();
    let t = t.get_ref();
    let path = |p: &Spanned<String>| -> Result<PathBuf, ConfigError> {
        let full = src.dir.join(p.get_ref());
        std::fs::File::open(&full)
            .map_err(|e| src.err(p.span(), format!("cannot read {}: {e}", full.display())))?;
        Ok(full)
    };
    let key_file = t.key_file.as_ref().map(path).transpose()?;
    let password = secret_from(
        src,
        "password",
        t.password_env.as_ref(),
        t.password_file.as_ref(),
    )?
    .map(|s| String::from_utf8_lossy(s.expose()).into_owned().into());
    if key_file.is_none() && password.is_none() {
        return Err(src.err(
            span,
            "[bmc.ssh] needs key_file (or password_env / password_file)",
        ));
    }
    let unreachable = match t
        .unreachable
        .as_ref()
        .map(|u| (u.get_ref().as_str(), u.span()))
    {
        None | Some(("off", _)) => Unreachable::Off,
        Some(("unknown", _)) => Unreachable::Unknown,
        Some((other, sp)) => {
            return Err(src.err(
                sp,
                format!("unreachable must be \"off\" or \"unknown\", not {other:?}"),
            ))
        }
    };
    let d = SshCommands::default();
    Ok(SshConfig {
        bmc: name.to_string(),
        host: t.host.get_ref().clone(),
        port: t.port.unwrap_or(22),
        user: t.user.clone().unwrap_or_else(|| "root".into()),
        key_file,
        password,
        known_hosts: path(&t.known_hosts)?,
        connect_timeout: Duration::from_millis(t.connect_timeout_ms.unwrap_or(5000).max(1000)),
        command_timeout: Duration::from_millis(t.command_timeout_ms.unwrap_or(30_000).max(100)),
        commands: SshCommands {
            soft_off: t.soft_off.clone().unwrap_or(d.soft_off),
            cycle: t.cycle.clone().unwrap_or(d.cycle),
            off: t.off.clone().unwrap_or(d.off),
            reset: t.reset.clone().unwrap_or(d.reset),
            diag: t.diag.clone().unwrap_or(d.diag),
            status: t.status.clone().unwrap_or(d.status),
            sensors: t.sensors.clone().unwrap_or(d.sensors),
        },
        unreachable,
        local_ipmitool: t.local_ipmitool.clone(),
        // Filled in when the backend is built.
        control_dir: PathBuf::new(),
        askpass: None,
    })
}

fn command(
    src: &Source,
    name: &str,
    t: &Spanned<CommandToml>,
) -> Result<CommandConfig, ConfigError> {
    let span = t.span();
    let t = t.get_ref();
    let mut ops = BTreeMap::new();
    let given = [
        (Op::Status, &t.status),
        (Op::On, &t.on),
        (Op::Off, &t.off),
        (Op::Cycle, &t.cycle),
        (Op::Reset, &t.reset),
        (Op::Soft, &t.soft),
        (Op::Diag, &t.diag),
        (Op::Boot, &t.boot),
    ];
    for (op, argv) in given {
        if let Some(argv) = argv {
            if argv.is_empty() || argv[0].is_empty() {
                return Err(src.err(
                    span.clone(),
                    format!("[bmc.command] {} must name a program", op.name()),
                ));
            }
            ops.insert(op, argv.clone());
        }
    }
    if t.run.as_ref().is_some_and(|r| r.is_empty()) {
        return Err(src.err(span.clone(), "[bmc.command] run must name a program"));
    }
    if ops.is_empty() && t.run.is_none() {
        return Err(src.err(
            span,
            "[bmc.command] names no program (run, status, on, off, ...)",
        ));
    }
    Ok(CommandConfig {
        bmc: name.to_string(),
        run: t.run.clone(),
        ops,
        shell: t.shell,
        timeout: Duration::from_millis(t.timeout_ms.unwrap_or(10_000).max(10)),
        max_output: t.max_output.unwrap_or(64 * 1024).clamp(1, 16 << 20),
    })
}

fn routes(src: &Source, default: &str, r: &Spanned<RoutesToml>) -> Result<RouteTable, ConfigError> {
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
            if !KINDS.contains(&n.as_str()) {
                return Err(src.err(
                    v.span(),
                    format!(
                        "unknown backend {n:?} in a route (available: {})",
                        KINDS.join(", ")
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
    ];
    for (op, v) in each {
        if let Some(v) = v {
            table.routes.insert(op, chain(v)?);
        }
    }
    Ok(table)
}
