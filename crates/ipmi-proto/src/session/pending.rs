//! Logins in progress (a challenge sent, or an RMCP+ login between Open Session and RAKP 3),
//! bounded so that a flood of half-open logins cannot push out a real one:
//! - one source address holds at most [`PENDING_PER_SOURCE`]; past it, its own oldest goes;
//! - all together hold at most [`PENDING_LIMIT`]; past it, the oldest logins of the addresses
//!   holding the most go;
//! - either way, logins not yet sent RAKP 2 go before those that were (see below).
//!
//! So an address flooding Open Session Requests or Get Session Challenges from many ports
//! displaces only its own logins. Addresses are all a datagram carries, and they can be spoofed:
//! a flood from more addresses than the limit can hold, within one round trip of a real login,
//! can still displace it. Stale logins are dropped by [`PendingLogins::expire`], on the caller's
//! timer, not on every packet.
//!
//! A login the BMC has sent RAKP 2 for (an HMAC keyed by the user's password, which a console
//! with the wrong password finds wrong and abandons without a RAKP 3) is worth more than one
//! that has not: when it ends without a RAKP 3 (expired, pushed out, or started over by its
//! console) it is handed to the caller as [`Abandoned`], to count as a failed login. So it waits
//! for RAKP 3 only [`RAKP3_TIMEOUT`], and the bounds push out logins that have not reached
//! RAKP 2 first: only a console that sees the BMC's answers can get a login to RAKP 2, so a
//! flood from spoofed addresses cannot have a real console's logins counted as failures.

use super::cipher_suite::CipherSuite;
use super::id_map::IdMap;
use crate::crypto::rakp::Exchange;
use crate::types::Privilege;
use crate::wire::ipmi15::AuthType;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// How long a login may take between its steps (challenge → activate, open → RAKP 3).
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a login waits for RAKP 3 after the latest RAKP 2 (within [`HANDSHAKE_TIMEOUT`]).
/// Real consoles answer RAKP 2 at once: the wait covers a round trip plus one retransmission
/// interval if RAKP 3 is lost (ipmitool's `-N` is 1 s for lanplus, FreeIPMI's is 1 s; a lost
/// RAKP 2 is asked for again with RAKP 1, which answers it again and restarts this wait). A
/// console with the wrong password never answers: its login counts as failed this long after
/// RAKP 2, seen by a timer that runs every second, so a wrong-password ipmitool is locked out
/// about this long after its `max_failures`-th try.
pub(crate) const RAKP3_TIMEOUT: Duration = Duration::from_secs(10);
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
        /// When RAKP 2 was last sent (see [`RAKP3_TIMEOUT`]).
        sent: Instant,
    },
}

/// A login in progress with where and when it started.
pub(crate) struct Pending {
    pub(crate) peer: SocketAddr,
    pub(crate) started: Instant,
    pub(crate) state: Handshake,
}

impl Pending {
    /// Whether the BMC has sent RAKP 2 for this login.
    pub(crate) fn sent_rakp2(&self) -> bool {
        matches!(self.state, Handshake::Rakp2Sent { .. })
    }

    /// Whether the login is too old at `now`: [`HANDSHAKE_TIMEOUT`] after it started, or
    /// [`RAKP3_TIMEOUT`] after its latest RAKP 2.
    fn timed_out(&self, now: Instant) -> bool {
        now.duration_since(self.started) > HANDSHAKE_TIMEOUT
            || matches!(self.state, Handshake::Rakp2Sent { sent, .. }
                if now.duration_since(sent) > RAKP3_TIMEOUT)
    }

    /// The login as abandoned (`how`), if the BMC had sent it RAKP 2.
    pub(crate) fn abandoned(self, how: &'static str) -> Option<Abandoned> {
        match self.state {
            Handshake::Rakp2Sent { exchange, .. } => Some(Abandoned {
                peer: self.peer,
                user: exchange.username,
                how,
            }),
            _ => None,
        }
    }
}

/// A login that ended after the BMC sent RAKP 2 and before a RAKP 3 came: to count as a failed
/// login of `user` from `peer`.
#[derive(Debug)]
pub(crate) struct Abandoned {
    pub(crate) peer: SocketAddr,
    /// The user name of RAKP 1.
    pub(crate) user: Vec<u8>,
    /// How it ended, for the log: "expired", "pushed out", "started over".
    pub(crate) how: &'static str,
}

