//! transport commands.
