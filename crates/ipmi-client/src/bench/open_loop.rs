//! The open-loop load generator (wrk2 style): requests go out on a fixed schedule, `rate` per
//! second spread evenly over the sessions, whatever the BMC does, and each latency is measured
//! from the request's *intended* send time. A closed loop waits for each answer before it sends
//! the next request, so when the server stalls it also stops asking and the stall shows up in one
//! latency sample instead of in every request that should have gone out meanwhile (coordinated
//! omission); here the requests the stall delayed queue up and each carries its full wait.
//!
//! The schedule is kept by a dedicated thread sleeping with the OS timer (tens of microseconds
//! of slack), not by tokio's timer wheel whose 1 ms ticks would add up to 1 ms to every sample.

use super::{BenchConfig, BenchReport, Worker};
use crate::Session;
use ipmi_proto::types::CompletionCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// A request sent later than this after its intended time counts as late: its session was
/// still waiting for an earlier answer (or the generator itself fell behind).
pub const LATE_AFTER: Duration = Duration::from_millis(1);

/// The fixed schedule: request `i` is due `i / rate` seconds after the start, on session
/// `i % sessions`, and there are `len` of them.
#[derive(Clone, Copy, Debug)]
struct Schedule {
    rate: f64,
    sessions: usize,
    len: u64,
}

impl Schedule {
    fn new(rate: f64, sessions: usize, duration: Duration, count: Option<u64>) -> Schedule {
        let by_time = (rate * duration.as_secs_f64()).floor() as u64;
        Schedule {
            rate,
            sessions: sessions.max(1),
            len: count.map_or(by_time, |c| c.min(by_time)),
        }
    }

    /// When request `i` is due, after the start.
    fn due(&self, i: u64) -> Duration {
        Duration::from_secs_f64(i as f64 / self.rate)
    }

    /// The session that sends request `i`.
    fn session(&self, i: u64) -> usize {
        (i % self.sessions as u64) as usize
    }
}

/// Releases each request at its due time to its session's queue; returns when all are out.
fn pace(schedule: Schedule, start: Instant, queues: Vec<UnboundedSender<Instant>>) {
    for i in 0..schedule.len {
        let due = start + schedule.due(i);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        // A session that ended (its receiver dropped) takes no more requests.
        let _ = queues[schedule.session(i)].send(due);
    }
}

/// Per-session results beyond the closed loop's.
#[derive(Default)]
struct OpenWorker {
    base: Worker,
    late: u64,
    send_lags: Vec<Duration>,
    last_answer: Option<Instant>,
}

/// Runs an open-loop benchmark: at least one session per target, `rate` requests per second in
/// all. Every session logs in before the schedule starts.
pub async fn run(cfg: BenchConfig, rate: f64) -> BenchReport {
    let cfg = Arc::new(cfg);
    let sessions = cfg.sessions.max(cfg.targets.len()).max(1);
    let schedule = Schedule::new(rate, sessions, cfg.duration, cfg.count);

    // Log every session in first, so that the schedule measures requests, not logins.
    let mut logins = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let cfg = cfg.clone();
        let target = cfg.targets[i % cfg.targets.len()];
        logins.push(tokio::spawn(async move {
            let t = Instant::now();
            let s = Session::open(target, cfg.client.clone(), cfg.retry).await;
            (s, t.elapsed())
        }));
    }
    let mut opened = Vec::with_capacity(sessions);
    for l in logins {
        opened.push(l.await.ok());
    }

    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now() + Duration::from_millis(10);
    let end = start + schedule.due(schedule.len);
    // Requests still queued this long after the schedule ends are given up, as failed.
    let give_up = end + cfg.retry.timeout * (cfg.retry.retries + 1) + Duration::from_secs(1);
    let progress = cfg.progress.then(|| super::progress(done.clone(), start));
    let mut queues = Vec::with_capacity(sessions);
    let mut tasks = Vec::with_capacity(sessions);
    for (i, login) in opened.into_iter().enumerate() {
        let (tx, rx) = unbounded_channel();
        queues.push(tx);
        let mut w = OpenWorker::default();
        let session = match login {
            Some((Ok(s), took)) => {
                w.base.logins += 1;
                w.base.login_latencies.push(took);
                Some(s)
            }
            Some((Err(e), _)) => {
                w.base.error(&e);
                None
            }
            None => None,
        };
        let target = cfg.targets[i % cfg.targets.len()];
        tasks.push(tokio::spawn(worker(
            cfg.clone(),
            target,
            session,
            rx,
            w,
            done.clone(),
            give_up,
        )));
    }
    let pacer = tokio::task::spawn_blocking(move || pace(schedule, start, queues));
    let _ = pacer.await;

    let mut report = BenchReport {
        scheduled: Some(schedule.len),
        ..BenchReport::default()
    };
    let mut last_answer = None;
    for t in tasks {
        if let Ok(w) = t.await {
            report.late += w.late;
            report.send_lags.extend(w.send_lags);
            last_answer = last_answer.max(w.last_answer);
            report.add(w.base);
        }
    }
    // Up to the last answer: the sessions' closing is not part of the schedule.
    report.elapsed = last_answer
        .unwrap_or_else(Instant::now)
        .saturating_duration_since(start);
    if let Some(p) = progress {
        p.abort();
        eprintln!();
    }
    report.latencies.sort();
    report.login_latencies.sort();
    report.send_lags.sort();
    report
}

