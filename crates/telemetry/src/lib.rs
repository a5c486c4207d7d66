//! The metrics of ipmi-to-metal, rendered for Prometheus with [`render`].
//!
//! Every family is listed once, in [`families`]. The counts live in blocks of atomics taken
//! when a BMC or a backend is made ([`requests::for_class`], [`calls::for_backend`],
//! [`api_cache`]...), so that counting on the request path takes no lock and allocates nothing;
//! what another layer already counts is read at scrape time instead (the session layers'
//! counts, through [`sessions::FleetSource`]; the SSH control sockets in their directory). One
//! [`prometheus_client`] collector turns it all into the text format at each scrape.
//!
//! Labels are bounded: by the code (operations, outcomes, reasons, completion-code ranges, the
//! commands the BMC model declares) or by the configuration (backend kinds, discovery names).
//! Nothing is labelled by a peer address, a user or a BMC name: per-BMC state is the admin
//! API's to show, not a time series per BMC.

#![warn(missing_docs)]

mod apis;
pub mod calls;
mod events;
pub mod families;
mod files;
pub mod http;
pub mod requests;
pub mod sessions;

pub use apis::{api_cache, api_rate_limit, CacheCounters, RateLimit};
pub use events::{
    discovery, reload, ssh_master_started, unwatch_ssh_control_dir, watch_ssh_control_dir,
    DiscoveryStats, ReloadOutcome,
};
pub use files::{audit_write_failed, console_log_failed, console_log_failing};

use families::{Family, Kind};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::fmt;
use std::sync::LazyLock;

/// The `Content-Type` of what [`render`] returns (the Prometheus text format, version 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let mut r = Registry::with_prefix(families::PREFIX);
    r.register_collector(Box::new(Everything));
    r
});

/// Every metric now, in the Prometheus text format ([`CONTENT_TYPE`]).
pub fn render() -> String {
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, &REGISTRY)
        .expect("writing to a String does not fail");
    out
}

/// The collector of every family, in the order of [`families::ALL`].
#[derive(Debug)]
struct Everything;

/// Writes `f`'s descriptor, then hands its encoder to `samples`.
fn family(
    enc: &mut DescriptorEncoder,
    f: &Family,
    samples: impl FnOnce(&mut Samples) -> fmt::Result,
) -> fmt::Result {
    let t = match f.kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge => MetricType::Gauge,
        Kind::Histogram => MetricType::Histogram,
    };
    let metric = enc.encode_descriptor(f.stem, f.help, None, t)?;
    samples(&mut Samples { metric, family: f })
}

/// The samples of one family.
struct Samples<'a> {
    metric: MetricEncoder<'a>,
    family: &'a Family,
}

impl Samples<'_> {
    fn labels<'v>(&self, values: &[&'v str]) -> Vec<(&'static str, &'v str)> {
        debug_assert_eq!(
            values.len(),
            self.family.labels.len(),
            "{}",
            self.family.stem
        );
        self.family
            .labels
            .iter()
            .copied()
            .zip(values.iter().copied())
            .collect()
    }

    fn counter(&mut self, values: &[&str], n: u64) -> fmt::Result {
        let labels = self.labels(values);
        ConstCounter::new(n).encode(self.metric.encode_family(&labels)?)
    }

    fn gauge(&mut self, values: &[&str], v: u64) -> fmt::Result {
        // An empty label set writes no braces.
        let labels = self.labels(values);
        ConstGauge::new(v).encode(self.metric.encode_family(&labels)?)
    }

    fn gauge_f64(&mut self, values: &[&str], v: f64) -> fmt::Result {
        let labels = self.labels(values);
        ConstGauge::new(v).encode(self.metric.encode_family(&labels)?)
    }

    fn histogram(&mut self, values: &[&str], h: &calls::Histogram) -> fmt::Result {
        let labels = self.labels(values);
        self.metric
            .encode_family(&labels)?
            .encode_histogram::<NoLabelSet>(h.sum, h.count, &h.buckets, None)
    }
}