/// The logins in progress of one BMC ([`Logins`]), made at its first login: most BMCs of a
/// large fleet have none, and the tables and counters are 120 bytes in each (boxed, 8 until
/// then; the once-a-second expiry has nothing to walk either).
#[derive(Default)]
pub(crate) struct PendingLogins(Option<Box<Logins>>);

impl PendingLogins {
    /// The logins, made now if there were none yet.
    fn made(&mut self) -> &mut Logins {
        self.0.get_or_insert_with(Box::default)
    }

    /// See [`Logins::get`].
    pub(crate) fn get(&self, id: &u32) -> Option<&Pending> {
        self.0.as_ref()?.get(id)
    }

    /// See [`Logins::get_mut`].
    pub(crate) fn get_mut(&mut self, id: &u32) -> Option<&mut Pending> {
        self.0.as_mut()?.get_mut(id)
    }

    /// See [`Logins::contains_key`].
    pub(crate) fn contains_key(&self, id: &u32) -> bool {
        self.0.as_ref().is_some_and(|l| l.contains_key(id))
    }

    /// See [`Logins::len`].
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |l| l.len())
    }

    /// See [`Logins::remove`].
    pub(crate) fn remove(&mut self, id: &u32) -> Option<Pending> {
        self.0.as_mut()?.remove(id)
    }

    /// See [`Logins::insert`].
    pub(crate) fn insert(&mut self, id: u32, p: Pending) {
        self.made().insert(id, p);
    }

    /// See [`Logins::start_over`].
    pub(crate) fn start_over(&mut self, id: u32) {
        if let Some(l) = self.0.as_mut() {
            l.start_over(id);
        }
    }

    /// See [`Logins::started_again`].
    pub(crate) fn started_again(&mut self, peer: SocketAddr, user: &[u8], keep: u32) {
        if let Some(l) = self.0.as_mut() {
            l.started_again(peer, user, keep);
        }
    }

    /// See [`Logins::take_abandoned`].
    pub(crate) fn take_abandoned(&mut self) -> Vec<Abandoned> {
        self.0
            .as_mut()
            .map(|l| l.take_abandoned())
            .unwrap_or_default()
    }

    /// See [`Logins::evicted`].
    pub(crate) fn evicted(&self) -> u64 {
        self.0.as_ref().map_or(0, |l| l.evicted())
    }

    /// See [`Logins::expired`].
    pub(crate) fn expired(&self) -> u64 {
        self.0.as_ref().map_or(0, |l| l.expired())
    }

    /// See [`Logins::expire`].
    pub(crate) fn expire(&mut self, now: Instant) {
        if let Some(l) = self.0.as_mut() {
            l.expire(now);
        }
    }

    /// See [`Logins::of`].
    #[cfg(test)]
    pub(crate) fn of(&self, ip: IpAddr) -> usize {
        self.0.as_ref().map_or(0, |l| l.of(ip))
    }
}

/// The logins in progress by (temporary) BMC session ID, and which each address started.
#[derive(Default)]
struct Logins {
    /// (Drawn by the BMC: see [`IdMap`].)
    by_id: IdMap<Pending>,
    /// The IDs of each address's logins, oldest first.
    by_source: HashMap<IpAddr, VecDeque<u32>>,
    /// Logins pushed out by the bounds, for the metrics.
    evicted: u64,
    /// Logins that timed out, for the metrics.
    expired: u64,
    /// Logins dropped here after RAKP 2, not yet taken by [`Logins::take_abandoned`].
    abandoned: Vec<Abandoned>,
}

impl Logins {
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

    /// Adds a login under a fresh ID, first making room: past its address's share, one of that
    /// address's logins goes; past the limit, [`EVICT_SHARE`] logins go, each one of the address
    /// then holding the most logins not yet sent RAKP 2 (see [`Logins::rank`] and
    /// [`Logins::drop_one_of`]).
    pub(crate) fn insert(&mut self, id: u32, p: Pending) {
        let ip = p.peer.ip();
        let own = self.by_source.get(&ip).map_or(0, VecDeque::len);
        if own >= PENDING_PER_SOURCE {
            self.drop_one_of(ip);
        } else if self.by_id.len() >= PENDING_LIMIT {
            self.make_room();
        }
        self.by_source.entry(ip).or_default().push_back(id);
        self.by_id.insert(id, p);
    }

