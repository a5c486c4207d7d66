//! Set System Boot Options (IPMI 2.0 section 28.12, Chassis 0x08, Operator), and the boot flags
//! parameter (table 28-14, parameter 5).

use crate::cmd::{command, expect_len, take, Body, Empty};
use crate::types::{NetFn, ParseError, Privilege};

command!(
    /// Set System Boot Options: write one boot option parameter.
    SetSystemBootOptions, "Set System Boot Options", "28.12",
    NetFn::CHASSIS, 0x08, Some(Privilege::Operator), SetBootOptionsRequest, Empty
);

/// The Set System Boot Options request: a parameter selector and its data, kept raw so that the
/// BMC can read it back exactly as set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetBootOptionsRequest {
    /// Byte 1, bit 7: mark the parameter invalid/locked.
    pub invalid: bool,
    /// Parameter selector (bits 6:0).
    pub parameter: u8,
    /// The parameter data.
    pub data: Vec<u8>,
}

impl Body for SetBootOptionsRequest {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 1, 64)?;
        Ok(SetBootOptionsRequest {
            invalid: d[0] & 0x80 != 0,
            parameter: d[0] & 0x7f,
            data: d[1..].to_vec(),
        })
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.push((self.parameter & 0x7f) | if self.invalid { 0x80 } else { 0 });
        out.extend_from_slice(&self.data);
    }
}

/// Boot flags (parameter 5): five bytes, decoded where the BMC acts on them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BootFlags(pub [u8; 5]);

impl BootFlags {
    /// Byte 1, bit 7: the flags are valid.
    pub fn valid(&self) -> bool {
        self.0[0] & 0x80 != 0
    }
    /// Byte 1, bit 6: applies to all future boots (else to the next boot only).
    pub fn persistent(&self) -> bool {
        self.0[0] & 0x40 != 0
    }
    /// Byte 1, bit 5: EFI boot (else PC-compatible legacy boot).
    pub fn efi(&self) -> bool {
        self.0[0] & 0x20 != 0
    }
    /// Byte 2, bits 5:2: the boot device selector (0: no override).
    pub fn device_selector(&self) -> u8 {
        (self.0[1] >> 2) & 0x0f
    }
    /// Builds flags for a device selector.
    pub fn new(valid: bool, persistent: bool, efi: bool, selector: u8) -> BootFlags {
        let b1 = (u8::from(valid) << 7) | (u8::from(persistent) << 6) | (u8::from(efi) << 5);
        BootFlags([b1, (selector & 0x0f) << 2, 0, 0, 0])
    }
    /// The same flags with the valid bit cleared.
    pub fn invalidated(mut self) -> BootFlags {
        self.0[0] &= 0x7f;
        self
    }
}

impl Body for BootFlags {
    fn parse(d: &[u8]) -> Result<Self, ParseError> {
        expect_len(d, 5, 5)?;
        Ok(BootFlags(take(d, 0)?))
    }
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::test_util::{captured, round_trip};

    #[test]
    fn ironic_efi_pxe_persistent() {
        // ipmitool raw 0x00 0x08 0x05 0xe0 0x04 0 0 0 (Ironic's persistent UEFI PXE).
        let req = SetBootOptionsRequest::parse(&[0x05, 0xe0, 0x04, 0, 0, 0]).unwrap();
        assert_eq!(req.parameter, 5);
        let f = BootFlags::parse(&req.data).unwrap();
        assert!(f.valid() && f.persistent() && f.efi());
        assert_eq!(f.device_selector(), 1);
        assert_eq!(BootFlags::new(true, true, true, 1), f);
        assert!(!f.invalidated().valid());
    }

    #[test]
    fn ipmitool_bootdev_pxe() {
        // `ipmitool chassis bootdev pxe`: set in progress, boot info acknowledge, boot flags.
        let r: SetBootOptionsRequest = captured(&[0x00, 0x01]);
        assert_eq!((r.parameter, r.data.as_slice()), (0, &[0x01][..]));
        let r: SetBootOptionsRequest = captured(&[0x04, 0x01, 0x01]);
        assert_eq!(r.parameter, 4);
        let r: SetBootOptionsRequest = captured(&[0x05, 0x80, 0x04, 0x00, 0x00, 0x00]);
        let flags: BootFlags = captured(&r.data);
        assert!(flags.valid() && !flags.persistent() && !flags.efi());
        assert_eq!(flags.device_selector(), 1);
        round_trip(&SetBootOptionsRequest {
            invalid: true,
            parameter: 3,
            data: vec![0x1f],
        });
        assert_eq!(SetBootOptionsRequest::parse(&[]), Err(ParseError::Length));
        assert_eq!(BootFlags::parse(&[0x80; 4]), Err(ParseError::Length));
    }
}
