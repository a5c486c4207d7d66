//! Sensor Data Records (IPMI 2.0 section 43): the records of an SDR repository, each a 5-byte
//! header (record ID, SDR version 51h, record type, length of the rest) and a body. A BMC model
//! builds them; a client parses them.
//!
//! - [`FullSensorRecord`] (type 01h, 43.1): a threshold sensor with linearization ([`Linear`]),
//!   units, thresholds and hysteresis;
//! - [`CompactSensorRecord`] (type 02h, 43.2): a discrete sensor;
//! - [`EventOnlyRecord`] (type 03h, 43.3): a sensor that only generates events (SEL entries);
//! - [`FruLocatorRecord`] (type 11h, 43.8): a logical FRU device;
//! - [`McLocatorRecord`] (type 12h, 43.9): a management controller.

mod fields;
mod linear;
mod records;

pub use fields::{
    entity, reading_type, record_type, sensor_type, unit, Thresholds, HEADER_LEN, MAX_ID_LEN,
    SDR_VERSION,
};

pub use linear::Linear;
pub use records::{
    CompactSensorRecord, EventOnlyRecord, FruLocatorRecord, FullSensorRecord, McLocatorRecord,
    Record, SensorCommon,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_status_and_masks() {
        let t = Thresholds {
            readable: 0b011_010, // lower critical, upper non-critical and critical
            raw: [0, 10, 0, 80, 90, 0],
        };
        assert_eq!(t.status(50), 0);
        assert_eq!(t.status(10), 0b10);
        assert_eq!(t.status(85), 0b1000);
        assert_eq!(t.status(95), 0b11000);
        let [a, d, r] = t.record_masks();
        // LC going low (bit 2); UNC and UC going high (bits 7 and 9); LC readable (bit 13).
        assert_eq!(a, (1 << 2) | (1 << 7) | (1 << 9) | (1 << 13));
        assert_eq!(d, (1 << 2) | (1 << 7) | (1 << 9) | (0b011 << 12));
        assert_eq!(r, 0b011_010);
    }
}
