//! The failed-login limiter: failures are counted per source address, for each known user name
//! and for the address as a whole, and past a limit further logins are refused for a while.
//!
//! - A known user name locks after `max_failures` failures from one address within the window.
//! - The address as a whole locks after [`SOURCE_FACTOR`] times that many failures of any kind.
//!   Unknown user names count only here, once per failure, not once per name: a flood of made-up
//!   names costs one record per address, not one per name.
//! - At most [`MAX_SOURCES`] addresses are tracked. When full, records that no longer matter go
//!   first, then the stalest addresses that are not locked out; a locked-out address is never
//!   forgotten before its lockout ends. (When every record is a live lockout, a new address's
//!   failure goes uncounted until one ends.)

use super::config::LoginPolicy;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The most source addresses tracked at once.
pub(crate) const MAX_SOURCES: usize = 4096;
/// An address as a whole may fail this many times `max_failures` within the window.
pub(crate) const SOURCE_FACTOR: u32 = 4;
/// When full, this share of the tracked addresses is forgotten at once (the stalest unlocked),
/// so that the search for them runs once per that many new addresses, not for every one.
const EVICT_SHARE: usize = MAX_SOURCES / 8;

/// The failures counted in one window, and the lockout they led to.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    window_start: Instant,
    locked_until: Option<Instant>,
}

impl Failures {
    fn new(now: Instant) -> Self {
        Failures {
            count: 0,
            window_start: now,
            locked_until: None,
        }
    }

    fn locked(&self, now: Instant) -> bool {
        self.locked_until.is_some_and(|t| now < t)
    }

    /// Whether the record still matters: locked, or failures in the current window.
    fn live(&self, now: Instant, p: &LoginPolicy) -> bool {
        self.locked(now) || (self.count > 0 && now.duration_since(self.window_start) <= p.window)
    }

    /// Counts a failure; true if it reaches `limit` (0: no limit) and starts a lockout.
    fn add(&mut self, now: Instant, limit: u32, p: &LoginPolicy) -> bool {
        if now.duration_since(self.window_start) > p.window {
            self.count = 0;
            self.window_start = now;
        }
        self.count = self.count.saturating_add(1);
        if limit > 0 && self.count >= limit {
            self.count = 0;
            self.window_start = now;
            self.locked_until = Some(later(now, p.lockout));
            return true;
        }
        false
    }
}

/// What is known about one source address.
#[derive(Debug)]
struct Source {
    /// Every failure from the address, unknown user names included.
    total: Failures,
    /// Failures per known user name: at most one record per configured account.
    users: Vec<(Vec<u8>, Failures)>,
    /// The latest failure, to find the stalest address.
    last: Instant,
}

impl Source {
    fn locked(&self, now: Instant) -> bool {
        self.total.locked(now) || self.users.iter().any(|(_, f)| f.locked(now))
    }

    fn live(&self, now: Instant, p: &LoginPolicy) -> bool {
        self.total.live(now, p) || self.users.iter().any(|(_, f)| f.live(now, p))
    }
}

/// Counts failed logins per source address and user name, and locks out further attempts.
#[derive(Default)]
pub(crate) struct LoginLimiter {
    sources: HashMap<IpAddr, Source>,
    /// Lockouts begun, for the metrics.
    lockouts: u64,
}

impl LoginLimiter {
    /// Whether logins for `user` from `ip` are locked out now (the name's own lockout, or the
    /// address's).
    pub(crate) fn locked(&self, ip: IpAddr, user: &[u8], now: Instant) -> bool {
        self.sources.get(&ip).is_some_and(|s| {
            s.total.locked(now) || s.users.iter().any(|(n, f)| n == user && f.locked(now))
        })
    }

    /// Records a failed login for a known user name; true if it starts a lockout.
    pub(crate) fn fail(&mut self, ip: IpAddr, user: &[u8], now: Instant, p: &LoginPolicy) -> bool {
        let Some(s) = self.source(ip, now, p) else {
            return false;
        };
        let name_locks = match s.users.iter_mut().find(|(n, _)| n == user) {
            Some((_, f)) => f.add(now, p.max_failures, p),
            None => {
                let mut f = Failures::new(now);
                let locks = f.add(now, p.max_failures, p);
                s.users.push((user.to_vec(), f));
                locks
            }
        };
        let source_locks = s.total.add(now, source_limit(p), p);
        let locks = name_locks || source_locks;
        self.lockouts += u64::from(locks);
        locks
    }

    /// Records a failed login for a user name that no account has; true if it starts a lockout
    /// of the address.
    pub(crate) fn fail_unknown(&mut self, ip: IpAddr, now: Instant, p: &LoginPolicy) -> bool {
        let locks = match self.source(ip, now, p) {
            Some(s) => s.total.add(now, source_limit(p), p),
            None => false,
        };
        self.lockouts += u64::from(locks);
        locks
    }

    /// Lockouts begun so far.
    pub(crate) fn lockouts(&self) -> u64 {
        self.lockouts
    }

    /// Forgets the failures of `user` from `ip` after a successful login. The address's total
    /// stays: logging in to one account must not reset the count of guesses at the others.
    pub(crate) fn succeed(&mut self, ip: IpAddr, user: &[u8]) {
        if let Some(s) = self.sources.get_mut(&ip) {
            s.users.retain(|(n, _)| n != user);
        }
    }

    /// Drops records that no longer matter.
    pub(crate) fn prune(&mut self, now: Instant, p: &LoginPolicy) {
        self.sources.retain(|_, s| {
            s.users.retain(|(_, f)| f.live(now, p));
            s.live(now, p)
        });
    }

