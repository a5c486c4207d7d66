//! What an HTTP status means to the IPMI client: a completion code per status (`409`) or class
//! (`4xx`), with defaults a configuration (and an operation's own `codes`) can override.
//!
//! Defaults: 2xx success; 409 and 422 0xD5 (not possible in the present state); 429 0xC0
//! (busy: waited out within the deadline when `Retry-After` allows); anything else 0xFF. A
//! status mapped to 0xC0 is treated as a rate limit whatever its number (Hetzner Robot answers
//! 403 when the request limit is reached).

use ipmi_bmc::BackendError;
use ipmi_proto::types::CompletionCode;
use std::collections::BTreeMap;

/// Success.
pub const OK: u8 = 0x00;
/// Node busy: a rate limit.
pub const BUSY: u8 = 0xC0;
/// Invalid command: the operation is not supported (a route moves on to its next backend).
pub const UNSUPPORTED: u8 = 0xC1;
/// Timeout.
pub const TIMEOUT: u8 = 0xC3;
/// Not possible in the present state.
pub const INVALID_STATE: u8 = 0xD5;
/// Unspecified error.
pub const FAILED: u8 = 0xFF;

/// A status → completion code map: exact statuses first, then classes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Codes {
    exact: BTreeMap<u16, u8>,
    /// Index 1..=5: `1xx`..`5xx`.
    class: [Option<u8>; 6],
}

impl Codes {
    /// The defaults.
    pub fn defaults() -> Codes {
        let mut c = Codes::default();
        c.class[2] = Some(OK);
        for (s, cc) in [(409, INVALID_STATE), (422, INVALID_STATE), (429, BUSY)] {
            c.exact.insert(s, cc);
        }
        c
    }

    /// Sets the code of `key`: a status (`"409"`) or a class (`"5xx"`).
    pub fn set(&mut self, key: &str, cc: u8) -> Result<(), String> {
        let bad = || format!("bad status {key:?} in codes: a status (409) or a class (5xx)");
        if let Some(class) = key.strip_suffix("xx") {
            let n: usize = class.parse().map_err(|_| bad())?;
            if !(1..=5).contains(&n) {
                return Err(bad());
            }
            self.class[n] = Some(cc);
        } else {
            let n: u16 = key.parse().map_err(|_| bad())?;
            if !(100..=599).contains(&n) {
                return Err(bad());
            }
            self.exact.insert(n, cc);
        }
        Ok(())
    }

    /// These codes with `over`'s on top (an exact status of either wins over a class).
    pub fn overlaid(&self, over: &Codes) -> Codes {
        let mut c = self.clone();
        // A class given on top hides the exact statuses of that class beneath it.
        for (n, cc) in over.class.iter().enumerate() {
            if let Some(cc) = cc {
                c.exact.retain(|s, _| usize::from(*s / 100) != n);
                c.class[n] = Some(*cc);
            }
        }
        c.exact.extend(over.exact.iter().map(|(s, cc)| (*s, *cc)));
        c
    }

    /// The completion code of HTTP status `status`.
    pub fn of(&self, status: u16) -> u8 {
        self.exact
            .get(&status)
            .copied()
            .or_else(|| self.class.get(usize::from(status / 100)).copied().flatten())
            .unwrap_or(FAILED)
    }
}

/// The backend error a completion code stands for (`OK` is not an error).
pub fn error_of(cc: u8, message: String) -> BackendError {
    match cc {
        BUSY => BackendError::Busy(message),
        UNSUPPORTED => BackendError::NotSupported,
        TIMEOUT => BackendError::Timeout(message),
        INVALID_STATE => BackendError::InvalidState(message),
        FAILED => BackendError::Failed(message),
        other => BackendError::Completion(CompletionCode(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let d = Codes::defaults();
        assert_eq!(d.of(200), OK);
        assert_eq!(d.of(204), OK);
        assert_eq!(d.of(409), INVALID_STATE);
        assert_eq!(d.of(422), INVALID_STATE);
        assert_eq!(d.of(429), BUSY);
        assert_eq!(d.of(503), FAILED);
        assert_eq!(d.of(404), FAILED);
        assert_eq!(d.of(302), FAILED, "redirects are not followed");
        let mut top = Codes::default();
        top.set("403", BUSY).unwrap();
        top.set("4xx", 0xCC).unwrap();
        let c = d.overlaid(&top);
        assert_eq!(c.of(403), BUSY);
        assert_eq!(
            c.of(409),
            0xCC,
            "a class on top hides the defaults' statuses of it"
        );
        let mut op = Codes::default();
        op.set("409", OK).unwrap();
        assert_eq!(c.overlaid(&op).of(409), OK);
        for bad in ["6xx", "0xx", "99", "abc", "600"] {
            assert!(Codes::default().set(bad, 0).is_err(), "{bad}");
        }
    }
}