    /// Puts a login the BMC sent RAKP 2 for back to waiting for RAKP 1, as abandoned: its
    /// console sent another RAKP 1 than the one answered, and so starts the exchange over.
    pub(crate) fn start_over(&mut self, id: u32) {
        let Some(p) = self.by_id.get_mut(&id) else {
            return;
        };
        let Handshake::Rakp2Sent {
            console_id,
            suite,
            max_privilege,
            ..
        } = p.state
        else {
            return;
        };
        let old = std::mem::replace(
            &mut p.state,
            Handshake::Opened {
                console_id,
                suite,
                max_privilege,
            },
        );
        if let Handshake::Rakp2Sent { exchange, .. } = old {
            self.abandoned.push(Abandoned {
                peer: p.peer,
                user: exchange.username,
                how: "started over",
            });
        }
    }

    /// Drops, as abandoned, the logins other than `keep` that the console at `peer` (the same
    /// address and port) was sent RAKP 2 for as `user`: it is logging in as that user again
    /// without having finished them. (A console with one socket logs in once at a time: ipmitool,
    /// when its RAKP 2 is lost, opens a new session from the same port.)
    pub(crate) fn started_again(&mut self, peer: SocketAddr, user: &[u8], keep: u32) {
        let Some(ids) = self.by_source.get_mut(&peer.ip()) else {
            return;
        };
        let by_id = &mut self.by_id;
        let abandoned = &mut self.abandoned;
        ids.retain(|id| {
            let earlier = *id != keep
                && by_id.get(id).is_some_and(|p| {
                    p.peer == peer
                        && matches!(&p.state, Handshake::Rakp2Sent { exchange, .. }
                            if exchange.username == user)
                });
            if earlier {
                abandoned.extend(by_id.remove(id).and_then(|p| p.abandoned("started over")));
            }
            !earlier
        });
        if ids.is_empty() {
            self.by_source.remove(&peer.ip());
        }
    }

    /// The logins dropped after RAKP 2 since the last call, to count as failed logins.
    pub(crate) fn take_abandoned(&mut self) -> Vec<Abandoned> {
        std::mem::take(&mut self.abandoned)
    }

    /// Logins pushed out by the bounds so far.
    pub(crate) fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Logins timed out so far.
    pub(crate) fn expired(&self) -> u64 {
        self.expired
    }

    /// Drops logins that took too long (see [`Pending::timed_out`]). Every login is looked at:
    /// with two timeouts, an address's oldest login is not always the first to time out (at
    /// most [`PENDING_LIMIT`] of them, once a second).
    pub(crate) fn expire(&mut self, now: Instant) {
        let (by_id, expired, abandoned) = (&mut self.by_id, &mut self.expired, &mut self.abandoned);
        self.by_source.retain(|_, ids| {
            ids.retain(|id| match by_id.get(id) {
                Some(p) if !p.timed_out(now) => true,
                _ => {
                    if let Some(p) = by_id.remove(id) {
                        *expired += 1;
                        abandoned.extend(p.abandoned("expired"));
                    }
                    false
                }
            });
            !ids.is_empty()
        });
    }

    /// Drops logins down to [`EVICT_SHARE`] below the limit, each time one of the address that
    /// comes first by [`Logins::rank`]. A share at once, so that the addresses are ranked
    /// once per that many new logins, not for every one.
    fn make_room(&mut self) {
        let target = PENDING_LIMIT - EVICT_SHARE;
        let mut ranked: BinaryHeap<_> = self
            .by_source
            .keys()
            .filter_map(|ip| self.rank(*ip))
            .collect();
        while self.by_id.len() > target {
            let Some((_, _, _, ip)) = ranked.pop() else {
                break;
            };
            self.drop_one_of(ip);
            ranked.extend(self.rank(ip));
        }
    }

