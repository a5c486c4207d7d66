//! # backend-config
//!
//! What a backend crate needs to plug into ipmi-to-metal, without depending on the binary:
//!
//! - [`Kind`]: a backend kind owns its configuration. Its `[bmc.NAME]` table type, validation and
//!   defaults, its description for `check-config`, the longest one call can take, and how its
//!   backend is built (start-up steps included) all live in its own crate. The binary lists the
//!   kinds once; every [`Kind`] is a [`BackendKind`] there.
//! - [`Source`] and [`ConfigError`]: errors that name the file, line and column.
//! - [`secret_from`]: secrets from the environment or a file, into zeroized memory.
//! - [`Resources`]: what BMCs share (one HTTP client, one API client per account, ...).
//!
//! Layering: this crate sits above `ipmi-proto` and `ipmi-bmc` and below every backend crate.

#![warn(missing_docs)]

mod kind;
mod resources;
mod secret;
mod source;
pub mod tables;

pub use kind::{
    BackendConfig, BackendKind, BackendSettings, BmcContext, Configured, Kind, LongestCall,
    REQUEST_DEADLINE,
};
pub use resources::{Resources, ShutdownStep};
pub use secret::{read_secret_file, secret_from};
pub use source::{ConfigError, Source};
pub use toml::Spanned;
/// The TOML document the configuration is parsed into once ([`BackendKind::table`] takes its
/// entries), the one `toml` parses with.
pub use toml_edit;
