//! `ipmi-to-metal bench`: the load generator (ipmi-client's [`bench`](ipmi_client::bench)) on the
//! command line. It speaks plain IPMI over LAN, so it measures any BMC; with `--each` it measures
//! several in turn and prints them side by side. Closed loop by default; `--rate` makes it an
//! open loop (a fixed schedule, latencies from the intended send times).

use clap::{Args, ValueEnum};
use ipmi_client::bench::{self, BenchConfig, BenchReport, Mode};
use ipmi_client::Retry;
use ipmi_proto::session::{ClientConfig, Interface, Secret};
use ipmi_proto::types::{NetFn, Privilege};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// The options of `bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// A BMC to load, as HOST:PORT or LABEL=HOST:PORT, or many as HOST:FIRST-LAST (a port
    /// range); repeat for several.
    #[arg(long = "target", short = 't', required = true)]
    targets: Vec<String>,
    /// Measure each target on its own, one after the other, and print a table (else the
    /// sessions are spread over all targets at once).
    #[arg(long)]
    each: bool,
    /// Concurrent sessions (spread over the targets).
    #[arg(long, short = 's', default_value_t = 8)]
    sessions: usize,
    /// Seconds to run (per target with --each).
    #[arg(long, short = 'd', default_value_t = 10.0)]
    duration: f64,
    /// Stop after this many requests (per target with --each).
    #[arg(long, short = 'n')]
    count: Option<u64>,
    /// Open loop: send this many requests per second in all, on a fixed schedule spread evenly
    /// over the sessions (at least one per target), and measure each latency from the request's
    /// intended send time, so that a stall counts against every request it delays (without
    /// this, each session sends as soon as it has its answer).
    #[arg(long)]
    rate: Option<f64>,
    /// What to measure: requests in open sessions, or whole logins (open, one request, close).
    #[arg(long, value_enum, default_value_t = BenchMode::Requests)]
    mode: BenchMode,
    /// The request: chassis-status, device-id, power-status, or raw bytes "NETFN CMD DATA..."
    /// in hex (for example "0x06 0x01").
    #[arg(long, default_value = "chassis-status")]
    request: String,
    /// The user to log in as.
    #[arg(long, short = 'U', default_value = "admin")]
    user: String,
    /// The environment variable holding the password (never a command-line argument).
    #[arg(
        long,
        default_value = "IPMI_PASSWORD",
        conflicts_with = "password_file"
    )]
    password_env: String,
    /// A file holding the password (instead of --password-env).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// The session's privilege level: callback, user, operator or administrator.
    #[arg(long, short = 'L', default_value = "administrator")]
    privilege: String,
    /// lanplus (IPMI 2.0 / RMCP+) or lan (IPMI 1.5).
    #[arg(long, short = 'I', value_enum, default_value_t = Iface::Lanplus)]
    interface: Iface,
    /// Cipher suites to offer, in order of preference.
    #[arg(long, short = 'C', value_delimiter = ',', default_value = "17,3")]
    cipher_suites: Vec<u8>,
    /// Milliseconds to wait for an answer before sending again.
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
    /// Retransmissions after the first try.
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// No progress line on standard error.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BenchMode {
    /// Requests in sessions kept open (logged in once each).
    Requests,
    /// Whole logins: open a session, send one request, close it.
    Logins,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Iface {
    /// IPMI 2.0 / RMCP+.
    Lanplus,
    /// IPMI 1.5.
    Lan,
}

struct Target {
    label: String,
    addr: SocketAddr,
}

fn parse_target(s: &str) -> Result<Vec<Target>, String> {
    let (label, hostport) = match s.split_once('=') {
        Some((l, h)) => (l.to_string(), h),
        None => (s.to_string(), s),
    };
    let resolve = |hp: &str| {
        hp.to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| format!("cannot resolve target {hp:?} (expected HOST:PORT)"))
    };
    if let Some((host, ports)) = hostport.rsplit_once(':') {
        if let Some((a, b)) = ports.split_once('-') {
            let (Ok(first), Ok(last)) = (a.parse::<u16>(), b.parse::<u16>()) else {
                return Err(format!("bad port range in {hostport:?}"));
            };
            let base = resolve(&format!("{host}:{first}"))?;
            return Ok((first..=last)
                .map(|p| Target {
                    label: label.clone(),
                    addr: SocketAddr::new(base.ip(), p),
                })
                .collect());
        }
    }
    Ok(vec![Target {
        label,
        addr: resolve(hostport)?,
    }])
}

