//! cargo-fuzz target: the configuration loader of the ipmi-to-metal binary. See
//! fuzz/config_harness.rs for the input format and the properties checked. The binary has no
//! library target, so its loader (`config/`), the backend kinds it consults (`kinds.rs`) and the
//! discovery shards it reads (`shard.rs`) are compiled into this target from their files.
#![no_main]
// The loader's items that only the binary uses.
#![allow(dead_code, unused_imports)]

#[path = "../../crates/ipmi-to-metal/src/config/mod.rs"]
mod config;
#[path = "../config_harness.rs"]
mod config_harness;
#[path = "../../crates/ipmi-to-metal/src/kinds.rs"]
mod kinds;
#[path = "../../crates/ipmi-to-metal/src/shard.rs"]
mod shard;

use std::path::PathBuf;
use std::sync::OnceLock;

/// The scratch files the configurations name, made once per process.
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("ipmi-config-fuzz-{}", std::process::id()));
        config_harness::prepare(&d);
        d
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| config_harness::run(dir(), data));