    /// How soon `ip` gives way when the logins are too many (the highest first): an address
    /// holding logins not yet sent RAKP 2 before one that holds none, then the more it holds,
    /// the sooner, then the one whose oldest login is oldest. So a flood of Open Session
    /// Requests from spoofed addresses, one each, pushes out its own logins before a console's
    /// logins past RAKP 2 (which would count as failed), however many the console holds; a
    /// login past RAKP 2 is pushed out only when no login before it is left.
    fn rank(&self, ip: IpAddr) -> Option<(bool, usize, Reverse<Instant>, IpAddr)> {
        let ids = self.by_source.get(&ip)?;
        let oldest = self.by_id.get(ids.front()?)?.started;
        let before_rakp2 = ids
            .iter()
            .any(|id| self.by_id.get(id).is_some_and(|p| !p.sent_rakp2()));
        Some((before_rakp2, ids.len(), Reverse(oldest), ip))
    }

    /// Drops one login of `ip`: its oldest not yet sent RAKP 2, or if all were, its oldest
    /// (abandoned, then). A flood of Open Session Requests from a console's address (which
    /// anyone can spoof) so pushes out the logins it started, and the console's logins past
    /// RAKP 2 only when it holds nothing else.
    fn drop_one_of(&mut self, ip: IpAddr) {
        let Some(ids) = self.by_source.get_mut(&ip) else {
            return;
        };
        let at = ids
            .iter()
            .position(|id| self.by_id.get(id).is_some_and(|p| !p.sent_rakp2()))
            .unwrap_or(0);
        if let Some(p) = ids.remove(at).and_then(|id| self.by_id.remove(&id)) {
            self.evicted += 1;
            self.abandoned.extend(p.abandoned("pushed out"));
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
            p.0.as_ref().unwrap().by_id.len(),
            p.0.as_ref()
                .unwrap()
                .by_source
                .values()
                .map(VecDeque::len)
                .sum::<usize>()
        );
    }

    fn past_rakp2(peer: &str, started: Instant, sent: Instant) -> Pending {
        Pending {
            state: Handshake::Rakp2Sent {
                console_id: 1,
                suite: CipherSuite::by_id(17).unwrap(),
                max_privilege: Privilege::Administrator,
                exchange: Exchange {
                    console_session_id: 1,
                    bmc_session_id: 2,
                    console_random: [0; 16],
                    bmc_random: [0; 16],
                    bmc_guid: [0; 16],
                    role: 0x14,
                    username: b"admin".to_vec(),
                },
                user_id: 2,
                privilege: Privilege::Administrator,
                sent,
            },
            ..opened(peer, started)
        }
    }

    /// A login past RAKP 2 waits [`RAKP3_TIMEOUT`] from its RAKP 2, though an older login of
    /// its address (ahead of it in the address's queue) waits longer; it is handed back once.
    #[test]
    fn a_login_past_rakp2_expires_sooner_and_is_handed_back() {
        let t0 = Instant::now();
        let mut p = PendingLogins::default();
        p.insert(1, opened("127.0.0.1:1", t0));
        let sent = t0 + Duration::from_secs(1);
        p.insert(2, past_rakp2("127.0.0.1:2", t0, sent));
        p.expire(sent + RAKP3_TIMEOUT);
        assert!(p.contains_key(&2) && p.take_abandoned().is_empty());
        p.expire(sent + RAKP3_TIMEOUT + Duration::from_millis(1));
        assert!(p.contains_key(&1) && !p.contains_key(&2));
        let gone = p.take_abandoned();
        assert_eq!(gone.len(), 1, "{gone:?}");
        assert_eq!(
            (gone[0].peer, &gone[0].user[..], gone[0].how),
            ("127.0.0.1:2".parse().unwrap(), &b"admin"[..], "expired")
        );
        assert!(p.take_abandoned().is_empty());
        p.expire(t0 + HANDSHAKE_TIMEOUT + Duration::from_millis(1));
        assert_eq!((p.len(), p.expired()), (0, 2));
        assert!(p.take_abandoned().is_empty(), "not past RAKP 2");
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
        assert_eq!((p.len(), p.0.as_ref().unwrap().by_source.len()), (0, 0));
    }
}
