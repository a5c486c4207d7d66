//! RMCP+ cipher suites (IPMI 2.0 section 22.15.2, table 22-20).
