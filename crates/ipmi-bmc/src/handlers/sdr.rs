//! The SDR repository (Storage) and the device SDRs (Sensor/Event): the same records, built
//! from the backend's sensors, read whole or in parts under a reservation.

use crate::dispatch::{ok, Outcome};
use crate::sensors::Reserver;
use crate::Bmc;
use ipmi_proto::cmd::sensor::{DeviceSdrInfo, DeviceSdrInfoRequest};
use ipmi_proto::cmd::storage::{
    GetSdrRequest, GetSdrResponse, ReservationId, SdrAllocationInfo, ENTIRE_RECORD,
};
use ipmi_proto::types::CompletionCode;

/// The most bytes one Get SDR returns; a larger read gets 0xCA, and clients read in parts.
pub(crate) const MAX_SDR_READ: usize = 32;

impl Bmc {
    pub(crate) async fn sdr_repository_info(&self) -> Outcome {
        self.sensor_snapshot().await;
        ok(self.sensors.state(&self.settings.name).repository.info())
    }

    pub(crate) async fn sdr_allocation_info(&self) -> Outcome {
        self.sensor_snapshot().await;
        let (records, longest) = self.sensors.state(&self.settings.name).repository.sizes();
        // One unit per record, as large as the longest; the repository is built, not
        // written, so nothing is free.
        ok(SdrAllocationInfo {
            units: records as u16,
            unit_size: longest as u16,
            free_units: 0,
            largest_free: 0,
            max_record_units: 1,
        })
    }

    pub(crate) async fn reserve_sdr(&self, who: Reserver) -> Outcome {
        self.sensor_snapshot().await;
        ok(ReservationId(
            self.sensors
                .state(&self.settings.name)
                .repository
                .reserve(who),
        ))
    }

    pub(crate) async fn get_sdr(&self, who: Reserver, r: GetSdrRequest) -> Outcome {
        self.sensor_snapshot().await;
        let st = self.sensors.state(&self.settings.name);
        let repository = &st.repository;
        // A reservation is needed to read a record in parts (a non-zero offset).
        if r.offset != 0 && !repository.reserved(who, r.reservation) {
            return Err(CompletionCode::INVALID_RESERVATION);
        }
        let (record, next) = repository
            .record(r.record_id)
            .ok_or(CompletionCode::NOT_PRESENT)?;
        let start = usize::from(r.offset);
        if start > record.len() {
            return Err(CompletionCode::OUT_OF_RANGE);
        }
        let left = record.len() - start;
        let count = if r.count == ENTIRE_RECORD {
            left
        } else {
            usize::from(r.count).min(left)
        };
        if count > MAX_SDR_READ {
            return Err(CompletionCode::CANNOT_RETURN_BYTES);
        }
        ok(GetSdrResponse {
            next,
            data: record[start..start + count].to_vec(),
        })
    }

    pub(crate) async fn device_sdr_info(&self, r: DeviceSdrInfoRequest) -> Outcome {
        self.sensor_snapshot().await;
        let st = self.sensors.state(&self.settings.name);
        let count = if r.sdr_count == Some(true) {
            st.repository.sizes().0
        } else {
            st.repository.sensors().len()
        };
        ok(DeviceSdrInfo {
            count: count.min(255) as u8,
            // A dynamic sensor population (it follows the backend), all on LUN 0.
            flags: 0x81,
            change: Some(st.repository.changed_at()),
        })
    }
}
