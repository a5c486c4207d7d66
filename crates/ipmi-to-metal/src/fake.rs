//! `ipmi-to-metal fake-metal`: the fake Metal API (crate `fake-metal`) on the command line, for
//! demos of the metal backend without a Metal account.

use clap::Args;
use fake_metal::{DeviceSpec, Fake, FakeConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The options of `fake-metal`.
#[derive(Args, Debug)]
pub struct FakeArgs {
    /// Where to serve the API (its base URL is http://ADDR/metal/v1).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// A JSON file with the devices: [{"id": UUID, "hostname": ..., "project_id": UUID, "plan":
    /// ..., "facility": ..., "metro": ..., "state": "active", "tags": [...]}, ...].
    #[arg(long)]
    devices: PathBuf,
    /// The environment variable holding the one valid token.
    #[arg(long, default_value = "METAL_AUTH_TOKEN")]
    token_env: String,
    /// How long power transitions take.
    #[arg(long, default_value_t = 2000)]
    transition_ms: u64,
    /// Append every API exchange to this file as JSON lines (for spec validation).
    #[arg(long)]
    exchange_log: Option<PathBuf>,
    /// Serve at most this many API requests per second; the rest get 429.
    #[arg(long)]
    rate_limit: Option<u32>,
}

/// Runs the fake until interrupted; the error is for the user.
pub fn run(args: FakeArgs) -> Result<(), String> {
    let token = std::env::var(&args.token_env)
        .map_err(|_| format!("set {} to the token the fake accepts", args.token_env))?;
    let text = std::fs::read_to_string(&args.devices)
        .map_err(|e| format!("{}: {e}", args.devices.display()))?;
    let devices: Vec<DeviceSpec> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", args.devices.display()))?;
    let fake = Fake::new(
        FakeConfig {
            token,
            transition: Duration::from_millis(args.transition_ms),
            exchange_log: args.exchange_log,
            rate_limit: args.rate_limit,
        },
        devices,
    )
    .map_err(|e| format!("exchange log: {e}"))?;
    let rt = crate::tokio_runtime(true)?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        println!(
            "fake Metal API on http://{}/metal/v1 with {} devices (control: /_fake/devices, /_fake/faults)",
            args.listen,
            fake.devices().len()
        );
        tokio::select! {
            r = fake.serve(listener) => r.map_err(|e| e.to_string()),
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}
