//! The least session privilege IPMI 2.0 (rev. 1.1) appendix G, "Command Assignments", gives each
//! command on a LAN channel: the floor under every relayed command. A relay rule may ask for
//! more, never for less: a rule that hands NetFn App to users still leaves Set User Password to
//! administrators, whatever account the session behind has.
//!
//! One table, here. A command appendix G does not list, a system-interface-only command, and
//! every command of the firmware, group extension and OEM NetFns (whose meaning only their
//! vendor knows) need an administrator.

use ipmi_proto::types::{NetFn, Privilege};

/// The least privilege a session needs for command `cmd` of request NetFn `netfn`.
pub fn privilege_floor(netfn: NetFn, cmd: u8) -> Privilege {
    use Privilege::{Administrator as A, Callback as C, Operator as O, User as U};
    match (netfn.0, cmd) {
        // Chassis (28): capabilities and status read, control and identify operate, the
        // capabilities and front panel configured by an administrator.
        (0x00, 0x00 | 0x01 | 0x07 | 0x0f) => U,
        (0x00, 0x02..=0x04 | 0x06 | 0x08 | 0x09) => O,
        (0x00, 0x05 | 0x0a | 0x0b) => A,
        // Bridge (ICMB, 31): reads are a user's, changes and bridged requests an operator's.
        (0x02, 0x00 | 0x02 | 0x05 | 0x06 | 0x09..=0x0c | 0x11 | 0x13 | 0x30 | 0x34 | 0x35) => U,
        (0x02, 0x01 | 0x03 | 0x04 | 0x08 | 0x10 | 0x12 | 0x14 | 0x20 | 0x21 | 0x31..=0x33) => O,
        // Sensor/Event (29, 30, 35): event receiver, PEF, SDR and sensors.
        (0x04, 0x01 | 0x10) => U,
        (0x04, 0x02 | 0x13) => O,
        (0x04, 0x00 | 0x11 | 0x12 | 0x14..=0x16) => A,
        (0x04, 0x17) => C,
        (0x04, 0x20..=0x23 | 0x25 | 0x27 | 0x29 | 0x2b | 0x2d | 0x2f) => U,
        (0x04, 0x24 | 0x26 | 0x28 | 0x2a | 0x2e | 0x30) => O,
        // App (20-22, 24): device, watchdog, messaging, sessions, channels, users, payloads.
        (0x06, 0x01 | 0x04 | 0x07..=0x0d | 0x25 | 0x2f | 0x36 | 0x37) => U,
        (0x06, 0x22 | 0x24 | 0x3f | 0x44 | 0x46 | 0x4d | 0x52) => O,
        (0x06, 0x02 | 0x03 | 0x05 | 0x06 | 0x40 | 0x43 | 0x45 | 0x47 | 0x4c | 0x56) => A,
        // Send Message bridges any command to another channel as the BMC: an administrator's.
        (0x06, 0x34) => A,
        (0x06, 0x38..=0x3a | 0x3c | 0x54) => C,
        (0x06, 0x3b | 0x3d | 0x41 | 0x42 | 0x48..=0x4b | 0x4e..=0x50 | 0x55 | 0x57) => U,
        (0x06, 0x59 | 0x61 | 0x63 | 0x64) => U,
        (0x06, 0x58 | 0x60 | 0x62) => A,
        // Storage (34, 33, 31): FRU, SDR repository, SEL, auxiliary log.
        (0x0a, 0x10 | 0x11 | 0x20..=0x23 | 0x28 | 0x40..=0x43 | 0x48 | 0x5a | 0x5c) => U,
        (0x0a, 0x12 | 0x24..=0x27 | 0x29..=0x2c | 0x44..=0x47 | 0x49 | 0x5d) => O,
        (0x0a, 0x5b) => A,
        // Transport (23, 25, 26): LAN, serial/modem and SOL configuration.
        (0x0c, 0x04 | 0x13 | 0x1b | 0x22) => U,
        (0x0c, 0x02 | 0x11) => O,
        (0x0c, 0x01 | 0x03 | 0x10 | 0x12 | 0x1a | 0x1c | 0x21) => A,
        _ => A,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dangerous_ones_are_an_administrators() {
        for (netfn, cmd) in [
            (NetFn::APP, 0x34),       // Send Message
            (NetFn::APP, 0x40),       // Set Channel Access
            (NetFn::APP, 0x43),       // Set User Access
            (NetFn::APP, 0x45),       // Set User Name
            (NetFn::APP, 0x47),       // Set User Password
            (NetFn::APP, 0x02),       // Cold Reset
            (NetFn::TRANSPORT, 0x01), // Set LAN Configuration Parameters
            (NetFn(0x08), 0x00),      // firmware
            (NetFn(0x2c), 0x01),      // group extension
            (NetFn(0x2e), 0x01),      // OEM/group
            (NetFn(0x30), 0x99),      // OEM
            (NetFn::CHASSIS, 0x99),   // not in appendix G
        ] {
            assert_eq!(
                privilege_floor(netfn, cmd),
                Privilege::Administrator,
                "{netfn:?} {cmd:#04x}"
            );
        }
    }

    #[test]
    fn reads_are_a_users_and_changes_an_operators() {
        assert_eq!(privilege_floor(NetFn::CHASSIS, 0x01), Privilege::User);
        assert_eq!(privilege_floor(NetFn::CHASSIS, 0x02), Privilege::Operator);
        assert_eq!(privilege_floor(NetFn::STORAGE, 0x43), Privilege::User);
        assert_eq!(privilege_floor(NetFn::STORAGE, 0x47), Privilege::Operator);
        assert_eq!(privilege_floor(NetFn::SENSOR_EVENT, 0x2d), Privilege::User);
        assert_eq!(
            privilege_floor(NetFn::SENSOR_EVENT, 0x26),
            Privilege::Operator
        );
        assert_eq!(privilege_floor(NetFn::APP, 0x46), Privilege::Operator);
    }

    /// The table agrees with the privilege each command the model answers declares. Group
    /// extension commands (NetFn 2Ch, DCMI's among them) are the exception on purpose: their
    /// meaning depends on the group byte in the data, which a (NetFn, Cmd) floor cannot see, so
    /// relaying them takes administrator, while the model answers its DCMI reads at User.
    #[test]
    fn agrees_with_the_models_commands() {
        for c in crate::commands() {
            if c.netfn == NetFn::GROUP_EXTENSION {
                assert_eq!(privilege_floor(c.netfn, c.cmd), Privilege::Administrator);
                continue;
            }
            if let Some(p) = c.privilege {
                assert_eq!(privilege_floor(c.netfn, c.cmd), p, "{}", c.name);
            }
        }
    }
}
