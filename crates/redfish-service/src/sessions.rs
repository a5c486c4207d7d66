//! The sessions of the SessionService: a token per session, an idle timeout, a bound on how
//! many are open at once.

use crate::auth::{Grant, Principal};
use rand::RngCore;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use zeroize::Zeroizing;

/// A session's token, wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Token(String);

impl Drop for Token {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// One open session.
struct Session {
    id: String,
    user: String,
    grants: Arc<BTreeMap<String, Grant>>,
    created: SystemTime,
    last_used: Instant,
}

/// What a session shows of itself (the Session resource).
#[derive(Clone, Debug)]
pub struct SessionInfo {
    /// Its ID (in its URI).
    pub id: String,
    /// Its user.
    pub user: String,
    /// When it was opened.
    pub created: SystemTime,
}

/// The open sessions, by token.
pub struct Sessions {
    by_token: Mutex<HashMap<Token, Session>>,
    timeout: Mutex<Duration>,
    max: usize,
}

/// Why a session could not be opened.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    /// As many sessions are open as allowed.
    Full,
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Sessions {
    /// A store of at most `max` sessions, each closed after `timeout` unused.
    pub fn new(timeout: Duration, max: usize) -> Sessions {
        Sessions {
            by_token: Mutex::new(HashMap::new()),
            timeout: Mutex::new(timeout),
            max,
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Token, Session>> {
        self.by_token.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The idle timeout.
    pub fn timeout(&self) -> Duration {
        *self.timeout.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most sessions open at once.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Opens a session for `user` holding `grants`: its ID and token.
    pub fn open(
        &self,
        user: &str,
        grants: BTreeMap<String, Grant>,
    ) -> Result<(String, Zeroizing<String>), OpenError> {
        let timeout = self.timeout();
        let mut map = self.map();
        let now = Instant::now();
        map.retain(|_, s| now.duration_since(s.last_used) < timeout);
        if map.len() >= self.max {
            return Err(OpenError::Full);
        }
        let id = random_hex(8);
        let token = Zeroizing::new(random_hex(24));
        map.insert(
            Token(token.to_string()),
            Session {
                id: id.clone(),
                user: user.to_string(),
                grants: Arc::new(grants),
                created: SystemTime::now(),
                last_used: now,
            },
        );
        Ok((id, token))
    }

    /// The user of a live session's token (its use counts as activity).
    pub fn principal(&self, token: &str) -> Option<Principal> {
        let timeout = self.timeout();
        let mut map = self.map();
        let key = Token(token.to_string());
        let now = Instant::now();
        let s = map.get_mut(&key)?;
        if now.duration_since(s.last_used) >= timeout {
            map.remove(&key);
            return None;
        }
        s.last_used = now;
        Some(Principal {
            user: s.user.clone(),
            grants: s.grants.clone(),
            session: Some(s.id.clone()),
        })
    }

    /// The live sessions of `user`.
    pub fn of_user(&self, user: &str) -> Vec<SessionInfo> {
        let timeout = self.timeout();
        let now = Instant::now();
        let mut v: Vec<SessionInfo> = self
            .map()
            .values()
            .filter(|s| s.user == user && now.duration_since(s.last_used) < timeout)
            .map(|s| SessionInfo {
                id: s.id.clone(),
                user: s.user.clone(),
                created: s.created,
            })
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Closes `user`'s session `id`; whether it was open.
    pub fn close(&self, user: &str, id: &str) -> bool {
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, s| !(s.id == id && s.user == user));
        map.len() != before
    }

    /// Sets the idle timeout.
    pub fn set_timeout(&self, timeout: Duration) {
        *self.timeout.lock().unwrap_or_else(|e| e.into_inner()) = timeout;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_expires_unused_and_the_count_is_bounded() {
        let s = Sessions::new(Duration::from_millis(200), 2);
        let (id, token) = s.open("admin", BTreeMap::new()).unwrap();
        let (_, _) = s.open("admin", BTreeMap::new()).unwrap();
        assert_eq!(s.open("admin", BTreeMap::new()), Err(OpenError::Full));
        // Used: still open.
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(
            s.principal(&token).unwrap().session.as_deref(),
            Some(id.as_str())
        );
        std::thread::sleep(Duration::from_millis(120));
        assert!(s.principal(&token).is_some(), "activity keeps it open");
        // Unused past the timeout: gone, and its place free again.
        std::thread::sleep(Duration::from_millis(250));
        assert!(s.principal(&token).is_none());
        assert!(s.open("admin", BTreeMap::new()).is_ok());
        assert!(s.principal("not-a-token").is_none());
        // Closed by its own user only.
        let (id2, token2) = s.open("operator", BTreeMap::new()).unwrap();
        assert!(!s.close("admin", &id2));
        assert!(s.principal(&token2).is_some());
        assert!(s.close("operator", &id2));
        assert!(s.principal(&token2).is_none());
    }
}
