//! Get Device SDR (IPMI 2.0 section 35.3, Sensor/Event 0x21, User): the Get SDR request and
//! response, for the device's own SDRs.

use crate::cmd::command;
use crate::cmd::storage::{GetSdrRequest, GetSdrResponse};
use crate::types::{NetFn, Privilege};

command!(
    /// Get Device SDR: all or part of one of the device's sensor data records.
    GetDeviceSdr, "Get Device SDR", "35.3",
    NetFn::SENSOR_EVENT, 0x21, Some(Privilege::User), GetSdrRequest, GetSdrResponse
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::{Body, Command};

    #[test]
    fn round_trip() {
        let wire = [0, 0, 0, 0, 0, 0xff];
        let r = <GetDeviceSdr as Command>::Request::parse(&wire).unwrap();
        assert_eq!((r.record_id, r.count), (0, 0xff));
        assert_eq!(r.to_bytes(), wire);
    }
}
