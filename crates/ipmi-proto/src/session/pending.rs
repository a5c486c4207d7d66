//! Logins in progress (a challenge sent, or an RMCP+ login between Open Session and RAKP 3),
//! bounded so that a flood of half-open logins cannot push out a real one:
//! - one source address holds at most [`PENDING_PER_SOURCE`]; past it, its own oldest goes;
//! - all together hold at most [`PENDING_LIMIT`]; past it, the oldest logins of the addresses
//!   holding the most go.
//!
//! So an address flooding Open Session Requests or Get Session Challenges from many ports
//! displaces only its own logins. Addresses are all a datagram carries, and they can be spoofed:
//! a flood from more addresses than the limit can hold, within one round trip of a real login,
//! can still displace it. Stale logins are dropped by [`PendingLogins::expire`], on the caller's
//! timer, not on every packet.

use super::cipher_suite::CipherSuite;
use crate::crypto::rakp::Exchange;
use crate::types::Privilege;
use crate::wire::ipmi15::AuthType;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// How long a login may take between its steps (challenge → activate, open → RAKP 3).
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// The most logins in progress at once.
pub(crate) const PENDING_LIMIT: usize = 512;
/// The most logins in progress from one source address.
pub(crate) const PENDING_PER_SOURCE: usize = 32;
/// When full, this many logins go at once (see [`PendingLogins::insert`]).
const EVICT_SHARE: usize = PENDING_LIMIT / 8;

/// The state of a login in progress.
pub(crate) enum Handshake {
    /// IPMI 1.5: a challenge was sent; waiting for Activate Session.
    Challenge {
        user_id: u8,
        auth_type: AuthType,
        challenge: [u8; 16],
    },
    /// RMCP+: Open Session answered; waiting for RAKP 1.
    Opened {
        console_id: u32,
        suite: CipherSuite,
        max_privilege: Privilege,
    },
    /// RMCP+: RAKP 2 sent; waiting for RAKP 3.
    Rakp2Sent {
        console_id: u32,
        suite: CipherSuite,
        max_privilege: Privilege,
        exchange: Exchange,
        user_id: u8,
        privilege: Privilege,
    },
}

/// A login in progress with where and when it started.
pub(crate) struct Pending {
    pub(crate) peer: SocketAddr,
    pub(crate) started: Instant,
    pub(crate) state: Handshake,
}

/// The logins in progress by (temporary) BMC session ID, and which each address started.
#[derive(Default)]
pub(crate) struct PendingLogins {
    by_id: HashMap<u32, Pending>,
    /// The IDs of each address's logins, oldest first.
    by_source: HashMap<IpAddr, VecDeque<u32>>,
    /// Logins pushed out by the bounds, for the metrics.
    evicted: u64,
    /// Logins that timed out, for the metrics.
    expired: u64,
}

impl PendingLogins {
    /// The login in progress with this ID.
    pub(crate) fn get(&self, id: &u32) -> Option<&Pending> {
        self.by_id.get(id)
    }

    /// The login in progress with this ID, to change its state.
    pub(crate) fn get_mut(&mut self, id: &u32) -> Option<&mut Pending> {
        self.by_id.get_mut(id)
    }

    /// Whether a login in progress has this ID.
    pub(crate) fn contains_key(&self, id: &u32) -> bool {
        self.by_id.contains_key(id)
    }

    /// The number of logins in progress.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Ends the login in progress with this ID.
    pub(crate) fn remove(&mut self, id: &u32) -> Option<Pending> {
        let p = self.by_id.remove(id)?;
        let ip = p.peer.ip();
        if let Some(ids) = self.by_source.get_mut(&ip) {
            ids.retain(|i| i != id);
            if ids.is_empty() {
                self.by_source.remove(&ip);
            }
        }
        Some(p)
    }

    /// Adds a login under a fresh ID, first making room: past its address's share, that
    /// address's oldest login goes; past the limit, [`EVICT_SHARE`] logins go, each the oldest
    /// of the address then holding the most.
    pub(crate) fn insert(&mut self, id: u32, p: Pending) {
        let ip = p.peer.ip();
        let own = self.by_source.get(&ip).map_or(0, VecDeque::len);
        if own >= PENDING_PER_SOURCE {
            self.drop_oldest_of(ip);
        } else if self.by_id.len() >= PENDING_LIMIT {
            self.make_room();
        }
        self.by_source.entry(ip).or_default().push_back(id);
        self.by_id.insert(id, p);
    }

    /// Logins pushed out by the bounds so far.
    pub(crate) fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Logins timed out so far.
    pub(crate) fn expired(&self) -> u64 {
        self.expired
    }

