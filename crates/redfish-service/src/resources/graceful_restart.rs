//! `GracefulRestart`, which IPMI has no twin of: a soft off (Chassis Control's, through the
//! same routes: a `[bmc.routes] soft` chain with its hard-off fallback included), then, once the
//! machine is seen off, an on. Each step is the model's power operation, so each has its SEL and
//! audit records as its IPMI twin does (`soft`, then `on`, by the same user).
//!
//! The answer is given once the soft off is accepted, as a BMC's own service does (an operating
//! system's shutdown takes longer than a client waits for an answer); a task then waits for the
//! machine to be off, at most [`OFF_WAIT`], and powers it on. A machine not off by then is left
//! as it is, with a log line (its operating system refused or ignored the shutdown).

use crate::fleet::Fleet;
use ipmi_bmc::{Asker, Bmc, PowerAction, PowerState};
use std::sync::Arc;
use std::time::Duration;

/// How long the machine may take to be off after the soft off.
pub(crate) const OFF_WAIT: Duration = Duration::from_secs(300);
/// The first and the longest pause between two reads of the power state.
const POLL: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));

/// Starts a graceful restart of the BMC `name`: the soft off now (its refusal is the answer),
/// the on in the background once the machine is off. A machine that is off is powered on.
pub(crate) async fn start(
    fleet: Arc<dyn Fleet>,
    name: &str,
    bmc: &Bmc,
    asker: Asker,
    command: &'static str,
) -> Result<(), ipmi_bmc::Refusal> {
    if matches!(bmc.power_state().await, Ok(PowerState::Off)) {
        return super::actions::deadline(bmc.power_as(PowerAction::On, &asker, command)).await;
    }
    super::actions::deadline(bmc.power_as(PowerAction::Soft, &asker, command)).await?;
    let name = name.to_string();
    tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        let mut pause = POLL.0;
        loop {
            // The model as served now: a reload may have restarted the BMC meanwhile.
            let Some(bmc) = fleet.bmc(&name) else {
                tracing::info!(bmc = %name, "graceful restart: the BMC is no longer served");
                return;
            };
            let off = bmc.power_in_progress().is_none()
                && matches!(bmc.power_state().await, Ok(PowerState::Off));
            if off {
                let on = super::actions::deadline(bmc.power_as(PowerAction::On, &asker, command));
                if let Err((cc, why)) = on.await {
                    tracing::warn!(bmc = %name, cc = cc.0, "graceful restart: the power on failed: {why}");
                }
                return;
            }
            if started.elapsed() >= OFF_WAIT {
                tracing::warn!(bmc = %name, "graceful restart: not off {}s after the soft off: left as it is", OFF_WAIT.as_secs());
                return;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(POLL.1);
        }
    });
    Ok(())
}