/// One session: sends each request its queue releases, as soon as the previous one is
/// answered, and measures from the request's due time.
async fn worker(
    cfg: Arc<BenchConfig>,
    target: std::net::SocketAddr,
    mut session: Option<Session>,
    mut queue: UnboundedReceiver<Instant>,
    mut w: OpenWorker,
    done: Arc<AtomicU64>,
    give_up: Instant,
) -> OpenWorker {
    let (netfn, cmd, data) = &cfg.request;
    while let Some(due) = queue.recv().await {
        if Instant::now() > give_up {
            w.base.errors += 1;
            if w.base.error_samples.len() < 3 {
                w.base
                    .error_samples
                    .push("not sent: still queued when the run ended".into());
            }
            continue;
        }
        if session.is_none() {
            let t = Instant::now();
            match Session::open(target, cfg.client.clone(), cfg.retry).await {
                Ok(s) => {
                    w.base.logins += 1;
                    w.base.login_latencies.push(t.elapsed());
                    session = Some(s);
                }
                Err(e) => {
                    // This request fails with the login; the next one tries again.
                    w.base.error(&e);
                    continue;
                }
            }
        }
        let s = session.as_mut().expect("opened above");
        let sent = Instant::now();
        let lag = sent.saturating_duration_since(due);
        if lag > LATE_AFTER {
            w.late += 1;
        }
        w.send_lags.push(lag);
        match s.request(*netfn, *cmd, data).await {
            Ok(r) => {
                let now = Instant::now();
                w.base.latencies.push(now - due);
                w.last_answer = Some(now);
                done.fetch_add(1, Ordering::Relaxed);
                if r.ccode == CompletionCode::OK {
                    w.base.ok += 1;
                } else {
                    w.base.ccode_errors += 1;
                }
                if w.base.sample.is_none() {
                    w.base.sample = Some(r);
                }
            }
            Err(e) => {
                w.base.error(&e);
                session = None;
            }
        }
    }
    if let Some(s) = session {
        s.close().await;
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_spreads_requests_evenly_over_time_and_sessions() {
        let s = Schedule::new(20_000.0, 1000, Duration::from_secs(10), None);
        assert_eq!(s.len, 200_000);
        assert_eq!(s.due(0), Duration::ZERO);
        assert_eq!(s.due(1), Duration::from_micros(50));
        assert_eq!(s.due(20_000), Duration::from_secs(1));
        // Consecutive requests go to consecutive sessions: each session gets one every 50 ms.
        assert_eq!((s.session(0), s.session(999), s.session(1000)), (0, 999, 0));
        assert_eq!(s.due(1000) - s.due(0), Duration::from_millis(50));
        // A count shorter than rate x duration ends the schedule first.
        assert_eq!(
            Schedule::new(100.0, 2, Duration::from_secs(10), Some(5)).len,
            5
        );
        assert_eq!(
            Schedule::new(100.0, 2, Duration::from_secs(1), Some(500)).len,
            100
        );
    }

    #[test]
    fn the_pacer_releases_each_request_at_its_due_time_to_its_session() {
        let s = Schedule::new(1000.0, 2, Duration::from_millis(20), None);
        let (tx0, mut rx0) = unbounded_channel();
        let (tx1, mut rx1) = unbounded_channel();
        let start = Instant::now();
        pace(s, start, vec![tx0, tx1]);
        assert!(
            start.elapsed() >= s.due(19),
            "the last is not released early"
        );
        let mut got = Vec::new();
        while let Ok(d) = rx0.try_recv() {
            got.push((0, d));
        }
        while let Ok(d) = rx1.try_recv() {
            got.push((1, d));
        }
        got.sort_by_key(|(_, d)| *d);
        assert_eq!(got.len(), 20);
        for (i, (session, due)) in got.iter().enumerate() {
            assert_eq!(*session, i % 2);
            assert_eq!(*due, start + s.due(i as u64));
        }
    }
}
