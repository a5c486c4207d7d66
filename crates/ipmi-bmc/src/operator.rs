//! What an operator's page reads of a BMC beside the requests of IPMI clients: the power state
//! refreshed in the background, the sensors as the SDR repository numbers them, and the SEL
//! newest first, in words. Each goes through the same backend, caches and log as a client's
//! request would, so a refresh costs what a client's read costs and no more.

use crate::events::describe_record;
use crate::sensors::reading_of;
use crate::{BackendResult, Bmc, PowerState, SensorReading};
use ipmi_proto::cmd::storage::SelRecord;
use std::time::SystemTime;

/// One sensor as the SDR repository has it: its number and its reading now, if the backend
/// gave one.
#[derive(Clone, Debug, PartialEq)]
pub struct SensorLine {
    /// Its sensor number (as `ipmitool sdr` shows it).
    pub number: u8,
    /// Its name as the backend gives it, its kind, value or states, and thresholds.
    pub reading: SensorReading,
}

/// One SEL record, for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelLine {
    /// Its record ID.
    pub id: u16,
    /// Its timestamp: seconds since 1970 on the SEL clock (0: none).
    pub time: u32,
    /// What it says, as `ipmitool sel elist` would name it.
    pub text: String,
}

impl Bmc {
    /// Reads the power state through the backend (and its cache and rate limit, as Get Chassis
    /// Status does), logs a change in the SEL as such a read does, and stamps the state known
    /// as confirmed now.
    pub async fn refresh_power(&self) -> BackendResult<PowerState> {
        let was_down = self.state().backend_down;
        let power = self.read_power().await;
        match &power {
            Ok(p) => {
                let mut st = self.state();
                if let Some(k) = st.known_power.as_mut().filter(|k| k.state == *p) {
                    k.checked = SystemTime::now();
                }
            }
            // Logged once when the backend stops answering, not at every refresh after.
            Err(e) if was_down => {
                self.state().last_error = Some((SystemTime::now(), format!("power status: {e}")));
            }
            Err(e) => {
                self.backend_failed("power status", e);
            }
        }
        power
    }

    /// The sensors now, in the SDR repository's order: the readings fetched for (or reused
    /// from) the clients' reads, or why there are none.
    pub async fn sensor_lines(&self) -> Result<Vec<SensorLine>, String> {
        let name = &self.settings.name;
        let snapshot = self.sensors.current(name, self.backend.as_ref()).await;
        if let Err(e) = &snapshot.result {
            return Err(e.to_string());
        }
        let st = self.sensors.state(&self.settings.name);
        Ok(st
            .repository
            .sensors()
            .iter()
            .filter_map(|def| {
                reading_of(&snapshot, def).map(|r| SensorLine {
                    number: def.number,
                    reading: r.clone(),
                })
            })
            .collect())
    }

    /// The newest `n` records of this BMC's SEL, newest first.
    pub async fn sel_lines(&self, n: usize) -> Result<Vec<SelLine>, String> {
        let log = self.sel.log().clone();
        let entries = tokio::task::spawn_blocking(move || log.entries())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        Ok(entries
            .iter()
            .rev()
            .take(n)
            .map(|e| {
                let r = SelRecord(e.record);
                SelLine {
                    id: e.id,
                    time: r.timestamp().unwrap_or(0),
                    text: describe_record(&r),
                }
            })
            .collect())
    }
}
