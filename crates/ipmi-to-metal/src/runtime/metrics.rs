//! The fleet's side of the metrics: the commands the request counts name, and the session
//! layers' counts read at scrape time. Each BMC's session layer counts logins and sessions in
//! plain integers behind its own lock ([`Server::stats`](ipmi_proto::session::Server::stats));
//! a scrape sums them by class, with those of the BMCs no longer served, which [`Fleet::retire`]
//! keeps so that counters never go back when a BMC stops.

use super::{Fleet, Running};
use ipmi_proto::session::{LoginFailure, ServerStats};
use telemetry::sessions::{ClassTotals, FleetSource};

/// Names the commands the BMC model declares for the request counts (the first call does).
pub(super) fn name_commands() {
    telemetry::requests::name_commands(
        ipmi_bmc::commands()
            .iter()
            .map(|c| (c.netfn.0, c.cmd, c.name)),
    );
}

impl Fleet {
    /// Keeps the session-layer counts of a BMC that is no longer served.
    pub(super) fn retire(&self, r: &Running) {
        let mut stats = r.server().stats();
        // Its sessions are gone with it.
        stats.sessions_open = 0;
        let mut retired = self.retired.lock().unwrap_or_else(|e| e.into_inner());
        match retired.iter_mut().find(|(c, _)| *c == r.class) {
            Some((_, sum)) => sum.add(&stats),
            None => retired.push((r.class, stats)),
        }
    }
}

impl FleetSource for Fleet {
    fn totals(&self, f: &mut dyn FnMut(&'static str, &ClassTotals)) {
        let live = self.running();
        // (class, BMCs served, their counts and the retired ones')
        let mut classes: Vec<(&'static str, u64, ServerStats)> = self
            .retired
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(c, s)| (*c, 0, *s))
            .collect();
        for (r, _) in live {
            let stats = r.server().stats();
            match classes.iter_mut().find(|(c, _, _)| *c == r.class) {
                Some((_, n, sum)) => {
                    *n += 1;
                    sum.add(&stats);
                }
                None => classes.push((r.class, 1, stats)),
            }
        }
        for (class, bmcs, s) in classes {
            f(class, &totals(bmcs, &s));
        }
    }
}

/// A class's counts as the metrics label them.
fn totals(bmcs: u64, s: &ServerStats) -> ClassTotals {
    ClassTotals {
        bmcs,
        sessions_open: s.sessions_open,
        opened: vec![("rmcp+", s.opened_rmcp_plus), ("ipmi15", s.opened_ipmi15)],
        closed: vec![("request", s.closed_by_request), ("idle", s.closed_idle)],
        logins_failed: LoginFailure::ALL
            .iter()
            .map(|w| (w.name(), s.failed(*w)))
            .collect(),
        lockouts: s.lockouts,
        handshakes_dropped: vec![
            ("evicted", s.handshakes_evicted),
            ("expired", s.handshakes_expired),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::factory::BackendFactory;
    use ipmi_client::{Retry, Session};
    use ipmi_proto::session::{ClientConfig, Interface, Secret};
    use ipmi_proto::types::Privilege;
    use std::path::Path;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// The totals of class `sim` in `fleet`.
    fn sim(fleet: &Fleet) -> ClassTotals {
        let mut out = ClassTotals::default();
        fleet.totals(&mut |class, t| {
            if class == "sim" {
                out = t.clone();
            }
        });
        out
    }

    fn count(pairs: &[(&str, u64)], key: &str) -> u64 {
        pairs.iter().find(|(k, _)| *k == key).map_or(0, |(_, n)| *n)
    }

    #[tokio::test]
    async fn session_counts_are_summed_live_and_kept_when_a_bmc_stops() {
        // A subscriber of its own (writing nowhere): a callsite first hit here without one
        // could be cached as never enabled while the span tests run theirs (runtime::tests).
        let quiet = tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .finish();
        let _quiet = tracing::subscriber::set_default(quiet);
        let fleet = Fleet::new(Arc::new(Mutex::new(BackendFactory::default())));
        let port = test_support::free_port();
        let text = format!("[[bmc]]\nname = \"m\"\nlisten = \"127.0.0.1:{port}\"\nbackend = \"sim\"\n[[bmc.users]]\nname = \"admin\"\npassword = \"metrics-pass\"\nprivilege = \"administrator\"\n");
        let c = crate::config::parse("m.toml", &text, Path::new("."))
            .unwrap()
            .remove(0);
        fleet.start(c).unwrap();
        assert_eq!(sim(&fleet).bmcs, 1);
        let client = |password: &[u8]| ClientConfig {
            username: "admin".into(),
            password: Secret::new(password.to_vec()),
            kg: None,
            privilege: Privilege::Administrator,
            cipher_suites: vec![3],
            interface: Interface::Lan,
        };
        let retry = Retry {
            timeout: Duration::from_secs(5),
            retries: 0,
        };
        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        let session = Session::open(addr, client(b"metrics-pass"), retry)
            .await
            .unwrap();
        assert!(Session::open(addr, client(b"wrong"), retry).await.is_err());
        let live = sim(&fleet);
        assert_eq!(live.sessions_open, 1);
        assert_eq!(count(&live.opened, "ipmi15"), 1);
        assert_eq!(count(&live.logins_failed, "bad_password"), 1);

        // Stopped: no BMC and no session left, but what was counted stays.
        assert!(fleet.stop("m"));
        let gone = sim(&fleet);
        assert_eq!((gone.bmcs, gone.sessions_open), (0, 0));
        assert_eq!(count(&gone.opened, "ipmi15"), 1);
        assert_eq!(count(&gone.logins_failed, "bad_password"), 1);
        drop(session);
    }

    /// The guide's table of metrics (docs/operations.md) names every reason a login fails for
    /// (the `reason` label of `ipmi_to_metal_logins_failed_total`), in order, and no other.
    #[test]
    fn the_guide_lists_every_login_failure_reason() {
        let readme = include_str!("../../../../docs/operations.md");
        let row = readme
            .lines()
            .find(|l| l.starts_with("| `ipmi_to_metal_logins_failed_total` |"))
            .expect("the metrics table of docs/operations.md has a row for failed logins");
        let what = row.trim_end_matches('|').rsplit('|').next().unwrap();
        let listed: Vec<&str> = what.split('`').skip(1).step_by(2).collect();
        let reasons: Vec<&str> = LoginFailure::ALL.iter().map(|w| w.name()).collect();
        assert_eq!(listed, reasons, "{row}");
    }
}
