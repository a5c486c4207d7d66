//! Reserve Device SDR Repository (IPMI 2.0 section 35.4, Sensor/Event 0x22, User).

use crate::cmd::storage::ReservationId;
use crate::cmd::{command, Empty};
use crate::types::{NetFn, Privilege};

command!(
    /// Reserve Device SDR Repository: a reservation ID for partial Get Device SDR reads.
    ReserveDeviceSdrRepository, "Reserve Device SDR Repository", "35.4",
    NetFn::SENSOR_EVENT, 0x22, Some(Privilege::User), Empty, ReservationId
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::Body;

    #[test]
    fn round_trip() {
        assert_eq!(Empty::parse(&[]), Ok(Empty));
        assert_eq!(
            ReservationId::parse(&ReservationId(7).to_bytes()),
            Ok(ReservationId(7))
        );
    }
}
