//! Every metric family: its name, type, labels and help, in the order they are rendered. The one
//! list: the collector writes each family's descriptor from it, and the table of
//! metrics in docs/operations.md is checked against it.

/// The prefix of every family's name.
pub const PREFIX: &str = "ipmi_to_metal";

/// A family's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only grows (its name ends in `_total`).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets, with their sum and count.
    Histogram,
}

impl Kind {
    /// The type as the text format writes it.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric family.
#[derive(Clone, Copy, Debug)]
pub struct Family {
    /// The name without the prefix and without the `_total` of counters.
    pub stem: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Its labels, in the order they are written.
    pub labels: &'static [&'static str],
    /// What it counts.
    pub help: &'static str,
}

impl Family {
    /// The name as scraped: `ipmi_to_metal_` and the stem, and `_total` for a counter.
    pub fn name(&self) -> String {
        let total = if self.kind == Kind::Counter {
            "_total"
        } else {
            ""
        };
        format!("{PREFIX}_{}{total}", self.stem)
    }
}

macro_rules! families {
    ($($id:ident: $stem:literal, $kind:ident, [$($label:literal),*], $help:literal;)+) => {
        $(
            #[doc = $help]
            pub const $id: Family = Family {
                stem: $stem,
                kind: Kind::$kind,
                labels: &[$($label),*],
                help: $help,
            };
        )+
        /// Every family, in the order they are rendered.
        pub const ALL: &[Family] = &[$($id),+];
    };
}

families! {
    BUILD_INFO: "build_info", Gauge, ["version"],
        "The version of ipmi-to-metal running (always 1)";
    BMCS: "bmcs", Gauge, ["class"],
        "BMCs served now, by class (the backend kind, or routed)";
    REQUESTS: "requests", Counter, ["class", "netfn", "command", "completion_code"],
        "Requests the BMC model answered (the session layer's own commands are not among them), by BMC class, NetFn, command and completion code";
    SESSIONS_OPEN: "sessions_open", Gauge, ["class"],
        "Sessions open now";
    SESSIONS_OPENED: "sessions_opened", Counter, ["class", "protocol"],
        "Sessions opened, by protocol (rmcp+ or ipmi15)";
    SESSIONS_CLOSED: "sessions_closed", Counter, ["class", "reason"],
        "Sessions closed, by Close Session (request) or after the inactivity timeout (idle)";
    LOGINS_FAILED: "logins_failed", Counter, ["class", "reason"],
        "Failed or refused logins, by reason";
    LOGIN_LOCKOUTS: "login_lockouts", Counter, ["class"],
        "Lockouts begun: a source address, or a user name from it, failed to log in too often and its logins are refused for a while";
    HANDSHAKES_DROPPED: "handshakes_dropped", Counter, ["class", "reason"],
        "Logins in progress dropped: pushed out by the bounds on them (evicted) or never finished (expired)";
    BACKEND_CALLS: "backend_calls", Counter, ["backend", "operation", "outcome"],
        "Backend calls, by backend kind, operation and outcome";
    BACKEND_CALL_DURATION: "backend_call_duration_seconds", Histogram, ["backend", "operation"],
        "How long backend calls took, by backend kind and operation";
    CONSOLE_BYTES: "console_bytes", Counter, ["backend", "direction"],
        "Serial console bytes carried, from the machine (output) and to it (input)";
    AUDIT_WRITE_FAILURES: "audit_write_failures", Counter, [],
        "Audit records that could not be written (each request refused, unless [audit] fail_open)";
    CONSOLE_LOG_FAILURES: "console_log_failures", Counter, [],
        "Console log files that could not be opened, reopened or written (each retried with a backoff)";
    CONSOLE_LOGS_FAILING: "console_logs_failing", Gauge, [],
        "Console logs not written now: their file cannot be opened (retried with a backoff)";
    API_CACHE_LOOKUPS: "api_cache_lookups", Counter, ["api", "result"],
        "Reads of a backend API's state: answered from the cache (hit) or asking the API (miss)";
    API_RATE_LIMITED: "api_rate_limited", Counter, ["api"],
        "Rate-limit answers (HTTP 429) from a backend API";
    API_RATE_LIMIT_WAIT: "api_rate_limit_wait_seconds", Gauge, ["api"],
        "Seconds until a rate-limited backend API is asked again (0: not limited)";
    SSH_MASTER_CONNECTIONS: "ssh_master_connections", Gauge, [],
        "SSH master connections open (their control sockets)";
    SSH_MASTER_STARTS: "ssh_master_starts", Counter, ["outcome"],
        "SSH master connections started, by outcome";
    DISCOVERY_RUNS: "discovery_runs", Counter, ["discovery", "outcome"],
        "Discovery runs (listings of the project's devices), by outcome";
    DISCOVERY_DEVICES: "discovery_devices", Gauge, ["discovery", "state"],
        "Devices the last successful discovery run listed, those of them served by this shard, and those of its devices not served (no free address in the pool, or a BMC that failed to start)";
    REDFISH_HTTP_REQUESTS: "redfish_http_requests", Counter, ["route", "method", "status"],
        "Requests the Redfish service answered, by route pattern, method and HTTP status";
    CONFIG_RELOADS: "config_reloads", Counter, ["outcome"],
        "Configuration reloads, by outcome (applied, unchanged, refused)";
}
