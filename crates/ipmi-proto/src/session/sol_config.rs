//! The Serial over LAN configuration (IPMI 2.0 section 26, table 26-5): what Get and Set SOL
//! Configuration Parameters read and change, and what activation and the packet stream obey.

use crate::cmd::transport::{sol_param as p, READ_ONLY_PARAMETER, SET_ALREADY_IN_PROGRESS};
use crate::types::{CompletionCode, Privilege};
use std::time::Duration;

/// Completion code of the SOL configuration commands: parameter not supported (0x80).
pub const PARAMETER_NOT_SUPPORTED: CompletionCode = CompletionCode(0x80);

/// The bit rates of parameters 5 and 6, by their code.
const BIT_RATES: [(u8, u32); 5] = [(6, 9600), (7, 19200), (8, 38400), (9, 57600), (10, 115_200)];

/// The code of a bit rate for parameters 5 and 6 (`None` if the specification has none).
pub fn bit_rate_code(bps: u32) -> Option<u8> {
    BIT_RATES.iter().find(|(_, b)| *b == bps).map(|(c, _)| *c)
}

/// The SOL configuration of a BMC's LAN channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SolConfig {
    /// Parameter 1: whether SOL may be activated (off: Activate Payload answers 0x81).
    pub enabled: bool,
    /// Parameter 2, bit 7: SOL is encrypted whenever the session's cipher suite can encrypt; a
    /// console asking for it unencrypted is refused (0x84).
    pub force_encryption: bool,
    /// Parameter 2, bit 6: SOL is authenticated whenever the suite has integrity, whatever
    /// the console asks.
    pub force_authentication: bool,
    /// Parameter 2, bits 3:0: the session privilege needed to activate (and deactivate) SOL.
    /// It comes from the configuration only: Set SOL Configuration Parameters may rewrite
    /// parameter 2's other bits, but a different privilege is refused as read only (0x82), so
    /// that what the configuration file says is what holds, before and after a restart.
    pub privilege: Privilege,
    /// Parameter 3, byte 1: characters are held this long (5 ms units, at least 1) before a
    /// packet is sent with fewer than the threshold.
    pub accumulate_interval: u8,
    /// Parameter 3, byte 2: a packet is sent as soon as this many characters are waiting.
    pub send_threshold: u8,
    /// Parameter 4, byte 1 (bits 2:0): how many times an unacknowledged packet is sent again.
    pub retry_count: u8,
    /// Parameter 4, byte 2: how long to wait for an acknowledgement (10 ms units).
    pub retry_interval: u8,
    /// Parameter 5: the non-volatile bit rate code (0: the serial port's own setting).
    pub non_volatile_bit_rate: u8,
    /// Parameter 6: the volatile bit rate code.
    pub volatile_bit_rate: u8,
    /// Parameter 8: the UDP port SOL runs on: the port the BMC listens on (read only).
    pub port: u16,
}

impl Default for SolConfig {
    fn default() -> Self {
        SolConfig {
            enabled: true,
            force_encryption: true,
            force_authentication: true,
            // The console gives what power control gives (a reboot from the keyboard, the boot
            // menus, a root shell left open): operator, like Chassis Control.
            privilege: Privilege::Operator,
            accumulate_interval: 10,
            send_threshold: 200,
            retry_count: 7,
            retry_interval: 10,
            non_volatile_bit_rate: 10,
            volatile_bit_rate: 10,
            port: 623,
        }
    }
}

impl SolConfig {
    /// How long characters wait for more before they are sent.
    pub fn accumulate(&self) -> Duration {
        Duration::from_millis(5 * u64::from(self.accumulate_interval.max(1)))
    }

    /// How long an unacknowledged packet waits before it is sent again (back to back, 0, is
    /// taken as 10 ms so that a lost acknowledgement does not spin).
    pub fn retry_after(&self) -> Duration {
        Duration::from_millis(10 * u64::from(self.retry_interval.max(1)))
    }
}

/// Parameter 0 and the configuration: what Get and Set SOL Configuration Parameters work on.
#[derive(Clone, Debug)]
pub(crate) struct SolParameters {
    pub(crate) config: SolConfig,
    /// Parameter 0: 0 set complete, 1 set in progress.
    set_in_progress: u8,
}

impl SolParameters {
    pub(crate) fn new(config: SolConfig) -> Self {
        SolParameters {
            config,
            set_in_progress: 0,
        }
    }

    /// The data of parameter `selector` on channel `channel`.
    pub(crate) fn get(&self, selector: u8, channel: u8) -> Result<Vec<u8>, CompletionCode> {
        let c = &self.config;
        Ok(match selector {
            p::SET_IN_PROGRESS => vec![self.set_in_progress],
            p::ENABLE => vec![u8::from(c.enabled)],
            p::AUTHENTICATION => vec![
                (u8::from(c.force_encryption) << 7)
                    | (u8::from(c.force_authentication) << 6)
                    | c.privilege.as_u8(),
            ],
            p::ACCUMULATE => vec![c.accumulate_interval, c.send_threshold],
            p::RETRY => vec![c.retry_count & 0x07, c.retry_interval],
            p::NON_VOLATILE_BIT_RATE => vec![c.non_volatile_bit_rate],
            p::VOLATILE_BIT_RATE => vec![c.volatile_bit_rate],
            p::PAYLOAD_CHANNEL => vec![channel],
            p::PAYLOAD_PORT => c.port.to_le_bytes().to_vec(),
            _ => return Err(PARAMETER_NOT_SUPPORTED),
        })
    }