impl Collector for Everything {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        use families::*;
        let enc = &mut enc;
        family(enc, &BUILD_INFO, |s| {
            s.gauge(&[env!("CARGO_PKG_VERSION")], 1)
        })?;
        let classes = sessions::totals();
        family(enc, &BMCS, |s| {
            classes.iter().try_for_each(|(c, t)| s.gauge(&[c], t.bmcs))
        })?;
        family(enc, &REQUESTS, |s| {
            let mut r = Ok(());
            requests::each(|labels, n| r = r.and_then(|()| s.counter(&labels, n)));
            r
        })?;
        session_families(enc, &classes)?;
        family(enc, &BACKEND_CALLS, |s| {
            let mut r = Ok(());
            calls::each_outcome(|labels, n| r = r.and_then(|()| s.counter(&labels, n)));
            r
        })?;
        family(enc, &BACKEND_CALL_DURATION, |s| {
            let mut r = Ok(());
            calls::each_histogram(|labels, h| r = r.and_then(|()| s.histogram(&labels, &h)));
            r
        })?;
        family(enc, &CONSOLE_BYTES, |s| {
            let mut r = Ok(());
            calls::each_console(|backend, out, inp| {
                r = r
                    .and_then(|()| s.counter(&[backend, "output"], out))
                    .and_then(|()| s.counter(&[backend, "input"], inp));
            });
            r
        })?;
        family(enc, &AUDIT_WRITE_FAILURES, |s| {
            s.counter(&[], files::audit_write_failures())
        })?;
        family(enc, &CONSOLE_LOG_FAILURES, |s| {
            s.counter(&[], files::console_log_failures())
        })?;
        family(enc, &CONSOLE_LOGS_FAILING, |s| {
            s.gauge(&[], files::console_logs_failing())
        })?;
        api_families(enc)?;
        let (ok, failed) = events::ssh_master_starts();
        family(enc, &SSH_MASTER_CONNECTIONS, |s| {
            s.gauge(&[], events::ssh_master_connections())
        })?;
        family(enc, &SSH_MASTER_STARTS, |s| {
            s.counter(&["ok"], ok)?;
            s.counter(&["failed"], failed)
        })?;
        discovery_families(enc)?;
        family(enc, &REDFISH_HTTP_REQUESTS, |s| {
            let mut r = Ok(());
            http::each(|labels, n| r = r.and_then(|()| s.counter(&labels, n)));
            r
        })?;
        family(enc, &CONFIG_RELOADS, |s| {
            let counts = events::reloads();
            ReloadOutcome::ALL
                .iter()
                .zip(counts)
                .try_for_each(|(o, n)| s.counter(&[o.name()], n))
        })
    }
}

fn session_families(
    enc: &mut DescriptorEncoder,
    classes: &[(&str, sessions::ClassTotals)],
) -> fmt::Result {
    use families::*;
    let by_reason = |s: &mut Samples, class: &str, counts: &[(&str, u64)]| -> fmt::Result {
        counts
            .iter()
            .try_for_each(|(why, n)| s.counter(&[class, why], *n))
    };
    family(enc, &SESSIONS_OPEN, |s| {
        classes
            .iter()
            .try_for_each(|(c, t)| s.gauge(&[c], t.sessions_open))
    })?;
    family(enc, &SESSIONS_OPENED, |s| {
        classes
            .iter()
            .try_for_each(|(c, t)| by_reason(s, c, &t.opened))
    })?;
    family(enc, &SESSIONS_CLOSED, |s| {
        classes
            .iter()
            .try_for_each(|(c, t)| by_reason(s, c, &t.closed))
    })?;
    family(enc, &LOGINS_FAILED, |s| {
        classes
            .iter()
            .try_for_each(|(c, t)| by_reason(s, c, &t.logins_failed))
    })?;
    family(enc, &LOGIN_LOCKOUTS, |s| {
        classes
            .iter()
            .try_for_each(|(c, t)| s.counter(&[c], t.lockouts))
    })?;
    family(enc, &HANDSHAKES_DROPPED, |s| {
        classes
            .iter()
            .try_for_each(|(c, t)| by_reason(s, c, &t.handshakes_dropped))
    })
}

fn api_families(enc: &mut DescriptorEncoder) -> fmt::Result {
    use families::*;
    let mut apis = Vec::new();
    apis::each(|api, hits, misses, limited, wait| {
        apis.push((api.to_string(), hits, misses, limited, wait))
    });
    family(enc, &API_CACHE_LOOKUPS, |s| {
        apis.iter().try_for_each(|(api, hits, misses, _, _)| {
            s.counter(&[api, "hit"], *hits)?;
            s.counter(&[api, "miss"], *misses)
        })
    })?;
    family(enc, &API_RATE_LIMITED, |s| {
        apis.iter()
            .try_for_each(|(api, _, _, limited, _)| s.counter(&[api], *limited))
    })?;
    family(enc, &API_RATE_LIMIT_WAIT, |s| {
        apis.iter()
            .try_for_each(|(api, _, _, _, wait)| s.gauge_f64(&[api], *wait))
    })
}

fn discovery_families(enc: &mut DescriptorEncoder) -> fmt::Result {
    use families::*;
    let mut all = Vec::new();
    events::each_discovery(|name, counts| all.push((name.to_string(), counts)));
    family(enc, &DISCOVERY_RUNS, |s| {
        all.iter().try_for_each(|(name, [ok, failed, ..])| {
            s.counter(&[name, "ok"], *ok)?;
            s.counter(&[name, "failed"], *failed)
        })
    })?;
    family(enc, &DISCOVERY_DEVICES, |s| {
        all.iter()
            .try_for_each(|(name, [_, _, listed, served, unserved])| {
                s.gauge(&[name, "listed"], *listed)?;
                s.gauge(&[name, "served"], *served)?;
                s.gauge(&[name, "unserved"], *unserved)
            })
    })
}

#[cfg(test)]
mod tests;