/// The request as (NetFn, command, data).
fn parse_request(s: &str) -> Result<(NetFn, u8, Vec<u8>), String> {
    Ok(match s {
        "chassis-status" | "power-status" => (NetFn::CHASSIS, 0x01, Vec::new()),
        "device-id" => (NetFn::APP, 0x01, Vec::new()),
        raw => {
            let bytes = raw
                .split_whitespace()
                .map(|b| u8::from_str_radix(b.trim_start_matches("0x"), 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| format!("bad request {raw:?}: expected a name or hex bytes"))?;
            if bytes.len() < 2 {
                return Err("a raw request needs at least NETFN and CMD".into());
            }
            (NetFn(bytes[0]), bytes[1], bytes[2..].to_vec())
        }
    })
}

/// Runs the benchmark and prints its report; the error is for the user.
pub fn run(args: BenchArgs) -> Result<(), String> {
    let mut targets = Vec::new();
    for t in &args.targets {
        targets.extend(parse_target(t)?);
    }
    if targets.is_empty() {
        return Err("no targets".into());
    }
    let password = match &args.password_file {
        Some(p) => {
            let mut v = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            while v.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                v.pop();
            }
            v
        }
        None => std::env::var(&args.password_env)
            .map_err(|_| {
                format!(
                    "set {} to the password (or give --password-file)",
                    args.password_env
                )
            })?
            .into_bytes(),
    };
    let privilege = Privilege::from_name(&args.privilege)
        .ok_or_else(|| format!("bad privilege {:?}", args.privilege))?;
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!(
                "bad --rate {rate}: expected requests per second above 0"
            ));
        }
        if matches!(args.mode, BenchMode::Logins) {
            return Err("--rate measures requests in open sessions: drop --mode logins".into());
        }
    }
    let template = BenchConfig {
        targets: Vec::new(),
        sessions: args.sessions.max(1),
        duration: Duration::from_secs_f64(args.duration.max(0.1)),
        count: args.count,
        request: parse_request(&args.request)?,
        client: ClientConfig {
            username: args.user.clone(),
            password: Secret::new(password),
            kg: None,
            privilege,
            cipher_suites: args.cipher_suites.clone(),
            interface: match args.interface {
                Iface::Lanplus => Interface::Lanplus,
                Iface::Lan => Interface::Lan,
            },
        },
        retry: Retry {
            timeout: Duration::from_millis(args.timeout_ms.max(1)),
            retries: args.retries,
        },
        mode: match args.mode {
            BenchMode::Requests => Mode::Requests,
            BenchMode::Logins => Mode::Logins,
        },
        progress: !args.quiet,
    };
    let rt = crate::tokio_runtime(true)?;
    let runs: Vec<(String, BenchConfig)> = if args.each {
        targets
            .iter()
            .map(|t| {
                let mut c = template.clone();
                c.targets = vec![t.addr];
                (t.label.clone(), c)
            })
            .collect()
    } else {
        let mut c = template.clone();
        c.targets = targets.iter().map(|t| t.addr).collect();
        let mut labels: Vec<&str> = targets.iter().map(|t| t.label.as_str()).collect();
        labels.dedup();
        vec![(labels.join(","), c)]
    };
    let sessions = match args.rate {
        // The open loop opens at least one session per target it loads at once.
        Some(_) if !args.each => template.sessions.max(targets.len()),
        _ => template.sessions,
    };
    println!(
        "bench: {} sessions, {} {}, request {}, {}",
        sessions,
        match args.rate {
            Some(r) => format!("open loop at {r} requests/s"),
            None => format!("{:?}", template.mode),
        },
        match template.count {
            Some(n) => format!("up to {n} requests or {:?}", template.duration),
            None => format!("for {:?}", template.duration),
        },
        args.request,
        match args.interface {
            Iface::Lanplus => format!("lanplus, cipher suites {:?}", args.cipher_suites),
            Iface::Lan => "lan (IPMI 1.5, MD5)".into(),
        }
    );
    println!(
        "{}",
        match args.rate {
            Some(_) => open_header(),
            None => header(),
        }
    );
    for (label, cfg) in runs {
        if !args.quiet {
            eprintln!("measuring {label}...");
        }
        let report = match args.rate {
            Some(rate) => rt.block_on(bench::run_open_loop(cfg, rate)),
            None => rt.block_on(bench::run(cfg)),
        };
        println!(
            "{}",
            match args.rate {
                Some(rate) => open_row(&label, rate, &report),
                None => row(&label, &report),
            }
        );
        for e in &report.error_samples {
            println!("    error: {e}");
        }
        if let Some(r) = &report.sample {
            let data: Vec<String> = r.data.iter().map(|b| format!("{b:02x}")).collect();
            println!("    answer: ccode={} data={}", r.ccode, data.join(" "));
        }
    }
    Ok(())
}

