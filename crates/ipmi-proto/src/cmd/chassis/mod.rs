//! chassis commands.
