//! A load generator: N concurrent sessions against one or many BMCs, each sending one request
//! after another, for a duration or a count. It measures requests per second, latency
//! percentiles, session set-up time and rate, and errors. It speaks plain RMCP+, so it works
//! against any BMC. [`run`] is the closed loop (each session sends as soon as it has its answer);
//! [`run_open_loop`] sends on a fixed schedule and measures from the intended send times.

mod open_loop;

pub use open_loop::LATE_AFTER;

use crate::{Error, Response, Retry, Session};
use ipmi_proto::session::ClientConfig;
use ipmi_proto::types::{CompletionCode, NetFn};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Each worker logs in once and sends requests in its session.
    Requests,
    /// Each worker logs in, sends one request and closes, again and again (session set-up rate).
    Logins,
}

/// A benchmark run.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// BMC addresses; workers are spread over them round-robin.
    pub targets: Vec<SocketAddr>,
    /// Concurrent sessions (workers).
    pub sessions: usize,
    /// Stop after this long...
    pub duration: Duration,
    /// ...or after this many requests in all, whichever comes first.
    pub count: Option<u64>,
    /// The request to send: NetFn, command, data (default Get Chassis Status).
    pub request: (NetFn, u8, Vec<u8>),
    /// Login settings.
    pub client: ClientConfig,
    /// Retransmission policy.
    pub retry: Retry,
    /// What to measure.
    pub mode: Mode,
    /// Print a progress line to stderr every second.
    pub progress: bool,
}

/// The results of a run.
#[derive(Clone, Debug, Default)]
pub struct BenchReport {
    /// Requests answered with completion code 0.
    pub ok: u64,
    /// Requests answered with another completion code.
    pub ccode_errors: u64,
    /// Requests or logins that failed (timeouts, refused logins).
    pub errors: u64,
    /// Sessions opened.
    pub logins: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Request latencies, sorted.
    pub latencies: Vec<Duration>,
    /// Login (session set-up) latencies, sorted.
    pub login_latencies: Vec<Duration>,
    /// The first few error messages.
    pub error_samples: Vec<String>,
    /// One answer, to compare with what another client (ipmitool) gets for the same request.
    pub sample: Option<Response>,
    /// Open loop only: the requests the schedule asked for.
    pub scheduled: Option<u64>,
    /// Open loop only: requests sent more than [`LATE_AFTER`] after their intended time.
    pub late: u64,
    /// Open loop only: how long after its intended time each request went out, sorted.
    pub send_lags: Vec<Duration>,
}

impl BenchReport {
    /// Answered requests per second.
    pub fn rate(&self) -> f64 {
        (self.ok + self.ccode_errors) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// Sessions opened per second.
    pub fn login_rate(&self) -> f64 {
        self.logins as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// The `p`-th percentile (0..=100) of request latency.
    pub fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }
    /// The `p`-th percentile (0..=100) of login latency.
    pub fn login_percentile(&self, p: f64) -> Duration {
        percentile(&self.login_latencies, p)
    }
    /// The `p`-th percentile (0..=100) of the open loop's send lag (actual - intended send time).
    pub fn send_lag_percentile(&self, p: f64) -> Duration {
        percentile(&self.send_lags, p)
    }

    /// Adds one worker's counts and samples (the caller sorts the latencies at the end).
    fn add(&mut self, w: Worker) {
        self.ok += w.ok;
        self.ccode_errors += w.ccode_errors;
        self.errors += w.errors;
        self.logins += w.logins;
        self.latencies.extend(w.latencies);
        self.login_latencies.extend(w.login_latencies);
        if self.sample.is_none() {
            self.sample = w.sample;
        }
        for e in w.error_samples {
            if self.error_samples.len() < 5 {
                self.error_samples.push(e);
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[derive(Default)]
struct Worker {
    ok: u64,
    ccode_errors: u64,
    errors: u64,
    logins: u64,
    latencies: Vec<Duration>,
    login_latencies: Vec<Duration>,
    error_samples: Vec<String>,
    sample: Option<Response>,
}

impl Worker {
    fn error(&mut self, e: &Error) {
        self.errors += 1;
        if self.error_samples.len() < 3 {
            self.error_samples.push(e.to_string());
        }
    }
}

/// Prints the answered requests and their rate to stderr every second, until aborted.
fn progress(done: Arc<AtomicU64>, start: Instant) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = 0;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = done.load(Ordering::Relaxed);
            eprint!(
                "\r{:>6.1}s  {} requests  {} req/s   ",
                start.elapsed().as_secs_f64(),
                now,
                now - last
            );
            last = now;
        }
    })
}

/// Runs an open-loop benchmark (wrk2 style): `rate` requests per second in all, on a fixed
/// schedule spread evenly over the sessions (at least one per target; every session logs in
/// before the schedule starts), each latency measured from the request's intended send time so
/// that a stall counts against every request it delays. [`BenchConfig::mode`] is ignored: the
/// sessions stay open. Stops after [`BenchConfig::duration`] of schedule or
/// [`BenchConfig::count`] requests, then waits for the answers still due.
pub async fn run_open_loop(cfg: BenchConfig, rate: f64) -> BenchReport {
    open_loop::run(cfg, rate).await
}

/// Runs a benchmark (closed loop).
pub async fn run(cfg: BenchConfig) -> BenchReport {
    let cfg = Arc::new(cfg);
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + cfg.duration;
    let progress = cfg.progress.then(|| progress(done.clone(), start));
    let mut tasks = Vec::new();
    for i in 0..cfg.sessions.max(1) {
        let cfg = cfg.clone();
        let done = done.clone();
        let target = cfg.targets[i % cfg.targets.len()];
        tasks.push(tokio::spawn(async move {
            let mut w = Worker::default();
            let budget_left =
                |done: &AtomicU64| cfg.count.is_none_or(|c| done.load(Ordering::Relaxed) < c);
            let mut session: Option<Session> = None;
            while Instant::now() < deadline && budget_left(&done) {
                if session.is_none() {
                    let t = Instant::now();
                    match Session::open(target, cfg.client.clone(), cfg.retry).await {
                        Ok(s) => {
                            w.logins += 1;
                            w.login_latencies.push(t.elapsed());
                            session = Some(s);
                        }
                        Err(e) => {
                            w.error(&e);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    }
                }
                let s = session.as_mut().expect("opened above");
                let (netfn, cmd, data) = &cfg.request;
                let t = Instant::now();
                match s.request(*netfn, *cmd, data).await {
                    Ok(r) => {
                        w.latencies.push(t.elapsed());
                        done.fetch_add(1, Ordering::Relaxed);
                        if r.ccode == CompletionCode::OK {
                            w.ok += 1;
                        } else {
                            w.ccode_errors += 1;
                        }
                        if w.sample.is_none() {
                            w.sample = Some(r);
                        }
                    }
                    Err(e) => {
                        w.error(&e);
                        session = None;
                        continue;
                    }
                }
                if cfg.mode == Mode::Logins {
                    if let Some(s) = session.take() {
                        s.close().await;
                    }
                }
            }
            if let Some(s) = session {
                s.close().await;
            }
            w
        }));
    }
    let mut report = BenchReport::default();
    for t in tasks {
        if let Ok(w) = t.await {
            report.add(w);
        }
    }
    report.elapsed = start.elapsed();
    if let Some(p) = progress {
        p.abort();
        eprintln!();
    }
    report.latencies.sort();
    report.login_latencies.sort();
    report
}
