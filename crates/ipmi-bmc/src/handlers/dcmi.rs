//! DCMI (Group Extension NetFn, group DCh): capabilities and the system power reading, where
//! the backend reports its sensors. Other groups of the NetFn (PICMG, VSO, which ipmitool
//! probes after login) and backends without sensors get 0xC1, as before DCMI was modelled.

use crate::dispatch::{ok, Outcome};
use crate::sensors::{ipmi_seconds, system_power, Snapshot, BMC_ADDRESS};
use crate::{BackendError, Bmc, SensorKind};
use ipmi_proto::cmd::dcmi::{
    DcmiCapabilities, DcmiCapabilitiesRequest, PowerReading, PowerReadingRequest, DCMI_GROUP,
    DCMI_MAJOR, DCMI_MINOR, PARAMETER_NOT_SUPPORTED, POWER_MEASUREMENT_ACTIVE,
};
use ipmi_proto::cmd::storage::{GetSelInfo, SelInfo};
use ipmi_proto::cmd::{Body, Command};
use ipmi_proto::session::Request;
use ipmi_proto::types::CompletionCode;
use sel_store::RECORD_LEN;
use std::sync::Arc;

/// DCMI 1.5 parameter revision.
const PARAMETER_REVISION: u8 = 0x02;
/// Get Power Reading mode: system power statistics.
const SYSTEM_POWER_STATISTICS: u8 = 0x01;

impl Bmc {
    /// The readings, for a DCMI request of `group`: 0xC1 unless it is DCMI and the backend
    /// reports sensors.
    async fn dcmi_snapshot(&self, group: u8) -> Result<Arc<Snapshot>, CompletionCode> {
        if group != DCMI_GROUP {
            return Err(CompletionCode::INVALID_COMMAND);
        }
        let snapshot = self.sensor_snapshot().await;
        if matches!(snapshot.result, Err(BackendError::NotSupported)) {
            return Err(CompletionCode::INVALID_COMMAND);
        }
        Ok(snapshot)
    }

    /// Whether the repository has a power sensor.
    fn reports_power(&self) -> bool {
        let st = self.sensors.state(&self.settings.name);
        st.repository
            .sensors()
            .iter()
            .any(|s| s.kind == SensorKind::Power)
    }

    /// Parameter 2's SEL attributes (DCMI 1.5 table 6-4): the number of entries the SEL holds
    /// (12 bits, so at most 4095 said), and no automatic rollover (a full SEL takes no more, as
    /// IPMI's SEL does). A SEL served by the BMC behind holds what its Get SEL Info says (the
    /// entries there plus the free space; Get SEL Allocation Info is optional).
    async fn dcmi_sel_attributes(&self, req: &Request) -> Result<u16, CompletionCode> {
        let capacity = match self.backend.relays(GetSelInfo::NETFN, GetSelInfo::CMD) {
            None => {
                self.sel
                    .log()
                    .info()
                    .map_err(|e| self.sel_failed(&e))?
                    .capacity
            }
            Some(_) => {
                let who = self.requester(req);
                let (cc, data) = self
                    .backend
                    .relay(GetSelInfo::NETFN, GetSelInfo::CMD, &[], &who)
                    .await
                    .map_err(|e| self.backend_failed("SEL info", &e))?;
                if cc != CompletionCode::OK {
                    return Err(cc);
                }
                let info = SelInfo::parse(&data).map_err(CompletionCode::from)?;
                info.entries
                    .saturating_add(info.free_bytes / RECORD_LEN as u16)
            }
        };
        Ok(capacity.min(0x0fff))
    }

    pub(crate) async fn dcmi_capabilities(
        &self,
        req: &Request,
        r: DcmiCapabilitiesRequest,
    ) -> Outcome {
        self.dcmi_snapshot(r.group).await?;
        let data = match r.parameter {
            // Supported capabilities: (reserved), power management, (no in-band or serial
            // access: the LAN channel is the only one).
            1 => vec![0, u8::from(self.reports_power()), 0],
            // Mandatory platform attributes: the SEL's (no rollover flags), identification
            // and temperature monitoring attributes (reserved in DCMI 1.5), and no temperature
            // sampling (DCMI's temperature readings are not offered).
            2 => {
                let [lo, hi] = self.dcmi_sel_attributes(req).await?.to_le_bytes();
                vec![lo, hi, 0, 0, 0]
            }
            // Optional platform attributes: the power management controller is the BMC.
            3 => vec![BMC_ADDRESS, 0],
            // Manageability access: the primary LAN channel; no secondary LAN, no serial.
            4 => vec![self.settings.channel, 0xff, 0xff],
            // Enhanced system power statistics: no rolling average periods.
            5 => vec![0],
            _ => return Err(CompletionCode(PARAMETER_NOT_SUPPORTED)),
        };
        ok(DcmiCapabilities {
            group: DCMI_GROUP,
            version: (DCMI_MAJOR, DCMI_MINOR),
            revision: PARAMETER_REVISION,
            data,
        })
    }

    pub(crate) async fn dcmi_power_reading(&self, r: PowerReadingRequest) -> Outcome {
        let snapshot = self.dcmi_snapshot(r.group).await?;
        if r.mode != SYSTEM_POWER_STATISTICS {
            return Err(CompletionCode::INVALID_FIELD);
        }
        if !self.reports_power() {
            // Nothing known of power: the source failed before reporting its sensors, or has
            // no power sensor.
            return Err(match &snapshot.result {
                Err(e) => self.backend_failed("sensors", e),
                Ok(_) => CompletionCode::INVALID_COMMAND,
            });
        }
        let now = snapshot
            .result
            .as_ref()
            .ok()
            .and_then(|r| system_power(r))
            .and_then(|p| p.value)
            .filter(|w| w.is_finite());
        let figures = now.and_then(|_| self.sensors.state(&self.settings.name).power.figures());
        let watts = |w: f64| w.round().clamp(0.0, f64::from(u16::MAX)) as u16;
        ok(match figures {
            Some(f) => PowerReading {
                group: DCMI_GROUP,
                current: watts(f.current),
                minimum: watts(f.minimum),
                maximum: watts(f.maximum),
                average: watts(f.average),
                timestamp: ipmi_seconds(f.at),
                period_ms: f.period.as_millis().min(u128::from(u32::MAX)) as u32,
                state: POWER_MEASUREMENT_ACTIVE,
            },
            // No reading now: measurement not active, and no figures passed off as current.
            None => PowerReading {
                group: DCMI_GROUP,
                current: 0,
                minimum: 0,
                maximum: 0,
                average: 0,
                timestamp: ipmi_seconds(snapshot.wall),
                period_ms: 0,
                state: 0,
            },
        })
    }
}
