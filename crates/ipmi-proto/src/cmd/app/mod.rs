//! app commands.
