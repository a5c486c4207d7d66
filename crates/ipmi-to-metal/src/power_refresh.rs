//! The power state of every BMC, kept known for the status page: one task reads each BMC's power
//! state in the background every so often, per backend kind ([`RefreshIntervals`]), through the BMC
//! model ([`ipmi_bmc::Bmc::refresh_power`]) and so through the backend's own cache, single-flight
//! and rate limit, exactly as an IPMI client's Get Chassis Status would. A sim costs nothing to
//! read and is read often; an API-backed BMC is read seldom, and a read that falls within its
//! cache period (because a client asked meanwhile) reaches no API at all.
//!
//! The reads are spread: a BMC's first read comes at a random moment within
//! [`FIRST_READ_SPREAD`] (or its interval, if shorter) of its start, and each next one after its
//! interval give or take a tenth, so that a fleet started at once is not read at once. At most
//! [`CONCURRENT_READS`] reads run at a time, each bounded by the request deadline. The reads are
//! children of the one task (a [`JoinSet`]): stopping it ends them all; a BMC stopped by a reload
//! has its read in flight ended at the next listing.

use crate::config::RefreshIntervals;
use crate::runtime::Fleet;
use backend_config::REQUEST_DEADLINE;
use ipmi_bmc::Bmc;
use rand::Rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;
use tracing::Instrument;

/// Reads running at the same time at most, across the fleet.
pub const CONCURRENT_READS: usize = 32;
/// A BMC's first read comes within this much of its start (or of the refresh's).
pub const FIRST_READ_SPREAD: Duration = Duration::from_secs(2);
/// How often the fleet is listed again for BMCs started or stopped (discovery, reload).
const LIST_EVERY: Duration = Duration::from_secs(2);

/// The refresh, running; [`PowerRefresh::stop`] ends it and its reads.
pub struct PowerRefresh {
    task: tokio::task::JoinHandle<()>,
}

impl PowerRefresh {
    /// Starts reading the power state of every BMC of `fleet` (those it serves now and later).
    pub fn start(fleet: &Arc<Fleet>, intervals: RefreshIntervals) -> PowerRefresh {
        let span = tracing::info_span!(parent: None, "power_refresh");
        let task = tokio::spawn(run(Arc::downgrade(fleet), intervals).instrument(span));
        PowerRefresh { task }
    }

    /// Ends the refresh and every read in flight, and waits until they are gone.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// A BMC being refreshed.
struct Tracked {
    bmc: Arc<Bmc>,
    every: Duration,
    /// Its read in flight, if any.
    reading: Option<AbortHandle>,
}

/// The schedule: the BMCs tracked and when each is due (a heap entry whose BMC is gone or was
/// started again is skipped).
#[derive(Default)]
struct Schedule {
    tracked: HashMap<String, Tracked>,
    due: BinaryHeap<Reverse<(Instant, String)>>,
}

impl Schedule {
    /// Takes in the fleet as it is now: new BMCs scheduled within the first spread, BMCs gone
    /// forgotten (their read in flight ended), BMCs started again read from their new model.
    fn list(&mut self, fleet: &Fleet, intervals: &RefreshIntervals, now: Instant) {
        let mut seen = HashMap::new();
        for (name, bmc, info) in fleet.models() {
            let every = intervals.of_bmc(info.backends.iter().map(|(k, _)| *k));
            seen.insert(name, (bmc, every));
        }
        self.tracked.retain(|name, t| {
            let keep = seen
                .get(name)
                .is_some_and(|(bmc, every)| Arc::ptr_eq(bmc, &t.bmc) && *every == Some(t.every));
            if !keep {
                if let Some(r) = t.reading.take() {
                    r.abort();
                }
            }
            keep
        });
        let mut rng = rand::thread_rng();
        for (name, (bmc, every)) in seen {
            let Some(every) = every else { continue };
            if self.tracked.contains_key(&name) {
                continue;
            }
            let spread = every.min(FIRST_READ_SPREAD);
            let at = now + spread.mul_f64(rng.gen_range(0.0..1.0));
            self.due.push(Reverse((at, name.clone())));
            let reading = None;
            self.tracked.insert(
                name,
                Tracked {
                    bmc,
                    every,
                    reading,
                },
            );
        }
    }

    /// Schedules `name`'s next read, its interval give or take a tenth from `now`.
    fn again(&mut self, name: &str, now: Instant) {
        if let Some(t) = self.tracked.get_mut(name) {
            t.reading = None;
            let at = now + t.every.mul_f64(rand::thread_rng().gen_range(0.9..1.1));
            self.due.push(Reverse((at, name.to_string())));
        }
    }
}

async fn run(fleet: Weak<Fleet>, intervals: RefreshIntervals) {
    let mut schedule = Schedule::default();
    let mut reads: JoinSet<String> = JoinSet::new();
    let mut next_list = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next_list {
            let Some(fleet) = fleet.upgrade() else { return };
            schedule.list(&fleet, &intervals, now);
            next_list = now + LIST_EVERY;
        }
        while reads.len() < CONCURRENT_READS {
            let Some(Reverse((at, _))) = schedule.due.peek() else {
                break;
            };
            if *at > now {
                break;
            }
            let Reverse((_, name)) = schedule.due.pop().expect("peeked");
            let Some(t) = schedule.tracked.get_mut(&name) else {
                continue;
            };
            if t.reading.is_some() {
                continue;
            }
            let bmc = t.bmc.clone();
            let span = tracing::info_span!("bmc", name = %name);
            let read = async move {
                if tokio::time::timeout(REQUEST_DEADLINE, bmc.refresh_power())
                    .await
                    .is_err()
                {
                    tracing::debug!("power state refresh: no answer in time");
                }
                name
            };
            t.reading = Some(reads.spawn(read.instrument(span)));
        }
        let wake = schedule
            .due
            .peek()
            .map_or(next_list, |Reverse((at, _))| (*at).min(next_list));
        tokio::select! {
            done = reads.join_next(), if !reads.is_empty() => {
                if let Some(Ok(name)) = done {
                    schedule.again(&name, Instant::now());
                }
            }
            // Full: the due reads wait for one to finish, not for the clock.
            _ = tokio::time::sleep_until(wake), if reads.len() < CONCURRENT_READS => {}
        }
    }
}