    /// The record of `ip`, made if there is room; `None` if every tracked address is locked out.
    fn source(&mut self, ip: IpAddr, now: Instant, p: &LoginPolicy) -> Option<&mut Source> {
        if !self.sources.contains_key(&ip) && self.sources.len() >= MAX_SOURCES {
            self.make_room(now, p);
            if self.sources.len() >= MAX_SOURCES {
                tracing::debug!(peer = %ip, "failed login not counted: every tracked address is locked out");
                return None;
            }
        }
        let s = self.sources.entry(ip).or_insert_with(|| Source {
            total: Failures::new(now),
            users: Vec::new(),
            last: now,
        });
        s.last = now;
        Some(s)
    }

    /// Forgets what no longer matters, then the stalest addresses not locked out, down to
    /// [`EVICT_SHARE`] below the limit.
    fn make_room(&mut self, now: Instant, p: &LoginPolicy) {
        self.prune(now, p);
        let target = MAX_SOURCES - EVICT_SHARE;
        if self.sources.len() <= target {
            return;
        }
        let mut unlocked: Vec<(Instant, IpAddr)> = self
            .sources
            .iter()
            .filter(|(_, s)| !s.locked(now))
            .map(|(ip, s)| (s.last, *ip))
            .collect();
        let n = (self.sources.len() - target).min(unlocked.len());
        if n == 0 {
            return;
        }
        unlocked.select_nth_unstable(n - 1);
        for (_, ip) in &unlocked[..n] {
            self.sources.remove(ip);
        }
    }

    /// The number of addresses tracked.
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.sources.len()
    }
}

/// How many failures of any kind an address may have within the window.
fn source_limit(p: &LoginPolicy) -> u32 {
    p.max_failures.saturating_mul(SOURCE_FACTOR)
}

/// `now + d`, or as late as the clock can say if that is past its end (a lockout configured
/// "forever").
pub(crate) fn later(now: Instant, d: Duration) -> Instant {
    let mut d = d;
    loop {
        if let Some(t) = now.checked_add(d) {
            return t;
        }
        d /= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LoginPolicy {
        LoginPolicy {
            max_failures: 3,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(30),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn locks_out_after_max_failures_and_recovers() {
        let p = policy();
        let ip = ip("127.0.0.1");
        let t0 = Instant::now();
        let mut l = LoginLimiter::default();
        assert!(!l.fail(ip, b"admin", t0, &p));
        assert!(!l.fail(ip, b"admin", t0, &p));
        assert!(!l.locked(ip, b"admin", t0));
        assert!(l.fail(ip, b"admin", t0, &p));
        assert!(l.locked(ip, b"admin", t0 + Duration::from_secs(1)));
        assert!(!l.locked(ip, b"other", t0), "per user name");
        assert!(!l.locked(ip, b"admin", t0 + Duration::from_secs(31)));
    }

    #[test]
    fn unknown_names_count_once_per_address_and_lock_it_whole() {
        let p = policy();
        let t0 = Instant::now();
        let mut l = LoginLimiter::default();
        for _ in 0..source_limit(&p) - 1 {
            assert!(!l.fail_unknown(ip("10.0.0.1"), t0, &p));
        }
        assert_eq!(l.tracked(), 1);
        assert!(!l.locked(ip("10.0.0.1"), b"admin", t0));
        assert!(l.fail_unknown(ip("10.0.0.1"), t0, &p));
        assert!(
            l.locked(ip("10.0.0.1"), b"admin", t0),
            "the address as a whole"
        );
        assert!(!l.locked(ip("10.0.0.2"), b"admin", t0));
    }

    #[test]
    fn when_full_the_stalest_unlocked_addresses_go_and_lockouts_stay() {
        let p = policy();
        let t0 = Instant::now();
        let mut l = LoginLimiter::default();
        let locked = ip("192.168.0.1");
        for _ in 0..3 {
            l.fail(locked, b"admin", t0, &p);
        }
        let addr = |i: u32| IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        for i in 0..3 * MAX_SOURCES as u32 {
            l.fail_unknown(addr(i), t0 + Duration::from_millis(u64::from(i)), &p);
            assert!(l.tracked() <= MAX_SOURCES);
        }
        assert!(l.locked(locked, b"admin", t0 + Duration::from_secs(29)));
        // The newest addresses are still counted.
        let newest = addr(3 * MAX_SOURCES as u32 - 1);
        assert!(l.sources.contains_key(&newest));
        // Every slot a live lockout: a new address goes uncounted, none is dropped.
        let mut full = LoginLimiter::default();
        for i in 0..MAX_SOURCES as u32 {
            for _ in 0..source_limit(&p) {
                full.fail_unknown(addr(i), t0, &p);
            }
        }
        assert!(!full.fail_unknown(ip("172.16.0.1"), t0, &p));
        assert_eq!(full.tracked(), MAX_SOURCES);
        assert!((0..MAX_SOURCES as u32).all(|i| full.locked(addr(i), b"x", t0)));
        full.prune(t0 + Duration::from_secs(31), &p);
        assert_eq!(
            full.tracked(),
            0,
            "lockouts over, windows not: counts reset"
        );
    }

    #[test]
    fn a_lockout_past_the_end_of_the_clock_saturates() {
        let t0 = Instant::now();
        assert!(later(t0, Duration::MAX) > t0 + Duration::from_secs(1_000_000_000));
        assert_eq!(
            later(t0, Duration::from_secs(5)),
            t0 + Duration::from_secs(5)
        );
    }
}