fn header() -> String {
    format!(
        "{:<16} {:>9} {:>8} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9} {:>8} {:>10} {:>9}",
        "target",
        "req/s",
        "ok",
        "ccode!=0",
        "failed",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "logins",
        "logins/s",
        "login p50"
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn row(label: &str, r: &BenchReport) -> String {
    format!(
        "{:<16} {:>9.0} {:>8} {:>8} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>8} {:>10.1} {:>9.2}",
        label,
        r.rate(),
        r.ok,
        r.ccode_errors,
        r.errors,
        ms(r.percentile(50.0)),
        ms(r.percentile(90.0)),
        ms(r.percentile(99.0)),
        ms(r.percentile(100.0)),
        r.logins,
        r.login_rate(),
        ms(r.login_percentile(50.0)),
    )
}

/// The open loop's columns: the rate asked and achieved, what became of the scheduled
/// requests, latency from the intended send time, and the generator's own send lag.
fn open_header() -> String {
    format!(
        "{:<16} {:>9} {:>9} {:>9} {:>8} {:>8} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "target",
        "asked/s",
        "req/s",
        "scheduled",
        "ok",
        "ccode!=0",
        "failed",
        "late",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "lag p99",
        "logins"
    )
}

fn open_row(label: &str, rate: f64, r: &BenchReport) -> String {
    format!(
        "{:<16} {:>9.0} {:>9.0} {:>9} {:>8} {:>8} {:>7} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7}",
        label,
        rate,
        r.rate(),
        r.scheduled.unwrap_or(0),
        r.ok,
        r.ccode_errors,
        r.errors,
        r.late,
        ms(r.percentile(50.0)),
        ms(r.percentile(90.0)),
        ms(r.percentile(99.0)),
        ms(r.percentile(99.9)),
        ms(r.percentile(100.0)),
        ms(r.send_lag_percentile(99.0)),
        r.logins,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_targets_parse() {
        assert_eq!(
            parse_request("0x06 0x01").unwrap(),
            (NetFn::APP, 0x01, Vec::new())
        );
        assert_eq!(
            parse_request("00 08 05 e0 04").unwrap(),
            (NetFn::CHASSIS, 0x08, vec![0x05, 0xe0, 0x04])
        );
        assert!(parse_request("0x06").is_err());
        assert!(parse_request("zz 01").is_err());
        let t = parse_target("shim=127.0.0.1:623").unwrap();
        assert_eq!((t[0].label.as_str(), t[0].addr.port()), ("shim", 623));
        assert!(parse_target("nowhere").is_err());
        let many = parse_target("fleet=127.0.0.1:7000-7999").unwrap();
        assert_eq!(many.len(), 1000);
        assert_eq!(many[999].addr, "127.0.0.1:7999".parse().unwrap());
        assert!(parse_target("127.0.0.1:9-1x").is_err());
    }
}
