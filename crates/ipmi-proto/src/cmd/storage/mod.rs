//! storage commands.
