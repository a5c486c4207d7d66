//! Sensor/Event commands (NetFn 0x04): the device's SDRs and its sensors' readings, thresholds,
//! hysteresis and event state (IPMI 2.0 section 35).

mod get_device_sdr;
mod get_device_sdr_info;
mod get_sensor_event_enable;
mod get_sensor_event_status;
mod get_sensor_hysteresis;
mod get_sensor_reading;
mod get_sensor_reading_factors;
mod get_sensor_thresholds;
mod reserve_device_sdr_repository;

pub use get_device_sdr::GetDeviceSdr;
pub use get_device_sdr_info::{DeviceSdrInfo, DeviceSdrInfoRequest, GetDeviceSdrInfo};
pub use get_sensor_event_enable::{EventEnable, GetSensorEventEnable};
pub use get_sensor_event_status::{EventStatus, GetSensorEventStatus};
pub use get_sensor_hysteresis::{GetSensorHysteresis, Hysteresis, HysteresisRequest};
pub use get_sensor_reading::{
    GetSensorReading, SensorReadingResponse, EVENTS_ENABLED, READING_UNAVAILABLE, SCANNING_ENABLED,
};
pub use get_sensor_reading_factors::{
    GetSensorReadingFactors, ReadingFactors, ReadingFactorsRequest,
};
pub use get_sensor_thresholds::GetSensorThresholds;
pub use reserve_device_sdr_repository::ReserveDeviceSdrRepository;