    /// Drops logins older than [`HANDSHAKE_TIMEOUT`].
    pub(crate) fn expire(&mut self, now: Instant) {
        let (by_id, expired) = (&mut self.by_id, &mut self.expired);
        self.by_source.retain(|_, ids| {
            // Each address's IDs are in the order its logins started.
            while let Some(id) = ids.front() {
                match by_id.get(id) {
                    Some(p) if now.duration_since(p.started) <= HANDSHAKE_TIMEOUT => break,
                    _ => {
                        // An ID whose login already ended is only forgotten here.
                        *expired += u64::from(by_id.remove(id).is_some());
                        ids.pop_front();
                    }
                }
            }
            !ids.is_empty()
        });
    }

    /// Drops logins down to [`EVICT_SHARE`] below the limit, each time the oldest of the address
    /// holding the most (of several, the one whose oldest is oldest). A share at once, so that
    /// the addresses are ranked once per that many new logins, not for every one.
    fn make_room(&mut self) {
        let target = PENDING_LIMIT - EVICT_SHARE;
        let started = |id: Option<&u32>| id.and_then(|id| self.by_id.get(id)).map(|p| p.started);
        let mut ranked: BinaryHeap<_> = self
            .by_source
            .iter()
            .map(|(ip, ids)| (ids.len(), Reverse(started(ids.front())), *ip))
            .collect();
        while self.by_id.len() > target {
            let Some((_, _, ip)) = ranked.pop() else {
                break;
            };
            self.drop_oldest_of(ip);
            if let Some(ids) = self.by_source.get(&ip) {
                let next = ids
                    .front()
                    .and_then(|id| self.by_id.get(id))
                    .map(|p| p.started);
                ranked.push((ids.len(), Reverse(next), ip));
            }
        }
    }

    fn drop_oldest_of(&mut self, ip: IpAddr) {
        let Some(ids) = self.by_source.get_mut(&ip) else {
            return;
        };
        if let Some(id) = ids.pop_front() {
            self.evicted += u64::from(self.by_id.remove(&id).is_some());
        }
        if ids.is_empty() {
            self.by_source.remove(&ip);
        }
    }

    /// The logins in progress of one address.
    #[cfg(test)]
    pub(crate) fn of(&self, ip: IpAddr) -> usize {
        self.by_source.get(&ip).map_or(0, VecDeque::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened(peer: &str, started: Instant) -> Pending {
        Pending {
            peer: peer.parse().unwrap(),
            started,
            state: Handshake::Opened {
                console_id: 1,
                suite: CipherSuite::by_id(17).unwrap(),
                max_privilege: Privilege::Administrator,
            },
        }
    }

    #[test]
    fn one_address_displaces_only_its_own_logins() {
        let t0 = Instant::now();
        let mut p = PendingLogins::default();
        p.insert(1, opened("127.0.0.1:623", t0));
        for id in 2..1000 {
            p.insert(id, opened(&format!("127.0.0.2:{}", id % 60_000), t0));
        }
        assert!(p.contains_key(&1));
        assert_eq!(p.of("127.0.0.2".parse().unwrap()), PENDING_PER_SOURCE);
        assert_eq!(p.len(), 1 + PENDING_PER_SOURCE);
        // The newest of the flood are kept, the oldest went.
        assert!(p.contains_key(&999) && !p.contains_key(&2));
    }

    #[test]
    fn when_full_the_address_holding_the_most_gives_way() {
        let t0 = Instant::now();
        let mut p = PendingLogins::default();
        p.insert(1, opened("127.0.0.1:623", t0));
        let mut id = 2;
        for round in 0..PENDING_PER_SOURCE {
            for host in 0..40 {
                p.insert(id, opened(&format!("10.0.0.{host}:{round}"), t0));
                id += 1;
                assert!(p.len() <= PENDING_LIMIT);
            }
        }
        assert!(p.contains_key(&1), "the one login of its address stays");
        assert!(p.len() > PENDING_LIMIT - EVICT_SHARE);
        // The busiest gave way: the addresses hold nearly equal shares.
        let shares: Vec<usize> = (0..40)
            .map(|h| p.of(format!("10.0.0.{h}").parse().unwrap()))
            .collect();
        let (least, most) = (shares.iter().min(), shares.iter().max());
        assert!(most.unwrap() - least.unwrap() <= 1, "{shares:?}");
        assert_eq!(
            p.by_id.len(),
            p.by_source.values().map(VecDeque::len).sum::<usize>()
        );
    }

    #[test]
    fn expiry_and_removal_keep_both_maps_in_step() {
        let t0 = Instant::now();
        let mut p = PendingLogins::default();
        p.insert(1, opened("127.0.0.1:1", t0));
        p.insert(2, opened("127.0.0.1:2", t0 + Duration::from_secs(20)));
        p.insert(3, opened("127.0.0.2:1", t0));
        assert!(p.remove(&3).is_some());
        assert_eq!(p.of("127.0.0.2".parse().unwrap()), 0);
        p.expire(t0 + Duration::from_secs(31));
        assert!(!p.contains_key(&1) && p.contains_key(&2));
        assert_eq!(p.of("127.0.0.1".parse().unwrap()), 1);
        p.expire(t0 + Duration::from_secs(51));
        assert_eq!((p.len(), p.by_source.len()), (0, 0));
    }
}
