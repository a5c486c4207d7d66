//! `ipmi-to-metal`: a BMC that isn't one. It serves IPMI over LAN for each configured machine and
//! carries out every request through a backend.

mod admin;
mod audit;
mod bench;
#[cfg(test)]
mod captured_log;
mod cli;
mod config;
mod console;
mod console_log;
mod console_watch;
mod discovery;
mod echo_floor;
#[cfg(test)]
mod example_backend;
mod factory;
mod fake;
mod ipxe;
mod kinds;
mod logs;
mod metered;
mod power_refresh;
mod private_file;
mod redfish;
mod reload;
mod runtime;
mod serve;
mod shard;
mod shutdown;
mod state;
mod udp_send;

use clap::Parser;
use cli::{Cli, Command};
use config::BmcConfig;
use std::net::SocketAddr;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A backend may run this program as a helper of its own (ssh's SSH_ASKPASS).
    if let Some(code) = kinds::helper_main() {
        return code;
    }
    let cli = Cli::parse();
    logs::init(cli.log_format);
    match cli.command {
        Command::Completions { shell } => match cli::completions(shell, &mut std::io::stdout()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("completions: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Man { out_dir } => {
            let written = match out_dir {
                Some(dir) => cli::man_pages_to(&dir),
                None => cli::man_page(&mut std::io::stdout()),
            };
            match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("man: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::FakeMetal(args) => match fake::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("fake-metal: {e}");
                ExitCode::from(2)
            }
        },
        Command::EchoFloor { listen } => match echo_floor::run(listen) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("echo-floor: {e}");
                ExitCode::from(2)
            }
        },
        Command::Bench(args) => match bench::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench: {e}");
                ExitCode::from(2)
            }
        },
        Command::CheckConfig { config } => match config::load(&config) {
            Ok(c) => {
                for (who, warning) in config::grouped_warnings(&c.warnings()) {
                    eprintln!("warning: {who}: weakened setting: {warning}");
                }
                for b in &c.bmcs {
                    println!(
                        "{}: listen {} backend {} users {}",
                        b.settings.name,
                        b.listen,
                        b.backend.describe(),
                        b.server.users.len()
                    );
                    if let Some(r) = b.redfish_listen {
                        println!("  redfish {r} (this BMC's own Redfish service)");
                    }
                    for e in &b.extra {
                        println!("  also {}", e.describe());
                    }
                    if let Some(t) = &b.routes {
                        for op in ipmi_bmc::routing::Operation::ALL {
                            let chain = t.chain(op).join(" -> ");
                            let extra = if op == ipmi_bmc::routing::Operation::Soft
                                && t.chain(op).len() > 1
                            {
                                format!(
                                    " (hard off by the next if not off within {:?})",
                                    t.soft_deadline
                                )
                            } else {
                                String::new()
                            };
                            println!("  route {:<13} {chain}{extra}", op.name());
                        }
                    }
                }
                let sync = match c.state.sync {
                    sel_store::Sync::EveryCommit => ", each change fsync'd before the answer",
                    // The default (written, fsync'd within 1 s) goes without saying.
                    sel_store::Sync::Written => "",
                };
                println!(
                    "state: SEL in {} ({} records per BMC{sync})",
                    c.state.sel_path.display(),
                    c.state.sel_capacity
                );
                if let Some(a) = &c.admin {
                    let open = if a.open.is_empty() {
                        "none".to_string()
                    } else {
                        a.open.join(", ")
                    };
                    println!(
                        "admin: listen {} (open without the token: {open})",
                        a.listen
                    );
                }
                if let Some(r) = &c.redfish {
                    let tls = match (&r.tls, r.allow_http) {
                        (_, true) => "plain HTTP".to_string(),
                        (Some((cert, _)), false) => format!("TLS, certificate {}", cert.display()),
                        (None, false) => {
                            "TLS, self-signed certificate in the state directory".into()
                        }
                    };
                    let scheme = if r.allow_http { "http" } else { "https" };
                    let at = match r.listen {
                        Some(l) => format!("{scheme}://{l}/redfish/v1"),
                        None => "no aggregate service".to_string(),
                    };
                    let own = match r.per_bmc_port {
                        Some(p) => format!("; each BMC's own on its IP address, port {p}"),
                        None => String::new(),
                    };
                    println!(
                        "redfish: {at} ({tls}; sessions: {} at most, {} s idle{own})",
                        r.max_sessions, r.session_timeout
                    );
                }
                if let Some(i) = &c.ipxe {
                    println!(
                        "ipxe: listen {} public_url {} (virtual media scripts)",
                        i.listen, i.public_url
                    );
                }
                match &c.audit {
                    config::AuditTarget::Off => println!("audit: off"),
                    config::AuditTarget::Stdout => println!("audit: standard output"),
                    config::AuditTarget::File(p) => println!("audit: {}", p.display()),
                }
                for d in &c.discovery {
                    println!(
                        "discovery {}: {}, {} addresses from {}, users {}, state {}, shard {}",
                        d.name,
                        d.describe(),
                        d.pool.len(),
                        d.pool[0],
                        d.server.users.len(),
                        d.state_file.display(),
                        d.shard
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        Command::List { config } => match config::load(&config) {
            Ok(c) => list(c),
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        Command::Serve { config, listen } => {
            let loaded = match config {
                Some(path) => match reload::Loaded::read(&path) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("{e}");
                        return ExitCode::from(2);
                    }
                },
                None => reload::Loaded::built_in(config::Config {
                    bmcs: vec![default_bmc(listen)],
                    discovery: Vec::new(),
                    state: config::built_in_state(listen),
                    admin: None,
                    redfish: None,
                    audit: config::default_audit_target(),
                    audit_fail_open: false,
                    ipxe: None,
                }),
            };
            let rt = match runtime_or_exit(true) {
                Ok(rt) => rt,
                Err(code) => return code,
            };
            let result = rt.block_on(async {
                let signals = shutdown::Signals::catch()?;
                serve::serve(loaded, signals).await
            });
            match result {
                Ok(shutdown::Ending::Clean) => ExitCode::SUCCESS,
                Ok(shutdown::Ending::Forced(signal)) => {
                    // Drops the tasks still running, which kills a command backend's programs
                    // with them; waits for that only briefly.
                    rt.shutdown_timeout(std::time::Duration::from_millis(200));
                    ExitCode::from(signal.exit_status())
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// The tokio runtime: multi-threaded, or on this thread only.
pub(crate) fn tokio_runtime(multi: bool) -> Result<tokio::runtime::Runtime, String> {
    let mut b = if multi {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    b.enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// [`tokio_runtime`], or the exit code after saying why it could not start.
fn runtime_or_exit(multi: bool) -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio_runtime(multi).map_err(|e| {
        eprintln!("{e}");
        ExitCode::FAILURE
    })
}

/// Prints every BMC of a configuration: the configured ones, then those each discovery would
/// serve now (the project is listed once; addresses as kept in the state file, or as they would
/// be assigned).
fn list(c: config::Config) -> ExitCode {
    println!("{:<24} {:<38} {:<22} BACKEND", "NAME", "DEVICE", "ADDRESS");
    for b in &c.bmcs {
        let device = b.backend.device().unwrap_or("-");
        println!(
            "{:<24} {:<38} {:<22} {}",
            b.settings.name,
            device,
            b.listen,
            b.backend.describe()
        );
    }
    let rt = match runtime_or_exit(false) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let mut status = ExitCode::SUCCESS;
    let mut taken: std::collections::HashSet<String> =
        c.bmcs.iter().map(|b| b.settings.name.clone()).collect();
    let mut factory = factory::BackendFactory::default();
    for d in &c.discovery {
        let lister = discovery::Lister::of(factory.shared(), d);
        let devices = rt.block_on(lister.list(d, std::time::Duration::from_secs(60)));
        match devices {
            Ok(devices) => {
                let mut a = discovery::Assignments::load(&d.state_file);
                let none = std::collections::HashMap::new();
                let shard = if d.shard.count() > 1 {
                    format!(", shard {}", d.shard)
                } else {
                    String::new()
                };
                for p in discovery::plan(d, &devices, &mut a, &taken, &none) {
                    let kind = match &d.source {
                        config::DiscoverySource::Metal(m) => {
                            format!("metal (discovery {}, tag {:?}{shard})", d.name, m.tag)
                        }
                        config::DiscoverySource::Libvirt(l) => {
                            format!("libvirt (discovery {}, {}{shard})", d.name, l.describe())
                        }
                    };
                    println!(
                        "{:<24} {:<38} {:<22} {kind}",
                        p.name,
                        p.device_id,
                        p.addr.map_or("(pool exhausted)".into(), |a| a.to_string()),
                    );
                    taken.insert(p.name);
                }
            }
            Err(e) => {
                eprintln!("discovery {}: cannot list the machines: {e}", d.name);
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}

/// One simulated BMC with user `admin`, whose password comes from `IPMI_PASSWORD` or is generated
/// and printed once with a ready-to-paste ipmitool command line.
fn default_bmc(listen: SocketAddr) -> BmcConfig {
    let (password, generated) = match std::env::var("IPMI_PASSWORD") {
        Ok(p) if !p.is_empty() && p.len() <= 20 => (p, false),
        _ => {
            use rand::distributions::{Alphanumeric, DistString};
            (Alphanumeric.sample_string(&mut rand::rngs::OsRng, 16), true)
        }
    };
    // The built-in configuration only ever lives in memory; the password is quoted as TOML.
    let quoted = toml::Value::String(password.clone());
    let toml_text = format!(
        "[[bmc]]\nname = \"sim\"\nlisten = \"{listen}\"\nbackend = \"sim\"\n[[bmc.users]]\nname = \"admin\"\npassword = {quoted}\nprivilege = \"administrator\"\n"
    );
    let mut bmcs = config::parse("<built-in>", &toml_text, std::path::Path::new("."))
        .expect("the built-in configuration is valid");
    let host = listen.ip();
    let port = listen.port();
    println!("ipmi-to-metal: one simulated BMC on {listen}, user admin.");
    if generated {
        println!("Generated password (set IPMI_PASSWORD to choose one): {password}");
        println!("Try:  IPMI_PASSWORD='{password}' ipmitool -I lanplus -H {host} -p {port} -U admin -E chassis status");
    } else {
        println!("Password from IPMI_PASSWORD.");
        println!("Try:  ipmitool -I lanplus -H {host} -p {port} -U admin -E chassis status");
    }
    bmcs.remove(0)
}