    /// Sets parameter `selector` to `data`.
    pub(crate) fn set(&mut self, selector: u8, data: &[u8]) -> Result<(), CompletionCode> {
        let want = match selector {
            p::ACCUMULATE | p::RETRY => 2,
            p::SET_IN_PROGRESS
            | p::ENABLE
            | p::AUTHENTICATION
            | p::NON_VOLATILE_BIT_RATE
            | p::VOLATILE_BIT_RATE => 1,
            p::PAYLOAD_CHANNEL | p::PAYLOAD_PORT => return Err(READ_ONLY_PARAMETER),
            _ => return Err(PARAMETER_NOT_SUPPORTED),
        };
        if data.len() != want {
            return Err(CompletionCode::INVALID_LENGTH);
        }
        let c = &mut self.config;
        match selector {
            p::SET_IN_PROGRESS => match data[0] & 0x03 {
                0 => self.set_in_progress = 0,
                1 if self.set_in_progress == 1 => return Err(SET_ALREADY_IN_PROGRESS),
                1 => self.set_in_progress = 1,
                // Commit write: every set takes effect at once, there is nothing to commit.
                2 => {}
                _ => return Err(CompletionCode::INVALID_FIELD),
            },
            p::ENABLE => c.enabled = data[0] & 1 != 0,
            p::AUTHENTICATION => {
                let level = Privilege::from_u8(data[0] & 0x0f)
                    .filter(|l| *l >= Privilege::User)
                    .ok_or(CompletionCode::INVALID_FIELD)?;
                if level != c.privilege {
                    return Err(READ_ONLY_PARAMETER);
                }
                c.force_encryption = data[0] & 0x80 != 0;
                c.force_authentication = data[0] & 0x40 != 0;
            }
            p::ACCUMULATE => {
                if data[0] == 0 || data[1] == 0 {
                    return Err(CompletionCode::INVALID_FIELD);
                }
                (c.accumulate_interval, c.send_threshold) = (data[0], data[1]);
            }
            p::RETRY => (c.retry_count, c.retry_interval) = (data[0] & 0x07, data[1]),
            _ => {
                let code = data[0] & 0x0f;
                if code != 0 && !BIT_RATES.iter().any(|(c, _)| *c == code) {
                    return Err(CompletionCode::INVALID_FIELD);
                }
                if selector == p::NON_VOLATILE_BIT_RATE {
                    c.non_volatile_bit_rate = code;
                } else {
                    c.volatile_bit_rate = code;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_reads_back_as_set() {
        let mut s = SolParameters::new(SolConfig::default());
        assert_eq!(s.get(p::AUTHENTICATION, 1), Ok(vec![0xc3]));
        assert_eq!(s.get(p::PAYLOAD_PORT, 1), Ok(vec![0x6f, 0x02]));
        for (sel, data) in [
            (p::ENABLE, vec![0]),
            (p::AUTHENTICATION, vec![0x03]),
            (p::ACCUMULATE, vec![20, 64]),
            (p::RETRY, vec![3, 50]),
            (p::NON_VOLATILE_BIT_RATE, vec![6]),
            (p::VOLATILE_BIT_RATE, vec![9]),
        ] {
            assert_eq!(s.set(sel, &data), Ok(()), "parameter {sel}");
            assert_eq!(s.get(sel, 1), Ok(data), "parameter {sel}");
        }
        assert!(!s.config.enabled);
        assert_eq!(s.config.privilege, Privilege::Operator);
        assert_eq!(s.config.retry_after(), Duration::from_millis(500));
        assert_eq!(s.get(p::PAYLOAD_CHANNEL, 1), Ok(vec![1]));
    }

    #[test]
    fn refusals() {
        let mut s = SolParameters::new(SolConfig::default());
        assert_eq!(s.get(9, 1), Err(PARAMETER_NOT_SUPPORTED));
        assert_eq!(s.set(0x80, &[0]), Err(PARAMETER_NOT_SUPPORTED));
        assert_eq!(s.set(p::PAYLOAD_PORT, &[1, 2]), Err(READ_ONLY_PARAMETER));
        assert_eq!(s.set(p::PAYLOAD_CHANNEL, &[1]), Err(READ_ONLY_PARAMETER));
        assert_eq!(s.set(p::RETRY, &[1]), Err(CompletionCode::INVALID_LENGTH));
        assert_eq!(
            s.set(p::VOLATILE_BIT_RATE, &[3]),
            Err(CompletionCode::INVALID_FIELD)
        );
        assert_eq!(
            s.set(p::AUTHENTICATION, &[0x01]),
            Err(CompletionCode::INVALID_FIELD)
        );
        // Issue 19, defect 6: the SOL privilege is the configuration's (no lower, no higher
        // at run time, nothing to lose at a restart).
        for other in [0xc2, 0xc4, 0x02] {
            assert_eq!(
                s.set(p::AUTHENTICATION, &[other]),
                Err(READ_ONLY_PARAMETER),
                "{other:#x}"
            );
        }
        assert_eq!(s.config.privilege, Privilege::Operator);
        assert_eq!(
            s.set(p::ACCUMULATE, &[0, 1]),
            Err(CompletionCode::INVALID_FIELD)
        );
        assert_eq!(s.set(p::SET_IN_PROGRESS, &[1]), Ok(()));
        assert_eq!(
            s.set(p::SET_IN_PROGRESS, &[1]),
            Err(SET_ALREADY_IN_PROGRESS)
        );
        assert_eq!(s.set(p::SET_IN_PROGRESS, &[2]), Ok(()), "commit write");
        assert_eq!(s.set(p::SET_IN_PROGRESS, &[0]), Ok(()));
        assert_eq!(s.get(p::SET_IN_PROGRESS, 1), Ok(vec![0]));
        assert_eq!(bit_rate_code(115_200), Some(10));
        assert_eq!(bit_rate_code(300), None);
    }
}
